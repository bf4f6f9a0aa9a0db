"""Coordinate reference systems of a grid: the fitted equal-area CRS, the study area, reprojection.

* `fitted_albers` - an Albers equal-area conic fitted to a lon/lat box (the ``auto`` CRS).
* `resolve_crs` - the grid's CRS from the user's choice (an EPSG code, a CRS or ``auto``),
  refusing a CRS that does not preserve area.
* `read_study_area` - a study-area outline as one valid polygon and its CRS.
* `to_crs`, `lonlat_bounds` - geometries reprojected; an outline's lon/lat bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely

from optimizer.errors import CRSError, InputDataError
from optimizer.inputs.equal_area import is_equal_area
from optimizer.inputs.layers import read_vector, repair_geometries

__all__ = ["fitted_albers", "lonlat_bounds", "read_study_area", "resolve_crs", "to_crs"]


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


def resolve_crs(crs: str | int | pyproj.CRS | None, lonlat_bounds: Sequence[float]) -> pyproj.CRS:
    """The grid's CRS: ``crs`` checked to preserve area, or fitted to the bounds when ``auto``/None."""
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


def to_crs(geoms: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS) -> np.ndarray:
    """Geometries (an array) from ``src`` to ``dst`` (the same array when the CRSs are equal)."""
    if src == dst:
        return np.asarray(geoms)
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(np.asarray(geoms), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def lonlat_bounds(geom: shapely.Geometry, crs: pyproj.CRS) -> tuple[float, float, float, float]:
    """The longitude/latitude bounds (WGS 84) of one geometry in ``crs``."""
    g = to_crs(np.array([geom]), crs, pyproj.CRS(4326))[0]
    return tuple(float(v) for v in shapely.bounds(g))  # type: ignore[return-value]
