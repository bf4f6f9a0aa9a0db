"""Layer specifications and the opening and validation of rasters and vectors.

A `LayerSpec` says what a file is (its role in planning), which unit its values
are in and which bands or years to use. `open_raster` and `read_vector` check the
file and raise one-line `InputDataError`s naming the file and the fix.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
import rasterio.errors
import rasterio.transform
import rasterio.windows
import shapely
from affine import Affine
from pydantic import BaseModel, ConfigDict, ValidationError

from optimizer.errors import CRSError, GeometryRepairWarning, InputDataError, did_you_mean
from optimizer.inputs.equal_area import is_equal_area
from optimizer.inputs.roles import ROLES
from optimizer.inputs.toml_kinds import check_toml_kind
from optimizer.inputs.units import Unit, check_role_unit, get_unit, role_units, unit_for_role

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".parquet", ".fgb", ".gml", ".kml"}

# Files a user may give by mistake where a manifest is expected.
_DATA_SUFFIXES = VECTOR_SUFFIXES | {".tif", ".tiff", ".nc", ".vrt", ".img", ".asc", ".zip", ".parquet"}

# Fill values that real products use without declaring them as nodata.
_SUSPECT_FILLS = (-9999.0, -32768.0, -3.4028234663852886e38, -1e20, 65535.0)


def class_label(name: Any) -> str:
    """The label of a land-cover class as the grid names its column: lower case, every run of
    other characters than letters and digits one ``_``.

    Examples
    --------
    >>> class_label("Bare / sparse"), class_label("forest")
    ('bare_sparse', 'forest')
    """
    return re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower() or "x"


def check_natural(spec: LayerSpec, classes: Mapping[int, str]) -> None:
    """Refuse ``natural`` names that are not classes of the land-cover layer ``spec``.

    Raises
    ------
    InputDataError
        A name that is no class of the layer (the message names the layer and its classes),
        or names given for a raster that names no classes.

    Examples
    --------
    >>> spec = LayerSpec("lc", "lc.tif", "land_cover", "class", natural=["forrest"])
    >>> check_natural(spec, {1: "forest", 2: "cropland"})
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: layer 'lc': natural class 'forrest' is not a class of the \
layer; its classes: forest, cropland; did you mean 'forest'?
    """
    if not spec.natural:
        return
    known = [class_label(v) for v in classes.values()]
    if not known:
        raise InputDataError(
            f"layer {spec.name!r} ({spec.path}): natural names classes but the raster names none; "
            "give the layer's classes = {code = \"name\", ...} in the manifest"
        )
    for name in spec.natural:
        if name not in known:
            raise InputDataError(
                f"layer {spec.name!r}: natural class {name!r} is not a class of the layer; its "
                f"classes: {', '.join(known)}{did_you_mean(name, known)}"
            )


@dataclass(frozen=True)
class LayerSpec:
    """What a layer file is and how to aggregate it to planning units.

    Parameters
    ----------
    name : str
        Short name used for the columns it produces (``biomass``, ``npp`` ...).
    path : str or Path
        A raster (GeoTIFF or anything GDAL reads) or a vector file (GeoPackage, Shapefile ...).
    role : str
        A key of `optimizer.inputs.roles.ROLES`: ``carbon_stock``, ``carbon_uptake``,
        ``emissions``, ``biodiversity``, ``cost``, ``land_cover``, ``protected``,
        ``region``, ``mask``.
    unit : str
        Unit of the values (see `optimizer.inputs.units`); its dimension must fit the role
        (`optimizer.inputs.roles.Role.dimensions`: a stock is a mass per area or per cell, an
        uptake a mass per area or per cell per time, ...). Vector layers use
        ``"fraction"`` (coverage) except regions (``"class"``).
    bands : sequence of int, optional
        1-based raster bands to use; default all.
    years : sequence of int, optional
        Year of each band used; default read from band descriptions or ``year`` tags.
    nodata : float, optional
        Nodata value overriding (or supplying) the file's own.
    classes : dict of int to str, optional
        Names of categorical raster classes; default from ``class_N`` tags.
    attribute : str, optional
        Vector column: protected category, species name, or region id/name.
    layer : str, optional
        Layer name inside a multi-layer vector file.
    name_attribute : str, optional
        Protected layers: the column naming each area (default: a column called
        ``name``, any case, when there is one), kept in `PlanningUnits.protected_areas`.
    natural : sequence of str, optional
        Land-cover layers: the classes that are natural ecosystems (e.g. forest,
        grassland, wetland, bare), the ones the gap closure protects to its target by
        default (`optimizer.plan.closure`). Kept as `class_label` labels in the grid's
        metadata; each must name a class of the layer.
    """

    name: str
    path: Path
    role: str
    unit: str
    bands: tuple[int, ...] | None = None
    years: tuple[int, ...] | None = None
    nodata: float | None = None
    classes: dict[int, str] | None = None
    attribute: str | None = None
    layer: str | None = None
    name_attribute: str | None = None
    natural: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not self.name or not str(self.name).replace("_", "").isalnum():
            raise InputDataError(
                f"layer name {self.name!r} is not usable as a column prefix; "
                "use letters, digits and underscores"
            )
        if self.role not in ROLES:
            raise InputDataError(
                f"layer {self.name!r}: unknown role {self.role!r}; use one of: {', '.join(ROLES)}"
                f"{did_you_mean(str(self.role), ROLES)}"
            )
        if self.name_attribute is not None and self.role != "protected":
            raise InputDataError(
                f"layer {self.name!r}: name_attribute is for protected layers, not {self.role!r} "
                "ones; remove it or set role = \"protected\""
            )
        unit = get_unit(self.unit, layer=self.name)
        check_role_unit(self.role, unit, layer=self.name)
        object.__setattr__(self, "unit", unit.name)
        for attr in ("bands", "years"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, tuple(int(v) for v in value))
        if self.bands and self.years and len(self.bands) != len(self.years):
            raise InputDataError(
                f"layer {self.name!r}: {len(self.bands)} bands but {len(self.years)} years; "
                "give one year per band"
            )
        if self.classes is not None:
            object.__setattr__(self, "classes", {int(k): str(v) for k, v in self.classes.items()})
        if self.natural is not None:
            if self.role != "land_cover":
                raise InputDataError(
                    f"layer {self.name!r}: natural marks land-cover classes, not {self.role!r} "
                    "ones; remove it or set role = \"land_cover\""
                )
            object.__setattr__(self, "natural", tuple(dict.fromkeys(
                class_label(v) for v in self.natural)))
            if self.classes is not None:
                check_natural(self, self.classes)

    @property
    def unit_info(self) -> Unit:
        """The `Unit` object of this layer."""
        return get_unit(self.unit)

    @property
    def total_unit(self) -> str:
        """Unit of this layer's totals per planning unit (MgC, MgC/yr, tCO2/yr, km2, ...)."""
        return unit_for_role(get_unit(self.unit), self.role).total_unit

    @property
    def is_vector(self) -> bool:
        """Whether the file is read as vector features."""
        return self.path.suffix.lower() in VECTOR_SUFFIXES

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly representation (stored in grid metadata)."""
        out = asdict(self)
        out["path"] = str(self.path)
        if self.classes is not None:
            out["classes"] = {str(k): v for k, v in self.classes.items()}
        if self.natural is not None:
            out["natural"] = list(self.natural)  # as JSON reads it back
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerSpec:
        """Inverse of `to_dict`."""
        data = dict(data)
        if data.get("classes") is not None:
            data["classes"] = {int(k): v for k, v in data["classes"].items()}
        return cls(**data)


@dataclass
class RasterInfo:
    """What we need to know about an opened raster layer."""

    spec: LayerSpec
    crs: pyproj.CRS
    transform: Affine
    width: int
    height: int
    bands: tuple[int, ...]
    years: tuple[int | None, ...]
    nodata: float | None
    dtype: str
    classes: dict[int, str] = field(default_factory=dict)
    descriptions: tuple[str | None, ...] = ()

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        t = self.transform
        left, top = t.c, t.f
        right = left + t.a * self.width
        bottom = top + t.e * self.height
        return (min(left, right), min(bottom, top), max(left, right), max(bottom, top))

    def band_description(self, index: int) -> str:
        """Human label of the ``index``-th band used: its description, year or number."""
        desc = self.descriptions[index] if index < len(self.descriptions) else None
        if desc:
            return str(desc)
        label = self.band_labels[index]
        return label or self.spec.name

    @property
    def band_labels(self) -> list[str]:
        """Column suffix per band: the year where known, else ``b<band>``."""
        if len(self.bands) == 1 and self.years[0] is None:
            return [""]
        return [str(y) if y is not None else f"b{b}" for b, y in zip(self.bands, self.years, strict=True)]


def _open_error(path: Path, exc: Exception) -> InputDataError:
    if not path.exists():
        return InputDataError(f"{path}: file not found; check the path (relative paths are "
                              "resolved against the current directory or the manifest)")
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputDataError(f"{path}: cannot be read ({first}); check that it is a valid, "
                          "complete raster or vector file")


def open_raster(spec: LayerSpec) -> RasterInfo:
    """Open and validate a raster layer's header (values are read later, in windows).

    Raises
    ------
    InputDataError
        Unreadable file, bands out of range, rotated grid.
    CRSError
        The raster has no CRS.
    """
    try:
        with rasterio.open(spec.path) as ds:
            crs = ds.crs
            transform = ds.transform
            width, height, count = ds.width, ds.height, ds.count
            descriptions = ds.descriptions
            band_tags = [ds.tags(b) for b in range(1, count + 1)]
            tags = ds.tags()
            nodata = ds.nodata
            dtype = ds.dtypes[0]
    except rasterio.errors.RasterioIOError as exc:
        raise _open_error(spec.path, exc) from None
    if crs is None:
        raise CRSError(
            f"layer {spec.name!r} ({spec.path}): raster has no CRS; assign one "
            "(e.g. gdal_edit.py -a_srs EPSG:4326) before using it"
        )
    west, south, east, north = rasterio.transform.array_bounds(height, width, transform)
    check_lonlat_range(pyproj.CRS.from_user_input(crs.to_wkt()), (west, south, east, north),
                       name=f"layer {spec.name!r} ({spec.path})", fix="gdal_edit.py -a_srs EPSG:...")
    if transform.b != 0 or transform.d != 0:
        raise InputDataError(f"layer {spec.name!r} ({spec.path}): rotated rasters are not "
                             "supported; warp it to a north-up grid first")
    bands = spec.bands or tuple(range(1, count + 1))
    bad = [b for b in bands if not 1 <= b <= count]
    if bad:
        raise InputDataError(f"layer {spec.name!r} ({spec.path}): bands {bad} out of range; "
                             f"the file has {count} band(s)")
    if spec.years is not None:
        years: tuple[int | None, ...] = spec.years
    else:
        years = tuple(_band_year(descriptions[b - 1], band_tags[b - 1]) for b in bands)
    if spec.nodata is not None:
        nodata = float(spec.nodata)
    classes: dict[int, str] = {}
    if ROLES[spec.role].classes and spec.unit == "class":
        classes = spec.classes or {
            int(k.split("_", 1)[1]): v for k, v in tags.items()
            if k.startswith("class_") and k.split("_", 1)[1].isdigit()
        }
        check_natural(spec, classes)
    return RasterInfo(spec, pyproj.CRS.from_user_input(crs.to_wkt()), transform, width, height,
                      tuple(bands), years, nodata, dtype, classes,
                      tuple(descriptions[b - 1] for b in bands))


def _band_year(description: str | None, tags: dict[str, str]) -> int | None:
    for text in (tags.get("year"), description):
        if text and str(text).strip().isdigit() and 1000 <= int(str(text).strip()) <= 3000:
            return int(str(text).strip())
    return None


def check_values(info: RasterInfo, values: np.ndarray, valid: np.ndarray) -> None:
    """Check raster values read in a window: fill values without nodata, negative stocks.

    Raises
    ------
    InputDataError
        A float raster has no nodata but holds a typical fill value, or a stock,
        cost or biodiversity layer holds negative values.
    """
    spec = info.spec
    if not valid.any():
        return
    vals = values[valid]
    lo = float(vals.min())
    if info.nodata is None:
        for fill in _SUSPECT_FILLS:
            if np.any(vals == fill) or (fill < -1e19 and lo <= fill):
                raise InputDataError(
                    f"layer {spec.name!r} ({spec.path}): no nodata value is set but the raster "
                    f"holds {fill:g}, a common fill value; pass LayerSpec(nodata={fill:g}) or "
                    "set it in the file"
                )
    if lo < 0 and ROLES[spec.role].nonnegative:
        raise InputDataError(
            f"layer {spec.name!r} ({spec.path}): negative values (min {lo:g} {spec.unit}) "
            f"in a {spec.role} layer; fix the data or declare the fill value as nodata"
        )


def check_class_values(info: RasterInfo, values: np.ndarray, valid: np.ndarray) -> None:
    """Refuse a raster of continuous values declared as classes (land cover, regions).

    A floating-point raster whose valid values are not all whole numbers is refused,
    not warned about: every distinct value would become a class (thousands of
    land-cover columns, or regions that are majorities of meaningless values), so no
    result built from it can be right, and the fix is the user's (declare the layer's
    real role and unit, or reclassify the raster to integer codes). Whole-number values
    stored as floats (``1.0``, ``2.0``) are fine.

    Raises
    ------
    InputDataError
        Naming the layer, an example value and the fix.
    """
    if not np.issubdtype(values.dtype, np.floating) or not valid.any():
        return
    vals = values[valid]
    frac = vals != np.round(vals)
    if frac.any():
        spec = info.spec
        example = float(vals[np.argmax(frac)])
        raise InputDataError(
            f"layer {spec.name!r} ({spec.path}): a {spec.role} layer of unit 'class' holds "
            f"continuous values (e.g. {example:g}), not class codes; reclassify it to integer "
            f"codes, or declare its real role and unit (e.g. {', '.join(role_units('carbon_stock')[:2])})"
        )


def valid_mask(info: RasterInfo, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Cells holding data: not nodata, not NaN, and not masked by the file's mask band."""
    valid = np.ones(values.shape, dtype=bool) if mask is None else mask.copy()
    if np.issubdtype(values.dtype, np.floating):
        valid &= np.isfinite(values)
    if info.nodata is not None and not (isinstance(info.nodata, float) and math.isnan(info.nodata)):
        valid &= values != info.nodata
    return valid


