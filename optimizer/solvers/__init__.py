"""Solver backends behind one `Solver` protocol: HiGHS (arrays in), pulp (CBC or any
pulp solver; LP/MPS export), the graph-cut Lagrangian solver for boundary
penalties (``cut``) and ``auto``, the default (`optimizer.solvers.auto`: `choose` picks
by the model's structure, and runs the cut solver and HiGHS at once on two cores). All
return the same `Solution`.
"""

from __future__ import annotations

from typing import Any

from optimizer.errors import InputDataError
from optimizer.solvers.auto import AutoSolver, Choice, choose
from optimizer.solvers.base import BudgetPath, Solution, Solver, SolveStatus
from optimizer.solvers.cut import (
    AUTO_MAX_RELAXED_ROWS,
    CutSolver,
    cut_form,
    has_cut_form,
    plan_for_budget,
)
from optimizer.solvers.highs import HighsSolver
from optimizer.solvers.pulp import PulpSolver


def get_solver(name: str = "auto", **options: Any) -> Solver:
    """A solver by name: ``auto`` (the default: `choose`), ``highs``, ``cut``, or ``pulp`` /
    ``pulp:<pulp solver>``.

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


__all__ = ["AUTO_MAX_RELAXED_ROWS", "AutoSolver", "BudgetPath", "Choice", "CutSolver", "HighsSolver",
           "Solution", "SolveStatus", "Solver", "choose", "cut_form", "get_solver", "has_cut_form",
           "plan_for_budget"]
