"""Unit geometries left on disk until first used: `LazyGeometryArray`.

A national grid's numbers (areas, amounts, protected fractions) are what the gap
analysis, problem building, compile and the solvers read; its polygons are only drawn,
dissolved into parks or exported. Decoding 10 million WKB polygons into shapely objects
takes tens of seconds and about 300 bytes a unit, so `optimizer.grid.store.read_grid`
leaves them in ``units.parquet`` and puts a `LazyGeometryArray` in the geometry column.

The array is a `geopandas.array.GeometryArray` whose ``_data`` (the numpy array of
shapely objects every geometry method of geopandas goes through) is decoded on first
access, in chunks, from the file's WKB column. Anything that uses the shapes therefore
works unchanged and simply triggers the decode; what only moves rows around (``copy``,
``take``, boolean masks, slices, views, pickling) stays undecoded, so
``pu.units.loc[mask]``, ``pu.units.copy()`` or a `GapReport` holding
``pu.units.geometry`` cost nothing until a map, a dissolve or an export needs the
shapes. ``crs``, ``len`` and ``isna`` (when the file records no missing geometry) are
answered without decoding. `WkbSource` keeps the file open (on POSIX a grid folder
replaced or deleted after the read still reads as it was) and reads only the row groups
a selection needs.

Why not a lazy ``PlanningUnits.units`` property, or a frame without its geometry
column? Every caller reads ``pu.units`` (compile, results, parks, the app), so the frame
itself has to be there at once and has to be a complete GeoDataFrame; only the shapes
can wait. A GeometryArray subclass keeps that contract with one object to get right.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryArray

from optimizer.errors import InputDataError

__all__ = ["LazyGeometryArray", "WkbSource"]

#: Geometries decoded per shapely call (bounds the WKB bytes objects alive at once).
DECODE_CHUNK = 1 << 18


class WkbSource:
    """The WKB geometry column of an open Parquet file, read in whole or by rows.

    Parameters
    ----------
    source : str, path or pyarrow.NativeFile
        The Parquet file (opened and kept open), or an in-memory WKB array
        (`pyarrow.Array` or `pyarrow.ChunkedArray`, e.g. after unpickling).
    column : str
        The WKB column of the file.

    Examples
    --------
    >>> import pyarrow as pa, shapely
    >>> src = WkbSource(pa.array([shapely.box(0, 0, 1, 1).wkb, None]))
    >>> len(src), src.null_count
    (2, 1)
    >>> src.read(np.array([1, 0, -1])).to_pylist()[1] == shapely.box(0, 0, 1, 1).wkb
    True
    """

    def __init__(self, source: Any, column: str = "geometry") -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.column = column
        self._lock = threading.Lock()
        self._memory: Any = None
        self._file: Any = None
        if isinstance(source, pa.Array | pa.ChunkedArray):
            self._memory = source if isinstance(source, pa.ChunkedArray) else \
                pa.chunked_array([source])
            self._starts = np.array([0, len(source)], dtype=np.int64)
            self.null_count = int(source.null_count)
            return
        self._file = pq.ParquetFile(pa.OSFile(str(source)) if not isinstance(
            source, pa.NativeFile) else source)
        md = self._file.metadata
        sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        pos = self._file.schema_arrow.get_field_index(column)
        if pos < 0:
            raise KeyError(f"no column {column!r} in the Parquet file")
        leaf = self._file.schema.names.index(column)  # WKB is one leaf column
        nulls = 0
        for i in range(md.num_row_groups):
            stats = md.row_group(i).column(leaf).statistics
            if stats is None or not stats.has_null_count:
                nulls = -1  # unknown
                break
            nulls += stats.null_count
        self.null_count = nulls

    def __len__(self) -> int:
        return int(self._starts[-1])

    def read(self, rows: np.ndarray | None = None) -> Any:
        """WKB of ``rows`` (positions; -1 gives a missing geometry), or of every row.

        Returns a `pyarrow.ChunkedArray` of binary values; only the row groups holding
        ``rows`` are read from the file.
        """
        import pyarrow as pa

        with self._lock:
            if rows is None:
                return self._read_groups(None)
            rows = np.asarray(rows, dtype=np.int64)
            valid = rows[rows >= 0]
            groups = np.unique(np.searchsorted(self._starts, valid, side="right") - 1)
            col = self._read_groups(groups)
            # Position of each row in the concatenation of the groups read.
            shift = np.zeros(len(self._starts) - 1, dtype=np.int64)
            sizes = np.diff(self._starts)[groups]
            shift[groups] = self._starts[groups] - np.concatenate([[0], np.cumsum(sizes)[:-1]])
            pos = np.where(rows >= 0, rows - shift[np.searchsorted(
                self._starts, np.maximum(rows, 0), side="right") - 1], 0)
            index = pa.array(pos, mask=rows < 0)
            return col.take(index) if len(col) else pa.chunked_array(
                [pa.nulls(len(rows), col.type)])

    def decode(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Shapely geometries of ``rows`` (as `read`; default every row), decoded a row
        group at a time: the WKB of one group is alive at once, not the whole selection's.

        Examples
        --------
        >>> import pyarrow as pa, shapely
        >>> src = WkbSource(pa.array([shapely.box(0, 0, 1, 1).wkb, None]))
        >>> [g if g is None else g.area for g in src.decode(np.array([1, 0, -1]))]
        [None, 1.0, None]
        """
        if self._memory is not None:
            return _decode(self.read(rows))
        n_groups = len(self._starts) - 1
        if rows is None:
            out = np.empty(len(self), dtype=object)
            for g in range(n_groups):
                lo, hi = int(self._starts[g]), int(self._starts[g + 1])
                out[lo:hi] = _decode(self.read(np.arange(lo, hi, dtype=np.int64)))
            return out
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full(len(rows), None, dtype=object)
        valid = np.flatnonzero(rows >= 0)
        group = np.searchsorted(self._starts, rows[valid], side="right") - 1
        order = np.argsort(group, kind="stable")
        edges = np.searchsorted(group[order], np.arange(n_groups + 1))
        for g in range(n_groups):
            if edges[g] < edges[g + 1]:
                at = valid[order[edges[g]:edges[g + 1]]]
                out[at] = _decode(self.read(rows[at]))
        return out

    def _read_groups(self, groups: np.ndarray | None) -> Any:
        if self._memory is not None:
            return self._memory
        try:
            if groups is None:
                return self._file.read(columns=[self.column], use_threads=True).column(0)
            return self._file.read_row_groups(groups.tolist(), columns=[self.column],
                                              use_threads=True).column(0)
        except (OSError, ValueError) as exc:

            raise InputDataError(f"the units' geometry ({self.column!r}) is unreadable "
                                 f"({exc}); rebuild the grid") from None


