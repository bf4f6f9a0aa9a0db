"""Solver backends behind one `Solver` protocol: HiGHS (arrays in) and pulp (CBC or any
pulp solver; LP/MPS export). Both return the same `Solution`.
"""

from __future__ import annotations

from typing import Any

from optimizer.errors import InputDataError
from optimizer.solvers.base import Solution, Solver, SolveStatus
from optimizer.solvers.highs import HighsSolver


def get_solver(name: str = "highs", **options: Any) -> Solver:
    """A solver by name: ``highs`` or ``pulp`` / ``pulp:<pulp solver>`` (e.g. ``pulp:PULP_CBC_CMD``).

    ``options`` go to `HighsSolver` or `optimizer.solvers.pulp.PulpSolver`.
    """
    if name == "highs":
        return HighsSolver(**options)
    if name == "pulp" or name.startswith("pulp:"):
        from optimizer.solvers.pulp import PulpSolver

        backend = name.split(":", 1)[1] if ":" in name else ""
        return PulpSolver(backend, **options)
    raise InputDataError(f"solver {name!r} is unknown; use 'highs', 'pulp' or "
                         "'pulp:<pulp solver name>' (e.g. 'pulp:PULP_CBC_CMD')")


__all__ = ["HighsSolver", "Solution", "SolveStatus", "Solver", "get_solver"]
