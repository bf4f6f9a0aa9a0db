"""Cost budgets (issue 24 item 4): ``Problem.add_cost_budget`` alone and beside the area
budget, for max utility and min shortfall, every backend against brute force on tiny grids;
its row, its measure (locked-in units spend it, for their unprotected part), and the user's
mistakes as one-line `InputDataError`s."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.errors import InputDataError
from optimizer.model.compile import compile
from optimizer.model.costs import check_cost_budgets, cost_budget_coefficients
from optimizer.model.problem import problem
from optimizer.plan.results import cost_budget_use, solve
from optimizer.solvers.auto import choose
from optimizer.solvers.cut import CutSolver

PRICE = np.array([4.0, 2.0, 0.5, 1.5, 4.5, 5.0, 3.0, 4.0, 3.0])
PA = np.array([0.0, 0.5, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 1.0])


def grid(seed: int = 0, price: np.ndarray = PRICE, pa: np.ndarray = PA):
    """3 x 3 boxes: random carbon and two species (as `box_grid`), a cost layer ``price``."""
    rng = np.random.default_rng(seed)
    feats = {"biomass": ("carbon_stock", rng.uniform(0, 10, 9).round(2)),
             "sp_1": ("biodiversity", rng.uniform(0, 1, 9).round(2)),
             "sp_2": ("biodiversity", np.where(rng.random(9) < 0.6, 1.0, 0.0)),
             "price": ("cost", price)}
    feats["sp_2"][1][0] = 1.0  # somewhere
    return box_grid(3, 3, features=feats, pa=pa)


def spend(p, x: np.ndarray) -> float:
    """The cost budget's measure restated by hand: price x unprotected share of the plan."""
    return float((PRICE * (1.0 - PA)) @ x)


def brute(p, max_cost: float) -> tuple[float, np.ndarray]:
    """The best objective over every 0/1 plan meeting the locks, the area budgets and the
    cost budget (the helpers' reference rows plus the cost row by hand)."""
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    best, plan = -np.inf, None
    for x in all_selections(p.n_units):
        if spend(p, x) > max_cost + 1e-9 or not reference_feasible(p, x):
            continue
        v = sign * reference_objective(p, x)
        if v > best + 1e-12:
            best, plan = v, x
    assert plan is not None
    return sign * best, plan


def build(kind: str, *, max_cost: float, area_km2: float | None, seed: int = 0,
          boundary: float = 0.0, lock_in: bool = False):
    p = problem(grid(seed)).add_cost_budget(max_cost, cost="price")
    if lock_in:
        p = p.add_locked_in(ids=[100])  # pu_id 100 (price 3) spends the budget
    if kind == "max_utility":
        p = p.add_max_utility_objective(area_km2, weights={"biomass": 1, "sp_1": 1})
    else:
        p = (p.add_min_shortfall_objective(area_km2)
             .add_relative_targets({"sp_1": 0.6, "sp_2": 0.6, "biomass": 0.5}))
    if boundary:
        p = p.add_boundary_penalty(boundary)
    return p


CASES = [  # (kind, max_cost, area budget km², boundary penalty, lock in); the cost binds in each
    ("max_utility", 6.0, None, 0.0, False),
    ("max_utility", 7.0, 3.0, 0.0, False),  # both budgets bind
    ("max_utility", 9.0, 2.5, 0.01, True),
    ("max_utility", 9.0, None, 0.02, False),
    ("min_shortfall", 7.0, None, 0.0, False),
    ("min_shortfall", 7.0, 3.0, 0.0, True),  # both budgets bind
    ("min_shortfall", 6.0, 2.0, 0.05, False),  # the area binds, not the cost
]


