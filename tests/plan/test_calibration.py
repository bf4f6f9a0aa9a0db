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
    boundary_tradeoff,
    calibrate_boundary_penalty,
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
