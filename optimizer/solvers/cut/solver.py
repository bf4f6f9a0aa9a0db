"""`CutSolver`: the graph-cut Lagrangian solver's options and its ``solve``.

``solve`` builds the `CutContext`, runs the parametric path (one budget,
`optimizer.solvers.cut.path`) or the bundle method (`optimizer.solvers.cut.lagrangian`),
then, while the requested gap is not proven and time is left, the HiGHS MIP polish
(`optimizer.solvers.cut.polish`) and the neighbourhood search
(`optimizer.solvers.cut.lns`), and returns the best plan as a `Solution`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import (
    BudgetPath,
    LogCallback,
    Solution,
    SolveStatus,
    check_limits,
    current_scope,
    relative_gap,
    solve_fixed,
    stop_requested,
)
from optimizer.solvers.cut.context import CutContext
from optimizer.solvers.cut.form import cut_form
from optimizer.solvers.cut.lagrangian import solve_lagrangian
from optimizer.solvers.cut.lns import lns
from optimizer.solvers.cut.path import path_bound, read_plan, solve_nested_path, solve_single_budget
from optimizer.solvers.cut.polish import polish
from optimizer.solvers.greedy import FirstPlan, first_plan
from optimizer.solvers.highs import FIRST_PLAN_GRACE


@dataclass
class CutSolver:
    """Graph-cut Lagrangian solver (see `optimizer.solvers.cut`).

    Parameters
    ----------
    time_limit : float, optional
        Wall-clock seconds for the whole solve (default: none).
    gap : float
        Relative optimality gap at which to stop (0.0001 = 0.01%).
    log : callable, optional
        Called with progress lines (iteration, bound, best, gap).
    max_iterations : int
        Most multiplier iterations (cuts) of the target/row search.
    path_points : int
        Area resolution of the nested path (single-budget models): the sweep stops
        splitting an interval once it spans less than 1/``path_points`` of the
        path's area; 0 skips the sweep (only the budget's plan is searched).
    path_units : int
        Single-budget models with more free units than this sweep only the intervals
        that hold the budget (the rest of the path, for `plan_for_budget` at other
        budgets, costs most of the solve at national size: each cut of a 1 km grid
        takes seconds); ``nested_path=True`` always sweeps the whole path.
    polish : bool
        Run a HiGHS MIP on the undecided frontier when the gap is above ``gap``.
    polish_units : int
        Most units left free in the polish MIP.
    polish_all : int
        Models with at most this many free units are polished whole (the MIP then
        also proves the bound, or infeasibility).
    polish_share : float
        Share of the remaining time given to the polish MIP.
    polish_time : float
        Most seconds of the polish MIP.
    lns : bool
        After the polish (and only with ``polish``), run the large-neighbourhood
        search (`optimizer.solvers.cut.lns`) while the gap is above ``gap``.
    lns_units : int
        Most units in one window of the neighbourhood search.
    lns_window_time : float
        Most seconds of one window's MIP.
    lns_time : float
        Most seconds of the whole search when there is no ``time_limit`` (with one,
        the search may use all the time left).
    lns_stall : int
        Windows in a row without improvement (at the largest window) after which
        the search stops.
    nested_path : bool
        Single-budget models: read the plan from the nested path over every budget
        (`optimizer.solvers.cut.path.solve_nested_path`, the same path whatever the
        budget, as the app reads it) with the path's proven bound, and skip the polish
        and the neighbourhood search: deterministic and fast. Other models ignore it.
    rescue : bool
        When the Lagrangian search ends without a plan, run a MIP over every free unit
        to find one (even without ``polish``); False raises `SolverError` at once.
    block_units : int
        A plan read from the nested path (``nested_path``, `read_path`) re-solves the
        path's breakpoint block around its budget by a deterministic HiGHS MIP when it
        frees at most this many units (`optimizer.solvers.cut.block`); 0 reads the
        path's ranked plan as it is (faster, weaker at strong compactness).
    """

    time_limit: float | None = None
    gap: float = 1e-4
    log: LogCallback | None = None
    max_iterations: int = 400
    path_points: int = 32
    path_units: int = 1_000_000
    polish: bool = True
    polish_units: int = 20_000
    polish_all: int = 2_000
    polish_share: float = 0.2
    polish_time: float = 60.0
    lns: bool = True
    nested_path: bool = False
    rescue: bool = True
    block_units: int = 2_000
    lns_units: int = 2_000
    lns_window_time: float = 2.0
    lns_time: float = 10.0
    lns_stall: int = 30
    name: str = "cut"
    _lines: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_limits(self.time_limit, self.gap)

    # ---------------------------------------------------------- public
    def solve(self, model: CompiledModel, first: FirstPlan | None = None) -> Solution:
        """Solve ``model``; raises only when there is no solution at all.

        Parameters
        ----------
        model : CompiledModel
        first : FirstPlan, optional
            The greedy first plan of ``model`` when the caller has it already (`auto`):
            recorded at the solve's start instead of computed again.

        Raises
        ------
        SolverError
            The model has no cut form, or no plan was found in time.
        InfeasibleProblemError
            The rows cannot all be met (a row out of reach, or a Lagrangian bound
            above every plan's value).
        """
        import maxflow

        version = f"PyMaxflow {maxflow.__version__}"
        if model.n_x == 0:
            return solve_fixed(model, self.name, version)
        self._lines = []
        started = time.perf_counter()
        deadline = started + self.time_limit if self.time_limit else float("inf")
        # The greedy plan first (issue 23, "anytime"): the answer when the cut stages bring
        # no better plan in the time given, and the polish's start when they bring none.
        greedy = first if first is not None else first_plan(model)
        greedy_x = greedy.values[:model.n_x] if greedy is not None else None
        if greedy is None:  # anytime: without a first plan, run up to FIRST_PLAN_GRACE for one
            deadline = max(deadline, started + FIRST_PLAN_GRACE)
        ctx = CutContext(model, cut_form(model), self, started, deadline,
                         has_first_plan=greedy is not None)
        ctx.check_reachable()
        trail = _Trail(ctx)
        if first is not None:  # in hand from the start
            trail.add(greedy_x, -np.inf)
        elif greedy is not None:  # the greedy's plan, then improved (computed just now)
            trail.add_steps(greedy, 0.0)
        single = ctx.single_budget()
        if single is not None and self.nested_path:
            path_x, bound_min, info, strategy, _ = solve_nested_path(ctx, *single)
            trail.add(path_x, bound_min)
            return self._solution(ctx, path_x, bound_min, strategy, trail.record(info, greedy),
                                  version)
        x: np.ndarray | None
        if single is not None:
            x, bound_min, info, strategy, guide = solve_single_budget(ctx, *single)
        else:
            x, bound_min, info, strategy, guide = solve_lagrangian(ctx)
        trail.add(x, bound_min)
        x = trail.better(x, greedy_x)
        self._report(ctx, x, bound_min)
        gap_now = ctx.gap(ctx.min_value(x) if x is not None else np.inf, bound_min)
        if (self.polish and not gap_now <= self.gap and ctx.left() > 0.5) or (
                x is None and self.rescue and ctx.left() > 0):
            x, bound_min = self._polish(ctx, x, bound_min, guide, info)
            trail.add(x, bound_min)
            strategy += "+polish"
            self._report(ctx, x, bound_min)
        if (self.polish and self.lns and x is not None and ctx.left() > 0.5
                and not ctx.gap(ctx.min_value(x), bound_min) <= self.gap):
            x, lns_info = lns(ctx, x, bound_min, self)
            info.update(lns_info)
            trail.add(x, bound_min)
            strategy += "+lns"
        if x is None:
            if stop_requested():
                raise KeyboardInterrupt
            raise SolverError(f"cut solver found no plan within {time.perf_counter() - started:.1f}"
                              " s; raise time_limit or use solver='highs'")
        if greedy_x is not None and x is greedy_x:
            strategy += "+greedy"  # no cut stage improved on the greedy plan
        return self._solution(ctx, x, bound_min, strategy, trail.record(info, greedy), version)

    # ---------------------------------------------------------- steps
    @staticmethod
    def _report(ctx: CutContext, x: np.ndarray | None, bound_min: float) -> None:
        """Tell a concurrent auto solve (`optimizer.solvers.base.solve_scope`) the plan and bound."""
        scope = current_scope()
        if scope is not None:
            scope.report(ctx.model, None if x is None else ctx.model.complete(x),
                         ctx.form.sigma * bound_min + ctx.model.offset)

    def _polish(self, ctx: CutContext, x: np.ndarray | None, bound_min: float,
                guide: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray | None, float]:
        """The polish MIP: the better plan and, when it freed every unit, the tighter bound."""
        t = time.perf_counter()
        xp, mip_bound, whole, status = polish(ctx, x, guide, self)
        info["polish_seconds"] = round(time.perf_counter() - t, 3)
        if status == "infeasible" and whole and x is None:
            raise InfeasibleProblemError("cut solver: the MIP over every free unit proves "
                                         "that the rows cannot all be met together; relax a "
                                         "target or raise a budget")
        if xp is not None and ctx.feasible(xp) and (
                x is None or ctx.min_value(xp) < ctx.min_value(x)):
            x = xp
        if whole and np.isfinite(mip_bound):
            bound_min = max(bound_min, ctx.form.sigma * (mip_bound - ctx.model.offset))
        return x, bound_min

    def read_path(self, model: CompiledModel, path: BudgetPath) -> Solution:
        """The plan of ``model``'s budget read from a budget-independent nested path (no solve).

        ``path`` comes from an earlier ``nested_path=True`` solve of a model that differs
        from ``model`` at most in its budget (`Solution.budget_path`); the plan and its
        bound are those the same solve of ``model`` would give, at no cut's cost.

        Raises
        ------
        InputDataError
            ``path`` is not budget-independent, or ``model`` has not one area budget.
        """
        import maxflow

        if not path.budget_independent:
            raise InputDataError("read_path needs the nested path of a nested_path=True cut solve "
                                 "(its budget_path has no points); solve with nested_path=True")
        ctx = CutContext(model, cut_form(model), self, time.perf_counter(), math.inf)
        ctx.check_reachable()
        single = ctx.single_budget()
        if single is None:
            raise InputDataError("read_path needs a model with one area budget and no other "
                                 "constraint (max utility, no targets)")
        budget = single[2]
        info = path.to_info()
        x = read_plan(ctx, info, budget)
        return self._solution(ctx, x, path_bound(info, budget), "cut-nested-path", info,
                              f"PyMaxflow {maxflow.__version__}")

    def _solution(self, ctx: CutContext, x: np.ndarray, bound_min: float, strategy: str,
                  info: dict[str, Any], version: str) -> Solution:
        """The `Solution` of plan ``x`` (min form) with the min-form bound ``bound_min``."""
        model = ctx.model
        values = model.complete(x)
        objective = model.objective_value(values)
        bound = ctx.form.sigma * bound_min + model.offset
        # Round-off can put the bound a hair past the plan; a real excess is kept (and is a bug).
        if abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
            bound = objective
        gap = relative_gap(objective, bound)
        if np.isfinite(gap) and gap < 1e-12:
            gap = 0.0
        status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.gap + 1e-12
                  else SolveStatus.INTERRUPTED if stop_requested() else SolveStatus.FEASIBLE)
        runtime = time.perf_counter() - ctx.started
        info["seconds"] = round(runtime, 3)
        self._say(f"cut: done {status.value} objective {objective:.10g} bound {bound:.10g} "
                  f"gap {gap:.3%} in {runtime:.2f} s")
        return Solution(status, model.unit_x(values), objective, bound, gap, runtime, self.name,
                        version, "\n".join(self._lines) + "\n", strategy, values, info)

    def _say(self, line: str) -> None:
        self._lines.append(line)
        if self.log is not None:
            self.log(line)


class _Trail:
    """The plan and bound after each stage of a cut solve (``info["trajectory"]``).

    Points are ``(seconds since the solve started, best objective so far, best bound so
    far)`` in the model's own sense (max or min), NaN while there is none, as the HiGHS
    strategy records them.
    """

    def __init__(self, ctx: CutContext) -> None:
        self.ctx = ctx
        self.points: list[tuple[float, float, float]] = []
        self.best_min = np.inf
        self.bound_min = -np.inf

    def add(self, x: np.ndarray | None, bound_min: float) -> None:
        """Record the stage's plan ``x`` (min form) and bound, keeping the best of each."""
        if x is not None and self.ctx.feasible(x):
            self.best_min = min(self.best_min, self.ctx.min_value(x))
        if np.isfinite(bound_min):
            self.bound_min = max(self.bound_min, bound_min)
        sigma, offset = self.ctx.form.sigma, self.ctx.model.offset
        obj = sigma * self.best_min + offset if np.isfinite(self.best_min) else np.nan
        bound = sigma * self.bound_min + offset if np.isfinite(self.bound_min) else np.nan
        self.points.append((round(time.perf_counter() - self.ctx.started, 6), float(obj),
                            float(bound)))

    def add_steps(self, plan: FirstPlan, offset: float) -> None:
        """Record the greedy's steps (`FirstPlan.steps`), which began ``offset`` s into the solve."""
        sigma, offset_obj = self.ctx.form.sigma, self.ctx.model.offset
        for seconds, objective in plan.steps:
            self.best_min = min(self.best_min, sigma * (objective - offset_obj))
            self.points.append((round(offset + seconds, 6), objective, np.nan))

    def better(self, x: np.ndarray | None, other: np.ndarray | None) -> np.ndarray | None:
        """The better feasible plan of ``x`` and ``other`` (min form); ``x`` on a tie."""
        if other is None or not self.ctx.feasible(other):
            return x
        if x is None or not self.ctx.feasible(x):
            return other
        return other if self.ctx.min_value(other) < self.ctx.min_value(x) else x

    def record(self, info: dict[str, Any], greedy: FirstPlan | None) -> dict[str, Any]:
        """``info`` with the trajectory, the time to the first plan and the greedy's figures."""
        info["trajectory"] = self.points
        first = next((t for t, obj, _ in self.points if np.isfinite(obj)), None)
        if first is not None:
            info["time_to_first_plan_s"] = first
        if greedy is not None:
            info["greedy_seconds"] = round(greedy.seconds, 6)
            info["greedy_objective"] = greedy.objective
        return info
