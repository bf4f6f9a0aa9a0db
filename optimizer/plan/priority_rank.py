"""Priority rank of every planning unit: the order of the nested path, within the plan's budgets.

A max-utility problem with one area budget has nested optimal plans: as the budget
grows, a plan only gains units (the cut solver's parametric path,
`optimizer.solvers.cut.path`). That order, read on the scenario's own objective and
boundary penalty (no separate heuristic), is what Zonation users read from a rank map.

What the rank means, given the plan beside it (``plan=``, as ``carbonpark export`` does):

* ranks 1..n are exactly the plan's n added units: the plan of its own budget is the top n,
  so the map never contradicts the plan;
* the other units follow, ranks n+1, n+2, ...;
* within each part the order is the nested path's, subject to the problem's region and
  ecosystem budgets *scaled to the budget*: at entry budget B a budget of C km² allows
  C x B / B_plan km² (B_plan the plan's new area), so a region capped at 10% of the plan
  holds at most about 10% of any top-ranked area. A unit waits for its turn while its
  region is full (units of one region keep their path order); when no unit fits (the
  uncapped units are used up) the next in path order is taken and counted in
  `PriorityRank.over_budget`.

A unit's *entry budget* is the total new area (km², the budget's own measure, locked-in
units' new area included) of the top-ranked units up to it: the rank's plan for budget B
holds every unit whose entry budget is at most B. Targets and minimum area budgets are
left out of the order (`PriorityRank.note` says so). Without ``plan`` the budgets scale
with the problem's total budget instead and the top ranks are the path's, not a given
plan's. Problems of another objective (min set, min shortfall) get no rank
(`priority_rank` returns None with the reason in ``why``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import budget_coefficients
from optimizer.model.compile import compile as compile_model
from optimizer.model.objectives import OBJECTIVES, listed, objective_kind
from optimizer.solvers import CutSolver

if TYPE_CHECKING:
    from optimizer.model.problem import Problem

__all__ = ["PriorityRank", "priority_rank", "rank_problem"]


@dataclass
class PriorityRank:
    """Per-unit priority from the nested path (module docstring).

    Attributes
    ----------
    rank : numpy.ndarray of int64
        Per unit (``pu.units`` row order): 1 = first; 0 = never ranked (locked in, locked
        out, or off the path and outside the plan). With a plan, ranks 1..``plan_units``
        are its added units.
    entry_budget_km2 : numpy.ndarray of float
        Per unit: new area (km²) of the top-ranked units up to and including it, locked-in
        units' included; NaN where ``rank`` is 0.
    note : str
        What the rank means and what it was computed on (and leaves out).
    seconds : float
        Wall-clock seconds of the path.
    plan_units : int
        How many top ranks are the plan's added units (0 without a plan).
    over_budget : int
        Ranks taken although they exceed a scaled region or ecosystem budget (no unit fitted).
    """

    rank: np.ndarray
    entry_budget_km2: np.ndarray
    note: str
    seconds: float
    plan_units: int = 0
    over_budget: int = 0


def rank_problem(problem: Problem) -> tuple[Problem | None, str]:
    """The single-budget problem whose nested path ranks the units, and a note.

    Returns ``(None, why)`` when the problem has no max-utility objective or no total
    budget; otherwise the problem without its targets and other budgets, and a note
    naming what was left out.
    """
    if problem.objective is None or not objective_kind(problem.objective.kind).nested:
        kind = "none" if problem.objective is None else problem.objective.kind
        ranked = listed([k.label.replace(" ", "-") for k in OBJECTIVES.values() if k.nested])
        return None, (f"no priority rank: the nested path ranks {ranked} problems, this "
                      f"one's objective is {kind}")
    total = problem.total_budget()
    if total is None:
        return None, "no priority rank: the problem has no total area budget"
    single = dataclasses.replace(problem, targets=(), budgets=(total,), cost_budgets=(),
                                 _cache={})
    note = ("rank 1 = the first unit the nested max-utility path adds as the budget grows; "
            "entry_budget_km2 = new km² of the smallest plan holding the unit (the plan for "
            "budget B holds the units with entry_budget_km2 <= B)")
    return single, note + _left_out(problem)


def _left_out(problem: Problem) -> str:
    """What the order cannot keep: targets, region/ecosystem minima and cost budgets ('' when
    none).

    Region and ecosystem maxima are kept, scaled to each budget (`priority_rank`).
    """
    left = []
    if problem.targets:
        left.append(f"{len(problem.targets)} target(s)")
    minima = [b for b in problem.budgets if b.scope != "total" and b.min_km2 > 0]
    if minima:
        left.append(f"{len(minima)} region/ecosystem budget minimum(s)")
    if problem.cost_budgets:  # a second measure of the budget: the path grows by area alone
        left.append(f"{len(problem.cost_budgets)} cost budget(s)")
    return f"; computed without the scenario's {' and '.join(left)}" if left else ""


def _capped_rows(problem: Problem) -> list[tuple[np.ndarray, float, str]]:
    """Each region or ecosystem budget with a finite maximum: (km² per unit, max, label)."""
    unprotected = 1.0 - problem.protected_fraction
    return [(budget_coefficients(problem, b.scope, b.name, unprotected), float(b.max_km2),
             b.label) for b in problem.budgets
            if b.scope != "total" and np.isfinite(b.max_km2)]


def _order_within_budgets(units: np.ndarray, area: np.ndarray, start_km2: float,
                          used: np.ndarray, coef: np.ndarray, cap: np.ndarray,
                          scale_km2: float) -> tuple[np.ndarray, int]:
    """``units`` (in path order) reordered so that each prefix of new area B keeps every
    capped row within ``cap x B / scale_km2``; units of one row group keep their order.

    ``coef`` is rows x units (km² each unit adds to each row), ``used`` each row's km²
    before the first unit, ``start_km2`` the new area before it. Returns the order and how
    many units were taken over a scaled cap (none fitted).
    """
    if not len(cap) or not units.size:
        return units, 0
    sig = coef[:, units] > 0
    keys = np.packbits(sig, axis=0).T.tobytes() if sig.size else b""
    width = (sig.shape[0] + 7) // 8
    groups: dict[bytes, list[int]] = {}
    for i, u in enumerate(units.tolist()):  # groups of units that count against the same rows
        groups.setdefault(keys[i * width:(i + 1) * width], []).append(u)
    queues = [(list(reversed(g)), np.flatnonzero(coef[:, g[0]] > 0)) for g in groups.values()]
    pos = {u: i for i, u in enumerate(units.tolist())}
    used = used.astype(np.float64).copy()
    total = float(start_km2)
    out: list[int] = []
    over = 0
    tol = 1e-9 * max(1.0, float(np.max(cap)))
    while len(out) < units.size:
        best, best_pos, fallback, fallback_pos = -1, -1, -1, -1
        for q, (stack, rows) in enumerate(queues):
            if not stack:
                continue
            u = stack[-1]
            if fallback < 0 or pos[u] < fallback_pos:
                fallback, fallback_pos = q, pos[u]
            if best >= 0 and pos[u] >= best_pos:
                continue
            after = total + area[u]
            if np.all(used[rows] + coef[rows, u] <= cap[rows] * after / scale_km2 + tol):
                best, best_pos = q, pos[u]
        if best < 0:
            best, over = fallback, over + 1
        u = queues[best][0].pop()
        used += coef[:, u]
        total += area[u]
        out.append(u)
    return np.asarray(out, dtype=np.int64), over


def priority_rank(problem: Problem, *, plan: np.ndarray | None = None, path_points: int = 256,
                  time_limit: float | None = None) -> tuple[PriorityRank | None, str]:
    """The priority rank of every unit: the nested path's order within the plan's budgets.

    Parameters
    ----------
    problem : Problem
        A max-utility problem with a total area budget (its region and ecosystem maxima
        are scaled to each budget; targets and minima are left out, see the module).
    plan : numpy.ndarray, optional
        The plan beside the rank, per unit 0/1 (``x``, locked-in units included): its
        added units take ranks 1..n (the module docstring).
    path_points : int
        Area resolution of the path: intervals are split until each spans less than
        1/``path_points`` of the path's area; units within one interval are ordered
        by value per km².
    time_limit : float, optional
        Seconds for the path.

    Returns
    -------
    (PriorityRank or None, str)
        The rank, or None and the reason the problem cannot be ranked.

    Raises
    ------
    InputDataError
        A plan of another length than the problem's units.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> p = problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> pr, note = priority_rank(p)
    >>> pr.rank.tolist(), pr.entry_budget_km2[pr.rank == 1].tolist()
    ([0, 3, 4, 1, 2, 5], [1.0])
    >>> priority_rank(problem(pu).add_min_set_objective())[0] is None
    True

    Beside a plan with a region cap, its added units (cells 2-4; cell 1 is protected) rank
    first:

    >>> from optimizer import solve
    >>> q = (problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    ...      .add_area_budget(region="south", max_km2=1))
    >>> x = solve(q).x
    >>> pr, note = priority_rank(q, plan=x)
    >>> x.tolist(), pr.rank.tolist(), pr.plan_units
    ([1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [0, 1, 2, 3, 4, 5], 3)
    """
    single, note = rank_problem(problem)
    if single is None:
        return None, note
    n = problem.n_units
    if plan is not None:
        plan = np.asarray(plan, dtype=np.float64).ravel()
        if plan.size != n:
            raise InputDataError(f"plan has {plan.size} units but the problem {n}; give the "
                                 "plan's x for the problem's own grid")
    model = compile_model(single)
    started = time.perf_counter()
    solver = CutSolver(time_limit=time_limit, polish=False, lns=False, rescue=False,
                       path_points=path_points)
    try:
        sol = solver.solve(model)
    except (SolverError, InfeasibleProblemError) as exc:
        return None, f"no priority rank: the nested path failed ({exc})"
    seconds = time.perf_counter() - started
    if "unit_rank" not in sol.info:  # nothing free: every unit fixed
        return PriorityRank(np.zeros(n, np.int64), np.full(n, np.nan), note, seconds), note
    order0 = np.asarray(sol.info["unit_rank"], dtype=np.int64)
    locked = np.asarray(sol.info["unit_locked_in"], dtype=bool)
    area = problem.unprotected_km2.astype(np.float64)  # the total budget's own measure
    on_path = order0 >= 0
    # The path's order; a plan's unit off the path (none in practice) after those on it.
    key = np.where(on_path, order0, order0.max(initial=0) + 1 + np.arange(n))
    added = (plan > 0.5) & ~locked if plan is not None else np.zeros(n, bool)
    rest = on_path & ~added & ~locked
    base = float(area[locked].sum())
    total = problem.total_budget()
    plan_km2 = base + float(area[added].sum())
    scale = (plan_km2 if plan is not None else
             float(total.max_km2) if total is not None and np.isfinite(total.max_km2) else np.inf)
    rows = _capped_rows(problem) if 0 < scale < np.inf else []
    coef = np.array([r[0] for r in rows]).reshape(len(rows), n)
    cap = np.array([r[1] for r in rows], dtype=np.float64)
    used = coef[:, locked].sum(axis=1)
    order, over = [], 0
    start = base
    for part in (added, rest):
        units = np.flatnonzero(part)
        units = units[np.argsort(key[units], kind="stable")]
        part_order, part_over = _order_within_budgets(units, area, start, used, coef, cap, scale)
        order.append(part_order)
        over += part_over
        used = used + coef[:, units].sum(axis=1)
        start += float(area[units].sum())
    ranked = np.concatenate(order)
    rank = np.zeros(n, np.int64)
    rank[ranked] = np.arange(1, ranked.size + 1)
    entry = np.full(n, np.nan)
    entry[ranked] = base + np.cumsum(area[ranked])
    if plan is not None or rows:
        k = int(added.sum())
        note = ((f"ranks 1-{k:,} are the plan's {k:,} added units (its new area "
                 f"{plan_km2:,.0f} km²), then the other units; within each, " if plan is not None
                 else "") + "the order in which the nested max-utility path adds units as the "
                "budget grows")
        if rows:
            note += (f", kept within the {len(rows)} region/ecosystem budget maxima scaled to the "
                     "budget (max x entry_budget_km2 / "
                     + ("the plan's new area" if plan is not None else "the total budget") + ")"
                     + (f" except {over:,} rank(s) where no unit fitted" if over else ""))
        note += ("; entry_budget_km2 = new km² of the units ranked up to the unit, locked-in units' "
                 "included (the rank's plan for budget B holds the units with entry_budget_km2 "
                 "<= B)" + _left_out(problem))
    return PriorityRank(rank, entry, note, seconds, int(added.sum()), over), note
