"""Tests of optimizer.solvers: brute force on tiny random problems, backend agreement,
properties (budgets, locks, objective recomputation, monotone budgets), the
watchdog and the error paths.
"""

from __future__ import annotations

from pathlib import Path

import helpers
import highspy
import numpy as np
import pytest
from helpers import all_selections, box_grid, brute_force, cases, reference_feasible, reference_objective
from hypothesis import HealthCheck, assume, given, settings

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import compile
from optimizer.model.problem import Problem, problem
from optimizer.solvers import HighsSolver, SolveStatus, get_solver
from optimizer.solvers.pulp import PulpSolver, write_lp, write_mps

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def check_against_brute_force(p: Problem, solver) -> None:
    best = brute_force(p)
    if best is None:
        with pytest.raises(InfeasibleProblemError):
            solver.solve(compile(p))
        return
    sol = solver.solve(compile(p))
    assert sol.status is SolveStatus.OPTIMAL
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), abs=1e-7)
    assert sol.objective == pytest.approx(best, rel=1e-6, abs=1e-7)


@SETTINGS
@given(case=cases)
def test_highs_default_strategy_matches_brute_force(case):
    check_against_brute_force(case.build(), HighsSolver(gap=0.0))


@SETTINGS
@given(case=cases)
def test_highs_plain_mip_matches_brute_force(case):
    check_against_brute_force(case.build(), HighsSolver(strategy="mip", gap=0.0))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_pulp_cbc_agrees_with_highs(case):
    p = case.build()
    model = compile(p)
    try:
        ref = HighsSolver(gap=0.0).solve(model)
    except InfeasibleProblemError:
        with pytest.raises(InfeasibleProblemError):
            PulpSolver(gap=0.0).solve(model)
        return
    sol = PulpSolver(gap=0.0).solve(model)
    assert sol.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-7)
    assert reference_feasible(p, sol.x)


@SETTINGS
@given(case=cases.filter(lambda c: c.kind == "max_utility"))
def test_a_larger_budget_never_lowers_the_max_utility_optimum(case):
    small = case.build(budget_share=0.2)
    large = case.build(budget_share=0.4)
    try:
        low = HighsSolver(gap=0.0).solve(compile(small)).objective
    except InfeasibleProblemError:
        assume(False)  # locked-in area beyond the small budget: a draw that tests nothing
    high = HighsSolver(gap=0.0).solve(compile(large)).objective
    assert high >= low - 1e-9


def test_lp_round_strategy_gives_a_feasible_plan_with_a_proven_gap():
    rng = np.random.default_rng(5)
    pu = box_grid(20, 20, seed=5, n_species=8)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.3)
         .add_locked_in(mask=rng.random(400) < 0.1))
    sol = HighsSolver(strategy="lp-round", gap=0.0).solve(compile(p))
    assert reference_feasible(p, sol.x)
    assert sol.bound <= sol.objective + 1e-9
    assert sol.gap == pytest.approx((sol.objective - sol.bound) / sol.objective)
    assert sol.strategy == "lp-round" and "lp_seconds" in sol.info


def test_max_utility_lp_round_is_proven_near_optimal_without_the_mip():
    pu = box_grid(40, 40, seed=2, n_species=5)
    p = problem(pu).add_max_utility_objective(budget_share=0.2)
    sol = HighsSolver(gap=1e-3).solve(compile(p))
    assert sol.is_optimal and sol.strategy == "lp-round" and sol.gap <= 1e-3
    assert "mip_seconds" not in sol.info


def test_time_limit_is_enforced_and_status_is_data():
    pu = box_grid(30, 30, seed=1, n_species=10)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.3)
         .add_boundary_penalty(0.3))
    # 3 s, not 1: on a loaded machine (make test's -n 2 beside other work) the LP stage alone
    # took over 1 s, leaving no plan ("HiGHS found no plan within 0.9 s").
    sol = HighsSolver(gap=0.0, time_limit=3.0, watchdog_grace=1.0).solve(compile(p))
    # What HiGHS reports, not the wall clock (benchmarks/bench_limits.py times the overshoot):
    # the run returned when stopped, and a plan short of the optimum is one the limit ended.
    assert not sol.info.get("abandoned"), sol.info
    assert sol.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert reference_feasible(p, sol.x)
    if sol.status is SolveStatus.FEASIBLE:
        assert sol.gap > 0 and np.isfinite(sol.bound)
        assert sol.info.get("mip_status", "no time left") in (
            "time_limit", "interrupted", "no time left"), sol.info


