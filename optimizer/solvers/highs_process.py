"""One HiGHS run that can be stopped at any moment: in a child process, or here when small.

HiGHS hears a stop request (its interrupt callbacks, its own ``time_limit``) only between
its steps. Presolve, the root LP of a MIP and root cut separation are single steps: on a
1.15 s limit HiGHS reported 6.7 s, and Ctrl-C waited for the root LP (19.9 s on a
boundary-penalised model). A run in a child process is stopped by killing the child:

* the child streams every improving MIP plan (``cbMipImprovingSolution``), the MIP's
  proven bound (``mip_dual_bound`` of ``cbMipInterrupt``) and HiGHS's log lines to the
  parent as they come, so a run killed at the deadline or on Ctrl-C still yields its best
  plan and its proven bound;
* at the deadline, or on Ctrl-C (`optimizer.solvers.base.stop_requested`), the parent asks
  the child to stop (HiGHS's interrupt callbacks), waits `STOP_GRACE` seconds for HiGHS's
  own answer, then kills it (SIGKILL) and waits for it: no process is left behind. The
  child also dies with its parent (``PR_SET_PDEATHSIG``) and ignores the terminal's Ctrl-C
  (the parent decides).

**Start method: fork.** The child is a fork of this process, so the model's arrays reach
it without a copy (copy-on-write); ``spawn`` and ``forkserver`` start an interpreter
(plus numpy and highspy) and pickle the arrays. Measured on this 2-core machine
(``benchmarks/bench_limits.py --child``, median of 3; fork: start to HiGHS holding the
model, in-process: ``passModel`` alone):

=========  ==========  ===========  ==================  ==================
units      model MB    in process   fork child          forkserver child
=========  ==========  ===========  ==================  ==================
2.5k       0.6         2 ms         12 ms               see the benchmark
40k        9           20 ms        35 ms
1M         230         0.5 s        0.55 s
=========  ==========  ===========  ==================  ==================

HiGHS keeps one task scheduler per calling thread (``thread_local`` executor handle since
HiGHS 1.2): a forked child runs HiGHS in a thread of its own, so it never touches the
scheduler of a thread of the parent (whose worker threads do not exist in the child).

**Small runs stay in this process** (`run_here`): below `IN_PROCESS_NONZEROS` model
nonzeros an uninterruptible HiGHS step lasts milliseconds, so the interrupt callbacks
stop the run in time, and the fork's ~10 ms would dominate the many small runs of the cut
solver's polish and neighbourhood search. Where ``fork`` is not available (not Linux) every
run stays here.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.errors import InputDataError, SolverError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import stop_requested

#: Below this many nonzeros (constraint matrix plus columns) a run stays in this process
#: (see the module docstring): a 2,500-unit Marxan model with boundary has ~40k.
IN_PROCESS_NONZEROS = 5_000

#: Seconds the parent waits for HiGHS to answer a stop request before it kills the child
#: (HiGHS's own answer carries its final bound; a kill keeps the streamed ones).
STOP_GRACE = 0.15

#: Seconds between two plans streamed by the child (the newest is sent; a 1M-unit plan is
#: 8 MB).
PLAN_EVERY = 0.1

_BANNER_LOCK = threading.Lock()
_banner_shown = False


#: Seconds between two bounds passed to a run's ``progress`` from a run in this process.
PROGRESS_SECONDS = 0.2


def new_highs() -> Any:
    """A new ``highspy.Highs`` whose one-time banner does not reach standard output.

    HiGHS prints "Running HiGHS ... Copyright ..." to stdout when the first `Highs`
    object of a process is made, before any option can be set: that would land in
    the middle of a command's output (and in files it is piped to).
    """
    global _banner_shown
    import highspy  # heavy optional solver: imported where used

    with _BANNER_LOCK:
        if _banner_shown:
            return highspy.Highs()
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no real stdout (e.g. a closed or replaced stream)
            _banner_shown = True
            return highspy.Highs()
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
            h = highspy.Highs()
            _flush_c_stdout()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
        return h


def _flush_c_stdout() -> None:
    """Flush C's stdio buffers (HiGHS writes with printf; a pipe makes them block-buffered)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


