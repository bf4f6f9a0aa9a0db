"""HiGHS backend (highspy): arrays in, a `Solution` out, under a wall-clock watchdog.

Every strategy starts from a greedy plan (`optimizer.solvers.greedy`, well under a
second): the first incumbent, the MIP's warm start when no better plan comes before
it, and the answer (status ``feasible``, with the gap proven against whatever bound is
known) when the time limit leaves HiGHS without a plan. ``info`` records
``time_to_first_plan_s`` and ``trajectory``, the plan and bound after each stage.

Default strategy ``"auto"`` (measured to matter more than the choice of solver):

1. solve the LP relaxation by dual simplex, presolve off (`lp_options`: 2-6x faster than
   the interior-point method with crossover on the real datasets), or by the
   interior-point method where the model has thousands of boundary columns (3.6x faster
   there); HiGHS's MIP presolve alone can run for minutes on a single-budget model;
2. round it and repair feasibility (`optimizer.solvers.rounding`): a feasible plan
   with a gap proven against the LP bound;
3. if that gap exceeds the requested one, fix the 0/1 columns the LP's reduced costs
   prove no better plan can move (`optimizer.solvers.fixing`: 17,304 of Salt Spring's
   19,794; only where that is most of them, `FIX_SHARE`) and hand the plan to the MIP on
   the remaining columns as a warm start
   (``setSolution``) to close the gap in the time left; its answer and bound are the
   whole model's.

``strategy="mip"`` runs HiGHS's plain MIP; ``"lp-round"`` stops after step 2.
Every run is bounded twice: HiGHS's ``time_limit`` and our own watchdog, which stops
the run at the deadline or on Ctrl-C, wherever HiGHS is (presolve and the root LP of a
MIP hear no interrupt): a run of any size runs in a child process that is killed, keeping
the best plan and bound it streamed (`optimizer.solvers.highs_process`). Separate
`HighsSolver` instances in separate threads solve in parallel (useful for sweeps).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import (
    LogCallback,
    Solution,
    SolveStatus,
    better,
    check_limits,
    current_scope,
    feasibility_tolerance,
    polish,
    relative_gap,
    solve_fixed,
    stop_requested,
    tighter_bound,
)
from optimizer.solvers.fixing import reduced_cost_fixing
from optimizer.solvers.greedy import first_plan
from optimizer.solvers.highs_process import HighsJob, new_highs, run_highs
from optimizer.solvers.rounding import round_and_repair

Strategy = Literal["auto", "mip", "lp-round"]

__all__ = ["HighsSolver", "MipRun", "check_numbers", "new_highs"]

#: Per-objective options of the MIP stage of the "auto" strategy. HiGHS's MIP
#: presolve stalls on large single-budget (knapsack-like) models; with a
#: warm start and presolve off the MIP works on the model as compiled.
MIP_STAGE_OPTIONS: dict[str, dict[str, Any]] = {
    "max": {"presolve": "off"},
    "min": {"presolve": "on"},
}


@dataclass
class MipRun:
    """Outcome of one HiGHS run (`HighsSolver.run_mip`).

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"``, ``"time_limit"``, ``"interrupted"``, ...
    values : numpy.ndarray or None
        Every column of the best plan found.
    objective : float
        Its objective (NaN without a plan).
    bound : float
        The run's proven bound, in the model's sense (NaN when unknown).
    seconds : float
        Wall-clock seconds of the run.
    notes : list of str
        Why HiGHS's first answer was not trusted and how the rerun went (empty when
        it was trusted).
    """

    status: str
    values: np.ndarray | None
    objective: float
    bound: float
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass
class HighsSolver:
    """Solve compiled models with HiGHS.

    Parameters
    ----------
    strategy : {"auto", "mip", "lp-round"}
        See the module docstring.
    time_limit : float, optional
        Wall-clock seconds for the whole solve (default: none).
    gap : float
        Relative optimality gap at which to stop (0.0001 = 0.01%).
    threads : int, optional
        HiGHS threads (default: HiGHS's choice).
    log : callable, optional
        Called with every log line (progress).
    options : mapping, optional
        Extra HiGHS options for every run (e.g. ``{"random_seed": 1}``).
    watchdog_grace : float
        Seconds past the time limit before a run that HiGHS has not ended itself is
        stopped (HiGHS is asked to stop a little before the limit). A stopped run in a
        child process is killed after `highs_process.STOP_GRACE` seconds, so no run is
        left behind.
    """

    strategy: Strategy = "auto"
    time_limit: float | None = None
    gap: float = 1e-4
    threads: int | None = None
    log: LogCallback | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    watchdog_grace: float = 0.0
    name: str = "highs"

    def __post_init__(self) -> None:
        if self.strategy not in ("auto", "mip", "lp-round"):
            raise InputDataError(f"strategy must be 'auto', 'mip' or 'lp-round'; got "
                                 f"{self.strategy!r}")
        check_limits(self.time_limit, self.gap)

    # ---------------------------------------------------------- public
    def solve(self, model: CompiledModel, *, warm_start: np.ndarray | None = None,
              bound: float = float("nan")) -> Solution:
        """Solve ``model``; raises only when there is no solution at all.

        Parameters
        ----------
        model : CompiledModel
        warm_start : numpy.ndarray, optional
            Values of every column of a feasible plan from elsewhere (e.g. the cut
            solver): the plan to beat, handed to the MIP as its starting solution.
        bound : float, optional
            A proven bound that comes with ``warm_start``; when given, the ``auto``
            strategy skips its LP stage (the bound is what the LP would prove).

        Raises
        ------
        InfeasibleProblemError
            The model has no feasible plan.
        SolverError
            No plan was found (time limit, or a HiGHS failure).
        """
        import highspy

        version = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}." \
                  f"{highspy.HIGHS_VERSION_PATCH}"
        if model.n_cols == 0:
            return solve_fixed(model, self.name, version)
        check_numbers(model)
        started = time.perf_counter()
        deadline = started + self.time_limit if self.time_limit else float("inf")
        log: list[str] = []
        info: dict[str, Any] = {}
        best_values: np.ndarray | None = None
        given_bound = float(bound)  # proven by the caller (the cut solver's path), with warm_start
        best_obj, bound = float("nan"), float("nan")
        strategy = self.strategy
        used = []
        if warm_start is not None:
            warm_values, _, viol = polish(model, warm_start)
            if viol <= feasibility_tolerance(model):
                best_values, best_obj = warm_values, model.objective_value(warm_values)
                # Never trust a given bound blindly: one the warm plan beats is no bound.
                slack = 1e-9 * max(1.0, abs(best_obj))
                beaten = (best_obj > given_bound + slack if model.sense == "max"
                          else best_obj < given_bound - slack)
                if np.isfinite(given_bound) and beaten:
                    info["given_bound_refused"] = given_bound
                else:
                    bound = given_bound
                used.append("warm")
        source = "warm" if best_values is not None else ""
        highs_plan = False  # whether a HiGHS stage brought a feasible plan of its own
        trajectory: list[tuple[float, float, float]] = []

        scope = current_scope()  # a concurrent auto solve's channel (None otherwise)

        def record() -> None:
            trajectory.append((round(time.perf_counter() - started, 6), best_obj, bound))
            if scope is not None and best_values is not None:
                scope.report(model, best_values, bound)

        if best_values is None:
            t0 = time.perf_counter()
            greedy = first_plan(model)
            info["greedy_seconds"] = round(time.perf_counter() - t0, 6)
            if greedy is not None:
                best_values, best_obj, source = greedy.values, greedy.objective, "greedy"
                info["greedy_objective"] = greedy.objective
                for seconds, objective in greedy.steps:  # the greedy's plan, then improved
                    trajectory.append((round(t0 - started + seconds, 6), objective, bound))
        elif best_values is not None:
            record()

        # Anytime: without a plan yet, a stage may run up to FIRST_PLAN_GRACE past the start
        # (a feasible problem never ends with "no plan" however short the limit).
        def stage_deadline() -> float:
            return deadline if best_values is not None else max(deadline,
                                                                 started + FIRST_PLAN_GRACE)

        lp_values: np.ndarray | None = None  # the LP's optimum: its reduced costs fix columns
        if strategy in ("auto", "lp-round") and not (best_values is not None and np.isfinite(bound)):
            lp = self._run(model, relaxation=True, deadline=stage_deadline(), log=log, warm=None)
            info["lp_seconds"] = round(lp.seconds, 3)
            info["lp_status"] = lp.status
            if lp.status == "interrupted" and stop_requested() and best_values is None:
                raise KeyboardInterrupt  # stopped with nothing to keep (else the greedy plan)
            if lp.status == "infeasible":
                raise InfeasibleProblemError("HiGHS: the LP relaxation is infeasible, so no plan "
                                             "meets every budget, target and lock")
            if lp.values is not None and lp.status == "optimal":
                bound, lp_values = lp.objective, lp.values
                t0 = time.perf_counter()
                x_round = round_and_repair(model, lp.values, deadline=deadline)
                info["round_seconds"] = round(time.perf_counter() - t0, 3)
                if x_round is not None:
                    values = model.complete(x_round)
                    obj = model.objective_value(values)
                    if model.max_violation(values) <= feasibility_tolerance(model):
                        highs_plan = True
                        if best_values is None or not better(model, best_obj, obj):
                            best_values, best_obj, source = values, obj, "lp-round"
                        used.append("lp-round")
                info["lp_round_gap"] = relative_gap(best_obj, bound)
                record()
            elif strategy == "lp-round" and best_values is None:
                raise SolverError(f"HiGHS: the LP relaxation ended with status {lp.status!r} "
                                  "and no solution; raise time_limit or use strategy='auto'")

        offered = scope.offered(model) if scope is not None else None  # e.g. the cut solver's
        if offered is not None:
            o_values, o_obj, o_viol = polish(model, offered)
            if o_viol <= feasibility_tolerance(model) and (
                    best_values is None or better(model, o_obj, best_obj)):
                best_values, best_obj, source = o_values, o_obj, "warm"
        gap_now = relative_gap(best_obj, bound)
        # lp-round whose rounding brought no plan runs the MIP to its first plan (anytime).
        first_only = strategy == "lp-round" and best_values is None
        need_mip = strategy == "mip" or first_only or (
            strategy == "auto" and not (np.isfinite(gap_now) and gap_now <= self.gap))
        if need_mip and time.perf_counter() < stage_deadline() and not stop_requested():
            # The plain MIP stays plain: it starts from a plan only when the caller gave one
            # (the greedy plan remains the answer if the MIP finds none).
            start = best_values if strategy == "auto" or source == "warm" else None
            mip_model = model
            if strategy == "auto" and lp_values is not None and best_values is not None:
                # What the LP proves: columns no plan better than ours can move stay fixed.
                t0 = time.perf_counter()
                fixing = reduced_cost_fixing(model, lp_values, best_obj)
                info["fixing_seconds"] = round(time.perf_counter() - t0, 3)
                info["fixable_columns"] = fixing.n_fixed if fixing is not None else 0
                info["fixed_columns"] = 0  # those the MIP runs without
                if fixing is not None and fixing.n_fixed >= FIX_SHARE * np.count_nonzero(
                        model.integrality):
                    mip_model = fixing.restrict(model)
                    info["fixed_columns"] = fixing.n_fixed
            mip = self._run(mip_model, relaxation=False, deadline=stage_deadline(), log=log,
                            warm=start, stage_options=(
                                MIP_STAGE_OPTIONS[model.sense] if strategy == "auto"
                                else {"mip_max_improving_sols": 1} if first_only else {}),
                            known_bound=bound, report_as=model)
            info["mip_seconds"] = round(mip.seconds, 3)
            info["mip_status"] = mip.status
            if mip.notes:
                info["mip_checks"] = mip.notes
            if mip.status == "infeasible" and best_values is None:
                raise InfeasibleProblemError("HiGHS: the model is infeasible: no plan meets "
                                             "every budget, target and lock")
            if mip.status == "unbounded":
                raise SolverError("HiGHS reports the model unbounded, which a 0/1 model cannot "
                                  "be; report this as a bug with the model (write_mps)")
            used.append("mip")
            if mip.values is not None:
                values, obj, viol = polish(model, mip.values)
                highs_plan = highs_plan or viol <= feasibility_tolerance(model)
                if viol <= feasibility_tolerance(model) and (
                        best_values is None or better(model, obj, best_obj)):
                    best_values, best_obj, source = values, obj, "mip"
            bound = tighter_bound(model, bound, mip.bound)
            if best_values is not None:
                record()

        runtime = time.perf_counter() - started
        interrupted = stop_requested()
        if best_values is None:
            if interrupted:
                raise KeyboardInterrupt
            raise SolverError(_no_plan(strategy, runtime, self.time_limit, info))
        if source == "greedy":
            used.append("greedy")  # the answer is the greedy plan: no stage improved on it
            if not highs_plan:
                # Why HiGHS brought no plan of its own (time, or the statuses it ended with).
                info["highs_no_plan"] = _no_plan(strategy, time.perf_counter() - started,
                                                 self.time_limit, info)
        info["trajectory"] = trajectory
        # The first plan: a given warm start, else the greedy's (else the stage that found one).
        first = next((t for t, obj, _ in trajectory if np.isfinite(obj)), None)
        if first is not None:
            info["time_to_first_plan_s"] = first
        gap = relative_gap(best_obj, bound)
        # Round-off: an objective of 0 (min shortfall met) with a bound of -2e-16 is no gap.
        if np.isfinite(gap) and (gap < 1e-12 or abs(bound - best_obj) <= 1e-9 * max(1.0, abs(best_obj))):
            gap = 0.0
        status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.gap + 1e-12
                  else SolveStatus.INTERRUPTED if interrupted else SolveStatus.FEASIBLE)
        return Solution(status, model.unit_x(best_values), best_obj, bound, gap, runtime,
                        self.name, version, "".join(log), "+".join(used) or strategy,
                        best_values, info)

    def run_mip(self, model: CompiledModel, *, warm_start: np.ndarray | None = None,
                time_limit: float | None = None, log: list[str] | None = None,
                options: Mapping[str, Any] | None = None) -> MipRun:
        """One plain HiGHS MIP run on ``model``, nothing else (no LP stage, no polish).

        For other solvers that use HiGHS on a sub-model (the cut solver's polish and
        neighbourhood search). The run honours this solver's ``gap``, ``threads``,
        ``options`` and watchdog.

        Parameters
        ----------
        model : CompiledModel
        warm_start : numpy.ndarray, optional
            Values of every column of a plan to start from (``setSolution``).
        time_limit : float, optional
            Seconds for this run (default: this solver's ``time_limit``, else none).
        log : list of str, optional
            Receives HiGHS's log lines (and ``self.log`` is called with each).
        options : mapping, optional
            Extra HiGHS options for this run only.

        Returns
        -------
        MipRun
            ``status`` (``"optimal"``, ``"infeasible"``, ``"time_limit"``, ...), the
            best ``values`` found (every column, or None), their ``objective``, the
            MIP's proven ``bound`` (NaN when unknown) and ``seconds``.
        """
        limit = self.time_limit if time_limit is None else time_limit
        deadline = time.perf_counter() + limit if limit else float("inf")
        return self._run(model, relaxation=False, deadline=deadline,
                         log=log if log is not None else [], warm=warm_start,
                         stage_options=options)

    # ---------------------------------------------------------- one run
    def _run(self, model: CompiledModel, *, relaxation: bool, deadline: float, log: list[str],
             warm: np.ndarray | None, stage_options: Mapping[str, Any] | None = None,
             known_bound: float = float("nan"),
             report_as: CompiledModel | None = None) -> MipRun:
        """One HiGHS run, checked: a MIP answer HiGHS cannot back is rerun, and the rerun kept.

        Never trust a backend's word: the objective of the plan HiGHS returns is
        recomputed from the model, and compared with what HiGHS reports, with its own
        bound and with ``known_bound`` (one we proved). When they disagree the run is
        repeated with presolve off (HiGHS 1.16 maps a start solution into the presolved
        space wrongly when presolve removes a column, and then reports the start's
        reduced-space objective as optimal), then without the start.

        ``report_as`` is the model whose plans and bounds a concurrent solve hears when
        ``model`` is its restriction (`optimizer.solvers.fixing`: the same columns, some
        fixed, and a bound that holds for both).
        """
        run = self._run_once(model, relaxation=relaxation, deadline=deadline, log=log, warm=warm,
                             stage_options=stage_options, report_as=report_as)
        if relaxation:
            return run
        why = _distrust(model, run, self.gap, known_bound)
        if not why:
            return run
        notes = [f"HiGHS {why}"]
        retries: list[tuple[str, dict[str, Any], np.ndarray | None]] = []
        if (stage_options or {}).get("presolve") != "off":
            retries.append(("presolve off", {"presolve": "off"}, warm))
        if warm is not None:
            retries.append(("without the start", {}, None))
        for label, extra, start in retries:
            if stop_requested() or time.perf_counter() >= deadline:
                break
            rerun = self._run_once(model, relaxation=False, deadline=deadline, log=log, warm=start,
                                   stage_options={**(stage_options or {}), **extra},
                                   report_as=report_as)
            why = _distrust(model, rerun, self.gap, known_bound)
            if not why:
                notes.append(f"rerun {label}: consistent ({rerun.status})")
                rerun.notes = notes
                return rerun
            notes.append(f"rerun {label}: HiGHS {why}")
        # No run HiGHS can back: keep its plan (its objective is recomputed by the caller)
        # but neither its bound nor its claim of optimality.
        run.bound, run.status, run.notes = float("nan"), "unverified", notes
        return run

    def _run_once(self, model: CompiledModel, *, relaxation: bool, deadline: float,
                  log: list[str], warm: np.ndarray | None,
                  stage_options: Mapping[str, Any] | None = None,
                  report_as: CompiledModel | None = None) -> MipRun:
        """One HiGHS run, stoppable at any moment (`optimizer.solvers.highs_process`)."""
        started = time.perf_counter()
        if started >= deadline:  # no time left: no run (a child would be killed at once)
            return MipRun("time_limit", None, float("nan"), float("nan"), 0.0)

        def on_log(line: str) -> None:
            log.append(line)
            if self.log is not None:
                self.log(line.rstrip("\n"))

        opts: dict[str, Any] = {"mip_rel_gap": self.gap, "mip_abs_gap": 0.0}
        if relaxation:
            opts.update(solve_relaxation=True, **lp_options(model))
        if self.threads:
            opts["threads"] = int(self.threads)
        opts.update(stage_options or {})
        opts.update(self.options)
        remaining = deadline - time.perf_counter()
        if np.isfinite(remaining):
            # HiGHS checks its clock only between its steps; the run is stopped at the
            # deadline anyway (killed, if it runs in a child), so its own limit is the
            # time left, less a little to end by itself with its final answer.
            opts["time_limit"] = max(remaining - min(0.1, 0.02 * remaining), 0.01)
        scope = current_scope()  # a concurrent auto solve hears plans and bounds
        progress = None
        if scope is not None and not relaxation:
            heard_as = report_as if report_as is not None else model

            def progress(values: np.ndarray | None, bound: float) -> None:
                scope.report(heard_as, values, bound)
        result = run_highs(HighsJob(model, opts, warm, relaxation), deadline=deadline,
                           grace=self.watchdog_grace, log=on_log, progress=progress)
        if result.outcome != "done":
            log.append(f"carbonpark: HiGHS run {result.outcome}"
                       f"{' (its process killed)' if result.model_status == 'killed' else ''}\n")
        seconds = time.perf_counter() - started
        status = _status_name(result.model_status)
        if result.outcome == "stopped by the user" or status == "killed":
            status = "interrupted"
        values, objective = result.values, result.objective
        if values is None:
            objective = float("nan")
        if relaxation:
            bound = objective if status == "optimal" else float("nan")
        else:
            bound = float(result.bound)
            if not np.isfinite(bound) or abs(bound) >= 1e30:
                bound = float("nan")
            if status == "optimal" and not model.integrality.any():
                bound = objective  # solved as an LP (only continuous columns left)
        return MipRun(status, values, objective, bound, seconds)


def _no_plan(strategy: str, runtime: float, time_limit: float | None,
             info: dict[str, Any]) -> str:
    """Why HiGHS has no plan, in words: the time limit only when time was the cause."""
    ended = [f"the {stage} ended with status {info[key]!r}"
             for stage, key in (("LP relaxation", "lp_status"), ("MIP", "mip_status"))
             if key in info]
    timed_out = (any(info.get(k) == "time_limit" for k in ("lp_status", "mip_status"))
                 or (time_limit is not None and runtime >= 0.9 * time_limit))
    if timed_out:
        hint = ("raise time_limit" if strategy == "auto"
                else "raise time_limit or use strategy='auto' (LP, rounding, then the MIP)")
        limit = f" of {time_limit:g} s" if time_limit else ""
        return f"HiGHS found no plan within the time limit{limit} (strategy {strategy!r}); {hint}"
    why = "; ".join(ended) or "no HiGHS run had time to start"
    return (f"HiGHS found no plan in {runtime:.1f} s, well within the time limit (strategy "
            f"{strategy!r}): {why}; report this as a bug with the model (write_mps)")


#: Share of the 0/1 columns the LP's reduced costs must fix before the MIP runs on the
#: restricted model (HiGHS fixes by reduced cost itself after its root LP; fixing first pays
#: where it removes most of the model before HiGHS's presolve). ``bench_exact.py``, 2-core
#: machine, load 2.5-4.6, HiGHS 1.15.1: Salt Spring 87% fixed, 3.63 -> 2.64 s; Tasmania at
#: BLM 0.0005 22% fixed, 4.4-5.0 s -> 4.9-6.4 s (4 runs each, alternated); Washington 0.6%.
FIX_SHARE = 0.5


#: Seconds from the solve's start a stage may run past the time limit while there is no plan
#: yet (the greedy found none): issue 23's anytime rule, a plan within 0.5 s whatever the limit.
FIRST_PLAN_GRACE = 0.5


#: Boundary (linearisation) columns from which the LP stage uses the interior-point method:
#: past a few thousand edges dual simplex degenerates (10,000-unit Marxan grid at BLM 1:
#: dual simplex 23.0 s, IPM + crossover 6.4 s; 2,500 units: 1.07 s and 0.75 s).
IPM_EDGE_COLUMNS = 4_000


def lp_options(model: CompiledModel) -> dict[str, Any]:
    """HiGHS options of the ``auto`` strategy's LP stage, chosen by the model's structure.

    Dual simplex without presolve, unless the model has at least `IPM_EDGE_COLUMNS`
    boundary columns: then the interior-point method with crossover (presolve off).
    Seconds of the LP alone, HiGHS 1.15.1, on the 2-core machine (load 3.3-3.5), medians
    of 3, ``benchmarks/bench_exact.py --lp`` (the first four rows; presolve on in
    brackets):

    ================================  =======  ==============  ===============
    model                             columns  dual simplex    IPM + crossover
    ================================  =======  ==============  ===============
    Washington (min set, 396 rows)    10,202   0.30 (0.90)     2.13 (2.68)
    Salt Spring (min set, 4 rows)     19,794   0.023 (0.076)   0.057 (0.107)
    Tasmania (Marxan, BLM 0.0005)     5,293    0.023 (0.036)   0.127 (0.176)
    20 x 20 grid, boundary 0.3        1,160    0.039 (0.040)   0.033 (0.035)
    Marxan grid 10,000 units, BLM 0   9,000    0.02            0.06
    Marxan grid 2,500 units, BLM 1    6,540    1.07            0.75
    Marxan grid 10,000 units, BLM 1   26,544   23.0            6.4
    ================================  =======  ==============  ===============

    The Marxan grid rows (``bench_marxan.py``'s projects) are the earlier measurement
    (commit 9e3e2aa, same machine, loaded), not ``bench_exact.py``'s. HiGHS's presolve
    made every one slower; PDLP did not converge on Washington within 120 s.

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2))
    >>> lp_options(m)
    {'solver': 'simplex', 'simplex_strategy': 1, 'presolve': 'off'}
    """
    if model.n_cols - model.n_x >= IPM_EDGE_COLUMNS:
        return {"solver": "ipm", "presolve": "off", "run_crossover": "on"}
    return {"solver": "simplex", "simplex_strategy": 1, "presolve": "off"}


#: The largest size of a number HiGHS takes as finite (its ``infinite_cost`` and
#: ``infinite_bound`` are 1e20): a cost or coefficient beyond it is read as infinite.
HIGHS_INFINITY = 1e20


def check_numbers(model: CompiledModel) -> None:
    """Refuse a model HiGHS cannot read: a cost or coefficient that is not finite, or so
    large HiGHS reads it as infinite (`HIGHS_INFINITY`).

    Weights and penalties are checked where the user gives them; this catches what
    slips past (a weight of 1e300 made every cost infinite, and HiGHS "found no plan").

    Examples
    --------
    >>> import dataclasses, numpy as np
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2))
    >>> check_numbers(m)
    >>> check_numbers(dataclasses.replace(m, c=np.full_like(m.c, np.inf)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: the model's objective has 5 costs that are not finite ...
    """
    for what, values in (("objective", model.c), ("constraint matrix", model.A.data)):
        values = np.asarray(values, dtype=np.float64)
        bad = int(np.count_nonzero(~np.isfinite(values) | (np.abs(values) >= HIGHS_INFINITY)))
        if bad:
            noun = "costs" if what == "objective" else "coefficients"
            raise InputDataError(f"the model's {what} has {bad:,} {noun} that are not finite or "
                                 f"of size {HIGHS_INFINITY:g} or more, which HiGHS reads as "
                                 "infinite: weights, penalties or amounts too large; scale them "
                                 "down")


def _status_name(model_status: Any) -> str:
    text = str(model_status).rsplit(".", 1)[-1]
    return {
        "kOptimal": "optimal", "kInfeasible": "infeasible", "kUnbounded": "unbounded",
        "kUnboundedOrInfeasible": "infeasible", "kTimeLimit": "time_limit",
        "kInterrupt": "interrupted", "kHighsInterrupt": "interrupted",
        "kIterationLimit": "iteration_limit", "kSolutionLimit": "solution_limit",
        "kModelEmpty": "optimal",
    }.get(text, text)


def _distrust(model: CompiledModel, run: MipRun, gap: float, known_bound: float) -> str:
    """Why a MIP run's answer cannot be trusted ("" when it can).

    The plan HiGHS returns is rounded and completed (`polish`) and its objective
    recomputed; HiGHS's reported objective may not be better than that, its bound
    may not be better than its own plan, a claim of optimality must hold within the
    requested gap, and nothing may beat ``known_bound``, a bound we proved.
    """
    if run.values is None:
        return ""
    _, recomputed, violation = polish(model, run.values)
    if violation > feasibility_tolerance(model):
        return f"returned a plan that breaks a row by {violation:.6g} (status {run.status})"
    tol = 1e-6 * max(1.0, abs(recomputed))
    sign = 1.0 if model.sense == "max" else -1.0  # sign * value: larger is better
    reported = run.objective
    if np.isfinite(reported) and sign * (reported - recomputed) > tol:
        return (f"reported objective {reported:.10g} for a plan whose objective is "
                f"{recomputed:.10g} (status {run.status})")
    if np.isfinite(run.bound) and sign * (recomputed - run.bound) > tol:
        return (f"reported bound {run.bound:.10g}, which its own plan ({recomputed:.10g}) beats "
                f"(status {run.status})")
    if np.isfinite(known_bound) and sign * (recomputed - known_bound) > tol:
        return (f"returned a plan ({recomputed:.10g}) better than the proven bound "
                f"{known_bound:.10g}")
    if run.status == "optimal" and np.isfinite(run.bound):
        claimed = relative_gap(recomputed, run.bound)
        if claimed > gap + 1e-6:
            return (f"reported optimal at gap {gap:.3%}, but its plan ({recomputed:.10g}) and "
                    f"its bound ({run.bound:.10g}) are {claimed:.3%} apart")
    return ""
