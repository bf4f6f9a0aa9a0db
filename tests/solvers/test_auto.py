"""Tests of optimizer.solvers.auto: each rule of `choose` on a model built to trigger it,
brute force on tiny problems for every branch (HiGHS, the cut solver then HiGHS, both at
once), the combined status recomputed from the plan, per-solve stops, time limits and
Ctrl-C in a concurrent run.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest
from helpers import box_grid, brute_force, reference_feasible, reference_objective

from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.results import solve
from optimizer.solvers import AutoSolver, HighsSolver, Solution, SolveStatus, choose, get_solver
from optimizer.solvers.auto import (
    AUTO_MAX_RELAXED_ROWS,
    SMALL_EXACT_UNITS,
    penalty_strength,
)
from optimizer.solvers.base import request_stop, solve_scope, stop_requested


def tiny(penalty: float | None = None, *, seed: int = 1, n_species: int = 3, share: float = 0.4):
    """A 2 x 5 grid (10 units: every plan can be enumerated), min set at ``share`` targets."""
    p = problem(box_grid(2, 5, seed=seed, n_species=n_species)).add_min_set_objective()
    p = p.add_relative_targets(share)
    return p if penalty is None else p.add_boundary_penalty(penalty)


def grid(side: int, penalty: float, *, seed: int = 5):
    p = problem(box_grid(side, side, seed=seed, n_species=6)).add_min_set_objective()
    return p.add_relative_targets(0.3).add_boundary_penalty(penalty)


def cut_children() -> list[psutil.Process]:
    """This process's cut-solver children still running."""
    return [c for c in psutil.Process().children(recursive=True)
            if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
            and "child_main" in " ".join(c.cmdline())]


@functools.cache
def optimum(penalty: float | None, seed: int) -> float:
    best = brute_force(tiny(penalty, seed=seed))
    assert best is not None
    return best


def assert_brute_force(p, sol: Solution, gap: float, penalty: float | None, seed: int) -> None:
    best = optimum(penalty, seed)
    assert best is not None and reference_feasible(p, sol.x)
    # The objective is the plan's (recomputed here independently) ...
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), rel=1e-9, abs=1e-9)
    # ... within the requested gap of the true optimum, and the bound is a bound.
    assert sol.objective <= best * (1 + gap) + 1e-9
    assert sol.bound <= best + 1e-6 * max(1.0, abs(best))
    assert sol.is_optimal


# ---------------------------------------------------------------- the rules of choose

def test_no_boundary_penalty_chooses_highs():
    c = choose(compile(tiny()), cores=2)
    assert c.name == "highs" and "no boundary penalty" in c.reason
    assert c.line.startswith("solver: auto → HiGHS (")


def test_too_many_relaxed_rows_choose_highs():
    p = (problem(box_grid(3, 4, seed=2, n_species=AUTO_MAX_RELAXED_ROWS + 2))
         .add_min_set_objective().add_relative_targets(0.2).add_boundary_penalty(1.0))
    c = choose(compile(p), cores=2)
    assert c.name == "highs" and f"more than {AUTO_MAX_RELAXED_ROWS}" in c.reason


def test_negative_pairwise_weights_choose_highs():
    m = compile(tiny(1.0))
    yb = m.block("y", rows=False)
    c = m.c.copy()
    c[yb.start:yb.stop] *= -1  # the objective now rewards boundary
    choice = choose(dataclasses.replace(m, c=c), cores=2)
    assert choice.name == "highs" and "negative pairwise weight" in choice.reason


def test_cut_form_on_two_cores_runs_both():
    choice = choose(compile(tiny(1.0)), cores=2)
    assert choice.name == "cut+highs" and "2 cores" in choice.reason
    assert "1 relaxed row" not in choice.reason and "10 free units" in choice.reason
    assert choose(compile(tiny(1.0)), cores=8, concurrent=False).name != "cut+highs"