@pytest.mark.parametrize("backend", ["highs", "cut", "auto"])
@pytest.mark.parametrize(("kind", "max_cost", "area", "boundary", "lock_in"), CASES)
def test_every_backend_matches_brute_force(backend, kind, max_cost, area, boundary, lock_in):
    p = build(kind, max_cost=max_cost, area_km2=area, boundary=boundary, lock_in=lock_in)
    best, _ = brute(p, max_cost)
    options = {"concurrent": False} if backend == "auto" else {}
    sol = solve(p, backend, gap=0.0, **options)
    x = sol.x > 0.5
    assert spend(p, x) <= max_cost + 1e-9 and reference_feasible(p, x)
    assert sol.objective == pytest.approx(reference_objective(p, x), rel=1e-9, abs=1e-9)
    assert sol.objective == pytest.approx(best, rel=1e-7, abs=1e-9)
    use = cost_budget_use(p, sol).iloc[0]
    assert use["used"] == pytest.approx(spend(p, x)) and use["ok"]
    assert use["max_cost"] == max_cost and use["budget"] == "cost 'price'"


@pytest.mark.parametrize("kind", ["max_utility", "min_shortfall"])
def test_area_and_cost_budgets_together_bind_where_neither_alone_does(kind):
    """The check is not vacuous: with both budgets the optimum is worse than with either alone
    (brute force), and the solvers find it."""
    lock_in = kind == "min_shortfall"
    both = build(kind, max_cost=7.0, area_km2=3.0, lock_in=lock_in)
    area_only = dataclasses.replace(both, cost_budgets=())
    cost_only = build(kind, max_cost=7.0, area_km2=None, lock_in=lock_in)
    sign = 1.0 if kind == "max_utility" else -1.0
    best = brute(both, 7.0)[0]
    assert sign * best < sign * brute(area_only, np.inf)[0] - 1e-6
    assert sign * best < sign * brute(cost_only, 7.0)[0] - 1e-6
    assert solve(both, "highs", gap=0.0).objective == pytest.approx(best, abs=1e-9)


def test_the_row_counts_the_unprotected_part_and_the_locked_in_units():
    """One upper row after the area row, label ``cost_price``: the free units' price times
    their unprotected share; the locked-in units' cost taken off the bound (as the area
    budget takes off their new area); unit 108 (wholly protected) spends nothing."""
    p = build("max_utility", max_cost=8.0, area_km2=2.5, lock_in=True)
    coef = cost_budget_coefficients(p, p.cost_budgets[0])
    np.testing.assert_allclose(coef, PRICE * (1 - PA))
    m = compile(p)
    budget = m.block("budget")
    assert budget.labels == ("total", "cost_price") and m.row_names()[:2] == ["budget_total",
                                                                              "budget_cost_price"]
    free = m.unit_of_col[:m.n_x]
    np.testing.assert_allclose(m.A[1].toarray()[0, :m.n_x], (PRICE * (1 - PA))[free])
    # Locked in: unit 100 (price 4), the remainder of unit 101 (price 2, half protected).
    assert m.row_lower[1] == -np.inf and m.row_upper[1] == pytest.approx(8.0 - 4.0 - 1.0)
    assert m.row_upper[0] == pytest.approx(2.5 - 1.0 - 0.5)  # the same units, in km²


def test_two_budgets_take_the_lagrangian_path_one_cost_row_the_single_budget_path():
    """The cut solver's single-budget path is for one upper row only: a cost row beside the
    area row goes to the Lagrangian; a cost row alone is the one budget."""
    from optimizer.solvers.cut.context import CutContext
    from optimizer.solvers.cut.form import cut_form

    for area, single in ((3.0, False), (None, True)):
        m = compile(build("max_utility", max_cost=6.0, area_km2=area, boundary=0.01))
        ctx = CutContext(m, cut_form(m), CutSolver(), 0.0, np.inf)
        assert (ctx.single_budget() is not None) is single
        sol = CutSolver(gap=0.0).solve(m)
        assert ("lagrangian" in sol.strategy) is not single, sol.strategy
        assert m.max_violation(sol.values) <= 1e-9


