"""Tests of optimizer.model.compile: the matrices of small problems, checked without a solver.

`reference_objective` and `reference_feasible` (tests/helpers.py) restate the model of
DESIGN.md directly from a per-unit selection; the solver tests use them for brute force.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.errors import InputDataError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.problem import problem


def model_value(m: CompiledModel, x_unit: np.ndarray) -> tuple[float, bool]:
    """Objective and feasibility of a per-unit selection in the compiled model."""
    fixed = ~np.isnan(m.x_fixed)
    if (np.abs(x_unit[fixed] - m.x_fixed[fixed]) > 0.5).any():
        return np.nan, False
    v = m.complete(m.x_cols_of(x_unit))
    return m.objective_value(v), m.max_violation(v) <= 1e-7


# ---------------------------------------------------------------- hand-checked matrices

def test_max_utility_columns_rows_and_locks_fold_into_constants():
    feats = {"biomass": ("carbon_stock", np.array([1.0, 2, 3, 4]))}
    pu = box_grid(2, 2, features=feats, pa=[0.0, 0.0, 0.4, 1.0])
    p = (problem(pu).add_max_utility_objective(2.5, weights={"biomass": 1.0})
         .add_locked_out(ids=[100]))
    m = compile(p)
    # Unit 3 is protected (locked in, value 0, area 0); unit 0 locked out; units 1, 2 free.
    assert m.sense == "max" and m.n_x == 2 and m.n_cols == 2
    assert m.unit_of_col.tolist() == [1, 2]
    np.testing.assert_allclose(m.c, [0.2, 0.18])
    assert m.offset == pytest.approx(0.0)
    np.testing.assert_allclose(m.A.toarray(), [[1.0, 0.6]])
    assert m.row_lower.tolist() == [-np.inf] and m.row_upper.tolist() == [2.5]
    assert m.integrality.tolist() == [True, True]
    assert m.x_fixed[[0, 3]].tolist() == [0.0, 1.0] and np.isnan(m.x_fixed[[1, 2]]).all()
    assert m.row_names() == ["budget_total"] and m.col_names() == ["x_101", "x_102"]
    assert isinstance(m.A, sp.csr_matrix)


def test_min_set_target_rows_count_existing_protection_and_locked_in_units():
    feats = {"sp_a": ("biodiversity", np.array([2.0, 1, 1, 4]))}
    pu = box_grid(2, 2, features=feats, pa=[0.0, 0.4, 0.0, 0.0])
    p = (problem(pu).add_min_set_objective().add_relative_targets({"sp_a": 0.5})
         .add_locked_in(ids=[103]))
    m = compile(p)
    # target 4; held: 0.4 (unit 1 partly protected) + 4 (unit 3 locked in) -> lower -0.4
    assert m.sense == "min"
    np.testing.assert_allclose(m.A.toarray(), [[2.0, 0.6, 1.0]])
    np.testing.assert_allclose(m.row_lower, [4 - 0.4 - 4])
    np.testing.assert_allclose(m.c, [1.0, 0.6, 1.0])  # unprotected area
    assert m.offset == pytest.approx(1.0)  # cost of the locked-in unit
    assert m.row_names() == ["target_sp_a"]


def test_region_and_ecosystem_budgets_subtract_locked_in_area():
    feats = {"lc_forest_km2": ("land_cover", np.array([0.5, 1.0, 0.0, 1.0]))}
    pu = box_grid(2, 2, features=feats, region=["A", "A", "B", "B"])
    p = (problem(pu).add_max_utility_objective(3.0, weights={"lc_forest_km2": 1})
         .add_area_budget(region="A", max_km2=1.0)
         .add_area_budget(land_cover="lc_forest_km2", min_km2=1.0)
         .add_locked_in(ids=[101]))
    m = compile(p)
    np.testing.assert_allclose(m.A.toarray(), [[1, 1, 1], [1, 0, 0], [0.5, 0, 1]])
    np.testing.assert_allclose(m.row_upper, [2.0, 0.0, np.inf])
    np.testing.assert_allclose(m.row_lower, [-np.inf, -np.inf, 0.0])
    assert m.row_names() == ["budget_total", "budget_region_A", "budget_ecosystem_lc_forest_km2"]


def test_boundary_rows_link_y_to_both_free_ends_only():
    pu = box_grid(1, 3, features={"sp_a": ("biodiversity", np.ones(3))})
    p = (problem(pu).add_min_set_objective().add_relative_targets({"sp_a": 0.5})
         .add_boundary_penalty(2.0).add_locked_in(ids=[100]))
    m = compile(p)
    # Units 1, 2 free; edge (0,1) has a locked end -> no y; edge (1,2) -> one y column.
    assert m.n_cols == 3 and m.edge_x_cols.tolist() == [[0, 1]]
    np.testing.assert_allclose(m.A.toarray(), [[1, 1, 0], [-1, 0, 1], [0, -1, 1]])
    np.testing.assert_allclose(m.row_upper[1:], [0, 0])
    # x1: cost 1 + 2*(exposed 2 - edge to locked-in unit 1 + edge to unit 2 1) = 5;
    # x2: 1 + 2*(3 + 1) = 9; y: -2*2*1 = -4; constant: cost 1 + 2*(3 + 1)
    np.testing.assert_allclose(m.c, [5.0, 9.0, -4.0])
    assert m.offset == pytest.approx(1 + 2 * 4)
    assert m.col_names() == ["x_101", "x_102", "y_101_102"]
    assert m.row_names()[1:] == ["bnd_101_102_a", "bnd_101_102_b"]


def test_min_shortfall_adds_one_bounded_shortfall_column_per_target():
    feats = {"sp_a": ("biodiversity", np.array([1.0, 1, 2, 0])),
             "sp_b": ("biodiversity", np.array([0.0, 2, 0, 2]))}
    pu = box_grid(2, 2, features=feats)
    p = (problem(pu).add_relative_targets({"biodiversity": 0.5})
         .add_min_shortfall_objective(2.0, weights={"sp_b": 3.0}))
    m = compile(p)
    assert m.n_x == 4 and m.n_cols == 6
    np.testing.assert_allclose(m.A.toarray()[1:], [[1, 1, 2, 0, 1, 0], [0, 2, 0, 2, 0, 1]])
    np.testing.assert_allclose(m.c, [0, 0, 0, 0, 1 / 2, 3 / 2])
    np.testing.assert_allclose(m.col_upper[4:], [2.0, 2.0])
    assert m.integrality.tolist() == [True] * 4 + [False] * 2
    assert m.col_names()[4:] == ["s_sp_a", "s_sp_b"]
    v = m.complete(np.array([0.0, 0, 1, 0]))
    np.testing.assert_allclose(v[4:], [0.0, 2.0])


@pytest.mark.parametrize("kind", ["max_utility", "min_set", "min_shortfall"])
def test_compiled_objective_equals_the_model_for_every_selection(kind):
    """c @ v + offset reproduces DESIGN.md's objective for all 2^n selections (locks too)."""
    rng = np.random.default_rng(7)
    pu = box_grid(3, 3, seed=3, pa=np.where(rng.random(9) < 0.3, rng.random(9), 0.0))
    pu.units["emis"] = rng.uniform(0, 2, 9)
    p = problem(pu).add_relative_targets({"biodiversity": 0.3})
    if kind == "max_utility":
        p = p.add_max_utility_objective(4.0)
    elif kind == "min_set":
        p = p.add_min_set_objective()
    else:
        p = p.add_min_shortfall_objective(3.0)
    p = (p.add_boundary_penalty(0.3, edge_factor=0.5).add_linear_penalty("emis", 0.2)
         .add_locked_in(ids=[104]).add_locked_out(ids=[100, 108]))
    m = compile(p)
    checked = 0
    for x in all_selections(9):
        value, feasible = model_value(m, x)
        assert feasible == reference_feasible(p, x)
        if feasible:
            assert value == pytest.approx(reference_objective(p, x), abs=1e-9)
            checked += 1
    assert checked > 0


