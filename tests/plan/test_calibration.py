"""Boundary-penalty calibration: the trade-off curve, a share of the objective, Cohon's method."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import box_grid
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.errors import InputDataError
from optimizer.model.problem import problem
from optimizer.plan.calibration import (
    add_compactness,
    boundary_summary,
    boundary_tradeoff,
    break_even_penalty,
    calibrate_boundary_penalty,
    compactness_multiple,
    penalty_for_share,
)
from optimizer.plan.results import boundary_length, objective_value, solve

EXACT = {"solver": "highs", "gap": 0.0}


def _problem(seed: int = 0, budget: float = 12.0):
    pu = box_grid(6, 6, seed=seed)
    return problem(pu).add_max_utility_objective(budget_km2=budget, weights={"carbon": 1,
                                                                             "biodiversity": 1})


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), budget=st.floats(4, 20))
def test_tradeoff_is_monotone(seed, budget):
    t = boundary_tradeoff(_problem(seed, budget), **EXACT)
    assert t["penalty"].is_monotonic_increasing and len(t) == 10
    tol = 1e-9
    assert (np.diff(t["boundary_km"]) <= tol).all()
    assert (np.diff(t["objective"]) <= tol).all()


def test_tradeoff_rows_are_the_plans_solved_at_each_penalty():
    p = _problem()
    t = boundary_tradeoff(p, [0.0, 0.01], **EXACT)
    sol = solve(p.add_boundary_penalty(0.01), **EXACT)
    row = t.iloc[1]
    assert row["boundary_km"] == pytest.approx(boundary_length(p, sol).iloc[1]["boundary_km"])
    assert row["objective"] == pytest.approx(objective_value(p, sol))
    assert row["share"] == pytest.approx(0.01 * row["boundary_km"] / row["objective"])


@pytest.mark.parametrize("share", [0.05, 0.1, 0.2])
def test_penalty_for_share_reaches_the_share(share):
    c = penalty_for_share(_problem(), share, **EXACT)
    assert c.converged and abs(c.share / share - 1) <= 0.1 and c.solves <= 12
    assert c.describe() == f"boundary penalty {c.penalty:.2g} (share {share:g} of the objective, calibrated)"


def test_cohon_penalty_is_the_slope_between_the_extremes():
    p = _problem()
    c = calibrate_boundary_penalty(p, curve=False, **EXACT)
    one = solve(p, **EXACT)
    u1, b1 = objective_value(p, one), boundary_length(p, one).iloc[1]["boundary_km"]
    big = 1e4 * abs(u1) / b1
    two = solve(p.add_boundary_penalty(big), **EXACT)
    u2, b2 = objective_value(p, two), boundary_length(p, two).iloc[1]["boundary_km"]
    assert c.penalty == pytest.approx((u1 - u2) / (b1 - b2), rel=1e-9)
    assert c.solves == 3 and b1 >= c.boundary_km >= b2


def test_cohon_with_curve_keeps_every_point():
    c = calibrate_boundary_penalty(_problem(), **EXACT)
    assert c.solves == len(c.curve) >= 11 and c.penalty in set(c.curve["penalty"])


def test_an_existing_penalty_is_replaced():
    p = _problem()
    a = boundary_tradeoff(p, [0.0, 0.02], **EXACT)
    b = boundary_tradeoff(p.add_boundary_penalty(5.0), [0.0, 0.02], **EXACT)
    assert a.drop(columns="runtime").equals(b.drop(columns="runtime"))


def test_bad_arguments():
    p = _problem()
    with pytest.raises(InputDataError, match=r"share must be a number >= 0; got -0\.1"):
        penalty_for_share(p, -0.1)
    with pytest.raises(InputDataError, match="method must be 'cohon'"):
        calibrate_boundary_penalty(p, method="knee")
    with pytest.raises(InputDataError, match="boundary penalty must be a finite number"):
        boundary_tradeoff(p, [-1.0])
    assert penalty_for_share(p, 0.0, **EXACT).penalty == 0.0


# ============================================================== scale-free compactness

def _hand_problem(weight: float = 1.0):
    """Six 1 km units, the first protected (locked in), the last worth nothing."""
    pu = box_grid(2, 3, pa=np.array([1.0, 0, 0, 0, 0, 0]),
                  features={"biomass": ("carbon_stock", np.array([5.0, 1, 2, 3, 4, 0]))})
    return problem(pu).add_max_utility_objective(budget_km2=2, weights={"biomass": weight})


def test_break_even_is_the_mean_value_of_worthwhile_free_units_over_their_perimeter():
    # free units worth adding: 1, 2, 3 and 4 of 15 MgC, each 4 km around
    assert break_even_penalty(_hand_problem()) == pytest.approx((1 + 2 + 3 + 4) / 4 / 15 / 4)
    assert break_even_penalty(_hand_problem(3.0)) == pytest.approx(
        3 * break_even_penalty(_hand_problem()))
    # the problem's own boundary penalty does not change it
    assert break_even_penalty(_hand_problem().add_boundary_penalty(5.0)) == pytest.approx(
        break_even_penalty(_hand_problem()))


def test_compactness_is_a_multiple_of_break_even_recorded_on_the_problem():
    p = _hand_problem()
    for c in (0.0, 0.5, 1.0):
        bp = add_compactness(p, c, 0.5).boundary_penalty
        assert bp.penalty == pytest.approx(compactness_multiple(c) * break_even_penalty(p))
        assert (bp.compactness, bp.break_even, bp.edge_factor) == (c, break_even_penalty(p), 0.5)
    s = boundary_summary(add_compactness(p, 0.5))
    assert s == {"compactness": 0.5, "penalty": pytest.approx(break_even_penalty(p)),
                 "break_even": break_even_penalty(p)}
    s = boundary_summary(p.add_boundary_penalty(1e-3))
    assert s == {"compactness": None, "penalty": 1e-3, "break_even": break_even_penalty(p)}


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True, float("nan")])
def test_compactness_outside_zero_one_is_one_line(bad):
    with pytest.raises(InputDataError, match=r"^compactness must be a number in \[0, 1\]; got "):
        add_compactness(_hand_problem(), bad)
