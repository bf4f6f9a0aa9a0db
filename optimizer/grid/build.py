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
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from optimizer.errors import CRSError, InputDataError, NodataWarning
from optimizer.grid.aggregate import band_blocks, chunked_coverage, raster_sums
from optimizer.grid.coverage import Window, coverage_matrix, window_for_bounds
from optimizer.grid.geometry import SquareGrid, boundary_table, square_cells
from optimizer.grid.planning_units import (
    FORMAT_VERSION,
    RESERVED_COLUMNS,
    PlanningUnits,
    features_frame,
    planning_units_from_arrays,
)
from optimizer.grid.store import read_grid, write_grid
from optimizer.inputs.layers import (
    LayerSpec,
    RasterInfo,
    check_class_values,
    is_equal_area,
    open_raster,
    polygonal_part,
    read_vector,
    repair_geometries,
)
from optimizer.inputs.units import get_unit, unit_for_role
from optimizer.versions import carbonpark_version, versions

__all__ = [
    "DEFAULT_MAX_UNITS",
    "FORMAT_VERSION",
    "RESERVED_COLUMNS",
    "PlanningUnits",
    "ProgressArg",
    "SquareGrid",
    "boundary_table",
    "build_grid",
    "check_grid_size",
    "fitted_albers",
    "planning_units_from_arrays",
    "read_grid",
    "read_study_area",
    "square_cells",
    "write_grid",
]

ProgressArg = bool | Callable[[float, str], None]

#: Largest grid `build_grid` makes without ``max_units=`` raised: 20 million units take
#: roughly 10-20 GB while aggregating (geometries, coverage weights, amount columns).
DEFAULT_MAX_UNITS = 20_000_000

# Below this share of the study area, missing data is noise not worth a warning.
_NODATA_WARN_SHARE = 1e-3


# ============================================================== CRS and study area

def fitted_albers(lon_min: float, lat_min: float, lon_max: float, lat_max: float) -> pyproj.CRS:
    """An Albers equal-area conic CRS fitted to a lon/lat box (standard parallels at 1/6, 5/6)."""
    span = lat_max - lat_min
    lat1, lat2 = lat_min + span / 6, lat_max - span / 6
    if abs(lat1 + lat2) < 1e-6:  # a box centred on the equator: keep the cone valid
        lat1, lat2 = lat_min + span / 4, lat_max
    lon0 = (lon_min + lon_max) / 2
    return pyproj.CRS.from_proj4(
        f"+proj=aea +lat_0={round((lat_min + lat_max) / 2, 2)} +lon_0={round(lon0, 2)} "
        f"+lat_1={round(lat1, 2)} +lat_2={round(lat2, 2)} +x_0=0 +y_0=0 +datum=WGS84 "
        "+units=m +no_defs"
    )


def _resolve_crs(crs: str | int | pyproj.CRS | None, lonlat_bounds: Sequence[float]) -> pyproj.CRS:
    if not np.isfinite(lonlat_bounds).all():
        raise CRSError("study area: its outline does not convert to longitude and latitude "
                       f"(bounds {tuple(lonlat_bounds)}); check the CRS of the study area file")
    if crs is None or (isinstance(crs, str) and crs.lower() == "auto"):
        return fitted_albers(*lonlat_bounds)
    try:
        out = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"grid crs {crs!r} is not a CRS ({exc}); give an EPSG code or 'auto'") from None
    if not is_equal_area(out):
        raise CRSError(
            f"grid crs {out.name!r} does not preserve area; planning units need an equal-area "
            "CRS (e.g. an Albers or Lambert azimuthal equal-area, or 'auto')"
        )
    return out