def test_compile_is_vectorised_on_a_large_grid():
    n_side = 300  # 90,000 units, ~180,000 edges
    rng = np.random.default_rng(0)
    feats = {f"sp_{k}": ("biodiversity", rng.random(n_side * n_side)) for k in range(5)}
    pu = box_grid(n_side, n_side, features=feats)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.2)
         .add_boundary_penalty(0.1).add_locked_in(mask=rng.random(n_side * n_side) < 0.1))
    m = compile(p)  # seconds: benchmarks/bench_limits.py (and compile_s in bench_solve.py)
    assert m.n_rows == 5 + 2 * m.edge_x_cols.shape[0]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: "problem", r"compile\(\) takes a Problem .* got str"),
    (lambda p: p, r"the problem has no objective; call add_max_utility_objective\(\)"),
    (lambda p: p.add_min_set_objective(), r"the min_set objective needs targets"),
    (lambda p: p.add_area_budget(max_km2=1).add_min_shortfall_objective(),
     r"the min_shortfall objective needs targets"),
])
def test_compile_errors(make, message):
    p = problem(box_grid(seed=1))
    with pytest.raises(InputDataError, match=message):
        compile(make(p))


def test_total_budget_needed_by_shortfall_when_only_a_region_budget_exists():
    pu = box_grid(seed=1, region=["A"] * 6)
    p = problem(pu).add_relative_targets(0.2).add_area_budget(region="A", max_km2=2)
    with pytest.raises(InputDataError, match="add_min_shortfall_objective needs a budget"):
        p.add_min_shortfall_objective()


# ---------------------------------------------------------------- budget remainders (issue 21 §2)

def _remainder_grid():
    """2 x 3 boxes: units 0 and 3 are existing protection (pa 0.6 and 0.5, locked in at the
    default threshold 0.5) with unprotected remainders 0.4 + 0.5 = 0.9 km²."""
    feats = {"biomass": ("carbon_stock", np.array([5.0, 9, 8, 5, 3, 7]))}
    return box_grid(2, 3, features=feats, pa=[0.6, 0.0, 0.0, 0.5, 0.0, 0.2])


