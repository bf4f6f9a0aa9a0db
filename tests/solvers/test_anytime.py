"""Anytime (issue 23): every backend and strategy, under a time limit far too short to
solve, returns a feasible plan of a feasible problem, with a valid bound where it has one.

Checked by hand against the grid's own columns and against brute force (tiny problems) or
an interval holding the optimum (a 900-unit grid with a boundary penalty): the plan meets every budget,
target and lock; its objective is recomputed; it is never better than the optimum; a
finite bound is never beaten by the optimum; the gap is the plan's distance to the bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import box_grid, brute_force, cases, reference_feasible, reference_objective
from hypothesis import HealthCheck, given, settings

from optimizer import solve
from optimizer.errors import InfeasibleProblemError
from optimizer.model.compile import compile
from optimizer.model.problem import Problem, problem
from optimizer.solvers import SolveStatus, has_cut_form
from optimizer.solvers.base import relative_gap

PLANS = (SolveStatus.OPTIMAL, SolveStatus.WITHIN_GAP, SolveStatus.FEASIBLE)

#: (solver, options) of every backend and HiGHS strategy.
BACKENDS = [("highs", {"strategy": "auto"}), ("highs", {"strategy": "mip"}),
            ("highs", {"strategy": "lp-round"}), ("cut", {}), ("pulp", {})]


def _check(p: Problem, sol, best: float) -> None:
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    assert sol.status in PLANS
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), rel=1e-9, abs=1e-7)
    assert sign * sol.objective <= sign * best + 1e-6 * max(1.0, abs(best))
    if np.isfinite(sol.bound):
        assert sign * sol.bound >= sign * best - 1e-6 * max(1.0, abs(best))
        assert sol.gap == pytest.approx(relative_gap(sol.objective, sol.bound), abs=1e-12)
    else:
        assert np.isnan(sol.gap) and sol.status is SolveStatus.FEASIBLE


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: f"{b[0]}-{b[1].get('strategy', '')}")
def test_every_backend_returns_a_valid_plan_under_a_tiny_limit(case, backend):
    p = case.build()
    model = compile(p)
    name, options = backend
    if name == "cut" and not has_cut_form(model)[0]:
        return
    best = brute_force(p)
    if best is None:
        with pytest.raises(InfeasibleProblemError):
            solve(p, name, time_limit=1e-3, **options)
        return
    _check(p, solve(p, name, time_limit=1e-3, **options), best)


@pytest.fixture(scope="module")
def grid_900():
    """A 30 x 30 min set with a boundary penalty, and an interval holding its optimum (a
    HiGHS plan and its proven bound: proving gap 0 takes minutes)."""
    rng = np.random.default_rng(5)
    pu = box_grid(30, 30, seed=5, n_species=5, area=rng.uniform(0.5, 1.5, 900).round(2))
    p = (problem(pu).add_relative_targets({"biodiversity": 0.3}).add_min_set_objective()
         .add_boundary_penalty(0.5))
    ref = solve(p, "highs", gap=0.05, time_limit=20)
    assert np.isfinite(ref.bound) and reference_feasible(p, ref.x)
    return p, ref.bound, reference_objective(p, ref.x)


@pytest.mark.parametrize("limit", [1e-3, 0.05])
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: f"{b[0]}-{b[1].get('strategy', '')}")
def test_a_900_unit_grid_gets_a_valid_plan_under_a_tiny_limit(grid_900, backend, limit):
    # The optimum lies in [low, high]: a plan is never below low, a bound never above high.
    p, low, high = grid_900
    name, options = backend
    sol = solve(p, name, time_limit=limit, **options)
    assert sol.status in PLANS
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), rel=1e-9, abs=1e-7)
    assert sol.objective >= low - 1e-6 * abs(low)
    if np.isfinite(sol.bound):
        assert sol.bound <= high + 1e-6 * abs(high)
    assert 0 <= sol.info["time_to_first_plan_s"] <= sol.runtime
