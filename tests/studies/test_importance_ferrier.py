"""Tests of Ferrier irreplaceability (optimizer.studies.importance_ferrier): its closed form
written out by hand, scalar by scalar, on hand-made grids of 2-4 units; its properties; and
the one-line error for another objective than min set.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import box_grid

from optimizer.errors import InputDataError
from optimizer.model.problem import problem
from optimizer.studies.importance import importance


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _adj(n: float, m: float) -> float:
    return math.sqrt(n - m) / m if m > n / 2 else math.sqrt(m) / m


def _p(tau: float, mean: float, sd: float) -> float:
    if sd < 1e-11:
        return 0.0 if mean < tau else 1.0
    return 1.0 - _phi((tau - mean) / sd)


def _by_hand(r: list[float], t: float, sel: list[int]) -> list[float]:
    """Ferrier et al. (2000) as prioritizr's rcpp_ferrier_score writes it, one unit at a
    time with plain floats."""
    n, m = float(len(r)), float(len(sel))
    w_in = m / n
    w_out = 1 - w_in
    s, q = sum(r), sum(v * v for v in r)
    out = [0.0] * len(r)
    for j in sel:
        a = r[j]
        if a <= 0:
            continue
        s1 = (s - a) * n / (n - 1)
        q1 = (q - a * a) * n / (n - 1)
        mean = s1 / n
        sd = math.sqrt(max(q1 - (s1 ** 2 / n) / n, 0.0))
        rem = 0.0 if s1 - a < t else _p(t / (m - 1), mean, sd * _adj(n - 1, m - 1))
        inc = 1.0 if a >= t else _p((t - a) / (m - 1), mean, sd * _adj(n - 1, m - 1))
        exc = 0.0 if s1 - a < t else _p(t / m, mean, sd * _adj(n - 1, m))
        if abs(inc + exc) < 1e-15:
            continue
        if abs(inc) < 1e-15 and a > 1e-15:
            inc = 1.0
        out[j] = (inc - rem) * w_in / (inc * w_in + exc * w_out)
    return out


def _one_feature(amounts: list[float], target: float):
    pu = box_grid(1, len(amounts), features={"sp": ("biodiversity", np.array(amounts))})
    return problem(pu).add_min_set_objective().add_absolute_targets({"sp": target})


@pytest.mark.parametrize("amounts,target,sel", [
    ([2.0, 1.0, 1.0, 1.0], 2.0, [0, 1, 2]),   # the smooth (normal tail) branch
    ([1.0, 1.0, 1.0, 1.0], 1.5, [0, 1]),
    ([3.0, 0.5, 0.5], 3.0, [0]),               # only unit 0 meets the target
    ([1.0, 2.0, 0.5], 2.5, [0, 1]),
    ([0.5, 0.0, 4.0, 1.0], 1.0, [2, 3]),
])
def test_ferrier_equals_its_closed_form_by_hand(amounts, target, sel):
    p = _one_feature(amounts, target)
    x = np.zeros(len(amounts))
    x[sel] = 1.0
    imp = importance(p, x, method="ferrier")
    expected = _by_hand(amounts, target, sel)
    assert imp.table["ferrier_sp"].tolist() == pytest.approx(expected, abs=1e-12)
    assert imp.table["importance"].tolist() == pytest.approx(expected, abs=1e-12)


def test_one_value_worked_through():
    """r = (2, 1, 1, 1), t = 2, plan {0, 1, 2} (n 4, m 3), unit 1 (a = 1):
    S' = (5 - 1) 4/3 = 16/3, Q' = (7 - 1) 4/3 = 8, mean 4/3, sd = sqrt(8 - (256/9)/16) =
    sqrt(56/9); adj(3, 2) = sqrt(3 - 2)/2 = 0.5 (2 > 3/2); S' - a = 13/3 >= 2, so
    removed = 1 - Phi((2/2 - 4/3) / (0.5 sd)); a < t, so
    included = 1 - Phi(((2 - 1)/2 - 4/3) / (0.5 sd)); adj(3, 3) = 0: a degenerate
    spread, mean 4/3 >= 2/3, so excluded = 1."""
    sd = math.sqrt(56 / 9)
    rem = 1 - _phi((1 - 4 / 3) / (0.5 * sd))
    inc = 1 - _phi((0.5 - 4 / 3) / (0.5 * sd))
    w_in = 3 / 4
    expected = (inc - rem) * w_in / (inc * w_in + 1.0 * (1 - w_in))
    imp = importance(_one_feature([2.0, 1.0, 1.0, 1.0], 2.0), np.array([1, 1, 1, 0.0]),
                     method="ferrier")
    assert imp.table["importance"][1] == pytest.approx(expected, abs=1e-12)
    assert 0 < expected < 1


def test_a_unit_holding_all_of_a_needed_feature_scores_one():
    pu = box_grid(1, 4, features={"rare": ("biodiversity", np.array([0, 5.0, 0, 0])),
                                  "common": ("biodiversity", np.array([1.0, 1, 1, 1]))})
    p = problem(pu).add_min_set_objective().add_absolute_targets({"rare": 2, "common": 2})
    imp = importance(p, method="ferrier", gap=0.0)
    t = imp.table
    assert t.loc[1, "ferrier_rare"] == pytest.approx(1.0)
    assert t.loc[1, "importance"] == pytest.approx(1.0 + t.loc[1, "ferrier_common"])
    # Per-feature columns add up to the total; units outside the plan score 0.
    cols = [c for c in t.columns if c.startswith("ferrier_")]
    assert np.allclose(t[cols].sum(axis=1), t["importance"])
    x = imp.table["added"].to_numpy()
    assert (t.loc[~x, "importance"] == 0).all()


def test_existing_protection_lowers_the_target_and_the_amounts():
    """Half of unit 0 is protected (pa 0.4 < threshold): it adds 0.6 r, and the target is
    what the existing 0.4 r leaves, as the min set objective counts them."""
    r = [2.0, 1.0, 1.0, 1.0]
    pu = box_grid(1, 4, features={"sp": ("biodiversity", np.array(r))},
                  pa=np.array([0.4, 0, 0, 0]))
    p = problem(pu).add_min_set_objective().add_absolute_targets({"sp": 2.5})
    x = np.array([1, 1, 1, 0.0])
    imp = importance(p, x, method="ferrier")
    expected = _by_hand([2.0 * 0.6, 1.0, 1.0, 1.0], 2.5 - 0.8, [0, 1, 2])
    assert imp.table["importance"].tolist() == pytest.approx(expected, abs=1e-12)


def test_ferrier_on_another_objective_is_a_one_line_error():
    pu = box_grid(1, 3, seed=1)
    p = problem(pu).add_max_utility_objective(budget_km2=1)
    with pytest.raises(InputDataError, match="'ferrier' needs the min set objective; this "
                                             "problem's objective is 'max_utility'") as err:
        importance(p, method="ferrier")
    assert "\n" not in str(err.value)


def test_negative_amounts_are_a_one_line_error():
    pu = box_grid(1, 3, features={"sp": ("biodiversity", np.array([1.0, -0.5, 2.0]))})
    p = problem(pu).add_min_set_objective().add_absolute_targets({"sp": 1.0})
    with pytest.raises(InputDataError, match="needs amounts >= 0; target feature 'sp'") as err:
        importance(p, np.array([1.0, 0, 1]), method="ferrier")
    assert "\n" not in str(err.value)
