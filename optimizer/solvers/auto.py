"""``auto``, the default solver: which backend fits a model (`choose`), and `AutoSolver`.

`choose` decides by the model's structure alone, from the measurements below:

1. **No cut form** (no boundary penalty between free units, a negative pairwise weight,
   columns the cut form does not know, or more than `AUTO_MAX_RELAXED_ROWS` relaxed
   rows): HiGHS (its strategy: greedy plan, LP, rounding, MIP).
2. **Cut form, two or more cores** (``os.cpu_count()``; ``concurrent=`` forces or
   forbids): the cut solver **and** HiGHS at once (`AutoSolver`), sharing plans and
   bounds: neither wins everywhere (table), and together they take the better of the two.
2a. **A strong penalty** (`penalty_strength` at least `STRONG_PENALTY`) on at least
   `STRONG_MIN_UNITS` free units, even on two cores: the cut solver alone, then the HiGHS
   MIP from its plan (as on one core). HiGHS never came first there, and running it
   beside the cut solver halves the cut solver's share of two cores: on the 10,000-unit
   project at BLM 1 (load 3), 30 s gave 2.08% with the cut solver alone, 3.88% with both
   at once and 5.56% with HiGHS alone.
3. **Cut form, one core**: a sequential plan, the choice first and the other as
   hand-off. Gap 0 on at most `SMALL_EXACT_UNITS` free units: HiGHS, which proves such
   models (Tasmania). Otherwise the cut solver, then the HiGHS MIP warm-started from its
   plan and bound: it reached 0.1% first, or ended closer, at every penalty measured.
4. **A frontier point** (``frontier=True``: two more rows, the ε row and the
   lexicographic hold, and no boundary needed): the cut solver wherever the cut form
   holds, else HiGHS (on the demo at 20 km an ε point takes 0.05 s against 4.5 s).

The strength of the penalty (`penalty_strength`: the pairwise weights over the unit
terms of the cut form) is printed with the choice; from 0.17 up, on more than a few hundred
free units, the cut solver came first in every instance below, so rule 2a gives it both cores.

Measured on the 2-core development machine, shared with four other jobs (load 4-10),
single in-process runs of `optimizer.plan.results.solve` (``"highs"``: the HiGHS
strategy; ``"cut"``: the cut solver alone) at gap 0.1% and a 30 s time limit (gap 0 and
60 s where marked), on the generated Marxan projects of ``benchmarks/bench_marxan.py``
(seed 23: 20 features, 10% locked in, prop 0.3, BLM as given) and the real Tasmanian
Marxan project (``bench_real.py``'s ``tasmania-marxan``, BLM 0.0005); each cell is the
proven gap at the end and the seconds it took:

====================  ======  ========  ==================  ==================
instance              free    strength  HiGHS strategy      cut solver
====================  ======  ========  ==================  ==================
20×20 box grid, 0.3   400     0.54      2.58%, 27 s         2.75%, 30 s
Tasmania              1,433   3.2e-5    0.038%, 7.8 s       0.089%, 4.5 s
Tasmania, gap 0       1,433   3.2e-5    0 (optimal), 22 s   0.012%, 60 s
2,500, BLM 0.01       2,250   0.017     0.336%, 27 s        0.269%, 30 s
2,500, BLM 0.01, 0    2,250   0.017     0.239%, 54 s        0.269%, 60 s
2,500, BLM 0.1        2,250   0.17      0.42%, 27 s         0.36%, 30 s
2,500, BLM 1          2,250   1.66      2.31%, 27 s         1.73%, 30 s
10,000, BLM 0.01      9,000   0.017     0.143%, 34 s        0.081%, 5.5 s
10,000, BLM 0.1       9,000   0.17      0.170%, 28 s        0.106%, 30 s
10,000, BLM 1         9,000   1.70      6.11%, 28 s         3.38%, 30 s
40,000, BLM 0.1       36,000  0.18      0.128%, 60 s        0.095%, 30 s
40,000, BLM 1         36,000  1.75      no bound, 31 s      1.35%, 30 s
====================  ======  ========  ==================  ==================

PyMaxflow holds the GIL through a cut (measured: a Python thread beside a 600×600 cut ran
at 1% of its speed; HiGHS in a thread beside a loop of cuts found no bound in 40 s where
alone it proved 0.1% in 25 s), so a concurrent solve runs the cut solver in a child
process (`child_main`) and HiGHS in a thread of this one.

Every ``auto`` solve starts from the greedy plan (`optimizer.solvers.greedy.first_plan`,
well under a second), so a time-limited run always has a plan when the greedy finds one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.distributed import exit_with_parent
from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import (
    Solution,
    SolveStatus,
    better,
    feasibility_tolerance,
    polish,
    relative_gap,
    solve_fixed,
    solve_scope,
    stop_requested,
    tighter_bound,
)
from optimizer.solvers.cut import AUTO_MAX_RELAXED_ROWS, CutSolver, cut_form, has_cut_form
from optimizer.solvers.cut.form import n_relaxed
from optimizer.solvers.greedy import FirstPlan, first_plan
from optimizer.solvers.highs import HighsSolver

#: Least seconds the sequential plan gives HiGHS to improve a cut plan when no time limit
#: is set; in a concurrent run, HiGHS's time after the cut solver ended without the gap.
HANDOFF_MIN_SECONDS = 10.0

#: Free units up to which gap 0 on one core goes to HiGHS first: it proves small models
#: exactly, where the cut solver's bound is the LP bound (Tasmania, 1,433 free units:
#: HiGHS 22 s, the cut solver 0.012% after 60 s; the issue's figures: 6 s and 179 s).
SMALL_EXACT_UNITS = 10_000

#: Seconds to wait for both backends to return once they are asked to stop.
JOIN_WAIT = 3.0

#: Penalty strength (`penalty_strength`) from which the cut solver runs alone (rule 2a).
STRONG_PENALTY = 0.1
#: Free units from which rule 2a applies (smaller models: HiGHS may prove them at once).
STRONG_MIN_UNITS = 1_000

#: Seconds HiGHS runs alone before the cut solver's process starts in a concurrent solve:
#: a model HiGHS proves at once costs no process (its start-up is 1-3 s here).
CHILD_DELAY = 0.3

#: Names of the choices, as `Choice.name` holds them.
LABELS = {"highs": "HiGHS", "cut": "the cut solver, then HiGHS from its plan",
          "cut+highs": "cut + HiGHS concurrently", "frontier-cut": "the cut solver"}


@dataclass(frozen=True)
class Choice:
    """What `choose` picked for a model, and why.

    Attributes
    ----------
    name : str
        ``"highs"``, ``"cut"`` (the cut solver, then HiGHS from its plan), ``"cut+highs"``
        (both at once) or ``"frontier-cut"`` (a frontier point: the cut solver alone).
    reason : str
        The structure that decided, and the measurement behind the rule.
    """

    name: str
    reason: str

    @property
    def line(self) -> str:
        """The console line: ``solver: auto → cut + HiGHS concurrently (...)``."""
        return f"solver: auto → {LABELS[self.name]} ({self.reason})"


def penalty_strength(model: CompiledModel) -> float:
    """The boundary penalty's weight against the objective: ``sum(w) / sum(|u|)`` of the
    cut form (pairwise weights over unit terms); 0 without boundary, inf without unit terms.

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5))
    >>> penalty_strength(m)
    0.0
    """
    yb = model.block("y", rows=False)
    if yb.stop <= yb.start or model.n_x == 0:
        return 0.0
    form = cut_form(model)
    unit = float(np.abs(form.unary).sum())
    return float(form.w.sum()) / unit if unit > 0 else float("inf")


def _units(n: int) -> str:
    return f"{n:,} free unit{'s' if n != 1 else ''}"


def choose(model: CompiledModel, *, gap: float = 1e-4, cores: int | None = None,
           concurrent: bool | None = None, frontier: bool = False) -> Choice:
    """The backend for ``model``, by its structure (see the module docstring's rules).

    Parameters
    ----------
    model : CompiledModel
    gap : float
        The relative gap the solve is asked to prove.
    cores : int, optional
        CPUs to count on (default ``os.cpu_count()``).
    concurrent : bool, optional
        Force (True) or forbid (False) running both backends at once; default: when
        ``cores >= 2``.
    frontier : bool
        An ε-constraint point of `optimizer.studies.frontier`: two more relaxed rows,
        no boundary needed, one backend.

    Returns
    -------
    Choice

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5))
    >>> choose(m).line
    'solver: auto → HiGHS (no boundary penalty between free units: no cut form)'
    >>> mb = compile(problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    ...              .add_boundary_penalty(1.0))
    >>> choose(mb, cores=2).name, choose(mb, cores=1).name
    ('cut+highs', 'cut')
    """
    if frontier:
        ok = model.n_x > 0 and not set(b.kind for b in model.col_blocks) - {"x", "y", "s"}
        if ok:
            try:
                cut_form(model)
            except SolverError:
                ok = False
        rows = n_relaxed(model) + 2 if ok else 0
        if ok and rows <= AUTO_MAX_RELAXED_ROWS:
            return Choice("frontier-cut", f"cut form, {rows} relaxed rows with the ε rows; an "
                          "ε point takes 0.05 s with the cut solver and 4.5 s with HiGHS on the "
                          "demo at 20 km")
        return Choice("highs", "no cut form for the frontier's points" if not ok else
                      f"{rows} relaxed rows with the ε rows (more than {AUTO_MAX_RELAXED_ROWS})")
    ok, why = has_cut_form(model)
    free = int(model.n_x)
    if not ok:
        if why.startswith("no boundary edges"):
            why = "no boundary penalty between free units: no cut form"
        elif why.startswith("cut solver: "):
            why = why.removeprefix("cut solver: ").split(", so ")[0] + ": no cut form"
        return Choice("highs", why)
    rows = n_relaxed(model)
    strength = penalty_strength(model)
    shape = (f"boundary penalty of strength {strength:.2g}, {rows:,} relaxed "
             f"row{'s' if rows != 1 else ''}, {_units(free)}")
    if cores is None:
        cores = os.cpu_count() or 1
    both = cores >= 2 if concurrent is None else concurrent
    if both and concurrent is None and strength >= STRONG_PENALTY and free >= STRONG_MIN_UNITS:
        return Choice("cut", f"{shape}; a strong penalty: the cut solver gets all {cores} "
                      "cores (10,000 units at BLM 1, 30 s: 2.08% alone, 3.88% with HiGHS "
                      "beside it)")
    if both:
        return Choice("cut+highs", f"{shape}; {cores} cores: each backend wins on some models "
                      "(cut at BLM 1 on bench_marxan, HiGHS at gap 0 on Tasmania)")
    if gap == 0 and free <= SMALL_EXACT_UNITS:
        return Choice("highs", f"{shape}; one core, gap 0 on at most {SMALL_EXACT_UNITS:,} free "
                      "units: HiGHS proves these (Tasmania at BLM 0.0005: HiGHS 22 s, the cut "
                      "solver not in 60 s)")
    return Choice("cut", f"{shape}; one core: the cut solver reaches 0.1% first at every "
                  "penalty measured (bench_marxan grids, BLM 0.01 to 1, and Tasmania)")


# ============================================================== shared state

class _Shared:
    """The best plan and bounds of a concurrent solve: every backend reports here.

    Plans are checked and their objectives recomputed from the model (`polish`); a
    bound is kept only while no known plan beats it (never a backend's word).
    """

    def __init__(self, model: CompiledModel, started: float) -> None:
        self.model, self.started = model, started
        self.lock = threading.Lock()
        self.values: np.ndarray | None = None
        self.objective = float("nan")
        self.plan_from = ""
        self.bounds: dict[str, float] = {}
        self.trajectory: list[tuple[float, float, float, str]] = []

    def bound(self) -> float:
        b = float("nan")
        for v in self.bounds.values():
            b = tighter_bound(self.model, b, v)
        return b

    def gap(self) -> float:
        return relative_gap(self.objective, self.bound())

    def _beaten(self, bound: float) -> bool:
        if not (np.isfinite(bound) and np.isfinite(self.objective)):
            return False
        slack = 1e-9 * max(1.0, abs(self.objective))
        return (self.objective > bound + slack if self.model.sense == "max"
                else self.objective < bound - slack)

    def offer(self, backend: str, values: np.ndarray | None, bound: float) -> None:
        """A plan (every column, or None) and a bound (NaN for none) from ``backend``."""
        m = self.model
        if values is not None:
            full, obj, viol = polish(m, values)
            if viol > feasibility_tolerance(m):
                values = None
        with self.lock:
            changed = False
            if values is not None and (self.values is None or better(m, obj, self.objective)):
                self.values, self.objective, self.plan_from = full, obj, backend
                changed = True
                # A bound the new plan beats was never one.
                self.bounds = {k: v for k, v in self.bounds.items() if not self._beaten(v)}
            if np.isfinite(bound) and not self._beaten(bound):
                old = self.bounds.get(backend, float("nan"))
                new = tighter_bound(m, old, bound)
                if not (np.isfinite(old) and new == old):
                    self.bounds[backend] = new
                    changed = True
            if changed:
                self.trajectory.append((round(time.perf_counter() - self.started, 6),
                                        self.objective, self.bound(), backend))


class _Channel:
    """One backend's `optimizer.solvers.base.solve_scope`: its stop event and its reports."""

    def __init__(self, shared: _Shared, backend: str, stop: Any) -> None:
        self.shared, self.backend, self.stop = shared, backend, stop

    def report(self, model: CompiledModel, values: np.ndarray | None, bound: float) -> None:
        if model is self.shared.model:  # not a sub-model (the cut solver's polish windows)
            self.shared.offer(self.backend, values, bound)

    def offered(self, model: CompiledModel) -> np.ndarray | None:
        s = self.shared
        with s.lock:
            return s.values if model is s.model and s.plan_from not in ("", self.backend,
                                                                         "greedy") else None


class _ChildChannel:
    """The cut solver's scope in its own process: reports go to the parent's pipe."""

    def __init__(self, model: CompiledModel, send: Any, stop: threading.Event) -> None:
        self.model, self.send, self.stop = model, send, stop

    def report(self, model: CompiledModel, values: np.ndarray | None, bound: float) -> None:
        if model is self.model:
            x = None if values is None else np.round(values[: model.n_x]).astype(np.uint8)
            self.send(("plan", x, float(bound)))

    def offered(self, model: CompiledModel) -> np.ndarray | None:
        return None


def _write_frame(stream: Any, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _read_frames(stream: Any, into: queue.Queue) -> None:
    """Every message of the child's pipe into ``into``; ``("eof", None, "")`` at its end."""
    try:
        while True:
            head = stream.read(8)
            if len(head) < 8:
                break
            into.put(pickle.loads(stream.read(int.from_bytes(head, "little"))))
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    into.put(("eof", None, ""))


def child_main() -> None:
    """The cut solver's process of a concurrent solve (`AutoSolver`).

    Reads ``(model, options, deadline)`` pickled from standard input, sends every plan
    and bound, then the `Solution` (or why there is none), to the file descriptor given
    as its argument; a byte on standard input, or its end, stops it (the parent's
    Ctrl-C, time limit or proven gap). It runs in its own process because PyMaxflow
    holds the GIL through a cut (measured: a Python thread ran at 1% of its speed), and
    HiGHS's callbacks beside it in a thread stalled (25 s alone, no bound in 40 s).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's
    exit_with_parent(os.getppid())
    out = os.fdopen(int(sys.argv[-1]), "wb")
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:
            _write_frame(out, message)

    head = sys.stdin.buffer.read(8)
    model, options, deadline = pickle.loads(sys.stdin.buffer.read(int.from_bytes(head, "little")))
    stop = threading.Event()

    def listen() -> None:
        sys.stdin.buffer.read(1)
        stop.set()

    threading.Thread(target=listen, daemon=True).start()
    if deadline is not None:
        options = {**options, "time_limit": max(deadline - time.time(), 0.05)}
    if options.pop("log", None):  # the parent's log callback hears the lines
        options["log"] = lambda line: send(("log", None, line))
    try:
        with solve_scope(_ChildChannel(model, send, stop)):
            sol = CutSolver(**options).solve(model)
        send(("done", sol, ""))
    except BaseException as exc:  # every outcome goes back to the parent
        kind = ("infeasible" if isinstance(exc, InfeasibleProblemError)
                else "stopped" if isinstance(exc, KeyboardInterrupt) else "error")
        send((kind, None, f"{type(exc).__name__}: {exc}"))
    out.close()


# ============================================================== the solver

class AutoSolver:
    """The default solver: the backend `choose` picks, or the cut solver and HiGHS at once.

    Every solve starts from the greedy plan (`optimizer.solvers.greedy.first_plan`).
    Concurrently (`choose` → ``cut+highs``) the cut solver runs in a child process and
    HiGHS in a thread of this one; each plan and bound either finds is shared: the best
    plan is the incumbent, the tighter bound the bound, and HiGHS starts its MIP from the
    cut solver's plan when it has come by then. Both stop as soon as the combined gap is
    within ``gap``, at the time limit, or on Ctrl-C (this solve's own stop: another solve
    in the process is not stopped). Without a time limit HiGHS gets
    ``max(HANDOFF_MIN_SECONDS, 2 x`` the cut solver's time``)`` after the cut solver ends
    short of the gap. ``info["auto"]`` is the choice line (`Choice.line`),
    ``info["trajectory"]`` the merged ``(seconds, plan, bound, backend)`` rows.

    Parameters
    ----------
    concurrent : bool, optional
        Run both backends at once (True), never (False), or when the machine has two
        cores or more (default).
    **options
        ``time_limit``, ``gap`` and ``log`` go to both backends; other options go to the
        backend that accepts them (e.g. ``strategy`` to HiGHS, ``path_points`` to the
        cut solver).
    """

    name = "auto"

    def __init__(self, concurrent: bool | None = None, **options: Any) -> None:
        cut_fields = {f.name for f in dataclasses.fields(CutSolver)}
        highs_fields = {f.name for f in dataclasses.fields(HighsSolver)}
        unknown = set(options) - cut_fields - highs_fields
        if unknown:
            raise InputDataError(f"solver 'auto': unknown option(s) {sorted(unknown)}; use "
                                 "options of HighsSolver or CutSolver, or concurrent")
        self.concurrent = concurrent
        self.cut_options = {k: v for k, v in options.items() if k in cut_fields}
        self.cut = CutSolver(**self.cut_options)
        self.highs = HighsSolver(**{k: v for k, v in options.items() if k in highs_fields})

    @property
    def gap(self) -> float:
        """The relative gap to prove."""
        return self.highs.gap

    @property
    def time_limit(self) -> float | None:
        """Wall-clock seconds for the whole solve (None: no limit)."""
        return self.highs.time_limit

    def choose(self, model: CompiledModel) -> Choice:
        """What this solver runs on ``model`` (`choose`, with the process's limits)."""
        concurrent = self.concurrent
        if concurrent is None and multiprocessing.current_process().daemon:
            concurrent = False  # a daemonic worker (Dask) may not start a process
        return choose(model, gap=self.gap, concurrent=concurrent)

    def solve(self, model: CompiledModel) -> Solution:
        """Solve ``model`` as `choose` says; raises only when there is no plan at all."""
        if model.n_x == 0:
            return solve_fixed(model, self.name, "")
        started = time.perf_counter()
        shared = _Shared(model, started)
        greedy = first_plan(model)  # the first plan comes first, before the choice
        if greedy is not None:
            shared.offer("greedy", greedy.values, float("nan"))
        choice = self.choose(model)
        if choice.name == "cut+highs":
            return self._concurrent(model, choice, shared)
        if choice.name == "highs":
            return self._highs(model, choice, shared)
        return self._cut_then_highs(model, choice, shared, greedy)

    # ---------------------------------------------------------- sequential
    def _left(self, shared: _Shared) -> float | None:
        if self.time_limit is None:
            return None
        return self.time_limit - (time.perf_counter() - shared.started)

    def _highs(self, model: CompiledModel, choice: Choice, shared: _Shared,
               solver: HighsSolver | None = None, bound: float = float("nan")) -> Solution:
        highs = solver or self.highs
        left = self._left(shared)
        if left is not None:
            highs = dataclasses.replace(highs, time_limit=max(left, 0.05))
        t0 = time.perf_counter() - shared.started
        try:
            with solve_scope(_Channel(shared, "highs", threading.Event())):
                sol = highs.solve(model, warm_start=shared.values, bound=bound)
        except SolverError:
            if shared.values is None:
                raise
            return self._result(model, choice, shared, {}, [], "greedy")
        for t, obj, b in sol.info.get("trajectory", []):
            shared.trajectory.append((round(t0 + t, 6), obj, b, "highs"))
        shared.offer("highs", sol.values, sol.bound)
        return self._result(model, choice, shared, {**sol.info}, [sol], sol.strategy)

    def _cut_then_highs(self, model: CompiledModel, choice: Choice, shared: _Shared,
                        greedy: FirstPlan | None) -> Solution:
        cut = self.cut
        left = self._left(shared)
        if left is not None:
            cut = dataclasses.replace(cut, time_limit=max(left, 0.05))
        t0 = time.perf_counter()
        try:
            with solve_scope(_Channel(shared, "cut", threading.Event())):
                sol = cut.solve(model, first=greedy)
        except SolverError as exc:  # no plan from the cut solver: HiGHS from the greedy plan
            return self._highs(model, Choice("highs", f"{choice.reason}; the cut solver found no "
                                             f"plan ({exc})"), shared)
        shared.offer("cut", sol.values, sol.bound)
        info = {**sol.info}
        spent = time.perf_counter() - t0
        left = self._left(shared)
        limit = left if left is not None else max(HANDOFF_MIN_SECONDS, 2 * spent)
        if shared.gap() <= self.gap + 1e-12 or limit < 1.0 or stop_requested():
            return self._result(model, choice, shared, info, [sol], sol.strategy)
        mip = dataclasses.replace(self.highs, strategy="mip", time_limit=limit)
        try:
            warm = mip.solve(model, warm_start=shared.values, bound=shared.bound())
        except (InfeasibleProblemError, SolverError):
            return self._result(model, choice, shared, info, [sol], sol.strategy)
        shared.offer("highs", warm.values, warm.bound)
        info.update(handoff_seconds=round(warm.runtime, 3), handoff_objective=warm.objective,
                    handoff_bound=warm.bound)
        return self._result(model, choice, shared, info, [sol, warm],
                            f"{sol.strategy}+highs-mip")

    # ---------------------------------------------------------- concurrent
    def _concurrent(self, model: CompiledModel, choice: Choice, shared: _Shared) -> Solution:
        left = self._left(shared)
        deadline = None if left is None else time.time() + left
        options = {k: v for k, v in self.cut_options.items() if k not in ("log", "time_limit")}
        log = self.cut_options.get("log")
        options["log"] = log is not None  # a callback does not cross processes: its lines do
        child: subprocess.Popen | None = None
        messages: queue.Queue = queue.Queue()
        stop = threading.Event()
        results: dict[str, Any] = {}

        def run_highs() -> None:
            highs = self.highs
            left = self._left(shared)
            if left is not None:
                highs = dataclasses.replace(highs, time_limit=max(left, 0.05))
            try:
                with solve_scope(_Channel(shared, "highs", stop)):
                    results["highs"] = highs.solve(model, warm_start=shared.values)
            except BaseException as exc:  # reported by the monitor
                results["highs_error"] = exc

        thread = threading.Thread(target=run_highs, name="carbonpark-auto-highs", daemon=True)
        thread.start()
        cut_sol: Solution | None = None
        cut_end: float | None = None
        cut_error = ""
        infeasible = ""
        asked_stop: float | None = None
        why_stop = ""
        try:
            while True:
                now = time.perf_counter()
                if child is None and cut_end is None and asked_stop is None and (
                        now - shared.started >= CHILD_DELAY or not thread.is_alive()):
                    try:  # not at once: a model HiGHS proves at once costs no process
                        child, messages = _start_child(model, options, deadline)
                    except _NoChildError as exc:
                        cut_end, cut_error = now, f"the cut process did not start: {exc}"
                try:
                    kind, payload, text = messages.get(timeout=0.02)
                except queue.Empty:
                    kind = ""
                if kind == "log":
                    if log is not None:
                        log(text)
                elif kind == "plan":
                    values = None if payload is None else model.complete(payload.astype(float))
                    shared.offer("cut", values, text)
                elif kind == "eof":
                    if cut_end is None:
                        cut_end, cut_error = time.perf_counter(), "the cut process ended early"
                elif kind:
                    cut_end = time.perf_counter()
                    if kind == "done":
                        cut_sol = payload
                        shared.offer("cut", cut_sol.values, cut_sol.bound)
                    elif kind == "infeasible":
                        infeasible = text
                    else:
                        cut_error = text
                highs_done = not thread.is_alive()
                if isinstance(results.get("highs_error"), InfeasibleProblemError):
                    infeasible = str(results["highs_error"])
                now = time.perf_counter()
                if asked_stop is None:
                    if shared.gap() <= self.gap + 1e-12:
                        why_stop = "gap proven"
                    elif infeasible:
                        why_stop = "infeasible"
                    elif stop_requested():
                        why_stop = "interrupted"
                    elif self.time_limit is not None and now - shared.started > self.time_limit:
                        why_stop = "time limit"
                    elif (self.time_limit is None and cut_sol is not None and cut_end is not None
                          and not highs_done
                          and now - cut_end > max(HANDOFF_MIN_SECONDS,
                                                  2 * (cut_end - shared.started))):
                        why_stop = "hand-off time"
                    if why_stop:
                        asked_stop = now
                        stop.set()
                        if child is not None:
                            _tell_stop(child)
                if highs_done and (cut_end is not None or why_stop in ("gap proven", "infeasible")):
                    break  # a cut process still running has nothing left to prove
                if asked_stop is not None and now - asked_stop > JOIN_WAIT:
                    break  # a backend did not return in time: keep what it reported
        finally:
            stop.set()
            if child is not None:
                _end_child(child)
        if infeasible:
            raise InfeasibleProblemError(infeasible.removeprefix("InfeasibleProblemError: "))
        highs_sol = results.get("highs")
        sols = [s for s in (cut_sol, highs_sol) if s is not None]
        if highs_sol is not None:
            shared.offer("highs", highs_sol.values, highs_sol.bound)
        info: dict[str, Any] = {}
        for s, tag in ((highs_sol, "highs"), (cut_sol, "cut")):
            if s is not None:
                info.update({k: v for k, v in s.info.items() if k != "trajectory"})
                info[f"{tag}_status"], info[f"{tag}_seconds"] = s.status.value, round(s.runtime, 3)
                info[f"{tag}_strategy"] = s.strategy
        if cut_error:
            info["cut_error"] = cut_error
        error = results.get("highs_error")
        if isinstance(error, KeyboardInterrupt):
            info["highs_status"] = "stopped"  # during its LP, before it had a plan of its own
        elif error is not None:
            info["highs_error"] = f"{type(error).__name__}: {error}"
        info["stopped_by"] = why_stop or "both ended"
        strategy = "concurrent(" + ", ".join(
            f"{tag}:{s.strategy}" for s, tag in ((cut_sol, "cut"), (highs_sol, "highs"))
            if s is not None) + ")"
        return self._result(model, choice, shared, info, sols, strategy)

    # ---------------------------------------------------------- the answer
    def _result(self, model: CompiledModel, choice: Choice, shared: _Shared,
                info: dict[str, Any], sols: list[Solution], strategy: str) -> Solution:
        """The `Solution` of the shared best plan and bound: status recomputed from them."""
        if shared.values is None:
            if stop_requested():
                raise KeyboardInterrupt
            raise SolverError("auto: no backend found a plan within the time limit"
                              + (f" of {self.time_limit:g} s" if self.time_limit else "")
                              + "; raise time_limit")
        values = shared.values
        objective = model.objective_value(values)  # never a backend's word
        bound = shared.bound()
        gap = relative_gap(objective, bound)
        if np.isfinite(gap) and (gap < 1e-12 or abs(bound - objective)
                                 <= 1e-9 * max(1.0, abs(objective))):
            gap = 0.0
        status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.gap + 1e-12
                  else SolveStatus.INTERRUPTED if stop_requested() else SolveStatus.FEASIBLE)
        traj = sorted(shared.trajectory, key=lambda r: r[0])
        first = next((t for t, obj, _, _ in traj if np.isfinite(obj)), None)
        info = {**info, "auto": choice.line, "auto_choice": choice.name,
                "plan_from": shared.plan_from, "trajectory": traj}
        info["bound_from"] = next((k for k, v in shared.bounds.items() if v == bound), "")
        if first is not None:
            info["time_to_first_plan_s"] = first
        version = ", ".join(dict.fromkeys(s.solver_version for s in sols if s.solver_version))
        log = "".join(s.log for s in sols)
        return Solution(status, model.unit_x(values), objective, bound, gap,
                        time.perf_counter() - shared.started, "auto", version, log,
                        f"greedy+{strategy}" if strategy != "greedy" else "greedy", values, info)


def _start_child(model: CompiledModel, options: dict[str, Any], deadline: float | None
                 ) -> tuple[subprocess.Popen, queue.Queue]:
    """Start `child_main` in a new process group (Ctrl-C reaches only this process, which
    stops it) and a thread that reads its messages; raises `_NoChildError` if it cannot."""
    read_fd, write_fd = os.pipe()
    code = "from optimizer.solvers.auto import child_main; child_main()"
    try:
        child = subprocess.Popen([sys.executable, "-c", code, str(write_fd)],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 pass_fds=(write_fd,), process_group=0)
    except OSError as exc:
        os.close(read_fd)
        raise _NoChildError(str(exc)) from None
    finally:
        os.close(write_fd)
    messages: queue.Queue = queue.Queue()
    threading.Thread(target=_read_frames, args=(os.fdopen(read_fd, "rb"), messages),
                     name="carbonpark-auto-cut", daemon=True).start()
    try:
        assert child.stdin is not None
        _write_frame(child.stdin, (model, options, deadline))
    except (BrokenPipeError, OSError):
        pass  # the child died at once: its pipe's end says so
    return child, messages


def _tell_stop(child: subprocess.Popen) -> None:
    with contextlib.suppress(OSError, ValueError):
        assert child.stdin is not None
        child.stdin.write(b"s")
        child.stdin.flush()


def _end_child(child: subprocess.Popen) -> None:
    """Stop the cut process and wait for it briefly; kill it if it does not end."""
    _tell_stop(child)
    with contextlib.suppress(OSError, ValueError):
        assert child.stdin is not None
        child.stdin.close()
    try:
        child.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


class _NoChildError(Exception):
    """The cut solver's process could not start (the sequential plan runs instead)."""
