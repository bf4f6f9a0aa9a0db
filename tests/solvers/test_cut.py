"""Tests of optimizer.solvers.cut: the cut-form identity on polygon units, brute force on
tiny problems of every objective, agreement with HiGHS, the nested path, the error
paths, ``auto`` and real Marxan data (Tasmania, BLM 0.0005).
"""

from __future__ import annotations

import dataclasses
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import box_grid, brute_force, cases, reference_feasible, reference_objective
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.grid.build import PlanningUnits
from optimizer.model.compile import compile
from optimizer.model.problem import Problem, problem
from optimizer.plan.results import solve
from optimizer.solvers import (
    AutoSolver,
    CutSolver,
    HighsSolver,
    SolveStatus,
    cut_form,
    get_solver,
    has_cut_form,
    plan_for_budget,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- polygon units

def polygon_units(n: int, seed: int, *, n_species: int = 3) -> PlanningUnits:
    """Irregular units: a Voronoi diagram of random points, uneven shared edges."""
    rng = np.random.default_rng(seed)
    pts = shapely.points(rng.uniform(0, 10_000, (n, 2)))
    box = shapely.box(0, 0, 10_000, 10_000)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box)
    polys = [shapely.intersection(c, box) for c in shapely.get_parts(cells)]
    # Voronoi cells come in no fixed order: match them to their points.
    order = [int(np.flatnonzero(shapely.contains(polys, p))[0]) for p in pts]
    geoms = np.array(polys, dtype=object)[order]
    ids = np.arange(n) + 1
    i, j, length = [], [], []
    for a in range(n):
        for b in range(a + 1, n):
            shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]),
                                                         shapely.boundary(geoms[b])))
            if shared > 1e-6:
                i.append(a)
                j.append(b)
                length.append(shared / 1000.0)
    perimeter = shapely.length(geoms) / 1000.0
    shared_sum = np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
    data = {
        "pu_id": ids, "area_km2": shapely.area(geoms) / 1e6, "perimeter_km": perimeter,
        "exposed_km": np.maximum(perimeter - shared_sum, 0.0), "pa_fraction": np.zeros(n),
        "region": np.array(["A"] * (n // 2) + ["B"] * (n - n // 2), dtype=object),
        "biomass": rng.uniform(0, 10, n),
    }
    frows = [{"column": "biomass", "layer": "biomass", "role": "carbon_stock", "year": pd.NA,
              "label": "biomass", "unit": "MgC", "source_unit": "MgC", "density_column": "",
              "total": float(data["biomass"].sum())}]
    for k in range(n_species):
        amt = np.where(rng.random(n) < 0.6, rng.uniform(0, 1, n), 0.0)
        amt[rng.integers(n)] = 0.5
        data[f"sp_{k}"] = amt
        frows.append({"column": f"sp_{k}", "layer": "sp", "role": "biodiversity", "year": pd.NA,
                      "label": f"sp_{k}", "unit": "km2", "source_unit": "km2",
                      "density_column": "", "total": float(amt.sum())})
    units = gpd.GeoDataFrame(pd.DataFrame(data), geometry=list(geoms), crs="EPSG:6933")
    feats = pd.DataFrame(frows).set_index("column")
    feats["year"] = feats["year"].astype("Int64")
    boundary = pd.DataFrame({"id1": ids[i], "id2": ids[j], "length_km": length})
    return PlanningUnits(units, boundary, feats, {})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max_utility", "min_set", "min_shortfall"])
def test_cut_form_equals_the_linearised_boundary_on_polygon_units(seed, kind):
    pu = polygon_units(14, seed)
    assert pu.boundary["length_km"].std() > 0.1  # uneven edges
    rng = np.random.default_rng(seed)
    p = problem(pu).add_locked_in(ids=[1]).add_locked_out(ids=[2])
    if kind == "max_utility":
        p = p.add_max_utility_objective(budget_share=0.4)
    elif kind == "min_set":
        p = p.add_relative_targets(0.3).add_min_set_objective()
    else:
        p = p.add_relative_targets(0.3).add_min_shortfall_objective(budget_share=0.3)
    p = p.add_boundary_penalty(0.05 * (seed + 1), edge_factor=0.7)
    m = compile(p)
    form = cut_form(m)
    assert (form.w >= 0).all() and form.w.size > 0
    for _ in range(30):
        x_unit = (rng.random(p.n_units) < rng.random()).astype(float)
        x_unit[0], x_unit[1] = 1.0, 0.0
        xc = m.x_cols_of(x_unit)
        full = m.complete(xc)
        linearised = m.objective_value(full)
        s0 = m.n_x + form.w.size  # shortfall columns follow x and y
        s_part = float(m.c[s0:] @ full[s0:])
        assert form.sigma * form.value(xc) + m.offset + s_part == pytest.approx(
            linearised, rel=1e-10, abs=1e-10)
        assert linearised == pytest.approx(reference_objective(p, x_unit), rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- brute force

boundary_cases = cases.map(lambda c: dataclasses.replace(c, boundary=1.0))


def check_plan(p: Problem, sol, best: float | None) -> None:
    """Independent checks of a returned plan: locks, budgets, targets, objective, bound."""
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), abs=1e-7)
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    assert sign * (sol.bound - sol.objective) >= -1e-7  # bound on the right side of the plan
    if best is not None:
        assert sign * (sol.bound - best) >= -1e-7 * max(1.0, abs(best))  # a valid bound
        assert sign * (best - sol.objective) >= -1e-7  # no plan beats the optimum


@SETTINGS
@given(case=boundary_cases)
def test_cut_solver_matches_brute_force(case):
    p = case.build()
    best = brute_force(p)
    if best is None:
        with pytest.raises(InfeasibleProblemError):
            CutSolver(gap=0.0).solve(compile(p))
        return
    sol = CutSolver(gap=0.0).solve(compile(p))
    check_plan(p, sol, best)
    assert sol.status is SolveStatus.OPTIMAL
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-7)


