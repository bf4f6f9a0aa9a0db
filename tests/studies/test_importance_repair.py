"""Tests of the replacement importance's shortcut (optimizer.studies.importance_repair):
the plan less each unit, all at once, against the compiled model evaluated unit by unit;
and pruned units whose true loss (brute force over all selections) lies in their bounds."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.solving import solve
from optimizer.studies.importance import importance
from optimizer.studies.importance_repair import repaired_objectives


def _problems():
    yield problem(box_grid(3, 3, seed=4, n_species=2)).add_max_utility_objective(
        budget_km2=4).add_boundary_penalty(0.05)
    yield (problem(box_grid(3, 4, seed=6, n_species=2)).add_max_utility_objective(budget_km2=5)
           .add_absolute_targets({"sp_1": 0.5}).add_boundary_penalty(0.02))
    yield (problem(box_grid(3, 3, seed=7, n_species=3)).add_min_set_objective()
           .add_relative_targets(0.4).add_boundary_penalty(0.1))


@pytest.mark.parametrize("p", list(_problems()))
def test_the_plan_less_each_unit_equals_the_model_unit_by_unit(p):
    m = compile(p)
    sol = solve(p, "highs", gap=0.0)
    xc = m.x_cols_of(sol.x)
    cols = np.flatnonzero(xc > 0.5)
    obj, ok = repaired_objectives(m, xc, cols)
    for i, c in enumerate(cols):  # the reference: one completed plan per unit
        v = xc.copy()
        v[c] = 0.0
        full = m.complete(v)
        assert obj[i] == pytest.approx(m.objective_value(full), abs=1e-12)
        assert ok[i] == (m.max_violation(full) <= 1e-6)
    if p.objective.kind == "max_utility":
        assert ok.any()  # the reference above checks every value either way


def test_pruned_units_hold_their_true_loss_within_their_bounds():
    """At a loose gap most units are pruned; each one's true loss, by enumeration, lies in
    [importance_low, importance_high], as for the units re-solved."""
    p = (problem(box_grid(3, 4, seed=2, n_species=2)).add_max_utility_objective(budget_km2=6)
         .add_boundary_penalty(0.02))
    sol = solve(p, "highs", gap=0.0)
    imp = importance(p, sol, gap=0.2, solver="highs")
    assert any("needed no re-solve" in n for n in imp.notes)
    t = imp.table
    pruned = t["status"] == "repaired"
    assert pruned.any() and (t.loc[pruned, "seconds"] == 0).all()
    sel = all_selections(p.n_units)
    ok = np.array([reference_feasible(p, x) for x in sel])
    val = np.array([reference_objective(p, x) if f else -np.inf for x, f in zip(sel, ok,
                                                                               strict=True)])
    best = val.max()
    for j in np.flatnonzero(t["added"]):
        loss = best - val[sel[:, j] < 0.5].max()
        assert t.loc[j, "importance_low"] - 1e-9 <= loss <= t.loc[j, "importance_high"] + 1e-9
    # Without pruning every unit is re-solved; at gap 0 nothing is pruned but zero losses.
    assert not (importance(p, sol, gap=0.2, solver="highs", prune=False).table["status"]
                == "repaired").any()
    exact = importance(p, sol, gap=0.0, solver="highs").table
    assert (exact.loc[exact["status"] == "repaired", "importance"] == 0).all()


def test_units_limits_the_re_solves_to_those_given():
    p = (problem(box_grid(3, 4, seed=3, n_species=3)).add_min_set_objective()
         .add_relative_targets(0.4).add_boundary_penalty(0.1))
    full = importance(p, gap=0.0, solver="highs").table
    added_ids = full.loc[full["added"], "pu_id"].to_numpy()
    some = added_ids[:2]
    part = importance(p, gap=0.0, solver="highs", units=some).table
    mine = part["pu_id"].isin(some)
    assert np.allclose(part.loc[mine, "importance"], full.loc[mine, "importance"])
    assert (part.loc[~mine, "importance"] == 0).all() and part.loc[~mine, "gap"].isna().all()
