"""Tests of optimizer.solvers.fixing (issue 23 item 5, "use what the LP already proves"):
reduced-cost fixing from the LP's values never cuts off a plan better than the incumbent,
its bound is never better than the optimum, and the HiGHS strategy's MIP on the fixed
model still ends at the brute-force optimum.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import Case, all_selections, box_grid, brute_force

from optimizer.model.compile import CompiledModel, compile
from optimizer.model.problem import problem
from optimizer.solvers import HighsSolver
from optimizer.solvers.base import feasibility_tolerance
from optimizer.solvers.fixing import reduced_cost_fixing
from optimizer.solvers.highs import lp_options
from optimizer.solvers.highs_process import new_highs, pass_model


def _lp(model: CompiledModel) -> tuple[np.ndarray, float]:
    """The LP relaxation's optimal values and objective, as the strategy's LP stage runs it."""
    h = new_highs()
    h.setOptionValue("output_flag", False)
    pass_model(h, model)
    for key, value in {"solve_relaxation": True, **lp_options(model)}.items():
        h.setOptionValue(key, value)
    h.run()
    return np.array(h.getSolution().col_value), float(h.getInfo().objective_function_value)


def _plans(model: CompiledModel) -> tuple[np.ndarray, np.ndarray]:
    """Every feasible plan's columns and objectives (brute force over the x columns)."""
    xs = all_selections(model.n_x)
    cols = np.array([model.complete(x) for x in xs])
    ok = np.array([model.max_violation(v) <= feasibility_tolerance(model) for v in cols])
    return cols[ok], cols[ok] @ model.c + model.offset


CASES = [Case(2, 4, seed, kind, 0.3, 0.3, boundary, 1 if seed % 3 == 0 else 0, 0, 0.0,
              False, seed % 2 == 1)
         for seed in range(6) for kind in ("min_set", "max_utility")
         for boundary in (0.0, 1.0)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}-{c.seed}-b{c.boundary:g}")
def test_no_plan_better_than_the_incumbent_moves_a_fixed_column(case):
    model = compile(case.build())
    plans, objectives = _plans(model)
    if not len(plans):
        pytest.skip("no feasible plan")
    lp_values, lp_objective = _lp(model)
    sign = 1.0 if model.sense == "min" else -1.0
    # Every feasible plan as the incumbent, the worst first: the weaker the incumbent, the
    # less is fixed, and nothing better may ever be cut off.
    for incumbent in np.unique(objectives):
        fixing = reduced_cost_fixing(model, lp_values, float(incumbent))
        if fixing is None:
            continue
        optimum = objectives.min() if model.sense == "min" else objectives.max()
        assert sign * fixing.bound <= sign * optimum + 1e-7  # a bound, in the model's sense
        assert sign * fixing.bound <= sign * lp_objective + 1e-7  # never better than the LP
        better = sign * objectives < sign * incumbent - 1e-7
        moved = np.abs(plans[better][:, fixing.fixed] - fixing.value[fixing.fixed]) > 0.5
        assert not moved.any(), (incumbent, fixing.n_fixed)


def test_a_unit_the_lp_prices_out_is_fixed_and_the_mip_still_ends_at_the_optimum():
    # Cost = area. One feature of 1 per unit, target 2.5 units: the LP takes units 1 and 2
    # and half of unit 3 (cost 1 each): bound 2.5, the target's multiplier 1, so each unit's
    # reduced cost is its cost less 1. With a plan of cost 4 at hand (units 1, 2 and 6), a
    # better plan cannot hold unit 4 (cost 10: 2.5 + 9 > 4) or unit 5 (cost 50): fixed at 0;
    # unit 6 (2.5 + 1 < 4) stays free.
    costs = np.array([1.0, 1.0, 1.0, 10.0, 50.0, 2.0])
    pu = box_grid(2, 3, features={"sp_1": ("biodiversity", np.ones(6))}, area=costs)
    p = problem(pu).add_min_set_objective().add_relative_targets({"sp_1": 2.5 / 6})
    model = compile(p)
    lp_values, lp_objective = _lp(model)
    assert lp_objective == pytest.approx(2.5)
    incumbent = model.objective_value(model.complete(np.array([1, 1, 0, 0, 0, 1.0])))
    assert incumbent == pytest.approx(4.0)
    fixing = reduced_cost_fixing(model, lp_values, incumbent)
    assert fixing is not None and fixing.bound == pytest.approx(2.5)
    assert set(model.unit_of_col[fixing.fixed].tolist()) == {3, 4}
    assert np.all(fixing.value[fixing.fixed] == 0.0)
    # The strategy's own plan costs 3 (units 1-3, 0.5 above the bound): units 4-6 (reduced
    # costs 9, 49 and 1) are fixed, half the columns, so the MIP runs on units 1-3 alone.
    sol = HighsSolver(gap=0.0).solve(model)
    assert sol.info["fixed_columns"] == 3
    assert sol.objective == pytest.approx(brute_force(p)) == pytest.approx(3.0)
    assert sol.is_optimal