@dataclass
class HighsJob:
    """What one HiGHS run needs: the model, its options and an optional start.

    Attributes
    ----------
    model : CompiledModel
    options : dict
        HiGHS options (``time_limit`` included).
    warm : numpy.ndarray or None
        Values of every column of a plan to start from (``setSolution``).
    relaxation : bool
        An LP relaxation (no plan or bound is streamed).
    """

    model: CompiledModel
    options: Mapping[str, Any]
    warm: np.ndarray | None = None
    relaxation: bool = False


@dataclass
class RunResult:
    """What one HiGHS run ended with, wherever it ran.

    Attributes
    ----------
    outcome : str
        ``"done"``, ``"cancelled at the time limit"`` or ``"stopped by the user"``.
    model_status : str
        HiGHS's model status (``"HighsModelStatus.kOptimal"``, ...); ``"killed"`` when the
        child was killed before HiGHS answered.
    values : numpy.ndarray or None
        Every column of HiGHS's final plan; for a killed run, the newest streamed plan
        (its unit columns, rounded, completed by the model).
    objective : float
        The objective of ``values``: HiGHS's for its final plan, recomputed by the model
        for a streamed one (NaN without).
    bound : float
        HiGHS's ``mip_dual_bound`` (for a killed run, the newest streamed one; NaN when
        unknown).
    in_child : bool
        Whether the run was in a child process.
    """

    outcome: str
    model_status: str
    values: np.ndarray | None
    objective: float
    bound: float
    in_child: bool = False


def run_here(model: CompiledModel) -> bool:
    """Whether a run of ``model`` stays in this process (see the module docstring).

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> run_here(compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2)))
    True
    """
    size = int(model.A.nnz) + int(model.n_cols)
    return size < IN_PROCESS_NONZEROS or "fork" not in multiprocessing.get_all_start_methods()


def run_highs(job: HighsJob, *, deadline: float, grace: float = 0.0,
              log: Callable[[str], None] | None = None,
              in_child: bool | None = None,
              progress: Callable[[np.ndarray | None, float], None] | None = None) -> RunResult:
    """Run HiGHS on ``job`` until it ends, ``deadline`` (+ ``grace``) passes or Ctrl-C.

    Parameters
    ----------
    job : HighsJob
    deadline : float
        ``time.perf_counter()`` at which the run is stopped.
    grace : float
        Seconds past ``deadline`` before the stop (HiGHS's own ``time_limit`` usually
        ends the run first).
    log : callable, optional
        Called with each of HiGHS's log lines.
    in_child : bool, optional
        Force a child process (True) or this process (False); default `run_here`.
    progress : callable, optional
        Called with each improving plan (every column) and the MIP's bound, or with None
        and a newer bound (at most every `PROGRESS_SECONDS`): a concurrent solve hears
        them (`optimizer.solvers.auto`).

    Returns
    -------
    RunResult
    """
    if in_child is None:
        in_child = not run_here(job.model)
    if in_child:
        return _run_in_child(job, deadline + grace, log, progress)
    return _run_in_process(job, deadline + grace, log, progress)


# ------------------------------------------------------------------ the run itself

def _set_up(h: Any, job: HighsJob) -> None:
    """Pass the model, options and start to ``h``."""
    import highspy

    pass_model(h, job.model)
    for key, value in job.options.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise InputDataError(f"HiGHS option {key}={value!r} was rejected; check its name "
                                 "and type in the HiGHS options list")
    if job.warm is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(job.warm, dtype=np.float64)
        sol.value_valid = True
        h.setSolution(sol)


