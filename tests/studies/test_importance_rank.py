"""Tests of rank importance (optimizer.studies.importance_rank): every increment's plan
against enumeration of all selections on tiny grids (the same locks, budgets and targets,
the increment's budget row, the earlier entrants kept), the ranks where the optimum is
unique, a skipped increment, and min set ranked by min shortfall.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.model.problem import problem
from optimizer.studies.importance import importance
from optimizer.studies.importance_rank import rank_problem


def _check_increments_by_enumeration(p, imp, n):
    """Re-walk the increments: at each, the best objective over every selection inside the
    plan, holding the units entered so far, within the increment's budget and feasible for
    the rank problem, must equal the solver's (recomputed) objective."""
    plan = (imp.table["added"].to_numpy() | p.locked_masks()[0]).astype(float)
    rp = rank_problem(p, plan)
    added = imp.table["added"].to_numpy()
    w = (p.cost if rp is not p else p.unprotected_km2) * added
    sel = all_selections(p.n_units)
    inside = (sel <= plan).all(axis=1)
    feasible = np.array([inside[i] and reference_feasible(rp, x) for i, x in enumerate(sel)])
    value = np.array([reference_objective(rp, x) if f else np.nan
                      for x, f in zip(sel, feasible, strict=True)])
    sign = 1.0 if rp.objective.kind == "max_utility" else -1.0
    entered = imp.table["increment"].to_numpy()
    for row in imp.steps.itertuples():
        held = (entered > 0) & (entered < row.increment)
        ok = feasible & (sel[:, held] > 0.5).all(axis=1) & (sel @ w <= row.budget + 1e-9)
        if row.status == "infeasible":
            assert not ok.any()
            continue
        best = np.nanmax(sign * value[ok])
        assert sign * row.objective == pytest.approx(best, abs=1e-7), row
        now = (entered > 0) & (entered <= row.increment)  # the solver's plan at this step
        assert reference_objective(rp, now | p.locked_masks()[0]) == pytest.approx(
            row.objective, abs=1e-7)


def _problems():
    yield ("max utility",
           problem(box_grid(2, 4, seed=5, n_species=2)).add_max_utility_objective(budget_km2=5),
           4)
    yield ("max utility, boundary, region budget",
           problem(box_grid(2, 4, seed=8, n_species=2, region=["a"] * 4 + ["b"] * 4))
           .add_max_utility_objective(budget_km2=5).add_area_budget(max_km2=2, region="a")
           .add_boundary_penalty(0.05), 3)
    yield ("min shortfall, lock",
           problem(box_grid(3, 3, seed=9, n_species=3)).add_min_shortfall_objective(budget_km2=4)
           .add_relative_targets(0.6).add_locked_in(ids=[105]), 4)
    yield ("min set",
           problem(box_grid(3, 3, seed=7, n_species=3)).add_min_set_objective()
           .add_relative_targets(0.5), 3)


@pytest.mark.parametrize("solver", ["highs", "auto"])
@pytest.mark.parametrize("name,p,n", list(_problems()), ids=[n for n, *_ in _problems()])
def test_each_increment_is_the_best_plan_by_enumeration(name, p, n, solver):
    imp = importance(p, method="rank", increments=n, solver=solver, gap=0.0)
    _check_increments_by_enumeration(p, imp, n)
    t = imp.table
    # rank = n + 1 - increment; importance = rank / n; units not added never rank.
    entered = t["increment"] > 0
    assert (t["rank"][entered] == n + 1 - t["increment"][entered]).all()
    assert np.allclose(t["importance"], t["rank"] / n)
    assert (t.loc[~t["added"], "rank"] == 0).all()
    assert len(imp.steps) == n and imp.steps["budget"].iloc[-1] == pytest.approx(
        float(((p.cost if p.objective.kind == "min_set" else p.unprotected_km2)
               * t["added"]).sum()))


def test_ranks_where_each_optimum_is_unique():
    """Three added cells of values 3 > 2 > 1 (1 km² each), three increments of 1 km²: the
    best cell enters first, then the next."""
    pu = box_grid(1, 4, features={"biomass": ("carbon_stock", np.array([2.0, 3.0, 0.5, 1.0]))})
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    imp = importance(p, method="rank", increments=3, gap=0.0)
    assert imp.table["increment"].tolist() == [2, 1, 0, 3]
    assert imp.table["rank"].tolist() == [2, 3, 0, 1]


def test_an_increment_no_plan_fits_is_skipped_and_noted():
    """A hard target that needs 2 km² of the 3 the plan adds: the first increment (1 km²)
    has no plan; both needed cells enter together at the second."""
    pu = box_grid(1, 4, features={"biomass": ("carbon_stock", np.array([2.0, 3.0, 0.5, 1.0])),
                                  "sp": ("biodiversity", np.array([1.0, 0, 0, 1.0]))})
    p = (problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
         .add_absolute_targets({"sp": 2.0}))
    imp = importance(p, method="rank", increments=3, gap=0.0)
    assert imp.steps["status"].tolist()[0] == "infeasible"
    assert imp.table["increment"].tolist() == [2, 3, 0, 2]
    assert any("increments [1] have no plan" in n for n in imp.notes)
    _check_increments_by_enumeration(p, imp, 3)
