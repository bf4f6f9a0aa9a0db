"""Coverage-weighted raster sums per planning unit, shared by `optimizer.grid.build` and
`optimizer.io.prioritizr`.

One loop serves both: the units go in chunks; each chunk gets the raster window under
it, the exact coverage matrix ``W`` of that window (`optimizer.grid.coverage`) and the true
area of its cells; the bands are read in blocks and every band sums with one sparse
product, ``W @ (value x cell weight)``. Memory follows the chunk and the band block,
not the size of the raster.

* `chunked_coverage` - the chunks, as `CoverageChunk` (units, window, ``W``, cell areas);
* `band_blocks` - a window's bands, a block at a time, with the cells holding data;
* `raster_sums` - the amounts, valid and covered areas of every band per unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio.windows
import scipy.sparse as sp
import shapely

from optimizer.grid.coverage import Window, coverage_matrix, window_for_bounds
from optimizer.inputs.layers import RasterInfo, cell_areas_km2, check_values, read_window, valid_mask


@dataclass(frozen=True)
class CoverageChunk:
    """A chunk of units and the raster cells under it.

    Attributes
    ----------
    units : numpy.ndarray
        Positions of the chunk's units.
    window : Window
        The raster block under them.
    weights : scipy.sparse.csr_matrix
        Coverage fractions, units x cells of ``window`` (row-major).
    cell_km2 : numpy.ndarray
        True area of each cell of ``window`` (km2, row-major).
    """

    units: np.ndarray
    window: Window
    weights: sp.csr_matrix
    cell_km2: np.ndarray

    def cell_weight(self) -> np.ndarray:
        """Coverage summed over the chunk's units, per cell (0: no unit covers it)."""
        return np.asarray(self.weights.sum(axis=0)).ravel()


#: Bands read at once: bounds the memory of a window of a many-band raster.
BAND_BLOCK = 32


def chunked_coverage(
    geoms: np.ndarray, info: RasterInfo, chunk_units: int, *,
    progress: Callable[[], None] | None = None,
) -> Iterator[CoverageChunk]:
    """The coverage of a raster by polygons, a chunk of ``chunk_units`` polygons at a time.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        The units, in the raster's CRS.
    info : RasterInfo
        The raster (its CRS, transform and shape).
    chunk_units : int
        Units per chunk; bounds the window and the coverage matrix.
    progress : callable, optional
        Called once at the start of every chunk, including those that yield nothing.

    Yields
    ------
    CoverageChunk
        One per chunk that covers at least one raster cell, in unit order.
    """
    n = len(geoms)
    gb = shapely.bounds(geoms)
    for s in range(0, n, chunk_units):
        if progress is not None:
            progress()
        idx = np.arange(s, min(s + chunk_units, n))
        cb = gb[idx]
        win = window_for_bounds(info.transform, info.width, info.height,
                                (cb[:, 0].min(), cb[:, 1].min(), cb[:, 2].max(), cb[:, 3].max()))
        if win is None:
            continue
        w = coverage_matrix(geoms[idx], info.crs, info.transform, win)
        if w.nnz == 0:
            continue
        area = cell_areas_km2(info.crs, info.transform, win.rows(), win.cols()).ravel()
        yield CoverageChunk(idx, win, w, area)


def band_blocks(path: Path, info: RasterInfo, window: Window, block: int = BAND_BLOCK
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The bands of ``window``, ``block`` bands at a time.

    Yields
    ------
    start : int
        Position (0-based) of the block's first band in ``info.bands``.
    values : numpy.ndarray
        Bands x cells (row-major), in the file's data type.
    valid : numpy.ndarray of bool
        Bands x cells: the cells holding data (`optimizer.inputs.layers.valid_mask`).
    """
    rio_win = rasterio.windows.Window(window.col_off, window.row_off, window.width, window.height)
    for start in range(0, len(info.bands), block):
        bands = info.bands[start:start + block]
        values, mask = read_window(path, bands, rio_win)
        flat = values.reshape(len(bands), -1)
        ok = valid_mask(info, flat, None if mask is None else np.broadcast_to(mask.ravel(),
                                                                              flat.shape))
        yield start, flat, ok


def cell_amounts(values: np.ndarray, cell_km2: np.ndarray, *, per_area: bool,
                 factor: float = 1.0) -> np.ndarray:
    """Amounts held by raster cells: ``values`` (cells x bands) x ``factor``, times each
    cell's true area ``cell_km2`` when the values are per area (densities, fractions)."""
    if not per_area:
        return values * factor
    return values * (cell_km2[:, None] * factor)


@dataclass(frozen=True)
class RasterSums:
    """What `raster_sums` returns.

    Attributes
    ----------
    amount : numpy.ndarray
        Units x bands: ``sum_c w_uc v_cb m_c`` (``m_c`` the cell weight of `cell_amounts`).
    valid_km2 : numpy.ndarray
        Units x bands: area of each unit over cells holding data in that band.
    covered_km2 : numpy.ndarray
        Per unit: area over the raster's cells (0 outside the raster).
    nodata_share : float
        Share of the covered cells x bands (coverage-weighted) holding no data.
    overlaps : bool
        Whether any unit covers any cell of the raster.
    """

    amount: np.ndarray
    valid_km2: np.ndarray
    covered_km2: np.ndarray
    nodata_share: float
    overlaps: bool


def raster_sums(
    geoms: np.ndarray, path: Path, info: RasterInfo, *, per_area: bool, factor: float = 1.0,
    chunk_units: int, check: bool = False, progress: Callable[[], None] | None = None,
) -> RasterSums:
    """Coverage-weighted sums of every band of a raster over polygons.

    Cells without data count 0. A unit's amount of band b is ``sum_c w_uc v_cb m_c``
    with ``w_uc`` the exact share of cell c inside unit u, ``v_cb`` the value and
    ``m_c = factor`` (``per_area=False``) or ``factor x`` the cell's true area in km2.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        The units, in the raster's CRS.
    path : Path
        The raster file.
    info : RasterInfo
        The raster, as `optimizer.inputs.layers.open_raster` opened it.
    per_area, factor
        The cell weight, as in `cell_amounts`.
    chunk_units : int
        Units per coverage window.
    check : bool
        Check the values under the units (`optimizer.inputs.layers.check_values`), band by band.
    progress : callable, optional
        Called at the start of every chunk.

    Returns
    -------
    RasterSums
    """
    n, nb = len(geoms), len(info.bands)
    amount = np.zeros((n, nb))
    valid_km2 = np.zeros((n, nb))
    covered_km2 = np.zeros(n)
    covered = nodata = 0.0
    overlaps = False
    for chunk in chunked_coverage(geoms, info, chunk_units, progress=progress):
        overlaps = True
        w, idx, area = chunk.weights, chunk.units, chunk.cell_km2
        weight = chunk.cell_weight()
        covered_km2[idx] = w @ area
        for start, values, ok in band_blocks(path, info, chunk.window):
            bands = slice(start, start + len(values))
            if check:
                for vals, ok_b in zip(values, ok, strict=True):
                    check_values(info, vals, ok_b & (weight > 0))
            v = np.where(ok, values, 0).astype(np.float64).T  # cells x bands
            amount[idx, bands] = w @ cell_amounts(v, area, per_area=per_area, factor=factor)
            valid_km2[idx, bands] = w @ (area[:, None] * ok.T)
            covered += float(weight.sum()) * len(values)
            nodata += float(weight @ (~ok).sum(axis=0))
    share = nodata / covered if covered else 0.0
    return RasterSums(amount, valid_km2, covered_km2, share, overlaps)
