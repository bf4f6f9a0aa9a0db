"""Grids bigger than memory: `build_grid_streamed` builds square cells band by band on disk.

`optimizer.grid.build.build_grid` holds every unit in memory while it aggregates: about 4 KB a
unit, 40 GB for a 1 km grid of a country of 10 million km². `build_grid_streamed` builds
the same grid as a set of tasks, each a band of grid rows:

1. the driver reads the study area, fixes the grid, reads and dissolves the vector
   layers once (clipped to the study area) and checks every raster overlaps;
2. each band builds its cells (`optimizer.grid.geometry.grid_cells`, which gives a band
   exactly the cells the whole grid has there), aggregates every layer over them with
   the same code as `build_grid` (rasters read in windows by the task itself), computes
   its boundary pairs with one row of halo on each side (so exposed perimeters see every
   neighbour) and writes its units and boundary as Parquet parts;
3. the driver joins the parts into the grid folder `optimizer.grid.store.read_grid` reads:
   ``units.parquet`` written one row group per band, ids given in row-major order as
   `build_grid` gives them, the boundary pairs mapped to ids, feature totals, nodata
   shares and warnings computed over the whole grid.

Memory follows the band, not the country. The bands run in this process one after
another, or as tasks on a Dask distributed cluster (``client=``: a `LocalCluster` of
processes or a ``tcp://`` scheduler; the workers need the layer files and the output's
parent folder at the same paths, e.g. a shared file system). A worker that dies mid-band
is replaced by Dask, which runs the band again elsewhere; parts are written atomically,
so a rerun band replaces its part whole.

Finished bands are kept in a hidden folder beside the output (`bands_folder`) until the
grid is written: a build stopped by Ctrl-C or a failure loses no finished band, and the
same build run again resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from optimizer.atomic import check_output_dir, write_dir_atomic, write_file_atomic
from optimizer.distributed import check_workers
from optimizer.errors import InputDataError, OptimizerError, OutputError
from optimizer.grid.build import DEFAULT_MAX_UNITS, check_grid_size, unique_layers
from optimizer.grid.crs import lonlat_bounds, read_study_area, resolve_crs, to_crs
from optimizer.grid.geometry import SquareGrid, boundary_table, grid_cells, square_grid
from optimizer.grid.memory import check_build_memory
from optimizer.grid.planning_units import FORMAT_VERSION
from optimizer.grid.store import META_KEY, geoarrow_table
from optimizer.grid.unit_columns import (
    PLAUSIBLE_MAX_PER_HA,
    PreparedVector,
    UnitColumns,
    check_raster_overlap,
    nodata_report,
    plausibility_warnings,
    prepare_vector,
    protected_union,
)
from optimizer.inputs.layers import LayerSpec, open_raster
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.versions import carbonpark_version, versions

__all__ = ["BandPlan", "bands_folder", "build_band", "build_grid_streamed"]

#: Units a band aims at when ``rows_per_band`` is not given: about 0.5 GB of working memory.
BAND_UNITS = 100_000


@dataclass(frozen=True)
class BandPlan:
    """What every band needs: the grid, the layers and the vector layers already prepared.

    Attributes
    ----------
    layers : tuple of LayerSpec
        The layers, with absolute paths (a worker may run elsewhere).
    crs_wkt : str
        The grid CRS.
    outline : shapely geometry
        The study area in the grid CRS.
    grid : SquareGrid
        The square grid.
    vectors : dict
        Layer name -> `optimizer.grid.build.PreparedVector` (without the protected areas' table).
    pa_union : shapely geometry or None
        The union of the protected vector layers when there are several.
    chunk_units : int
        Units per raster window inside a band.
    """

    layers: tuple[LayerSpec, ...]
    crs_wkt: str
    outline: shapely.Geometry
    grid: SquareGrid
    vectors: dict[str, PreparedVector]
    pa_union: shapely.Geometry | None
    chunk_units: int


def build_band(plan: BandPlan, row_start: int, row_stop: int, folder: str) -> dict[str, Any]:
    """Build the units of grid rows ``row_start`` to ``row_stop`` (excluded) and write them.

    Writes ``units-<row_start>.parquet`` (GeoParquet, no ids yet) and
    ``boundary-<row_start>.parquet`` (``row1, col1, row2, col2, length_km``: the pairs
    whose first unit, in row-major order, is in the band) into ``folder``, each atomically.

    Returns
    -------
    dict
        ``row_start``, ``n`` (units), ``columns`` (in order), ``features`` (feature rows
        as `build_grid` records them), ``report_sums`` and ``band_valid_differs`` (for the
        whole grid's nodata report and per-band valid areas), ``bbox``, ``geometry_types``.
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    grid = plan.grid
    rows, cols, geoms, clipped = grid_cells(plan.outline, grid, row_start - 1, row_stop + 1)
    own = (rows >= row_start) & (rows < row_stop)
    out: dict[str, Any] = {"row_start": row_start, "n": int(own.sum())}
    if not own.any():
        return out
    # Boundary with a row of halo each side, on a grid of just these rows.
    lo = max(row_start - 1, 0)
    band_grid = SquareGrid(grid.x0, grid.y0 - lo * grid.cell_m, grid.cell_m,
                           int(rows.max()) - lo + 1, grid.ncols)
    bi, bj, blen, exposed = boundary_table(geoms, square=band_grid, rows=rows - lo, cols=cols,
                                           clipped=clipped)
    mine = own[bi]  # a pair belongs to the band of its first unit
    bi, bj, blen = bi[mine], bj[mine], blen[mine]

    crs = pyproj.CRS.from_wkt(plan.crs_wkt)
    g, r, c = geoms[own], rows[own], cols[own]
    area_km2 = shapely.area(g) / 1e6
    b = UnitColumns(g, crs, plan.outline, grid, r, c, area_km2, plan.chunk_units,
                 lambda msg: None, band=True)
    for spec in plan.layers:
        if spec.is_vector:
            b.vector(spec, plan.vectors[spec.name])
        else:
            b.raster(spec)
    pa = b.protected_fraction(plan.pa_union)
    data: dict[str, Any] = {"row": r, "col": c, "area_km2": area_km2,
                            "perimeter_km": shapely.length(g) / 1000, "exposed_km": exposed[own],
                            "pa_fraction": pa,
                            "region": b.columns.pop("region", np.full(len(g), None, object))}
    data.update(b.columns)
    gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=g, crs=crs)
    table = geoarrow_table(gdf)
    tag = f"{row_start:08d}"
    write_file_atomic(Path(folder) / f"units-{tag}.parquet",
                      lambda tmp: pq.write_table(table, tmp))
    pairs = pd.DataFrame({"row1": rows[bi], "col1": cols[bi], "row2": rows[bj], "col2": cols[bj],
                          "length_km": blen})
    write_file_atomic(Path(folder) / f"boundary-{tag}.parquet",
                      lambda tmp: pairs.to_parquet(tmp, index=False))
    geo = json.loads(table.schema.metadata[b"geo"])["columns"]["geometry"]
    out.update(columns=[f for f in table.schema.names if f != "geometry"], features=b.features,
               report_sums=b.report_sums, band_valid_differs=sorted(b.band_valid_differs),
               bbox=[float(v) for v in shapely.total_bounds(g)],
               geometry_types=geo.get("geometry_types", []))
    _write_band_done(Path(folder), row_start, out)
    return out


def _write_band_done(folder: Path, row_start: int, result: dict[str, Any]) -> None:
    """The band's result, written last: its presence says the band's parts are complete."""
    text = json.dumps(result, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    write_file_atomic(folder / f"band-{row_start:08d}.json",
                      lambda tmp: tmp.write_text(text, encoding="utf-8"))


def bands_folder(path: str | os.PathLike[str]) -> Path:
    """Where `build_grid_streamed` keeps finished bands until the grid is written: a hidden
    folder beside ``path``. An interrupted or failed build leaves it; the same build run
    again (same layers, files, grid and bands) resumes from it, any other build replaces it."""
    p = Path(path)
    return p.parent / f".{p.name}.carbonpark-bands"


_BANDS_MARKER = "carbonpark-bands.json"


def _claim_bands(path: str | os.PathLike[str], key: str) -> tuple[Path, dict[int, dict[str, Any]]]:
    """The bands folder for this build (made, resumed or replaced) and its finished bands."""
    folder = bands_folder(path)
    marker = folder / _BANDS_MARKER
    if folder.exists() or folder.is_symlink():
        if not marker.is_file() or folder.is_symlink():
            raise OutputError(f"{folder}: exists and is not a carbonpark grid's bands folder; "
                              "move it away, or write the grid elsewhere")
        if json.loads(marker.read_text(encoding="utf-8")).get("key") != key:
            shutil.rmtree(folder)  # another build's bands: of no use to this one
    if not folder.exists():
        folder.mkdir(parents=True)
        marker.write_text(json.dumps({"key": key, "grid": str(path),
                                      "started": datetime.now(UTC).isoformat(timespec="seconds")}),
                          encoding="utf-8")
    done: dict[int, dict[str, Any]] = {}
    for f in folder.glob("band-*.json"):
        res = json.loads(f.read_text(encoding="utf-8"))
        done[int(res["row_start"])] = res
    return folder, done


def _build_key(plan: BandPlan, step: int) -> str:
    """What makes two builds' bands interchangeable: the plan, the layer files, the bands."""
    h = hashlib.sha256()
    h.update(shapely.to_wkb(plan.outline))
    h.update(json.dumps([plan.crs_wkt, plan.grid.__dict__, step, plan.chunk_units,
                         FORMAT_VERSION, carbonpark_version(),
                         [s.to_dict() for s in plan.layers]], sort_keys=True,
                        default=str).encode())
    for spec in plan.layers:
        st = Path(spec.path).stat()
        h.update(f"{spec.path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def build_grid_streamed(
    layers: Sequence[LayerSpec],
    out_dir: str | os.PathLike[str],
    *,
    study_area: Any,
    cell_km: float,
    crs: str | int | pyproj.CRS | None = "auto",
    origin: tuple[float, float] | None = None,
    rows_per_band: int | None = None,
    chunk_units: int = 50_000,
    client: Any = None,
    progress: ProgressArg = False,
    max_units: int | None = DEFAULT_MAX_UNITS,
    overwrite: bool = False,
    check_memory: bool = True,
) -> Path:
    """Build a square-cell grid band by band and write it to ``out_dir`` (as `write_grid` does).

    The grid equals `optimizer.grid.build.build_grid`'s with the same arguments (ids, cells,
    geometries, boundary; amounts to the last bits of floating point), but memory
    follows a band of rows instead of the whole grid.

    Parameters
    ----------
    layers, study_area, cell_km, crs, origin, chunk_units, max_units
        As for `optimizer.grid.build.build_grid` (square cells only).
    out_dir : str or PathLike
        The grid folder: new, empty or a grid written earlier by carbonpark.
    rows_per_band : int, optional
        Grid rows per task; default about 100,000 units a band.
    client : dask.distributed.Client, optional
        Run the bands as tasks on this cluster; default: one after another here.
    progress : bool or callable
        True for a progress bar on stderr, or ``f(fraction, message)``.
    overwrite : bool
        As for `optimizer.grid.store.write_grid`.
    check_memory : bool
        Refuse, before any band, a build whose estimated peak memory (a band in each
        process of this machine that runs bands, and the join of the bands) exceeds the
        memory available (`optimizer.grid.memory.check_build_memory`); False to build anyway.

    Returns
    -------
    Path
        ``out_dir``; read it with `optimizer.grid.store.read_grid`.

    Raises
    ------
    InputDataError, CRSError, UnitError
        Before any band runs, with a one-line message naming the input and the fix; also
        when ``client``'s scheduler has no workers, or the build would not fit in memory.
    OutputError
        ``out_dir`` is not ours to replace; checked before any work.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from optimizer import LayerSpec, read_grid
    >>> from optimizer.datasets import demo_manifest
    >>> demo = demo_manifest().parent / "demo"
    >>> out = build_grid_streamed(
    ...     [LayerSpec("biomass", demo / "biomass_carbon.tif", "carbon_stock", "MgC/ha")],
    ...     pathlib.Path(tempfile.mkdtemp()) / "grid", study_area=demo / "country.gpkg",
    ...     cell_km=100, rows_per_band=4)
    >>> pu = read_grid(out)
    >>> len(pu), pu.features.loc["biomass", "unit"]
    (261, 'MgC')
    """

    started = time.perf_counter()
    layers = unique_layers(layers)
    if study_area is None:
        raise InputDataError("build_grid_streamed needs a study_area outline (square cells only)")
    if cell_km is None:
        raise InputDataError("cell_km is required for square cells")
    if rows_per_band is not None and not (isinstance(rows_per_band, int) and rows_per_band >= 1):
        raise InputDataError(f"rows_per_band must be a whole number of at least 1; got "
                             f"{rows_per_band!r}")
    inputs = [s.path for s in layers]
    check_output_dir(out_dir, "grid", overwrite=overwrite, inputs=inputs)
    n_workers = check_workers(client, error=InputDataError) if client is not None else 0

    outline_src = read_study_area(study_area)
    grid_crs = resolve_crs(crs, lonlat_bounds(*outline_src))
    outline = to_crs(np.array([outline_src[0]]), outline_src[1], grid_crs)[0]
    area = float(shapely.area(outline)) / 1e6
    n_est = check_grid_size(area, float(cell_km), max_units)
    grid = square_grid(outline, float(cell_km), origin)
    per_row = max(1, math.ceil(float(shapely.area(outline)) / grid.cell_m**2 / grid.nrows))
    step = rows_per_band or max(1, BAND_UNITS // per_row)
    if check_memory:
        # Bands run here, or in a LocalCluster's processes; a remote cluster's are elsewhere.
        local = 1 if client is None else (n_workers if getattr(client, "cluster", None) else 0)
        check_build_memory(n_est, layers, area_km2=area, cell_km=float(cell_km),
                           band_units=step * per_row, units_per_row=per_row,
                           band_processes=local)

    # Everything that needs the whole grid, before any band: rasters overlap, vectors read.
    probe = shapely.segmentize(np.array([outline]), max(grid.cell_m, 10_000.0))
    for spec in layers:
        if not spec.is_vector:
            info = open_raster(spec)
            check_raster_overlap(spec, info, to_crs(probe, grid_crs, info.crs))
    vectors: dict[str, PreparedVector] = {}
    areas: list[pd.DataFrame] = []
    for spec in layers:
        if spec.is_vector:
            v = prepare_vector(spec, grid_crs, outline)
            if v.areas is not None:
                areas.append(v.areas)
            vectors[spec.name] = replace(v, areas=None)
    unions = [vectors[s.name].union for s in layers if s.is_vector and s.role == "protected"]
    plan = BandPlan(tuple(replace(s, path=Path(s.path).resolve()) for s in layers),
                    grid_crs.to_wkt(), outline, grid, vectors,
                    protected_union(unions) if len(unions) > 1 else None, chunk_units)

    starts = list(range(0, grid.nrows, step))
    parts, done = _claim_bands(out_dir, _build_key(plan, step))

    def fill(tmp: Path) -> None:
        results = _run_bands(plan, starts, step, parts, client, progress, done)
        _assemble(tmp, parts, results, layers, plan, outline, areas, started)

    out = write_dir_atomic(out_dir, "grid", fill, overwrite=overwrite, inputs=inputs)
    shutil.rmtree(parts, ignore_errors=True)
    return out


def _run_bands(plan: BandPlan, starts: list[int], step: int, folder: Path, client: Any,
               progress: ProgressArg, done: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every band's result: those ``done`` already, the others run here or on ``client``."""
    tick, close = progress_ticker(progress, len(starts), desc="grid bands", unit="band")
    results: list[dict[str, Any]] = [done[s] for s in starts if s in done]
    for _ in results:
        tick("bands kept from an earlier run")
    starts = [s for s in starts if s not in done]
    try:
        if client is None:
            for s in starts:
                results.append(build_band(plan, s, s + step, str(folder)))
                tick(f"rows {s}-{min(s + step, plan.grid.nrows)}")
        else:
            results += _run_on_dask(plan, starts, step, folder, client, tick)
    finally:
        close()
    # Kept and new bands come in any order; the grid is assembled in row order.
    return sorted(results, key=lambda r: r["row_start"])


def _run_on_dask(plan: BandPlan, starts: list[int], step: int, folder: Path, client: Any,
                 tick: Any) -> list[dict[str, Any]]:
    """The bands as Dask tasks (a worker that dies has its band run again by Dask)."""
    from dask.distributed import as_completed
    from distributed.scheduler import KilledWorker

    results: list[dict[str, Any]] = []
    plan_f = client.scatter(plan, broadcast=True)
    futures = [client.submit(build_band, plan_f, s, s + step, str(folder),
                             key=f"carbonpark-band-{s}-{os.getpid()}-{time.time_ns()}")
               for s in starts]
    try:
        for fut in as_completed(futures):
            res = fut.result()
            results.append(res)
            tick(f"rows {res['row_start']}-{min(res['row_start'] + step, plan.grid.nrows)}")
    except KilledWorker as exc:
        raise OptimizerError(
            f"grid build: Dask workers died running a band ({exc}); the layers may need "
            "more memory than a worker has: give workers more memory or pass a smaller "
            "rows_per_band") from None
    finally:
        client.cancel(futures)
    return results


def _merged_columns(results: list[dict[str, Any]]) -> list[str]:
    """The union of the bands' columns, each placed after the column it follows in a band."""
    merged: list[str] = []
    for res in results:
        prev = None
        for col in res["columns"]:
            if col not in merged:
                merged.insert(merged.index(prev) + 1 if prev is not None else 0, col)
            prev = col
    return merged


def _assemble(folder: Path, parts: Path, results: list[dict[str, Any]],
              layers: list[LayerSpec], plan: BandPlan, outline: shapely.Geometry,
              areas: list[pd.DataFrame], started: float) -> None:
    """Join the bands' parts into the grid folder's files."""
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = [r for r in results if r["n"] > 0]
    if not done:
        raise InputDataError("no planning units: the cells do not overlap the study area")
    differs = set().union(*(r["band_valid_differs"] for r in done))
    # Per-band valid areas every band kept: dropped where no band found the bands differ.
    per_band_valid = set()
    for s in layers:
        labels = [] if s.is_vector or s.name in differs else open_raster(s).band_labels
        if len(labels) > 1:
            per_band_valid |= {f"{s.name}_{label}_valid_km2" for label in labels}
    columns = [c for c in _merged_columns(done) if c not in per_band_valid]
    sums: dict[str, list[float]] = {}
    for r in done:
        for name, vals in r["report_sums"].items():
            acc = sums.setdefault(name, [0.0, 0.0, 0.0, 0.0])
            for k, v in enumerate(vals):
                acc[k] += v
    report = nodata_report(layers, sums, stacklevel=6)

    # units.parquet: one row group per band, ids in row-major order.
    schemas = [pq.read_schema(parts / f"units-{r['row_start']:08d}.parquet") for r in done]
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            if f.name not in fields or pa.types.is_null(fields[f.name].type):
                fields[f.name] = f
    geo = json.loads(schemas[0].metadata[b"geo"])
    bbox = np.array([r["bbox"] for r in done])
    geo["columns"]["geometry"]["bbox"] = [float(bbox[:, 0].min()), float(bbox[:, 1].min()),
                                          float(bbox[:, 2].max()), float(bbox[:, 3].max())]
    geo["columns"]["geometry"]["geometry_types"] = sorted(
        set().union(*(r["geometry_types"] for r in done)))
    n = sum(r["n"] for r in done)
    # The whole column's sum, as build_grid computes it (not a sum of band sums).
    area_total = float(np.concatenate([
        pq.read_table(parts / f"units-{r['row_start']:08d}.parquet", columns=["area_km2"])
        ["area_km2"].to_numpy() for r in done]).sum())
    crs = pyproj.CRS.from_wkt(plan.crs_wkt)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "square",
        "cell_km": plan.grid.cell_m / 1000,
        "crs_wkt": plan.crs_wkt,
        "square_grid": plan.grid.__dict__,
        "layers": [s.to_dict() for s in layers],
        "nodata": report,
        "n_units": n,
        "area_km2": area_total,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "carbonpark_version": carbonpark_version(),
        "versions": versions(),
    }
    schema = pa.schema([pa.field("pu_id", pa.int64())] + [fields[c] for c in columns]
                       + [fields["geometry"]])
    keys = np.empty(n, dtype=np.int64)
    offset = 0
    file_meta = {b"geo": json.dumps(geo).encode(), META_KEY: json.dumps(meta).encode()}
    with pq.ParquetWriter(folder / "units.parquet", schema.with_metadata(file_meta)) as writer:
        for r in done:
            t = pq.read_table(parts / f"units-{r['row_start']:08d}.parquet")
            k = r["n"]
            arrays = [pa.array(np.arange(offset, offset + k, dtype=np.int64))]
            for f in list(schema)[1:]:
                if f.name in t.column_names:
                    arrays.append(t[f.name].cast(f.type))
                else:  # a class this band has none of
                    arrays.append(pa.nulls(k, f.type) if not pa.types.is_floating(f.type)
                                  else pa.array(np.zeros(k), f.type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            keys[offset:offset + k] = (t["row"].to_numpy().astype(np.int64) * plan.grid.ncols
                                       + t["col"].to_numpy())
            offset += k

    # boundary.parquet: pairs of (row, col) to ids (keys are sorted: row-major order), a
    # row group per band.
    ncols = plan.grid.ncols
    bschema = pa.schema([("id1", pa.int64()), ("id2", pa.int64()), ("length_km", pa.float64())])
    with pq.ParquetWriter(folder / "boundary.parquet", bschema) as writer:
        for r in done:
            pairs = pq.read_table(parts / f"boundary-{r['row_start']:08d}.parquet")
            r1, c1 = pairs["row1"].to_numpy(), pairs["col1"].to_numpy()
            r2, c2 = pairs["row2"].to_numpy(), pairs["col2"].to_numpy()
            writer.write_table(pa.table({
                "id1": np.searchsorted(keys, r1.astype(np.int64) * ncols + c1).astype(np.int64),
                "id2": np.searchsorted(keys, r2.astype(np.int64) * ncols + c2).astype(np.int64),
                "length_km": pairs["length_km"]}, schema=bschema))
    del keys

    # features.parquet: totals over the whole column, as build_grid computes them.
    rows: dict[str, dict[str, Any]] = {}
    for r in done:
        for f in r["features"]:
            rows.setdefault(f["column"], f)
    ordered = [rows[c] for c in columns if c in rows]
    feats = pd.DataFrame(ordered, columns=["column", "layer", "role", "year", "label", "unit",
                                           "source_unit", "density_column"])
    feats["year"] = feats["year"].astype("Int64")
    feats["total"] = [float(pd.Series(pq.read_table(folder / "units.parquet", columns=[c])[c]
                                      .to_numpy()).sum()) for c in feats["column"]]
    feats.to_parquet(folder / "features.parquet", index=False)
    carbon = feats.set_index("column")
    carbon = carbon[carbon["role"].isin(list(PLAUSIBLE_MAX_PER_HA))]
    if len(carbon):  # read only the carbon columns back: the whole grid is not in memory
        table = pq.read_table(folder / "units.parquet", columns=["area_km2", *carbon.index])
        plausibility_warnings({c: table[c].to_numpy() for c in carbon.index},
                              table["area_km2"].to_numpy(), carbon, stacklevel=6)

    gpd.GeoDataFrame(geometry=[outline], crs=crs).to_parquet(folder / "study_area.parquet")
    if areas:
        frame = pd.concat(areas, ignore_index=True)
        gpd.GeoDataFrame(frame[["name", "category"]], geometry=frame["geometry"].to_numpy(),
                         crs=crs).to_parquet(folder / "protected_areas.parquet", index=False)

