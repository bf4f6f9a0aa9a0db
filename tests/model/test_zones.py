"""Management zones: the compiled model and the solvers against brute force over every
assignment of units to zones (or none) on tiny grids."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from optimizer import problem
from optimizer.datasets import tiny_grid
from optimizer.errors import InputDataError
from optimizer.model.zones import Zone, zone_index, zoned_problem
from optimizer.model.zones_compile import compile_zones
from optimizer.plan.zoned import (
    solve_zones,
    zone_areas,
    zone_representation,
    zoned_objective,
    zoned_violations,
)


def _all_plans(zp):
    n = zp.problem.n_units
    for combo in itertools.product(range(-1, zp.k), repeat=n):
        yield np.array(combo, dtype=np.int64)


def _brute(zp):
    """Best objective over every feasible assignment (the objective from the problem)."""
    sense_max = zp.problem.objective.kind == "max_utility"
    best = None
    for zone in _all_plans(zp):
        if zoned_violations(zp, zone):
            continue
        v = zoned_objective(zp, zone)
        if best is None or (v > best if sense_max else v < best):
            best = v
    return best


def _max_utility(**kw):
    p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1,
                                                                              "sp_a": 1})
    if kw.get("boundary"):
        p = p.add_boundary_penalty(kw["boundary"])
    return p


def _min_set(**kw):
    p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    if kw.get("boundary"):
        p = p.add_boundary_penalty(kw["boundary"])
    return p


def _min_shortfall(**kw):
    p = problem(tiny_grid()).add_min_shortfall_objective(budget_km2=2).add_relative_targets(0.6)
    if kw.get("boundary"):
        p = p.add_boundary_penalty(kw["boundary"])
    return p


CASES = {
    "utility, contributions and a core budget": (
        _max_utility, {}, [Zone("core", max_km2=1), Zone("general", {"carbon": 0.5, "sp_a": 0.8})]),
    "utility, boundary within and between zones": (
        _max_utility, {"boundary": 0.02},
        [Zone("core", boundary_penalty=0.03, max_km2=2),
         Zone("general", default_contribution=0.6, boundary_penalty=0.01)]),
    "min set, zone cost and a zone target": (
        _min_set, {}, [Zone("core", cost_factor=2.0, targets={"sp_b": 0.3}),
                       Zone("general", default_contribution=0.5)]),
    "min set, boundary and a minimum general area": (
        _min_set, {"boundary": 0.5},
        [Zone("core", boundary_penalty=0.25), Zone("general", default_contribution=0.7, min_km2=1)]),
    "min shortfall, contributions": (
        _min_shortfall, {}, [Zone("core", max_km2=1), Zone("general", default_contribution=0.5)]),
    "three zones": (
        _max_utility, {"boundary": 0.01},
        [Zone("core", max_km2=1), Zone("buffer", default_contribution=0.7, max_km2=1),
         Zone("use", default_contribution=0.3)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_objective_equals_the_problem_s_for_every_plan(case):
    make, kw, zones = CASES[case]
    zp = zoned_problem(make(**kw), zones)
    zm = compile_zones(zp)
    m = zm.model
    tol = 1e-7
    for zone in _all_plans(zp):
        values = zm.values_of(zone)
        assert np.array_equal(zm.zone_of_unit(values), zone)
        assert m.objective_value(values) == pytest.approx(zoned_objective(zp, zone), abs=1e-9)
        # The model's rows hold exactly when the problem's constraints do.
        assert (m.max_violation(values) <= tol) == (not zoned_violations(zp, zone)), zone


@pytest.mark.parametrize("solver", ["highs", "auto", "cut"])
@pytest.mark.parametrize("case", list(CASES))
def test_solvers_find_the_brute_force_optimum(case, solver):
    make, kw, zones = CASES[case]
    zp = zoned_problem(make(**kw), zones)
    if solver == "cut" and zp.problem.boundary_penalty is None and not any(
            z.boundary_penalty for z in zones):
        pytest.skip("the cut solver needs a boundary penalty")
    plan = solve_zones(zp, solver, gap=0.0)
    assert plan.objective == pytest.approx(_brute(zp), abs=1e-7)
    assert plan.solution.is_optimal
    assert not zoned_violations(zp, plan.zone)


def test_one_zone_of_whole_contributions_is_the_problem_without_zones():
    from optimizer import solve
    for make in (_max_utility, _min_set, _min_shortfall):
        p = make(boundary=0.1)
        plain = solve(p, "highs", gap=0.0)
        zp = zoned_problem(p, [Zone("protected")])
        plan = solve_zones(zp, gap=0.0)
        assert plan.objective == pytest.approx(plain.objective, abs=1e-9)
        # Either plan scores the same under both formulas (ties may pick other units).
        as_zones = np.where(plain.x > 0.5, 0, -1)
        assert zoned_objective(zp, as_zones) == pytest.approx(plain.objective, abs=1e-9)


def test_zone_locks_hold():
    p = _max_utility()
    n = p.n_units
    core_in = np.zeros(n, bool)
    core_in[5] = True  # a unit of no carbon, forced into core
    general_out = np.zeros(n, bool)
    general_out[3] = True  # the best carbon unit may not be general
    zp = zoned_problem(p, [Zone("core", max_km2=2, locked_in=core_in),
                           Zone("general", {"carbon": 0.5, "sp_a": 0.5}, locked_out=general_out)])
    plan = solve_zones(zp, gap=0.0)
    assert plan.zone[5] == 0 and plan.zone[3] != 1
    assert plan.objective == pytest.approx(_brute(zp), abs=1e-9)


def test_problem_locks_keep_their_meaning():
    n = tiny_grid().units.shape[0]
    out = np.zeros(n, bool)
    out[3] = True
    p = _max_utility().add_locked_out(mask=out)
    zp = zoned_problem(p, [Zone("core"), Zone("general", default_contribution=0.5)])
    plan = solve_zones(zp, gap=0.0)
    assert plan.zone[3] == -1
    assert plan.zone[0] >= 0  # existing protection is in a zone
    assert plan.objective == pytest.approx(_brute(zp), abs=1e-9)


def test_tables_add_up():
    p = _min_set()
    zp = zoned_problem(p, [Zone("core", targets={"sp_b": 0.3}),
                           Zone("general", default_contribution=0.5)])
    plan = solve_zones(zp, gap=0.0)
    rep = zone_representation(zp, plan)
    areas = zone_areas(zp, plan)
    unprot = 1 - p.protected_fraction
    for f in rep.index:
        r = p.feature_amount(f)
        by_hand = (r * p.protected_fraction).sum() + sum(
            zp.factor(z, f) * (r * unprot)[plan.zone == z].sum() for z in range(zp.k))
        assert rep.loc[f, "held"] == pytest.approx(by_hand)
        assert rep.loc[f, "held"] >= rep.loc[f, "target"] - 1e-9
    assert areas["new_km2"].sum() == pytest.approx((p.area_km2 * unprot)[plan.zone >= 0].sum())
    assert areas["units"].sum() == int((plan.zone >= 0).sum())
    assert zone_index(zp, "general") == 1


@pytest.mark.parametrize("zones, message", [
    ([], "non-empty sequence of Zone"),
    ([Zone("a"), Zone("a")], "unique"),
    ([Zone("a", {"carbon": 1.5})], "contribution of 'carbon' must be in [0, 1]"),
    ([Zone("a", {"carbon": 0.5})], "zone 'a' has no contribution for 1 feature(s)"),
    ([Zone("a", {"nope": 0.5})], "is not a feature"),
    ([Zone("a", cost_factor=-1)], "cost_factor must be at least 0"),
    ([Zone("a", min_km2=3, max_km2=1)], "min_km2 3 is above its max_km2 1"),
    ([Zone("a", targets={"sp_a": 2})], "target of 'sp_a' must be in [0, 1]"),
    ([Zone("a", locked_in=np.ones(3, bool))], "boolean mask of the 6 units"),
    ([Zone("a", locked_in=np.ones(6, bool)), Zone("b", locked_in=np.ones(6, bool))],
     "locked into two zones"),
    ([Zone("a", locked_out=np.ones(6, bool))], "locked out of every zone"),
])
def test_mistakes_are_one_line_errors(zones, message):
    with pytest.raises(InputDataError) as err:
        zoned_problem(_max_utility(), zones)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("solver", ["highs", "auto"])
def test_a_tiny_time_limit_still_gives_a_checked_zoned_plan(solver):
    make, kw, zones = CASES["min set, boundary and a minimum general area"]
    zp = zoned_problem(make(**kw), zones)
    plan = solve_zones(zp, solver, time_limit=0.001)
    assert not zoned_violations(zp, plan.zone)
    assert plan.objective == pytest.approx(zoned_objective(zp, plan.zone))
    assert plan.objective >= _brute(zp) - 1e-9  # min set: never better than the optimum


LAGRANGIAN_CASES = ["utility, contributions and a core budget",
                    "utility, boundary within and between zones", "three zones"]


@pytest.mark.parametrize("case", LAGRANGIAN_CASES)
def test_the_zone_price_lagrangian_bounds_the_optimum_and_its_plans_hold(case):
    from optimizer.plan.zoned_relax import lagrangian_zones

    make, kw, zones = CASES[case]
    zp = zoned_problem(make(**kw), zones)
    best = _brute(zp)
    lz = lagrangian_zones(zp, gap=0.0)
    assert lz.bound >= best - 1e-9  # a bound on every zoned plan
    assert lz.zone is not None and not zoned_violations(zp, lz.zone)
    assert lz.objective == pytest.approx(zoned_objective(zp, lz.zone)) and lz.objective <= best + 1e-9
    plan = solve_zones(zp, gap=0.0, method="lagrangian")  # then HiGHS from its plan and bound
    assert plan.objective == pytest.approx(best, abs=1e-9)
    assert plan.solution.strategy.startswith("zone-lagrangian")
    assert plan.solution.info["zone_lagrangian"]["bound"] == pytest.approx(lz.bound)


def test_the_lagrangian_needs_a_capped_max_utility_zone():
    make, kw, zones = CASES["min set, zone cost and a zone target"]
    with pytest.raises(InputDataError, match="method='lagrangian' prices the zones' area caps"):
        solve_zones(zoned_problem(make(**kw), zones), method="lagrangian")
    with pytest.raises(InputDataError, match="method must be"):
        solve_zones(zoned_problem(make(**kw), zones), method="fast")


def test_zones_refuse_what_the_zoned_model_would_ignore():
    p = _max_utility()
    for q, what in ((p.add_neighbours_constraints(1), "neighbour constraints"),
                    (p.add_contiguity_constraints(), "contiguity or minimum park constraints")):
        with pytest.raises(InputDataError, match=f"zones do not take {what} yet"):
            zoned_problem(q, [Zone("core"), Zone("general")])


def test_a_row_added_to_a_zoned_model_keeps_every_block_in_place():
    from optimizer.studies.metrics import with_row

    make, kw, zones = CASES["utility, boundary within and between zones"]
    zm = compile_zones(zoned_problem(make(**kw), zones))
    m = zm.model
    m2 = with_row(m, np.ones(m.n_x), -np.inf, 10.0, label="cap")
    for b in m.row_blocks:
        b2 = m2.block(b.kind)
        shift = 1 if b.start >= m.block("boundary").start else 0
        assert (b2.start, b2.stop) == (b.start + shift, b.stop + shift), b.kind
        np.testing.assert_array_equal(m2.row_upper[b2.start:b2.stop], m.row_upper[b.start:b.stop])
    assert m2.block("epsilon").stop == m2.block("boundary").start


def test_a_zone_vector_of_the_wrong_shape_or_values_is_a_one_line_error():
    zp = zoned_problem(_min_set(), [Zone("core"), Zone("general")])
    for bad, text in ((np.zeros(5, dtype=np.int64), "integer array of the 6 units"),
                      (np.zeros(6), "integer array of the 6 units"),
                      (np.array([0, 1, 2, -1, -1, -1]), "-1 (not selected) to 1")):
        with pytest.raises(InputDataError, match=re.escape(text)) as err:
            zoned_objective(zp, bad)
        assert "\n" not in str(err.value)
