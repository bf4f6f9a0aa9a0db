"""Solver backends behind one `Solver` protocol: HiGHS (arrays in), pulp (CBC or any
pulp solver; LP/MPS export) and the graph-cut Lagrangian solver for boundary
penalties (``cut``). All return the same `Solution`.
"""

from __future__ import annotations

from typing import Any

from optimizer.errors import InputDataError
from optimizer.solvers.base import Solution, Solver, SolveStatus
from optimizer.solvers.cut import (
    AUTO_MAX_RELAXED_ROWS,
    CutSolver,
    cut_form,
    has_cut_form,
    plan_for_budget,
)
from optimizer.solvers.highs import HighsSolver

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
        """Solve with the cut solver when the model has the cut form, else with HiGHS."""
        import dataclasses

        ok, why = has_cut_form(model)
        sol = self.cut.solve(model) if ok else self.highs.solve(model)
        return dataclasses.replace(sol, info={**sol.info, "auto": ("cut: " if ok else "highs: ")
                                              + why})


def get_solver(name: str = "highs", **options: Any) -> Solver:
    """A solver by name: ``highs``, ``cut``, ``auto``, or ``pulp`` / ``pulp:<pulp solver>``.

    ``options`` go to `HighsSolver`, `CutSolver`, `AutoSolver` or
    `optimizer.solvers.pulp.PulpSolver`.
    """
    if name == "highs":
        return HighsSolver(**options)
    if name == "cut":
        return CutSolver(**options)
    if name == "auto":
        return AutoSolver(**options)
    if name == "pulp" or name.startswith("pulp:"):
        from optimizer.solvers.pulp import PulpSolver

        backend = name.split(":", 1)[1] if ":" in name else ""
        return PulpSolver(backend, **options)
    raise InputDataError(f"solver {name!r} is unknown; use 'highs', 'cut', 'auto', 'pulp' or "
                         "'pulp:<pulp solver name>' (e.g. 'pulp:PULP_CBC_CMD')")


__all__ = ["AUTO_MAX_RELAXED_ROWS", "AutoSolver", "CutSolver", "HighsSolver", "Solution",
           "SolveStatus", "Solver", "cut_form", "get_solver", "has_cut_form", "plan_for_budget"]
