"""Planning units as a table: the `PlanningUnits` container and `planning_units_from_arrays`.

`PlanningUnits` holds one row per unit (geometry, area, perimeter, protected share,
region, one column per feature amount), the boundary table of shared edges, the
feature table and the build metadata. Every source of units ends here:
`optimizer.grid.build.build_grid` (layers aggregated onto square cells or polygons),
`planning_units_from_arrays` (Marxan tables, prioritizr-style rasters, any polygons
with precomputed amounts) and `optimizer.grid.store.read_grid` (a stored grid).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import CRSError, InputDataError
from optimizer.grid.printing import grid_text
from optimizer.inputs.equal_area import is_equal_area
from optimizer.inputs.units import get_unit, unit_for_role
from optimizer.versions import carbonpark_version, versions

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import pyproj
    import shapely

# pandas, pyproj and shapely are imported where they are used: `PlanningUnits` objects exist
# only once they are loaded, and `carbonpark marxan` imports this module without building one
# (start-up, issue 23 item 6).

#: Version of the stored grid layout (`optimizer.grid.store`), recorded in ``meta`` and part of
#: the grid cache key (`optimizer.scenario.build.grid_hash`). 2: grids keep the protected
#: areas' polygons (`PlanningUnits.protected_areas`).
FORMAT_VERSION = 2

#: Columns every grid has; layer names must not produce them.
RESERVED_COLUMNS = frozenset({"pu_id", "row", "col", "area_km2", "perimeter_km", "exposed_km",
                              "pa_fraction", "region", "geometry"})


class Deferred:
    """A value computed on first use, once, by ``load()`` (thread-safe).

    `read_grid` gives `PlanningUnits` the boundary table this way, so a grid opens
    without reading it and the gap analysis never does.

    Examples
    --------
    >>> d = Deferred(lambda: 42)
    >>> d.loaded, d.get(), d.loaded
    (False, 42, True)
    """

    def __init__(self, load: Callable[[], Any], length: int | None = None) -> None:
        self._load: Callable[[], Any] | None = load
        self._value: Any = None
        self._lock = threading.Lock()
        #: ``len`` of the value, when known without loading it (e.g. from a file footer).
        self.length = length

    @property
    def loaded(self) -> bool:
        """Whether ``load`` has run."""
        return self._load is None

    def get(self) -> Any:
        """The value (computed on the first call)."""
        with self._lock:
            if self._load is not None:
                self._value = self._load()
                self._load = None
            return self._value


class PlanningUnits:
    """Planning units with their aggregated layer values.

    Attributes
    ----------
    units : geopandas.GeoDataFrame
        One row per unit (RangeIndex). Always present: ``pu_id``, ``area_km2``,
        ``perimeter_km``, ``exposed_km`` (outer perimeter shared with no unit),
        ``pa_fraction`` (share of the unit already protected, 0 without a protected
        layer) and ``region`` (majority region, or missing). Square grids add ``row``,
        ``col``. Layer columns are described by `features`. A grid read by `read_grid`
        keeps its geometry as WKB until first used (`geometry_loaded`).
    boundary : pandas.DataFrame
        ``id1``, ``id2`` (``pu_id`` values, id1 < id2) and ``length_km`` for every
        pair of units sharing an edge (read on first use from a grid read by
        `read_grid`: `boundary_loaded`).
    features : pandas.DataFrame
        One row per amount column of `units` (index: column name) with ``layer``,
        ``role``, ``year``, ``label``, ``unit`` (of the amount), ``source_unit``,
        ``density_column``, ``total``.
    meta : dict
        Build metadata: CRS (WKT), kind, cell size, layer specs, nodata report,
        build time and duration, carbonpark version.
    study_area : shapely geometry or None
        The study-area outline in the grid CRS.
    protected_areas : geopandas.GeoDataFrame or None
        The existing protected areas of the grid's ``protected`` vector layers: one row per
        area (``name``, ``category``, geometry in the grid CRS, clipped to the study area),
        or None when the grid was built without a protected vector layer.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> len(pu), list(pu.boundary.columns), pu.geometry_loaded
    (6, ['id1', 'id2', 'length_km'], True)
    """

    def __init__(self, units: gpd.GeoDataFrame, boundary: pd.DataFrame | Deferred,
                 features: pd.DataFrame, meta: dict[str, Any] | None = None,
                 study_area: shapely.Geometry | None = None,
                 protected_areas: gpd.GeoDataFrame | None = None) -> None:
        self.units = units
        self._boundary = boundary
        self.features = features
        self.meta: dict[str, Any] = {} if meta is None else meta
        self.study_area = study_area
        self.protected_areas = protected_areas

    @property
    def boundary(self) -> pd.DataFrame:
        """Shared edges: ``id1``, ``id2``, ``length_km`` (see the class docstring)."""
        if isinstance(self._boundary, Deferred):
            self._boundary = self._boundary.get()
        return self._boundary

    @boundary.setter
    def boundary(self, value: pd.DataFrame | Deferred) -> None:
        self._boundary = value

    @property
    def n_boundary_pairs(self) -> int:
        """Number of rows of `boundary` (from the file's footer while it is not read)."""
        b = self._boundary
        if isinstance(b, Deferred) and not b.loaded and b.length is not None:
            return b.length
        return len(self.boundary)

    @property
    def boundary_loaded(self) -> bool:
        """Whether the boundary table is in memory (False until a lazily read grid uses it)."""
        return not isinstance(self._boundary, Deferred) or self._boundary.loaded

    @property
    def geometry_loaded(self) -> bool:
        """Whether the unit geometries are decoded (False while a grid read by `read_grid`
        holds them as WKB on disk; any use of the shapes decodes them)."""
        try:
            values = self.units.geometry.array
        except AttributeError:  # a frame without an active geometry column
            return True
        return bool(getattr(values, "loaded", True))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_boundary"] = self.boundary  # a loader holds an open file: pickle the table
        return state

    @property
    def crs(self) -> pyproj.CRS:
        """CRS of the unit geometries (equal-area)."""
        import pyproj  # start-up: see the note on imports above

        if self.units.crs is None:
            raise CRSError("these planning units have no CRS (they came from tables without "
                           "geometry); give geometry and crs to planning_units_from_arrays")
        return pyproj.CRS.from_user_input(self.units.crs)

    def __len__(self) -> int:
        return len(self.units)

    def amounts(self, columns: Sequence[str] | None = None) -> np.ndarray:
        """Amount matrix (features x units) for ``columns`` (default: all features)."""
        cols = list(self.features.index if columns is None else columns)
        return self.units[cols].to_numpy(dtype=np.float64).T

    def boundary_indices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boundary pairs as positional indices into `units`, and their lengths (km)."""
        import pandas as pd  # start-up: see the note on imports above

        pos = pd.Index(self.units["pu_id"])
        return (pos.get_indexer(self.boundary["id1"]), pos.get_indexer(self.boundary["id2"]),
                self.boundary["length_km"].to_numpy())

    def __repr__(self) -> str:
        return grid_text(self)

    def summary(self) -> pd.DataFrame:
        """One row per feature: total, area-weighted density and nodata share."""
        import pandas as pd  # start-up: see the note on imports above

        rows = []
        total_area = float(self.units["area_km2"].sum())
        report = self.meta.get("nodata", {})
        for col, f in self.features.iterrows():
            density = np.nan
            if f["density_column"]:
                valid_col = f"{col}_valid_km2"
                if valid_col not in self.units:
                    valid_col = f"{f['layer']}_valid_km2"
                area = (float(self.units[valid_col].sum()) if valid_col in self.units
                        else total_area)
                unit = get_unit(f["source_unit"])
                if unit.total_unit != f["unit"]:  # totals converted to the role's unit
                    unit = unit_for_role(unit, f["role"])
                density = unit.density_from_total(float(f["total"]), area) if area else np.nan
            rows.append({
                "feature": col, "role": f["role"], "year": f["year"],
                "total": f["total"], "unit": f["unit"],
                "density": density, "density_unit": f["source_unit"] if f["density_column"] else "",
                "nodata_share": report.get(f["layer"], {}).get("nodata_share", 0.0),
            })
        return pd.DataFrame(rows, columns=["feature", "role", "year", "total", "unit", "density",
                                           "density_unit", "nodata_share"])

    def equals(self, other: PlanningUnits) -> bool:
        """Whether two grids hold the same units, values, boundary, features and metadata."""
        import shapely  # start-up: see the note on imports above

        try:
            a, b = np.asarray(self.units.geometry.values), np.asarray(other.units.geometry.values)
            both_missing = shapely.is_missing(a) & shapely.is_missing(b)
            same_geom = bool(np.all(both_missing | shapely.equals_exact(a, b, tolerance=0)))
            same_crs = (self.units.crs is None and other.units.crs is None) or (
                self.units.crs is not None and other.units.crs is not None
                and self.crs == other.crs)
            return (
                same_geom
                and same_crs
                and self.units.drop(columns="geometry").equals(other.units.drop(columns="geometry"))
                and self.boundary.equals(other.boundary)
                and self.features.equals(other.features)
                and self.meta == other.meta
                and (self.study_area is None) == (other.study_area is None)
                and (self.study_area is None or shapely.equals_exact(
                    self.study_area, other.study_area, tolerance=0))
                and _same_areas(self.protected_areas, other.protected_areas)
            )
        except (ValueError, TypeError, AttributeError):
            return False


def _same_areas(a: gpd.GeoDataFrame | None, b: gpd.GeoDataFrame | None) -> bool:
    import shapely  # start-up: see the note on imports above

    if a is None or b is None:
        return a is None and b is None
    return (len(a) == len(b) and a.drop(columns="geometry").reset_index(drop=True).equals(
        b.drop(columns="geometry").reset_index(drop=True))
        and bool(np.all(shapely.equals_exact(np.asarray(a.geometry.values),
                                             np.asarray(b.geometry.values), tolerance=0))))


def planning_units_from_arrays(
    pu_id: Any,
    amounts: pd.DataFrame | dict[str, Any],
    *,
    area_km2: Any = None,
    geometry: Any = None,
    crs: Any = None,
    boundary: pd.DataFrame | None = None,
    pa_fraction: Any = None,
    region: Any = None,
    extra: dict[str, Any] | None = None,
    feature_info: pd.DataFrame | None = None,
    role: str = "biodiversity",
    unit: str = "count/cell",
    kind: str = "table",
    meta: dict[str, Any] | None = None,
) -> PlanningUnits:
    """Planning units from arrays: the entry point for units that `build_grid` did not make
    (Marxan tables, prioritizr-style rasters, any polygons with precomputed amounts).

    Parameters
    ----------
    pu_id : array-like
        Unique unit ids.
    amounts : DataFrame or dict of arrays
        One column per feature, one value per unit (missing values become 0).
    area_km2 : array-like, optional
        Unit areas. Default: the geometries' areas in an equal-area ``crs``, else 1 per unit.
    geometry : array-like of shapely geometries, optional
        Unit shapes (None entries allowed); without them ``perimeter_km`` is 0.
    crs : optional
        CRS of ``geometry``.
    boundary : DataFrame, optional
        ``id1``, ``id2``, ``length_km``. Rows with ``id1 == id2`` are a unit's exposed
        outer edge (Marxan's self-boundary) and go to ``exposed_km``; pairs are
        normalised to ``id1 < id2`` and duplicates summed.
    pa_fraction, region : array-like, optional
        Already-protected share (default 0) and region label (default missing).
    extra : dict of arrays, optional
        More unit columns (cost, lock flags, ...), not features.
    feature_info : DataFrame, optional
        Per amount column (index): any of ``role``, ``unit``, ``label``, ``layer``.
    role, unit : str
        Role and unit of the amount columns not described in ``feature_info``.
    kind, meta : optional
        Recorded in ``meta`` (``kind`` says where the units came from).

    Raises
    ------
    InputDataError
        Duplicate or missing ids, lengths that differ, negative or non-finite amounts or
        areas, boundary ids that are not units, or a column name that is reserved.

    Examples
    --------
    >>> import pandas as pd
    >>> from optimizer import planning_units_from_arrays
    >>> pu = planning_units_from_arrays(
    ...     [1, 2, 3], {"sp_a": [1.0, 0.0, 2.0]},
    ...     boundary=pd.DataFrame({"id1": [1, 2], "id2": [2, 3], "length_km": [1.0, 1.0]}))
    >>> len(pu), float(pu.features.loc["sp_a", "total"]), len(pu.boundary)
    (3, 3.0, 2)
    """
    import geopandas as gpd  # start-up: see the note on imports above
    import pandas as pd
    import pyproj
    import shapely

    ids = np.asarray(pu_id)
    n = ids.size
    if n == 0:
        raise InputDataError("planning units: no units given")
    id_series = pd.Series(ids)
    if id_series.isna().any() or id_series.duplicated().any():
        dup = id_series[id_series.duplicated() | id_series.isna()].head(3).tolist()
        raise InputDataError(f"planning units: ids must be unique and present; repeated or missing: "
                             f"{dup}")
    table = pd.DataFrame(amounts).reset_index(drop=True) if not isinstance(amounts, pd.DataFrame) \
        else amounts.reset_index(drop=True)
    if len(table) != n and len(table.columns):
        raise InputDataError(f"planning units: amounts have {len(table)} rows for {n} units")
    clash = sorted(set(map(str, table.columns)) & RESERVED_COLUMNS)
    if clash:
        raise InputDataError(f"planning units: feature name(s) {clash} are reserved; rename them")
    table.columns = [str(c) for c in table.columns]
    values = table.to_numpy(dtype=np.float64) if len(table.columns) else np.zeros((n, 0))
    values = np.nan_to_num(values, nan=0.0)
    if not np.isfinite(values).all() or (values < 0).any():
        bad = table.columns[(~np.isfinite(values) | (values < 0)).any(axis=0)].tolist()[:5]
        raise InputDataError(f"planning units: feature(s) {bad} have negative or infinite amounts; "
                             "amounts must be finite and >= 0")
    geoms = None if geometry is None else np.asarray(geometry, dtype=object)
    if geoms is not None and geoms.size != n:
        raise InputDataError(f"planning units: {geoms.size} geometries for {n} units")
    if area_km2 is not None:
        area = np.asarray(area_km2, dtype=np.float64)
    elif geoms is not None and crs is not None and is_equal_area(pyproj.CRS.from_user_input(crs)):
        area = np.nan_to_num(shapely.area(geoms) / 1e6)
    else:
        area = np.ones(n)
    if area.size != n or not np.isfinite(area).all() or (area < 0).any():
        raise InputDataError("planning units: area_km2 needs one finite, non-negative value per unit")
    perimeter = (np.zeros(n) if geoms is None
                 else np.nan_to_num(shapely.length(geoms) / 1000))
    exposed: np.ndarray = np.zeros(n)
    pos = pd.Index(ids)
    bnd = pd.DataFrame({"id1": ids[:0], "id2": ids[:0], "length_km": np.zeros(0)})
    if boundary is not None and len(boundary):
        i = pos.get_indexer(boundary["id1"])
        j = pos.get_indexer(boundary["id2"])
        length = boundary["length_km"].to_numpy(dtype=np.float64)
        if (i < 0).any() or (j < 0).any():
            missing = pd.concat([boundary["id1"][i < 0], boundary["id2"][j < 0]]).unique()[:3].tolist()
            raise InputDataError(f"planning units: boundary names unit id(s) {missing} that are not "
                                 "units; fix the boundary table or the unit list")
        if not np.isfinite(length).all() or (length < 0).any():
            raise InputDataError("planning units: boundary lengths must be finite and >= 0")
        self_edge = i == j
        exposed = np.bincount(i[self_edge], length[self_edge], minlength=n)
        a, b = np.minimum(i, j)[~self_edge], np.maximum(i, j)[~self_edge]
        pair = pd.DataFrame({"a": a, "b": b, "length_km": length[~self_edge]})
        pair = pair.groupby(["a", "b"], sort=True, as_index=False)["length_km"].sum()
        if np.issubdtype(ids.dtype, np.number) or ids.dtype.kind in "US":
            swap = ids[pair["a"].to_numpy()] > ids[pair["b"].to_numpy()]  # keep id1 < id2
            pair.loc[swap, ["a", "b"]] = pair.loc[swap, ["b", "a"]].to_numpy()
        bnd = pd.DataFrame({"id1": ids[pair["a"].to_numpy()], "id2": ids[pair["b"].to_numpy()],
                            "length_km": pair["length_km"].to_numpy()})
    pa = np.zeros(n) if pa_fraction is None else np.clip(np.asarray(pa_fraction, np.float64), 0, 1)
    reg = np.full(n, None, object) if region is None else np.asarray(region, dtype=object)
    data: dict[str, Any] = {"pu_id": ids, "area_km2": area, "perimeter_km": perimeter,
                            "exposed_km": exposed, "pa_fraction": pa, "region": reg}
    for name, col in (extra or {}).items():
        if name in data or name in table.columns:
            raise InputDataError(f"planning units: extra column {name!r} clashes with another column")
        data[name] = np.asarray(col)
    for k, name in enumerate(table.columns):
        data[name] = values[:, k]
    gdf = gpd.GeoDataFrame(pd.DataFrame(data),
                           geometry=geoms if geoms is not None else [None] * n, crs=crs)
    info = feature_info if feature_info is not None else pd.DataFrame(index=table.columns)
    rows = []
    for name in table.columns:
        f = info.loc[name] if name in info.index else pd.Series(dtype=object)
        f_unit = str(f.get("unit", unit))
        rows.append({"column": name, "layer": str(f.get("layer", name)),
                     "role": str(f.get("role", role)), "year": None,
                     "label": str(f.get("label", name)), "unit": get_unit(f_unit).total_unit,
                     "source_unit": f_unit, "density_column": False})
    features = features_frame(rows, gdf)
    meta_out = {"format_version": FORMAT_VERSION, "kind": kind, "cell_km": None,
                "crs_wkt": None if crs is None else pyproj.CRS.from_user_input(crs).to_wkt(),
                "square_grid": None, "layers": [], "nodata": {}, "n_units": n,
                "area_km2": float(area.sum()),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "carbonpark_version": carbonpark_version(), "versions": versions(), **(meta or {})}
    return PlanningUnits(gdf, bnd, features, meta_out, None)


def features_frame(rows: list[dict[str, Any]], gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """The `PlanningUnits.features` table of feature ``rows`` (dicts with a ``column`` key),
    with each column's total over ``gdf``."""
    import pandas as pd  # start-up: see the note on imports above

    cols = ["layer", "role", "year", "label", "unit", "source_unit", "density_column", "total"]
    if not rows:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="column"))
    df = pd.DataFrame(rows).set_index("column")
    df["year"] = df["year"].astype("Int64")
    df["total"] = [float(gdf[c].sum()) for c in df.index]
    return df[cols]

