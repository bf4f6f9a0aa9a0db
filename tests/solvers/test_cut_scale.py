"""Tests of the national-scale changes (issue 15): ``solve(model=)``, the assembled
constraint matrix, the whole-component fill at the budget's breakpoint, the budget-only
path sweep of large models and the separable warm start of the multiplier search.

Values are checked against brute force, HiGHS or the default code path on small grids
(no timings: performance lives in ``benchmarks/bench_solve_scale.py``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import box_grid, brute_force, reference_feasible, reference_objective

from optimizer.errors import InputDataError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.results import solve
from optimizer.solvers import CutSolver, HighsSolver, SolveStatus
from optimizer.solvers.cut import lagrangian
from optimizer.solvers.cut.form import CutForm
from optimizer.solvers.cut.path import _first_fit, fill_components


def _grid_problems():
    rng = np.random.default_rng(5)
    pu = box_grid(12, 12, seed=5, n_species=5, pa=(rng.random(144) < 0.08).astype(float))
    maxu = (problem(pu).add_max_utility_objective(budget_share=0.2).add_existing_protection()
            .add_boundary_penalty(0.002))
    minset = (problem(pu).add_relative_targets(0.25).add_min_set_objective()
              .add_existing_protection().add_boundary_penalty(0.1))
    return maxu, minset


# ---------------------------------------------------------------- solve(model=)

def test_solve_takes_the_callers_compiled_model_and_gives_the_same_answer():
    maxu, minset = _grid_problems()
    for p in (maxu, minset):
        m = compile(p)
        a = solve(p, "cut", gap=1e-6, model=m)
        b = solve(p, "cut", gap=1e-6)
        assert a.objective == b.objective and a.bound == b.bound
        np.testing.assert_array_equal(a.x, b.x)
        assert a.objective == pytest.approx(reference_objective(p, a.x), abs=1e-9)


def test_solve_refuses_a_model_of_another_problem():
    maxu, minset = _grid_problems()
    with pytest.raises(InputDataError, match=r"model= must be compile\(problem\) of this "
                                             r"problem; got a model of 144 units \(min\)"):
        solve(maxu, "cut", model=compile(minset))
    small = problem(box_grid(2, 3, seed=1)).add_max_utility_objective(budget_km2=2)
    with pytest.raises(InputDataError, match=r"model of 6 units .* problem of 144 units"):
        solve(maxu, "cut", model=compile(small))


# ---------------------------------------------------------------- compile

def test_compiled_matrix_is_the_dense_reference_with_int32_sorted_indices():
    rng = np.random.default_rng(3)
    pu = box_grid(6, 7, seed=3, n_species=3, region=list(rng.choice(["A", "B"], 42)))
    p = (problem(pu).add_relative_targets(0.4).add_min_shortfall_objective(budget_share=0.3)
         .add_area_budget(region="A", max_share=0.2).add_boundary_penalty(0.05)
         .add_locked_in(mask=rng.random(42) < 0.1).add_locked_out(mask=rng.random(42) < 0.1))
    m = compile(p)
    assert m.A.indices.dtype == np.int32 and m.A.indptr.dtype == np.int32
    assert m.A.has_sorted_indices and m.edge_x_cols.dtype == np.int32
    # Reference: every row written out densely from the problem's parts.
    free = np.isnan(m.x_fixed)
    unprot = 1.0 - p.protected_fraction
    region_a = (pu.units["region"].to_numpy() == "A").astype(float)
    dense = [p.area_km2 * unprot, p.area_km2 * unprot * region_a]
    dense += [p.feature_amount(t.feature) * unprot for t in p.targets]
    nx, ny = m.n_x, m.edge_x_cols.shape[0]
    ref = np.zeros((len(dense) + 2 * ny, m.n_cols))
    for r, coef in enumerate(dense):
        ref[r, :nx] = coef[free]
    for k in range(len(p.targets)):
        ref[2 + k, nx + ny + k] = 1.0
    for e, (i, j) in enumerate(m.edge_x_cols):
        ref[len(dense) + 2 * e, [i, nx + e]] = [-1.0, 1.0]
        ref[len(dense) + 2 * e + 1, [j, nx + e]] = [-1.0, 1.0]
    np.testing.assert_allclose(m.A.toarray(), ref, rtol=0, atol=1e-12)
    assert m.n_x == int((m.unit_of_col >= 0).sum())


def test_unit_values_one_feature_at_a_time_equal_the_matrix_formula():
    maxu, _ = _grid_problems()
    feats = list(maxu.utility_weights())
    w = np.array([maxu.utility_weights()[f] for f in feats])
    amounts = maxu.feature_amounts(feats)
    expected = ((w / amounts.sum(axis=1)) @ amounts) * (1.0 - maxu.protected_fraction)
    np.testing.assert_allclose(maxu.unit_values(), expected, rtol=1e-13, atol=1e-16)
    np.testing.assert_array_equal(maxu.feature_amount(feats[1]), amounts[1])


# ---------------------------------------------------------------- component fill

def _chain_form(unary: list[float], w: float) -> CutForm:
    n = len(unary)
    ei, ej = np.arange(n - 1), np.arange(1, n)
    return CutForm(np.array(unary), ei, ej, np.full(n - 1, w), 1.0)


@pytest.mark.parametrize("slack", [0.0, 1.0, 2.5, 3.0, 4.0, 7.0, 9.0])
def test_fill_components_matches_brute_force_over_unions_of_components(slack):
    # Chain 0..9, xb = {0, 1}; xa = all but 5: the difference has components {2,3,4}
    # and {6,...,9} (5 separates them); 10 is isolated, also in the difference.
    unary = [-1.0, -1.0, -0.6, 0.1, -0.6, 0.5, -0.4, -0.4, 0.2, -0.4, -0.3]
    form = _chain_form(unary, 0.3)
    form = CutForm(form.unary, form.ei[:-1], form.ej[:-1], form.w[:-1], 1.0)  # 10 isolated
    a = np.ones(11)
    xb = np.zeros(11)
    xb[[0, 1]] = 1
    xa = np.ones(11)
    xa[5] = 0
    x, n_comp = fill_components(form, a, xa, xb, slack)
    assert n_comp == (3 if slack > 0 else 0)  # no room: not even looked at
    assert float(a @ (x - xb)) <= slack
    comps = [[2, 3, 4], [6, 7, 8, 9], [10]]
    best = form.value(xb)
    for k in range(1, 4):
        for pick in itertools.combinations(comps, k):
            units = [u for c in pick for u in c]
            if len(units) <= slack:
                y = xb.copy()
                y[units] = 1
                best = min(best, form.value(y))
    assert form.value(x) == pytest.approx(best)
    assert ((x >= xb) & (x <= np.maximum(xa, xb))).all()


def test_first_fit_skips_items_that_no_longer_fit_and_keeps_order():
    size = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    np.testing.assert_array_equal(_first_fit(size, np.arange(5), 8.0), [0, 2])
    np.testing.assert_array_equal(_first_fit(size, np.arange(5), 10.0), [0, 1, 4])
    np.testing.assert_array_equal(_first_fit(size, np.array([4, 3, 2, 1, 0]), 6.5), [4, 3, 2])
    assert _first_fit(size, np.arange(5), 0.5).size == 0


# ---------------------------------------------------------------- large-model paths

def test_budget_only_sweep_gives_the_same_plan_and_bound_as_the_whole_path():
    maxu, _ = _grid_problems()
    m = compile(maxu)
    whole = CutSolver(gap=0.0, polish=False).solve(m)
    budget_only = CutSolver(gap=0.0, polish=False, path_units=0).solve(m)
    assert budget_only.objective == pytest.approx(whole.objective, abs=1e-12)
    assert budget_only.bound == pytest.approx(whole.bound, abs=1e-12)
    assert len(budget_only.info["path"]) < len(whole.info["path"])
    assert reference_feasible(maxu, budget_only.x)


def test_budget_only_sweep_matches_brute_force_on_a_tiny_grid():
    pu = box_grid(3, 4, seed=7, n_species=2)
    for blm in (0.0005, 0.005, 0.05):
        p = problem(pu).add_max_utility_objective(budget_share=0.4).add_boundary_penalty(blm)
        best = brute_force(p)
        sol = CutSolver(gap=0.0, path_units=0).solve(compile(p))
        assert sol.status is SolveStatus.OPTIMAL
        assert sol.objective == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert sol.bound >= best - 1e-9


def test_separable_warm_start_keeps_plans_feasible_and_bounds_valid(monkeypatch):
    _, minset = _grid_problems()
    m = compile(minset)
    ref = HighsSolver(strategy="mip", gap=0.0, time_limit=60).solve(m)
    monkeypatch.setattr(lagrangian, "SEPARABLE_START_UNITS", 0)
    sol = CutSolver(gap=1e-3, polish=False, lns=False).solve(m)
    assert "separable dual" in sol.log and sol.info["separable_start_seconds"] >= 0
    assert reference_feasible(minset, sol.x)
    assert sol.objective == pytest.approx(reference_objective(minset, sol.x), abs=1e-9)
    assert sol.bound <= ref.objective + 1e-7  # a valid (min) bound
    assert sol.objective >= ref.objective - 1e-7
