"""Solve a zoned problem and read its plan: each unit's zone, the objective recomputed from
the zones, each zone's area and boundary, and each feature's amount held per zone.

`solve_zones` compiles (`optimizer.model.zones_compile`), solves with any backend (HiGHS
by default: the assignment rows make the cut solver's relaxation weak) and never trusts
the backend: the objective is recomputed from the plan's zones by `zoned_objective`, a
second formula written straight from the problem (not from the compiled model), and every
row is checked.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.zones import ZonedProblem
from optimizer.model.zones_compile import ZonedModel, compile_zones
from optimizer.plan.solving import diagnose, solve_model
from optimizer.plan.zoned_evaluation import (
    zone_areas,
    zone_representation,
    zoned_objective,
    zoned_violations,
)
from optimizer.plan.zoned_relax import lagrangian_applies, lagrangian_zones
from optimizer.solvers import HighsSolver, get_solver
from optimizer.solvers.base import Solution, Solver, feasibility_tolerance, stop_on_interrupt

__all__ = ["ZonedPlan", "solve_zones", "zone_areas", "zone_representation", "zoned_objective",
           "zoned_violations"]

#: ``method="auto"`` starts from the zone prices' Lagrangian from this many units: below it
#: HiGHS proves the zoned model within 0.1% in seconds (`benchmarks/bench_zones.py`: 5.3 s at
#: 1,488 units), above it its LP is the bottleneck (over 60 s at 22,425 units).
LAGRANGIAN_UNITS = 2_000

#: Relative tolerance between the solver's objective and `zoned_objective`'s.
OBJECTIVE_TOLERANCE = 1e-7


@dataclass(frozen=True)
class ZonedPlan:
    """A zoned problem's plan.

    Attributes
    ----------
    zone : numpy.ndarray
        Each unit's zone (position in ``names``), -1 for units not selected.
    names : tuple of str
        Zone names.
    solution : Solution
        The backend's solution (``x`` is 1 for a unit in any zone; ``objective``,
        ``bound``, ``gap`` and ``status`` as for any plan).
    objective : float
        `zoned_objective` of ``zone``: equal to ``solution.objective`` (checked).
    """

    zone: np.ndarray
    names: tuple[str, ...]
    solution: Solution
    objective: float

    def zone_names(self) -> np.ndarray:
        """Each unit's zone name ("" when not selected)."""
        labels = np.array(["", *self.names], dtype=object)
        return labels[self.zone + 1]


def solve_zones(zp: ZonedProblem, solver: str | Solver = "highs", *,
                model: ZonedModel | None = None, method: str = "auto",
                **options: Any) -> ZonedPlan:
    """Solve a zoned problem: each selected unit's zone, with a proven gap.

    Parameters
    ----------
    zp : ZonedProblem
    solver : str or Solver
        ``"highs"`` (default), ``"auto"``, ``"cut"``, ... as `optimizer.plan.solving.solve`.
    model : ZonedModel, optional
        ``compile_zones(zp)`` when the caller has it.
    method : {"auto", "mip", "lagrangian"}
        ``"lagrangian"``: first the search over the zones' area prices
        (`optimizer.plan.zoned_relax.lagrangian_zones`, up to half the time limit), whose
        best plan and bound start HiGHS (which stops at once when they are within the gap);
        ``"mip"``: HiGHS (or ``solver``) on the zoned model alone; ``"auto"``: the
        Lagrangian start for max utility with a zone area cap from `LAGRANGIAN_UNITS`
        units, with ``solver`` ``"highs"`` or ``"auto"``.
    **options
        Passed to the solver (``time_limit``, ``gap``, ...).

    Returns
    -------
    ZonedPlan

    Raises
    ------
    InfeasibleProblemError
        No zoned plan meets every budget, target and lock.
    SolverError
        The solver's plan breaks a row, or its objective is not the plan's.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> zp = zoned_problem(p, [Zone("core", max_km2=1), Zone("general", {"carbon": 0.5})])
    >>> plan = solve_zones(zp, gap=0.0)
    >>> plan.zone_names().tolist(), round(plan.objective, 4)  # cell 1 is already protected
    (['core', '', '', 'core', 'general', ''], 0.3793)
    """
    found = diagnose(zp.problem)
    if found:
        raise InfeasibleProblemError("; ".join(found))
    if method not in ("auto", "mip", "lagrangian"):
        raise InputDataError(f"method must be 'auto', 'mip' or 'lagrangian'; got {method!r}")
    started = time.perf_counter()
    zm = model if model is not None else compile_zones(zp)
    bp = zp.problem.boundary_penalty
    penalty = bp.penalty if bp is not None else 0.0
    relax = lagrangian_applies(zp) and (method == "lagrangian" or (
        method == "auto" and solver in ("auto", "highs")
        and zp.problem.n_units >= LAGRANGIAN_UNITS))
    if method == "lagrangian" and not lagrangian_applies(zp):
        raise InputDataError("method='lagrangian' prices the zones' area caps of a max utility "
                             "problem: give a zone max_km2, or use method='mip'")
    if relax:
        sol = _solve_from_lagrangian(zp, zm, penalty, started, options)
    else:
        sol = solve_model(zm.model, solver, boundary_penalty=penalty, **options)
    if sol.values is None:
        raise SolverError("the solver returned no column values for the zoned plan")
    zone = zm.zone_of_unit(sol.values)
    values = zm.values_of(zone)
    viol = zm.model.max_violation(values)
    if viol > feasibility_tolerance(zm.model):
        raise SolverError(f"the solver's zoned plan breaks a row by {viol:.3g}; report this "
                          "with the scenario")
    broken = zoned_violations(zp, zone)
    if broken:
        raise SolverError(f"the zoned plan breaks {broken[0]}; report this with the scenario")
    objective = zoned_objective(zp, zone)
    if abs(objective - sol.objective) > OBJECTIVE_TOLERANCE * max(1.0, abs(objective)):
        raise SolverError(f"the solver reports objective {sol.objective:.10g} but the zoned plan's "
                          f"is {objective:.10g}; report this with the scenario")
    return ZonedPlan(zone, zm.names, dataclasses.replace(sol, objective=objective), objective)


def _solve_from_lagrangian(zp: ZonedProblem, zm: ZonedModel, penalty: float, started: float,
                           options: dict[str, Any]) -> Solution:
    """HiGHS on the zoned model, started from `lagrangian_zones`' plan and bound."""
    limit = options.get("time_limit")
    gap = float(options.get("gap", 1e-4))
    deadline = started + 0.5 * limit if limit else float("inf")
    with stop_on_interrupt():
        lz = lagrangian_zones(zp, deadline=deadline, gap=min(gap, 1e-4))
    rest = dict(options)
    if limit:
        rest["time_limit"] = max(limit - (time.perf_counter() - started), 0.01)
    backend = get_solver("highs", **rest)
    assert isinstance(backend, HighsSolver)
    warm = zm.values_of(lz.zone) if lz.zone is not None else None
    with stop_on_interrupt():
        sol = backend.solve(zm.model, warm_start=warm,
                            bound=lz.bound if warm is not None else float("nan"))
    info = {**sol.info, "boundary_penalty": penalty,
            "zone_lagrangian": {"bound": lz.bound, "objective": lz.objective, "mu": lz.mu,
                                "evaluations": lz.evaluations,
                                "seconds": round(lz.seconds, 3)}}
    return dataclasses.replace(sol, requested_gap=gap, info=info,
                               strategy=f"zone-lagrangian+{sol.strategy}")