def _decode(wkb: Any) -> np.ndarray:
    """Shapely geometries of a WKB `pyarrow.ChunkedArray`, decoded a chunk at a time."""
    import pyarrow as pa

    out = np.empty(len(wkb), dtype=object)
    pos = 0
    for chunk in wkb.chunks:
        if isinstance(chunk, pa.ExtensionArray):
            chunk = chunk.storage
        for off in range(0, len(chunk), DECODE_CHUNK):
            piece = chunk.slice(off, DECODE_CHUNK)
            out[pos:pos + len(piece)] = shapely.from_wkb(piece.to_numpy(zero_copy_only=False))
            pos += len(piece)
    return out


class _Shared:
    """The decoded geometries of one selection of rows, shared by the copies of an array
    (so a copy made for a map and the grid's own column decode once)."""

    __slots__ = ("geoms", "lock")

    def __init__(self) -> None:
        self.geoms: np.ndarray | None = None
        self.lock = threading.Lock()


class _State:
    """What views of one lazy array share: the source, the rows, the decoded geometries."""

    __slots__ = ("geoms", "lock", "rows", "shared", "source")

    def __init__(self, source: WkbSource | None, rows: np.ndarray | None,
                 geoms: np.ndarray | None = None, shared: _Shared | None = None) -> None:
        self.source, self.rows, self.geoms = source, rows, geoms
        self.shared = shared if shared is not None else _Shared()
        self.lock = threading.Lock()

    def __len__(self) -> int:
        if self.geoms is not None:
            return len(self.geoms)
        assert self.source is not None
        return len(self.source) if self.rows is None else len(self.rows)

    @property
    def loaded(self) -> bool:
        return self.geoms is not None or self.shared.geoms is not None

    def wkb(self) -> Any:
        assert self.source is not None
        return self.source.read(self.rows)

    def decode(self) -> np.ndarray:
        with self.lock:
            if self.geoms is None:
                shared = self.shared
                with shared.lock:
                    if shared.geoms is None:
                        assert self.source is not None
                        shared.geoms = self.source.decode(self.rows)
                self.geoms = shared.geoms
                self.source = self.rows = None  # the file is no longer needed
            return self.geoms


