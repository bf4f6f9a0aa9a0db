"""Solver backends behind one `Solver` protocol: HiGHS (arrays in), pulp (CBC or any
pulp solver; LP/MPS export) and the graph-cut Lagrangian solver for boundary
penalties (``cut``). All return the same `Solution`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.solvers.base import (
    BudgetPath,
    Solution,
    Solver,
    SolveStatus,
    better,
    relative_gap,
    stop_requested,
    tighter_bound,
)
from optimizer.solvers.cut import (
    AUTO_MAX_RELAXED_ROWS,
    CutSolver,
    cut_form,
    has_cut_form,
    plan_for_budget,
)
from optimizer.solvers.highs import HighsSolver
from optimizer.solvers.pulp import PulpSolver

#: Least seconds `AutoSolver` gives HiGHS to improve a cut plan when no time limit is set.
HANDOFF_MIN_SECONDS = 10.0

#: Options `AutoSolver` hands to both backends; the rest go to the one that knows them.
_SHARED = ("time_limit", "gap", "log")


class AutoSolver:
    """The cut solver where the model has the cut form, else the HiGHS strategy.

    The cut form holds when the model has boundary edges between free units, every
    pairwise weight is non-negative and there are at most `AUTO_MAX_RELAXED_ROWS`
    relaxed rows (budget sides and targets). ``info["auto"]`` records the choice.

    Parameters
    ----------
    **options
        ``time_limit``, ``gap`` and ``log`` go to whichever backend runs; other
        options go to the backend that accepts them (e.g. ``strategy`` to HiGHS,
        ``path_points`` to the cut solver).
    """

    name = "auto"

    def __init__(self, **options: Any) -> None:
        import dataclasses

        cut_fields = {f.name for f in dataclasses.fields(CutSolver)}
        highs_fields = {f.name for f in dataclasses.fields(HighsSolver)}
        unknown = set(options) - cut_fields - highs_fields
        if unknown:
            raise InputDataError(f"solver 'auto': unknown option(s) {sorted(unknown)}; use "
                                 "options of HighsSolver or CutSolver")
        self.cut = CutSolver(**{k: v for k, v in options.items() if k in cut_fields})
        self.highs = HighsSolver(**{k: v for k, v in options.items() if k in highs_fields})

    def solve(self, model: Any) -> Solution:
        """Solve with the cut solver when the model has the cut form, else with HiGHS.

        When the cut solver stops short of the requested gap and time is left, its
        plan and bound go to the HiGHS MIP as a warm start (`HighsSolver.solve` with
        ``warm_start``); the better plan and the tighter bound are kept. Without a
        ``time_limit`` the hand-off gets ``max(HANDOFF_MIN_SECONDS, 2 x`` the cut
        solver's time``)``, so ``auto`` never runs unbounded.
        """
        import dataclasses
        import time


        ok, why = has_cut_form(model)
        if not ok:
            sol = self.highs.solve(model)
            return dataclasses.replace(sol, info={**sol.info, "auto": "highs: " + why})
        started = time.perf_counter()
        sol = self.cut.solve(model)
        info = {**sol.info, "auto": "cut: " + why}
        if sol.status is not SolveStatus.FEASIBLE or sol.values is None:
            return dataclasses.replace(sol, info=info)
        spent = time.perf_counter() - started
        limit = (self.highs.time_limit - spent if self.highs.time_limit
                 else max(HANDOFF_MIN_SECONDS, 2 * spent))
        if limit < 1.0 or stop_requested():
            return dataclasses.replace(sol, info=info)
        mip = dataclasses.replace(self.highs, strategy="mip", time_limit=limit)
        try:
            warm = mip.solve(model, warm_start=sol.values, bound=sol.bound)
        except (InfeasibleProblemError, SolverError):
            return dataclasses.replace(sol, info=info)
        best = warm if better(model, warm.objective, sol.objective) else sol
        bound = tighter_bound(model, sol.bound, warm.bound)
        gap = relative_gap(best.objective, bound)
        status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.highs.gap + 1e-12
                  else SolveStatus.INTERRUPTED if stop_requested() else SolveStatus.FEASIBLE)
        info.update(handoff_seconds=round(warm.runtime, 3), handoff_objective=warm.objective,
                    handoff_bound=warm.bound)
        return dataclasses.replace(
            best, status=status, bound=bound, gap=gap, runtime=time.perf_counter() - started,
            solver="auto", strategy=f"{sol.strategy}+highs-mip", log=sol.log + warm.log, info=info)


def get_solver(name: str = "highs", **options: Any) -> Solver:
    """A solver by name: ``highs``, ``cut``, ``auto``, or ``pulp`` / ``pulp:<pulp solver>``.

    ``options`` go to `HighsSolver`, `CutSolver`, `AutoSolver` or
    `optimizer.solvers.pulp.PulpSolver`.

    Examples
    --------
    >>> from optimizer import compile, get_solver, problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> sol = get_solver("highs", gap=0.0, time_limit=10).solve(compile(p))
    >>> sol.solver, sol.status.value, round(sol.objective, 4)
    ('highs', 'optimal', 0.4828)
    """
    if name == "highs":
        return HighsSolver(**options)
    if name == "cut":
        return CutSolver(**options)
    if name == "auto":
        return AutoSolver(**options)
    if name == "pulp" or name.startswith("pulp:"):

        backend = name.split(":", 1)[1] if ":" in name else ""
        return PulpSolver(backend, **options)
    raise InputDataError(f"solver {name!r} is unknown; use 'highs', 'cut', 'auto', 'pulp' or "
                         "'pulp:<pulp solver name>' (e.g. 'pulp:PULP_CBC_CMD')")


__all__ = ["AUTO_MAX_RELAXED_ROWS", "AutoSolver", "BudgetPath", "CutSolver", "HighsSolver", "Solution",
           "SolveStatus", "Solver", "cut_form", "get_solver", "has_cut_form", "plan_for_budget"]