def test_log_callback_receives_highs_lines_and_log_text_is_kept():
    lines: list[str] = []
    p = problem(box_grid(seed=3)).add_max_utility_objective(2.0)
    sol = HighsSolver(log=lines.append).solve(compile(p))
    assert any("HiGHS" in ln for ln in lines) and "HiGHS" in sol.log
    assert sol.solver == "highs" and sol.solver_version == highspy.Highs().version()


def test_every_unit_locked_needs_no_solver():
    pu = box_grid(1, 2, seed=3)
    p = (problem(pu).add_max_utility_objective(5.0).add_locked_in(ids=[100])
         .add_locked_out(ids=[101]))
    for solver in (HighsSolver(), PulpSolver()):
        sol = solver.solve(compile(p))
        assert sol.x.tolist() == [1.0, 0.0] and sol.strategy == "fixed"
    tight = p.add_area_budget(max_km2=0.5)
    with pytest.raises(InfeasibleProblemError, match="every unit is locked and the locked units "
                                                     "break a budget or target"):
        HighsSolver().solve(compile(tight))


@pytest.mark.parametrize("solver", [HighsSolver(), HighsSolver(strategy="mip"), PulpSolver()],
                         ids=["highs-auto", "highs-mip", "pulp"])
def test_infeasible_models_raise(solver):
    pu = box_grid(seed=3)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.9)
         .add_area_budget(max_km2=1.0))
    with pytest.raises(InfeasibleProblemError, match="infeasible"):
        solver.solve(compile(p))


def test_lp_and_mps_files_solve_to_the_same_optimum(tmp_path):
    pu = box_grid(3, 3, seed=4)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.4)
         .add_boundary_penalty(0.2).add_area_budget(max_km2=8, min_km2=1))
    model = compile(p)
    ref = HighsSolver(gap=0.0).solve(model)
    for writer, name in ((write_lp, "m.lp"), (write_mps, "m.mps")):
        path = writer(p if name == "m.lp" else model, tmp_path / name)
        h = highspy.Highs()
        h.silent()
        h.readModel(str(path))
        h.setOptionValue("mip_rel_gap", 0.0)
        h.run()
        obj = h.getInfo().objective_function_value
        offset = model.offset if name == "m.mps" else 0.0
        assert obj + offset == pytest.approx(ref.objective, rel=1e-7)


def test_pulp_reports_build_and_solve_times_and_cbc_log():
    p = problem(box_grid(seed=3)).add_max_utility_objective(2.0)
    sol = PulpSolver().solve(compile(p))
    assert sol.solver == "pulp:PULP_CBC_CMD" and sol.is_optimal
    assert {"build_seconds", "solve_seconds"} <= set(sol.info)
    assert "Cbc" in sol.log or "CBC" in sol.log.upper()


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: HighsSolver(strategy="fast"), InputDataError,
     r"strategy must be 'auto', 'mip' or 'lp-round'; got 'fast'"),
    (lambda: HighsSolver(time_limit=0), InputDataError,
     r"time_limit must be a positive number of seconds; got 0"),
    (lambda: HighsSolver(gap=5), InputDataError, r"gap must be a relative gap in \[0, 1\)"),
    (lambda: get_solver("gurobi"), InputDataError, r"solver 'gurobi' is unknown; use 'highs'"),
    (lambda: get_solver("pulp:NOPE").solve(compile(problem(box_grid(seed=1))
                                                   .add_max_utility_objective(1.0))),
     SolverError, r"pulp solver 'NOPE' is not available here"),
    (lambda: HighsSolver(options={"no_such_option": 1}).solve(
        compile(problem(box_grid(seed=1)).add_max_utility_objective(1.0))),
     InputDataError, r"HiGHS option no_such_option=1 was rejected"),
    (lambda: write_lp("model", "x.lp"), InputDataError,
     r"expected a Problem or CompiledModel; got str"),
])
def test_solver_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_get_solver_builds_backends_with_options():
    assert isinstance(get_solver("highs", gap=0.01), HighsSolver)
    s = get_solver("pulp", time_limit=5)
    assert isinstance(s, PulpSolver) and s.backend == "PULP_CBC_CMD" and s.time_limit == 5


# ============================================================== never trust a backend's word

def _lying_runs(monkeypatch, lies: int):  # type: ignore[no-untyped-def]
    """Make the first ``lies`` HiGHS MIP runs claim what HiGHS 1.16 claimed with a start
    solution: optimal at the model's offset (its reduced-space objective), bound included."""
    from optimizer.solvers import highs as highs_module

    real = highs_module.HighsSolver._run_once
    calls: list[dict] = []

    def run_once(self, model, *, relaxation, **kw):  # type: ignore[no-untyped-def]
        run = real(self, model, relaxation=relaxation, **kw)
        if not relaxation:
            calls.append(dict(kw.get("stage_options") or {}))
            if len(calls) <= lies and run.values is not None:
                run.status, run.objective, run.bound = "optimal", model.offset, model.offset
        return run

    monkeypatch.setattr(highs_module.HighsSolver, "_run_once", run_once)
    return calls