def test_auto_greedy_first_plan_respects_both_budgets():
    from optimizer.solvers.greedy import first_plan

    p = build("max_utility", max_cost=4.0, area_km2=3.0, boundary=0.01)
    m = compile(p)
    plan = first_plan(m)
    assert plan is not None and m.max_violation(plan.values) <= 1e-9
    assert spend(p, m.unit_x(plan.values) > 0.5) <= 4.0 + 1e-9
    assert "2 relaxed rows" in choose(m).reason  # auto counts the cost row as a relaxed row


def test_a_cost_budget_alone_is_the_objectives_budget_and_is_printed_with_its_unit():
    p = build("max_utility", max_cost=6.0, area_km2=None)
    assert p.total_budget() is None
    assert "cost 'price': at most 6 km2" in str(p)  # box_grid's layers are in km2
    assert "budget cost 'price' <= 6 km2" in p.describe()
    with pytest.raises(InputDataError, match=r"needs a budget: .* or call add_cost_budget\(\) first"):
        problem(grid()).add_max_utility_objective(weights={"biomass": 1})


def test_a_second_budget_on_the_same_layer_replaces_the_first():
    p = problem(grid()).add_cost_budget(5, cost="price").add_cost_budget(7, cost="price")
    assert [(b.cost, b.max_cost) for b in p.cost_budgets] == [("price", 7.0)]


def test_min_set_keeps_a_cost_budget_as_a_constraint():
    """Min set minimises the problem's cost; a cost budget beside it is one more row."""
    p = (problem(grid()).add_min_set_objective().add_relative_targets({"sp_1": 0.3})
         .add_cost_budget(4.0, cost="price"))
    best, _ = brute(p, 4.0)
    sol = solve(p, "highs", gap=0.0)
    assert spend(p, sol.x > 0.5) <= 4.0 + 1e-9
    assert sol.objective == pytest.approx(best, abs=1e-9)


# ---------------------------------------------------------------- the user's mistakes

def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_an_unknown_layer_is_named_with_the_nearest_cost_layer():
    with pytest.raises(InputDataError) as exc:
        problem(grid()).add_cost_budget(5, cost="prise")
    assert one_line(exc) == ("cost 'prise' is not a layer of this grid; cost layers: ['price']; "
                             "did you mean 'price'?")


def test_a_layer_of_another_role_is_not_a_cost():
    with pytest.raises(InputDataError) as exc:
        problem(grid()).add_cost_budget(5, cost="biomass")
    assert one_line(exc).startswith("cost 'biomass' is a layer of role 'carbon_stock', not a "
                                    "cost layer; name a layer with role \"cost\"")


def test_a_grid_without_cost_layers_says_how_to_add_one():
    pu = box_grid(2, 2, seed=1)
    with pytest.raises(InputDataError, match=r"the grid has no cost layer; add one with role = "
                                             r"\"cost\" to its manifest"):
        problem(pu).add_cost_budget(5, cost="price")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "a lot"])
def test_a_budget_that_is_not_a_nonnegative_number(bad):
    with pytest.raises(InputDataError) as exc:
        problem(grid()).add_cost_budget(bad, cost="price")
    assert "max_cost" in one_line(exc)


def test_nodata_where_a_plan_could_select_is_an_error_and_a_lock_out_clears_it():
    price = PRICE.copy()
    price[[2, 6]] = np.nan
    p = (problem(grid(price=price)).add_cost_budget(5, cost="price")
         .add_max_utility_objective(weights={"biomass": 1}))
    with pytest.raises(InputDataError) as exc:
        compile(p)
    assert one_line(exc) == ("cost layer 'price' has no value (nodata or NaN) in 2 unit(s) a plan "
                             "could select, e.g. pu_id [102, 106]; fill the layer there (0 for "
                             "free land) or lock those units out")
    fixed = p.add_locked_out(ids=[102, 106])
    assert compile(fixed).n_rows == 1


