"""Performance curves (Zonation's): the share of each feature held as protection grows.

A *performance curve* follows a priority rank (`optimizer.plan.priority_rank`, a nested
path's order, or any per-unit rank: Zonation's, an importance score's order): units enter
in rank order and each curve is the share of one feature's national total held by the
protected land so far. `performance_curves` evaluates every curve at every whole
``step_pct`` percent of the study area (the x axis Zonation uses: area, not unit counts)
and at the exact end points: the start, the end and, given a plan, the plan's own
protected share. `top_share_mask` is the plan the curve reads at a share: the top X% of
the area by rank, as a 0/1 plan. `plan_curves` is the rank-free summary of any plan
(or of several, e.g. the plans of a nested path along its budgets): the same numbers at
each plan's protected share.

What "held" counts, everywhere (the numbers of `optimizer.plan.results.feature_representation`):

* **existing protection is held from the start**: every unit's protected fraction
  ``p_j`` of its amounts, and the whole of every unit the problem locks in (existing
  protection at or above ``pa_threshold`` and the problem's own locks, which every plan
  holds), so the curves start at the existing network's shares (``point`` 0);
* a unit that enters adds its unprotected part ``(1 - p_j) r_kj`` (and ``(1 - p_j) a_j``
  km² of new area, the budget's measure), as in a plan;
* units the problem locks out never enter, nor do units without a rank (rank 0).

The curves (``curve``, ``kind``): every feature column (``kind="feature"``, in its own unit);
each group of `optimizer.inputs.roles.groups` (``kind="group"``, named ``mean_<group>``: the
mean ``held_pct`` of its features with a non-zero total, Zonation's average curve; no
amount); and the
quantities of `optimizer.plan.quantities.QUANTITIES`' carbon accounting
(``kind="quantity"``: ``carbon_stock_total``, every carbon_stock layer summed in MgC;
``carbon_uptake_latest`` and ``emissions_latest``, the last carbon_uptake and emissions
columns, as ``npp_added`` and ``emissions_inside`` read them).

Everything is vectorised: one cumulative sum over the rank-sorted amounts (features in
blocks, so memory stays bounded), no loop over units.

Examples
--------
>>> from optimizer import problem
>>> from optimizer.datasets import tiny_grid
>>> import numpy as np
>>> p = problem(tiny_grid())
>>> rank = np.array([0, 3, 4, 1, 2, 5])
>>> c = performance_curves(p, rank, step_pct=50)
>>> c[c.curve == "carbon"][["area_pct", "units_added", "held", "held_pct"]].round(1)
   area_pct  units_added   held  held_pct
0      16.7            0  100.0      34.5
1      50.0            2  240.0      82.8
2     100.0            5  290.0     100.0
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.inputs.roles import feature_roles, groups
from optimizer.model.problem import Problem, problem
from optimizer.plan.priority_rank import PriorityRank, priority_rank
from optimizer.plan.quantities import QUANTITIES
from optimizer.solvers import BudgetPath

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits

__all__ = ["CURVE_COLUMNS", "CURVE_DEFINITION", "QUANTITY_CURVES", "curve_plan_pct",
           "curves_for_plan", "performance_curves", "plan_curves", "top_share_mask"]

#: The columns of a curves table, in order (`performance_curves`, `plan_curves`, ``curves.csv``).
CURVE_COLUMNS = ("along", "point", "area_pct", "protected_km2", "protected_pct", "new_km2",
                 "units_added", "curve", "kind", "unit", "held", "total", "held_pct")

#: One line: what a curve is (the report's caption, the CSV's meaning).
CURVE_DEFINITION = ("performance curve: the share of each feature's national total held "
                    "(held_pct; existing protection counted as held from the start) as "
                    "protection grows along the priority rank, over the share of the study "
                    "area protected (area_pct)")

#: The carbon accounting's curves: name -> (role, columns: "all" summed or the "last",
#: the `QUANTITIES` entry whose unit and columns it follows).
QUANTITY_CURVES: dict[str, tuple[str, str, str]] = {
    "carbon_stock_total": ("carbon_stock", "all", "carbon_stock_added"),
    "carbon_uptake_latest": ("carbon_uptake", "last", "npp_added"),
    "emissions_latest": ("emissions", "last", "emissions_inside"),
}

# Bounded memory: a block of features x ranked units at a time.
_BLOCK_CELLS = 4_000_000


def _as_problem(problem_or_units: Problem | PlanningUnits) -> Problem:
    """A `Problem` as given, or ``problem(pu)`` (existing protection locked in by default)."""
    if isinstance(problem_or_units, Problem):
        return problem_or_units
    return problem(problem_or_units)


def _as_rank(rank: PriorityRank | BudgetPath | np.ndarray | Sequence[float], n: int
             ) -> np.ndarray:
    """Per-unit rank numbers (1 = first, ties enter together, 0 or NaN = never)."""
    if isinstance(rank, PriorityRank):
        r = rank.rank.astype(np.float64)
    elif isinstance(rank, BudgetPath):
        r = np.asarray(rank.unit_rank, dtype=np.float64) + 1.0  # 0 first, -1 off the path
    else:
        r = np.asarray(rank, dtype=np.float64).ravel()
    if r.size != n:
        raise InputDataError(f"rank has {r.size} units but the problem {n}; give one rank per "
                             "planning unit, in pu.units order")
    return np.where(np.isfinite(r) & (r > 0), r, 0.0)


def _curve_features(p: Problem, features: Sequence[str] | None) -> list[str]:
    feats = p.pu.features
    if features is None:
        return list(feats.index[feats["role"].isin(feature_roles())])
    missing = [f for f in features if f not in feats.index]
    if missing:
        raise InputDataError(f"features: {missing[0]!r} is not a feature column of the grid; "
                             f"use one of {list(feats.index)[:8]}")
    return list(features)


class _Base:
    """What every curve of one problem shares: amounts held at the start, totals, areas."""

    def __init__(self, p: Problem, features: list[str]) -> None:
        self.p = p
        self.features = features
        self.locked_in, self.locked_out = p.locked_masks()
        pa = p.protected_fraction
        self.free = 1.0 - pa
        self.new_km2 = p.unprotected_km2
        self.study_km2 = p.study_area_km2
        self.existing_km2 = float(p.area_km2 @ pa)
        self.start_km2 = self.existing_km2 + float(self.new_km2[self.locked_in].sum())
        self.total = np.zeros(len(features))
        self.start = np.zeros(len(features))
        for rows, amounts in self.blocks(p.n_units):
            self.total[rows] = amounts.sum(axis=1)
            self.start[rows] = (amounts @ pa
                                + amounts[:, self.locked_in] @ self.free[self.locked_in])

    def blocks(self, width: int) -> Iterator[tuple[slice, np.ndarray]]:
        """The amounts (whole units), a block of features at a time: at most `_BLOCK_CELLS`
        features x ``width`` values of the dense matrix are held at once."""
        block = max(1, _BLOCK_CELLS // max(1, width))
        for i in range(0, len(self.features), block):  # blocks of features, never of units
            yield slice(i, i + block), self.p.feature_amounts(self.features[i:i + block])

    def added(self, units: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """features x points: the amounts the first ``counts`` of ``units`` (in order) add."""
        out = np.zeros((len(self.features), counts.size))
        if not units.size or not self.features:
            return out
        take = counts > 0
        for rows, amounts in self.blocks(max(units.size, self.p.n_units // 2)):
            cum = np.cumsum(amounts[:, units] * self.free[units], axis=1)
            out[rows, take] = cum[:, counts[take] - 1]
        return out

    def table(self, along: str, area_pct: np.ndarray, protected_km2: np.ndarray,
              units_added: np.ndarray, held: np.ndarray) -> pd.DataFrame:
        """The long table (`CURVE_COLUMNS`): features, groups and quantities at each point."""
        feats = self.p.pu.features
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(self.total[:, None] > 0, 100.0 * held / self.total[:, None], np.nan)
        names = list(self.features)
        kinds = ["feature"] * len(names)
        units = [str(feats.at[f, "unit"]) for f in names]
        rows_held, rows_pct = list(held), list(share)
        rows_total = [float(v) for v in self.total]
        roles = feats.loc[names, "role"].to_numpy() if names else np.array([])
        nan = np.full(area_pct.size, np.nan)
        for group, group_roles in groups().items():
            mask = np.isin(roles, group_roles) & (self.total > 0)
            if mask.any():
                names.append(f"mean_{group}")
                kinds.append("group")
                units.append("%")
                rows_held.append(nan)
                rows_total.append(np.nan)
                rows_pct.append(share[mask].mean(axis=0))
        for name, (role, which, quantity) in QUANTITY_CURVES.items():
            cols = np.flatnonzero(roles == role)
            if not cols.size:
                continue
            cols = cols if which == "all" else cols[-1:]
            tot = float(self.total[cols].sum())
            h = held[cols].sum(axis=0)
            names.append(name)
            kinds.append("quantity")
            units.append(QUANTITIES[quantity].unit)
            rows_held.append(h)
            rows_total.append(tot)
            rows_pct.append(100.0 * h / tot if tot > 0 else nan)
        k, m = len(names), area_pct.size
        return pd.DataFrame({
            "along": along, "point": np.tile(np.arange(m), k),
            "area_pct": np.tile(area_pct, k), "protected_km2": np.tile(protected_km2, k),
            "protected_pct": np.tile(100.0 * protected_km2 / self.study_km2, k),
            "new_km2": np.tile(protected_km2 - self.existing_km2, k),
            "units_added": np.tile(units_added.astype(np.int64), k),
            "curve": np.repeat(names, m), "kind": np.repeat(kinds, m),
            "unit": np.repeat(units, m),
            "held": np.concatenate(rows_held) if k else np.array([]),
            "total": np.repeat(np.asarray(rows_total, dtype=np.float64), m),
            "held_pct": np.concatenate(rows_pct) if k else np.array([])},
            columns=list(CURVE_COLUMNS))


def _rank_order(base: _Base, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entering units in rank order, the protected km² after each tie group, and the
    count of units entered at the end of each group."""
    enters = (rank > 0) & ~base.locked_in & ~base.locked_out
    units = np.flatnonzero(enters)
    units = units[np.argsort(rank[units], kind="stable")]
    cum = base.start_km2 + np.cumsum(base.new_km2[units])
    r = rank[units]
    ends = np.flatnonzero(np.r_[r[1:] != r[:-1], True]) if units.size else np.zeros(0, np.int64)
    return units, cum[ends], ends + 1