class LazyGeometryArray(GeometryArray):
    """A `GeometryArray` whose shapely objects are decoded from WKB on first use.

    Build one with `LazyGeometryArray.from_source`; ``LazyGeometryArray(data, crs)``
    with shapely objects behaves as a decoded `GeometryArray`. See the module docstring
    for what decodes and what does not.

    Examples
    --------
    >>> import pyarrow as pa, shapely
    >>> wkb = pa.array([shapely.box(0, 0, 2, 1).wkb, shapely.box(0, 0, 1, 1).wkb])
    >>> arr = LazyGeometryArray.from_source(WkbSource(wkb), crs="EPSG:3035")
    >>> sub = arr[np.array([False, True])]          # a mask: still WKB
    >>> arr.loaded, sub.loaded, len(sub), sub.crs.to_epsg()
    (False, False, 1, 3035)
    >>> float(arr.area.sum()), arr.loaded           # a geometry method decodes
    (3.0, True)
    """

    def __init__(self, data: Any, crs: Any | None = None) -> None:
        super().__init__(data, crs=crs)  # sets _data: a decoded state

    @classmethod
    def from_source(cls, source: WkbSource, crs: Any | None = None,
                    rows: np.ndarray | None = None) -> LazyGeometryArray:
        """The geometries of ``source`` (the ``rows`` of it, default all), undecoded."""
        return cls._lazy(_State(source, rows), crs)

    @classmethod
    def _lazy(cls, state: _State, crs: Any) -> LazyGeometryArray:
        out = cls.__new__(cls)
        out._state = state
        out._crs = None
        out.crs = crs
        out._sindex = None
        return out

    # ---------------------------------------------------------------- the decoded data

    @property
    def _data(self) -> np.ndarray:
        state = self._state
        return state.geoms if state.geoms is not None else state.decode()

    @_data.setter
    def _data(self, value: np.ndarray) -> None:
        self._state = _State(None, None, value)

    @property
    def loaded(self) -> bool:
        """Whether the geometries are decoded (False while they are only WKB; copies of
        an array share their decoded geometries)."""
        return self._state.loaded

    def __setitem__(self, key: Any, value: Any) -> None:
        state = self._state
        geoms = self._data
        if geoms is state.shared.geoms:  # shared with copies: take an own array first
            state.geoms = geoms.copy()
            state.shared = _Shared()
        super().__setitem__(key, value)

    # ---------------------------------------------------------------- without decoding

    def __len__(self) -> int:
        return len(self._state)

    @property
    def size(self) -> int:
        return len(self._state)

    @property
    def nbytes(self) -> int:
        return 8 * len(self._state)  # as for the decoded object array

    def isna(self) -> np.ndarray:
        state = self._state
        if not state.loaded and state.source is not None and state.source.null_count == 0:
            rows = state.rows
            return np.zeros(len(state), dtype=bool) if rows is None else rows < 0
        return super().isna()

    def copy(self, *args: Any, **kwargs: Any) -> GeometryArray:
        state = self._state
        if state.geoms is not None:
            return super().copy()
        return self._lazy(_State(state.source, state.rows, shared=state.shared), self._crs)

    def __deepcopy__(self, memo: dict) -> GeometryArray:
        return self.copy()

    def _rows_of(self, idx: np.ndarray) -> np.ndarray:
        """Source rows of positions ``idx`` (-1 stays -1: a missing geometry)."""
        rows = self._state.rows
        if rows is None:
            return idx
        return np.where(idx >= 0, rows[np.maximum(idx, 0)], -1)

    def take(self, indices: Any, allow_fill: bool = False, fill_value: Any = None) -> GeometryArray:
        if self._state.loaded or (allow_fill and not (fill_value is None
                                                                  or pd.isna(fill_value))):
            return super().take(indices, allow_fill=allow_fill, fill_value=fill_value)
        n = len(self)
        idx = np.asarray(indices, dtype=np.int64)
        if allow_fill:
            if (idx < -1).any():
                raise ValueError("take: indices below -1 with allow_fill=True")
            if idx.size and idx.max(initial=-1) >= n:
                raise IndexError("take: index out of bounds")
        else:
            if idx.size and (idx.max() >= n or idx.min() < -n):
                raise IndexError("take: index out of bounds")
            idx = np.where(idx < 0, idx + n, idx)
        return self._lazy(_State(self._state.source, self._rows_of(idx)), self._crs)

    def __getitem__(self, idx: Any) -> Any:
        state = self._state
        if state.loaded or np.isscalar(idx) or isinstance(idx, tuple):
            return super().__getitem__(idx)
        if isinstance(idx, slice):
            if idx == slice(None):  # a view: shares the state (and its decode)
                out = self._lazy(state, self._crs)
                out._sindex = self._sindex
                return out
            pos = np.arange(len(self))[idx]
        else:
            key = pd.api.indexers.check_array_indexer(self, idx)
            pos = np.flatnonzero(key) if key.dtype == bool else np.asarray(key, dtype=np.int64)
            n = len(self)
            if pos.size and (pos.max() >= n or pos.min() < -n):
                raise IndexError("index out of bounds")
            pos = np.where(pos < 0, pos + n, pos)
        return self._lazy(_State(state.source, self._rows_of(pos)), self._crs)

    # ---------------------------------------------------------------- pickling

    def __getstate__(self) -> Any:
        state = self._state
        if state.loaded:
            return super().__getstate__()
        # The WKB itself (not the open file): the copy decodes on its own first use.
        return {"wkb": state.wkb(), "crs": self._crs}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict) and "wkb" in state:
            self._state = _State(WkbSource(state["wkb"]), None)
            self._crs = state["crs"]
            self._sindex = None
            return
        super().__setstate__(state)