@SETTINGS
@given(case=boundary_cases)
def test_cut_solver_without_polish_gives_valid_plans_and_bounds(case):
    """The Lagrangian part alone: every plan feasible, every bound valid, gap 0 => optimal."""
    p = case.build()
    best = brute_force(p)
    try:
        sol = CutSolver(gap=0.0, polish=False).solve(compile(p))
    except InfeasibleProblemError:
        assert best is None
        return
    assert best is not None
    check_plan(p, sol, best)
    if sol.gap <= 1e-9:
        assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-7)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["max_utility", "min_set",
                                                           "min_shortfall"]),
       blm=st.sampled_from([0.02, 0.2]))
def test_cut_solver_on_polygon_units_matches_brute_force(seed, kind, blm):
    pu = polygon_units(10, seed % 50)
    p = problem(pu).add_locked_in(ids=[3])
    if kind == "max_utility":
        p = p.add_max_utility_objective(budget_share=0.35).add_boundary_penalty(blm * 0.1)
    elif kind == "min_set":
        p = (p.add_relative_targets(0.4).add_min_set_objective().add_boundary_penalty(blm)
             .add_area_budget(region="A", max_share=0.8))
    else:
        p = (p.add_relative_targets(0.5).add_min_shortfall_objective(budget_share=0.3)
             .add_boundary_penalty(blm * 0.1))
    best = brute_force(p)
    assert best is not None
    sol = CutSolver(gap=0.0).solve(compile(p))
    check_plan(p, sol, best)
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-7)


# ---------------------------------------------------------------- against HiGHS

@pytest.mark.parametrize("kind", ["max_utility", "max_utility_region", "min_set",
                                  "min_set_budget", "min_shortfall"])