def test_one_core_gap_zero_on_a_small_model_chooses_highs_else_the_cut_solver():
    m = compile(tiny(1.0))
    assert m.n_x <= SMALL_EXACT_UNITS
    zero = choose(m, cores=1, gap=0.0)
    assert zero.name == "highs" and "gap 0" in zero.reason
    assert choose(m, cores=1, gap=1e-3).name == "cut"


def test_frontier_points_use_the_cut_solver_without_boundary():
    p = problem(box_grid(3, 4, seed=1)).add_max_utility_objective(budget_km2=4)
    assert choose(compile(p), frontier=True).name == "frontier-cut"
    assert choose(compile(p)).name == "highs"  # a solve without boundary: HiGHS


def test_penalty_strength_is_the_pairwise_weight_over_the_unit_terms():
    m0, m1, m2 = (compile(tiny(b)) for b in (None, 1.0, 2.0))
    assert penalty_strength(m0) == 0.0
    assert 0 < penalty_strength(m1) < penalty_strength(m2)


# ---------------------------------------------------------------- brute force per branch

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_highs_branch_matches_brute_force(seed):
    p = tiny(seed=seed)
    sol = solve(p, "auto", gap=0.0, concurrent=False)
    assert sol.info["auto_choice"] == "highs" and sol.solver == "auto"
    assert_brute_force(p, sol, 0.0, None, seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cut_then_highs_branch_matches_brute_force(seed):
    p = tiny(1.0, seed=seed)
    sol = solve(p, "auto", gap=1e-9, concurrent=False)
    assert sol.info["auto_choice"] == "cut"
    assert_brute_force(p, sol, 1e-9, 1.0, seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_branch_matches_brute_force(seed):
    p = tiny(0.5, seed=seed)
    sol = solve(p, "auto", gap=0.0, concurrent=True, time_limit=60)
    assert sol.info["auto_choice"] == "cut+highs" and sol.strategy.startswith("greedy+concurrent(")
    assert_brute_force(p, sol, 0.0, 0.5, seed)
    assert sol.status is SolveStatus.OPTIMAL
    assert not cut_children()


def test_every_auto_solve_starts_from_the_greedy_plan_and_merges_the_trajectory():
    p = grid(12, 0.5)
    sol = solve(p, "auto", gap=1e-3, concurrent=True, time_limit=5)
    traj = sol.info["trajectory"]
    assert traj[0][3] == "greedy" and traj[0][0] == sol.info["time_to_first_plan_s"]
    assert [t for t, *_ in traj] == sorted(t for t, *_ in traj)
    assert {b for *_, b in traj} <= {"greedy", "cut", "highs"}
    t, obj, bound, _ = traj[-1]
    assert obj == pytest.approx(sol.objective) and t <= sol.runtime
    assert bound == pytest.approx(sol.bound, nan_ok=True)
    assert sol.info["plan_from"] in ("greedy", "cut", "highs")


# ---------------------------------------------------------------- never a backend's word

def test_the_combined_status_is_recomputed_from_the_plan(monkeypatch):
    p = tiny(seed=2)
    m = compile(p)
    best = optimum(None, 2)

    def lying(self, model, *, warm_start=None, bound=float("nan")):
        # The greedy plan, claimed optimal at an objective and bound it does not have.
        return Solution(SolveStatus.OPTIMAL, model.unit_x(warm_start), best - 1.0, best - 1.0,
                        0.0, 0.01, "highs", values=warm_start)

    monkeypatch.setattr(HighsSolver, "solve", lying)
    sol = AutoSolver(gap=0.0, concurrent=False).solve(m)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x))
    assert sol.objective != best - 1.0
    # Its bound (below the optimum) is a bound, but the plan is not proven optimal.
    assert sol.status is SolveStatus.FEASIBLE and sol.gap > 0

    def too_high(self, model, *, warm_start=None, bound=float("nan")):
        # A "bound" above the plan of a min problem: the plan beats it, so it is none.
        obj = model.objective_value(warm_start)
        return Solution(SolveStatus.OPTIMAL, model.unit_x(warm_start), obj, obj + 5.0, 0.0,
                        0.01, "highs", values=warm_start)

    monkeypatch.setattr(HighsSolver, "solve", too_high)
    sol = AutoSolver(gap=0.0, concurrent=False).solve(m)
    assert np.isnan(sol.bound) and sol.status is SolveStatus.FEASIBLE