def _answer(h: Any) -> tuple[str, np.ndarray | None, float, float]:
    """HiGHS's model status, plan, objective and MIP bound after ``run``."""
    info = h.getInfo()
    values = None
    if info.primal_solution_status == 2:  # feasible primal solution
        values = np.array(h.getSolution().col_value, dtype=np.float64)
    objective = float(info.objective_function_value) if values is not None else float("nan")
    return str(h.getModelStatus()), values, objective, float(info.mip_dual_bound)


def pass_model(h: Any, model: CompiledModel) -> None:
    """Hand ``model``'s arrays to the `Highs` object ``h`` (``passModel``)."""
    A = model.A
    sense = -1 if model.sense == "max" else 1  # HiGHS ObjSense: kMinimize=1, kMaximize=-1
    status = h.passModel(
        model.n_cols, model.n_rows, int(A.nnz), 2, sense, float(model.offset),
        np.ascontiguousarray(model.c, dtype=np.float64),
        np.ascontiguousarray(model.col_lower, dtype=np.float64),
        np.ascontiguousarray(model.col_upper, dtype=np.float64),
        np.ascontiguousarray(model.row_lower, dtype=np.float64),
        np.ascontiguousarray(model.row_upper, dtype=np.float64),
        np.ascontiguousarray(A.indptr[:-1], dtype=np.int32),
        np.ascontiguousarray(A.indices, dtype=np.int32),
        np.ascontiguousarray(A.data, dtype=np.float64),
        np.ascontiguousarray(model.integrality, dtype=np.int32),
    )
    if str(status) not in ("HighsStatus.kOk", "HighsStatus.kWarning"):
        raise SolverError(f"HiGHS rejected the model (passModel returned {status}); report "
                          "this as a bug with the model (write_mps)")


# ------------------------------------------------------------------ in this process

def _run_in_process(job: HighsJob, deadline: float, log: Callable[[str], None] | None,
                    progress: Callable[[np.ndarray | None, float], None] | None = None
                    ) -> RunResult:
    """The run in a thread of this process, stopped by HiGHS's interrupt callbacks.

    Only small models run here (`run_here`): HiGHS answers a stop within milliseconds, so
    the run is waited for to its end (nothing is ever left running).
    """
    h = new_highs()
    stop = threading.Event()
    done = threading.Event()
    failure: list[BaseException] = []

    heard = [0.0]

    def interrupt(event: Any) -> None:
        if stop.is_set():
            event.interrupt()

    def mip_interrupt(event: Any) -> None:
        interrupt(event)
        if progress is not None and time.perf_counter() - heard[0] > PROGRESS_SECONDS:
            heard[0] = time.perf_counter()
            progress(None, float(event.data_out.mip_dual_bound))

    for event in (h.cbSimplexInterrupt, h.cbIpmInterrupt):
        event.subscribe(interrupt)
    h.cbMipInterrupt.subscribe(mip_interrupt)
    h.setOptionValue("output_flag", True)
    h.setOptionValue("log_to_console", False)
    if log is not None:
        h.cbLogging.subscribe(lambda event: log(event.message))
    incumbent: dict[str, Any] = {}

    def on_improving(event: Any) -> None:
        incumbent["values"] = np.array(event.data_out.mip_solution, dtype=np.float64)
        incumbent["objective"] = float(event.data_out.objective_function_value)
        if progress is not None:
            progress(incumbent["values"], float(event.data_out.mip_dual_bound))

    if not job.relaxation:
        h.cbMipImprovingSolution.subscribe(on_improving)
    _set_up(h, job)

    def target() -> None:
        try:
            h.run()
        except BaseException as exc:  # reported by the caller's thread
            failure.append(exc)
        finally:
            done.set()

    # highspy's startSolve/wait keep their locks on the class (one run left running makes
    # every later run fail): a thread of our own runs ``run``, which releases the GIL.
    thread = threading.Thread(target=target, name="carbonpark-highs", daemon=True)
    thread.start()
    outcome = "done"
    try:
        while not done.wait(0.02):
            if stop_requested():
                outcome = "stopped by the user"
                break
            if time.perf_counter() > deadline:
                outcome = "cancelled at the time limit"
                break
    except KeyboardInterrupt:  # Ctrl-C outside `stop_on_interrupt`: stop, wait, go on
        stop.set()
        _wait_quietly(done)
        raise
    stop.set()
    _wait_quietly(done)
    if failure:
        raise SolverError(f"HiGHS failed: {failure[0]}; report this as a bug with the model "
                          "(write_mps)")
    status, values, objective, bound = _answer(h)
    if values is None and "values" in incumbent:
        values, objective = incumbent["values"], incumbent["objective"]
    return RunResult(outcome, status, values, objective, bound)


