"""Polygons over planning units: the share of each unit's area a polygon file covers.

What polygon locks read (a mining concession, a planned road corridor: ``[[locks.locked_out]]
file = "concessions.gpkg"``) without rebuilding the grid:

* `check_polygon_file` - the cheap checks before any work: the file exists and opens, the
  layer is in it (the nearest names offered), it holds features and it has a CRS.
* `read_polygons` - the polygons, read with `optimizer.inputs.layers.read_vector` (a file
  without a CRS refused in one line; invalid geometries repaired with ``shapely.make_valid``
  and a `GeometryRepairWarning`; points and lines dropped, none left refused).
* `covered_shares` - per unit, the share of its area inside the polygons, vectorised: the
  polygons reprojected to the grid's CRS and dissolved (overlaps count once), the unit
  geometries queried through a ``shapely.STRtree`` (units wholly inside counted whole, the
  others intersected), the areas summed per unit with ``numpy.bincount``; no Python loop
  over units.
* `polygon_shares` - all of it for one file: a `PolygonShares`.
* `grid_key` - a content key of a grid's units, for caches of per-unit results.

geopandas, pyogrio and shapely are imported where used: `optimizer.model.locks` names
`PolygonShares` for type checkers only, and `carbonpark marxan` loads neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import CRSError, CRSWarning, InputDataError, did_you_mean
from optimizer.inputs.layers import read_vector

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits

__all__ = ["OVERLAY_VERSION", "PolygonShares", "check_polygon_file", "covered_shares",
           "grid_key", "polygon_shares", "read_polygons", "warn_if_uncovered"]

#: Version of the share computation, part of every cache key of its results: raised when
#: the numbers it gives for the same file and grid change, so old caches are not reused.
OVERLAY_VERSION = 1

_FIX_CRS = "set its CRS (e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg) and give that file"


@dataclass(frozen=True)
class PolygonShares:
    """The share (0-1) of each unit's area that a polygon file covers, in unit order.

    ``source`` and ``layer`` name the file (for labels and messages).
    """

    share: np.ndarray
    source: str
    layer: str | None = None

    @property
    def label(self) -> str:
        """The file (and layer) as locks and summaries name it."""
        return self.source + (f" (layer {self.layer!r})" if self.layer else "")


def check_polygon_file(path: str | os.PathLike[str], *, layer: str | None = None,
                       name: str | None = None) -> None:
    """The checks of a polygon file that need no geometry read: before any work.

    Parameters
    ----------
    path : str or PathLike
        A vector file GDAL reads (GeoPackage, Shapefile, GeoJSON, ...).
    layer : str, optional
        The layer to read (default: the file's first and only layer).
    name : str, optional
        How messages name the file (default: ``path``).

    Raises
    ------
    InputDataError
        The file is missing, unreadable, has no such layer (the nearest names offered),
        several layers and none named, or no features.
    CRSError
        The file has no CRS.

    Examples
    --------
    >>> check_polygon_file("no/such/concessions.gpkg")
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: no/such/concessions.gpkg: file not found; check the path ...
    """
    import pyogrio  # the GIS stack where used (module docstring)
    import pyogrio.errors

    p = Path(path)
    shown = name or str(p)
    if not p.exists():
        raise InputDataError(f"{shown}: file not found; check the path (a scenario's paths "
                             "are relative to the scenario file's folder)")
    if p.is_dir() and p.suffix.lower() != ".gdb":
        raise InputDataError(f"{shown}: is a folder; give the polygon file (.gpkg, .shp, "
                             ".geojson)")
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(p)]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputDataError(f"{shown}: cannot be read as a vector file ({first}); give a "
                             "GeoPackage, Shapefile or GeoJSON of polygons") from None
    if layer is not None and layer not in layers:
        raise InputDataError(f"{shown}: no layer {layer!r}; its layers: {layers}"
                             f"{did_you_mean(layer, layers)}")
    if layer is None and len(layers) > 1:
        raise InputDataError(f"{shown}: holds {len(layers)} layers {layers}; name one with "
                             "layer = \"...\"")
    try:
        info = pyogrio.read_info(p, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputDataError(f"{shown}: cannot be read ({first}); check that it is a valid, "
                             "complete vector file") from None
    if not info.get("features"):
        raise InputDataError(f"{shown}: holds no features{f' in layer {layer!r}' if layer else ''}"
                             "; give a file with the polygons to lock")
    if not info.get("crs"):
        raise CRSError(f"{shown}: has no CRS, so its polygons cannot be placed on the grid; "
                       f"{_FIX_CRS}")


def read_polygons(path: str | os.PathLike[str], *, layer: str | None = None,
                  name: str | None = None) -> Any:
    """The polygons of a file as a GeoDataFrame (checked by `check_polygon_file` first).

    Invalid geometries are repaired with ``shapely.make_valid`` (a `GeometryRepairWarning`
    says how many): a self-crossing concession outline keeps the area it draws, where
    refusing it would send the planner to a GIS for a fix the library can make.
    """
    check_polygon_file(path, layer=layer, name=name)
    return read_vector(Path(path), name=name or str(path), layer=layer)


def covered_shares(pu: PlanningUnits, polygons: Any) -> np.ndarray:
    """The share (0-1) of each unit's area inside ``polygons``, in unit order.

    Parameters
    ----------
    pu : PlanningUnits
        Units with geometry and a CRS.
    polygons : GeoDataFrame or GeoSeries
        Polygons with a CRS, reprojected to the grid's CRS; overlapping polygons count
        once (they are dissolved first).

    Returns
    -------
    numpy.ndarray
        Area of (unit ∩ polygons) / area of the unit, both measured in the grid's CRS
        (equal-area for grids `optimizer.grid.build.build_grid` makes); 0 for a unit of
        no area.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()  # 1 km cells; the first row spans x from 0 to 3000 m
    >>> road = gpd.GeoSeries([shapely.box(0, -1000, 1600, 0)], crs=pu.units.crs)
    >>> covered_shares(pu, road).round(3).tolist()
    [1.0, 0.6, 0.0, 0.0, 0.0, 0.0]
    """
    import shapely  # the GIS stack where used (module docstring)

    if polygons.crs is None:
        raise CRSError(f"the lock polygons have no CRS; {_FIX_CRS}")
    units = pu.units
    if units.crs is None or units.geometry.isna().any():
        raise InputDataError("these planning units have no geometry (they came from tables), "
                             "so polygons cannot be laid over them; give a grid with geometry "
                             "(`carbonpark grid`) or lock units by column or ids")
    geoms = np.asarray(polygons.to_crs(units.crs).geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    cells = np.asarray(units.geometry.values, dtype=object)
    out = np.zeros(len(cells))
    if not geoms.size:
        return out
    parts = shapely.get_parts(shapely.union_all(geoms))  # disjoint: overlaps count once
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons (a dissolve can leave lines)
    if not parts.size:
        return out
    shapely.prepare(parts)  # the predicates below test many cells against each part
    part_idx, unit_idx = shapely.STRtree(cells).query(parts, predicate="intersects")
    area = shapely.area(cells)
    # Units wholly inside a part are covered whole; only the others are intersected (the
    # intersection with a large dissolved polygon is the costly step).
    whole = shapely.contains_properly(parts[part_idx], cells[unit_idx])
    inside = area[unit_idx].copy()
    cut = ~whole
    inside[cut] = shapely.area(shapely.intersection(cells[unit_idx[cut]], parts[part_idx[cut]]))
    covered = np.bincount(unit_idx, weights=inside, minlength=len(cells))
    np.divide(covered, area, out=out, where=area > 0)
    return np.clip(out, 0.0, 1.0)


def polygon_shares(pu: PlanningUnits, path: str | os.PathLike[str], *, layer: str | None = None,
                   name: str | None = None) -> PolygonShares:
    """The share of each unit's area a polygon file covers (`read_polygons`, `covered_shares`).

    Parameters
    ----------
    pu : PlanningUnits
        Units with geometry and a CRS.
    path : str or PathLike
        Any vector file GDAL reads (GeoPackage, Shapefile, GeoJSON, ...), in any CRS: its
        polygons are reprojected to the grid's.
    layer : str, optional
        The layer of a file that holds several.
    name : str, optional
        How messages and labels name the file (default: ``path``).

    Returns
    -------
    PolygonShares
        Give it to ``Problem.add_locked_out(shares=...)`` (or ``add_locked_in``).

    Raises
    ------
    InputDataError, CRSError
        As `check_polygon_file`.
    """
    gdf = read_polygons(path, layer=layer, name=name)
    shares = PolygonShares(covered_shares(pu, gdf), name or str(path), layer)
    warn_if_uncovered(shares)
    return shares


def warn_if_uncovered(shares: PolygonShares) -> None:
    """A `CRSWarning` when the polygons cover no unit at all: most often a file whose CRS
    is not its coordinates' (its polygons land elsewhere), and the lock would lock nothing."""
    if not np.any(shares.share > 0):
        warnings.warn(f"{shares.label}: its polygons cover no unit of the grid, so the lock "
                      "locks nothing; check that the file's CRS is the one its coordinates "
                      "are in (a wrong CRS places them elsewhere)", CRSWarning, stacklevel=3)


def grid_key(pu: PlanningUnits) -> str:
    """A content key of the units' geometry (SHA-256 hex), for caches of per-unit results.

    It hashes the CRS, the ids, areas and perimeters, and either the square grid's
    definition (origin, cell size: the cells follow from them) or each unit's bounds.
    """
    import shapely  # the GIS stack where used (module docstring)

    units = pu.units
    h = hashlib.sha256()
    h.update(str(pu.meta.get("crs_wkt") or units.crs).encode())
    square = pu.meta.get("square_grid")
    h.update(json.dumps(square, sort_keys=True, default=str).encode())
    ids = units["pu_id"]
    h.update(np.ascontiguousarray(ids.to_numpy(dtype=np.int64)).tobytes()
             if ids.dtype.kind in "iu" else ids.astype(str).str.cat(sep="\x1f").encode())
    for col in ("area_km2", "perimeter_km"):
        h.update(np.ascontiguousarray(units[col].to_numpy(dtype=float)).tobytes())
    if square is None:
        h.update(np.ascontiguousarray(shapely.bounds(
            np.asarray(units.geometry.values, dtype=object))).tobytes())
    return h.hexdigest()
