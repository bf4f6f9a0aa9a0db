"""Planning units on disk: `write_grid` and `read_grid`.

A grid is a folder: ``units.parquet`` (GeoParquet, with the build metadata under the
``carbonpark`` key of the Parquet metadata), ``boundary.parquet``, ``features.parquet``,
``study_area.parquet`` and ``protected_areas.parquet`` (when there are) and the output marker
``carbonpark-output.json``. The folder is written beside its target and renamed into
place (`optimizer._atomic`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from optimizer._atomic import write_dir_atomic
from optimizer.errors import InputDataError
from optimizer.planning_units import PlanningUnits

if TYPE_CHECKING:
    import geopandas as gpd

#: Key of the build metadata (JSON) in the Parquet metadata of ``units.parquet``.
_META_KEY = b"carbonpark"


def write_grid(pu: PlanningUnits, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write planning units to a directory: ``units.parquet`` (GeoParquet),
    ``boundary.parquet``, ``features.parquet``, ``study_area.parquet``,
    ``protected_areas.parquet`` (``name``, ``category``, geometry; when the grid has
    them) and the output marker ``carbonpark-output.json``.

    The directory is written beside the target and renamed into place, so a reader
    never sees a half-written grid and a failed write leaves the old grid intact.

    Parameters
    ----------
    pu : PlanningUnits
    path : str or Path
        The grid folder: new, empty, or a grid written earlier by carbonpark.
    overwrite : bool
        Replace whatever is at ``path`` (a file, a folder of other things), except the
        layers the grid was built from (``pu.meta["layers"]``), which are never replaced.

    Raises
    ------
    OutputError
        ``path`` is taken by something that is not a carbonpark grid (and ``overwrite``
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
        table = _geoarrow_table(pu.units)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(pu.meta).encode()
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
    return write_dir_atomic(path, "grid", fill, overwrite=overwrite, inputs=inputs)


def _geoarrow_table(gdf: gpd.GeoDataFrame):  # type: ignore[no-untyped-def]
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


def read_grid(path: str | Path) -> PlanningUnits:
    """Read planning units written by `write_grid`.

    A folder without ``protected_areas.parquet`` (a grid without a protected vector
    layer, or one written before grids kept them) reads with ``protected_areas`` None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from optimizer import read_grid, write_grid
    >>> from optimizer.datasets import tiny_grid
    >>> back = read_grid(write_grid(tiny_grid(), pathlib.Path(tempfile.mkdtemp()) / "grid"))
    >>> len(back), back.features.loc["carbon", "unit"]
    (6, 'MgC')
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = Path(path)
    units_file = path / "units.parquet"
    if not units_file.exists():
        raise InputDataError(f"{path}: not a carbonpark grid (no units.parquet); build one with "
                             "`carbonpark grid`")
    try:
        raw = pq.read_schema(units_file).metadata or {}
        meta = json.loads(raw[_META_KEY])
        units = gpd.read_parquet(units_file)
        boundary = pd.read_parquet(path / "boundary.parquet")
        features = pd.read_parquet(path / "features.parquet").set_index("column")
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
