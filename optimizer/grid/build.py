"""Planning units from real layers: `build_grid` builds them and aggregates every layer exactly.

`build_grid` turns a study area and a list of `LayerSpec` into `PlanningUnits`:
square cells of a given size in an equal-area CRS (clipped to the study area, edge
cells keeping their true clipped area), or the user's own polygons. Every layer is
aggregated exactly: raster amounts are coverage-fraction-weighted sums of
value x true cell area (`optimizer.grid.aggregate`: exactextract coverage fractions;
ellipsoidal cell areas for geographic rasters), vector layers become covered areas
after dissolving overlaps. Rasters are read in windows, one chunk of units at a time,
so memory grows with the number of units, not with the size of a raster.

The rest of the grid lives beside this module and is re-exported here, so
``from optimizer.grid.build import ...`` reaches all of it: `PlanningUnits` and
`planning_units_from_arrays` (`optimizer.grid.planning_units`), `write_grid` and
`read_grid` (`optimizer.grid.store`), `square_cells`, `SquareGrid` and `boundary_table`
(`optimizer.grid.geometry`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from optimizer.errors import CRSError, InputDataError
from optimizer.grid.crs import lonlat_bounds, read_study_area, resolve_crs, to_crs
from optimizer.grid.geometry import SquareGrid, boundary_table, square_cells
from optimizer.grid.memory import check_build_memory
from optimizer.grid.planning_units import (
    FORMAT_VERSION,
    RESERVED_COLUMNS,
    PlanningUnits,
    features_frame,
    planning_units_from_arrays,
)
from optimizer.grid.store import read_grid, write_grid
from optimizer.grid.unit_columns import (
    UnitColumns,
    nodata_report,
    plausibility_warnings,
)
from optimizer.inputs.layers import (
    LayerSpec,
    is_equal_area,
    polygonal_part,
    read_vector,
    repair_geometries,
)
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.versions import carbonpark_version, versions

__all__ = [
    "DEFAULT_MAX_UNITS",
    "FORMAT_VERSION",
    "RESERVED_COLUMNS",
    "PlanningUnits",
    "SquareGrid",
    "boundary_table",
    "build_grid",
    "check_grid_size",
    "planning_units_from_arrays",
    "read_grid",
    "square_cells",
    "write_grid",
]

#: Largest grid `build_grid` makes without ``max_units=`` raised: 20 million units take
#: roughly 10-20 GB while aggregating (geometries, coverage weights, amount columns).
DEFAULT_MAX_UNITS = 20_000_000

# ============================================================== build

def unique_layers(layers: Sequence[LayerSpec]) -> list[LayerSpec]:
    """The layers as a list; `InputDataError` if two share a name (their columns would)."""
    layers = list(layers)
    names = [s.name for s in layers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputDataError(f"layer names must be unique; repeated: {dup}")
    return layers


def check_grid_size(area_km2: float, cell_km: float, max_units: int | None = DEFAULT_MAX_UNITS) -> int:
    """Estimate the number of square cells over ``area_km2``; refuse it above ``max_units``.

    Parameters
    ----------
    area_km2 : float
        Area of the study area.
    cell_km : float
        Side of a cell.
    max_units : int or None
        The limit; None for none.

    Returns
    -------
    int
        The estimate (area / cell area, rounded up).

    Raises
    ------
    InputDataError
        ``cell_km`` is not a positive number, or the estimate exceeds the limit; the
        message gives the estimate, a cell size that fits and how to raise the limit.
    """
    if not (isinstance(cell_km, int | float) and math.isfinite(cell_km) and cell_km > 0):
        raise InputDataError(f"cell_km must be positive; got {cell_km!r}; give the cell side in km")
    estimate = math.ceil(area_km2 / cell_km**2)
    if max_units is not None and estimate > max_units:
        fits = math.sqrt(area_km2 / max_units)
        step = 10 ** math.floor(math.log10(fits)) / 2 if fits > 0 else 1.0
        fits = math.ceil(fits / step) * step
        raise InputDataError(
            f"cells of {cell_km:g} km give about {estimate:,} planning units over the study area "
            f"({area_km2:,.0f} km2), above the limit of {max_units:,}; use larger cells "
            f"(--cell-km or cell_km= {fits:g} gives about {int(area_km2 / fits**2):,}) or raise the "
            "limit (--max-units or max_units=) if the memory allows it")
    return estimate


def build_grid(
    layers: Sequence[LayerSpec],
    *,
    study_area: Any = None,
    cell_km: float | None = 10.0,
    units: Any = None,
    id_column: str | None = None,
    crs: str | int | pyproj.CRS | None = "auto",
    origin: tuple[float, float] | None = None,
    chunk_units: int = 50_000,
    progress: ProgressArg = False,
    max_units: int | None = DEFAULT_MAX_UNITS,
    check_memory: bool = True,
) -> PlanningUnits:
    """Build planning units and aggregate every layer onto them.

    Parameters
    ----------
    layers : sequence of LayerSpec
        The layers to aggregate (any CRS, any grid).
    study_area : path, GeoDataFrame or (geometry, crs), optional
        Outline of the study area. Square cells are clipped to it; user polygons
        are clipped to it when given. Required for square cells.
    cell_km : float, optional
        Side of square cells in km. Ignored when ``units`` is given.
    units : path or GeoDataFrame, optional
        User polygons to use as planning units instead of square cells.
    id_column : str, optional
        Column of ``units`` holding unit ids (default: 0..n-1).
    crs : "auto", EPSG code or CRS
        Equal-area CRS of the units; "auto" fits an Albers equal-area conic to the
        study area.
    origin : (x, y), optional
        A point the square grid's lines pass through (in ``crs``); e.g. a raster
        corner, to make cells coincide with its pixels. Default (0, 0).
    chunk_units : int
        Units processed per raster window; bounds memory.
    progress : bool or callable
        True for a progress bar on stderr, or ``f(fraction, message)``.
    max_units : int or None
        Refuse, before building, a grid estimated (study area / cell area) or counted
        (user polygons) above this many units; None for no limit. The default (20
        million) keeps a build within a few tens of GB of memory.
    check_memory : bool
        Refuse, before building, a grid whose estimated peak memory exceeds the memory
        available (`optimizer.grid.memory.check_build_memory`: the system's, ``ulimit``'s,
        the cgroup's); False to build anyway.

    Returns
    -------
    PlanningUnits

    Raises
    ------
    InputDataError, CRSError, UnitError
        With a one-line message naming the input at fault and the fix.

    Examples
    --------
    >>> from optimizer import LayerSpec, build_grid
    >>> from optimizer.datasets import demo_manifest
    >>> demo = demo_manifest().parent / "demo"
    >>> pu = build_grid([LayerSpec("biomass", demo / "biomass_carbon.tif", "carbon_stock", "MgC/ha")],
    ...                 study_area=demo / "country.gpkg", cell_km=100)
    >>> len(pu), pu.features.loc["biomass", "unit"]
    (261, 'MgC')
    """
    import geopandas as gpd

    started = time.perf_counter()
    layers = unique_layers(layers)
    if units is None and study_area is None:
        raise InputDataError("build_grid needs a study_area outline for square cells, or units=")

    outline_src = read_study_area(study_area) if study_area is not None else None
    square = rows = cols = clipped = None
    if units is not None:
        ugdf = units if isinstance(units, gpd.GeoDataFrame) else read_vector(units, name="units")
        if ugdf.crs is None:
            raise CRSError("units: GeoDataFrame has no CRS; set one with .set_crs()")
        ucrs = pyproj.CRS.from_user_input(ugdf.crs)
        if max_units is not None and len(ugdf) > max_units:
            raise InputDataError(f"units: {len(ugdf):,} polygons exceed the limit of {max_units:,} "
                                 "planning units; merge polygons or raise the limit (max_units=, "
                                 "--max-units)")
        if check_memory:
            check_build_memory(len(ugdf), layers)
        ugeoms = repair_geometries(np.asarray(ugdf.geometry.values), name="units")
        ll = lonlat_bounds(shapely.union_all(shapely.envelope(ugeoms)), ucrs)
        grid_crs = ucrs if (crs in (None, "auto") and is_equal_area(ucrs)) else resolve_crs(crs, ll)
        geoms = to_crs(ugeoms, ucrs, grid_crs)
        outline = None
        if outline_src is not None:
            outline = to_crs(np.array([outline_src[0]]), outline_src[1], grid_crs)[0]
            geoms = polygonal_part(shapely.intersection(geoms, outline))
        if id_column is not None:
            if id_column not in ugdf.columns:
                raise InputDataError(f"units: no id column {id_column!r}; available: "
                                     f"{[c for c in ugdf.columns if c != 'geometry']}")
            ids = ugdf[id_column].to_numpy()
            if pd.Series(ids).duplicated().any():
                raise InputDataError(f"units: id column {id_column!r} has duplicate ids")
        else:
            ids = np.arange(len(geoms))
        keep = ~shapely.is_empty(geoms)
        geoms, ids = geoms[keep], ids[keep]
        kind, cell = "polygons", None
    else:
        assert outline_src is not None
        if cell_km is None:
            raise InputDataError("cell_km is required for square cells (or pass units=)")
        grid_crs = resolve_crs(crs, lonlat_bounds(*outline_src))
        outline = to_crs(np.array([outline_src[0]]), outline_src[1], grid_crs)[0]
        area = float(shapely.area(outline)) / 1e6
        n_est = check_grid_size(area, float(cell_km), max_units)
        if check_memory:
            b0 = shapely.bounds(outline)
            nrows = max(1, math.ceil((b0[3] - b0[1]) / (float(cell_km) * 1000)))
            check_build_memory(n_est, layers, area_km2=area, cell_km=float(cell_km),
                               units_per_row=n_est / nrows)
        square, rows, cols, geoms, clipped = square_cells(outline, float(cell_km), origin)
        ids = np.arange(len(geoms))
        kind, cell = "square", float(cell_km)
    if len(geoms) == 0:
        raise InputDataError("no planning units: the units do not overlap the study area")

    area_km2 = shapely.area(geoms) / 1e6
    n_chunks = int(np.ceil(len(geoms) / chunk_units))
    steps = sum(1 if s.is_vector else n_chunks for s in layers) + 1
    tick, close = progress_ticker(progress, steps, desc="grid")
    b = UnitColumns(geoms, grid_crs, outline, square, rows, cols, area_km2, chunk_units, tick)
    try:
        for spec in layers:
            if spec.is_vector:
                b.vector(spec)
            else:
                b.raster(spec)
        tick("boundary")
        bi, bj, blen, exposed = boundary_table(geoms, square=square, rows=rows, cols=cols,
                                               clipped=clipped)
    finally:
        close()

    report = nodata_report(layers, b.report_sums, stacklevel=3)
    pa = b.protected_fraction()
    base: dict[str, Any] = {"pu_id": ids}
    if square is not None:
        base.update(row=rows, col=cols)
    base.update(area_km2=area_km2, perimeter_km=shapely.length(geoms) / 1000, exposed_km=exposed,
                pa_fraction=pa, region=b.columns.pop("region", np.full(len(geoms), None, object)))
    data = {**base, **b.columns}
    gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs=grid_crs)
    boundary = pd.DataFrame({"id1": ids[bi], "id2": ids[bj], "length_km": blen})
    features = features_frame(b.features, gdf)
    plausibility_warnings(gdf, area_km2, features, stacklevel=3)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "cell_km": cell,
        "crs_wkt": grid_crs.to_wkt(),
        "square_grid": None if square is None else square.__dict__,
        "layers": [s.to_dict() for s in layers],
        "nodata": report,
        "n_units": len(gdf),
        "area_km2": float(area_km2.sum()),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "carbonpark_version": carbonpark_version(),
        "versions": versions(),
    }
    areas = None
    if b.protected_areas:
        frame = pd.concat(b.protected_areas, ignore_index=True)
        areas = gpd.GeoDataFrame(frame[["name", "category"]], geometry=frame["geometry"].to_numpy(),
                                 crs=grid_crs)
    return PlanningUnits(gdf, boundary, features, meta, outline, areas)