def _counts_at(levels_km2: np.ndarray, group_km2: np.ndarray, group_counts: np.ndarray,
               tol: float) -> np.ndarray:
    """Units entered at each level: every whole tie group whose protected km² fits."""
    j = np.searchsorted(group_km2, levels_km2 + tol, side="right")
    return np.where(j > 0, np.r_[0, group_counts][j], 0).astype(np.int64)


def performance_curves(problem_or_units: Problem | PlanningUnits,
                       rank: PriorityRank | BudgetPath | np.ndarray | Sequence[float], *,
                       plan: np.ndarray | None = None, step_pct: float = 1.0,
                       features: Sequence[str] | None = None) -> pd.DataFrame:
    """The share of every feature held as units are protected in rank order (module docstring).

    Parameters
    ----------
    problem_or_units : Problem or PlanningUnits
        The problem (its locks and ``pa_threshold`` say what is held from the start and
        what never enters), or a grid (``problem(pu)``: existing protection locked in).
    rank : PriorityRank, BudgetPath or array-like
        Per unit (``pu.units`` order): 1 = first; units of equal rank enter together (a
        tie group is never split); 0, negative or NaN = never enters. A `PriorityRank`'s
        ``rank``, or a nested path's order (`optimizer.solvers.BudgetPath`).
    plan : numpy.ndarray, optional
        A 0/1 plan: its protected share is a point of the rank's curve too, and its own
        rank-free rows (`plan_curves`) follow (``along="plan"``).
    step_pct : float
        The curves are evaluated at every whole ``step_pct`` % of the study area between
        the start and the end, and at both.
    features : sequence of str, optional
        The feature columns (default: every feature of the grid).

    Returns
    -------
    pandas.DataFrame
        Long: one row per point and curve, columns `CURVE_COLUMNS`. ``along`` is ``"rank"``
        (or ``"plan"``); ``point`` 0 is the start (existing protection and locked-in
        units); ``area_pct`` is the share of the study area the point allows (the top
        ``area_pct`` % by rank, existing protection first); ``protected_km2`` /
        ``protected_pct`` the area protected there (whole tie groups that fit, so at most
        ``area_pct``); ``new_km2`` the protected area beyond existing protection (the
        budget's measure); ``units_added`` the ranked units entered; ``held`` the amount
        held (in ``unit``; NaN for groups), ``total`` the national total, ``held_pct``
        = 100 x held / total (groups: the mean over their features).

    Raises
    ------
    InputDataError
        A rank or plan of another length than the grid's units; ``step_pct`` not in (0, 100].

    Examples
    --------
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.plan.priority_rank import priority_rank
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> x = solve(p).x
    >>> pr, _ = priority_rank(p, plan=x)
    >>> c = performance_curves(p, pr, plan=x, step_pct=25)
    >>> c[c.curve == "sp_b"][["along", "area_pct", "units_added", "held_pct"]].round(1)
       along  area_pct  units_added  held_pct
    12  rank      16.7            0       0.0
    13  rank      25.0            0       0.0
    14  rank      50.0            2      50.0
    15  rank      50.0            2      50.0
    16  rank      75.0            3     100.0
    17  rank     100.0            5     100.0
    40  plan      16.7            0       0.0
    41  plan      50.0            2      50.0
    """
    p = _as_problem(problem_or_units)
    base = _Base(p, _curve_features(p, features))
    r = _as_rank(rank, p.n_units)
    if not 0 < step_pct <= 100:
        raise InputDataError(f"step_pct must be in (0, 100]; got {step_pct:g}")
    units, group_km2, group_counts = _rank_order(base, r)
    end_km2 = float(group_km2[-1]) if group_km2.size else base.start_km2
    start_pct, end_pct = (100.0 * base.start_km2 / base.study_km2,
                          100.0 * end_km2 / base.study_km2)
    grid = step_pct * np.arange(math.floor(start_pct / step_pct) + 1,
                                math.ceil(end_pct / step_pct))
    grid = grid[(grid > start_pct + 1e-9) & (grid < end_pct - 1e-9)]
    levels = np.r_[start_pct, grid, end_pct]
    if plan is not None:
        levels = np.sort(np.r_[levels, curve_plan_pct(p, plan)])
    tol = 1e-9 * max(1.0, base.study_km2)
    counts = _counts_at(levels * base.study_km2 / 100.0, group_km2, group_counts, tol)
    counts[0] = 0  # the start holds no ranked unit
    km2 = np.r_[base.start_km2, base.start_km2 + np.cumsum(base.new_km2[units])][counts]
    held = base.start[:, None] + base.added(units, counts)
    out = base.table("rank", levels, km2, counts, held)
    if plan is None:
        return out
    return pd.concat([out, plan_curves(p, plan, features=base.features)], ignore_index=True)


