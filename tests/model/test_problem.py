"""Tests of optimizer.model.problem: the immutable problem and its add_* methods.

`box_grid` (tests/helpers.py, used by the compile, solver and results tests too) builds
small PlanningUnits in memory: a rows x cols grid of 1 km boxes.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import box_grid

from optimizer.errors import InputDataError
from optimizer.grid.build import PlanningUnits
from optimizer.model.problem import AreaBudget, Problem, problem


def _lc_grid() -> PlanningUnits:
    feats = {
        "biomass": ("carbon_stock", np.array([1.0, 2, 3, 4])),
        "npp_2000": ("carbon_uptake", np.array([1.0, 1, 1, 1])),
        "sp_a": ("biodiversity", np.array([0.0, 1, 0, 1])),
        "sp_b": ("biodiversity", np.array([1.0, 0, 1, 0])),
        "co2_2020": ("emissions", np.array([0.0, 5, 0, 9])),
        "lc_cropland_km2": ("land_cover", np.array([0.9, 0.1, 0.0, 0.6])),
        "lc_forest_km2": ("land_cover", np.array([0.1, 0.9, 1.0, 0.4])),
    }
    return box_grid(2, 2, features=feats, region=["A", "A", "B", "B"])


def test_add_methods_return_new_problems_and_leave_the_base_unchanged():
    base = problem(_lc_grid())
    p1 = base.add_max_utility_objective(2.0)
    p2 = p1.add_boundary_penalty(0.5)
    assert base.objective is None and base.budgets == () and base.boundary_penalty is None
    assert p1.boundary_penalty is None and p2.boundary_penalty.penalty == 0.5
    assert p1.total_budget() == AreaBudget("total", "total", 0.0, 2.0)
    with pytest.raises(AttributeError):
        p2.objective = None  # frozen


def test_group_weights_are_split_among_members_and_features_override():
    p = problem(_lc_grid()).add_max_utility_objective(
        1.0, weights={"carbon": 1.0, "biodiversity": 2.0, "sp_b": 5.0, "co2_2020": -1.0})
    w = p.utility_weights()
    assert w == {"biomass": 0.5, "npp_2000": 0.5, "sp_a": 1.0, "sp_b": 5.0, "co2_2020": -1.0}


def test_unit_values_are_weighted_normalised_unprotected_amounts():
    pu = _lc_grid()
    pu.units["pa_fraction"] = [0.0, 0.5, 0.0, 0.0]
    p = problem(pu).add_max_utility_objective(1.0, weights={"biomass": 1.0})
    expected = np.array([1, 2, 3, 4]) / 10 * np.array([1, 0.5, 1, 1])
    np.testing.assert_allclose(p.unit_values(), expected)


def test_default_weights_skip_groups_the_grid_lacks():
    pu = box_grid(features={"sp_x": ("biodiversity", np.ones(6))})
    p = problem(pu).add_max_utility_objective(1.0)
    assert p.utility_weights() == {"sp_x": 1.0}


def test_relative_and_absolute_targets():
    p = problem(_lc_grid()).add_relative_targets({"biodiversity": 0.3})
    assert [(t.feature, t.amount, t.relative) for t in p.targets] == [
        ("sp_a", pytest.approx(0.6), 0.3), ("sp_b", pytest.approx(0.6), 0.3)]
    p = p.add_absolute_targets({"sp_a": 1.5})
    assert {t.feature: t.amount for t in p.targets}["sp_a"] == 1.5
    # A plain share applies to the features already targeted.
    p = p.add_relative_targets(0.5)
    assert {t.feature: t.relative for t in p.targets} == {"sp_a": 0.5, "sp_b": 0.5}


def test_budgets_by_share_region_and_ecosystem():
    p = problem(_lc_grid()).add_area_budget(max_share=0.5)
    assert p.total_budget().max_km2 == pytest.approx(2.0)
    p = p.add_area_budget(region="A", max_km2=1.0).add_area_budget(
        land_cover="lc_forest_km2", min_km2=0.5, max_share=1.0)
    scopes = {(b.scope, b.name): (b.min_km2, b.max_km2) for b in p.budgets}
    assert scopes[("region", "A")] == (0.0, 1.0)
    assert scopes[("ecosystem", "lc_forest_km2")] == (0.5, pytest.approx(2.4))


def test_locks_by_column_mask_ids_land_cover_and_threshold():
    pu = _lc_grid()
    pu.units["keep"] = [1, 0, 0, 0]
    pu.units.loc[3, "pa_fraction"] = 0.8
    p = (problem(pu).add_locked_in(column="keep")
         .add_locked_out(ids=[102])
         .add_locked_out_above("co2_2020", 6.0))
    locked_in, locked_out = p.locked_masks()
    # Unit 3 is protected (locked in) although its emissions (9) would lock it out.
    assert locked_in.tolist() == [True, False, False, True]
    assert locked_out.tolist() == [False, False, True, False]
    # Unit 0 is locked in by column "keep" and out by its cropland share 0.9: a clash.
    with pytest.raises(InputDataError, match=r"both locked in \(\[\"column 'keep'\"\]\)"):
        p.add_locked_out_land_cover("cropland", 0.5).locked_masks()
    p2 = (problem(pu).add_locked_in(mask=np.array([0, 1, 0, 0]))
          .add_locked_out(ids=[101]))
    with pytest.raises(InputDataError, match=r"1 unit\(s\) are both locked in .* pu_id \[101\]"):
        p2.locked_masks()
    p3 = problem(pu).add_existing_protection(None).add_locked_out_land_cover("lc_cropland_km2", 0.5)
    assert p3.locked_masks()[1].tolist() == [True, False, False, True]


def test_cost_from_column_or_array_and_default_unprotected_area():
    pu = _lc_grid()
    pu.units["pa_fraction"] = [0.0, 0.25, 0.0, 0.0]
    pu.units["price"] = [1.0, 2.0, 3.0, 4.0]
    assert problem(pu).cost.tolist() == [1.0, 0.75, 1.0, 1.0]
    assert problem(pu, cost="price").cost.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert problem(pu, cost=[4, 3, 2, 1]).cost.tolist() == [4.0, 3.0, 2.0, 1.0]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: problem("grid"), r"problem\(\) takes PlanningUnits .* got str"),
    (lambda p: problem(p.pu, cost="nope"), r"cost 'nope' is not a column of the units"),
    (lambda p: problem(p.pu, cost=[1, 2]), r"cost has shape \(2,\); expected \(4,\)"),
    (lambda p: problem(p.pu, cost=[1, -2, 3, 4]), r"cost \(array\) has 1 missing, infinite or "
                                                   "negative"),
    (lambda p: p.add_max_utility_objective(), r"add_max_utility_objective needs a budget"),
    (lambda p: p.add_max_utility_objective(1, weights={"xyz": 1}),
     r"weights key 'xyz' is not a feature, role, layer or group"),
    (lambda p: p.add_max_utility_objective(1, weights={"carbon": 0}),
     r"weights give every feature a weight of 0"),
    (lambda p: p.add_max_utility_objective(1, weights={"carbon": float("nan")}),
     r"weights\['carbon'\] must be finite"),
    (lambda p: p.add_relative_targets(30), r"relative target for 'sp_a' must be a share in "
                                           r"\[0, 1\]; got 30.0; write 30% as 0.3"),
    (lambda p: p.add_relative_targets("x"), r"add_relative_targets takes a share or a mapping"),
    (lambda p: p.add_absolute_targets({"sp_a": -1}), r"absolute target for 'sp_a' must be >= 0"),
    (lambda p: p.add_absolute_targets([1]), r"add_absolute_targets takes a mapping"),
    (lambda p: p.add_area_budget(max_km2=1, max_share=0.1), r"max_km2= or max_share=, not both"),
    (lambda p: p.add_area_budget(), r"add_area_budget needs max_km2="),
    (lambda p: p.add_area_budget(max_share=2), r"max_share must be a share in \[0, 1\]; got 2"),
    (lambda p: p.add_area_budget(min_km2=3, max_km2=1), r"min_km2=3.0 exceeds max_km2=1.0"),
    (lambda p: p.add_area_budget(max_km2=-1), r"bounds must be >= 0"),
    (lambda p: p.add_area_budget(region="Z", max_km2=1), r"region 'Z' is not a region"),
    (lambda p: p.add_area_budget(region="A", land_cover="lc_forest_km2", max_km2=1),
     r"takes region= or land_cover=, not both"),
    (lambda p: p.add_area_budget(land_cover="carbon", max_km2=1),
     r"land_cover 'carbon' is not a land-cover column"),
    (lambda p: p.add_locked_in(), r"add_locked_in takes exactly one of column=, mask=, ids= or shares="),
    (lambda p: p.add_locked_in(mask=[1, 0]), r"mask has shape \(2,\); expected \(4,\)"),
    (lambda p: p.add_locked_out(mask=[1, 0, 2, 0]), r"mask must be boolean or 0/1"),
    (lambda p: p.add_locked_out(ids=[7]), r"ids \[7\] are not pu_id values"),
    (lambda p: p.add_locked_out_land_cover("rock", 0.5), r"land_cover 'rock' is not a land-cover"),
    (lambda p: p.add_locked_out_land_cover("cropland", 1.5), r"unit_share must be a share"),
    (lambda p: p.add_locked_out_above("nope", 1), r"column 'nope' is not a column of the units"),
    (lambda p: p.add_locked_out_above("region", 1), r"column 'region' is not numeric"),
    (lambda p: p.add_existing_protection(0), r"threshold must be in \(0, 1\]; got 0"),
    (lambda p: p.add_boundary_penalty(-1), r"boundary penalty must be >= 0; got -1"),
    (lambda p: p.add_boundary_penalty(1, edge_factor=2), r"edge_factor must be in \[0, 1\]"),
    (lambda p: p.add_boundary_penalty("a"), r"penalty must be a number; got 'a'"),
    (lambda p: p.add_linear_penalty([1, 2], 1), r"column has shape \(2,\)"),
    (lambda p: p.add_linear_penalty(object(), 1), r"column must be a column name or numbers"),
])
def test_errors_name_the_argument_and_the_fix(make, message):
    p = problem(_lc_grid())
    with pytest.raises(InputDataError, match=message):
        make(p)


def test_feature_role_that_is_not_a_feature_is_rejected():
    feats = {"sp_a": ("biodiversity", np.ones(6)), "price": ("cost", np.ones(6))}
    p = problem(box_grid(features=feats))
    with pytest.raises(InputDataError, match=r"targets key 'price' has role 'cost'"):
        p.add_relative_targets({"price": 0.1})


def test_describe_lists_the_parts():
    p = (problem(_lc_grid()).add_min_set_objective().add_relative_targets({"sp_a": 0.5})
         .add_locked_out(ids=[100]).add_boundary_penalty(2).add_linear_penalty("co2_2020", 1))
    text = p.describe()
    assert "min_set over 4 units" in text and "1 targets" in text
    assert "lock out: 1 listed ids (1)" in text and "boundary penalty 2" in text
    assert isinstance(p, Problem)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.add_relative_targets({"sp_c": 0.3}),
     r"targets key 'sp_c' is not a feature.*; did you mean 'sp_b' or 'sp_a'"),
    (lambda p: p.add_max_utility_objective(1.0, weights={"carbn": 1.0}),
     r"weights key 'carbn' is not a feature.*; did you mean 'carbon'\?$"),
    (lambda p: p.add_area_budget(region="a", max_km2=1),
     r"region 'a' is not a region.*; did you mean 'A'\?$"),
    (lambda p: p.add_area_budget(land_cover="lc_forest", max_km2=1),
     r"land_cover 'lc_forest' is not a land-cover column.*; did you mean 'lc_forest_km2'"),
    (lambda p: p.add_locked_out_land_cover("croplands", 0.5),
     r"land_cover 'croplands' .*; did you mean .*'cropland'"),
    (lambda p: p.add_locked_out_above("co2_202", 1), r"column 'co2_202' .*; did you mean 'co2_2020'"),
])
def test_a_mistyped_name_gets_the_nearest_valid_names(make, message):
    with pytest.raises(InputDataError, match=message):
        make(problem(_lc_grid()))


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.add_max_utility_objective(budget_share=1.5),
     r"^add_max_utility_objective: budget_share must be a share in \[0, 1\]; got 1.5; write 10% as 0.1$"),
    (lambda p: p.add_max_utility_objective(budget_km2=-2), r"budget_km2 must be >= 0; got -2"),
])
def test_budget_errors_name_the_keyword_the_caller_used(make, message):
    with pytest.raises(InputDataError, match=message):
        make(problem(_lc_grid()))
