"""Tests of optimizer.studies.importance: replacement importance against brute-force
re-solves on tiny grids (every backend), the bounds, units with no plan without them,
local processes agreeing with one process, and the user's mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.datasets import tiny_grid
from optimizer.errors import InputDataError
from optimizer.model.problem import problem
from optimizer.plan.solving import solve
from optimizer.studies.importance import IMPORTANCE_COLUMNS, importance


def _brute_losses(p, plan: np.ndarray) -> dict[int, float]:
    """For each unit the plan adds: the best objective over all selections minus the best
    over those without the unit (for max; the reverse for min), by enumeration."""
    sel = all_selections(p.n_units)
    ok = np.array([reference_feasible(p, x) for x in sel])
    val = np.array([reference_objective(p, x) if f else np.nan for x, f in zip(sel, ok,
                                                                              strict=True)])
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    best = np.nanmax(sign * val)
    locked_in, _ = p.locked_masks()
    out = {}
    for j in np.flatnonzero((plan > 0.5) & ~locked_in):
        without = ok & (sel[:, j] < 0.5)
        out[int(j)] = (np.inf if not without.any()
                       else float(best - np.nanmax(sign * val[without])))
    return out


def _problems():
    yield "max utility, boundary", (problem(box_grid(3, 3, seed=4, n_species=2))
                                    .add_max_utility_objective(budget_km2=3)
                                    .add_boundary_penalty(0.05))
    yield "min set, targets", (problem(box_grid(3, 3, seed=7, n_species=3))
                               .add_min_set_objective().add_relative_targets(0.4))
    yield "min set, boundary", (problem(box_grid(2, 4, seed=2, n_species=2))
                                .add_min_set_objective().add_relative_targets(0.3)
                                .add_boundary_penalty(0.2))
    yield "min shortfall", (problem(box_grid(3, 3, seed=9, n_species=3))
                            .add_min_shortfall_objective(budget_km2=2)
                            .add_relative_targets(0.5))


@pytest.mark.parametrize("solver", ["highs", "auto", "cut"])
@pytest.mark.parametrize("name,p", list(_problems()), ids=[n for n, _ in _problems()])
def test_replacement_importance_equals_brute_force(name, p, solver):
    from optimizer.model.compile import compile
    from optimizer.solvers import has_cut_form

    if solver == "cut" and not has_cut_form(compile(p))[0]:
        pytest.skip("no cut form")
    imp = importance(p, solver=solver, gap=0.0)
    plan = imp.table["added"].to_numpy() | p.locked_masks()[0]
    expected = _brute_losses(p, plan.astype(float))
    got = imp.table["importance"].to_numpy()
    assert set(np.flatnonzero(imp.table["added"])) == set(expected)
    for j, loss in expected.items():
        if np.isinf(loss):
            assert np.isinf(got[j])
        else:
            assert got[j] == pytest.approx(loss, abs=1e-6 * max(1.0, abs(imp.objective)))
    # At gap 0 the bounds close on the value; units not added are 0.
    added = imp.table["added"].to_numpy()
    fin = added & np.isfinite(got)
    assert np.allclose(imp.table["importance_low"][fin], got[fin], atol=1e-6)
    assert np.allclose(imp.table["importance_high"][fin], got[fin], atol=1e-6)
    assert (got[~added] == 0).all()
    assert list(imp.table.columns) == list(IMPORTANCE_COLUMNS)


def test_a_unit_no_plan_can_do_without_is_infinitely_important():
    pu = box_grid(2, 3, seed=1, features={"rare": ("biodiversity",
                                                   np.array([0, 0, 5.0, 0, 0, 0]))})
    p = problem(pu).add_min_set_objective().add_relative_targets(0.5)
    imp = importance(p, gap=0.0)
    row = imp.table.iloc[2]
    assert row["added"] and np.isinf(row["importance"]) and row["status"] == "infeasible"
    assert "no plan without them" in imp.summary()


def test_a_given_plan_with_its_bound_and_a_plain_array():
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    sol = solve(p, gap=0.0)
    a = importance(p, sol, gap=0.0)
    b = importance(p, sol.x, gap=0.0)  # no bound: the plan's objective stands for it
    assert np.allclose(a.table["importance"], b.table["importance"])
    assert a.objective == pytest.approx(140 / 290)


def test_a_plan_worse_than_the_optimum_is_noted():
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    x = np.zeros(6)
    x[[1, 3]] = 1.0  # cells 2 and 4 (120 MgC) where 4 and 5 hold 140
    imp = importance(p, x, gap=0.0)
    assert any("not optimal" in n for n in imp.notes)
    # Leaving out cell 2 lets a re-solve take 4 and 5: importance 0, not negative.
    assert imp.table.loc[1, "importance"] == 0.0


def test_local_processes_give_the_same_table():
    p = (problem(box_grid(3, 4, seed=3, n_species=3)).add_min_set_objective()
         .add_relative_targets(0.4).add_boundary_penalty(0.1))
    one = importance(p, gap=0.0, solver="highs")
    two = importance(p, gap=0.0, solver="highs", workers=2)
    cols = ["pu_id", "added", "importance", "importance_low", "importance_high"]
    assert one.table[cols].equals(two.table[cols])


def test_progress_is_reported_per_unit():
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    seen = []
    importance(p, gap=0.0, progress=lambda f, s: seen.append((f, s)))
    assert [f for f, _ in seen] == [0.5, 1.0]
    assert seen[0][1].startswith("unit ")


def test_write_is_atomic_and_holds_the_table(tmp_path):
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    imp = importance(p, gap=0.0)
    imp.write(tmp_path / "imp")
    import pandas as pd

    back = pd.read_csv(tmp_path / "imp" / "importance.csv")
    assert back["importance"].sum() == pytest.approx(imp.table["importance"].sum())
    assert (tmp_path / "imp" / "importance.json").exists()


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "shapley"}, "importance method must be one of replacement, ferrier, rank"),
    ({"method": "ferrier"}, "'ferrier' needs the min set objective"),
    ({"increments": 0}, "increments must be a whole number"),
    ({"workers": 0}, "workers must be a whole number"),
    ({"plan": np.ones(3)}, "must hold 0 or 1 for each of the problem's 6 units"),
    ({"plan": np.ones(6)}, "breaks a budget"),
])
def test_the_users_mistakes_are_one_line_errors(kwargs, match):
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    with pytest.raises(InputDataError, match=match) as err:
        importance(p, **kwargs)
    assert "\n" not in str(err.value)


def test_bounds_wider_than_the_importance_are_noted():
    """A plan known only within a wide gap (its bound far above it) cannot rank its units:
    the note says so and names the fix."""
    import dataclasses

    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    sol = solve(p, gap=0.0)
    loose = dataclasses.replace(sol, bound=sol.objective * 2.0, gap=1.0)
    imp = importance(p, loose, gap=0.0)
    added = imp.table[imp.table["added"]]
    assert (added["importance_high"] - added["importance_low"] > added["importance"]).all()
    assert any("wider than the importance itself" in n and "smaller gap" in n for n in imp.notes)
    assert not importance(p, sol, gap=0.0).notes  # proven plan: no such note


def test_a_dask_local_cluster_gives_the_same_table():
    pytest.importorskip("dask.distributed")
    p = (problem(box_grid(3, 4, seed=3, n_species=3)).add_min_set_objective()
         .add_relative_targets(0.4).add_boundary_penalty(0.1))
    one = importance(p, gap=0.0, solver="highs")
    dask = importance(p, gap=0.0, solver="highs", workers=2, scheduler="local")
    cols = ["pu_id", "added", "importance", "importance_low", "importance_high"]
    assert one.table[cols].equals(dask.table[cols])


def test_a_scheduler_that_is_not_one_is_a_one_line_error():
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    with pytest.raises(InputDataError, match="scheduler") as err:
        importance(p, scheduler="nowhere")
    assert "\n" not in str(err.value)
