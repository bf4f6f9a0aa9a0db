"""Whether a CRS preserves area: the one check the planning units need from the inputs.

Kept apart from `optimizer.inputs.layers` so that reading planning units (a Marxan project,
a grid) does not load the raster and vector stack (rasterio, pydantic) it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyproj

__all__ = ["is_equal_area"]


def is_equal_area(crs: pyproj.CRS) -> bool:
    """Whether a projected CRS preserves area (checked numerically at a few points).

    Examples
    --------
    >>> import pyproj
    >>> is_equal_area(pyproj.CRS("ESRI:54009")), is_equal_area(pyproj.CRS("EPSG:3857"))
    (True, False)
    """
    import pyproj  # loaded with ``crs``; imported here so reading a Marxan project needs it not

    if crs.is_geographic:
        return False
    try:
        area = crs.area_of_use
        if area is not None:
            lons = np.linspace(area.west, area.east, 5)
            lats = np.linspace(max(area.south, -80), min(area.north, 80), 5)
        else:
            lons, lats = np.linspace(-170, 170, 5), np.linspace(-70, 70, 5)
        lon, lat = np.meshgrid(lons, lats)
        scale = np.asarray(pyproj.Proj(crs).get_factors(lon.ravel(), lat.ravel()).areal_scale)
    except (pyproj.exceptions.ProjError, RuntimeError):
        return False
    scale = scale[np.isfinite(scale)]
    return bool(scale.size) and bool(np.all(np.abs(scale - 1) < 1e-6))
