"""The locks of a problem: units forced into or kept out of every plan.

`LockMethods` holds the ``add_locked_*`` and ``add_existing_protection`` methods of
`optimizer.model.problem.Problem` (which inherits them): one concern, one file. Each
returns a new problem; `Problem.locked_masks` resolves the locks into masks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import InputDataError, did_you_mean
from optimizer.model.parts import DEFAULT_PA_THRESHOLD, Lock, finite_number

if TYPE_CHECKING:
    from optimizer.grid.overlay import PolygonShares
    from optimizer.model.problem import Problem

#: A unit is locked by a polygon file when at least this share of its area lies inside: the
#: majority rule. A unit half inside a concession is more concession than not; a lower share
#: would let a corridor's edge clip lock out cells that are mostly free, a higher one would
#: let units mostly inside stay selectable.
DEFAULT_MIN_SHARE = 0.5

#: The slack of ``min_share``: a unit within a millionth of its area of the threshold counts.
SHARE_TOLERANCE = 1e-6

__all__ = ["LockMethods"]


class LockMethods:
    """The lock methods of `optimizer.model.problem.Problem` (a mixin: no state of its own;
    ``self`` is the problem, typed ``Any`` because a mixin cannot name its subclass)."""

    def add_existing_protection(self: Any, pa_threshold: float | None = DEFAULT_PA_THRESHOLD
                                ) -> Problem:
        """Lock in units whose protected fraction is at least ``pa_threshold``.

        Partial protection always counts as held; ``pa_threshold=None`` locks in none.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_existing_protection(pa_threshold=0.5)
        >>> p.existing_protection_mask().tolist()
        [True, False, False, False, False, False]
        """
        if pa_threshold is not None:
            pa_threshold = finite_number(pa_threshold, "pa_threshold")
            if not 0.0 < pa_threshold <= 1.0:
                raise InputDataError(f"pa_threshold must be in (0, 1]; got {pa_threshold}")
        return dataclasses.replace(self, pa_threshold=pa_threshold, _cache=self._cache)

    def add_locked_in(self: Any, *, column: str | None = None, mask: Any = None,
                      ids: Sequence[Any] | None = None, shares: PolygonShares | Any = None,
                      min_share: float | None = None, label: str | None = None) -> Problem:
        """Force units into the solution: by a 0/1 column, a boolean mask, a list of ``pu_id``
        or the share of each unit a polygon file covers.

        Parameters
        ----------
        column, mask, ids
            A 0/1 column of the units, a boolean mask in unit order, or ``pu_id`` values.
        shares : PolygonShares or array-like, optional
            Per unit, the share (0-1) of its area inside polygons
            (`optimizer.grid.overlay.polygon_shares`: a planned reserve, a concession).
        min_share : float, optional
            With ``shares``: a unit is locked when at least this share of its area lies
            inside, in (0, 1]; default 0.5 (`DEFAULT_MIN_SHARE`: the majority rule, a unit
            counts as the polygon's when most of it is; 1 locks only units wholly inside).
        label : str, optional
            A name for messages and summaries (default: the column, the file, ...).

        Give exactly one of ``column``, ``mask``, ``ids``, ``shares``.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_locked_in(ids=[3])
        >>> p.locked_masks()[0].tolist()  # locked in: the protected cell 1 and cell 3
        [True, False, True, False, False, False]
        """
        return self._add_lock(1, column, mask, ids, label, "add_locked_in", shares, min_share)

    def add_locked_out(self: Any, *, column: str | None = None, mask: Any = None,
                       ids: Sequence[Any] | None = None, shares: PolygonShares | Any = None,
                       min_share: float | None = None, label: str | None = None) -> Problem:
        """Keep units out of the solution: by a 0/1 column, a boolean mask, a list of ``pu_id``
        or the share of each unit a polygon file covers (a mining concession, a road).

        The arguments are those of `add_locked_in`.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
        ...      .add_locked_out(ids=[4]))
        >>> sol = solve(p)  # without cell 4 (80 MgC): cells 2 and 5
        >>> pu.units["pu_id"][sol.selected].tolist(), round(sol.objective, 4)
        ([1, 2, 5], 0.3448)

        By the share of each unit a polygon covers (a road corridor over cells 4 and 5):

        >>> import geopandas as gpd, shapely
        >>> from optimizer.grid.overlay import PolygonShares, covered_shares
        >>> road = gpd.GeoSeries([shapely.box(0, -2000, 1600, -1000)], crs=pu.units.crs)
        >>> shares = PolygonShares(covered_shares(pu, road), "road.gpkg")
        >>> shares.share.round(2).tolist()
        [0.0, 0.0, 0.0, 1.0, 0.6, 0.0]
        >>> p = problem(pu).add_locked_out(shares=shares, min_share=0.5)
        >>> p.locks[-1].label, p.locked_masks()[1].nonzero()[0].tolist()
        ('road.gpkg covering >= 50% of a unit', [3, 4])
        """
        return self._add_lock(0, column, mask, ids, label, "add_locked_out", shares, min_share)

    def add_locked_out_land_cover(self: Any, land_cover: str, unit_share: float) -> Problem:
        """Lock out units where a land-cover class covers more than ``unit_share`` of the unit.

        E.g. the farmland red line: ``add_locked_out_land_cover("lc_cropland_km2", 0.5)``.
        ``land_cover`` is a land-cover column or its class label (``cropland``).
        """
        feats = self.pu.features
        lc = feats[feats["role"] == "land_cover"]
        col = land_cover if land_cover in lc.index else None
        if col is None:
            hits = lc.index[lc["label"].astype(str) == land_cover]
            col = hits[0] if len(hits) == 1 else None
        if col is None:
            raise InputDataError(f"land_cover {land_cover!r} is not a land-cover column or class "
                                 f"of this grid; land-cover columns: {list(lc.index)}"
                                 f"{did_you_mean(str(land_cover), [*lc.index, *lc['label'].astype(str)])}")
        share = finite_number(unit_share, "unit_share")
        if not 0.0 <= share <= 1.0:
            raise InputDataError(f"unit_share must be a share in [0, 1]; got {share}")
        frac = np.divide(self._column_cached(col), self.area_km2,
                         out=np.zeros(self.n_units), where=self.area_km2 > 0)
        return self._append_lock(Lock(f"{col} share > {share:g}", 0, frac > share))

    def add_locked_out_above(self: Any, column: str, threshold: float, *, per_km2: bool = False
                             ) -> Problem:
        """Lock out units whose ``column`` exceeds ``threshold`` (e.g. emissions).

        With ``per_km2=True`` the column is divided by unit area first (a density).
        """
        values = self._unit_column(column, "column")
        threshold = finite_number(threshold, "threshold")
        if per_km2:
            values = np.divide(values, self.area_km2, out=np.zeros(self.n_units),
                               where=self.area_km2 > 0)
        label = f"{column}{' per km²' if per_km2 else ''} > {threshold:g}"
        return self._append_lock(Lock(label, 0, np.nan_to_num(values, nan=0.0) > threshold))

    def _add_lock(self: Any, value: int, column: str | None, mask: Any, ids: Sequence[Any] | None,
                  label: str | None, where: str, shares: Any = None,
                  min_share: float | None = None) -> Problem:
        given = [a is not None for a in (column, mask, ids, shares)]
        if sum(given) != 1:
            raise InputDataError(f"{where} takes exactly one of column=, mask=, ids= or shares=; "
                                 f"got {sum(given)}")
        if min_share is not None and shares is None:
            raise InputDataError(f"{where}: min_share applies to shares= (a polygon file's "
                                 "cover); remove it or give shares")
        n = self.n_units
        source = None
        if shares is not None:
            arr, label, source = self._share_mask(shares, min_share, label, where)
        elif column is not None:
            values = self._unit_column(column, "column")
            arr = np.nan_to_num(values, nan=0.0) > 0.5
            label = label or f"column {column!r}"
        elif mask is not None:
            arr = np.asarray(mask)
            if arr.shape != (n,):
                raise InputDataError(f"{where}: mask has shape {arr.shape}; expected ({n},), one "
                                     "value per unit in row order")
            if arr.dtype != bool:
                if not np.isin(arr, (0, 1)).all():
                    raise InputDataError(f"{where}: mask must be boolean or 0/1; got values "
                                         f"{np.unique(arr)[:5].tolist()}")
                arr = arr.astype(bool)
            label = label or "mask"
        else:
            pu_ids = self.pu.units["pu_id"]
            wanted = list(ids)  # type: ignore[arg-type]
            known = set(pu_ids.tolist())
            missing = [w for w in wanted if w not in known]
            if missing:
                raise InputDataError(f"{where}: ids {missing[:5]} are not pu_id values "
                                     "of this grid")
            arr = pu_ids.isin(wanted).to_numpy()
            label = label or f"{len(wanted)} listed ids"
        return self._append_lock(Lock(label, value, arr.copy(), source))

    def _share_mask(self: Any, shares: Any, min_share: float | None, label: str | None,
                    where: str) -> tuple[np.ndarray, str, str | None]:
        """The units at least ``min_share`` inside, the lock's label and its file."""
        share = np.asarray(getattr(shares, "share", shares), dtype=float)
        if share.shape != (self.n_units,):
            raise InputDataError(f"{where}: shares has shape {share.shape}; expected "
                                 f"({self.n_units},), one share per unit in row order")
        if not np.isfinite(share).all() or share.min() < 0 or share.max() > 1 + 1e-9:
            raise InputDataError(f"{where}: shares must be shares of each unit's area in [0, 1]")
        cut = DEFAULT_MIN_SHARE if min_share is None else finite_number(min_share, "min_share")
        if not 0.0 < cut <= 1.0:
            raise InputDataError(f"{where}: min_share must be in (0, 1], the share of a unit's "
                                 f"area inside the polygons from which it is locked; got {cut:g}")
        source = getattr(shares, "label", None)
        label = label or f"{source or 'shares'} covering >= {cut:.0%} of a unit"
        # A millionth of the unit's area of slack: a unit exactly at the threshold (a quarter
        # of a cell) counts, whatever the rounding of a file reprojected to lon/lat and back.
        return share >= cut - SHARE_TOLERANCE, label, source

    def _append_lock(self: Any, lock: Lock) -> Problem:
        lock.mask.setflags(write=False)
        return dataclasses.replace(self, locks=(*self.locks, lock), _cache=self._cache)