# ---------------------------------------------------------------- stops and limits

def test_a_scope_stops_its_own_solve_only():
    m = compile(grid(25, 0.5))
    stops = [threading.Event(), threading.Event()]
    out: dict[int, Solution] = {}

    class Scope:
        def __init__(self, stop):
            self.stop = stop

        def report(self, model, values, bound):
            pass

        def offered(self, model):
            return None

    def run(k: int) -> None:
        with solve_scope(Scope(stops[k])):
            out[k] = HighsSolver(gap=0.0, time_limit=30 if k == 0 else 4).solve(m)

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(1.0)
    stops[0].set()
    threads[0].join(timeout=10)
    stopped = time.perf_counter() - t0
    threads[1].join(timeout=30)
    assert stopped < 8 and not stop_requested()
    assert out[0].x.size == m.n_units  # the stopped solve kept its best plan
    assert out[1].runtime >= 3.0  # the other ran to its own limit


def test_a_time_limited_concurrent_run_returns_a_plan_and_the_next_solve_works():
    p = grid(40, 1.0)
    t0 = time.perf_counter()
    sol = solve(p, "auto", gap=0.0, time_limit=1.0, concurrent=True)
    wall = time.perf_counter() - t0
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x))
    assert sol.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert wall < 1.0 + 10.0  # stopped: no run goes on to gap 0
    assert not cut_children()
    again = solve(tiny(0.5, seed=1), "auto", gap=0.0, concurrent=True, time_limit=60)
    assert again.status is SolveStatus.OPTIMAL and not cut_children()


def test_request_stop_in_a_concurrent_run_stops_both():
    p = grid(40, 1.0)
    threading.Timer(2.0, request_stop).start()
    t0 = time.perf_counter()
    sol = solve(p, "auto", gap=0.0, time_limit=120, concurrent=True)
    assert time.perf_counter() - t0 < 2.0 + 10.0
    assert sol.status in (SolveStatus.INTERRUPTED, SolveStatus.OPTIMAL)
    assert reference_feasible(p, sol.x) and not cut_children()
    assert not stop_requested()  # the stop ends with the solve


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="Ctrl-C needs the main thread")
def test_ctrl_c_in_a_concurrent_run_stops_both_and_keeps_the_best_plan():
    p = grid(40, 1.0)
    threading.Timer(2.0, os.kill, args=(os.getpid(), signal.SIGINT)).start()
    t0 = time.perf_counter()
    sol = solve(p, "auto", gap=0.0, time_limit=120, concurrent=True)
    assert time.perf_counter() - t0 < 2.0 + 10.0
    assert sol.status in (SolveStatus.INTERRUPTED, SolveStatus.OPTIMAL)
    assert reference_feasible(p, sol.x) and not cut_children()
    assert sol.info["stopped_by"] in ("interrupted", "gap proven")


def test_get_solver_default_is_auto():
    assert get_solver().name == "auto"
    assert isinstance(get_solver(concurrent=False), AutoSolver)


def test_both_backends_report_in_a_concurrent_run():
    p = grid(20, 1.0)
    sol = solve(p, "auto", gap=1e-4, time_limit=15, concurrent=True)
    backends = {b for *_, b in sol.info["trajectory"]}
    assert "cut_error" not in sol.info and "highs_error" not in sol.info
    assert {"cut", "highs"} <= backends or sol.info["stopped_by"] == "gap proven"
    assert "cut_status" in sol.info and "highs_status" in sol.info
    assert reference_feasible(p, sol.x) and not cut_children()


