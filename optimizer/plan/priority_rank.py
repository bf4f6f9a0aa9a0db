"""Priority rank of every planning unit: the order in which the nested path adds them.

A max-utility problem with one area budget has nested optimal plans: as the budget
grows, a plan only gains units (the cut solver's parametric path,
`optimizer.solvers.cut.path`). The rank of a unit is its place in that order - rank 1
is the first unit any budget adds - and its *entry budget* is the total new area
(km², the budget's own measure, locked-in units' new area included) of the plan that
first holds it: a plan of budget B holds every unit whose entry budget is at most B.
This is what Zonation users read from a rank map, computed on the scenario's own
objective and boundary penalty (no separate heuristic).

The path exists for one budget row only: the rank is computed on the problem's
max-utility objective, its total budget, locks and penalties, and *leaves out* its
targets and per-region or per-ecosystem budgets (`PriorityRank.note` says so). Problems
of another objective (min set, min shortfall) get no rank (`priority_rank` returns
None with the reason in ``why``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimizer.errors import InfeasibleProblemError, SolverError
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
        Per unit (``pu.units`` row order): 1 = added first; 0 = never ranked (locked
        in, locked out, or of no positive value at any budget).
    entry_budget_km2 : numpy.ndarray of float
        Per unit: new area (km²) of the smallest plan on the path that holds it; NaN
        where ``rank`` is 0.
    note : str
        What the rank was computed on (and what it leaves out).
    seconds : float
        Wall-clock seconds of the path.
    """

    rank: np.ndarray
    entry_budget_km2: np.ndarray
    note: str
    seconds: float


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
    left = []
    if problem.targets:
        left.append(f"{len(problem.targets)} target(s)")
    others = [b for b in problem.budgets if b is not total]
    if others:
        left.append(f"{len(others)} per-region/ecosystem budget(s)")
    single = dataclasses.replace(problem, targets=(), budgets=(total,), _cache={})
    note = ("rank 1 = the first unit the nested max-utility path adds as the budget grows; "
            "entry_budget_km2 = new km² of the smallest plan holding the unit (the plan for "
            "budget B holds the units with entry_budget_km2 <= B)")
    if left:
        note += f"; computed without the scenario's {' and '.join(left)} (one budget only)"
    return single, note


def priority_rank(problem: Problem, *, path_points: int = 256,
                  time_limit: float | None = None) -> tuple[PriorityRank | None, str]:
    """The priority rank of every unit from the cut solver's nested path.

    Parameters
    ----------
    problem : Problem
        A max-utility problem with a total area budget (other rows are left out, see
        `rank_problem`).
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
    """
    single, note = rank_problem(problem)
    if single is None:
        return None, note
    model = compile_model(single)
    started = time.perf_counter()
    solver = CutSolver(time_limit=time_limit, polish=False, lns=False, rescue=False,
                       path_points=path_points)
    try:
        sol = solver.solve(model)
    except (SolverError, InfeasibleProblemError) as exc:
        return None, f"no priority rank: the nested path failed ({exc})"
    seconds = time.perf_counter() - started
    n = problem.n_units
    if "unit_rank" not in sol.info:  # nothing free: every unit fixed
        return PriorityRank(np.zeros(n, np.int64), np.full(n, np.nan), note, seconds), note
    order0 = np.asarray(sol.info["unit_rank"], dtype=np.int64)
    area = np.asarray(sol.info["unit_area"], dtype=np.float64)
    locked = np.asarray(sol.info["unit_locked_in"], dtype=bool)
    ranked = np.flatnonzero(order0 >= 0)
    ranked = ranked[np.argsort(order0[ranked], kind="stable")]
    rank = np.zeros(n, np.int64)
    rank[ranked] = np.arange(1, ranked.size + 1)
    entry = np.full(n, np.nan)
    base = float(problem.unprotected_km2[locked].sum())
    entry[ranked] = base + np.cumsum(area[ranked])
    return PriorityRank(rank, entry, note, seconds), note