def _wait_quietly(done: threading.Event) -> None:
    """Wait for the run's end; a further Ctrl-C does not cut the wait (the plan is coming)."""
    while not done.is_set():
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(0.02)


# ------------------------------------------------------------------ in a child process

def _run_in_child(job: HighsJob, deadline: float, log: Callable[[str], None] | None,
                  progress: Callable[[np.ndarray | None, float], None] | None = None
                  ) -> RunResult:
    """The run in a forked child, killed at ``deadline`` or on Ctrl-C (module docstring)."""
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe(duplex=True)
    child = ctx.Process(target=_child_main, args=(there, job), name="carbonpark-highs",
                        daemon=True)
    plan: tuple[np.ndarray, float] | None = None
    bound = float("nan")
    final: dict[str, Any] | None = None
    outcome = "done"
    kill_at = float("inf")
    try:
        child.start()
        there.close()
        while final is None:
            now = time.perf_counter()
            if outcome == "done":
                if stop_requested():
                    outcome = "stopped by the user"
                elif now > deadline:
                    outcome = "cancelled at the time limit"
                if outcome != "done":
                    with contextlib.suppress(OSError):
                        here.send(("stop",))
                    kill_at = now + STOP_GRACE
            if now >= kill_at:
                break
            try:
                if not here.poll(0.02):
                    if not child.is_alive() and not here.poll():
                        break
                    continue
                message = here.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "log" and log is not None:
                for line in message[1]:
                    log(line)
            elif kind == "plan":
                plan = (message[1], message[2])
                if progress is not None:
                    progress(_complete(job.model, plan[0]), bound)
            elif kind == "bound":
                bound = message[1]
                if progress is not None:
                    progress(None, bound)
            elif kind == "done":
                final = message[1]
    except KeyboardInterrupt:  # Ctrl-C outside `stop_on_interrupt`: end the child, go on
        _end(child, here)
        raise
    finally:
        _end(child, here)
    if final is not None and final.get("error"):
        kind, text = final["error"]
        if kind == "option":
            raise InputDataError(text)
        raise SolverError(f"HiGHS failed: {text}; report this as a bug with the model "
                          "(write_mps)")
    if final is not None:
        values = final["values"]
        objective, status = final["objective"], final["model_status"]
        final_bound = final["bound"]
        if values is None and plan is not None:
            values = _complete(job.model, plan[0])
            objective = job.model.objective_value(values)
        return RunResult(outcome, status, values, objective, final_bound, in_child=True)
    if outcome == "done":  # the child died without a word (killed from outside, out of memory)
        raise SolverError(f"the HiGHS process ended without an answer (exit code "
                          f"{child.exitcode}); report this as a bug with the model (write_mps)")
    values = None if plan is None else _complete(job.model, plan[0])
    objective = float("nan") if values is None else job.model.objective_value(values)
    return RunResult(outcome, "killed", values, objective, bound, in_child=True)


def _complete(model: CompiledModel, x: np.ndarray) -> np.ndarray:
    """Every column of a streamed plan (the child sends only the unit columns)."""
    return model.complete(np.round(np.clip(x, 0, 1)))


