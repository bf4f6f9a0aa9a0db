"""Tests of optimizer.solvers.local_search (issue 23 item 1): the one-unit moves that improve
the greedy first plan keep every budget, target and lock (recomputed from the grid's columns),
never make a plan worse, never beat brute force, and fill a hole a boundary penalty prices.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import box_grid, brute_force, cases, reference_feasible, reference_objective
from hypothesis import HealthCheck, given, settings

from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.solvers.greedy import first_plan, greedy_x
from optimizer.solvers.local_search import improve_plan


def _start(model, kind: str) -> np.ndarray | None:
    """A feasible start unlike the greedy's: every free unit for a min set, none otherwise."""
    x = np.ones(model.n_x) if kind == "min_set" else np.zeros(model.n_x)
    return x if model.max_violation(model.complete(x)) <= 1e-9 else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_moves_keep_the_plan_feasible_never_worse_and_never_past_brute_force(case):
    p = case.build()
    model = compile(p)
    if not model.n_x:
        return
    best = brute_force(p)
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    for start in (greedy_x(model), _start(model, case.kind)):
        if start is None:
            continue
        x = improve_plan(model, start)
        before, after = model.unit_x(model.complete(start)), model.unit_x(model.complete(x))
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert reference_feasible(p, after)
        assert sign * reference_objective(p, after) >= sign * reference_objective(p, before) - 1e-9
        assert best is not None and sign * reference_objective(p, after) <= sign * best + 1e-7


def test_a_boundary_penalty_fills_the_hole_of_a_ring():
    # Every unit of a 3 x 3 grid but the centre holds 1 of a species; the target needs all 8.
    # The ring costs 8 km² + 16 km of boundary; with the centre, 9 km² + 12 km.
    amounts = np.ones(9)
    amounts[4] = 0.0
    pu = box_grid(3, 3, features={"sp_1": ("biodiversity", amounts)})
    p = (problem(pu).add_absolute_targets({"sp_1": 8.0}).add_min_set_objective()
         .add_boundary_penalty(1.0))
    model = compile(p)
    ring = np.ones(9)
    ring[4] = 0.0
    assert reference_objective(p, ring) == pytest.approx(8 + 16)
    x = model.unit_x(model.complete(improve_plan(model, model.unit_x(model.complete(ring)))))
    assert x.tolist() == [1.0] * 9
    assert reference_objective(p, x) == pytest.approx(9 + 12) == brute_force(p)


def test_a_redundant_unit_of_a_cover_goes():
    # Two units each meet the target alone; a plan holding both keeps the cheaper one.
    pu = box_grid(1, 3, features={"sp_1": ("biodiversity", np.array([1.0, 0.0, 1.0]))},
                  area=np.array([2.0, 1.0, 1.0]))
    p = problem(pu).add_absolute_targets({"sp_1": 1.0}).add_min_set_objective()
    model = compile(p)
    x = improve_plan(model, np.array([1.0, 0.0, 1.0]))
    assert model.unit_x(model.complete(x)).tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("seed", range(3))
def test_the_first_plan_improves_on_the_greedy_under_a_strong_boundary_penalty(seed):
    rng = np.random.default_rng(seed)
    pu = box_grid(20, 20, seed=seed, n_species=4, area=rng.uniform(0.5, 1.5, 400).round(2))
    p = (problem(pu).add_relative_targets({"biodiversity": 0.35}).add_min_set_objective()
         .add_boundary_penalty(1.0))
    model = compile(p)
    raw = model.objective_value(model.complete(greedy_x(model)))
    plan = first_plan(model)
    assert plan.steps[0][1] == pytest.approx(raw) and plan.steps[-1][1] == plan.objective
    assert plan.objective < raw * 0.97  # the moves gain at least 3% here (min)
    assert plan.objective == pytest.approx(reference_objective(p, model.unit_x(plan.values)))
