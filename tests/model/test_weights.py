"""Weights mean what they say (issue 21 §1): a group splits over quantities, not columns.

A quantity is a mass role (carbon stock, carbon uptake, emissions: the mass of its layers
summed) or one feature of another role; within a mass quantity each feature weighs by its
mass; a layer of several years counts by ``years``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import box_grid

from optimizer import problem
from optimizer.errors import InputDataError
from optimizer.model.objectives.weights import WEIGHTS_RULE, weights_summary


@pytest.fixture(scope="module")
def demo40():
    from optimizer.datasets import demo_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_grid(40)


def _by_role(pu, weights):
    roles = pu.features["role"]
    out: dict[str, float] = {}
    for f, w in weights.items():
        out[roles[f]] = out.get(roles[f], 0.0) + w
    return out


def test_carbon_1_gives_stock_and_uptake_half_each_whatever_the_npp_years(demo40):
    feats = demo40.features
    npp = feats.index[feats["role"] == "carbon_uptake"]
    assert len(npp) == 5  # five NPP years: the old rule gave stock 2/7 and NPP 5/7
    w = problem(demo40).add_max_utility_objective(budget_share=0.1,
                                                  weights={"carbon": 1}).utility_weights()
    by_role = _by_role(demo40, w)
    assert by_role["carbon_stock"] == pytest.approx(0.5, rel=1e-12)
    assert by_role["carbon_uptake"] == pytest.approx(0.5, rel=1e-12)
    # Within each quantity, each feature by its mass (the features table's totals).
    for role in ("carbon_stock", "carbon_uptake"):
        total = feats.loc[feats["role"] == role, "total"]
        for f, t in total.items():
            assert w[f] == pytest.approx(0.5 * t / total.sum(), rel=1e-9), f


def test_a_role_key_is_one_quantity_spread_by_mass(demo40):
    feats = demo40.features
    p = problem(demo40).add_max_utility_objective(
        budget_share=0.1, weights={"biodiversity": 1, "emissions": -0.5})
    w = p.utility_weights()
    co2 = feats.loc[feats["role"] == "emissions", "total"]
    assert sum(w[f] for f in co2.index) == pytest.approx(-0.5, rel=1e-12)
    for f, t in co2.items():
        assert w[f] == pytest.approx(-0.5 * t / co2.sum(), rel=1e-9)
    bio = feats.index[feats["role"] == "biodiversity"]
    assert len(bio) == 37 and all(w[f] == pytest.approx(1 / 37) for f in bio)


def _hand_grid(pa=None):
    """Four 1 km units: biomass 10 MgC and soil carbon 30 MgC in all, NPP in two years."""
    pu = box_grid(2, 2, pa=pa, features={
        "biomass": ("carbon_stock", np.array([1.0, 2.0, 3.0, 4.0])),      # total 10
        "soc": ("carbon_stock", np.array([10.0, 0.0, 5.0, 15.0])),        # total 30
        "npp_2000": ("carbon_uptake", np.array([1.0, 1.0, 1.0, 1.0])),    # total 4
        "npp_2020": ("carbon_uptake", np.array([0.0, 2.0, 2.0, 4.0])),    # total 8
        "sp_a": ("biodiversity", np.array([0.0, 1.0, 0.0, 1.0])),
    })
    pu.features.loc[["npp_2000", "npp_2020"], "year"] = [2000, 2020]
    return pu


def test_within_a_mass_quantity_features_weigh_in_proportion_to_their_mass():
    w = problem(_hand_grid()).add_max_utility_objective(1, weights={"carbon": 1}).utility_weights()
    assert w["biomass"] == pytest.approx(0.5 * 10 / 40)
    assert w["soc"] == pytest.approx(0.5 * 30 / 40)
    # years = "mean": each year's mass is its total over the two years, so by total
    assert w["npp_2000"] == pytest.approx(0.5 * 4 / 12)
    assert w["npp_2020"] == pytest.approx(0.5 * 8 / 12)
    assert "sp_a" not in w


def test_years_latest_puts_all_uptake_weight_on_the_latest_year(demo40):
    w = problem(demo40).add_max_utility_objective(
        budget_share=0.1, weights={"carbon": 1}, years="latest").utility_weights()
    assert w["npp_2020"] == pytest.approx(0.5, rel=1e-12)
    assert all(w[f"npp_{y}"] == 0 for y in (2000, 2005, 2010, 2015))
    one = problem(demo40).add_max_utility_objective(
        budget_share=0.1, weights={"npp": 2}, years=2010).utility_weights()
    assert one["npp_2010"] == pytest.approx(2.0) and one["npp_2020"] == 0


def test_the_unit_value_is_the_weight_times_the_share_of_mass_protected():
    # unit 100 is half protected already; the plan adds units 100 (its other half) and 103
    pu = _hand_grid(pa=np.array([0.5, 0.0, 0.0, 0.0]))
    p = problem(pu).add_max_utility_objective(1, weights={"carbon": 1}, years="latest")
    x = np.array([1.0, 0.0, 0.0, 1.0])
    # stock added: 0.5 × (1 + 10) + (4 + 15) = 24.5 of 40 MgC; NPP 2020: 0.5 × 0 + 4 of 8
    by_hand = 0.5 * 24.5 / 40 + 0.5 * 4 / 8
    assert float(p.unit_values() @ x) == pytest.approx(by_hand, rel=1e-12)


def test_a_feature_named_on_its_own_overrides_its_quantity():
    p = problem(_hand_grid()).add_max_utility_objective(1, weights={"carbon": 1, "soc": 2})
    w = p.utility_weights()
    assert w["soc"] == 2 and w["biomass"] == pytest.approx(0.125)
    stock = next(q for q in p.objective.quantities if q.name == "carbon_stock")
    assert dict(stock.features) == {"biomass": pytest.approx(0.125)}


@pytest.mark.parametrize(("years", "message"), [
    ("lates", "years must be 'mean', 'latest' or a year such as 2020; got 'lates'"),
    (True, "years must be 'mean', 'latest' or a year such as 2020; got True"),
    (2020.5, "years must be 'mean', 'latest' or a year such as 2020; got 2020.5"),
    (2019, "years = 2019: layer 'npp' has no year 2019; use 'mean', 'latest' or one of its "
           "years: 2000, 2020"),
])
def test_bad_years_are_one_line_errors(years, message):
    with pytest.raises(InputDataError) as info:
        problem(_hand_grid()).add_max_utility_objective(1, weights={"carbon": 1}, years=years)
    assert str(info.value) == message


def test_years_go_only_to_kinds_with_utility_weights():
    with pytest.raises(InputDataError, match="the min_shortfall objective weighs no years"):
        problem(_hand_grid()).add_objective("min_shortfall", 1, years="latest")


def test_years_are_recorded_on_the_objective_so_they_print_and_compare():
    base = problem(_hand_grid())
    mean = base.add_max_utility_objective(1, weights={"carbon": 1})
    latest = base.add_max_utility_objective(1, weights={"carbon": 1}, years="latest")
    assert mean.objective.years == "mean" and latest.objective.years == "latest"
    assert mean.objective != latest.objective
    assert "carbon_uptake × 0.5 (years: latest): npp_2000 0, npp_2020 0.5" in repr(latest)


def test_target_weights_keep_their_meaning():
    p = (problem(_hand_grid()).add_objective("min_shortfall", 1, weights={"carbon": 2})
         .add_relative_targets({"carbon": 0.3}))
    assert dict(p.objective.weights) == {f: 2.0 for f in
                                         ("biomass", "soc", "npp_2000", "npp_2020")}
    assert p.objective.quantities == ()


def test_print_shows_every_quantity_and_compacts_equal_features(demo40):
    p = problem(demo40).add_max_utility_objective(budget_share=0.1)
    text = repr(p)
    feats = demo40.features
    tb, ts = feats.loc["biomass", "total"], feats.loc["soc", "total"]
    assert f"carbon_stock × 0.5: biomass {0.5 * tb / (tb + ts):.4g}, soc {0.5 * ts / (tb + ts):.4g}" \
        in text
    assert "carbon_uptake × 0.5 (years: mean): npp_2000 " in text
    assert f"37 biodiversity features × {1 / 37:.4g} (richness, " in text


def test_the_summary_records_every_effective_weight_and_the_rule():
    p = problem(_hand_grid()).add_max_utility_objective(1, weights={"carbon": 1, "sp_a": 1})
    s = weights_summary(p)
    assert s["effective_weights"] == pytest.approx(
        {"biomass": 0.125, "soc": 0.375, "npp_2000": 0.5 / 3, "npp_2020": 1 / 3, "sp_a": 1.0})
    assert [q["quantity"] for q in s["weight_quantities"]] == ["carbon_stock", "carbon_uptake",
                                                               "sp_a"]
    assert s["weight_quantities"][1]["years"] == "mean"
    assert s["weights_rule"] == WEIGHTS_RULE and "\n" not in WEIGHTS_RULE
