"""Planning units on disk: `write_grid` and `read_grid`.

A grid is a folder: ``units.parquet`` (GeoParquet, with the build metadata under the
``carbonpark`` key of the Parquet metadata), ``boundary.parquet``, ``features.parquet``,
``study_area.parquet`` and ``protected_areas.parquet`` (when there are) and the output marker
``carbonpark-output.json``. The folder is written beside its target and renamed into
place (`optimizer.atomic`).

Reading is lazy by default, so a national grid (10 million units) opens in seconds:

* the unit columns are read from ``units.parquet`` a row group and a few columns at a
  time; each numeric column without missing values is copied once from Arrow's buffer
  into its own writable numpy array, and the frame is made of those arrays as they are
  (one block per column: no pandas consolidation, which would copy all of them again).
  Writable matters: a zero-copy view of an Arrow buffer is read-only, and code that
  writes into ``pu.units`` in place would fail. Strings and columns with missing values
  go through ``Table.to_pandas`` as `geopandas.read_parquet` does, so the dtypes are
  the same as an eager read;
* the unit polygons stay in the file: the geometry column holds an
  `optimizer.grid.lazy_geometry.LazyGeometryArray`, a GeometryArray that decodes the WKB on
  first use (a map, a parks dissolve, an export), so ``pu.units`` is a complete
  GeoDataFrame for every caller while the gap analysis, problem building, compile and
  the solvers never pay the 300 bytes and microseconds a polygon costs;
* the boundary table is read when ``pu.boundary`` is first used (compile does; the gap
  analysis does not).

Both files are opened at read time and kept open (POSIX semantics: a grid folder
replaced or removed afterwards still reads as it was). The files are read with plain
reads, not memory-mapped: Parquet pages are compressed, so a map would not avoid the
copy, and a mapped file's pages count in the process's resident memory while mapped.
``read_grid(path, lazy=False)`` reads everything at once, as before.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.atomic import holds_text, write_dir_atomic
from optimizer.errors import InputDataError
from optimizer.grid.lazy_geometry import LazyGeometryArray, WkbSource
from optimizer.grid.planning_units import Deferred, PlanningUnits

if TYPE_CHECKING:
    import geopandas as gpd
    import pyarrow as pa

#: Key of the build metadata (JSON) in the Parquet metadata of ``units.parquet``.
META_KEY = b"carbonpark"


def write_grid(pu: PlanningUnits, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write planning units to a directory: ``units.parquet`` (GeoParquet),
    ``boundary.parquet``, ``features.parquet``, ``study_area.parquet``,
    ``protected_areas.parquet`` (``name``, ``category``, geometry; when the grid has
    them) and the output marker ``carbonpark-output.json``.

    The directory is written beside the target and renamed into place, so a reader
    never sees a half-written grid and a failed write leaves the old grid intact.

    Parameters
    ----------
    pu : PlanningUnits
    out_dir : str or Path
        The grid folder: new, empty, or a grid written earlier by carbonpark.
    overwrite : bool
        Replace whatever is at ``out_dir`` (a file, a folder of other things), except the
        layers the grid was built from (``pu.meta["layers"]``), which are never replaced.

    Raises
    ------
    OutputError
        ``out_dir`` is taken by something that is not a carbonpark grid (and ``overwrite``
        is False), holds or is one of the grid's layer files, or writing failed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from optimizer import read_grid, write_grid
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> out = write_grid(pu, pathlib.Path(tempfile.mkdtemp()) / "grid")
    >>> sorted(p.name for p in out.iterdir())
    ['boundary.parquet', 'carbonpark-output.json', 'features.parquet', 'units.parquet']
    >>> read_grid(out).equals(pu)
    True
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    def fill(tmp: Path) -> None:
        table = geoarrow_table(pu.units)
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps(pu.meta).encode()
        pq.write_table(table.replace_schema_metadata(meta), tmp / "units.parquet")
        pu.boundary.to_parquet(tmp / "boundary.parquet", index=False)
        feats = pu.features.reset_index()
        feats.to_parquet(tmp / "features.parquet", index=False)
        if pu.study_area is not None:
            gpd.GeoDataFrame(geometry=[pu.study_area], crs=pu.units.crs).to_parquet(
                tmp / "study_area.parquet")
        if pu.protected_areas is not None:
            pu.protected_areas.to_parquet(tmp / "protected_areas.parquet", index=False)

    # The layers the grid was built from are inputs: never written over, even with overwrite.
    inputs = [layer["path"] for layer in pu.meta.get("layers", []) if layer.get("path")]
    return write_dir_atomic(out_dir, "grid", fill, overwrite=overwrite, inputs=inputs)


def geoarrow_table(gdf: gpd.GeoDataFrame):
    """The GeoParquet-ready Arrow table of ``gdf`` (with its ``geo`` metadata)."""
    import pyarrow.parquet as pq

    try:
        from geopandas.io.arrow import _geopandas_to_arrow
    except ImportError:  # pragma: no cover - a future geopandas without the helper
        import io

        buf = io.BytesIO()
        gdf.to_parquet(buf, index=False)
        buf.seek(0)
        return pq.read_table(buf)
    return _geopandas_to_arrow(gdf, index=False)


def read_grid(path: str | Path, *, lazy: bool = True) -> PlanningUnits:
    """Read planning units written by `write_grid`.

    By default the grid opens lazily: the unit columns are read (a few columns at a
    time, each into one writable numpy array), while the unit polygons stay in
    ``units.parquet`` until something uses them (a map, a dissolve, an export; see
    `optimizer.grid.lazy_geometry`) and the boundary table until ``pu.boundary`` is first
    read. The gap analysis, problem building, compile and the solvers never decode a
    polygon. ``lazy=False`` decodes everything at once (as before).

    A folder without ``protected_areas.parquet`` (a grid without a protected vector
    layer, or one written before grids kept them) reads with ``protected_areas`` None.

    Parameters
    ----------
    path : str or Path
        A grid folder written by `write_grid` (or ``carbonpark grid``).
    lazy : bool
        Leave the geometry and the boundary table on disk until first used (default).

    Returns
    -------
    PlanningUnits

    Raises
    ------
    InputDataError
        ``path`` is not a grid folder, or its files are unreadable or incomplete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from optimizer import read_grid, write_grid
    >>> from optimizer.datasets import tiny_grid
    >>> back = read_grid(write_grid(tiny_grid(), pathlib.Path(tempfile.mkdtemp()) / "grid"))
    >>> len(back), back.features.loc["carbon", "unit"]
    (6, 'MgC')
    >>> back.geometry_loaded, back.boundary_loaded
    (False, False)
    >>> round(float(back.units.area.sum() / 1e6), 3), back.geometry_loaded
    (6.0, True)
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = Path(path)
    units_file = path / "units.parquet"
    if not units_file.exists():
        raise InputDataError(f"{path}: not a carbonpark grid (no units.parquet{holds_text(path)}); "
                             "build one with `carbonpark grid`")
    try:
        raw = pq.read_schema(units_file).metadata or {}
        meta = json.loads(raw[META_KEY])
        units = _read_units_lazy(units_file, raw) if lazy else None
        if units is None:
            units = gpd.read_parquet(units_file)
        features = pd.read_parquet(path / "features.parquet").set_index("column")
        boundary: pd.DataFrame | Deferred = (
            Deferred(*_boundary_reader(path / "boundary.parquet")) if lazy
            else pd.read_parquet(path / "boundary.parquet"))
    except (OSError, KeyError, ValueError) as exc:
        raise InputDataError(f"{path}: grid files are unreadable or incomplete ({exc}); "
                             "rebuild the grid") from None
    features["year"] = features["year"].astype("Int64")
    study = None
    if (path / "study_area.parquet").exists():
        study = gpd.read_parquet(path / "study_area.parquet").geometry.iloc[0]
    areas = None
    if (path / "protected_areas.parquet").exists():
        areas = gpd.read_parquet(path / "protected_areas.parquet")
    return PlanningUnits(units, boundary, features, meta, study, areas)


