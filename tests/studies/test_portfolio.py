"""Tests of optimizer.studies.portfolio: the plans equal the brute-force sequence (the best
plan, then the best at the asked Hamming distance from every earlier one), all within the
gap and pairwise distinct; frequency is the plans' mean; stopping reasons; mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.datasets import tiny_grid
from optimizer.errors import InputDataError
from optimizer.model.problem import problem
from optimizer.studies.portfolio import portfolio


def _brute_sequence(p, n: int, gap: float, d: int) -> list[float]:
    """Objectives of the greedy distinct sequence, by enumeration of every plan."""
    sel = all_selections(p.n_units)
    ok = np.array([reference_feasible(p, x) for x in sel])
    sel = sel[ok]
    val = np.array([reference_objective(p, x) for x in sel])
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    chosen: list[np.ndarray] = []
    out: list[float] = []
    while len(out) < n:
        far = np.ones(len(sel), dtype=bool)
        for c in chosen:
            far &= (sel != c).sum(axis=1) >= d
        if not far.any():
            break
        k = int(np.argmax(np.where(far, sign * val, -np.inf)))
        if out and sign * (out[0] - val[k]) > gap * abs(out[0]) + 1e-9:
            break
        chosen.append(sel[k])
        out.append(float(val[k]))
    return out


@pytest.mark.parametrize("solver", ["highs", "auto"])
@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("case", ["max_utility", "min_set_boundary"])
def test_the_portfolio_is_the_brute_force_sequence(case, d, solver):
    if case == "max_utility":
        p = problem(box_grid(3, 3, seed=5, n_species=3)).add_max_utility_objective(budget_km2=3)
    else:
        p = (problem(box_grid(2, 4, seed=8, n_species=2)).add_min_set_objective()
             .add_relative_targets(0.3).add_boundary_penalty(0.1))
    pf = portfolio(p, 6, gap=0.3, min_distance=d, solver=solver)
    expected = _brute_sequence(p, 6, 0.3, d)
    # Recomputed objectives, in order; ties may pick another plan of the same value.
    got = [reference_objective(p, x) for x in pf.plans]
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert pf.table["objective"].tolist() == pytest.approx(
        [o - got[0] + pf.table["objective"].iloc[0] for o in got], rel=1e-7, abs=1e-9)
    for a in range(len(pf.plans)):
        assert reference_feasible(p, pf.plans[a])
        for b in range(a):
            assert (pf.plans[a] != pf.plans[b]).sum() >= d
    assert (pf.table["gap_to_best_pct"] <= 30 + 1e-9).all()
    assert np.allclose(pf.frequency["frequency"], pf.plans.mean(axis=0))
    assert pf.complete == (len(expected) == 6)


def test_fewer_plans_than_asked_say_why():
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    pf = portfolio(p, 5, gap=0.1)  # only 140 MgC is within 10% (120 is 14.3% below)
    assert len(pf.plans) == 1 and not pf.complete
    assert "past the gap" in pf.why and "Fewer than asked" in pf.summary()


def test_write_holds_every_plan_and_the_frequency(tmp_path):
    import pandas as pd

    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    pf = portfolio(p, 3, gap=0.5)
    pf.write(tmp_path / "pf")
    freq = pd.read_csv(tmp_path / "pf" / "frequency.csv")
    plans = freq[[f"plan_{k}" for k in (1, 2, 3)]].to_numpy()
    assert np.allclose(plans.mean(axis=1), freq["frequency"])
    assert len(pd.read_csv(tmp_path / "pf" / "portfolio.csv")) == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, "n must be a whole number of plans"),
    ({"n": 2, "gap": -0.1}, "gap must be a share"),
    ({"n": 2, "min_distance": 0}, "min_distance must be a whole number"),
])
def test_the_users_mistakes_are_one_line_errors(kwargs, match):
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    with pytest.raises(InputDataError, match=match) as err:
        portfolio(p, **kwargs)
    assert "\n" not in str(err.value)


def test_no_plan_far_enough_ends_the_portfolio_and_says_why():
    # 5 free cells and a 2 km2 budget: no second plan differs from the first in 5 cells.
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    pf = portfolio(p, 3, gap=1.0, min_distance=5)
    assert len(pf.plans) == 1 and not pf.complete
    assert pf.why == "no other plan is 5 units or more from the 1 found"