def test_cut_solver_agrees_with_the_highs_mip(kind):
    rng = np.random.default_rng(11)
    pu = box_grid(10, 10, seed=11, n_species=6, region=list(rng.choice(["A", "B"], 100)))
    p = problem(pu).add_locked_in(mask=rng.random(100) < 0.05).add_locked_out(
        mask=rng.random(100) < 0.05)
    if kind.startswith("max_utility"):
        p = p.add_max_utility_objective(budget_share=0.2).add_boundary_penalty(0.003)
        if kind.endswith("region"):
            p = p.add_area_budget(region="A", max_share=0.15)
    elif kind.startswith("min_set"):
        p = p.add_relative_targets(0.3).add_min_set_objective().add_boundary_penalty(0.2)
        if kind.endswith("budget"):
            p = p.add_area_budget(region="B", max_share=0.3)
    else:
        p = (p.add_relative_targets(0.4).add_min_shortfall_objective(budget_share=0.15)
             .add_boundary_penalty(0.01))
    m = compile(p)
    ref = HighsSolver(strategy="mip", gap=0.0, time_limit=30).solve(m)
    sol = CutSolver(gap=1e-3, time_limit=4, polish_all=0, polish_units=60).solve(m)
    check_plan(p, sol, ref.objective if ref.is_optimal else None)
    assert sol.gap <= 0.05  # the Lagrangian bound stays close (LP bound)
    sign = 1.0 if m.sense == "max" else -1.0
    # Within the reported gap of the optimum (and the bound below/above it).
    assert sign * (ref.objective - sol.objective) <= sol.gap * abs(sol.objective) + 1e-7


def test_no_boundary_is_a_degenerate_cut_and_still_solved():
    pu = box_grid(10, 10, seed=4, n_species=3)
    p = problem(pu).add_max_utility_objective(budget_share=0.25)
    m = compile(p)
    assert not has_cut_form(m)[0] and "no boundary" in has_cut_form(m)[1]
    sol = CutSolver(gap=1e-6).solve(m)
    ref = HighsSolver(strategy="mip", gap=0.0).solve(m)
    check_plan(p, sol, ref.objective)
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6)
    q = problem(pu).add_relative_targets(0.3).add_min_set_objective()
    sol = CutSolver(gap=1e-6).solve(compile(q))
    ref = HighsSolver(strategy="mip", gap=0.0).solve(compile(q))
    check_plan(q, sol, ref.objective)


# ---------------------------------------------------------------- nested path

def test_the_nested_path_answers_other_budgets_instantly():
    pu = box_grid(20, 20, seed=8, n_species=3)
    p = (problem(pu).add_max_utility_objective(budget_share=0.2).add_boundary_penalty(0.002)
         .add_locked_in(ids=[100, 101]))
    sol = CutSolver(gap=1e-4, path_points=64).solve(compile(p))
    assert sol.strategy.startswith("cut-parametric")
    path = sol.info["path"]
    assert list(path.columns) == ["lambda", "area", "units", "objective"]
    assert path["lambda"].is_monotonic_increasing and path["area"].is_monotonic_decreasing
    rank = sol.info["unit_rank"]
    assert (rank[[0, 1]] == -1).all() and (rank >= 0).sum() > 20
    plans = [plan_for_budget(sol, b, problem=p) for b in (10, 40, 80, 120, 200)]
    for small, large in itertools.pairwise(plans):
        assert (small <= large).all()  # nested
    for b, x in zip((10, 40, 80, 120, 200), plans, strict=True):
        used = float(p.unprotected_km2 @ x)
        assert used <= b + 1e-9 and x[[0, 1]].min() == 1
    # At a breakpoint the path's plan is the Lagrangian optimum for that budget.
    k = len(path) // 2
    area_k = float(path["area"][k])
    locked = float(p.unprotected_km2[[0, 1]].sum())
    x = plan_for_budget(sol, area_k + locked, problem=p)
    assert reference_objective(p, x) >= path["objective"][k] - 1e-9
    with pytest.raises(InputDataError, match="plan_for_budget needs a cut solution of a "
                                             "single-budget model"):
        plan_for_budget({"foo": 1}, 10.0)


# ---------------------------------------------------------------- errors, auto, log