def curve_plan_pct(problem_or_units: Problem | PlanningUnits, plan: np.ndarray) -> float:
    """The share of the study area (%) a plan protects: existing protection, locked-in
    units and the plan's units (the x of its point on the curves).

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> round(curve_plan_pct(tiny_grid(), np.array([0, 1, 0, 1, 0, 0])), 2)
    50.0
    """
    p = _as_problem(problem_or_units)
    x = _plan_mask(p, plan)
    locked_in = p.locked_masks()[0]
    km2 = float(p.area_km2 @ p.protected_fraction) + float(p.unprotected_km2[x | locked_in].sum())
    return 100.0 * km2 / p.study_area_km2


def _plan_mask(p: Problem, plan: Any) -> np.ndarray:
    x = np.asarray(plan, dtype=np.float64).ravel()
    if x.size != p.n_units:
        raise InputDataError(f"plan has {x.size} units but the problem {p.n_units}; give the "
                             "plan's x for the problem's own grid")
    return x > 0.5


def plan_curves(problem_or_units: Problem | PlanningUnits,
                plans: np.ndarray | Sequence[np.ndarray], *,
                features: Sequence[str] | None = None) -> pd.DataFrame:
    """The rank-free summary of one plan or several: the share of each feature each holds.

    ``point`` 0 is the start (existing protection and locked-in units); point i is the
    i-th plan (e.g. the plans of a nested path along its budgets, smallest first), at its
    protected share. The numbers are `optimizer.plan.results.feature_representation`'s
    ``held_after`` of a plan that holds the locked-in units (locked-in units are counted
    as held whatever the plan says). Columns as `performance_curves`, ``along="plan"``;
    ``area_pct`` = ``protected_pct``.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> c = plan_curves(tiny_grid(), np.array([1, 1, 0, 1, 0, 0]))
    >>> c[c.curve == "carbon_stock_total"][["point", "protected_pct", "held", "held_pct"]]
        point  protected_pct   held   held_pct
    10      0      16.666667  100.0  34.482759
    11      1      50.000000  220.0  75.862069
    """
    p = _as_problem(problem_or_units)
    base = _Base(p, _curve_features(p, features))
    arr = np.asarray(plans, dtype=np.float64)
    each = arr.reshape(1, -1) if arr.ndim == 1 else arr
    masks = np.array([_plan_mask(p, row) for row in each]).reshape(-1, p.n_units)  # per plan
    masks &= ~base.locked_in
    km2 = np.r_[base.start_km2, base.start_km2 + masks.astype(np.float64) @ base.new_km2]
    held = np.zeros((len(base.features), masks.shape[0] + 1))
    chosen = masks.T.astype(np.float64)
    for rows, amounts in base.blocks(p.n_units):
        held[rows, 1:] = (amounts * base.free) @ chosen
    held += base.start[:, None]
    counts = np.r_[0, masks.sum(axis=1)]
    return base.table("plan", 100.0 * km2 / base.study_km2, km2, counts, held)