def _brute_force_plans(p, budget_km2: float, remainders: str) -> tuple[float, np.ndarray]:
    """The best plan over all 2^6 selections, with the budget rule restated by hand."""
    new = (1 - np.array([0.6, 0.0, 0.0, 0.5, 0.0, 0.2])) * 1.0  # unprotected km² per unit
    existing = np.array([True, False, False, True, False, False])
    spends = np.where(existing & (remainders == "free"), 0.0, new)
    value = np.array([5.0, 9, 8, 5, 3, 7]) * new / 37.0  # carbon share of the 37 MgC
    best, plan = -np.inf, None
    for x in all_selections(6):
        if (x[existing] < 0.5).any() or spends @ x > budget_km2 + 1e-9:
            continue
        if value @ x > best + 1e-12:
            best, plan = float(value @ x), x
    return best, plan


@pytest.mark.parametrize("remainders", ["count", "free"])
def test_budget_remainders_count_or_free(remainders):
    """``budget_remainders="free"``: the remainders of existing units spend nothing, so the
    plan's new area is the whole budget plus the remainders; brute force agrees."""
    from optimizer import solve
    from optimizer.plan.results import budget_use

    p = problem(_remainder_grid()).add_max_utility_objective(
        2.0, weights={"biomass": 1.0}, budget_remainders=remainders)
    assert p.total_budget().remainders == remainders
    m = compile(p)
    # Free units 1, 2, 4, 5 spend their unprotected km² either way; the locked-in remainder
    # (0.9 km²) is taken off the budget only when it counts.
    np.testing.assert_allclose(m.A.toarray(), [[1.0, 1.0, 1.0, 0.8]])
    assert m.row_upper.tolist() == pytest.approx([1.1 if remainders == "count" else 2.0])
    sol = solve(p, "highs")
    best, plan = _brute_force_plans(p, 2.0, remainders)
    assert sol.objective == pytest.approx(best, abs=1e-9)
    assert np.array_equal(sol.x > 0.5, plan > 0.5)
    new_km2 = float(p.unprotected_km2 @ (sol.x > 0.5))
    use = budget_use(p, sol).iloc[0]
    assert use["remainders_km2"] == pytest.approx(0.9)
    if remainders == "free":  # units 1 and 2 (2 km², 17 MgC of the best) plus 0.9 km²
        assert new_km2 == pytest.approx(2.0 + 0.9, abs=1e-12)
        assert use["used_km2"] == pytest.approx(2.0) and use["remainders"] == "free"
    else:  # 1.1 km² left after the remainders: unit 1 (1 km²)
        assert new_km2 == pytest.approx(1.9, abs=1e-12)
        assert use["used_km2"] == pytest.approx(1.9)


def test_scenario_budget_remainders_free(tmp_path):
    """``[budget] remainders = "free"`` in a scenario file reaches the budget row."""
    from optimizer.scenario import Scenario

    text = ('schema_version = 1\n[grid]\npath = "g"\n[budget]\nkm2 = 2\nremainders = "free"\n'
            "[weights]\nbiomass = 1\n")
    s = Scenario.loads(text, source="s.toml")
    p = s.to_problem(_remainder_grid())
    assert p.total_budget().remainders == "free"
    assert compile(p).row_upper.tolist() == [2.0]
    counted = Scenario.loads(text.replace('remainders = "free"\n', ""), source="s.toml")
    assert compile(counted.to_problem(_remainder_grid())).row_upper.tolist() == pytest.approx([1.1])
    assert "remainders of existing protected units on top" in s.describe()
    with pytest.raises(Exception, match=r"\[budget\] remainders: expected one of 'count' or 'free'"):
        Scenario.loads(text.replace('"free"', '"spend"'), source="s.toml")
    with pytest.raises(InputDataError, match="remainders must be one of 'count', 'free'"):
        problem(_remainder_grid()).add_area_budget(max_km2=1, remainders="spend")


def test_a_free_budget_says_so_in_the_problem_tree():
    p = problem(_remainder_grid()).add_max_utility_objective(
        2.0, weights={"biomass": 1.0}, budget_remainders="free")
    assert "total: new area ≤ 2 km², remainders of existing protected units free (on top)" in str(p)


def test_a_plan_read_from_the_nested_path_spends_a_free_budget_on_free_units():
    """`plan_for_budget` takes off what the locked-in units spend of the budget: nothing when
    their remainders are free, so 2 km² buys 2 km² of free units (units 1 and 2)."""
    from optimizer import solve
    from optimizer.solvers import plan_for_budget

    p = problem(_remainder_grid()).add_max_utility_objective(
        2.0, weights={"biomass": 1.0}, budget_remainders="free")
    x = plan_for_budget(solve(p, "cut"), 2.0, problem=p)
    assert x.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert float(p.unprotected_km2 @ x) == pytest.approx(2.9, abs=1e-12)