def test_negative_pairwise_weights_are_refused_and_auto_falls_back_to_highs():
    pu = box_grid(3, 3, seed=2)
    p = problem(pu).add_max_utility_objective(budget_share=0.4).add_boundary_penalty(0.05)
    m = compile(p)
    yb = m.block("y", rows=False)
    c = m.c.copy()
    c[yb.start:yb.stop] *= -1  # the objective now rewards boundary
    bad = dataclasses.replace(m, c=c)
    with pytest.raises(SolverError, match=r"negative pairwise weight .* no cut form; use "
                                          r"solver='highs'"):
        CutSolver().solve(bad)
    sol = AutoSolver(gap=0.0).solve(bad)
    assert sol.info["auto_choice"] == "highs" and "negative pairwise weight" in sol.info["auto"]
    good = AutoSolver(gap=1e-9, concurrent=False).solve(m)
    assert good.info["auto_choice"] == "cut" and good.strategy.startswith("greedy+cut")


def test_unreachable_targets_raise_infeasible():
    pu = box_grid(3, 3, seed=3)
    p = (problem(pu).add_relative_targets(0.9).add_min_set_objective().add_boundary_penalty(0.1)
         .add_locked_out(ids=[100, 101, 102, 103, 104]))
    with pytest.raises(InfeasibleProblemError, match="cut solver: row target 'sp_"):
        CutSolver().solve(compile(p))
    q = (problem(pu).add_relative_targets(0.9).add_min_set_objective().add_boundary_penalty(0.1)
         .add_area_budget(max_km2=1.0))
    with pytest.raises(InfeasibleProblemError, match=r"infeasible|cannot all be met"):
        solve(q, "cut")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: CutSolver(time_limit=-1), r"time_limit must be a positive number of seconds; got -1"),
    (lambda: CutSolver(gap=2), r"gap must be a relative gap in \[0, 1\)"),
    (lambda: get_solver("auto", foo=1), r"solver 'auto': unknown option\(s\) \['foo'\]"),
])
def test_option_errors(make, message):
    with pytest.raises(InputDataError, match=message):
        make()


def test_log_reports_iterations_bound_best_and_gap_and_solve_accepts_auto():
    pu = box_grid(15, 15, seed=5, n_species=4)
    p = problem(pu).add_relative_targets(0.3).add_min_set_objective().add_boundary_penalty(0.3)
    lines: list[str] = []
    sol = solve(p, "auto", gap=1e-3, log=lines.append, polish=False, concurrent=False)
    assert sol.solver == "auto" and sol.info["auto_choice"] == "cut"
    its = [ln for ln in lines if ln.startswith("cut it")]
    assert its and all(("bound" in ln and "best" in ln and "gap" in ln) for ln in its)
    assert "cut it" in sol.log and sol.runtime > 0 and {"cuts", "cut_seconds"} <= set(sol.info)
    unpolished = solve(p, "cut", gap=1e-3, polish=False)
    polished = solve(p, "cut", gap=1e-3, polish_time=3.0, polish_all=0, polish_units=80,
                     lns_time=2.0)
    assert polished.objective <= unpolished.objective + 1e-9


def test_auto_hands_a_short_cut_plan_to_the_highs_mip_and_keeps_the_better_answer():
    pu = box_grid(8, 8, seed=3, n_species=4)
    p = problem(pu).add_relative_targets(0.35).add_min_set_objective().add_boundary_penalty(0.5)
    exact = solve(p, "highs", strategy="mip", gap=0.0)
    # A cut run crippled on purpose (3 iterations, no polish) stops short of gap 0 ...
    short = solve(p, "cut", gap=0.0, polish=False, max_iterations=3)
    assert short.status is SolveStatus.FEASIBLE
    # ... and auto (one core, a gap above 0: the cut solver first) hands its plan and bound
    # to the MIP, which closes the gap.
    sol = solve(p, "auto", gap=1e-9, polish=False, max_iterations=3, time_limit=60,
                concurrent=False)
    assert sol.strategy.endswith("+highs-mip") and sol.solver == "auto"
    assert sol.is_optimal
    assert sol.objective == pytest.approx(exact.objective, rel=1e-9)
    assert sol.objective <= short.objective + 1e-9
    assert sol.bound <= sol.objective + 1e-9 and sol.bound >= short.bound - 1e-9
    assert reference_feasible(p, sol.x)
    assert {"handoff_seconds", "handoff_objective"} <= set(sol.info)


