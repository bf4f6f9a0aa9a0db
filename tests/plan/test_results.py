"""Tests of optimizer.plan.results: evaluation tables, objective recomputation, diagnosis, solve()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import box_grid, cases, reference_objective
from hypothesis import HealthCheck, assume, given, settings

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.problem import problem
from optimizer.plan.results import (
    boundary_length,
    budget_use,
    diagnose,
    feature_representation,
    objective_value,
    solve,
    unit_counts,
)
from optimizer.solvers import HighsSolver, SolveStatus


def _grid():
    feats = {"sp_a": ("biodiversity", np.array([1.0, 2.0, 3.0, 4.0])),
             "biomass": ("carbon_stock", np.array([10.0, 0.0, 0.0, 10.0]))}
    return box_grid(2, 2, features=feats, pa=[0.5, 0.0, 0.0, 0.25], region=["A", "A", "B", "B"])


def test_feature_representation_counts_existing_protection_and_the_plan():
    p = problem(_grid()).add_relative_targets({"sp_a": 0.5}).add_min_set_objective()
    x = np.array([1.0, 0.0, 1.0, 0.0])  # unit 0 is locked in (pa 0.5)
    rep = feature_representation(p, x).set_index("feature")
    # sp_a: before 0.5*1 + 0.25*4 = 1.5; after + 0.5*1 (rest of unit 0) + 3 = 5.0
    assert rep.loc["sp_a", "held_before"] == pytest.approx(1.5)
    assert rep.loc["sp_a", "held_after"] == pytest.approx(5.0)
    assert rep.loc["sp_a", "share_after"] == pytest.approx(0.5)
    assert rep.loc["sp_a", "target"] == pytest.approx(5.0) and bool(rep.loc["sp_a", "met"])
    assert pd.isna(rep.loc["biomass", "target"]) and pd.isna(rep.loc["biomass", "met"])
    assert rep.loc["biomass", "held_after"] == pytest.approx(5 + 5 + 2.5)


def test_budget_use_boundary_and_unit_counts():
    p = (problem(_grid()).add_max_utility_objective(2.0).add_area_budget(region="B", max_km2=1)
         .add_locked_out(ids=[101]))
    x = np.array([1.0, 0.0, 1.0, 1.0])
    use = budget_use(p, x).set_index("budget")
    assert use.loc["total", "used_km2"] == pytest.approx(0.5 + 1 + 0.75)
    assert not use.loc["total", "ok"]
    assert use.loc["region 'B'", "used_km2"] == pytest.approx(1.75)
    bl = boundary_length(p, x).set_index("selection")
    # Plan {0, 2, 3}: perimeters 12 minus 2 x 2 shared edges (0-2, 2-3) = 8 km.
    assert bl.loc["plan", "boundary_km"] == pytest.approx(8.0)
    assert bl.loc["locked in", "boundary_km"] == pytest.approx(4.0)
    counts = unit_counts(p, x).set_index("status")["units"].to_dict()
    assert counts == {"already protected (locked in)": 1, "locked in": 0, "added": 2,
                      "locked out": 1, "not selected": 0}
    assert budget_use(problem(_grid()), x)["budget"].tolist() == ["total"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_objective_recomputation_matches_the_solution(case):
    p = case.build()
    try:
        sol = solve(p, gap=0.0)
    except InfeasibleProblemError:
        assume(False)  # a draw with no plan tests nothing here
    assert objective_value(p, sol) == pytest.approx(sol.objective, abs=1e-7)
    assert objective_value(p, sol.x) == pytest.approx(reference_objective(p, sol.x), abs=1e-9)
    assert budget_use(p, sol)["ok"].all()
    locked_in, locked_out = p.locked_masks()
    assert sol.x[locked_in].min(initial=1) == 1 and sol.x[locked_out].max(initial=0) == 0


def test_diagnosis_names_locked_in_area_over_the_budget():
    pu = box_grid(2, 3, seed=1)
    p = problem(pu).add_max_utility_objective(1.5).add_locked_in(ids=[100, 101])
    assert diagnose(p) == ["locked-in area 2.0 km² exceeds the budget of 1.5 km²; raise the "
                           "budget or unlock units"]
    with pytest.raises(InfeasibleProblemError, match=r"locked-in area 2.0 km² exceeds the budget "
                                                     r"of 1.5 km²"):
        solve(p)


def test_diagnosis_names_targets_out_of_reach_outside_locked_out_units():
    feats = {"sp_x": ("biodiversity", np.array([1.0, 1, 1, 1, 1, 5]))}
    p = (problem(box_grid(2, 3, features=feats)).add_min_set_objective()
         .add_relative_targets({"sp_x": 0.3}).add_locked_out(ids=[105, 104]))
    with pytest.raises(InfeasibleProblemError, match=r"feature 'sp_x' can reach at most 40.0% "):
        solve(p.add_relative_targets({"sp_x": 0.41}))
    assert diagnose(p) == []
    assert diagnose(p.add_relative_targets({"sp_x": 0.5})) == [
        "feature 'sp_x' can reach at most 40.0% outside locked-out units; its target is 50.0%"]
    absolute = p.add_absolute_targets({"sp_x": 7.0})
    assert diagnose(absolute) == ["feature 'sp_x' can reach at most 4 km2 outside locked-out "
                                  "units; its target is 7 km2"]


def test_diagnosis_names_minimum_area_out_of_reach():
    feats = {"lc_wetland_km2": ("land_cover", np.array([0.2, 0.0, 0.3, 0.0]))}
    p = (problem(box_grid(2, 2, features=feats)).add_max_utility_objective(
        4.0, weights={"lc_wetland_km2": 1}).add_area_budget(land_cover="lc_wetland_km2",
                                                            min_km2=0.4)
         .add_locked_out(ids=[102]))
    assert diagnose(p) == ["ecosystem 'lc_wetland_km2' can add at most 0.2 km² outside locked-out "
                           "units; its minimum is 0.4 km²"]


def test_after_solve_diagnosis_names_the_target_the_budget_cannot_reach():
    feats = {"sp_x": ("biodiversity", np.array([1.0, 1, 1, 1, 1, 1])),
             "sp_y": ("biodiversity", np.array([1.0, 0, 0, 0, 0, 0]))}
    p = (problem(box_grid(2, 3, features=feats)).add_min_set_objective()
         .add_relative_targets({"sp_x": 0.5, "sp_y": 0.1}).add_area_budget(max_km2=2))
    assert diagnose(p) == []
    with pytest.raises(InfeasibleProblemError,
                       match=r"infeasible.*: feature 'sp_x' can reach at most 33.3% within the "
                             r"budget of 2.0 km²; its target is 50.0%"):
        solve(p)
    # Each target alone fits the budget; together they do not.
    feats = {"sp_x": ("biodiversity", np.array([0.0, 1, 0, 0])),
             "sp_y": ("biodiversity", np.array([1.0, 0, 0, 0]))}
    q = (problem(box_grid(2, 2, features=feats)).add_min_set_objective()
         .add_relative_targets({"biodiversity": 1.0}).add_area_budget(max_km2=1))
    with pytest.raises(InfeasibleProblemError, match=r"the targets and budgets cannot all be met"
                                                     r" together"):
        solve(q)
    assert solve(q.add_area_budget(max_km2=2)).status is SolveStatus.OPTIMAL


def test_solve_accepts_solver_names_and_objects():
    p = problem(box_grid(seed=2)).add_max_utility_objective(3.0)
    a = solve(p, "pulp", time_limit=10)
    b = solve(p, HighsSolver(gap=0.0))
    assert a.objective == pytest.approx(b.objective)
    with pytest.raises(InputDataError, match=r"options go with a solver name"):
        solve(p, HighsSolver(), gap=0.1)
    with pytest.raises(InputDataError, match=r"solution has \(2,\) values; expected \(6,\)"):
        feature_representation(p, np.zeros(2))
    with pytest.raises(InputDataError, match=r"the problem has no objective"):
        objective_value(problem(box_grid(seed=2)), np.zeros(6))


def test_patches_are_connected_components_of_the_plan_largest_first():
    from optimizer.grid.build import planning_units_from_arrays
    from optimizer.plan.results import patch_labels, patches

    # A chain 1-2-3-4-5-6; unit 6 is half protected and locked in.
    pu = planning_units_from_arrays(
        [1, 2, 3, 4, 5, 6], {"f": [1, 1, 1, 1, 1, 1]}, area_km2=[1, 1, 1, 5, 1, 2],
        pa_fraction=[0, 0, 0, 0, 0, 0.5],
        boundary=pd.DataFrame({"id1": [1, 2, 3, 4, 5], "id2": [2, 3, 4, 5, 6],
                               "length_km": [1.0] * 5}))
    p = problem(pu).add_existing_protection(pa_threshold=0.5)
    x = np.array([1, 1, 0, 1, 0, 1.0])
    assert patch_labels(p, x).tolist() == [1, 1, -1, 0, -1, 2]
    table = patches(p, x)
    assert table["units"].tolist() == [1, 2, 1]
    assert table["area_km2"].tolist() == [5.0, 2.0, 2.0]
    assert table["new_area_km2"].tolist() == [5.0, 2.0, 0.0]  # the locked-in unit adds nothing new
    assert table["new_units"].tolist() == [1, 2, 0]
    assert patches(p, np.zeros(6)).empty