def test_a_mip_answer_its_own_plan_contradicts_is_rerun_and_the_rerun_kept(monkeypatch):
    pu = box_grid(3, 3, seed=11, n_species=3)
    p = problem(pu).add_min_set_objective().add_relative_targets(0.4).add_locked_in(ids=[100])
    model = compile(p)
    best = min(reference_objective(p, m) for m in all_selections(9) if m[0]
               and reference_feasible(p, m.astype(float)))
    calls = _lying_runs(monkeypatch, lies=1)
    sol = HighsSolver(strategy="mip", gap=0.0).solve(model)
    assert sol.objective == pytest.approx(best) and sol.status is SolveStatus.OPTIMAL
    assert calls == [{}, {"presolve": "off"}]  # the rerun turned presolve off
    checks = sol.info["mip_checks"]
    assert checks[0].startswith("HiGHS reported objective ") and "status optimal" in checks[0]
    assert checks[1] == "rerun presolve off: consistent (optimal)"


def test_when_every_run_contradicts_itself_the_plan_is_kept_but_not_the_claim(monkeypatch):
    pu = box_grid(3, 4, seed=11, n_species=3)
    p = problem(pu).add_min_set_objective().add_relative_targets(0.4)
    model = compile(p)
    _lying_runs(monkeypatch, lies=99)
    sol = HighsSolver(strategy="mip", gap=0.0).solve(model)
    # HiGHS's bound (the offset) is not taken: no proven bound, so no claim of optimality.
    assert sol.status is SolveStatus.FEASIBLE and np.isnan(sol.bound)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x > 0.5))
    assert sol.info["mip_status"] == "unverified" and len(sol.info["mip_checks"]) == 2


def test_a_warm_started_mip_that_lies_is_rerun_without_presolve_then_without_the_start(monkeypatch):
    pu = box_grid(3, 4, seed=4, n_species=3)
    p = problem(pu).add_min_set_objective().add_relative_targets(0.5)
    model = compile(p)
    ref = HighsSolver(strategy="mip", gap=0.0).solve(model)
    calls = _lying_runs(monkeypatch, lies=2)
    hs = HighsSolver(gap=0.0)
    run = hs.run_mip(model, warm_start=ref.values, options={"presolve": "on"})
    assert [c.get("presolve") for c in calls] == ["on", "off", "on"]
    assert run.status == "optimal" and run.notes[-1] == "rerun without the start: consistent (optimal)"
    assert model.objective_value(run.values) == pytest.approx(ref.objective)


# ============================================================== interrupts and time limits

def _hard_problem() -> Problem:
    pu = box_grid(30, 30, seed=1, n_species=10)
    return (problem(pu).add_min_set_objective().add_relative_targets(0.3)
            .add_boundary_penalty(0.3))


def _interrupt_after(seconds: float) -> None:
    import os
    import signal
    import threading

    threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT)).start()


@pytest.mark.parametrize("solver", ["highs", "cut"])
def test_ctrl_c_keeps_the_best_plan_and_the_next_solve_works(solver):
    import signal

    # As in a process started from a terminal, also when the tests run in the background
    # (where SIGINT is ignored and a solve leaves it so).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_keeps_the_best_plan(solver)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def _ctrl_c_keeps_the_best_plan(solver: str) -> None:
    from optimizer.plan.results import solve

    p = _hard_problem()
    _interrupt_after(1.5)
    sol = solve(p, solver, gap=0.0, time_limit=120)
    # Stopped by Ctrl-C, not by its 120 s limit (benchmarks/bench_limits.py times the stop).
    assert sol.runtime < 120 / 2, sol.runtime
    assert sol.status in (SolveStatus.INTERRUPTED, SolveStatus.OPTIMAL)
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x > 0.5))
    if sol.status is SolveStatus.INTERRUPTED:
        assert sol.describe().startswith("interrupted: the best plan found so far (proven gap ")
    # Nothing is left running: the next solve (any backend) works, and Ctrl-C is Python's again.
    small = problem(box_grid(seed=3)).add_min_set_objective().add_relative_targets(0.3)
    again = solve(small, "highs", gap=0.0)
    assert again.status is SolveStatus.OPTIMAL and reference_feasible(small, again.x)


