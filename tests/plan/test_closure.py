"""Tests of optimizer.plan.closure: the gap closure of a plan, worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import box_grid

from optimizer.model.problem import problem
from optimizer.plan.closure import gap_closure
from optimizer.plan.results import solve


def test_a_grid_with_nothing_protected_yet_has_no_density_before_and_a_hand_computed_one_after():
    # Nothing protected: the protected density before is undefined (no area), not an error
    # (it was a KeyError); after, it is the plan's own density over the whole area's.
    pu = box_grid(3, 3, seed=1, pa=np.zeros(9))
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    sol = solve(p)
    closure = gap_closure(pu, p, sol)
    row = closure.density.set_index("layer").loc["biomass"]
    b, a = pu.units["biomass"].to_numpy(), pu.units["area_km2"].to_numpy()
    x = sol.x > 0.5
    assert x.sum() > 0 and math.isnan(row["density_before"]) and math.isnan(row["ratio_before"])
    assert row["ratio_after"] == pytest.approx((b[x].sum() / a[x].sum()) / (b.sum() / a.sum()), rel=1e-12)
    ratio = closure.summary()["density_ratio"]["biomass"]
    assert ratio["before"] is None and ratio["after"] == pytest.approx(row["ratio_after"], rel=1e-12)