def test_nodata_in_a_wholly_protected_unit_is_no_error():
    price = PRICE.copy()
    price[8] = np.nan  # unit 108 is wholly protected: it adds nothing, costs nothing
    p = problem(grid(price=price)).add_cost_budget(5, cost="price")
    check_cost_budgets(p)
    assert cost_budget_coefficients(p, p.cost_budgets[0])[8] == 0.0


def test_negative_costs_are_an_error():
    price = PRICE.copy()
    price[3] = -2.0
    p = problem(grid(price=price)).add_cost_budget(5, cost="price")
    with pytest.raises(InputDataError) as exc:
        check_cost_budgets(p)
    assert one_line(exc) == ("cost layer 'price' has 1 negative value(s) in units a plan could "
                             "select, e.g. pu_id [103]; costs must be >= 0")


def test_locked_in_units_over_the_budget():
    p = (problem(grid()).add_cost_budget(2.5, cost="price").add_locked_in(ids=[100])
         .add_max_utility_objective(weights={"biomass": 1}))
    with pytest.raises(InputDataError) as exc:
        compile(p)
    assert one_line(exc) == ("the locked-in units already cost 5 km2 (cost layer 'price'), more "
                             "than the cost budget of 2.5; raise the cost budget or unlock units")


def test_the_priority_rank_leaves_the_cost_budget_out_and_says_so():
    from optimizer.plan.priority_rank import rank_problem

    single, note = rank_problem(build("max_utility", max_cost=7.0, area_km2=3.0))
    assert single is not None and single.cost_budgets == () and len(single.budgets) == 1
    assert note.endswith("computed without the scenario's 1 cost budget(s)")
    none, why = rank_problem(build("max_utility", max_cost=7.0, area_km2=None))
    assert none is None and why == "no priority rank: the problem has no total area budget"


@pytest.mark.parametrize("backend", ["highs", "cut", "auto"])
@pytest.mark.parametrize("seed", range(6))
def test_random_tiny_problems_match_brute_force(backend, seed):
    """Random prices, protection, locks and budgets (cost alone or beside the area budget)."""
    rng = np.random.default_rng(100 + seed)
    price = rng.uniform(0.5, 5.0, 9).round(2)
    pa = np.where(rng.random(9) < 0.3, rng.choice([0.3, 0.6, 1.0], 9), 0.0)
    kind = ("max_utility", "min_shortfall")[seed % 2]
    p = problem(grid(seed, price=price, pa=pa))
    ids = rng.permutation(np.arange(100, 109))
    p = p.add_locked_in(ids=ids[:1].tolist()).add_locked_out(ids=ids[1:2].tolist())
    locked_in, _ = p.locked_masks()
    max_cost = float((price * (1 - pa))[locked_in].sum()) + rng.uniform(2.0, 6.0)
    area = None if seed % 3 == 0 else float(rng.uniform(2.0, 4.0))
    p = p.add_cost_budget(max_cost, cost="price")
    if kind == "max_utility":
        p = p.add_max_utility_objective(area, weights={"biomass": 1, "sp_1": 1, "sp_2": 1})
    else:
        p = p.add_min_shortfall_objective(area).add_relative_targets({"sp_1": 0.5, "sp_2": 0.5})
    if seed >= 3:
        p = p.add_boundary_penalty(0.01 if kind == "max_utility" else 0.05)
    spent = price * (1 - pa)
    sign = 1.0 if kind == "max_utility" else -1.0
    best = max(sign * reference_objective(p, x) for x in all_selections(9)
               if spent @ x <= max_cost + 1e-9 and reference_feasible(p, x))
    options = {"concurrent": False} if backend == "auto" else {}
    sol = solve(p, backend, gap=0.0, **options)
    x = sol.x > 0.5
    assert spent @ x <= max_cost + 1e-9 and reference_feasible(p, x)
    assert sol.objective == pytest.approx(sign * best, rel=1e-7, abs=1e-9)