@pytest.mark.parametrize("concurrent", [True, False])
@pytest.mark.parametrize("kind", ["max_utility", "min_set"])
def test_a_tiny_time_limit_returns_a_plan(kind, concurrent):
    pu = box_grid(30, 30, seed=4, n_species=5)
    p = (problem(pu).add_max_utility_objective(budget_share=0.2) if kind == "max_utility"
         else problem(pu).add_min_set_objective().add_relative_targets(0.3))
    p = p.add_boundary_penalty(0.3)
    sol = solve(p, time_limit=1e-3, gap=0.0, concurrent=concurrent)  # the default: auto
    assert sol.solver == "auto" and reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), rel=1e-9)
    assert 0 <= sol.info["time_to_first_plan_s"] <= 0.5
    assert sol.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL) and not cut_children()


def test_a_strong_penalty_on_many_units_gives_the_cut_solver_every_core():
    # Rule 2a: from STRONG_PENALTY up, on STRONG_MIN_UNITS free units or more, the cut solver
    # runs alone (HiGHS beside it only halved its share of two cores); weaker or smaller
    # models keep both at once.
    from optimizer.solvers.auto import STRONG_MIN_UNITS, STRONG_PENALTY, choose, penalty_strength

    base = problem(box_grid(40, 40, seed=3, n_species=4)).add_min_set_objective() \
        .add_relative_targets(0.3)
    strong, weak = compile(base.add_boundary_penalty(1.0)), compile(base.add_boundary_penalty(1e-4))
    assert strong.n_x >= STRONG_MIN_UNITS
    assert penalty_strength(strong) >= STRONG_PENALTY > penalty_strength(weak)
    assert choose(strong, cores=2).name == "cut"
    assert choose(weak, cores=2).name == "cut+highs"
    assert choose(strong, cores=2, concurrent=True).name == "cut+highs"  # asked for: kept
    small = compile(problem(box_grid(10, 10, seed=3, n_species=4)).add_min_set_objective()
                    .add_relative_targets(0.3).add_boundary_penalty(1.0))
    assert choose(small, cores=2).name == "cut+highs"


def test_the_cut_branch_takes_autos_first_plan_instead_of_computing_it_again(monkeypatch):
    # The greedy runs once per auto solve: the cut solver gets the plan auto holds.
    import optimizer.solvers.auto as auto_module
    import optimizer.solvers.cut.solver as cut_module

    calls = []
    for module in (auto_module, cut_module):
        real = module.first_plan
        monkeypatch.setattr(module, "first_plan",
                            lambda m, real=real: calls.append(1) or real(m))
    p = tiny(1.0, seed=1)
    sol = solve(p, "auto", gap=1e-9, concurrent=False)
    assert sol.info["auto_choice"] == "cut" and len(calls) == 1
    assert_brute_force(p, sol, 1e-9, 1.0, 1)


def test_a_solve_stopped_before_its_lp_ends_keeps_the_greedy_plan():
    """Anytime: a stop while the LP runs returns the greedy plan in hand, never raises
    (the full suite under load once stopped a solve there and lost its plan)."""
    m = compile(grid(25, 0.5))
    stop = threading.Event()
    stop.set()  # asked before the LP can end

    class Scope:
        def __init__(self) -> None:
            self.stop = stop

        def report(self, model, values, bound):
            pass

        def offered(self, model):
            return None

    with solve_scope(Scope()):
        sol = HighsSolver(gap=0.0, time_limit=30).solve(m)
    assert sol.x.size == m.n_units
    assert m.max_violation(m.complete(m.x_cols_of(sol.x))) <= 1e-6
    assert sol.status in (SolveStatus.INTERRUPTED, SolveStatus.FEASIBLE)