def test_a_time_limit_is_honoured_and_leaves_no_run_behind():
    from optimizer.plan.results import solve

    p = _hard_problem()
    for solver in ("highs", "cut"):  # auto runs the cut solver on this model
        sol = solve(p, solver, gap=0.0, time_limit=2.0)
        # HiGHS checks its clock only between steps (it was seen ~1 s late at the root
        # node's cut separation): the limit holds up to one such step. The overshoot is
        # timed in benchmarks/bench_limits.py; here, what the solver reports: HiGHS's run
        # ended on the limit and returned, and the cut search (which reports no stage
        # facts) stopped within a generous multiple of the limit by its own clock.
        if solver == "highs":
            assert not sol.info.get("abandoned"), sol.info
            assert sol.status is SolveStatus.OPTIMAL or sol.info.get("mip_status", "no time left") in (
                "time_limit", "interrupted", "no time left"), sol.info
        else:
            assert sol.runtime < 5 * 2.0, (solver, sol.runtime)
        assert sol.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)


def test_two_highs_solves_run_at_once_in_two_threads():
    # highspy keeps its run locks on the class: with its startSolve, the second of two
    # concurrent runs failed with "Solver is already running".
    from concurrent.futures import ThreadPoolExecutor

    p = _hard_problem()
    model = compile(p)
    with ThreadPoolExecutor(2) as pool:
        # 3 s: two LPs at once on a loaded machine found no plan within 1.5 s.
        sols = list(pool.map(lambda _: HighsSolver(gap=0.0, time_limit=3.0).solve(model), range(2)))
    assert all(reference_feasible(p, s.x) for s in sols)


def test_the_highs_banner_does_not_reach_standard_output():
    import subprocess
    import sys

    code = ("from helpers import box_grid; from optimizer import problem, solve; "
            "s = solve(problem(box_grid(seed=3)).add_max_utility_objective(2.0)); print('done', s.status)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(helpers.__file__).parent)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "done optimal\n"


def test_request_stop_from_another_thread_stops_the_solve_and_keeps_its_plan():
    # What a Stop button in a long-lived process does (the app, a sweep worker).
    import threading

    from optimizer.plan.results import solve
    from optimizer.solvers.base import request_stop

    p = _hard_problem()
    threading.Timer(1.0, request_stop).start()
    sol = solve(p, "highs", gap=0.0, time_limit=120)
    assert sol.status is SolveStatus.INTERRUPTED and reference_feasible(p, sol.x)
    assert sol.runtime < 60  # stopped on request, long before the limit
    again = solve(problem(box_grid(seed=3)).add_min_set_objective().add_relative_targets(0.3))
    assert again.status is SolveStatus.OPTIMAL  # the request does not outlive its solve


def test_ctrl_c_on_a_backend_called_directly_raises_and_leaves_no_run_behind():
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_after(1.0)
        with pytest.raises(KeyboardInterrupt):
            HighsSolver(strategy="mip", gap=0.0, time_limit=120).solve(compile(_hard_problem()))
    finally:
        signal.signal(signal.SIGINT, before)
    small = problem(box_grid(seed=3)).add_min_set_objective().add_relative_targets(0.3)
    assert HighsSolver(gap=0.0).solve(compile(small)).status is SolveStatus.OPTIMAL


def test_a_proven_bound_given_with_a_warm_start_is_used_and_a_false_one_refused():
    # The cut solver's path hands HiGHS its plan and its proven bound (the sweep's polish,
    # the auto strategy): with both, no LP is needed; a bound the plan beats is no bound.
    p = problem(box_grid(6, 6, seed=5)).add_max_utility_objective(budget_km2=9,
                                                                   weights={"carbon": 1})
    model = compile(p)
    best = HighsSolver(gap=0.0).solve(model)
    assert best.gap == 0.0
    # Brute force is out of reach at 36 units; the gap-0 MIP is the reference.
    given = HighsSolver(gap=1e-3).solve(model, warm_start=best.values, bound=best.objective)
    assert "lp_seconds" not in given.info and "mip_seconds" not in given.info
    assert given.objective == pytest.approx(best.objective) and given.gap == 0.0
    assert given.status is SolveStatus.OPTIMAL
    # A "bound" below the plan's own objective (for a max) is refused and the LP proves one.
    false = HighsSolver(gap=1e-3).solve(model, warm_start=best.values, bound=0.5 * best.objective)
    assert false.info["given_bound_refused"] == pytest.approx(0.5 * best.objective)
    assert "lp_seconds" in false.info and false.bound >= best.objective - 1e-9
