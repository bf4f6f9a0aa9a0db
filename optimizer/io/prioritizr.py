"""prioritizr-style inputs: raster planning units, and polygon units with raster features.

prioritizr (R) users hold their work as a cost raster (``NA`` = not a planning unit)
with multi-band feature rasters on the same grid, or as planning-unit polygons with
feature rasters summed over each polygon. Both load here into `PlanningUnits`, so
``problem(pu, cost="cost")`` and every ``add_*`` method work on them, and
`optimizer.grid.build.write_grid` / `read_grid` store them:

* `raster_planning_units` - one unit per non-NA cost cell, with its square polygon,
  4-neighbour boundary and one feature column per band;
* `polygon_planning_units` - the user's polygons, with per-unit amounts the
  coverage-weighted sums of every band (exactextract coverage fractions, as
  prioritizr's ``exactextractr`` ``"sum"``);
* `prioritizr_problem` - ``problem(pu, cost=...)`` with the ``locked_in`` and
  ``locked_out`` columns applied as locks.

Everything is vectorised over cells and units; rasters are read band-block by
band-block (raster units) or in one window per chunk of units (polygon units).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import rasterio.windows
import shapely
from affine import Affine

from optimizer.errors import CRSError, CRSMismatchError, CRSWarning, InputDataError, NodataWarning
from optimizer.grid.aggregate import BAND_BLOCK, cell_amounts, raster_sums
from optimizer.grid.build import PlanningUnits, boundary_table, planning_units_from_arrays
from optimizer.grid.crs import fitted_albers, to_crs
from optimizer.inputs.layers import (
    LayerSpec,
    RasterInfo,
    cell_areas_km2,
    is_equal_area,
    open_raster,
    read_vector,
    read_window,
    repair_geometries,
    valid_mask,
)
from optimizer.inputs.roles import feature_roles
from optimizer.inputs.units import Unit, get_unit
from optimizer.model.problem import Problem, problem

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "polygon_planning_units",
    "prioritizr_problem",
    "raster_planning_units",
]

PathLike = str | Path
#: An ``extra`` layer: a raster path (a plain unit column, values as given), a
#: `LayerSpec`, or ``(path, role, unit)``; feature roles become feature columns.
ExtraLayer = PathLike | LayerSpec | tuple[PathLike, str, str]

# Bands read at once from a whole raster (raster units): at most BAND_BLOCK, and at most
# _BLOCK_CELLS values (bands x rows x cols) at a time, so memory stays bounded.
_BLOCK_CELLS = 64_000_000
# Units per coverage window (polygon units): bounds the sparse coverage matrix.
_CHUNK_UNITS = 20_000
# Below this share of the covered area, missing data is noise not worth a warning.
_NODATA_WARN_SHARE = 1e-3


# ============================================================== raster files

@dataclass(frozen=True)
class _Raster:
    """An opened raster file and the layer spec it was opened with."""

    path: Path
    info: RasterInfo
    unit: Unit

    @property
    def count(self) -> int:
        return len(self.info.bands)

    def read_cells(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (cells x bands, float64) and validity at the given cells, in band blocks."""
        info = self.info
        full = rasterio.windows.Window(0, 0, info.width, info.height)
        values = np.empty((rows.size, self.count))
        valid = np.empty((rows.size, self.count), dtype=bool)
        step = max(1, min(BAND_BLOCK, _BLOCK_CELLS // max(info.width * info.height, 1)))
        for start in range(0, self.count, step):
            bands = info.bands[start:start + step]
            block, mask = read_window(self.path, bands, full)
            cells = block[:, rows, cols]
            ok = valid_mask(info, cells, None if mask is None else
                            np.broadcast_to(mask[rows, cols], cells.shape))
            values[:, start:start + len(bands)] = cells.T
            valid[:, start:start + len(bands)] = ok.T
        return values, valid


def _add_features(columns: dict[str, np.ndarray], feature_info: dict[str, dict[str, str]],
                  names: Sequence[str], amounts: np.ndarray, r: _Raster, role: str) -> None:
    """One feature column per band of ``r`` (``amounts``: units x bands), with its info."""
    for b, col in enumerate(names):
        columns[col] = amounts[:, b]
        feature_info[col] = {"role": role, "unit": r.unit.name, "layer": r.path.stem, "label": col}


def _open(path: PathLike, *, what: str, role: str, unit: str, name: str = "layer") -> _Raster:
    """Open a raster with our header checks (CRS present, north-up, readable)."""
    path = Path(path)
    if path.suffix.lower() in {".gpkg", ".shp", ".geojson", ".json", ".parquet", ".fgb"}:
        raise InputDataError(f"{what} ({path}): a vector file where a raster is expected; "
                             "give a GeoTIFF (polygons go to polygon_planning_units)")
    spec = LayerSpec(name, path, role, unit)
    return _Raster(path, open_raster(spec), get_unit(unit))


def _same_grid(ref: _Raster, other: _Raster, what: str) -> None:
    """Raise unless ``other`` has the CRS, transform and shape of ``ref`` (the cost raster)."""
    a, b = ref.info, other.info
    if a.crs != b.crs:
        raise CRSMismatchError(
            f"{what} ({other.path}) is in {b.crs.name!r} but the cost raster ({ref.path}) is in "
            f"{a.crs.name!r}; warp it onto the cost grid (e.g. gdalwarp -t_srs, -te, -tr of the "
            "cost raster)")
    tol = 1e-6 * max(abs(a.transform.a), abs(a.transform.e))
    same_transform = all(abs(x - y) <= tol for x, y in zip(a.transform[:6], b.transform[:6], strict=True))
    if (a.height, a.width) != (b.height, b.width) or not same_transform:
        raise InputDataError(
            f"{what} ({other.path}) is {b.height}x{b.width} cells at {_describe(b.transform)} but "
            f"the cost raster ({ref.path}) is {a.height}x{a.width} at {_describe(a.transform)}; "
            "resample it onto the cost grid (same extent, cell size and alignment)")


def _describe(t: Affine) -> str:
    return f"origin ({t.c:.6g}, {t.f:.6g}), cell {abs(t.a):.6g}x{abs(t.e):.6g}"


def _feature_names(feature_names: Sequence[str] | PathLike | None, rasters: list[_Raster]
                   ) -> list[str]:
    """Feature column names: given (list or one-per-line file), else band descriptions,
    else ``<file stem>_b<band>``."""
    n = sum(r.count for r in rasters)
    if feature_names is not None:
        if isinstance(feature_names, str | Path):
            path = Path(feature_names)
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputDataError(f"feature_names ({path}): cannot be read ({exc.strerror}); "
                                     "give a text file with one name per line") from None
            names = [s.strip() for s in lines]
            while names and not names[-1]:  # a trailing newline is not a name
                names.pop()
            source = str(path)
        else:
            names = [str(s).strip() for s in feature_names]
            source = "feature_names"
        if len(names) != n:
            raise InputDataError(f"{source}: {len(names)} names for {n} feature bands; give one "
                                 "name per band, in band order")
        if any(not s for s in names):
            raise InputDataError(f"{source}: empty name for band {names.index('') + 1}; give every "
                                 "band a name")
    else:
        names = []
        for r in rasters:
            stem = r.path.stem
            descs = [str(d).strip() if d else "" for d in r.info.descriptions]
            usable = all(descs) and len(set(descs)) == len(descs)
            names += descs if usable else [f"{stem}_b{b}" for b in r.info.bands]
    dup = sorted({s for s in names if names.count(s) > 1})
    if dup:
        raise InputDataError(f"feature names must be unique; repeated: {dup[:5]}; pass "
                             "feature_names= with distinct names")
    return names


def _amounts(values: np.ndarray, area_km2: np.ndarray, unit: Unit) -> np.ndarray:
    """Per-unit totals of raster values (cells x bands) in ``unit`` on cells of ``area_km2``
    (densities, intensive values and fractions are multiplied by the true area)."""
    return cell_amounts(values, area_km2, per_area=unit.kind != "per_cell", factor=unit.factor)


def _fill_na(values: np.ndarray, valid: np.ndarray, what: str, path: Path) -> np.ndarray:
    """NA values inside planning units become 0, with a `NodataWarning` giving the count."""
    bad = int((~valid).sum())
    if bad:
        units = int((~valid).any(axis=1).sum())
        warnings.warn(f"{what} ({path}): {bad:,} NA value(s) in {units:,} planning unit(s) "
                      "counted as 0", NodataWarning, stacklevel=3)
        values = np.where(valid, values, 0.0)
    return values


def _lock_column(r: _Raster, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    values, valid = r.read_cells(rows, cols)
    return (valid & (values != 0)).any(axis=1)


def _extra_layer(name: str, layer: ExtraLayer) -> tuple[Path, str | None, str]:
    """(path, role or None for a plain column, unit) of an ``extra`` entry."""
    if isinstance(layer, LayerSpec):
        return layer.path, layer.role, layer.unit
    if isinstance(layer, tuple):
        if len(layer) != 3:
            raise InputDataError(f"extra[{name!r}]: give a raster path, a LayerSpec or "
                                 f"(path, role, unit); got a tuple of {len(layer)}")
        return Path(layer[0]), str(layer[1]), str(layer[2])
    if isinstance(layer, str | Path):
        return Path(layer), None, "cost/cell"
    raise InputDataError(f"extra[{name!r}]: give a raster path, a LayerSpec or (path, role, unit); "
                         f"got {type(layer).__name__}")


def _crs_km(crs: pyproj.CRS) -> float:
    """Kilometres per unit of the CRS's (projected) axes."""
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return factor / 1000.0


# ============================================================== raster units

def raster_planning_units(
    cost: PathLike,
    features: PathLike | Sequence[PathLike] | None = None,
    *,
    locked_in: PathLike | None = None,
    locked_out: PathLike | None = None,
    extra: Mapping[str, ExtraLayer] | None = None,
    feature_names: Sequence[str] | PathLike | None = None,
    role: str = "biodiversity",
    unit: str = "count/cell",
    name: str = "raster",
) -> PlanningUnits:
    """Planning units from a prioritizr-style cost raster and feature rasters on its grid.

    Every cost cell holding data is one planning unit; NA cells (nodata or NaN) are
    not planning units. Units are numbered by their cell: ``pu_id`` is the 1-based
    cell index in row-major order over the whole raster (``row * width + col + 1``,
    as prioritizr and terra number cells), and ``row``, ``col`` are the 0-based
    cell position. Units come in ``pu_id`` order.

    Parameters
    ----------
    cost : path
        Single-band cost raster (GeoTIFF or anything GDAL reads); stored as the
        ``cost`` column, values as given.
    features : path or sequence of paths, optional
        Feature rasters, one feature column per band (in file, then band order).
    locked_in, locked_out : path, optional
        Lock rasters: a cell whose value is non-zero and not NA is locked. Stored as
        boolean columns ``locked_in`` and ``locked_out`` (`prioritizr_problem`
        applies them).
    extra : mapping, optional
        More layers by column name: a raster path (a plain column, values as given,
        NaN where NA), a `LayerSpec`, or ``(path, role, unit)``. Layers with a feature
        role become features in their unit's totals, e.g.
        ``{"carbon": (path, "carbon_stock", "MgC/ha")}`` gives MgC per cell, so
        max-utility weights ``{"carbon": 1}`` apply.
    feature_names : sequence of str or path, optional
        One name per feature band, or a text file with one name per line. Default:
        the band descriptions when all are present and distinct, else
        ``<file stem>_b<band>``.
    role, unit : str
        Role and unit of the ``features`` bands (see `optimizer.inputs.units`): the default
        ``count/cell`` keeps values as amounts per cell; a density (e.g. ``MgC/ha``)
        is multiplied by the cell's true area.
    name : str
        Recorded as the grid's source in ``meta["source"]``.

    Returns
    -------
    PlanningUnits
        Columns ``pu_id``, ``row``, ``col``, ``area_km2``, ``perimeter_km``,
        ``exposed_km`` (edges on NA cells or the raster's edge), ``cost``, lock and
        extra columns, and one column per feature. The boundary holds every pair of
        4-neighbour units with their shared pixel edge (km).

    Raises
    ------
    CRSMismatchError
        A raster is in another CRS than the cost raster.
    InputDataError
        A raster is on another grid (transform or shape), the cost raster has no
        data or several bands, or the names do not fit the bands.
    CRSError
        The rasters are in a geographic CRS (square pixels need a projected CRS).

    Warns
    -----
    CRSWarning
        The CRS is projected but not equal-area: areas are corrected by the
        projection's scale factor, boundary lengths are in projected metres.
    NodataWarning
        Feature values are NA inside planning units (counted as 0).
    """
    started = time.perf_counter()
    ref = _open(cost, what="cost", role="cost", unit="cost/cell", name="cost")
    info = ref.info
    if len(info.bands) != 1:
        raise InputDataError(f"cost ({ref.path}): {len(info.bands)} bands; a cost raster has one "
                             "band (NA cells are not planning units)")
    if info.crs.is_geographic:
        raise CRSError(f"cost ({ref.path}): in geographic {info.crs.name!r}; raster planning units "
                       "need a projected, equal-area CRS: warp the rasters (e.g. gdalwarp -t_srs "
                       "with a Lambert azimuthal equal-area or Albers CRS)")
    if not is_equal_area(info.crs):
        warnings.warn(f"cost ({ref.path}): {info.crs.name!r} does not preserve area; unit areas are "
                      "corrected by the projection's scale factor, boundary lengths are in projected "
                      "units (a small error within a UTM zone)", CRSWarning, stacklevel=2)
    full = rasterio.windows.Window(0, 0, info.width, info.height)
    cost_values, mask = read_window(ref.path, info.bands, full)
    ok = valid_mask(info, cost_values[0], None if mask is None else mask)
    rows, cols = np.nonzero(ok)  # row-major: units come in cell order
    n = rows.size
    if n == 0:
        raise InputDataError(f"cost ({ref.path}): every cell is NA, so there are no planning units; "
                             "check the nodata value")
    cost_col = cost_values[0][rows, cols].astype(np.float64)

    t = info.transform
    km = _crs_km(info.crs)
    area = _cell_areas(info, rows, cols)
    x0 = t.c + t.a * cols
    y0 = t.f + t.e * rows
    geoms = shapely.box(np.minimum(x0, x0 + t.a), np.minimum(y0, y0 + t.e),
                        np.maximum(x0, x0 + t.a), np.maximum(y0, y0 + t.e))
    ids = (rows.astype(np.int64) * info.width + cols + 1)
    boundary = _raster_boundary(ok, rows, cols, ids, abs(t.a) * km, abs(t.e) * km)

    columns: dict[str, np.ndarray] = {}
    feature_info: dict[str, dict[str, str]] = {}
    extra_cols: dict[str, Any] = {"row": rows, "col": cols, "cost": cost_col}
    layers: list[dict[str, Any]] = [{"name": "cost", "path": str(ref.path)}]

    paths = [] if features is None else (
        [features] if isinstance(features, str | Path) else list(features))
    rasters = [_open(p, what=f"features[{k}]", role=role, unit=unit) for k, p in enumerate(paths)]
    for k, r in enumerate(rasters):
        _same_grid(ref, r, f"features[{k}]")
    names = _feature_names(feature_names, rasters) if rasters else []
    start = 0
    for r in rasters:
        values, valid = r.read_cells(rows, cols)
        values = _fill_na(values, valid, "features", r.path)
        _add_features(columns, feature_info, names[start:start + r.count],
                      _amounts(values, area, r.unit), r, role)
        start += r.count
        layers.append({"name": "features", "path": str(r.path), "role": role, "unit": r.unit.name})

    for label, path in (("locked_in", locked_in), ("locked_out", locked_out)):
        if path is None:
            continue
        r = _open(path, what=label, role="mask", unit="fraction", name=label)
        _same_grid(ref, r, label)
        extra_cols[label] = _lock_column(r, rows, cols)
        layers.append({"name": label, "path": str(r.path)})

    for col, layer in (extra or {}).items():
        path, layer_role, layer_unit = _extra_layer(col, layer)
        if col in columns or col in extra_cols:
            raise InputDataError(f"extra[{col!r}]: the name is taken by another column; rename it")
        r = _open(path, what=f"extra[{col!r}]", role=layer_role or "cost", unit=layer_unit)
        _same_grid(ref, r, f"extra[{col!r}]")
        if r.count != 1:
            raise InputDataError(f"extra[{col!r}] ({r.path}): {r.count} bands; an extra layer has "
                                 "one band (several bands go to features=)")
        values, valid = r.read_cells(rows, cols)
        if layer_role in feature_roles():
            values = _fill_na(values, valid, f"extra[{col!r}]", r.path)
            columns[col] = _amounts(values, area, r.unit)[:, 0]
            feature_info[col] = {"role": layer_role, "unit": r.unit.name, "layer": col, "label": col}
        else:
            extra_cols[col] = np.where(valid[:, 0], values[:, 0], np.nan)
        layers.append({"name": col, "path": str(r.path), "role": layer_role, "unit": r.unit.name})

    square = abs(abs(t.a) - abs(t.e)) <= 1e-9 * abs(t.a) and km == 1e-3
    meta = {
        "source": name,
        "cell_km": abs(t.a) * km if square else None,
        "square_grid": ({"x0": t.c, "y0": t.f, "cell_m": abs(t.a), "nrows": info.height,
                         "ncols": info.width} if square and t.a > 0 > t.e else None),
        "inputs": layers,
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    return planning_units_from_arrays(
        ids, pd.DataFrame(columns), area_km2=area, geometry=geoms, crs=info.crs, boundary=boundary,
        extra=extra_cols, feature_info=pd.DataFrame.from_dict(feature_info, orient="index"),
        role=role, unit=unit, kind="raster", meta=meta)


def _cell_areas(info: RasterInfo, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """True area (km2) of the cells at ``rows``, ``cols``: one value on an equal-area grid,
    else computed block by block of raster rows (the scale factor varies over the grid)."""
    t = info.transform
    if is_equal_area(info.crs):
        return np.full(rows.size, float(cell_areas_km2(info.crs, t, rows[:1], cols[:1])[0, 0]))
    out = np.empty(rows.size)
    block = max(1, _BLOCK_CELLS // 8 // max(info.width, 1))
    for r0 in range(0, info.height, block):
        sel = (rows >= r0) & (rows < r0 + block)
        if sel.any():
            grid = cell_areas_km2(info.crs, t, np.arange(r0, min(r0 + block, info.height)),
                                  np.arange(info.width))
            out[sel] = grid[rows[sel] - r0, cols[sel]]
    return out


def _raster_boundary(ok: np.ndarray, rows: np.ndarray, cols: np.ndarray, ids: np.ndarray,
                     width_km: float, height_km: float) -> pd.DataFrame:
    """Shared pixel edges between 4-neighbour units, and each unit's exposed edges as
    ``id1 == id2`` rows (edges on NA cells or the raster's edge)."""
    h, w = ok.shape
    n = rows.size
    index = np.full(ok.shape, -1, dtype=np.int64)
    index[rows, cols] = np.arange(n)
    # Right neighbours share a vertical edge (pixel height); down neighbours a horizontal one.
    has_right = cols < w - 1
    right = np.full(n, -1, dtype=np.int64)
    right[has_right] = index[rows[has_right], cols[has_right] + 1]
    has_down = rows < h - 1
    down = np.full(n, -1, dtype=np.int64)
    down[has_down] = index[rows[has_down] + 1, cols[has_down]]
    a_right, a_down = np.flatnonzero(right >= 0), np.flatnonzero(down >= 0)
    i = np.concatenate([a_right, a_down])
    j = np.concatenate([right[a_right], down[a_down]])
    length = np.concatenate([np.full(a_right.size, height_km), np.full(a_down.size, width_km)])
    shared = np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
    exposed = 2 * (width_km + height_km) - shared
    exposed[np.abs(exposed) < 1e-9 * (width_km + height_km)] = 0.0
    edge = np.flatnonzero(exposed > 0)
    return pd.DataFrame({"id1": np.concatenate([ids[i], ids[edge]]),
                         "id2": np.concatenate([ids[j], ids[edge]]),
                         "length_km": np.concatenate([length, exposed[edge]])})


# ============================================================== polygon units

def polygon_planning_units(
    units: PathLike | gpd.GeoDataFrame,
    features: PathLike | Sequence[PathLike],
    *,
    id_column: str | None = None,
    cost_column: str | None = "cost",
    locked_in_column: str | None = None,
    locked_out_column: str | None = None,
    feature_names: Sequence[str] | PathLike | None = None,
    role: str = "biodiversity",
    unit: str = "count/cell",
    name: str = "polygons",
    layer: str | None = None,
) -> PlanningUnits:
    """Planning units from polygons, with each band of the feature rasters summed over each unit.

    A unit's amount of a band is the coverage-weighted sum of the raster over the
    polygon, ``sum_c f_c v_c`` with ``f_c`` the exact fraction of cell c inside it
    (exactextract; NA cells count 0), which is exactextract's and prioritizr's
    ``"sum"``. A density ``unit`` (e.g. ``MgC/ha``) uses ``f_c v_c a_c`` with the
    cell's true area ``a_c``. Polygons in another CRS than a raster are
    reprojected to the raster's CRS for that raster (a `CRSWarning` says so).

    Parameters
    ----------
    units : path or GeoDataFrame
        Planning-unit polygons (GeoPackage, Shapefile, ...). Every attribute
        column is kept as a unit column.
    features : path or sequence of paths
        Feature rasters, one feature column per band; each is read in one window
        per chunk of units.
    id_column : str, optional
        Column of unique unit ids. Default: the 1-based row number.
    cost_column : str or None
        Cost column, stored as ``cost`` (None: no cost column).
    locked_in_column, locked_out_column : str, optional
        Lock columns (non-zero / True = locked), stored as boolean ``locked_in`` and
        ``locked_out``. Default: the columns of those names, when present.
    feature_names, role, unit : optional
        As in `raster_planning_units`.
    name : str
        Recorded as the grid's source in ``meta["source"]``.
    layer : str, optional
        Layer name inside a multi-layer vector file.

    Returns
    -------
    PlanningUnits
        Geometry in the units' CRS (a projected one; geographic units go to a
        fitted Albers equal-area CRS). ``area_km2`` is the true area (computed in an
        equal-area CRS); the boundary holds shared edge lengths and each unit's
        exposed perimeter (from `optimizer.grid.build.boundary_table`).

    Raises
    ------
    InputDataError
        Missing columns, duplicate ids, rasters that do not overlap the units, or
        names that do not fit the bands.
    CRSError
        The units or a raster have no CRS.
    """
    import geopandas as gpd

    started = time.perf_counter()
    if isinstance(units, gpd.GeoDataFrame):
        if units.crs is None:
            raise CRSError("units: GeoDataFrame has no CRS; set one with .set_crs()")
        gdf = units[~(units.geometry.isna() | units.geometry.is_empty)].reset_index(drop=True)
        gdf = gdf.set_geometry(repair_geometries(np.asarray(gdf.geometry.values), name="units"))
        source = "units"
    elif isinstance(units, str | Path):
        gdf = read_vector(units, name="units", layer=layer)
        source = str(units)
    else:
        raise InputDataError(f"units: expected a vector file path or a GeoDataFrame; got "
                             f"{type(units).__name__}")
    src_crs = pyproj.CRS.from_user_input(gdf.crs)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    n = len(geoms)
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]

    def column(col: str, argument: str) -> np.ndarray:
        if col not in gdf.columns:
            raise InputDataError(f"units ({source}): no {argument} {col!r}; available: {attrs}")
        return gdf[col].to_numpy()

    if id_column is not None:
        ids = column(id_column, "id_column")
        if pd.Series(ids).duplicated().any() or pd.isna(pd.Series(ids)).any():
            raise InputDataError(f"units ({source}): id_column {id_column!r} has repeated or "
                                 "missing ids; give a column of unique ids")
    else:
        ids = np.arange(1, n + 1)

    # Output geometry: the units' own projected CRS; geographic units go to an equal-area one.
    if src_crs.is_geographic:
        lon0, lat0, lon1, lat1 = shapely.bounds(shapely.union_all(shapely.envelope(geoms)))
        out_crs = fitted_albers(lon0, lat0, lon1, lat1)
        out_geoms = to_crs(geoms, src_crs, out_crs)
    else:
        out_crs, out_geoms = src_crs, geoms
    if is_equal_area(out_crs):
        area = shapely.area(out_geoms) * _crs_km(out_crs) ** 2
    else:
        ll = shapely.bounds(shapely.union_all(shapely.envelope(to_crs(
            out_geoms, out_crs, pyproj.CRS(4326)))))
        area = shapely.area(to_crs(out_geoms, out_crs, fitted_albers(*ll))) / 1e6

    paths = [features] if isinstance(features, str | Path) else list(features)
    if not paths:
        raise InputDataError("features: no rasters given; give at least one feature raster")
    rasters = [_open(p, what=f"features[{k}]", role=role, unit=unit) for k, p in enumerate(paths)]
    names = _feature_names(feature_names, rasters)
    extra_cols: dict[str, Any] = {}
    locks = {"locked_in": locked_in_column, "locked_out": locked_out_column}
    for target, col in (("cost", cost_column), *locks.items()):
        if col is None and target != "cost" and target in gdf.columns:
            col = target
        if col is None:
            continue
        values = column(col, f"{target} column" if target == "cost" else f"{target}_column")
        if target == "cost":
            extra_cols["cost"] = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
        else:
            extra_cols[target] = np.nan_to_num(pd.to_numeric(pd.Series(values), errors="coerce")
                                               .to_numpy(np.float64), nan=0.0) != 0
    used = {cost_column, locked_in_column, locked_out_column, *extra_cols}
    reserved = {"pu_id", "area_km2", "perimeter_km", "exposed_km", "pa_fraction", "region"}
    for col in attrs:
        if col in used:
            continue
        if col in reserved or col in names:
            raise InputDataError(f"units ({source}): attribute column {col!r} clashes with a column "
                                 "we compute or a feature name; rename it")
        extra_cols[str(col)] = gdf[col].to_numpy()

    columns: dict[str, np.ndarray] = {}
    feature_info: dict[str, dict[str, str]] = {}
    reprojected: list[str] = []
    start = 0
    for r in rasters:
        if r.info.crs != src_crs:
            warnings.warn(f"units ({source}) are in {src_crs.name!r}, features ({r.path}) in "
                          f"{r.info.crs.name!r}: the polygons were reprojected to the raster's CRS "
                          "to sum its cells", CRSWarning, stacklevel=2)
            reprojected.append(str(r.path))
        _add_features(columns, feature_info, names[start:start + r.count],
                      _polygon_sums(to_crs(geoms, src_crs, r.info.crs), r), r, role)
        start += r.count

    bi, bj, blen, exposed = boundary_table(out_geoms)
    scale = _crs_km(out_crs) * 1000.0  # boundary_table gives km for metre CRSs
    edge = np.flatnonzero(exposed > 0)
    boundary = pd.DataFrame({"id1": np.concatenate([ids[bi], ids[edge]]),
                             "id2": np.concatenate([ids[bj], ids[edge]]),
                             "length_km": np.concatenate([blen, exposed[edge]]) * scale})

    meta = {"source": name, "units_path": source, "inputs": [
        {"name": "features", "path": str(r.path), "role": role, "unit": r.unit.name} for r in rasters],
        "reprojected_for": reprojected, "build_seconds": round(time.perf_counter() - started, 3)}
    return planning_units_from_arrays(
        ids, pd.DataFrame(columns), area_km2=area, geometry=out_geoms, crs=out_crs, boundary=boundary,
        extra=extra_cols, feature_info=pd.DataFrame.from_dict(feature_info, orient="index"),
        role=role, unit=unit, kind="polygons", meta=meta)


def _polygon_sums(geoms: np.ndarray, r: _Raster) -> np.ndarray:
    """Coverage-weighted sums (units x bands) of a raster's bands over polygons in its CRS."""
    sums = raster_sums(geoms, r.path, r.info, per_area=r.unit.kind != "per_cell",
                       factor=r.unit.factor, chunk_units=_CHUNK_UNITS)
    if not sums.overlaps:
        raise InputDataError(f"features ({r.path}): does not overlap the planning units; check the "
                             "raster's extent and CRS")
    if sums.nodata_share > _NODATA_WARN_SHARE:
        warnings.warn(f"features ({r.path}): {sums.nodata_share:.2%} of the covered cells x bands "
                      "are NA and counted as 0", NodataWarning, stacklevel=3)
    return sums.amount


# ============================================================== problem

def prioritizr_problem(pu: PlanningUnits, *, cost: str | Any | None = "cost") -> Problem:
    """``problem(pu, cost=cost)`` with the ``locked_in`` / ``locked_out`` columns applied.

    Parameters
    ----------
    pu : PlanningUnits
        From `raster_planning_units` or `polygon_planning_units` (any units work).
    cost : str, array or None
        As in `optimizer.model.problem.problem` (default the ``cost`` column).

    Returns
    -------
    Problem
        With no objective yet; units whose ``locked_in`` (``locked_out``) column is
        true are locked in (out).
    """
    p = problem(pu, cost=cost)
    units = pu.units
    if "locked_in" in units.columns and units["locked_in"].astype(bool).any():
        p = p.add_locked_in(column="locked_in")
    if "locked_out" in units.columns and units["locked_out"].astype(bool).any():
        p = p.add_locked_out(column="locked_out")
    return p