def top_share_mask(problem_or_units: Problem | PlanningUnits,
                   rank: PriorityRank | BudgetPath | np.ndarray | Sequence[float],
                   share: float) -> np.ndarray:
    """The top ``share`` of the study area by rank, as a 0/1 plan (Zonation's top-X% mask).

    The plan holds the locked-in units (existing protection) and then the ranked units in
    rank order while the protected area (existing protection included) stays within
    ``share`` x the study area: whole tie groups only (units of equal rank are in or out
    together), never a locked-out unit. It is the plan `performance_curves` reads at
    ``area_pct = 100 x share``. A share below the existing protection's gives the
    locked-in units alone.

    Raises
    ------
    InputDataError
        ``share`` outside [0, 1], or a rank of another length than the grid's units.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> top_share_mask(tiny_grid(), np.array([0, 3, 4, 1, 2, 5]), 0.5).tolist()
    [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    >>> top_share_mask(tiny_grid(), np.array([0, 1, 2, 2, 3, 3]), 0.5).tolist()
    [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    if not 0 <= share <= 1:
        raise InputDataError(f"share must be in [0, 1] (a share of the study area); got "
                             f"{share:g}; write 30% as 0.3")
    p = _as_problem(problem_or_units)
    base = _Base(p, [])
    r = _as_rank(rank, p.n_units)
    units, group_km2, group_counts = _rank_order(base, r)
    tol = 1e-9 * max(1.0, base.study_km2)
    count = _counts_at(np.array([share * base.study_km2]), group_km2, group_counts, tol)[0]
    x = base.locked_in.astype(np.float64)
    x[units[:count]] = 1.0
    return x


def curves_for_plan(problem: Problem, plan: np.ndarray, *, step_pct: float = 1.0,
                    time_limit: float | None = None) -> tuple[pd.DataFrame, str]:
    """A solved plan's curves, as ``carbonpark solve --curves`` writes them, and a note.

    Along the plan's priority rank (`optimizer.plan.priority_rank.priority_rank` beside
    the plan: its added units rank first, so the rank's curve passes through the plan's
    point) with the plan's own rows; for a problem without a rank (not max utility, or
    no total budget) the plan's rank-free rows alone (`plan_curves`), the note saying why.

    Examples
    --------
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets({"sp_a": 0.5})
    >>> c, note = curves_for_plan(p, solve(p).x)
    >>> sorted(set(c["along"])), note.split(": ")[:2]
    (['plan'], ['the plan only', 'no priority rank'])
    """
    rank, why = priority_rank(problem, plan=plan, time_limit=time_limit)
    if rank is None:
        return plan_curves(problem, plan), f"the plan only: {why}"
    return (performance_curves(problem, rank, plan=plan, step_pct=step_pct),
            f"along the priority rank ({rank.note})")
