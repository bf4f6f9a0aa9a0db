"""Geometry of planning units: square cells over a study area, and the boundary table.

* `square_cells` - square cells of a given size in an equal-area CRS, on grid lines
  through a chosen origin, clipped to the study-area outline (edge cells keep their
  true clipped shape); `SquareGrid` describes the grid as a raster;
* `boundary_table` - the edge length each pair of neighbouring units shares and each
  unit's exposed perimeter, from cell indices on square grids (exact geometry only
  where a cell was clipped) and from the polygons otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

from optimizer.errors import InputDataError
from optimizer.inputs.layers import polygonal_part


@dataclass(frozen=True)
class SquareGrid:
    """Geometry of a square-cell grid: origin (top-left), cell size (m), shape."""

    x0: float
    y0: float
    cell_m: float
    nrows: int
    ncols: int

    @property
    def transform(self) -> Affine:
        """Geotransform of the grid as a raster."""
        return Affine(self.cell_m, 0, self.x0, 0, -self.cell_m, self.y0)

    @property
    def cell_km2(self) -> float:
        """Area of a full cell."""
        return (self.cell_m / 1000) ** 2


def square_grid(
    outline: shapely.Geometry, cell_km: float, origin: tuple[float, float] | None = None
) -> SquareGrid:
    """The square grid of ``cell_km`` cells whose extent covers ``outline``.

    The grid lines pass through ``origin`` (default (0, 0)), so grids of the same cell
    size and origin align.

    Examples
    --------
    >>> import shapely
    >>> g = square_grid(shapely.box(500, 500, 25_500, 10_500), 10)
    >>> g.nrows, g.ncols, g.x0, g.y0
    (2, 3, 0.0, 20000.0)
    """
    if not cell_km > 0:
        raise InputDataError(f"cell_km must be positive; got {cell_km!r}")
    size = cell_km * 1000.0
    xmin, ymin, xmax, ymax = shapely.bounds(outline)
    ox, oy = origin if origin is not None else (0.0, 0.0)
    x0 = ox + np.floor((xmin - ox) / size) * size
    y1 = oy + np.ceil((ymax - oy) / size) * size
    ncols = int(np.ceil((xmax - x0) / size))
    nrows = int(np.ceil((y1 - ymin) / size))
    if nrows * ncols > 400_000_000:
        raise InputDataError(f"cell_km={cell_km} gives a {nrows}x{ncols} grid over the study "
                             "area; choose a larger cell size")
    return SquareGrid(float(x0), float(y1), size, nrows, ncols)


def square_cells(
    outline: shapely.Geometry, cell_km: float, origin: tuple[float, float] | None = None
) -> tuple[SquareGrid, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Square cells of ``cell_km`` covering ``outline`` (in an equal-area CRS, metres).

    Cells wholly inside are plain squares; cells on the outline are clipped to it.
    The grid lines pass through ``origin`` (default (0, 0)), so grids of the same
    cell size and origin align; pass a raster's corner to align cells with its pixels.

    Returns
    -------
    grid : SquareGrid
    rows, cols : numpy.ndarray
        Row and column of each kept cell (row-major order).
    geoms : numpy.ndarray
        Cell geometries (clipped on the edge).
    clipped : numpy.ndarray of bool
        Whether each cell was clipped.
    """
    grid = square_grid(outline, cell_km, origin)
    return (grid, *grid_cells(outline, grid))


