"""Solving a scenario: its grid loaded or built, its problem built, solved with its options."""

from __future__ import annotations

import os
from pathlib import Path

from optimizer.grid.planning_units import PlanningUnits
from optimizer.plan.results import solve
from optimizer.plan.zoned import solve_zones
from optimizer.scenario.build import solver_options
from optimizer.scenario.file import Scenario
from optimizer.scenario.messages import blame_scenario
from optimizer.solvers import Solution

__all__ = ["solve_scenario"]


def solve_scenario(scenario: Scenario | str | os.PathLike[str], pu: PlanningUnits | None = None
                   ) -> Solution:
    """Solve a scenario: load or build its grid, build its problem, solve with its options.

    Parameters
    ----------
    scenario : Scenario or path
        A scenario, or a scenario file to `Scenario.load`.
    pu : PlanningUnits, optional
        The planning units (default: the scenario's grid, `Scenario.load_grid`).

    Returns
    -------
    Solution
        With ``solution.problem``-independent status, selection and objective. A scenario
        with ``[[zones]]`` is solved with its zones (`optimizer.plan.zoned.solve_zones`):
        ``x`` is 1 for a unit in any zone and ``objective`` the zoned plan's; its zones
        come from ``solve_zones(scenario.to_zoned_problem())``.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.scenario import Scenario, solve_scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "unused: the units are given"
    ... budget.km2 = 2
    ... weights.carbon = 1
    ... solver = {backend = "highs", gap = 0.0}
    ... ''')
    >>> sol = solve_scenario(s, pu=tiny_grid())
    >>> sol.selected.nonzero()[0].tolist(), round(sol.objective, 4)
    ([0, 3, 4], 0.4828)
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(Path(scenario))
    pu = scenario.load_grid() if pu is None else pu
    p = scenario.to_problem(pu)
    if scenario.zones:  # each selected unit in one zone: `solve_zones`, checked
        zp = scenario.to_zoned_problem(pu, p)
        with blame_scenario(scenario, "solver"):
            return solve_zones(zp, scenario.solver.backend, **solver_options(scenario)).solution
    with blame_scenario(scenario, "solver"):
        return solve(p, scenario.solver.backend, **solver_options(scenario))
