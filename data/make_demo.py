"""Generate "Demoland", the synthetic demo country shipped with carbonpark.

Demoland mirrors the structure of China as assessed in studies of its protected
areas: a dry high plateau and desert in the west and north-west, a humid south and
north-east, cropland plains in the centre-east, an urban belt along the east, and an
existing protected-area network concentrated in the west.  The gap analysis of the
demo therefore points the same way as the real one (protected land holds less
biomass, NPP and emissions per km² than the national average, but more vulnerable
soil carbon).

All layers sample one continuous synthetic "world" (smooth functions of longitude
and latitude), so rasters on different grids and in different CRSs agree with each
other, and the fields continue beyond the border.  Everything is driven by a seeded
``numpy.random.Generator``: two runs write identical arrays and geometries.

Usage::

    python data/make_demo.py            # writes data/demo/
    python data/make_demo.py --out DIR  # writes DIR/

The script ends with an independent calibration check that reads the files back and
exits non-zero if a magnitude falls outside its target range.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Geod, Transformer
from rasterio.features import rasterize
from rasterio.transform import Affine
from shapely import affinity
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.prepared import prep

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SEED = 20_240_611
WGS84 = CRS.from_epsg(4326)
EASE2 = CRS.from_epsg(6933)
ALBERS = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)
GEOD = Geod(ellps="WGS84")
WGS84_A = 6_378_137.0
WGS84_E2 = 0.006_694_379_990_14

CENTRE = (100.0, 34.0)  # lon, lat of Demoland's centre
SEMI_AXES_DEG = (10.5, 6.5)  # lon, lat half-extent; defines normalised coords u, v
TARGET_AREA_KM2 = 2.2e6
PA_SHARE_TARGET = 0.113
PAD_DEG = 1.5  # rasters extend this far (then snapped outward) beyond the country

YEARS = (2000, 2005, 2010, 2015, 2020)
# China's mean NPP 275 gC/m²/yr in 2000 growing by ~+9, +2, +6.5, +2.5 % per period.
NPP_MEANS = (275.0, 299.8, 305.8, 325.6, 335.0)
BIOMASS_MEAN = 14.0  # MgC/ha (China: 1.40 kgC/m²)
SOC_MEAN = 61.0  # MgC/ha
CHINA_AREA_KM2 = 9.6e6
CHINA_CO2 = (37.85e8, 65.0e8, 92.61e8, 110.0e8, 117.53e8)  # tCO2/yr

LAND_COVER_CLASSES = {
    1: "forest",
    2: "grassland",
    3: "cropland",
    4: "wetland",
    5: "bare",
    6: "urban",
    7: "water",
}
FOREST, GRASS, CROP, WETLAND, BARE, URBAN, WATER = range(1, 8)

# Per-class multipliers, indexed by class code (index 0 = nodata, never used).
BIOMASS_LEVEL = np.array([0.0, 60.0, 5.0, 4.0, 15.0, 0.5, 3.0, 0.0])
SOC_FACTOR = np.array([0.0, 1.0, 1.0, 0.8, 2.0, 0.3, 0.5, 1.0])
NPP_FACTOR = np.array([0.0, 1.0, 0.55, 0.9, 0.8, 0.08, 0.35, 0.0])


@dataclass(frozen=True)
class RatioTarget:
    """Acceptable range of an inside-protection ÷ national density ratio."""

    lo: float
    hi: float
    goal: float


RATIO_TARGETS = {
    "biomass": RatioTarget(0.60, 0.80, 0.70),
    "soc": RatioTarget(1.10, 1.30, 1.18),
    "npp": RatioTarget(0.40, 0.60, 0.48),
    "co2": RatioTarget(0.05, 0.15, 0.11),
}
SHARE_RANGE = (0.105, 0.120)
MAX_TOTAL_BYTES = 12_000_000  # 12 MB budget for the whole folder

PROVINCE_NAMES = (
    "Altara", "Borun", "Chelan", "Dovesh", "Emmar",
    "Fenwu", "Gaoshan", "Hexi", "Ilun", "Jiren",
)  # fmt: skip
NAME_SYLLABLES = (
    "ala", "bai", "cha", "dun", "ge", "hua", "jin", "ka", "lan", "mo",
    "nu", "qi", "ru", "sha", "tu", "wu", "xi", "ya", "zha", "ko",
)  # fmt: skip


# --------------------------------------------------------------------------------------
# Small geometry helpers
# --------------------------------------------------------------------------------------


def km_per_degree(lat: float) -> tuple[float, float]:
    """Approximate kilometres per degree of longitude and latitude at ``lat``."""
    return 111.32 * math.cos(math.radians(lat)), 110.57


def blob(
    rng: np.random.Generator,
    lon: float,
    lat: float,
    area_km2: float,
    *,
    roughness: float = 0.15,
    aspect: float = 1.0,
    n_vertices: int = 72,
) -> Polygon:
    """Make a smooth, irregular polygon of roughly ``area_km2`` around a point.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random harmonics and orientation.
    lon, lat : float
        Centre in degrees.
    area_km2 : float
        Approximate area; the harmonics change it by a few percent only.
    roughness : float
        Amplitude of the lowest harmonic; higher harmonics decay as 1/k so the
        outline stays smooth.
    aspect : float
        Ratio of the long to the short axis before rotation.
    n_vertices : int
        Number of outline vertices.

    Returns
    -------
    shapely.geometry.Polygon
        Polygon in lon/lat degrees.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 7):
        radius += (
            roughness * (2.0 / k) * rng.uniform(0.3, 1.0) * np.cos(k * theta + rng.uniform(0.0, 2.0 * np.pi))
        )
    radius = np.clip(radius, 0.35, None)
    r0 = math.sqrt(area_km2 / math.pi)
    x = r0 * radius * np.cos(theta) * math.sqrt(aspect)
    y = r0 * radius * np.sin(theta) / math.sqrt(aspect)
    rotation = rng.uniform(0.0, np.pi)
    xr = x * math.cos(rotation) - y * math.sin(rotation)
    yr = x * math.sin(rotation) + y * math.cos(rotation)
    kx, ky = km_per_degree(lat)
    return Polygon(np.column_stack([lon + xr / kx, lat + yr / ky]))


def polygons_of(geom: BaseGeometry) -> list[Polygon]:
    """Return the polygon parts of any geometry (drops points and lines)."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in polygons_of(g)]
    return []


def as_multipolygon_or_polygon(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Clean a geometry into a Polygon or a MultiPolygon (GeoPackage-friendly)."""
    parts = polygons_of(shapely.make_valid(geom))
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def geodesic_area_km2(geom: BaseGeometry) -> float:
    """Area on the WGS84 ellipsoid in km², orientation-independent."""
    total = 0.0
    for poly in polygons_of(geom):
        x, y = poly.exterior.coords.xy
        total += abs(GEOD.polygon_area_perimeter(x, y)[0])
        for ring in poly.interiors:
            x, y = ring.coords.xy
            total -= abs(GEOD.polygon_area_perimeter(x, y)[0])
    return total / 1e6


def random_point_in(
    rng: np.random.Generator, region: BaseGeometry, accept: Callable[[float, float], bool]
) -> tuple[float, float]:
    """Rejection-sample a point inside ``region`` that satisfies ``accept``."""
    west, south, east, north = region.bounds
    prepared = prep(region)
    for _ in range(100_000):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if prepared.contains(Point(lon, lat)) and accept(lon, lat):
            return float(lon), float(lat)
    raise RuntimeError("could not place a point; the acceptance rule is too strict")