def grid_cells(
    outline: shapely.Geometry, grid: SquareGrid, row_start: int = 0, row_stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells of ``grid`` in rows ``row_start`` to ``row_stop`` (excluded) over ``outline``.

    A band of rows gives exactly the cells (and geometries) the whole grid has in those
    rows, so a grid can be built band by band: the test of which cells are inside or on
    the edge looks one row beyond the band, and edge cells are clipped against the
    outline cut to fixed 32 x 32-cell tiles of the grid, whatever the band.

    Returns
    -------
    rows, cols : numpy.ndarray
        Row and column of each kept cell (row-major order).
    geoms : numpy.ndarray
        Cell geometries (clipped on the edge).
    clipped : numpy.ndarray of bool
        Whether each cell was clipped.

    Examples
    --------
    >>> import shapely
    >>> g = square_grid(shapely.box(500, 500, 25_500, 10_500), 10)
    >>> rows, cols, geoms, clipped = grid_cells(shapely.box(500, 500, 25_500, 10_500), g, 1, 2)
    >>> rows.tolist(), cols.tolist(), clipped.tolist()
    ([1, 1, 1], [0, 1, 2], [True, True, True])
    """
    stop = grid.nrows if row_stop is None else min(row_stop, grid.nrows)
    start = max(row_start, 0)
    if stop <= start:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=object), np.zeros(0, dtype=bool)
    # One row of margin each side: the dilation of the edge band looks at neighbours.
    lo, hi = max(start - 1, 0), min(stop + 1, grid.nrows)
    shape = (hi - lo, grid.ncols)
    transform = grid.transform * Affine.translation(0, lo)
    centre_in = rasterio.features.rasterize([(outline, 1)], out_shape=shape, transform=transform,
                                            fill=0, all_touched=False, dtype="uint8").astype(bool)
    edge = rasterio.features.rasterize([(outline.boundary, 1)], out_shape=shape,
                                       transform=transform, fill=0, all_touched=True,
                                       dtype="uint8").astype(bool)
    # Rasterised lines can miss a cell they graze: widen the band we clip exactly.
    edge = ndimage.binary_dilation(edge, iterations=1)
    centre_in, edge = centre_in[start - lo:stop - lo], edge[start - lo:stop - lo]
    size = grid.cell_m
    rows_in, cols_in = np.nonzero(centre_in & ~edge)
    rows_e, cols_e = np.nonzero(edge)
    rows_in, rows_e = rows_in + start, rows_e + start
    edge_geoms = _clip_cells(grid, rows_e, cols_e, outline)
    keep = ~shapely.is_empty(edge_geoms) & (shapely.area(edge_geoms) > 1e-9 * size * size)
    rows = np.concatenate([rows_in, rows_e[keep]])
    cols = np.concatenate([cols_in, cols_e[keep]])
    full = _boxes(grid, rows_in, cols_in)
    geoms = np.concatenate([full, edge_geoms[keep]])
    clipped = np.concatenate([np.zeros(rows_in.size, bool), np.ones(int(keep.sum()), bool)])
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], geoms[order], clipped[order]


def _boxes(grid: SquareGrid, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    x = grid.x0 + cols * grid.cell_m
    y = grid.y0 - rows * grid.cell_m
    return shapely.box(x, y - grid.cell_m, x + grid.cell_m, y)


def _clip_cells(
    grid: SquareGrid, rows: np.ndarray, cols: np.ndarray, outline: shapely.Geometry
) -> np.ndarray:
    """Intersect edge cells with the outline, tile by tile (a complex outline is
    first cut to each tile, so no cell is intersected with the whole coastline)."""
    out = np.empty(rows.size, dtype=object)
    tile = 32
    keys = (rows // tile) * (grid.ncols // tile + 1) + cols // tile
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    for idx in np.split(order, bounds):
        if idx.size == 0:
            continue
        r, c = rows[idx], cols[idx]
        # The whole tile's rectangle, not just its cells': any band of rows clips a cell
        # against the same piece of outline, so banded builds match the whole build.
        tr, tc = (r[0] // tile) * tile, (c[0] // tile) * tile
        x0 = grid.x0 + tc * grid.cell_m
        x1 = grid.x0 + (tc + tile) * grid.cell_m
        y1 = grid.y0 - tr * grid.cell_m
        y0 = grid.y0 - (tr + tile) * grid.cell_m
        part = shapely.clip_by_rect(outline, x0, y0, x1, y1)
        out[idx] = shapely.intersection(_boxes(grid, r, c), part)
    return polygonal_part(out)


# ============================================================== boundary

def boundary_table(
    geoms: np.ndarray, *, square: SquareGrid | None = None, rows: np.ndarray | None = None,
    cols: np.ndarray | None = None, clipped: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shared edge lengths between neighbouring units and each unit's exposed perimeter.

    Parameters
    ----------
    geoms : numpy.ndarray
        Unit polygons in a metric CRS.
    square, rows, cols, clipped : optional
        For square grids: neighbours come from cell indices, and only pairs with a
        clipped cell need geometry.

    Returns
    -------
    i, j : numpy.ndarray
        Positional indices (i < j) of units sharing an edge.
    length_km : numpy.ndarray
        Shared edge length of each pair.
    exposed_km : numpy.ndarray
        Perimeter of each unit not shared with another unit.
    """
    n = len(geoms)
    perimeter = shapely.length(geoms) / 1000
    if square is not None:
        assert rows is not None and cols is not None and clipped is not None
        lookup = np.full((square.nrows + 1) * (square.ncols + 1), -1, dtype=np.int64)
        key = rows * (square.ncols + 1) + cols
        lookup[key] = np.arange(n)
        right = lookup[key + 1]
        down = lookup[key + square.ncols + 1]
        i = np.concatenate([np.arange(n)[right >= 0], np.arange(n)[down >= 0]])
        j = np.concatenate([right[right >= 0], down[down >= 0]])
        length = np.full(i.size, square.cell_m / 1000)
        exact = clipped[i] | clipped[j]
        if exact.any():
            length[exact] = _shared_length(geoms[i[exact]], geoms[j[exact]])
    else:
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        length = _shared_length(geoms[i], geoms[j])
    keep = length > 1e-9
    i, j, length = i[keep], j[keep], length[keep]
    order = np.lexsort((j, i))
    i, j, length = i[order], j[order], length[order]
    shared = np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
    exposed = np.clip(perimeter - shared, 0, None)
    exposed[np.abs(exposed) < 1e-9] = 0.0
    return i, j, length, exposed


def _shared_length(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return shapely.length(shapely.intersection(shapely.boundary(a), shapely.boundary(b))) / 1000