#: Columns read from one row group at a time: enough for pyarrow's threads, few enough
#: that the Arrow buffers alive beside the finished columns stay small (three reads in
#: flight: 3 x 2^20 rows x 8 columns x 8 bytes = 192 MB).
_COLUMNS_PER_READ = 8


def _read_units_lazy(units_file: Path, raw: dict[bytes, bytes]) -> gpd.GeoDataFrame | None:
    """``units.parquet`` with its WKB geometry left undecoded (None: a layout this lazy
    reader does not handle, e.g. an index column or a non-WKB encoding; read it eagerly).

    Each plain numeric column without missing values is decoded by Arrow and copied once
    into a writable numpy array (one block per column: no pandas consolidation, no second
    copy); other columns (strings, extension types, missing values) go through
    ``Table.to_pandas`` as `geopandas.read_parquet` does, so the dtypes are the same.
    """
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq


    geo = json.loads(raw.get(b"geo", b"{}") or b"{}")
    pandas_meta = json.loads(raw.get(b"pandas", b"{}") or b"{}")
    geom_col = geo.get("primary_column")
    columns_meta = geo.get("columns", {})
    if (geom_col is None or len(columns_meta) != 1
            or columns_meta.get(geom_col, {}).get("encoding") != "WKB"
            or any(not isinstance(c, dict) or c.get("kind") != "range"
                   for c in pandas_meta.get("index_columns", []))):
        return None
    handle = pa.OSFile(str(units_file))
    pf = pq.ParquetFile(handle)
    schema = pf.schema_arrow
    names = [n for n in schema.names if n != geom_col]
    if len(names) + 1 != len(schema.names):
        return None
    n = pf.metadata.num_rows
    empty = schema.empty_table().drop_columns([geom_col]).to_pandas()
    index = _range_index(pandas_meta, n)
    if index is None or list(empty.columns) != names:
        return None
    md = pf.metadata
    leaf = {md.schema.column(j).path: j for j in range(md.num_columns)}

    def no_nulls(name: str) -> bool:
        if name not in leaf:
            return False
        for i in range(md.num_row_groups):
            stats = md.row_group(i).column(leaf[name]).statistics
            if stats is None or not stats.has_null_count or stats.null_count:
                return False
        return True

    fast = [c for c in names if isinstance(empty[c].dtype, np.dtype)
            and empty[c].dtype.kind in "fiub" and empty[c].dtype == schema.field(c).type
            .to_pandas_dtype() and no_nulls(c)]
    data: dict[str, Any] = {}

    def copy(table: pa.Table, group: list[str], start: int) -> bool:
        for name in group:
            col = table.column(name)
            if col.null_count:  # the statistics said none
                return False
            dtype = empty[name].dtype
            whole = _own_buffer(col, dtype, n)
            if whole is not None:  # a grid of one row group: Arrow's buffer, no copy
                data[name] = whole
                continue
            out = data.get(name)
            if out is None:
                out = data[name] = np.empty(n, dtype=dtype)
            pos = start
            for chunk in col.chunks:
                out[pos:pos + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
                pos += len(chunk)
        return True

    # A row group, a few columns at a time; the copies into the numpy arrays (first touch
    # of their pages: most of the time at 10M units) run in two threads while Arrow
    # decodes the next columns.
    pending: list[Future[bool]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        start = 0
        for i in range(md.num_row_groups):
            for g in range(0, len(fast), _COLUMNS_PER_READ):
                group = fast[g:g + _COLUMNS_PER_READ]
                table = pf.read_row_group(i, columns=group, use_threads=True)
                pending.append(pool.submit(copy, table, group, start))
                del table
                while len(pending) > 2:
                    if not pending.pop(0).result():
                        return None  # missing values after all: read as geopandas does
            start += md.row_group(i).num_rows
        if not all(f.result() for f in pending):
            return None
    slow = [c for c in names if c not in data]
    if slow:
        part = pf.read(columns=slow, use_threads=True).replace_schema_metadata(
            schema.metadata).to_pandas()
        for name in slow:
            data[name] = part[name].to_numpy() if isinstance(part[name].dtype, np.dtype) \
                else part[name].array
        del part
    pa.default_memory_pool().release_unused()
    frame = pd.DataFrame({name: data[name] for name in names}, index=index, copy=False)
    crs = columns_meta[geom_col].get("crs", "OGC:CRS84")
    if isinstance(crs, dict):
        try:  # the PROJJSON fix geopandas applies when it reads (datum ensembles)
            from geopandas.io.arrow import _remove_id_from_member_of_ensembles
            _remove_id_from_member_of_ensembles(crs)
        except ImportError:  # pragma: no cover - a geopandas without it
            pass
    geoms = LazyGeometryArray.from_source(WkbSource(handle, geom_col), crs=crs)
    frame.insert(schema.get_field_index(geom_col), geom_col, geoms)
    return gpd.GeoDataFrame(frame, geometry=geom_col, copy=False)


def _own_buffer(col: pa.ChunkedArray, dtype: np.dtype, n: int) -> np.ndarray | None:
    """A writable numpy view of ``col``'s one data buffer when it holds the whole column
    (one chunk, no offset, a mutable buffer: the Parquet reader's own, referenced by
    nothing else once the table is dropped); None otherwise."""
    if col.num_chunks != 1 or dtype.kind not in "fiu":
        return None
    chunk = col.chunk(0)
    if len(chunk) != n or chunk.offset or np.dtype(chunk.type.to_pandas_dtype()) != dtype:
        return None
    buf = chunk.buffers()[1]
    if buf is None or not buf.is_mutable or buf.size < n * dtype.itemsize:
        return None
    out = np.frombuffer(buf, dtype=dtype, count=n)
    return out if out.flags.writeable else None


def _range_index(pandas_meta: dict[str, Any], n: int) -> pd.Index | None:
    """The RangeIndex the pandas metadata describes (none stored: 0..n-1)."""
    idx = pandas_meta.get("index_columns", [])
    if not idx:
        return pd.RangeIndex(n)
    if len(idx) != 1:
        return None
    r = idx[0]
    out = pd.RangeIndex(r.get("start", 0), r.get("stop", n), r.get("step", 1), name=r.get("name"))
    return out if len(out) == n else None


def _boundary_reader(file: Path) -> tuple[Any, int]:
    """A loader of the boundary table from the file opened (and its footer checked) now,
    whatever happens to the folder meanwhile (POSIX), and its number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not file.exists():
        raise FileNotFoundError(f"{file} is missing")
    pf = pq.ParquetFile(pa.OSFile(str(file)))  # ArrowInvalid (a ValueError) if not Parquet
    missing = {"id1", "id2", "length_km"} - set(pf.schema_arrow.names)
    if missing:
        raise KeyError(f"{file.name} lacks column(s) {sorted(missing)}")

    def load() -> pd.DataFrame:
        try:
            return pf.read(use_threads=True).to_pandas()
        except (OSError, ValueError) as exc:
            raise InputDataError(f"{file.parent}: grid files are unreadable or incomplete "
                                 f"({exc}); rebuild the grid") from None
        finally:
            pf.close()

    return load, pf.metadata.num_rows