def test_restrict_model_keeps_the_objective_of_every_plan():
    pu = box_grid(4, 4, seed=9)
    p = (problem(pu).add_relative_targets(0.3).add_min_shortfall_objective(budget_share=0.3)
         .add_boundary_penalty(0.2).add_locked_in(ids=[100]))
    m = compile(p)
    rng = np.random.default_rng(0)
    base = (rng.random(m.n_x) < 0.5).astype(float)
    keep = np.flatnonzero(rng.random(m.n_x) < 0.5)
    sub = m.restrict(keep, base)
    for _ in range(10):
        x = base.copy()
        x[keep] = rng.random(keep.size) < 0.5
        full, part = m.complete(x), sub.complete(x[keep])
        assert sub.objective_value(part) == pytest.approx(m.objective_value(full), abs=1e-10)
        assert (sub.max_violation(part) <= 1e-9) == (m.max_violation(full) <= 1e-9)
        np.testing.assert_array_equal(sub.unit_x(part), m.unit_x(full))


def test_every_unit_locked_needs_no_cut():
    pu = box_grid(1, 2, seed=3)
    p = (problem(pu).add_max_utility_objective(5.0).add_locked_in(ids=[100])
         .add_locked_out(ids=[101]).add_boundary_penalty(0.1))
    sol = CutSolver().solve(compile(p))
    assert sol.x.tolist() == [1.0, 0.0] and sol.strategy == "fixed"


def test_a_larger_budget_never_lowers_the_cut_optimum():
    pu = box_grid(8, 8, seed=12)
    base = problem(pu).add_boundary_penalty(0.01)
    objs = [CutSolver(gap=0.0).solve(compile(base.add_max_utility_objective(budget_share=s)))
            .objective for s in (0.1, 0.2, 0.3)]
    assert objs[0] <= objs[1] + 1e-9 <= objs[2] + 2e-9


# ---------------------------------------------------------------- real data


# ---------------------------------------------------------------- neighbourhood search

def _context(m, solver: CutSolver):
    """The solver's shared arrays for ``m``, as `CutSolver.solve` builds them."""
    import time

    from optimizer.solvers.cut.context import CutContext

    now = time.perf_counter()
    limit = now + solver.time_limit if solver.time_limit else float("inf")
    return CutContext(m, cut_form(m), solver, now, limit)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=boundary_cases)
def test_lns_never_worsens_a_plan_and_never_beats_the_optimum(case):
    from optimizer.solvers.cut.lns import lns

    p = case.build()
    m = compile(p)
    best = brute_force(p)
    assume(best is not None and m.n_x > 0 and has_cut_form(m)[0])
    start = CutSolver(gap=0.0, polish=False, max_iterations=2).solve(m)
    solver = CutSolver(gap=0.0, lns_units=3, lns_stall=6, lns_time=5.0)
    ctx = _context(m, solver)
    x0 = m.x_cols_of(start.x)
    x, info = lns(ctx, x0, -np.inf, solver)  # no bound: runs until it stalls
    assert info["lns_windows"] >= 1
    assert ctx.feasible(x) and reference_feasible(p, m.unit_x(m.complete(x)))
    obj = m.objective_value(m.complete(x))
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    assert sign * (obj - start.objective) >= -1e-9  # never worse than the start
    assert sign * (best - obj) >= -1e-7  # never better than the optimum