# ---------------------------------------------------------------- cell areas

def _zone_area(lat_rad: np.ndarray, a: float, f: float) -> np.ndarray:
    """Area (m2) of the ellipsoid between the equator and ``lat`` over one radian of longitude."""
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    b2 = (a * (1 - f)) ** 2
    s = np.sin(lat_rad)
    if e == 0:
        return b2 * s
    return b2 * (s / (2 * (1 - e2 * s * s)) + np.arctanh(e * s) / (2 * e))


def cell_areas_km2(crs: pyproj.CRS, transform: Affine, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """True (ellipsoidal) area in km2 of the raster cells at ``rows`` x ``cols``.

    Geographic grids use the exact area of an ellipsoidal quadrangle, which varies
    with latitude. Projected grids use the nominal cell area divided by the
    projection's areal scale factor at the cell centre (1 for equal-area projections).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(rows), len(cols))``.
    """
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    if crs.is_geographic:
        ellps = crs.ellipsoid
        if ellps is None:
            raise CRSError(f"CRS {crs.name!r} is geographic but has no ellipsoid; give the file a "
                           "complete CRS (e.g. EPSG:4326)")
        a, inv_f = ellps.semi_major_metre, ellps.inverse_flattening
        f = 1 / inv_f if inv_f else 0.0
        lat_top = transform.f + transform.e * rows
        lat_bot = lat_top + transform.e
        zone = np.abs(_zone_area(np.radians(lat_top), a, f) - _zone_area(np.radians(lat_bot), a, f))
        dlon = math.radians(abs(transform.a))
        per_row = zone * dlon / 1e6
        return np.broadcast_to(per_row[:, None], (rows.size, cols.size)).copy()
    nominal = abs(transform.a * transform.e)
    unit_factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    nominal_km2 = nominal * unit_factor**2 / 1e6
    if is_equal_area(crs):
        return np.full((rows.size, cols.size), nominal_km2)
    xs = transform.c + transform.a * (cols + 0.5)
    ys = transform.f + transform.e * (rows + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(xx, yy)
    factors = pyproj.Proj(crs).get_factors(lon, lat)
    # areal_scale is projected area / true area
    return nominal_km2 / np.asarray(factors.areal_scale)


def read_window(
    path: Path, bands: Sequence[int], window: rasterio.windows.Window
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``bands`` in ``window``: values (bands, rows, cols) and the dataset mask or None."""
    try:
        with rasterio.open(path) as ds:
            values = ds.read(list(bands), window=window, boundless=False)
            mask = None
            # Nodata values are handled by valid_mask; only an explicit mask band adds to them.
            if any(rasterio.enums.MaskFlags.per_dataset in f for f in ds.mask_flag_enums):
                mask = ds.dataset_mask(window=window) > 0
    except rasterio.errors.RasterioError as exc:
        # The header opened but the pixels do not read: a truncated or corrupt file.
        raise InputDataError(f"{path}: cannot read its pixels ({exc}); the file is truncated or "
                             "corrupt: copy or export it again") from None
    return values, mask


# ---------------------------------------------------------------- vectors

def read_vector(
    path: Path | str, *, name: str, layer: str | None = None, columns: Sequence[str] | None = None
):
    """Read a vector file into a GeoDataFrame with valid polygonal geometries.

    Invalid geometries are repaired with ``shapely.make_valid`` (a
    `GeometryRepairWarning` says how many); non-polygon parts are dropped.

    Raises
    ------
    InputDataError
        Unreadable file, missing column, or no polygons.
    CRSError
        The file has no CRS.
    """
    import geopandas as gpd
    import pyogrio.errors

    path = Path(path)
    try:
        gdf = gpd.read_file(path, layer=layer, columns=list(columns) if columns else None,
                            engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise _open_error(path, exc) from None
    except (KeyError, ValueError) as exc:
        raise InputDataError(f"{name!r} ({path}): {exc}; check the column and layer names") from None
    if columns:
        missing = [c for c in columns if c not in gdf.columns]
        if missing:
            raise InputDataError(f"{name!r} ({path}): missing column(s) {missing}; "
                                 f"available: {[c for c in gdf.columns if c != 'geometry']}")
    if gdf.crs is None:
        raise CRSError(f"{name!r} ({path}): vector file has no CRS; write a .prj or set the "
                       "CRS (e.g. ogr2ogr -a_srs EPSG:4326) before using it")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(gdf):
        check_lonlat_range(pyproj.CRS.from_user_input(gdf.crs), tuple(gdf.total_bounds),
                           name=f"{name} ({path})", fix="ogr2ogr -a_srs EPSG:...")
    geoms = repair_geometries(gdf.geometry.values, name=f"{name!r} ({path})")
    gdf = gdf.set_geometry(geoms)
    gdf = gdf[~gdf.geometry.is_empty]
    if gdf.empty:
        raise InputDataError(f"{name!r} ({path}): no polygon features; planning layers need "
                             "polygons (points and lines cannot cover area)")
    return gdf.reset_index(drop=True)


def check_lonlat_range(crs: pyproj.CRS, bounds: Sequence[float], *, name: str, fix: str) -> None:
    """Refuse coordinates that cannot be in a geographic CRS (a projected file labelled lon/lat).

    Longitudes may run from -180 to 360 (0-360 products) and latitudes from -90 to 90,
    with a degree of slack for cell edges; anything beyond means the file's CRS is wrong.

    Parameters
    ----------
    crs : pyproj.CRS
        The file's CRS (nothing is checked unless it is geographic).
    bounds : (xmin, ymin, xmax, ymax)
        The file's extent in ``crs``.
    name : str
        The input, for the message.
    fix : str
        The command that assigns a CRS (``ogr2ogr -a_srs ...``), for the message.

    Raises
    ------
    CRSError
        Naming the input, its extent and CRS, and the fix.
    """
    if not crs.is_geographic:
        return
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if xmin >= -181 and xmax <= 361 and ymin >= -91 and ymax <= 91:
        return
    raise CRSError(
        f"{name}: extent ({xmin:.6g}, {ymin:.6g}, {xmax:.6g}, {ymax:.6g}) is not in degrees, but the "
        f"file says its CRS is the geographic {crs.name!r}; the coordinates look projected, so set "
        f"the file's true CRS ({fix})"
    )


def repair_geometries(geoms: np.ndarray, *, name: str) -> np.ndarray:
    """Make geometries valid and keep only their polygonal parts.

    Emits a `GeometryRepairWarning` naming ``name`` and the count repaired.
    """
    geoms = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        warnings.warn(
            f"{name}: repaired {int(invalid.sum())} invalid geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} with make_valid",
            GeometryRepairWarning,
            stacklevel=3,
        )
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return polygonal_part(geoms)


def polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only (Multi)Polygon parts of each geometry (collections from make_valid)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    types = shapely.get_type_id(geoms)
    mixed = ~np.isin(types, (3, 6))  # 3 Polygon, 6 MultiPolygon
    for i in np.flatnonzero(mixed):  # rare: only repaired or odd features
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        geoms[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return geoms


# ---------------------------------------------------------------- grid manifests

class _LayerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    role: str
    unit: str
    bands: list[int] | None = None
    years: list[int] | None = None
    nodata: float | None = None
    classes: dict[str, str] | None = None
    attribute: str | None = None
    layer: str | None = None
    name_attribute: str | None = None
    natural: list[str] | None = None


class _GridEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study_area: str | None = None
    cell_km: float | None = 10.0
    crs: str | int = "auto"
    units: str | None = None
    id_column: str | None = None


class GridManifest(BaseModel):
    """A TOML file listing the study area, the grid settings and the layers.

    Paths are relative to the manifest file. Example::

        schema_version = 1
        [grid]
        study_area = "country.gpkg"
        cell_km = 10
        [[layers]]
        name = "biomass"
        path = "biomass_carbon.tif"
        role = "carbon_stock"
        unit = "MgC/ha"
        [[layers]]
        name = "lc"
        path = "land_cover.tif"
        role = "land_cover"
        unit = "class"
        natural = ["forest", "grassland", "wetland", "bare"]  # the natural ecosystems
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    grid: _GridEntry = _GridEntry()
    layers: list[_LayerEntry]

    def layer_specs(self, base: Path) -> list[LayerSpec]:
        """The layers as `LayerSpec` objects with paths resolved against ``base``."""
        return [
            LayerSpec(**{**e.model_dump(), "path": base / e.path,
                         "classes": ({int(k): v for k, v in e.classes.items()}
                                     if e.classes else None)})
            for e in self.layers
        ]


def load_manifest(path: str | Path) -> tuple[GridManifest, list[LayerSpec]]:
    """Read and validate a grid manifest (TOML).

    Raises
    ------
    InputDataError
        Unreadable TOML, unknown keys, or invalid layer entries; the message names the
        file and the key at fault. A land-cover layer's ``natural`` names that are not
        classes of its raster (the message names the layer and its classes).
    """
    import tomllib

    path = Path(path)
    fix = "give the .toml manifest that lists the study area and the layers"
    if path.is_dir():
        raise InputDataError(f"{path}: is a folder, not a TOML manifest; {fix}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputDataError(f"{path}: manifest not found; check the path") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError) or path.suffix.lower() != ".toml":
            kind = ("a raster or vector file" if path.suffix.lower() in _DATA_SUFFIXES
                    else "a binary or non-TOML file")
            raise InputDataError(f"{path}: not a TOML manifest (it looks like {kind}); {fix}") from None
        raise InputDataError(f"{path}: not valid TOML ({exc})") from None
    check_toml_kind(data, "manifest", str(path))
    try:
        manifest = GridManifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputDataError(f"{path}: {where}: {err['msg']}") from None
    if manifest.schema_version != 1:
        raise InputDataError(f"{path}: schema_version {manifest.schema_version} is not supported; "
                             "use 1")
    specs = manifest.layer_specs(path.parent)
    for spec in specs:  # natural classes are checked against the raster's, before any work
        if spec.natural and spec.classes is None and not spec.is_vector and spec.path.is_file():
            open_raster(spec)
    return manifest, specs