def uv_to_lonlat(u: float, v: float) -> tuple[float, float]:
    """Convert Demoland's normalised coordinates to lon/lat degrees."""
    return CENTRE[0] + u * SEMI_AXES_DEG[0], CENTRE[1] + v * SEMI_AXES_DEG[1]


def lonlat_to_uv(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple:
    """Convert lon/lat to normalised coordinates (the country spans about -1..1)."""
    return (lon - CENTRE[0]) / SEMI_AXES_DEG[0], (lat - CENTRE[1]) / SEMI_AXES_DEG[1]


# --------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, affine transform and shape."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.height, self.width

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of every cell centre, as two 2-D arrays."""
        x = self.transform.c + (np.arange(self.width) + 0.5) * self.transform.a
        y = self.transform.f + (np.arange(self.height) + 0.5) * self.transform.e
        xx, yy = np.meshgrid(x, y)
        if self.crs.is_geographic:
            return xx, yy
        to_lonlat = Transformer.from_crs(self.crs, WGS84, always_xy=True)
        return to_lonlat.transform(xx, yy)

    def cell_area_km2(self) -> np.ndarray:
        """Cell areas in km², shape (rows, 1), broadcastable against the grid.

        Geographic cells shrink towards the poles, so their exact ellipsoidal area
        is computed from the authalic-latitude function q(φ).  The projected grids
        used here are equal-area, so every cell has the same area.
        """
        t = self.transform
        if not self.crs.is_geographic:
            return np.full((self.height, 1), abs(t.a * t.e) / 1e6)
        edges = np.radians(t.f + np.arange(self.height + 1) * t.e)
        q = _authalic_q(edges)
        band = 0.5 * WGS84_A**2 * np.abs(np.diff(q)) * math.radians(abs(t.a))
        return (band / 1e6)[:, None]


def _authalic_q(phi: np.ndarray) -> np.ndarray:
    """The q(φ) function of the ellipsoid; band area = a²/2 · Δλ · Δq."""
    e = math.sqrt(WGS84_E2)
    s = np.sin(phi)
    return (1 - WGS84_E2) * (s / (1 - WGS84_E2 * s**2) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))


def geographic_grid(bounds: Sequence[float], cells_per_degree: int) -> Grid:
    """EPSG:4326 grid whose origin sits on multiples of the cell size.

    Taking the resolution as an integer number of cells per degree keeps grids such
    as MODIS' 1/12° exactly aligned (no floating-point drift of the origin).
    """
    west = math.floor(bounds[0] * cells_per_degree) / cells_per_degree
    south = math.floor(bounds[1] * cells_per_degree) / cells_per_degree
    east = math.ceil(bounds[2] * cells_per_degree) / cells_per_degree
    north = math.ceil(bounds[3] * cells_per_degree) / cells_per_degree
    res = 1.0 / cells_per_degree
    width = round((east - west) * cells_per_degree)
    height = round((north - south) * cells_per_degree)
    return Grid(WGS84, Affine(res, 0.0, west, 0.0, -res, north), width, height)


def projected_grid(bounds: Sequence[float], crs: CRS, cell_m: float) -> Grid:
    """Projected grid covering the lon/lat ``bounds``, snapped to multiples of ``cell_m``."""
    to_crs = Transformer.from_crs(WGS84, crs, always_xy=True)
    xmin, ymin, xmax, ymax = to_crs.transform_bounds(*bounds, densify_pts=101)
    west, south = math.floor(xmin / cell_m) * cell_m, math.floor(ymin / cell_m) * cell_m
    east, north = math.ceil(xmax / cell_m) * cell_m, math.ceil(ymax / cell_m) * cell_m
    width, height = round((east - west) / cell_m), round((north - south) / cell_m)
    return Grid(crs, Affine(cell_m, 0.0, west, 0.0, -cell_m, north), width, height)


def geometry_mask(geom: BaseGeometry, grid: Grid) -> np.ndarray:
    """Boolean mask of cells whose centre falls inside ``geom`` (lon/lat)."""
    if not grid.crs.is_geographic:
        geom = gpd.GeoSeries([geom], crs=WGS84).to_crs(grid.crs).iloc[0]
    burned = rasterize([(geom, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8")
    return burned.astype(bool)


def weighted_mean(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> float:
    """Area-weighted mean of ``values`` over ``mask``."""
    w = np.broadcast_to(weights, values.shape)[mask]
    return float(np.sum(values[mask] * w) / np.sum(w))


# --------------------------------------------------------------------------------------
# The continuous synthetic world
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmoothNoise:
    """Seeded sum of plane waves: a smooth field defined at any lon/lat.

    Unlike noise drawn on a pixel grid, it gives the same value at the same place
    whichever raster samples it, which keeps all layers mutually consistent.
    """

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray
    amp: np.ndarray

    @classmethod
    def make(
        cls, rng: np.random.Generator, n_waves: int, min_wavelength: float, max_wavelength: float
    ) -> SmoothNoise:
        """Draw waves with log-uniform wavelengths (degrees) and a red spectrum."""
        wavelength = np.exp(rng.uniform(np.log(min_wavelength), np.log(max_wavelength), n_waves))
        angle = rng.uniform(0.0, 2.0 * np.pi, n_waves)
        k = 2.0 * np.pi / wavelength
        amp = wavelength / np.sqrt(np.sum(wavelength**2) / 2.0)  # unit variance
        phase = rng.uniform(0.0, 2.0 * np.pi, n_waves)
        return cls(k * np.cos(angle), k * np.sin(angle), phase, amp)

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Evaluate the field (mean 0, standard deviation about 1)."""
        out = np.zeros(np.broadcast_shapes(np.shape(lon), np.shape(lat)))
        for kx, ky, phase, amp in zip(self.kx, self.ky, self.phase, self.amp, strict=True):
            out += amp * np.cos(kx * lon + ky * lat + phase)
        return out


@dataclass
class World:
    """Demoland's geography as continuous functions of lon/lat.

    Attributes
    ----------
    moisture_noise, relief_noise, crop_noise, wetland_noise, detail_noise, trend_noise
        Smooth random fields that break up the large-scale gradients.
    cities : numpy.ndarray
        Rows of (lon, lat, radius_deg, weight).
    lakes : numpy.ndarray
        Rows of (lon, lat, semi_axis_lon_deg, semi_axis_lat_deg, phase).
    contrast : dict
        Per-layer calibration exponent (see :func:`tune_contrast`).
    """

    moisture_noise: SmoothNoise
    relief_noise: SmoothNoise
    crop_noise: SmoothNoise
    wetland_noise: SmoothNoise
    detail_noise: SmoothNoise
    trend_noise: SmoothNoise
    cities: np.ndarray
    lakes: np.ndarray
    contrast: dict[str, float] = field(default_factory=dict)

    # -- large-scale geography ------------------------------------------------------

    @staticmethod
    def northeast(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Weight of the humid, forested north-east (0..1)."""
        return np.exp(-(((u - 0.85) / 0.3) ** 2) - ((v - 0.8) / 0.3) ** 2)

    def elevation(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """High-plateau indicator (0 lowland .. 1 plateau) in the south-west."""
        u, v = lonlat_to_uv(lon, lat)
        d = np.hypot((u + 0.55) / 0.5, (v + 0.3) / 0.5) + 0.12 * self.relief_noise(lon, lat)
        return 1.0 / (1.0 + np.exp((d - 1.0) / 0.08))

    def moisture(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Humidity index (0 desert .. 1 rain forest).

        Wetter towards the east (monsoon) and south, drier towards the north-west
        interior, with a humid pocket in the north-east.
        """
        u, v = lonlat_to_uv(lon, lat)
        m = (
            0.45
            + 0.30 * np.tanh(2.0 * (u + 0.15))
            - 0.25 * np.tanh(2.5 * (v - 0.25))
            + 0.35 * self.northeast(u, v)
            + 0.08 * self.moisture_noise(lon, lat)
        )
        return np.clip(m, 0.0, 1.0)

    def urban_intensity(self, lon: np.ndarray, lat: np.ndarray, spread: float = 1.0) -> np.ndarray:
        """Sum of Gaussian city kernels; ``spread`` widens them (emission halos)."""
        out = np.zeros(np.broadcast_shapes(np.shape(lon), np.shape(lat)))
        for c_lon, c_lat, radius, weight in self.cities:
            dx = (lon - c_lon) * math.cos(math.radians(c_lat))
            out += weight * np.exp(-((dx**2 + (lat - c_lat) ** 2) / (spread * radius) ** 2))
        return out

    def is_water(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Lakes: ellipses with a wavy shoreline."""
        out = np.zeros(np.broadcast_shapes(np.shape(lon), np.shape(lat)), dtype=bool)
        for c_lon, c_lat, ax, ay, phase in self.lakes:
            dx, dy = (lon - c_lon) / ax, (lat - c_lat) / ay
            r2 = dx**2 + dy**2
            near = r2 < 2.0  # skip the trig for the vast majority of cells
            shore = 1.0 + 0.25 * np.cos(3.0 * np.arctan2(dy[near], dx[near]) + phase)
            out[near] |= r2[near] < shore**2
        return out

    def cropland_suitability(self, lon: np.ndarray, lat: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Plains of the centre-east plus a basin in the south-west (0..~1)."""
        u, v = lonlat_to_uv(lon, lat)
        plains = np.exp(-(((u - 0.45) / 0.4) ** 2) - ((v + 0.05) / 0.45) ** 2)
        basin = np.exp(-(((u - 0.12) / 0.14) ** 2) - ((v + 0.42) / 0.12) ** 2)
        return (plains + basin) * (1.0 - e) + 0.2 * self.crop_noise(lon, lat)

    def land_cover(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Land-cover class codes 1..7 (see ``LAND_COVER_CLASSES``)."""
        u, v = lonlat_to_uv(lon, lat)
        m = self.moisture(lon, lat)
        e = self.elevation(lon, lat)
        crop = self.cropland_suitability(lon, lat, e)
        # Wetlands are scattered noise peaks, favoured in the north-east and on the
        # moister parts of the plateau (alpine meadows/peat).
        wet = self.wetland_noise(lon, lat) + 1.2 * self.northeast(u, v) + 0.5 * e * (m > 0.35)
        conditions = [
            self.is_water(lon, lat),
            self.urban_intensity(lon, lat) > 0.5,
            (m < 0.2) | ((e > 0.8) & (m < 0.3)),
            crop > 0.55,
            wet > 2.3,
            m > 0.62,
        ]
        codes = [WATER, URBAN, BARE, CROP, WETLAND, FOREST]
        return np.select(conditions, codes, default=GRASS).astype(np.uint8)

    # -- carbon, productivity and emission fields -----------------------------------

    def base_and_index(
        self, layer: str, lon: np.ndarray, lat: np.ndarray, lc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated field and the gradient index its contrast is tuned along.

        Parameters
        ----------
        layer : {"biomass", "soc", "npp", "co2"}
            Which field.
        lon, lat : numpy.ndarray
            Cell centres in degrees.
        lc : numpy.ndarray
            Land-cover classes at the same points.

        Returns
        -------
        base, index : numpy.ndarray
            Non-negative base field (arbitrary units) and the index used by
            :func:`calibrated_field` to shape it: ``base * exp(contrast * index)``.
        """
        m = self.moisture(lon, lat)
        e = self.elevation(lon, lat)
        # Clipped so rare noise extremes can never make carbon negative.
        detail = np.clip(1.0 + 0.15 * self.detail_noise(lon, lat), 0.2, None)
        u, v = lonlat_to_uv(lon, lat)
        if layer == "biomass":
            return BIOMASS_LEVEL[lc] * (0.5 + m) * detail, m
        if layer == "soc":
            # Cold plateau soils and north-eastern peat hold the vulnerable carbon.
            soc = 20.0 + 30.0 * m + 120.0 * e * np.clip(m / 0.4, 0.0, 1.0)
            soc += 50.0 * self.northeast(u, v)
            return soc * SOC_FACTOR[lc] * detail, e
        if layer == "npp":
            npp = 900.0 * m**1.5 * (1.0 - 0.55 * e)
            return npp * NPP_FACTOR[lc] * detail, m
        if layer == "co2":
            density = 2000.0 * self.urban_intensity(lon, lat, spread=3.0)
            density += 150.0 * (lc == CROP) + 30.0 * m + 5.0
            return density * detail, u
        raise ValueError(f"unknown layer {layer!r}")

    def npp_gain(self, lon: np.ndarray, lat: np.ndarray, lc: np.ndarray) -> np.ndarray:
        """Fractional NPP increase 2000→2020 (greening; strongest on cropland)."""
        return np.clip(0.15 + 0.07 * self.trend_noise(lon, lat) + 0.1 * (lc == CROP), 0.0, 0.5)

    def co2_growth(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Log-growth of emissions 2000→2020: faster in the industrialising east."""
        u, _ = lonlat_to_uv(lon, lat)
        return 0.4 + 0.8 * np.clip((u + 1.0) / 2.0, 0.0, 1.0)


def make_world(rng: np.random.Generator, country: BaseGeometry) -> World:
    """Draw the noise fields, cities and lakes of Demoland."""
    return World(
        moisture_noise=SmoothNoise.make(rng, 16, 1.5, 10.0),
        relief_noise=SmoothNoise.make(rng, 12, 1.0, 6.0),
        crop_noise=SmoothNoise.make(rng, 12, 0.8, 5.0),
        wetland_noise=SmoothNoise.make(rng, 16, 0.3, 1.5),
        detail_noise=SmoothNoise.make(rng, 16, 0.5, 4.0),
        trend_noise=SmoothNoise.make(rng, 10, 2.0, 10.0),
        cities=_make_cities(rng, country),
        lakes=_make_lakes(rng),
    )


def _make_cities(rng: np.random.Generator, country: BaseGeometry) -> np.ndarray:
    """Cities: a dense eastern belt, a few inland centres, and foreign neighbours.

    Cities beyond the border make emissions continue outside the country, so a tool
    that forgets to clip to the outline over-counts.
    """
    inner = country.buffer(-0.3)
    rows = []
    for n, (u_lo, u_hi), weight_range in [
        (14, (0.55, 1.1), (0.9, 1.6)),  # eastern urban belt
        (5, (-0.1, 0.55), (0.7, 1.1)),  # inland centres
        (2, (-0.9, -0.3), (0.6, 0.8)),  # small western capitals
    ]:
        for _ in range(n):
            lon, lat = random_point_in(
                rng, inner, lambda lo, _la, a=u_lo, b=u_hi: a <= lonlat_to_uv(lo, 0)[0] <= b
            )
            rows.append((lon, lat, rng.uniform(0.1, 0.25), rng.uniform(*weight_range)))
    east = CENTRE[0] + 1.15 * SEMI_AXES_DEG[0]
    for lat in (30.0, 35.5, 39.0):  # neighbours across the eastern border
        rows.append((east + rng.uniform(0.5, 1.5), lat, rng.uniform(0.15, 0.3), 1.2))
    return np.array(rows)


def _make_lakes(rng: np.random.Generator) -> np.ndarray:
    """A few lakes: big ones on the plateau, two on the central plains, one north-east."""
    centres_uv = [(-0.45, 0.05), (-0.7, -0.35), (-0.3, -0.55), (0.55, -0.45), (0.72, -0.2),
                  (0.8, 0.6), (-0.85, 0.3)]  # fmt: skip
    rows = []
    for u, v in centres_uv:
        lon, lat = uv_to_lonlat(u, v)
        size = rng.uniform(0.25, 0.5)
        rows.append((lon, lat, size * rng.uniform(1.0, 1.6), size, rng.uniform(0, 2 * np.pi)))
    return np.array(rows)


# --------------------------------------------------------------------------------------
# Vector layers
# --------------------------------------------------------------------------------------


def make_country(rng: np.random.Generator) -> MultiPolygon:
    """Main land mass (a smooth noisy ellipse) plus two small south-eastern islands.

    The main blob is rescaled until the ellipsoidal area of the whole country is
    ``TARGET_AREA_KM2``.
    """
    kx, ky = km_per_degree(CENTRE[1])
    theta = np.linspace(0.0, 2.0 * np.pi, 480, endpoint=False)
    wobble = np.ones_like(theta)
    for k in range(2, 9):
        wobble += (0.16 / k**0.8) * rng.uniform(0.4, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    rx, ry = SEMI_AXES_DEG[0] * kx, SEMI_AXES_DEG[1] * ky

    def mainland(scale: float) -> Polygon:
        x = scale * rx * wobble * np.cos(theta) / kx
        y = scale * ry * wobble * np.sin(theta) / ky
        return Polygon(np.column_stack([CENTRE[0] + x, CENTRE[1] + y]))

    islands = [
        blob(rng, *uv_to_lonlat(0.55, -1.22), 30_000.0, roughness=0.1, aspect=1.4),
        blob(rng, *uv_to_lonlat(1.13, -0.72), 6_000.0, roughness=0.1, aspect=2.0),
    ]
    islands_km2 = sum(geodesic_area_km2(p) for p in islands)
    scale = 1.0
    for _ in range(4):  # area ∝ scale², converges in two or three steps
        scale *= math.sqrt((TARGET_AREA_KM2 - islands_km2) / geodesic_area_km2(mainland(scale)))
    main = mainland(scale)
    if any(main.distance(p) < 0.2 for p in islands):
        raise RuntimeError("an island touches the mainland; change the seed")
    return MultiPolygon([main, *islands])


def make_provinces(rng: np.random.Generator, country: MultiPolygon) -> gpd.GeoDataFrame:
    """Partition the country into Voronoi cells of seeded, well-separated points.

    Voronoi cells tile the plane, so intersecting them with the outline yields an
    exact partition (no gaps, no overlaps).
    """
    mainland = max(country.geoms, key=lambda p: p.area)
    seeds: list[tuple[float, float]] = []
    while len(seeds) < len(PROVINCE_NAMES):
        cand = random_point_in(rng, mainland.buffer(-1.0), lambda _lo, _la: True)
        if all(math.dist(cand, s) > 3.6 for s in seeds):
            seeds.append(cand)
    seeds.sort(key=lambda p: (-round(p[1] / 3.0), p[0]))  # roughly north→south, west→east
    cells = shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=box(*country.buffer(5.0).bounds), ordered=True
    )
    geoms = [as_multipolygon_or_polygon(cell.intersection(country)) for cell in cells.geoms]
    return gpd.GeoDataFrame(
        {"code": np.arange(1, len(geoms) + 1, dtype=np.int32), "name": list(PROVINCE_NAMES)},
        geometry=geoms,
        crs=WGS84,
    )


def _invent_name(rng: np.random.Generator, used: set[str]) -> str:
    """Pronounceable made-up place name, unique within ``used``."""
    while True:
        a, b = rng.choice(len(NAME_SYLLABLES), size=2, replace=False)
        name = (NAME_SYLLABLES[a] + NAME_SYLLABLES[b]).capitalize()
        if name not in used:
            used.add(name)
            return name


def _pa_union_share(pas: Sequence[Polygon], country: BaseGeometry, country_km2: float) -> float:
    """Share of the country covered by the union of PA polygons (overlaps once)."""
    return geodesic_area_km2(unary_union(pas).intersection(country)) / country_km2


# National parks as ((u, v) centre, km²): three on the plateau and desert edge, one
# in the forested south-western mountains (a "giant panda" park).
PARK_SPECS = (((-0.62, -0.25), 70_000.0), ((-0.3, -0.5), 50_000.0),
              ((-0.78, 0.12), 45_000.0), ((-0.02, -0.3), 28_000.0))  # fmt: skip


def make_protected_areas(rng: np.random.Generator, country: MultiPolygon) -> gpd.GeoDataFrame:
    """Existing network: western national parks and large reserves, small reserves everywhere.

    All polygons are then scaled about their own centres until the union covers
    ``PA_SHARE_TARGET`` of the country.
    """
    mainland = max(country.geoms, key=lambda p: p.area)
    parks = [
        blob(rng, *uv_to_lonlat(u, v), area, roughness=0.2, aspect=rng.uniform(1.0, 1.8))
        for (u, v), area in PARK_SPECS
    ]
    reserves = _large_reserves(rng, mainland, parks) + _small_reserves(rng, mainland)
    years = rng.integers(1956, 2022, size=len(reserves))
    years[-1] = 1956  # the oldest reserve is a small southern/eastern one, as in China

    used: set[str] = set()
    names = [f"{_invent_name(rng, used)} National Park" for _ in parks]
    names += [f"{_invent_name(rng, used)} Nature Reserve" for _ in reserves]
    polys = _scale_to_share(parks + reserves, country, geodesic_area_km2(country), PA_SHARE_TARGET)
    return gpd.GeoDataFrame(
        {
            "name": names,
            "category": ["national_park"] * len(parks) + ["nature_reserve"] * len(reserves),
            "year": np.concatenate([np.full(len(parks), 2021), years]).astype(np.int32),
        },
        geometry=polys,
        crs=WGS84,
    )


def _large_reserves(rng: np.random.Generator, mainland: Polygon, parks: Sequence[Polygon]) -> list[Polygon]:
    """Large western reserves: three on a park's edge, five free, two across the border."""
    reserves = []
    for park, (_, park_km2) in zip(parks[:3], PARK_SPECS, strict=False):
        # Centred on the park's rim so that park and reserve partly overlap, as
        # Chinese national parks absorbed parts of older reserves.
        radius = math.sqrt(park_km2 / math.pi) / 100.0  # rough degrees
        ang = rng.uniform(0, 2 * np.pi)
        c = park.centroid
        lon, lat = c.x + radius * math.cos(ang), c.y + 0.8 * radius * math.sin(ang)
        reserves.append(blob(rng, lon, lat, rng.uniform(10_000, 35_000), roughness=0.2))
    for _ in range(5):
        lon, lat = random_point_in(rng, mainland, lambda lo, la: lonlat_to_uv(lo, la)[0] < -0.25)
        reserves.append(blob(rng, lon, lat, rng.uniform(10_000, 35_000), roughness=0.2))
    for frac in (0.47, 0.56):  # positions along the ring that fall on the west side
        p = mainland.exterior.interpolate(frac, normalized=True)
        reserves.append(blob(rng, p.x, p.y, rng.uniform(8_000, 15_000), roughness=0.15))
    return reserves


def _small_reserves(rng: np.random.Generator, mainland: Polygon) -> list[Polygon]:
    """52 small reserves (150-4,000 km²): 36 biased westwards, 16 in the south and east."""
    reserves = []
    for i in range(52):
        if i < 36:
            # Comparing u with a fresh uniform threshold makes acceptance fall off
            # linearly eastwards: most, but not all, of these land in the west.
            lon, lat = random_point_in(
                rng, mainland, lambda lo, la: lonlat_to_uv(lo, la)[0] < rng.uniform(-0.9, 0.6)
            )
        else:
            lon, lat = random_point_in(rng, mainland, lambda lo, _la: lonlat_to_uv(lo, 0)[0] > 0.0)
        area = math.exp(rng.uniform(math.log(150.0), math.log(4_000.0)))
        reserves.append(blob(rng, lon, lat, area, roughness=0.25, n_vertices=40))
    return reserves


def _scale_to_share(
    polys: list[Polygon], country: BaseGeometry, country_km2: float, target: float
) -> list[Polygon]:
    """Scale every polygon about its centroid until the union share hits ``target``."""
    factor = 1.0
    scaled = polys
    for _ in range(10):
        share = _pa_union_share(scaled, country, country_km2)
        if abs(share / target - 1.0) < 1e-3:
            break
        factor *= math.sqrt(target / share)
        scaled = [affinity.scale(p, factor, factor, origin="centroid") for p in polys]
    return scaled


def make_species_ranges(
    rng: np.random.Generator, country: MultiPolygon, pa_union: BaseGeometry
) -> gpd.GeoDataFrame:
    """Thirty-six species ranges, concentrated in the south-west and north-east.

    Five small-ranged species are kept entirely outside the protected areas, five
    are centred on western protected areas (they straddle them), and seven ranges
    are stored as 2-3 overlapping polygons (separate rows) so that summing areas
    without dissolving double-counts.
    """
    mainland = max(country.geoms, key=lambda p: p.area)
    n = 36
    sizes = np.geomspace(2_000.0, 800_000.0, n)
    kinds = ["outside"] * 5 + ["sw"] * 13 + ["south"] * 6 + ["ne"] * 7 + ["pa"] * 5
    # The five smallest ranges go "outside"; the rest are shuffled over the regions.
    order = np.concatenate([np.arange(5), 5 + rng.permutation(n - 5)])
    groups = rng.permutation(["mammal"] * 9 + ["bird"] * 10 + ["amphibian"] * 8 + ["plant"] * 9)
    threats = rng.choice(["LC", "NT", "VU", "EN", "CR"], size=n, p=[0.35, 0.2, 0.2, 0.15, 0.1])
    multipart = set(rng.choice(np.arange(5, n), size=7, replace=False).tolist())
    boxes = {"sw": (-0.25, 0.3, -0.85, -0.3), "south": (0.2, 0.9, -0.9, -0.5),
             "ne": (0.55, 0.95, 0.45, 0.9), "outside": (0.3, 1.0, -0.9, 0.6)}  # fmt: skip
    pa_parts = polygons_of(pa_union)
    big_pas = sorted(pa_parts, key=lambda p: -p.area)[:8]

    rows = []
    for i, kind in enumerate(kinds):
        area = float(sizes[order[i]])
        for _ in range(500):
            if kind == "pa":
                c = big_pas[int(rng.integers(len(big_pas)))].representative_point()
                lon, lat = c.x, c.y
            else:
                lon, lat = _point_in_uv_box(rng, mainland, boxes[kind])
            if area > 150_000:  # very wide ranges: pull their centre inland
                lon, lat = (lon + CENTRE[0] + 2.0) / 2.0, (lat + CENTRE[1] - 2.0) / 2.0
            parts = _range_parts(rng, lon, lat, area, 2 + int(rng.integers(2)) if i in multipart else 1)
            if kind != "outside" or not unary_union(parts).intersects(pa_union):
                break
        else:
            raise RuntimeError("could not place a range outside the protected areas")
        for part in parts:
            rows.append((f"Species {i + 1:02d}", str(groups[i]), str(threats[i]), part))
    return gpd.GeoDataFrame(
        {
            "species": [r[0] for r in rows],
            "group": [r[1] for r in rows],
            "threat": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=WGS84,
    )


def _point_in_uv_box(
    rng: np.random.Generator, region: BaseGeometry, uv_box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """Random point of ``region`` inside a box of normalised coordinates."""
    u0, u1, v0, v1 = uv_box

    def inside(lon: float, lat: float) -> bool:
        u, v = lonlat_to_uv(lon, lat)
        return u0 <= u <= u1 and v0 <= v <= v1

    return random_point_in(rng, region, inside)


def _range_parts(
    rng: np.random.Generator, lon: float, lat: float, area: float, n_parts: int
) -> list[Polygon]:
    """One blob, or ``n_parts`` overlapping blobs whose union is about ``area``."""
    if n_parts == 1:
        return [blob(rng, lon, lat, area, roughness=0.3, aspect=rng.uniform(1.0, 2.5))]
    part_area = 1.3 * area / n_parts
    offset = 0.6 * math.sqrt(part_area / math.pi) / 100.0  # degrees: parts overlap
    parts = []
    for k in range(n_parts):
        ang = 2.0 * np.pi * k / n_parts + rng.uniform(-0.3, 0.3)
        parts.append(
            blob(
                rng,
                lon + offset * math.cos(ang),
                lat + offset * math.sin(ang),
                part_area,
                roughness=0.25,
            )
        )
    return parts


# --------------------------------------------------------------------------------------
# Calibration of the fields
# --------------------------------------------------------------------------------------


def tune_contrast(
    base: np.ndarray,
    index: np.ndarray,
    weights: np.ndarray,
    national: np.ndarray,
    inside: np.ndarray,
    goal: float,
) -> float:
    """Find ``beta`` so that ``base * exp(beta * index)`` has the wanted inside ratio.

    Tilting a field along a geographic gradient (moisture, elevation, eastness)
    moves value between the western protected network and the rest of the country
    without changing the pattern's character.  The ratio is monotone in ``beta``
    in practice, so bisection suffices.

    Parameters
    ----------
    base, index : numpy.ndarray
        Field and gradient index on a common grid.
    weights : numpy.ndarray
        Cell areas (broadcastable).
    national, inside : numpy.ndarray
        Boolean masks of the country and of protected land (valid cells only).
    goal : float
        Wanted (protected density) / (national density).

    Returns
    -------
    float
        The contrast exponent.
    """

    def ratio(beta: float) -> float:
        f = base * np.exp(beta * index)
        return weighted_mean(f, weights, inside) / weighted_mean(f, weights, national)

    lo, hi = -12.0, 12.0
    r_lo, r_hi = ratio(lo), ratio(hi)
    if not min(r_lo, r_hi) <= goal <= max(r_lo, r_hi):
        raise RuntimeError(f"ratio {goal} unreachable (range {r_lo:.3f}..{r_hi:.3f})")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (ratio(mid) > goal) == (r_lo > goal):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Sample:
    """The world sampled on one output grid, plus the masks calibration needs."""

    grid: Grid
    lon: np.ndarray
    lat: np.ndarray
    lc: np.ndarray
    national: np.ndarray
    inside: np.ndarray
    weights: np.ndarray

    @classmethod
    def take(cls, world: World, grid: Grid, country: BaseGeometry, protected: BaseGeometry) -> Sample:
        """Evaluate land cover and rasterise country/protected masks (cell centres)."""
        lon, lat = grid.lonlat()
        national = geometry_mask(country, grid)
        return cls(
            grid,
            lon,
            lat,
            world.land_cover(lon, lat),
            national,
            national & geometry_mask(protected, grid),
            grid.cell_area_km2(),
        )


def calibrated_field(world: World, s: Sample, layer: str, valid: np.ndarray) -> np.ndarray:
    """Layer field with its contrast tuned on this very grid (then stored in ``world``).

    Tuning on the output grid itself, rather than on a common coarse grid, removes
    the few-percent discretisation error of the protected-area mask.
    """
    base, index = world.base_and_index(layer, s.lon, s.lat, s.lc)
    beta = tune_contrast(
        base, index, s.weights, s.national & valid, s.inside & valid, RATIO_TARGETS[layer].goal
    )
    world.contrast[layer] = beta
    return base * np.exp(beta * index)


# --------------------------------------------------------------------------------------
# Raster layers
# --------------------------------------------------------------------------------------


def _scaled_to_mean(values: np.ndarray, s: Sample, valid: np.ndarray, mean: float) -> np.ndarray:
    """Rescale so the area-weighted mean over valid national cells equals ``mean``."""
    return values * (mean / weighted_mean(values, s.weights, s.national & valid))


def biomass_layer(world: World, s: Sample) -> np.ndarray:
    """Biomass carbon density (MgC/ha); lakes are nodata holes."""
    valid = s.lc != WATER
    values = calibrated_field(world, s, "biomass", valid)
    values = _scaled_to_mean(values, s, valid, BIOMASS_MEAN)
    return np.where(valid, np.round(values, 1), -9999.0).astype(np.float32)


def soc_layer(world: World, s: Sample) -> np.ndarray:
    """Vulnerable soil organic carbon density (MgC/ha), valid everywhere."""
    valid = np.ones(s.grid.shape, dtype=bool)
    values = _scaled_to_mean(calibrated_field(world, s, "soc", valid), s, valid, SOC_MEAN)
    return np.round(values, 1).astype(np.float32)


def npp_layer(world: World, s: Sample) -> np.ndarray:
    """NPP (gC/m²/yr) for each year; water is nodata as in MODIS."""
    valid = s.lc != WATER
    npp_2020 = calibrated_field(world, s, "npp", valid)
    gain = world.npp_gain(s.lon, s.lat, s.lc)
    bands = []
    for year, mean in zip(YEARS, NPP_MEANS, strict=True):
        # Going back in time removes part of each cell's own greening trend, so the
        # change is spatially varying; each year is then pinned to its national mean.
        values = npp_2020 * (1.0 - gain * (2020 - year) / 20.0)
        values = _scaled_to_mean(values, s, valid, mean)
        bands.append(np.where(valid, np.round(values, 1), -9999.0))
    return np.stack(bands).astype(np.float32)


def co2_layer(world: World, s: Sample, country_km2: float) -> np.ndarray:
    """Emissions (tCO2 per cell per year) for each year; amounts, not densities."""
    density_2020 = calibrated_field(world, s, "co2", np.ones(s.grid.shape, dtype=bool))
    area = np.broadcast_to(s.weights, s.grid.shape)
    growth = world.co2_growth(s.lon, s.lat)
    bands = []
    for year, china_total in zip(YEARS, CHINA_CO2, strict=True):
        # Emissions grow faster in the east, i.e. outside the western protected areas.
        amount = density_2020 * np.exp(-growth * (2020 - year) / 20.0) * area
        total = china_total * country_km2 / CHINA_AREA_KM2
        bands.append(np.round(amount * total / amount[s.national].sum()))
    return np.stack(bands).astype(np.float32)


def richness_layer(species: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """Number of species whose dissolved range covers each cell centre."""
    richness = np.zeros(grid.shape, dtype=np.uint16)
    for geom in species.dissolve(by="species").geometry:
        richness += rasterize(
            [(geom, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
        )
    return richness


# --------------------------------------------------------------------------------------
# Atomic writers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RasterSpec:
    """Metadata of one output raster."""

    unit: str
    nodata: float
    band_names: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def _rio_crs(crs: CRS) -> rasterio.crs.CRS:
    """Hand a CRS to GDAL by EPSG code if it has one, else as WKT."""
    authority = crs.to_authority()
    rio_crs = rasterio.crs.CRS
    return rio_crs.from_epsg(int(authority[1])) if authority else rio_crs.from_wkt(crs.to_wkt())


def _atomic_path(path: Path) -> Path:
    """Temporary sibling of ``path`` (same folder, so os.replace is atomic)."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)  # a crashed earlier run may have left one behind
    return tmp


def write_raster(path: Path, data: np.ndarray, grid: Grid, spec: RasterSpec) -> None:
    """Write a tiled, DEFLATE-compressed GeoTIFF atomically."""
    data = data[None] if data.ndim == 2 else data
    floating = np.issubdtype(data.dtype, np.floating)
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": _rio_crs(grid.crs),
        "transform": grid.transform,
        "nodata": spec.nodata,
        "compress": "deflate",
        "zlevel": 9,
        "predictor": 3 if floating else 2,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    tmp = _atomic_path(path)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            dst.update_tags(unit=spec.unit, **spec.tags)
            for band, name in enumerate(spec.band_names, start=1):
                dst.set_band_description(band, name)
                if name.isdigit():
                    dst.update_tags(band, year=name)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_vector(path: Path, gdf: gpd.GeoDataFrame, layer: str) -> None:
    """Write a single-layer GeoPackage atomically."""
    # GeoPackages stamp the write time into gpkg_contents; pinning it makes reruns
    # byte-identical, so regenerating the demo does not show up as a git change.
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    tmp = _atomic_path(path)
    try:
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# Independent calibration check (reads the written files back)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    """One line of the calibration table."""

    layer: str
    national: float
    protected: float
    value: float
    lo: float
    hi: float

    @property
    def ok(self) -> bool:
        """Whether ``value`` lies in its target range."""
        return self.lo <= self.value <= self.hi


def _read_grid(src: rasterio.io.DatasetReader) -> Grid:
    return Grid(CRS.from_wkt(src.crs.to_wkt()), src.transform, src.width, src.height)


def _masks(path: Path, country: BaseGeometry, pas: BaseGeometry) -> tuple[Grid, np.ndarray, ...]:
    """Grid plus country and protected masks rasterised on the raster's own grid."""
    with rasterio.open(path) as src:
        grid = _read_grid(src)
    national = geometry_mask(country, grid)
    return grid, national, national & geometry_mask(pas, grid)


def _density_row(path: Path, band: int, layer: str, country: BaseGeometry, pas: BaseGeometry) -> CheckRow:
    """Inside ÷ national area-weighted density of one band (nodata excluded)."""
    grid, national, inside = _masks(path, country, pas)
    with rasterio.open(path) as src:
        values = src.read(band, masked=True)
    valid = ~np.ma.getmaskarray(values)
    data = values.filled(0.0).astype(np.float64)
    weights = grid.cell_area_km2()
    nat = weighted_mean(data, weights, national & valid)
    prot = weighted_mean(data, weights, inside & valid)
    target = RATIO_TARGETS[layer]
    return CheckRow(layer, nat, prot, prot / nat, target.lo, target.hi)


def calibration(out_dir: Path) -> tuple[list[CheckRow], list[str]]:
    """Recompute the gap-analysis magnitudes from the files on disk.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder holding the demo files.

    Returns
    -------
    rows : list of CheckRow
        Protected share and the four inside ÷ national density ratios.
    notes : list of str
        National figures (means, totals, growth) for information.
    """
    country = gpd.read_file(out_dir / "country.gpkg").union_all()
    pas = gpd.read_file(out_dir / "protected_areas.gpkg").union_all().intersection(country)
    country_km2 = geodesic_area_km2(country)
    share = geodesic_area_km2(pas) / country_km2
    rows = [CheckRow("protected share", country_km2, share * country_km2, share, *SHARE_RANGE)]
    rows.append(_density_row(out_dir / "biomass_carbon.tif", 1, "biomass", country, pas))
    rows.append(_density_row(out_dir / "soil_carbon_vulnerable.tif", 1, "soc", country, pas))
    rows.append(_density_row(out_dir / "npp.tif", len(YEARS), "npp", country, pas))

    # Emissions are amounts per cell: density = Σ amount / Σ cell area.
    grid, national, inside = _masks(out_dir / "co2_emissions.tif", country, pas)
    with rasterio.open(out_dir / "co2_emissions.tif") as src:
        co2 = src.read().astype(np.float64)
    area = np.broadcast_to(grid.cell_area_km2(), grid.shape)
    nat = co2[-1][national].sum() / area[national].sum()
    prot = co2[-1][inside].sum() / area[inside].sum()
    target = RATIO_TARGETS["co2"]
    rows.append(CheckRow("co2", nat, prot, prot / nat, target.lo, target.hi))

    categories = gpd.read_file(out_dir / "protected_areas.gpkg")["category"].value_counts()
    notes = [
        f"country area: {country_km2:,.0f} km²",
        "protected areas: " + ", ".join(f"{n} {cat}" for cat, n in categories.items()),
    ]
    with rasterio.open(out_dir / "npp.tif") as src:
        npp_grid, npp = _read_grid(src), src.read(masked=True)
    npp_nat = geometry_mask(country, npp_grid)
    means = [weighted_mean(b.filled(0.0), npp_grid.cell_area_km2(), npp_nat & ~b.mask) for b in npp]
    notes.append(
        "NPP national mean (gC/m²/yr): "
        + ", ".join(f"{y} {m:.1f}" for y, m in zip(YEARS, means, strict=True))
    )
    totals = [band[national].sum() for band in co2]
    targets = [t * country_km2 / CHINA_AREA_KM2 for t in CHINA_CO2]
    notes.append(
        "CO2 national total (1e8 tCO2/yr), got/target: "
        + ", ".join(
            f"{y} {g / 1e8:.2f}/{t / 1e8:.2f}" for y, g, t in zip(YEARS, totals, targets, strict=True)
        )
    )
    outside = national & ~inside
    notes.append(
        "CO2 growth 2000→2020: inside PAs ×"
        f"{co2[-1][inside].sum() / co2[0][inside].sum():.2f}, outside ×"
        f"{co2[-1][outside].sum() / co2[0][outside].sum():.2f}"
    )
    return rows, notes


def format_table(rows: Sequence[CheckRow]) -> str:
    """Render the calibration table as fixed-width text."""
    lines = [
        f"{'layer':<26}{'national':>12}{'protected':>12}{'ratio':>8}  {'target':<12}status",
    ]
    labels = {
        "protected share": "protected share (km²)",
        "biomass": "biomass (MgC/ha)",
        "soc": "vulnerable SOC (MgC/ha)",
        "npp": "NPP 2020 (gC/m²/yr)",
        "co2": "CO2 2020 (t/km²/yr)",
    }
    for r in rows:
        lines.append(
            f"{labels[r.layer]:<26}{r.national:>12,.2f}{r.protected:>12,.2f}{r.value:>8.3f}  "
            f"{f'{r.lo:.3f}–{r.hi:.3f}':<12}{'ok' if r.ok else 'OUT OF RANGE'}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------

FILE_ROWS = (
    ("country.gpkg", "country outline (layer `country`, `name`)", "EPSG:4326", "–", "–", "–",
     "–"),
    ("provinces.gpkg", "10 provinces partitioning the country (`code`, `name`)", "EPSG:4326",
     "–", "–", "–", "–"),
    ("protected_areas.gpkg", "existing PAs (`name`, `category`, `year`); overlapping, some "
     "cross the border", "EPSG:4326", "–", "–", "–", "–"),
    ("species_ranges.gpkg", "36 species ranges (`species`, `group`, `threat`); 7 species "
     "have 2–3 overlapping rows", "EPSG:4326", "–", "–", "–", "–"),
    ("biomass_carbon.tif", "biomass carbon density (lakes are holes)", "EPSG:4326", "0.02°",
     "MgC/ha", "1", "-9999"),
    ("soil_carbon_vulnerable.tif", "vulnerable soil organic carbon density", "EPSG:6933",
     "3000 m", "MgC/ha", "1", "-9999"),
    ("npp.tif", "net primary productivity (water is nodata)", "EPSG:4326", "1/12°", "gC/m2/yr",
     "5: 2000, 2005, 2010, 2015, 2020", "-9999"),
    ("co2_emissions.tif", "anthropogenic CO2 emissions, an amount per cell", "EPSG:4326",
     "0.1°", "tCO2/cell/yr", "5: 2000, 2005, 2010, 2015, 2020", "-1 (none present)"),
    ("land_cover.tif", "classes 1 forest, 2 grassland, 3 cropland, 4 wetland, 5 bare, "
     "6 urban, 7 water (tags `class_N`)", "Albers (lon_0=105, lat_1=25, lat_2=47)", "1000 m",
     "class", "1", "0"),
    ("species_richness.tif", "number of species ranges covering the cell centre", "EPSG:4326",
     "0.05°", "species", "1", "65535 (none present)"),
)  # fmt: skip


def readme_text(table: str, notes: Sequence[str]) -> str:
    """Markdown description of the demo folder, including the calibration table."""
    header = "| file | what | CRS | cell | unit | bands | nodata |\n|---|---|---|---|---|---|---|"
    rows = "\n".join("| " + " | ".join((f"`{r[0]}`", *r[1:])) + " |" for r in FILE_ROWS)
    note_lines = "\n".join(f"- {n}" for n in notes)
    return f"""# Demoland: synthetic demo data

*Generated by `data/make_demo.py`; do not edit by hand (rerun the script instead).*

Demoland is an invented country of about 2.2 million km² centred near 100°E, 34°N.
Its structure mirrors China as assessed in studies of its protected areas: a dry
high plateau and desert in the west and north-west (low biomass and NPP, high
vulnerable soil carbon on the plateau), a humid forested south and north-east,
cropland plains in the centre-east and an urban belt along the east where
emissions concentrate. The existing protected-area network (national parks and
nature reserves that overlap one another) lies mostly in the west and covers
about 11.3% of the land.

Deliberate traps for an analysis tool:

- rasters extend at least 1° beyond the border with valid values (neighbouring
  land), so results are wrong unless clipped to the outline;
- rasters come in three CRSs and six grids (EPSG:4326 at 0.02°, 1/12°, 0.1° and
  0.05°; EASE-Grid 2.0 at 3 km; Albers at 1 km); geographic cells shrink with
  latitude, so unweighted cell means are biased;
- CO2 is an amount per cell, not a density;
- protected areas overlap each other and some cross the border;
- several species ranges are split over overlapping rows;
- biomass and NPP have nodata holes (lakes) inside the country.

## Files

{header}
{rows}

Every GeoTIFF is tiled 256×256, DEFLATE-compressed, carries a dataset tag `unit`
and band descriptions; multi-year rasters also carry a per-band `year` tag.
`land_cover.tif` has no EPSG code: its CRS is the custom Albers projection
`+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84`, stored as WKT,
whose datum GDAL reports as "Unknown based on WGS 84 ellipsoid" (only the
ellipsoid is given); treat it as WGS 84.

## Calibration

Densities are area-weighted (exact ellipsoidal cell areas) over the country
(cell centres inside the outline) and over the union of protected areas clipped
to the country; ratio = protected ÷ national density. CO2 density is the summed
amount divided by the summed cell area. The first row gives areas in km² and the
protected share as its ratio.

```
{table}
```

{note_lines}

## Regenerate

```
python data/make_demo.py            # writes data/demo/
python data/make_demo.py --out DIR  # elsewhere
```

The script is deterministic (seeded `numpy.random.Generator`), runs in well
under a minute and exits non-zero if the calibration check fails.
"""


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def _spawn(seed: int, names: Sequence[str]) -> dict[str, np.random.Generator]:
    """Independent random streams, so changing one component leaves the others alone."""
    streams = np.random.default_rng(seed).spawn(len(names))
    return dict(zip(names, streams, strict=True))


def _checks(
    country: MultiPolygon,
    provinces: gpd.GeoDataFrame,
    pas: gpd.GeoDataFrame,
    species: gpd.GeoDataFrame,
) -> Iterator[str]:
    """Structural facts worth printing (partition quality, PA/range relations)."""
    country_km2 = geodesic_area_km2(country)
    prov_km2 = sum(geodesic_area_km2(g) for g in provinces.geometry)
    overlap = sum(
        geodesic_area_km2(a.intersection(b))
        for i, a in enumerate(provinces.geometry)
        for b in provinces.geometry[i + 1 :]
    )
    yield (
        f"provinces: sum {prov_km2:,.1f} km² vs country {country_km2:,.1f} km², overlaps {overlap:.3f} km²"
    )
    parks = pas[pas.category == "national_park"].geometry
    reserves = pas[pas.category == "nature_reserve"].geometry
    n_touch = sum(bool(reserves.intersects(p).any()) for p in parks)
    n_cross = int((~pas.geometry.within(country)).sum())
    yield (
        f"protected areas: {len(parks)} national parks ({n_touch} overlap reserves), "
        f"{len(reserves)} nature reserves, {n_cross} extend beyond the border"
    )
    pa_union = pas.union_all()
    ranges = species.dissolve(by="species").geometry
    straddle = int((ranges.intersects(pa_union) & ~ranges.within(pa_union)).sum())
    outside = int((~ranges.intersects(pa_union)).sum())
    multi = int((species.groupby("species").size() > 1).sum())
    km2 = [geodesic_area_km2(g) for g in ranges]
    yield (
        f"species: {len(ranges)} ({multi} multi-row), {straddle} straddle PAs, "
        f"{outside} entirely outside, range {min(km2):,.0f}–{max(km2):,.0f} km²"
    )


def build(out_dir: Path, seed: int) -> None:
    """Generate every layer and write it to ``out_dir``."""
    rng = _spawn(seed, ["country", "provinces", "world", "pas", "species"])
    country = make_country(rng["country"])
    provinces = make_provinces(rng["provinces"], country)
    world = make_world(rng["world"], country)
    pas = make_protected_areas(rng["pas"], country)
    species = make_species_ranges(rng["species"], country, pas.union_all())
    for line in _checks(country, provinces, pas, species):
        print(line)

    write_vector(
        out_dir / "country.gpkg",
        gpd.GeoDataFrame({"name": ["Demoland"]}, geometry=[country], crs=WGS84),
        "country",
    )
    write_vector(out_dir / "provinces.gpkg", provinces, "provinces")
    write_vector(out_dir / "protected_areas.gpkg", pas, "protected_areas")
    write_vector(out_dir / "species_ranges.gpkg", species, "species_ranges")
    write_rasters(out_dir, world, country, pas.union_all().intersection(country), species)
    print("contrast exponents: " + ", ".join(f"{k} {v:+.3f}" for k, v in world.contrast.items()))


def write_rasters(
    out_dir: Path,
    world: World,
    country: MultiPolygon,
    protected: BaseGeometry,
    species: gpd.GeoDataFrame,
) -> None:
    """Sample the world on each product's own grid and write the GeoTIFFs."""
    west, south, east, north = country.bounds
    bounds = (
        math.floor(west - PAD_DEG),
        math.floor(south - PAD_DEG),
        math.ceil(east + PAD_DEG),
        math.ceil(north + PAD_DEG),
    )
    years = tuple(str(y) for y in YEARS)

    def sample(grid: Grid) -> Sample:
        return Sample.take(world, grid, country, protected)

    s = sample(geographic_grid(bounds, 50))
    write_raster(
        out_dir / "biomass_carbon.tif",
        biomass_layer(world, s),
        s.grid,
        RasterSpec("MgC/ha", -9999.0, ("biomass carbon density",)),
    )
    s = sample(projected_grid(bounds, EASE2, 3000.0))
    write_raster(
        out_dir / "soil_carbon_vulnerable.tif",
        soc_layer(world, s),
        s.grid,
        RasterSpec("MgC/ha", -9999.0, ("vulnerable soil organic carbon density",)),
    )
    s = sample(geographic_grid(bounds, 12))  # MODIS-like 1/12°
    write_raster(out_dir / "npp.tif", npp_layer(world, s), s.grid, RasterSpec("gC/m2/yr", -9999.0, years))
    s = sample(geographic_grid(bounds, 10))  # EDGAR-like 0.1°
    write_raster(
        out_dir / "co2_emissions.tif",
        co2_layer(world, s, geodesic_area_km2(country)),
        s.grid,
        RasterSpec("tCO2/cell/yr", -1.0, years),
    )
    del s

    grid = projected_grid(bounds, ALBERS, 1000.0)
    class_tags = {f"class_{k}": v for k, v in LAND_COVER_CLASSES.items()}
    write_raster(
        out_dir / "land_cover.tif",
        world.land_cover(*grid.lonlat()),
        grid,
        RasterSpec("class", 0, ("land cover class",), class_tags),
    )
    grid = geographic_grid(bounds, 20)
    write_raster(
        out_dir / "species_richness.tif",
        richness_layer(species, grid),
        grid,
        RasterSpec("species", 65535, ("species richness",)),
    )


def write_readme(out_dir: Path, table: str, notes: Sequence[str]) -> None:
    """Write README.md atomically."""
    path = out_dir / "README.md"
    tmp = _atomic_path(path)
    tmp.write_text(readme_text(table, notes), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "demo",
        help="output folder (default: data/demo next to this script)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="random seed (the calibration is tuned for the default)",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.out, args.seed)

    rows, notes = calibration(args.out)
    table = format_table(rows)
    print(table)
    for note in notes:
        print(note)
    write_readme(args.out, table, notes)

    names = [*(r[0] for r in FILE_ROWS), "README.md"]
    sizes = {name: (args.out / name).stat().st_size for name in names}
    for name, size in sizes.items():
        print(f"{name:<28}{size / 1024:>10.1f} KiB")
    total = sum(sizes.values())
    print(f"{'total':<28}{total / 1024**2:>10.2f} MiB   ({time.perf_counter() - start:.1f} s)")

    failed = [r.layer for r in rows if not r.ok]
    if total > MAX_TOTAL_BYTES:
        failed.append("total size")
    if failed:
        print("calibration FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
