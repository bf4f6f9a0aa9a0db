"""What every solver backend shares: the `Solution` it returns and the `Solver` protocol.

A solver takes a `CompiledModel` and returns a `Solution` whose status is data
(optimal, feasible, ...). It raises only when it has no solution at all:
`InfeasibleProblemError` when the model is proven infeasible, `SolverError`
otherwise (time limit without an incumbent, a crash).
"""

from __future__ import annotations

import contextlib
import enum
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.compile import CompiledModel

#: A progress/log callback: receives each solver log line.
LogCallback = Callable[[str], None]


class SolveStatus(enum.StrEnum):
    """Outcome of a solve, kept as data on the `Solution`: the one status vocabulary.

    Every output (``summary.json``'s ``status``, the console, the report, comparison and
    sweep tables, the app) shows these words, and only these:

    * ``optimal`` - proven optimal: proven gap 0 (within `ZERO_GAP`, floating-point
      round-off);
    * ``within_gap`` - proven within the requested relative gap, and that gap is above 0:
      no plan is better by more than the proven gap, but this one is not proven optimal;
    * ``feasible`` - a plan, not proven within the requested gap (time limit reached);
    * ``interrupted`` - stopped by the user (Ctrl-C): the best plan found so far;
    * ``infeasible``, ``unbounded``, ``error`` - no plan.

    A solver reports ``OPTIMAL`` when its plan is proven within the requested gap; the
    `Solution` turns that into ``WITHIN_GAP`` when the proven gap is above 0
    (`proven_status`). ``Solution.is_optimal`` (``optimal`` or ``within_gap``) is the test
    for "solved as asked".
    """

    OPTIMAL = "optimal"  # proven gap 0
    WITHIN_GAP = "within_gap"  # proven within the requested gap, which is above 0
    FEASIBLE = "feasible"  # a solution, not proven within the gap (time limit, stopped)
    INTERRUPTED = "interrupted"  # stopped by the user (Ctrl-C): the best plan found so far
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: A proven relative gap at most this is 0 (floating-point round-off of a bound equal to
#: the objective): the plan is ``optimal``.
ZERO_GAP = 1e-12

#: The statuses of a plan proven within the requested gap: what "solved as asked" means.
PROVEN = (SolveStatus.OPTIMAL, SolveStatus.WITHIN_GAP)


def proven_status(status: SolveStatus, gap: float) -> SolveStatus:
    """The status a plan is reported with: ``optimal`` only at proven gap 0.

    Examples
    --------
    >>> proven_status(SolveStatus.OPTIMAL, 0.00028).value
    'within_gap'
    >>> proven_status(SolveStatus.OPTIMAL, 0.0).value, proven_status(SolveStatus.WITHIN_GAP, 0.0).value
    ('optimal', 'optimal')
    >>> proven_status(SolveStatus.FEASIBLE, 0.2).value
    'feasible'
    """
    if status in PROVEN:
        return (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= ZERO_GAP
                else SolveStatus.WITHIN_GAP)
    return status


@dataclass(frozen=True)
class BudgetPath:
    """The nested plans over every budget that a cut solve of a single-budget model records.

    With one area budget (max utility, boundary penalty, no targets) the cut solver's plans
    are nested as the budget grows: each unit enters at one multiplier and stays. The app,
    the priority rank and the frontier read plans for other budgets from it without a solve
    (`optimizer.solvers.plan_for_budget`, `CutSolver.read_path`).

    Attributes
    ----------
    unit_rank : numpy.ndarray
        Per unit, its order of entry (0 first; -1 for units never on the path: fixed units).
    unit_area : numpy.ndarray
        Per unit, the area the budget row counts for it (km²; 0 off the path).
    unit_locked_in : numpy.ndarray
        Per unit, whether it is locked in (in every plan).
    unit_entry_lambda : numpy.ndarray
        Per unit, the budget multiplier at which it enters (NaN off the path).
    points : numpy.ndarray or None
        One row ``(multiplier, area, min-form value)`` per cut of a budget-independent
        nested path (``nested_path = True``); None for a path refined around one budget.
    """

    unit_rank: np.ndarray
    unit_area: np.ndarray
    unit_locked_in: np.ndarray
    unit_entry_lambda: np.ndarray
    points: np.ndarray | None = None

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> BudgetPath | None:
        """The path a cut solution's ``info`` records, or None when it records none."""
        if "unit_rank" not in info:
            return None
        points = info.get("path_points")
        return cls(np.asarray(info["unit_rank"]), np.asarray(info["unit_area"]),
                   np.asarray(info["unit_locked_in"], dtype=bool),
                   np.asarray(info["unit_entry_lambda"]),
                   None if points is None else np.asarray(points))

    def to_info(self) -> dict[str, Any]:
        """The path as the ``info`` keys a cut solution records it under."""
        info: dict[str, Any] = {"unit_rank": self.unit_rank, "unit_area": self.unit_area,
                                "unit_locked_in": self.unit_locked_in,
                                "unit_entry_lambda": self.unit_entry_lambda}
        if self.points is not None:
            info["path_points"] = self.points
        return info

    @property
    def budget_independent(self) -> bool:
        """Whether every plan on the path is the same whatever budget was solved."""
        return self.points is not None


@dataclass(frozen=True, eq=False)
class Solution:
    """A solver's answer for a compiled model.

    Attributes
    ----------
    status : SolveStatus
    x : numpy.ndarray
        Per planning unit (row order of ``pu.units``): 1.0 selected (locked-in
        units included), 0.0 not.
    objective : float
        Objective value of ``x`` (recomputed from the model, offset included).
    bound : float
        Best proven bound on the optimum (NaN when the solver gave none).
    gap : float
        Relative gap ``|bound - objective| / max(|objective|, 1e-9)`` (NaN without a bound).
    runtime : float
        Wall-clock seconds of the solve.
    solver : str
        Backend name, e.g. ``highs`` or ``pulp:PULP_CBC_CMD``.
    solver_version : str
    log : str
        The solver's log text.
    strategy : str
        How the solution was found, e.g. ``lp-round``, ``lp-round+mip``, ``mip``.
    values : numpy.ndarray or None
        Value of every model column.
    info : dict
        Stage timings and other facts (``lp_seconds``, ``mip_seconds``, ...).
    requested_gap : float
        The relative gap the solve was asked to prove (NaN when unknown).
    """

    status: SolveStatus
    x: np.ndarray
    objective: float
    bound: float
    gap: float
    runtime: float
    solver: str
    solver_version: str = ""
    log: str = ""
    strategy: str = ""
    values: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    requested_gap: float = float("nan")

    def __post_init__(self) -> None:
        # One vocabulary: "optimal" only at proven gap 0 (`proven_status`).
        object.__setattr__(self, "status", proven_status(SolveStatus(self.status), self.gap))

    @property
    def is_optimal(self) -> bool:
        """Whether the plan is proven within the requested gap: status ``optimal`` (proven
        gap 0) or ``within_gap`` (the "solved as asked" test; see `SolveStatus`)."""
        return self.status in PROVEN

    @property
    def selected(self) -> np.ndarray:
        """Boolean mask of selected units."""
        return self.x > 0.5

    @property
    def budget_path(self) -> BudgetPath | None:
        """The nested plans over every budget, when a cut solve recorded them (else None)."""
        return BudgetPath.from_info(self.info)

    def describe(self) -> str:
        """The status in words, with the proven gap: what a user reads after a solve.

        Begins with the status word (`SolveStatus`): "optimal" only at proven gap 0;
        "within_gap" for a plan proven within the requested gap, which is above 0, so a
        plan proven within 50% is never called optimal.

        Examples
        --------
        >>> import numpy as np
        >>> s = Solution(SolveStatus.OPTIMAL, np.ones(2), 10.0, 10.5, 0.05, 1.0, "highs",
        ...              requested_gap=0.1)
        >>> s.status.value, s.describe()
        ('within_gap', 'within_gap (proven gap 5.000%, within the requested gap of 10%)')
        >>> Solution(SolveStatus.OPTIMAL, np.ones(2), 10.0, 10.0, 0.0, 1.0, "highs").describe()
        'optimal (proven gap 0)'
        >>> Solution(SolveStatus.FEASIBLE, np.ones(2), 10.0, 12.0, 0.2, 1.0, "highs",
        ...          requested_gap=0.1).describe()
        'feasible, not proven within the requested gap of 10% (proven gap 20.000%)'
        """
        asked = f" of {self.requested_gap * 100:g}%" if np.isfinite(self.requested_gap) else ""
        proven = proven_gap_text(self.gap)
        if self.status is SolveStatus.OPTIMAL:
            return "optimal (proven gap 0)"
        if self.status is SolveStatus.WITHIN_GAP:
            return f"within_gap ({proven}, within the requested gap{asked})"
        if self.status is SolveStatus.FEASIBLE:
            return f"feasible, not proven within the requested gap{asked} ({proven})"
        if self.status is SolveStatus.INTERRUPTED:
            return f"interrupted: the best plan found so far ({proven})"
        return f"{self.status.value} ({proven})"

    def __repr__(self) -> str:
        return (f"Solution(status={self.status.value}, objective={self.objective:.6g}, "
                f"gap={self.gap:.3g}, selected={int(self.selected.sum())}/{self.x.size}, "
                f"runtime={self.runtime:.2f}s, solver={self.solver!r}, "
                f"strategy={self.strategy!r})")


def proven_gap_text(gap: float) -> str:
    """A proven relative gap in words, never "0.000%" for a gap above 0.

    Examples
    --------
    >>> [proven_gap_text(g) for g in (0.0, 2.1e-7, 0.00035, float("nan"))]
    ['proven gap 0', 'proven gap < 0.001%', 'proven gap 0.035%', 'no proven bound']
    """
    if not np.isfinite(gap):
        return "no proven bound"
    if gap == 0:
        return "proven gap 0"
    if gap < 5e-6:  # would print as 0.000%: a planner would read it as proven optimal
        return "proven gap < 0.001%"
    return f"proven gap {gap:.3%}"


@runtime_checkable
class Solver(Protocol):
    """A backend: ``solve(model) -> Solution``; raises only when there is no solution."""

    @property
    def name(self) -> str:
        """The backend's name, as solutions record it."""
        ...

    def solve(self, model: CompiledModel) -> Solution:
        """Solve a compiled model."""
        ...


# ---------------------------------------------------------------- interrupts

#: Set while a solve should stop as soon as it can (Ctrl-C): every stage treats it
#: as a time limit reached now, so the best plan so far is kept.
_STOP = threading.Event()


#: This thread's solve scope (`solve_scope`): None outside `optimizer.solvers.auto`.
_LOCAL = threading.local()


def stop_requested() -> bool:
    """Whether the user asked the running solve to stop (Ctrl-C), or its scope did."""
    scope = getattr(_LOCAL, "scope", None)
    return _STOP.is_set() or (scope is not None and scope.stop.is_set())


def current_scope() -> Any:
    """This thread's solve scope (`solve_scope`), or None."""
    return getattr(_LOCAL, "scope", None)


@contextlib.contextmanager
def solve_scope(scope: Any) -> Iterator[None]:
    """Run a backend in this thread under ``scope``, one solve's own channel: ``scope.stop``
    (an event) stops it as Ctrl-C does, ``scope.report(model, values, bound)`` hears each
    plan and bound it finds, ``scope.offered(model)`` is a plan found elsewhere or None
    (`optimizer.solvers.auto` runs two backends at once this way)."""
    before = getattr(_LOCAL, "scope", None)
    _LOCAL.scope = scope
    try:
        yield
    finally:
        _LOCAL.scope = before


def request_stop() -> None:
    """Ask the running solve to stop and keep its best plan (what Ctrl-C does)."""
    _STOP.set()


#: How many `stop_on_interrupt` blocks are open (the outermost one owns the handler).
_DEPTH = 0


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[None]:
    """While solving, Ctrl-C stops the solve (keeping its best plan) instead of raising.

    The first Ctrl-C asks every stage to stop as if its time were up; a HiGHS run is
    cancelled and waited for briefly, then left behind if it does not return (HiGHS's
    MIP root LP hears no interrupt; the run stops at its next check and ends with the
    process), so the caller has its best plan within about a second. A third Ctrl-C
    raises `KeyboardInterrupt` (the plan is then lost). Blocks nest: an inner one (a
    solve inside a frontier) leaves the stop request to the outermost, which clears it
    on leaving. Outside the main thread, where Python cannot install signal handlers,
    and in a process that ignores SIGINT, Ctrl-C is left as it is.
    """
    global _DEPTH
    if (_DEPTH > 0 or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):  # e.g. started with nohup or &
        yield
        return
    _STOP.clear()
    presses = 0

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        _STOP.set()
        if presses >= 3:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    _DEPTH += 1
    try:
        yield
    finally:
        _DEPTH -= 1
        signal.signal(signal.SIGINT, previous)
        _STOP.clear()


def check_limits(time_limit: float | None, gap: float) -> None:
    """The options every backend shares: a positive time limit (or none) and a gap in [0, 1)."""
    if time_limit is not None and not time_limit > 0:
        raise InputDataError(f"time_limit must be a positive number of seconds; got "
                             f"{time_limit!r}")
    if not 0 <= gap < 1:
        raise InputDataError(f"gap must be a relative gap in [0, 1); got {gap!r}; "
                             "write 0.1% as 0.001")


def relative_gap(objective: float, bound: float) -> float:
    """``|bound - objective| / max(|objective|, 1e-9)``; NaN when either is unknown."""
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("nan")
    return abs(bound - objective) / max(abs(objective), 1e-9)


def better(model: CompiledModel, a: float, b: float) -> bool:
    """Whether objective ``a`` is strictly better than ``b`` in the model's sense."""
    if not np.isfinite(b):
        return np.isfinite(a)
    return a > b if model.sense == "max" else a < b


def tighter_bound(model: CompiledModel, a: float, b: float) -> float:
    """The tighter of two valid bounds (the smaller for max, larger for min)."""
    vals = [v for v in (a, b) if np.isfinite(v)]
    if not vals:
        return float("nan")
    return min(vals) if model.sense == "max" else max(vals)


def polish(model: CompiledModel, values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Round a solver's ``x`` columns to 0/1 and recompute the others.

    Returns
    -------
    values : numpy.ndarray
        Full column vector with exact ``y`` and ``s``.
    objective : float
    violation : float
        Largest bound violation (0 when feasible).
    """
    x_cols = np.round(np.clip(np.asarray(values, dtype=np.float64)[: model.n_x], 0, 1))
    full = model.complete(x_cols)
    return full, model.objective_value(full), model.max_violation(full)


def feasibility_tolerance(model: CompiledModel) -> float:
    """Tolerance for `CompiledModel.max_violation`, which is relative to each row's scale."""
    return 1e-6


def solve_fixed(model: CompiledModel, solver: str, version: str = "") -> Solution:
    """The answer for a model without free columns (every unit locked)."""
    started = time.perf_counter()
    values = model.complete(np.zeros(0))
    if model.max_violation(values) > feasibility_tolerance(model):
        raise InfeasibleProblemError("every unit is locked and the locked units break a budget "
                                     "or target; relax the locks, budgets or targets")
    obj = model.objective_value(values)
    return Solution(SolveStatus.OPTIMAL, model.unit_x(values), obj, obj, 0.0,
                    time.perf_counter() - started, solver, version, "all units locked", "fixed",
                    values)