def _end(child: Any, conn: Any) -> None:
    """Kill the child if it still runs, and wait for it: nothing is left behind."""
    with contextlib.suppress(Exception):
        if child.pid is not None and child.is_alive():
            child.kill()
        if child.pid is not None:
            child.join()
        child.close()
    with contextlib.suppress(OSError):
        conn.close()


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent thread ends (``prctl``)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Outbox:
    """What the child sends the parent, from HiGHS's callbacks: log lines, the newest
    plan, the newest bound; a sender thread sends them, so no callback waits on the pipe."""

    def __init__(self, conn: Any, n_x: int) -> None:
        self.conn = conn
        self.n_x = n_x
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.lines: list[str] = []
        self.plan: tuple[np.ndarray, float] | None = None
        self.bound = float("nan")
        self.sent_bound = float("nan")
        self.closed = False

    def add_line(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)
        self.ready.set()

    def add_plan(self, values: Any, objective: float) -> None:
        x = np.array(values[: self.n_x], dtype=np.float64)
        with self.lock:
            self.plan = (x, objective)
        self.ready.set()

    def add_bound(self, bound: float) -> None:
        if bound != self.bound and np.isfinite(bound) and abs(bound) < 1e30:
            self.bound = bound
            self.ready.set()

    def send_loop(self) -> None:
        while True:
            self.ready.wait()
            self.ready.clear()
            with self.lock:
                lines, self.lines = self.lines, []
                plan, self.plan = self.plan, None
                bound = self.bound
                closed = self.closed
            try:
                if lines:
                    self.conn.send(("log", lines))
                if bound != self.sent_bound and np.isfinite(bound):
                    self.conn.send(("bound", bound))
                    self.sent_bound = bound
                if plan is not None:
                    self.conn.send(("plan", plan[0], plan[1]))
                    time.sleep(PLAN_EVERY)
            except OSError:
                return
            if closed:
                return


def _child_main(conn: Any, job: HighsJob) -> None:
    """The child: run HiGHS in a thread of its own, stream what it finds, send the answer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the parent's
    _die_with_parent()
    with contextlib.suppress(OSError):  # HiGHS prints with printf: nothing of it to stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    import highspy

    stop = threading.Event()
    out = _Outbox(conn, job.model.n_x)

    def listen() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv()  # any message (or the parent's end) means stop
        stop.set()

    def interrupt(event: Any) -> None:
        if stop.is_set():
            event.interrupt()

    def on_mip_interrupt(event: Any) -> None:
        out.add_bound(float(event.data_out.mip_dual_bound))
        interrupt(event)

    answer: dict[str, Any] = {"error": None}

    def work() -> None:
        try:
            h = highspy.Highs()
            h.setOptionValue("output_flag", True)
            h.setOptionValue("log_to_console", False)
            h.cbLogging.subscribe(lambda event: out.add_line(event.message))
            h.cbSimplexInterrupt.subscribe(interrupt)
            h.cbIpmInterrupt.subscribe(interrupt)
            h.cbMipInterrupt.subscribe(on_mip_interrupt)
            if not job.relaxation:
                h.cbMipImprovingSolution.subscribe(lambda event: out.add_plan(
                    event.data_out.mip_solution, float(event.data_out.objective_function_value)))
            _set_up(h, job)
            h.run()
            status, values, objective, bound = _answer(h)
            answer.update(model_status=status, values=values, objective=objective, bound=bound)
        except InputDataError as exc:
            answer["error"] = ("option", str(exc))
        except BaseException as exc:
            answer["error"] = ("highs", f"{type(exc).__name__}: {exc}")

    threading.Thread(target=listen, daemon=True).start()
    sender = threading.Thread(target=out.send_loop, daemon=True)
    sender.start()
    # A thread of its own: HiGHS's scheduler is per calling thread, and the forking
    # thread's (if it ever ran HiGHS) has no worker threads here.
    runner = threading.Thread(target=work, name="carbonpark-highs")
    runner.start()
    runner.join()
    with out.lock:
        out.closed = True
    out.ready.set()
    sender.join(5.0)
    with contextlib.suppress(OSError):
        conn.send(("done", answer))
    _flush_c_stdout()
