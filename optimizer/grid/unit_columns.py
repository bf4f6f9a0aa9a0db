"""Per-unit columns from layers: the aggregation `build_grid` and `build_grid_streamed` share.

* `UnitColumns` - one build's state: unit geometries in; amounts, class areas, majority
  classes, protected fractions and the features table out (`raster`, `vector`,
  `protected_fraction`).
* `prepare_vector` / `PreparedVector` - a vector layer read, reprojected, dissolved and
  clipped once (a banded build hands it to every band).
* `check_raster_overlap`, `nodata_report` - the whole-grid checks: every raster overlaps the
  units, and the share of the study area each layer has no data for (a `NodataWarning`).
* `protected_union` - the union of protected areas from several layers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from optimizer.errors import CRSError, InputDataError, NodataWarning, UnitPlausibilityWarning
from optimizer.grid.aggregate import band_blocks, chunked_coverage, raster_sums
from optimizer.grid.coverage import Window, coverage_matrix, window_for_bounds
from optimizer.grid.crs import to_crs
from optimizer.grid.geometry import SquareGrid
from optimizer.grid.planning_units import RESERVED_COLUMNS
from optimizer.inputs.layers import (
    LayerSpec,
    RasterInfo,
    check_class_values,
    open_raster,
    polygonal_part,
    read_vector,
)
from optimizer.inputs.units import get_unit, unit_for_role

__all__ = ["PLAUSIBLE_MAX_PER_HA", "PreparedVector", "UnitColumns", "check_raster_overlap",
           "nodata_report", "plausibility_warnings", "prepare_vector", "protected_union"]

# Below this share of the study area, missing data is noise not worth a warning.
_NODATA_WARN_SHARE = 1e-3


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
    geoms = to_crs(gdf.geometry.values, pyproj.CRS.from_user_input(gdf.crs), crs)
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


def nodata_report(layers: Sequence[LayerSpec], sums: Mapping[str, Sequence[float]], *,
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


#: Densities real products stay under (per hectare of a unit), by role: stock 1,000 MgC/ha
#: (even peat soils and the tallest forests; above it a unit was likely declared ten or a
#: thousand times too large, e.g. MgC/ha declared as kgC/m2) and uptake 30 MgC/ha/yr
#: (3,000 gC/m2/yr, above the most productive ecosystems' NPP).
PLAUSIBLE_MAX_PER_HA: dict[str, tuple[float, str]] = {"carbon_stock": (1000.0, "MgC/ha"),
                                                     "carbon_uptake": (30.0, "MgC/ha/yr")}


def plausibility_warnings(columns: Mapping[str, Any], area_km2: Any, features: pd.DataFrame, *,
                          stacklevel: int = 3) -> list[str]:
    """Warn (`UnitPlausibilityWarning`) for each carbon layer whose densities real products do
    not reach: the 99th percentile of its units' density above `PLAUSIBLE_MAX_PER_HA`.

    Returns the messages (also recorded in the grid's metadata by the builders).

    Examples
    --------
    >>> import warnings
    >>> feats = pd.DataFrame({"role": ["carbon_stock"], "layer": ["soc"],
    ...                       "source_unit": ["kgC/m2"]}, index=["soc"])
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     msgs = plausibility_warnings({"soc": np.full(4, 2.0e5)}, np.ones(4), feats)
    >>> print(msgs[0])  # doctest: +NORMALIZE_WHITESPACE
    layer 'soc': a carbon stock density of 2,000 MgC/ha in the densest 1% of units, above the
    1,000 MgC/ha real products reach; check its declared unit (kgC/m2): is it ten or a thousand
    times too large (e.g. MgC/ha declared as kgC/m2)?
    """
    area = np.asarray(area_km2, dtype=np.float64)
    ha = area * 100.0
    out: list[str] = []
    for layer, rows in features.groupby("layer", sort=False):
        role = str(rows["role"].iloc[0])
        if role not in PLAUSIBLE_MAX_PER_HA:
            continue
        limit, unit = PLAUSIBLE_MAX_PER_HA[role]
        worst = 0.0
        for col in rows.index:
            if col not in columns:
                continue
            dens = np.divide(np.asarray(columns[col], dtype=np.float64), ha,
                             out=np.full(ha.size, np.nan), where=ha > 0)
            if np.isfinite(dens).any():
                worst = max(worst, float(np.nanpercentile(dens, 99)))
        if worst > limit:
            declared = rows["source_unit"].iloc[0] if "source_unit" in rows else "?"
            what = role.replace("_", " ")
            out.append(f"layer {layer!r}: a {what} density of {worst:,.0f} {unit} in the "
                       f"densest 1% of units, above the {limit:,.0f} {unit} real products "
                       f"reach; check its declared unit ({declared}): is it ten or a thousand "
                       "times too large (e.g. MgC/ha declared as kgC/m2)?")
            warnings.warn(out[-1], UnitPlausibilityWarning, stacklevel=stacklevel)
    return out


@dataclass
class UnitColumns:
    """The columns of one grid build: unit geometries in, per-unit amounts and features out.

    `build_grid` and the banded `build_grid_streamed` share it: each layer is added with
    `raster` or `vector`, protected areas with `protected_fraction`.
    """

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
            self._reprojected[key] = to_crs(geoms, self.crs, crs)
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
            self.columns[f"{spec.name}_major"] = np.asarray(np.where(
                stack.sum(axis=1) > 0, major[stack.argmax(axis=1)], None))

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
        region = np.asarray(np.where(has, names[km2.argmax(axis=1)], None))
        self.add(spec.name, region.astype(object))
        self.columns.setdefault("region", region.astype(object))