def test_lns_improves_a_short_cut_plan_on_a_grid_and_keeps_the_bound_valid():
    pu = box_grid(15, 15, seed=5, n_species=4)
    p = problem(pu).add_relative_targets(0.3).add_min_set_objective().add_boundary_penalty(0.6)
    m = compile(p)
    common = dict(gap=0.0, max_iterations=4, polish_all=0, polish_units=20, polish_time=1.0)
    plain = CutSolver(lns=False, **common).solve(m)
    searched = CutSolver(lns_units=60, lns_time=3.0, lns_stall=8, **common).solve(m)
    assert searched.strategy.endswith("+lns") and searched.info["lns_windows"] >= 1
    assert searched.objective <= plain.objective + 1e-9
    assert searched.bound <= searched.objective + 1e-9
    assert searched.bound == pytest.approx(plain.bound, rel=1e-12)  # the search proves nothing
    assert reference_feasible(p, searched.x)
    assert searched.objective == pytest.approx(reference_objective(p, searched.x), rel=1e-9)


def test_highs_run_mip_is_one_plain_mip_run_with_an_optional_warm_start():
    pu = box_grid(6, 6, seed=4, n_species=3)
    p = problem(pu).add_relative_targets(0.3).add_min_set_objective().add_boundary_penalty(0.3)
    m = compile(p)
    ref = HighsSolver(strategy="mip", gap=0.0).solve(m)
    hs = HighsSolver(gap=0.0)
    run = hs.run_mip(m, time_limit=20)
    assert run.status == "optimal" and run.values is not None and run.values.size == m.n_cols
    assert run.objective == pytest.approx(ref.objective, rel=1e-9)
    assert run.bound <= run.objective + 1e-7
    log: list[str] = []
    warm = hs.run_mip(m, warm_start=ref.values, log=log)
    assert warm.status == "optimal" and warm.objective == pytest.approx(ref.objective, rel=1e-9)
    assert log  # HiGHS's log lines were collected


def test_lns_respects_the_requested_gap_and_does_nothing_once_it_is_proven():
    from optimizer.solvers.cut.lns import lns

    pu = box_grid(10, 10, seed=2, n_species=3)
    p = problem(pu).add_relative_targets(0.3).add_min_set_objective().add_boundary_penalty(0.5)
    m = compile(p)
    start = CutSolver(gap=0.0, polish=False, max_iterations=3).solve(m)
    solver = CutSolver(gap=0.01, lns_units=30, lns_time=2.0)
    ctx = _context(m, solver)
    x0 = m.x_cols_of(start.x)
    x, info = lns(ctx, x0, ctx.min_value(x0), solver)  # a bound equal to the plan: gap 0
    assert info["lns_windows"] == 0 and np.array_equal(x, x0)


def test_read_path_gives_what_a_nested_path_solve_of_the_other_budget_gives():
    # One nested-path solve answers every budget: the plan and bound read for budget 5
    # from the solve at budget 2 are those of a nested-path solve at budget 5.
    pu = box_grid(4, 4, seed=3, n_species=2)

    def prob(km2: float) -> Problem:
        return (problem(pu).add_max_utility_objective(budget_km2=km2, weights={"carbon": 1})
                .add_boundary_penalty(1e-3))

    def model(km2: float):
        return compile(prob(km2))

    solver = CutSolver(gap=1e-9, nested_path=True)
    path = solver.solve(model(2)).budget_path
    assert path is not None and path.budget_independent
    read = CutSolver(gap=1e-9, nested_path=True).read_path(model(5), path)
    direct = CutSolver(gap=1e-9, nested_path=True).solve(model(5))
    assert np.array_equal(read.x, direct.x)
    assert read.objective == pytest.approx(direct.objective, abs=1e-12)
    assert read.bound == pytest.approx(direct.bound, abs=1e-12)
    assert read.objective == pytest.approx(reference_objective(prob(5), read.x), abs=1e-9)

    refined = CutSolver(gap=1e-9).solve(model(2)).budget_path
    assert refined is not None and not refined.budget_independent
    with pytest.raises(InputDataError, match="nested_path=True"):
        solver.read_path(model(5), refined)
    min_set = compile(problem(pu).add_min_set_objective().add_relative_targets(0.3))
    with pytest.raises(InputDataError, match="one area budget"):
        solver.read_path(min_set, path)