def read_study_area(source: Any, *, name: str = "study_area") -> tuple[shapely.Geometry, pyproj.CRS]:
    """Read a study-area outline (file, GeoDataFrame, or (geometry, crs)) as one valid polygon."""
    import geopandas as gpd

    if isinstance(source, (str, Path)):
        gdf = read_vector(source, name=name)
    elif isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        if source.crs is None:
            raise CRSError(f"{name}: GeoDataFrame has no CRS; set one with .set_crs()")
        gdf = gpd.GeoDataFrame(geometry=repair_geometries(np.asarray(source.geometry.values),
                                                          name=name), crs=source.crs)
    elif isinstance(source, tuple) and len(source) == 2:
        geom, crs = source
        return shapely.union_all(repair_geometries(np.array([geom]), name=name)), pyproj.CRS(crs)
    else:
        raise InputDataError(f"{name}: expected a vector file path, a GeoDataFrame or "
                             f"(geometry, crs); got {type(source).__name__}")
    outline = shapely.union_all(gdf.geometry.values)
    if outline.is_empty or outline.area == 0:
        raise InputDataError(f"{name}: the outline is empty; check the file")
    return outline, pyproj.CRS.from_user_input(gdf.crs)


def _to_crs(geoms: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> np.ndarray:
    if src == dst:
        return np.asarray(geoms)
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(np.asarray(geoms), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _lonlat_bounds(geom: shapely.Geometry, crs: pyproj.CRS) -> tuple[float, float, float, float]:
    g = _to_crs(np.array([geom]), crs, pyproj.CRS(4326))[0]
    return tuple(float(v) for v in shapely.bounds(g))  # type: ignore[return-value]


# ============================================================== aggregation

def _slug(text: Any) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return s or "x"


@dataclass(frozen=True)
class PreparedVector:
    """A vector layer read, dissolved by its attribute and clipped to the study area.

    Attributes
    ----------
    attr : str or None
        The attribute the features were grouped by.
    groups : numpy.ndarray
        The attribute's values (one per dissolved geometry).
    dissolved : numpy.ndarray
        One geometry per group, in the grid CRS.
    union : shapely geometry or None
        All groups together (protected and mask layers).
    areas : pandas.DataFrame or None
        A protected layer's areas: ``name``, ``category``, ``geometry`` (clipped).
    """

    attr: str | None
    groups: np.ndarray
    dissolved: np.ndarray
    union: shapely.Geometry | None
    areas: pd.DataFrame | None


def prepare_vector(spec: LayerSpec, crs: pyproj.CRS, outline: shapely.Geometry | None, *,
                   tick: Callable[[str], None] | None = None) -> PreparedVector:
    """Read a vector layer, dissolve it by its attribute and clip it to ``outline``.

    The whole-grid part of aggregating a vector layer; `_Builder.vector` turns it into
    columns for any set of units.
    """
    if spec.role not in ("region", "protected", "mask", "biodiversity", "land_cover"):
        raise InputDataError(f"layer {spec.name!r} ({spec.path}): a vector cannot be a "
                             f"{spec.role} layer; give a raster")
    attr = spec.attribute or {"protected": "category", "biodiversity": "species"}.get(spec.role)
    gdf = read_vector(spec.path, name=f"layer {spec.name!r}", layer=spec.layer)
    if attr is not None and attr not in gdf.columns:
        if spec.attribute is not None or spec.role == "biodiversity":
            raise InputDataError(
                f"layer {spec.name!r} ({spec.path}): no column {attr!r}; available: "
                f"{[c for c in gdf.columns if c != 'geometry']}; set LayerSpec(attribute=...)")
        attr = None
    if spec.role == "region" and attr is None:
        attr = next((c for c in gdf.columns if c != "geometry"), None)
    geoms = _to_crs(gdf.geometry.values, pyproj.CRS.from_user_input(gdf.crs), crs)
    keys = gdf[attr].to_numpy() if attr else np.zeros(len(gdf), dtype=object)
    groups = pd.unique(keys)
    if tick is not None:
        tick(spec.name)
    dissolved = np.array([shapely.union_all(geoms[keys == k]) for k in groups], dtype=object)
    if not np.isfinite(shapely.bounds(geoms)).all():
        raise CRSError(f"layer {spec.name!r} ({spec.path}): some features do not project from "
                       f"{gdf.crs.name!r} to the grid's CRS (infinite coordinates); check the "
                       "file's CRS, or clip the file to the study area")
    if outline is not None:
        dissolved = polygonal_part(shapely.intersection(dissolved, outline))
        if shapely.is_empty(dissolved).all():
            raise InputDataError(
                f"layer {spec.name!r} ({spec.path}): does not overlap the study area "
                f"(layer bounds {tuple(round(float(v), 3) for v in gdf.total_bounds)} in "
                f"{gdf.crs.name}); check the file's CRS and extent")
    union = areas = None
    if spec.role in ("protected", "mask"):
        union = shapely.union_all(dissolved)
    if spec.role == "protected":
        areas = _kept_areas(spec, gdf, geoms, keys if attr else None, outline)
    return PreparedVector(attr, np.asarray(groups, dtype=object), dissolved, union, areas)


def _kept_areas(spec: LayerSpec, gdf: Any, geoms: np.ndarray, categories: np.ndarray | None,
                outline: shapely.Geometry | None) -> pd.DataFrame:
    """A protected layer's areas (name, category, clipped polygon) for the grid."""
    col = spec.name_attribute or next(
        (c for c in gdf.columns if c != "geometry" and str(c).lower() == "name"), None)
    if col is not None and col not in gdf.columns:
        raise InputDataError(
            f"layer {spec.name!r} ({spec.path}): no column {col!r}; available: "
            f"{[c for c in gdf.columns if c != 'geometry']}; set name_attribute to one of them")
    n = len(gdf)
    fallback = np.array([f"{spec.name} {k}" for k in range(1, n + 1)], dtype=object)
    if col is None:
        names = fallback
    else:
        raw = gdf[col].to_numpy(dtype=object)
        names = np.where(pd.isna(raw), fallback, raw.astype(str))
    polys = polygonal_part(geoms)
    if outline is not None:
        polys = polygonal_part(shapely.intersection(polys, outline))
    keep = ~(shapely.is_empty(polys) | shapely.is_missing(polys))
    cat = (np.full(n, None, dtype=object) if categories is None
           else np.asarray(categories, dtype=object))
    return pd.DataFrame({"name": names[keep], "category": cat[keep], "geometry": polys[keep]})


def protected_union(unions: Sequence[shapely.Geometry]) -> shapely.Geometry:
    """The union of several protected layers' unions (overlaps counted once)."""
    return shapely.union_all(np.array(list(unions), dtype=object))


def check_raster_overlap(spec: LayerSpec, info: RasterInfo, geoms: np.ndarray) -> None:
    """Refuse a raster that covers none of ``geoms`` (the units, in the raster's CRS)."""
    gb = shapely.bounds(geoms)
    total_bounds = (gb[:, 0].min(), gb[:, 1].min(), gb[:, 2].max(), gb[:, 3].max())
    if window_for_bounds(info.transform, info.width, info.height, total_bounds) is None:
        raise InputDataError(
            f"layer {spec.name!r} ({spec.path}): does not overlap the study area "
            f"(raster bounds {tuple(round(v, 3) for v in info.bounds)}, study area "
            f"{tuple(round(float(v), 3) for v in total_bounds)} in {info.crs.name}); "
            "check the file's CRS and extent"
        )


def nodata_report(layers: Sequence[LayerSpec], sums: dict[str, Sequence[float]], *,
                  stacklevel: int = 3) -> dict[str, dict[str, float]]:
    """Nodata shares per raster layer from `_Builder.report_sums` (summed over bands of a grid).

    Raises `InputDataError` for a layer with no data over the study area, and warns
    (`NodataWarning`) where more than 0.1% of it has none.
    """
    report: dict[str, dict[str, float]] = {}
    for spec in layers:
        if spec.name not in sums:
            continue
        total, covered, valid_all, valid_any = sums[spec.name]
        missing = max(total - covered, 0.0)
        nodata = max(covered - valid_all, 0.0)
        if valid_any <= 0:
            raise InputDataError(
                f"layer {spec.name!r} ({spec.path}): all cells over the study area are nodata; "
                "check the nodata value and that the file holds data for this area"
            )
        share = (missing + nodata) / total if total else 0.0
        report[spec.name] = {"nodata_km2": nodata, "outside_extent_km2": missing,
                             "nodata_share": share}
        if share > _NODATA_WARN_SHARE:
            warnings.warn(
                f"layer {spec.name!r}: {share:.2%} of the study area has no data "
                f"({nodata:,.0f} km2 nodata, {missing:,.0f} km2 outside the raster); "
                "excluded from totals",
                NodataWarning, stacklevel=stacklevel,
            )
    return report


@dataclass
class _Builder:
    """State of one grid build: unit geometries, chunks, outputs."""

    geoms: np.ndarray  # in grid CRS
    crs: pyproj.CRS
    outline: shapely.Geometry | None
    square: SquareGrid | None
    rows: np.ndarray | None
    cols: np.ndarray | None
    area_km2: np.ndarray
    chunk_units: int
    tick: Callable[[str], None]
    # A band of a bigger grid (`optimizer.grid_tiles`): the checks that need the whole grid
    # (a raster overlapping it, nodata shares, per-band valid areas) are left to the caller.
    band: bool = False
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    features: list[dict[str, Any]] = field(default_factory=list)
    # Per layer: [unit area, area over the raster, area with data in every band, area with
    # data in some band] (km2), summed over units; `nodata_report` turns them into shares.
    report_sums: dict[str, list[float]] = field(default_factory=dict)
    # Multi-band layers whose bands differ in valid area somewhere (per-band denominators).
    band_valid_differs: set[str] = field(default_factory=set)
    # Vector protected layers: dissolved geometry and its covered fraction per unit.
    protected_geoms: list[tuple[shapely.Geometry, np.ndarray]] = field(default_factory=list)
    protected_fractions: list[np.ndarray] = field(default_factory=list)  # raster layers
    # Vector protected layers: each area's name, category and clipped polygon (grid CRS).
    protected_areas: list[pd.DataFrame] = field(default_factory=list)
    _reprojected: dict[str, np.ndarray] = field(default_factory=dict)

    # ---------------------------------------------------------- helpers
    def geoms_in(self, crs: pyproj.CRS) -> np.ndarray:
        key = crs.to_wkt()
        if key not in self._reprojected:
            geoms = self.geoms
            if self.square is not None and self.square.cell_m > 25_000:
                # Straight edges in the grid CRS are curves elsewhere: densify big cells.
                geoms = shapely.segmentize(geoms, 10_000)
            self._reprojected[key] = _to_crs(geoms, self.crs, crs)
        return self._reprojected[key]

    def add(self, column: str, values: np.ndarray, **feature: Any) -> None:
        if column in self.columns or column in RESERVED_COLUMNS:
            raise InputDataError(f"two layers produce the column {column!r}; give the layers "
                                 "distinct names")
        self.columns[column] = values
        if feature:
            self.features.append({"column": column, **feature})

    # ---------------------------------------------------------- rasters
    def raster(self, spec: LayerSpec) -> None:
        info = open_raster(spec)
        unit = unit_for_role(get_unit(spec.unit), spec.role)
        geoms = self.geoms_in(info.crs)
        if not self.band:
            check_raster_overlap(spec, info, geoms)

        def tick() -> None:
            self.tick(spec.name)

        if unit.kind == "class":
            covered_km2, valid_km2, class_km2 = self._class_areas(spec, info, geoms, tick)
            self._report(spec, covered_km2, valid_km2)
            self._categorical_columns(spec, info, class_km2)
            return
        sums = raster_sums(geoms, spec.path, info, per_area=unit.kind != "per_cell",
                           chunk_units=self.chunk_units, check=True, progress=tick)
        amount = sums.amount * unit.factor  # summed, then scaled to the unit's totals
        valid_km2 = sums.valid_km2
        self._report(spec, sums.covered_km2, valid_km2)
        labels = info.band_labels
        for b, label in enumerate(labels):
            col = f"{spec.name}_{label}" if label else spec.name
            self._raster_column(spec, unit, col, amount[:, b], valid_km2[:, b], info.years[b],
                                info.band_description(b) if label and info.years[b] is None else label)
        self.columns[f"{spec.name}_valid_km2"] = valid_km2.min(axis=1)
        differs = len(labels) > 1 and not np.allclose(valid_km2, valid_km2[:, :1], rtol=1e-9,
                                                      atol=1e-12)
        if differs:
            self.band_valid_differs.add(spec.name)
        if differs or (self.band and len(labels) > 1):
            # Nodata that varies by band (a year with gaps): each band keeps its own
            # denominator, so one year's gaps do not lower every year's density. (A band
            # of a bigger grid keeps them all; the whole grid's test decides.)
            for b, label in enumerate(labels):
                self.columns[f"{spec.name}_{label}_valid_km2"] = valid_km2[:, b]

    def _raster_column(self, spec: LayerSpec, unit: Any, col: str, amount: np.ndarray,
                       valid: np.ndarray, year: int | None, label: str) -> None:
        if spec.role == "protected" or spec.role == "mask":
            frac = np.divide(amount, self.area_km2, out=np.zeros_like(amount), where=self.area_km2 > 0)
            frac = np.clip(frac, 0, 1)
            if f"{col}_fraction" != "pa_fraction":  # "pa" is the canonical union itself
                self.add(f"{col}_fraction", frac)
            if spec.role == "protected":
                self.protected_fractions.append(frac)
            return
        density_col = f"{col}_density" if unit.kind != "per_cell" else ""
        self.add(col, amount, layer=spec.name, role=spec.role, year=year, label=label,
                 unit=unit.total_unit, source_unit=unit.name, density_column=density_col)
        if density_col:
            with np.errstate(invalid="ignore", divide="ignore"):
                dens = np.where(valid > 0, amount / (valid * unit.factor), np.nan)
            self.columns[density_col] = dens

    def _class_areas(self, spec: LayerSpec, info: RasterInfo, geoms: np.ndarray,
                     tick: Callable[[], None]
                     ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
        """Covered and valid areas (km2) of a class raster per unit, and each class's area."""
        n = len(geoms)
        covered_km2 = np.zeros(n)
        valid_km2 = np.zeros((n, len(info.bands)))
        class_km2: dict[int, np.ndarray] = {}
        for chunk in chunked_coverage(geoms, info, self.chunk_units, progress=tick):
            w, idx, area = chunk.weights, chunk.units, chunk.cell_km2
            covered_cells = chunk.cell_weight() > 0
            covered_km2[idx] = w @ area
            for start, values, ok in band_blocks(spec.path, info, chunk.window):
                for b, (vals, ok_b) in enumerate(zip(values, ok, strict=True), start=start):
                    here = ok_b & covered_cells
                    check_class_values(info, vals, here)
                    for c in np.unique(vals[here]):
                        hit = here & (vals == c)
                        class_km2.setdefault(int(c), np.zeros(n))[idx] += w @ (area * hit)
                    valid_km2[idx, b] = w @ (area * ok_b)
        return covered_km2, valid_km2, class_km2

    def _categorical_columns(
        self, spec: LayerSpec, info: RasterInfo, class_km2: dict[int, np.ndarray]
    ) -> None:
        names = dict(info.classes)
        codes = sorted(set(class_km2) | set(names))
        stack = np.column_stack([class_km2.get(c, np.zeros(len(self.geoms))) for c in codes])
        if spec.role == "region":
            self._majority(spec, stack, np.array([names.get(c, c) for c in codes], dtype=object))
            return
        for j, code in enumerate(codes):
            label = _slug(names.get(code, f"class_{code}"))
            col = f"{spec.name}_{label}_km2"
            if spec.role == "land_cover":
                self.add(col, stack[:, j], layer=spec.name, role=spec.role, year=None, label=label,
                         unit="km2", source_unit="class", density_column="")
            else:  # mask or protected raster given as classes: nonzero classes count
                self.columns[col] = stack[:, j]
        if spec.role == "land_cover" and len(codes):
            major = np.array([_slug(names.get(c, f"class_{c}")) for c in codes], dtype=object)
            self.columns[f"{spec.name}_major"] = np.where(stack.sum(axis=1) > 0,
                                                          major[stack.argmax(axis=1)], None)

    def _report(self, spec: LayerSpec, covered: np.ndarray, valid: np.ndarray) -> None:
        self.report_sums[spec.name] = [float(self.area_km2.sum()), float(covered.sum()),
                                       float(valid.min(axis=1).sum()) if valid.size else 0.0,
                                       float(valid.max(axis=1).sum()) if valid.size else 0.0]

    # ---------------------------------------------------------- vectors
    def vector(self, spec: LayerSpec, prepared: PreparedVector | None = None) -> None:
        """Aggregate a vector layer (read, dissolved and clipped here unless ``prepared``)."""
        v = prepared or prepare_vector(spec, self.crs, self.outline, tick=self.tick)
        km2 = self.vector_km2(v.dissolved)  # units x groups
        if spec.role == "region":
            self._majority(spec, km2.toarray(), np.asarray(v.groups, dtype=object))
            return
        if spec.role in ("protected", "mask"):
            assert v.union is not None
            union_km2 = np.asarray(self.vector_km2(np.array([v.union], dtype=object)).todense()).ravel()
            frac = np.clip(union_km2 / np.where(self.area_km2 > 0, self.area_km2, 1), 0, 1)
            if f"{spec.name}_fraction" != "pa_fraction":  # "pa" is the canonical union itself
                self.add(f"{spec.name}_fraction", frac)
            if v.attr is not None and spec.role == "protected":
                dense = km2.toarray()
                for j, k in enumerate(v.groups):
                    self.add(f"{spec.name}_{_slug(k)}_fraction",
                             np.clip(dense[:, j] / np.where(self.area_km2 > 0, self.area_km2, 1), 0, 1))
            if spec.role == "protected":
                self.protected_geoms.append((v.union, frac))
                if v.areas is not None:
                    self.protected_areas.append(v.areas)
            return
        dense = km2.toarray()  # biodiversity or land cover (prepare_vector checked the role)
        for j, k in enumerate(v.groups):
            label = _slug(k)
            self.add(f"{spec.name}_{label}", dense[:, j], layer=spec.name, role=spec.role,
                     year=None, label=str(k), unit="km2", source_unit="fraction",
                     density_column="")

    def vector_km2(self, polys: np.ndarray) -> sp.csr_matrix:
        """Area (km2) of each unit covered by each polygon (units x polygons)."""
        n = len(self.geoms)
        if self.square is not None:
            g = self.square
            assert self.rows is not None and self.cols is not None
            # Only the rows the units span: a band of a national grid stays small.
            r0, r1 = int(self.rows.min()), int(self.rows.max()) + 1
            lookup = np.full((r1 - r0) * g.ncols, -1, dtype=np.int64)
            lookup[(self.rows - r0) * g.ncols + self.cols] = np.arange(n)
            win = Window(r0, 0, r1 - r0, g.ncols)
            cov = coverage_matrix(polys, self.crs, g.transform, win).tocoo()
            unit = lookup[cov.col]
            ok = unit >= 0
            return sp.csr_matrix((cov.data[ok] * g.cell_km2, (unit[ok], cov.row[ok])),
                                 shape=(n, len(polys)))
        parts = shapely.get_parts(polys, return_index=True)
        pieces, owner = parts
        tree = shapely.STRtree(self.geoms)
        piece_i, unit_i = tree.query(pieces, predicate="intersects")
        area = shapely.area(shapely.intersection(self.geoms[unit_i], pieces[piece_i])) / 1e6
        return sp.csr_matrix((area, (unit_i, owner[piece_i])), shape=(n, len(polys)))

    def protected_fraction(self, union: shapely.Geometry | None = None) -> np.ndarray:
        """Share of each unit covered by any protected layer (overlaps counted once).

        ``union``: the union of the protected vector layers, when the caller has it.
        """
        if len(self.protected_geoms) == 1:  # the usual case: that layer's union is known
            pa = self.protected_geoms[0][1]
        elif self.protected_geoms:
            if union is None:
                union = protected_union([g for g, _ in self.protected_geoms])
            km2 = np.asarray(self.vector_km2(np.array([union], dtype=object)).todense()).ravel()
            pa = np.clip(km2 / np.where(self.area_km2 > 0, self.area_km2, 1), 0, 1)
        else:
            pa = np.zeros(len(self.geoms))
        for frac in self.protected_fractions:  # raster fractions: overlap unknown, take the max
            pa = np.maximum(pa, frac)
        return pa

    def _majority(self, spec: LayerSpec, km2: np.ndarray, names: np.ndarray) -> None:
        has = km2.sum(axis=1) > 0
        region = np.where(has, names[km2.argmax(axis=1)], None)
        self.add(spec.name, region.astype(object))
        self.columns.setdefault("region", region.astype(object))


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
        ugeoms = repair_geometries(np.asarray(ugdf.geometry.values), name="units")
        ll = _lonlat_bounds(shapely.union_all(shapely.envelope(ugeoms)), ucrs)
        grid_crs = ucrs if (crs in (None, "auto") and is_equal_area(ucrs)) else _resolve_crs(crs, ll)
        geoms = _to_crs(ugeoms, ucrs, grid_crs)
        outline = None
        if outline_src is not None:
            outline = _to_crs(np.array([outline_src[0]]), outline_src[1], grid_crs)[0]
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
        grid_crs = _resolve_crs(crs, _lonlat_bounds(*outline_src))
        outline = _to_crs(np.array([outline_src[0]]), outline_src[1], grid_crs)[0]
        check_grid_size(float(shapely.area(outline)) / 1e6, float(cell_km), max_units)
        square, rows, cols, geoms, clipped = square_cells(outline, float(cell_km), origin)
        ids = np.arange(len(geoms))
        kind, cell = "square", float(cell_km)
    if len(geoms) == 0:
        raise InputDataError("no planning units: the units do not overlap the study area")

    area_km2 = shapely.area(geoms) / 1e6
    n_chunks = int(np.ceil(len(geoms) / chunk_units))
    steps = sum(1 if s.is_vector else n_chunks for s in layers) + 1
    tick, close = _progress(progress, steps)
    b = _Builder(geoms, grid_crs, outline, square, rows, cols, area_km2, chunk_units, tick)
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


def _progress(progress: ProgressArg, steps: int) -> tuple[Callable[[str], None], Callable[[], None]]:
    if callable(progress):
        state = {"i": 0}

        def tick_cb(msg: str) -> None:
            state["i"] += 1
            progress(min(state["i"] / steps, 1.0), msg)  # type: ignore[operator]

        return tick_cb, lambda: None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="grid", unit="step")

        def tick_bar(msg: str) -> None:
            bar.set_postfix_str(msg)
            bar.update(1)

        return tick_bar, bar.close
    return (lambda msg: None), (lambda: None)
