"""Rank importance of the units a plan adds: the budget increment at which each enters.

Follows prioritizr's ``eval_rank_importance`` (Jung et al. 2021): the plan's spend ``W``
on the units it adds is cut into ``n`` equal increments; at increment ``k`` the problem is
solved with every unit outside the plan locked out, every unit chosen at an earlier
increment locked in, and one more row, ``Σ_j w_j x_j <= k W / n`` over the units the plan
adds. A unit entering at increment ``k`` has rank ``n - k + 1`` (``n`` for the first),
and ``importance = rank / n`` (1 for the first increment; prioritizr rescales ranks to
0.01-1 instead); a unit no increment takes has rank and importance 0.

Every constraint of the plan stays: the problem's locks, its total, region and ecosystem
area budgets, its cost budgets and its targets are all rows of every increment's model
(the increment row is added to them, `optimizer.studies.metrics.with_row`). An increment
whose model has no plan (a hard target or a minimum area the smaller budget cannot reach)
is skipped: no unit enters there, the next increment goes on from the same units, and
`Importance.notes` says which increments were skipped.

The spend ``w_j``:

* max utility and min shortfall: the unit's new area (km², ``(1 - p_j) a_j``), the
  quantity of their area budget, so each increment scales the budget;
* min set: the unit's cost (the min set objective), and the objective becomes min
  shortfall of the same targets (prioritizr's default: a min set objective has no budget
  to increment, so each increment minimises the weighted relative shortfall of the targets
  within it), its area budget the problem's own, or the plan's new area when the problem
  has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.problem import Problem
from optimizer.plan.solving import solve_model
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.studies.metrics import with_row

__all__ = ["RankResult", "rank_increments", "rank_problem"]


@dataclass(frozen=True)
class RankResult:
    """What `rank_increments` found.

    Attributes
    ----------
    increment : numpy.ndarray
        Per unit: the increment (1..n) at which it entered; 0 where none took it.
    steps : pandas.DataFrame
        One row per increment: ``increment``, ``budget`` (the row's bound, in ``w``'s
        unit), ``entered`` (units), ``objective`` (recomputed from the increment's plan,
        in the rank problem's unit; NaN when skipped), ``status``, ``gap``, ``seconds``.
    spend : str
        What ``w`` is (``"new area (km²)"`` or the problem's cost label).
    objective_kind : str
        The objective of the increments (``min_shortfall`` for a min set problem).
    """

    increment: np.ndarray
    steps: pd.DataFrame
    spend: str
    objective_kind: str


def rank_problem(problem: Problem, x: np.ndarray) -> Problem:
    """The problem each increment solves: ``problem`` itself, or for a min set objective
    the min shortfall of its targets (the problem's area budget, or the plan's new area).

    Examples
    --------
    >>> import numpy as np
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_absolute_targets({"sp_b": 2})
    >>> r = rank_problem(p, np.array([1, 1, 0, 1, 0, 0.0]))
    >>> r.objective.kind, round(r.total_budget().max_km2, 6)  # cells 2 and 4: 2 km² new
    ('min_shortfall', 2.0)
    """
    kind = problem.objective.kind if problem.objective is not None else "none"
    if kind != "min_set":
        return problem
    if not problem.targets:
        raise InputDataError("importance method 'rank' on a min set problem ranks by the "
                             "shortfall of its targets; this problem has none: add targets")
    total = problem.total_budget()
    if (total is not None and np.isfinite(total.max_km2)) or problem.cost_budgets:
        return problem.add_min_shortfall_objective()
    area = float(problem.unprotected_km2 @ np.asarray(x, dtype=np.float64))
    return problem.add_min_shortfall_objective(budget_km2=area * (1 + 1e-9) + 1e-9)


def rank_increments(problem: Problem, x: np.ndarray, n: int, *, solver: str = "auto",
                    options: dict | None = None, progress: ProgressArg = False) -> RankResult:
    """Solve the ``n`` increments (module docstring) of plan ``x`` of ``problem``.

    Parameters
    ----------
    problem : Problem
    x : numpy.ndarray
        0/1 per unit: a plan of ``problem`` (checked by the caller).
    n : int
        Number of increments (at least 1).
    solver : str
        Backend of each increment.
    options : dict, optional
        `optimizer.plan.solving.solve_model` options (``gap``, ``time_limit``).
    progress : bool or callable

    Returns
    -------
    RankResult

    Examples
    --------
    Cells 4 and 5 (80 and 60 MgC) for 2 km²: at 1 km² the best cell is 4, so it ranks first.

    >>> import numpy as np
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> r = rank_increments(p, np.array([1, 0, 0, 1, 1, 0.0]), 2, options={"gap": 0.0})
    >>> r.increment.tolist(), r.steps["budget"].tolist()
    ([0, 0, 0, 1, 2, 0], [1.0, 2.0])
    """
    options = dict(options or {})
    rp = rank_problem(problem, x)
    model = compile(rp)
    x = np.asarray(x, dtype=np.float64)
    x_cols = model.x_cols_of(x)
    in_plan = x_cols > 0.5
    if rp is not problem:  # a min set problem: its cost is the spend
        measure, spend = problem.cost, problem.cost_label
    else:
        measure, spend = problem.unprotected_km2, "new area (km²)"
    w = np.where(in_plan, measure[model.unit_of_col[:model.n_x]], 0.0)
    if float(w @ x_cols) <= 0:  # nothing to spend: increments count units
        w, spend = in_plan.astype(np.float64), "units"
    whole = float(w @ x_cols)
    entered = np.zeros(model.n_x, dtype=np.int64)
    chosen = np.zeros(model.n_x)
    rows = []
    tick, close = progress_ticker(progress, n, desc="rank importance", unit="increment")
    try:
        for k in range(1, n + 1):
            t = time.perf_counter()
            budget = whole if k == n else whole * k / n
            keep = np.flatnonzero(in_plan & (chosen < 0.5))
            objective, status, gap, new = np.nan, "skipped", np.nan, 0
            if keep.size:
                m = with_row(model, w, -np.inf, budget * (1 + 1e-12), label="rank_budget")
                sub = m.restrict(keep, chosen)
                try:
                    sol = solve_model(sub, solver, **options)
                except InfeasibleProblemError:
                    status = "infeasible"
                else:
                    got = chosen.copy()
                    got[keep] = np.round(sub.x_cols_of(sol.x))
                    values = m.complete(got)
                    _check(m, values, k)
                    objective = model.objective_value(model.complete(got))
                    added = (got > 0.5) & (chosen < 0.5)
                    entered[added] = k
                    new = int(added.sum())
                    chosen = got
                    status, gap = sol.status.value, float(sol.gap)
            else:
                status = "done"
            rows.append({"increment": k, "budget": budget, "entered": new,
                         "objective": objective, "status": status, "gap": gap,
                         "seconds": time.perf_counter() - t})
            tick(f"increment {k} of {n}")
    finally:
        close()
    increment = np.zeros(problem.n_units, dtype=np.int64)
    increment[model.unit_of_col[:model.n_x]] = entered
    kind = rp.objective.kind if rp.objective is not None else "none"
    return RankResult(increment, pd.DataFrame(rows), spend, kind)


def _check(model: CompiledModel, values: np.ndarray, k: int) -> None:
    """Never trust a backend: the increment's plan must keep every row of its model."""
    worst = model.max_violation(values)
    if worst > 1e-6:
        raise SolverError(f"rank importance: increment {k}'s plan breaks a row of "
                                     f"its model by {worst:.3g}; rerun with solver='highs'")
