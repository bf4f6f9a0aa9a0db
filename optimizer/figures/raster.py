"""Square grids drawn as rasters: where the raster sits, and its pixels, from ``row``/``col``.

A square grid (units with ``row`` and ``col`` columns) is a raster: a map of it needs no
unit polygon. `grid_placement` finds where the raster sits in the grid's CRS (extent, cell
size, which way the rows run) from the bounds of a handful of units (O(1) geometry reads:
a lazily read grid, `optimizer.grid.lazy_geometry`, decodes only those), so a national
grid of 10 million units is drawn without decoding its polygons. The other helpers are
vectorised over units:

* `unit_raster` - per-unit values as a 2-D array by ``row``/``col``;
* `rgba_image` - per-unit categories (or RGBA colours) as an RGBA image
  (``nrows x ncols x 4``, ``uint8``), what `matplotlib.axes.Axes.imshow` or a bitmap
  layer of a web map draws;
* `thinned` - every s-th row and column of a raster too large to draw cell by cell;
* `code_raster`, `outline_segments` - outlines of groups of units (regions, parks) as line
  segments along the cell edges where the group changes;
* `label_cells` - one point per group, at the centre of the group's cell nearest to the
  group's mean cell (always inside the group).

Used by `optimizer.figures.maps`; the app reuses them. matplotlib is imported only to read
colour names (`rgba_image`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

__all__ = [
    "LABEL_SAMPLE",
    "MAX_IMAGE_SIDE",
    "SAMPLE_UNITS",
    "GridPlacement",
    "code_raster",
    "grid_placement",
    "label_cells",
    "outline_segments",
    "rgba_image",
    "thinned",
    "unit_raster",
]

#: Units whose bounds `grid_placement` reads at most (the first and last full cells).
SAMPLE_UNITS = 64

#: The longest side, in cells, of the raster a map draws (`thinned`).
MAX_IMAGE_SIDE = 2000

#: Units `label_cells` reads at most for a group's label (every k-th unit beyond it).
LABEL_SAMPLE = 500_000


@dataclass(frozen=True)
class GridPlacement:
    """Where the ``row``/``col`` raster of a square grid sits in the grid's CRS.

    Attributes
    ----------
    x0, x1, y0, y1 : float
        The raster's extent (west, east, south, north edges), as matplotlib's ``extent``.
    cell_w, cell_h : float
        A cell's width and height in CRS units.
    origin : {"upper", "lower"}
        ``"upper"`` when row 0 is the northern edge (rows run south), ``"lower"`` when
        row 0 is the southern edge (matplotlib's ``origin``).
    nrows, ncols : int
        The raster's shape: ``row.max() + 1`` by ``col.max() + 1``.
    """

    x0: float
    x1: float
    y0: float
    y1: float
    cell_w: float
    cell_h: float
    origin: Literal["upper", "lower"]
    nrows: int
    ncols: int

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x0, x1, y0, y1)``: what ``imshow(..., extent=)`` takes."""
        return (self.x0, self.x1, self.y0, self.y1)

    @property
    def cell_size(self) -> float:
        """The cell's side (its width) in CRS units."""
        return self.cell_w

    def row_edge(self, row: np.ndarray | float) -> np.ndarray:
        """The y of the edge of ``row`` that row 0 starts at (its top when rows run
        south); ``row_edge(row + 1)`` is the other edge."""
        r = np.asarray(row, dtype=np.float64)
        return self.y1 - r * self.cell_h if self.origin == "upper" else self.y0 + r * self.cell_h

    def cell_centres(self, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) centres of the cells at ``row``, ``col``.

        Examples
        --------
        >>> p = GridPlacement(0.0, 20.0, 0.0, 10.0, 10.0, 10.0, "upper", 1, 2)
        >>> p.cell_centres(np.array([0]), np.array([1]))
        (array([15.]), array([5.]))
        """
        x = self.x0 + (np.asarray(col, dtype=np.float64) + 0.5) * self.cell_w
        y = (self.row_edge(row) + self.row_edge(np.asarray(row, dtype=np.float64) + 1)) / 2
        return x, y


def unit_raster(units: pd.DataFrame, values: np.ndarray, fill: Any = np.nan,
                dtype: Any = None, shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """Per-unit ``values`` as a 2-D array by the units' ``row`` and ``col`` (``fill``
    where no unit), or None when the units have no ``row``/``col`` (not a square grid).

    Parameters
    ----------
    units : pandas.DataFrame
        ``row`` and ``col`` per unit.
    values : numpy.ndarray
        One value per unit.
    fill : scalar
        The value of cells without a unit (default NaN).
    dtype : numpy dtype, optional
        The raster's dtype (default float64).
    shape : (int, int), optional
        The raster's shape (default ``row.max() + 1`` by ``col.max() + 1``).

    Examples
    --------
    >>> unit_raster(pd.DataFrame({"row": [0, 1], "col": [1, 0]}), np.array([5.0, 7.0]))
    array([[nan,  5.],
           [ 7., nan]])
    >>> unit_raster(pd.DataFrame({"row": [0], "col": [1]}), np.array([3]), fill=-1,
    ...             dtype=np.int32)
    array([[-1,  3]], dtype=int32)
    """
    if "row" not in units or "col" not in units:
        return None
    rows, cols = units["row"].to_numpy(), units["col"].to_numpy()
    if shape is None:
        shape = (int(rows.max()) + 1, int(cols.max()) + 1)
    grid = np.full(shape, fill, dtype=np.float64 if dtype is None else dtype)
    grid[rows, cols] = values
    return grid


def _sample(units: pd.DataFrame, k: int) -> np.ndarray:
    """Positions of at most ``k`` units whose bounds place the raster: full cells (the
    largest area, when ``area_km2`` is there; else any unit), the first and the last in
    the frame's order (on a built grid, row-major: the first and last row groups of
    ``units.parquet``, and cells of different rows)."""
    n = len(units)
    half = max(k // 2, 1)
    if "area_km2" in units:
        area = units["area_km2"].to_numpy(dtype=np.float64)
        top = np.nanmax(area) if np.isfinite(area).any() else np.nan
        if np.isfinite(top) and top > 0:
            full = np.flatnonzero(area >= top * (1 - 1e-6))
            if len(full):
                return np.unique(np.concatenate([full[:half], full[-half:]]))
    return np.unique(np.concatenate([np.arange(min(half, n)), np.arange(max(n - half, 0), n)]))


def grid_placement(units: pd.DataFrame, geometry: Any, *,
                   sample: int = SAMPLE_UNITS,
                   meta: dict[str, Any] | None = None) -> GridPlacement | None:
    """Where the ``row``/``col`` raster of a square grid sits, from the grid's record or a
    few units' bounds.

    With ``meta`` holding the grid's ``square_grid`` record (`carbonpark grid` stores its
    top-left corner ``x0``, ``y0`` and ``cell_m``; rows run south), the placement is that
    record's, and no geometry is read.

    Reads the bounds of at most ``sample`` units (full cells, by ``area_km2``: the first
    and the last of the frame): the cell size is the largest width and height among them,
    the west edge the least ``minx - col x width``, and the rows run south when ``row``
    falls as the cells' centres rise. A full cell's bounds give the placement every
    unit's bounds give (clipped edge cells only shrink inside their cell); a lazily read
    grid decodes only the units sampled (on a built grid, from two row groups).

    Parameters
    ----------
    units : pandas.DataFrame
        ``row`` and ``col`` per unit (``area_km2`` to pick full cells).
    geometry : geopandas.GeoSeries or GeometryArray
        The units' polygons, aligned with ``units``.
    sample : int
        Units read at most (default `SAMPLE_UNITS`).
    meta : dict, optional
        The grid's metadata (`PlanningUnits.meta`); its ``square_grid`` record, when
        present, places the raster exactly.

    Returns
    -------
    GridPlacement or None
        None when there is no geometry, no unit, or no ``row``/``col``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = pd.DataFrame({"row": [0, 0, 1], "col": [0, 1, 1]})
    >>> geom = gpd.GeoSeries([shapely.box(100, 20, 110, 30), shapely.box(110, 20, 120, 30),
    ...                       shapely.box(110, 10, 120, 20)])
    >>> p = grid_placement(units, geom)
    >>> p.extent, p.cell_size, p.origin, (p.nrows, p.ncols)
    ((100.0, 120.0, 10.0, 30.0), 10.0, 'upper', (2, 2))
    >>> record = {"square_grid": {"x0": 100.0, "y0": 30.0, "cell_m": 10.0}}
    >>> grid_placement(units, None, meta=record) == p
    True
    """
    if len(units) == 0 or "row" not in units or "col" not in units:
        return None
    record = (meta or {}).get("square_grid")
    if record:
        nrows, ncols = int(units["row"].max()) + 1, int(units["col"].max()) + 1
        side, x0, ytop = float(record["cell_m"]), float(record["x0"]), float(record["y0"])
        return GridPlacement(x0, x0 + ncols * side, ytop - nrows * side, ytop, side, side,
                             "upper", nrows, ncols)
    if geometry is None or len(geometry) == 0:
        return None
    pos = _sample(units, sample)
    values = getattr(geometry, "values", geometry)
    b = shapely.bounds(np.asarray(values[pos]))  # only these units are decoded
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return None
    b, pos = b[ok], pos[ok]
    row_all, col_all = units["row"].to_numpy(), units["col"].to_numpy()
    nrows, ncols = int(row_all.max()) + 1, int(col_all.max()) + 1
    row = row_all[pos].astype(np.float64)
    col = col_all[pos].astype(np.float64)
    w = float((b[:, 2] - b[:, 0]).max())
    h = float((b[:, 3] - b[:, 1]).max())
    x0 = float((b[:, 0] - col * w).min())
    cy = (b[:, 1] + b[:, 3]) / 2
    south = len(np.unique(row)) < 2 or np.corrcoef(row, cy)[0, 1] <= 0  # row 0 north
    if south:
        ytop = float((b[:, 3] + row * h).max())
        return GridPlacement(x0, x0 + ncols * w, ytop - nrows * h, ytop, w, h, "upper",
                             nrows, ncols)
    ybot = float((b[:, 1] - row * h).min())
    return GridPlacement(x0, x0 + ncols * w, ybot, ybot + nrows * h, w, h, "lower", nrows, ncols)


def _rgba(colours: Any) -> np.ndarray:
    """Colours (names, hex, RGB(A) tuples in [0, 1] or an (n, 3|4) uint8 array) as an
    (n, 4) uint8 array."""
    arr = np.asarray(colours) if not isinstance(colours, (list, tuple)) else None
    if arr is not None and arr.dtype == np.uint8 and arr.ndim == 2:
        if arr.shape[1] == 3:
            arr = np.column_stack([arr, np.full(len(arr), 255, dtype=np.uint8)])
        return arr
    from matplotlib.colors import to_rgba_array  # matplotlib where used (module docstring)

    return np.round(to_rgba_array(list(colours)) * 255).astype(np.uint8)


def rgba_image(units: pd.DataFrame, values: np.ndarray, colours: Sequence[Any] | None = None,
               *, placement: GridPlacement | None = None, north_up: bool = False,
               background: Sequence[int] = (0, 0, 0, 0),
               shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """Per-unit categories (or colours) as an RGBA image of the grid, ``uint8``.

    Parameters
    ----------
    units : pandas.DataFrame
        ``row`` and ``col`` per unit.
    values : numpy.ndarray
        Either one integer code per unit (an index into ``colours``; a negative code is
        drawn as ``background``), or one RGBA colour per unit (``n x 4`` ``uint8``).
    colours : sequence, optional
        The colour of each code (matplotlib colours or an ``(k, 4)`` ``uint8`` array);
        required with codes.
    placement : GridPlacement, optional
        With ``north_up=True``, the image is flipped when the grid's rows run north.
    north_up : bool
        Make image row 0 the northern edge (what a web map's bitmap layer wants).
    background : sequence of int
        The RGBA of cells without a unit (default transparent).
    shape : (int, int), optional
        The image's rows and columns (default ``row.max() + 1`` by ``col.max() + 1``).

    Returns
    -------
    numpy.ndarray or None
        ``nrows x ncols x 4`` ``uint8`` (image row ``r`` is grid row ``r`` unless
        flipped); None when the units have no ``row``/``col``.

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 1], "col": [0, 1]})
    >>> img = rgba_image(units, np.array([0, 1]), ["#ff0000", "#0000ff"])
    >>> img.shape, img.dtype, img[0, 0].tolist(), img[1, 1].tolist(), img[0, 1].tolist()
    ((2, 2, 4), dtype('uint8'), [255, 0, 0, 255], [0, 0, 255, 255], [0, 0, 0, 0])
    """
    if "row" not in units or "col" not in units:
        return None
    values = np.asarray(values)
    rows, cols = units["row"].to_numpy(), units["col"].to_numpy()
    nrows, ncols = shape if shape is not None else (int(rows.max()) + 1, int(cols.max()) + 1)
    # One uint32 per pixel (its four bytes are the RGBA), written through a flat index.
    flat = np.empty(nrows * ncols, dtype=np.uint32)
    flat[:] = np.asarray(background, dtype=np.uint8).view(np.uint32)[0]
    at = rows.astype(np.int64) * ncols + cols
    if values.ndim == 2:
        flat[at] = np.ascontiguousarray(values, dtype=np.uint8).view(np.uint32).ravel()
    else:
        if colours is None:
            raise ValueError("rgba_image: codes need colours (one per code)")
        lut = np.ascontiguousarray(_rgba(colours)).view(np.uint32).ravel()
        # A code outside the colours (negative: none) is the background.
        lut = np.append(lut, flat[0]) if len(flat) else lut
        codes = values.astype(np.intp, copy=False)
        codes = np.where((codes >= 0) & (codes < len(lut) - 1), codes, len(lut) - 1)
        flat[at] = lut[codes]
    img = flat.view(np.uint8).reshape(nrows, ncols, 4)
    if north_up and placement is not None and placement.origin == "lower":
        img = img[::-1]
    return img


def thinned(units: pd.DataFrame, placement: GridPlacement, max_side: int = MAX_IMAGE_SIDE
            ) -> tuple[pd.DataFrame, np.ndarray | None, GridPlacement]:
    """The raster a map draws when the grid's longer side passes ``max_side`` cells: every
    s-th row and column (the least s that brings it within ``max_side``).

    A map rendered a few hundred pixels wide samples one cell per pixel anyway
    (``interpolation="nearest"``); drawing every s-th cell spares the renderer a raster
    of ten million cells converted to floats.

    Parameters
    ----------
    units : pandas.DataFrame
        ``row`` and ``col`` per unit.
    placement : GridPlacement
    max_side : int
        The longest side drawn, in cells (default `MAX_IMAGE_SIDE`).

    Returns
    -------
    (units, keep, placement)
        ``row``/``col`` of the kept units in the thinned raster, their positions in
        ``units`` (None when nothing is thinned: the inputs are returned), and the
        thinned raster's placement (cells s times as large; its shape and extent
        rounded up to whole thinned cells).

    Examples
    --------
    >>> p = GridPlacement(0.0, 30.0, 0.0, 10.0, 10.0, 10.0, "upper", 1, 3)
    >>> u, keep, q = thinned(pd.DataFrame({"row": [0, 0, 0], "col": [0, 1, 2]}), p, 2)
    >>> u["col"].tolist(), keep.tolist(), q.extent, (q.nrows, q.ncols)
    ([0, 1], [0, 2], (0.0, 40.0, -10.0, 10.0), (1, 2))
    """
    step = max(1, -(-max(placement.nrows, placement.ncols) // max(max_side, 1)))
    if step == 1:
        return units, None, placement
    row, col = units["row"].to_numpy(), units["col"].to_numpy()
    keep = np.flatnonzero((row % step == 0) & (col % step == 0))
    nrows, ncols = -(-placement.nrows // step), -(-placement.ncols // step)
    w, h = placement.cell_w * step, placement.cell_h * step
    x1 = placement.x0 + ncols * w
    if placement.origin == "upper":
        place = GridPlacement(placement.x0, x1, placement.y1 - nrows * h, placement.y1, w, h,
                              "upper", nrows, ncols)
    else:
        place = GridPlacement(placement.x0, x1, placement.y0, placement.y0 + nrows * h, w, h,
                              "lower", nrows, ncols)
    small = pd.DataFrame({"row": row[keep] // step, "col": col[keep] // step})
    return small, keep, place


def code_raster(units: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """Integer ``codes`` per unit as a 2-D int32 array by ``row``/``col`` (-1 where no unit).

    Examples
    --------
    >>> code_raster(pd.DataFrame({"row": [0, 1], "col": [1, 0]}), np.array([4, 2]))
    array([[-1,  4],
           [ 2, -1]], dtype=int32)
    """
    grid = unit_raster(units, np.asarray(codes), fill=-1, dtype=np.int32)
    assert grid is not None, "code_raster needs row and col"
    return grid


def outline_segments(grid: np.ndarray, placement: GridPlacement) -> np.ndarray:
    """The outlines of the groups of a code raster as line segments along cell edges.

    An edge is drawn where the codes on its two sides differ and at least one side is a
    group (code >= 0); the raster's border counts as code -1. Vectorised: one segment
    per cell edge, no loop over units.

    Parameters
    ----------
    grid : numpy.ndarray
        Codes by row and col (`code_raster`), -1 for none.
    placement : GridPlacement
        Where the raster sits (`grid_placement`).

    Returns
    -------
    numpy.ndarray
        ``(n, 2, 2)`` float64: each segment's two (x, y) ends, what
        `matplotlib.collections.LineCollection` takes.

    Examples
    --------
    >>> p = GridPlacement(0.0, 20.0, 0.0, 10.0, 10.0, 10.0, "upper", 1, 2)
    >>> seg = outline_segments(np.array([[0, 1]]), p)
    >>> len(seg)  # two squares: 4 + 4 edges, the shared one once
    7
    >>> len(outline_segments(np.array([[0, 0]]), p))
    6
    """
    g = np.pad(np.asarray(grid), 1, constant_values=-1)
    w = placement.cell_w
    # Vertical edges: between columns j and j + 1 of the padded raster (x = x0 + j w).
    diff = (g[:, :-1] != g[:, 1:]) & ((g[:, :-1] >= 0) | (g[:, 1:] >= 0))
    i, j = np.nonzero(diff)
    r = i - 1  # the raster row the edge belongs to
    x = placement.x0 + j * w
    ya, yb = placement.row_edge(r), placement.row_edge(r + 1)
    vert = np.stack([np.column_stack([x, ya]), np.column_stack([x, yb])], axis=1)
    # Horizontal edges: between rows i and i + 1 of the padded raster (row edge i).
    diff = (g[:-1, :] != g[1:, :]) & ((g[:-1, :] >= 0) | (g[1:, :] >= 0))
    i, j = np.nonzero(diff)
    y = placement.row_edge(i)
    xa = placement.x0 + (j - 1) * w
    horiz = np.stack([np.column_stack([xa, y]), np.column_stack([xa + w, y])], axis=1)
    return np.concatenate([vert, horiz]).astype(np.float64)


def label_cells(units: pd.DataFrame, codes: np.ndarray, k: int, placement: GridPlacement, *,
                sample: int = LABEL_SAMPLE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A label point per group: the centre of its cell nearest its mean cell.

    On grids of more than ``sample`` units the means and nearest cells are taken over
    every k-th unit (a label needs a cell of the group near its middle, not the exact
    one), and over all the units of the groups that sample misses (small groups).

    Parameters
    ----------
    units : pandas.DataFrame
        ``row`` and ``col`` per unit.
    codes : numpy.ndarray
        Group of each unit, ``0..k-1`` (-1: none).
    k : int
        Number of groups.
    placement : GridPlacement
    sample : int
        Units read at most for the groups the sample holds (default `LABEL_SAMPLE`).

    Returns
    -------
    (codes, x, y) : numpy.ndarray
        The groups that have units (ascending) and their label points.

    Examples
    --------
    >>> p = GridPlacement(0.0, 30.0, 0.0, 10.0, 10.0, 10.0, "upper", 1, 3)
    >>> label_cells(pd.DataFrame({"row": [0, 0, 0], "col": [0, 1, 2]}), np.array([0, 0, 1]),
    ...             2, p)
    (array([0, 1]), array([ 5., 25.]), array([5., 5.]))
    """
    codes = np.asarray(codes)
    row, col = units["row"].to_numpy(), units["col"].to_numpy()
    valid = codes >= 0
    every = bool(valid.all())
    present = np.flatnonzero(np.bincount(codes if every else codes[valid], minlength=k))
    step = max(1, -(-len(codes) // max(sample, 1)))
    found, rs, cs = _nearest(codes[::step], row[::step], col[::step], k)
    missing = np.setdiff1d(present, found)
    if len(missing):  # groups without a unit in the sample: all their units
        at = np.flatnonzero(np.isin(codes, missing))
        more, mr, mc = _nearest(codes[at], row[at], col[at], k)
        order = np.argsort(np.concatenate([found, more]), kind="stable")
        found = np.concatenate([found, more])[order]
        rs, cs = np.concatenate([rs, mr])[order], np.concatenate([cs, mc])[order]
    x, y = placement.cell_centres(rs, cs)
    return found, x, y


def _nearest(codes: np.ndarray, row: np.ndarray, col: np.ndarray, k: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group present in ``codes`` (-1: none), the row and col of its unit nearest its
    mean cell (ties: the first)."""
    ok = codes >= 0
    c = codes[ok].astype(np.intp, copy=False)
    r = row[ok].astype(np.float64)
    q = col[ok].astype(np.float64)
    count = np.bincount(c, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mr = np.bincount(c, weights=r, minlength=k) / count
        mc = np.bincount(c, weights=q, minlength=k) / count
    d = (r - mr[c]) ** 2 + (q - mc[c]) ** 2
    dmin = np.full(k, np.inf)
    np.minimum.at(dmin, c, d)
    at_min = np.flatnonzero(d == dmin[c])
    groups, pos = np.unique(c[at_min], return_index=True)
    first = at_min[pos]
    return groups, r[first], q[first]
