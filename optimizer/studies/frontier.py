"""The trade-off frontier between two metrics of a plan, by the ε-constraint method.

The metrics (`Metric`, `metric`: carbon stock added, mean representation, a feature or
group's representation) and the ε row (`with_row`) are in `optimizer.studies.metrics`
(re-exported here). Both metrics are maximised.

`frontier` takes a base problem with a max-utility objective: its units, total budget,
other budgets, locks, targets and penalties are kept; its weights are replaced by the two
metrics. Each point of the ε-constraint method maximises metric a subject to one added
row, metric b >= ε (`with_row`), then maximises b with a held at what was found (so no
point is weakly dominated). With ``points=None`` the next ε is just above the last
point's b until no plan is left: every non-dominated pair of values, including the
*non-supported* points that no weighted sum reaches. ``method="weighted"`` maximises
``w a + (1 - w) b`` (each normalised) over a grid of w: faster, supported points only.

Every point's metrics are recomputed from its plan, never taken from the solver.
`Frontier` holds the points (non-dominated only), the marginal rate between
neighbours, the knee, what each single-goal plan loses against the other, and writes
``frontier.csv``, ``frontier.png`` and ``frontier.json`` (`Frontier.write`). A frontier cut
short by its time limit (``time_limit`` for the whole frontier, ``time_limit_per_point``
for each point) or of a single point gives no trade-off: `Frontier.caveat` says why
instead (`Frontier.summary`, the figure). `Frontier.with_plan` shows a plan (the
scenario's own) beside its frontier.

With penalties (boundary, linear) in the base problem, each solve maximises the metric
as a share of its largest possible gain (like max-utility weights) minus the penalties,
so points are penalised (compact) plans; only non-dominated pairs are kept.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from optimizer.atomic import write_dir_atomic
from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.figures.plots import frontier_chart
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.contiguity import check_solved_whole
from optimizer.model.objectives import OBJECTIVES, listed, objective_kind
from optimizer.model.problem import Problem
from optimizer.plan.results import diagnose
from optimizer.solvers.auto import choose
from optimizer.solvers.base import stop_on_interrupt, stop_requested
from optimizer.solvers.cut.solver import CutSolver
from optimizer.solvers.highs import HighsSolver
from optimizer.studies.metrics import METRICS, REL_TOL, Metric, metric, pareto_mask, with_row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from optimizer.solvers.base import Solution

__all__ = ["CO2_PER_C", "METRICS", "Frontier", "Metric", "frontier", "metric", "pareto_mask",
           "with_row"]

#: With ``points=None``, each next ε is this share of metric b's largest possible gain above
#: the last point's b (well above the solver's feasibility tolerance of 1e-7 on the scaled
#: row): points closer than that in b are not told apart.
EPSILON_STEP = 1e-5


# ============================================================== the frontier

@dataclass(frozen=True, eq=False)
class Frontier:
    """Non-dominated plans between two metrics, from the a-first to the b-first end.

    Attributes
    ----------
    metric_a, metric_b : Metric
    points : pandas.DataFrame
        One row per point, sorted by metric a descending (b ascending): the two metrics
        (columns `Metric.column`, e.g. ``carbon_stock_added_MgC``,
        ``mean_representation_pct``), ``new_km2``, ``marginal_rate_<a>_per_<b>`` (a given
        up per unit of b gained from the previous point; NaN on the first), ``knee``,
        ``epsilon`` (the bound on b, NaN for unbounded solves), ``weight`` (of a,
        weighted method), ``status`` and ``gap``.
    plans : numpy.ndarray
        (points x units) 0/1 selections, row i the plan of ``points`` row i.
    method : str
    seconds : float
        Wall-clock seconds of the whole frontier.
    complete : bool
        False when the time limit stopped the frontier early.
    planned : int or None
        Points the method set out to solve (``points``; None for every point).
    solved : int
        Points solved (before dominated and equal ones are dropped).
    budget_km2 : float or None
        The base problem's total budget (new km²).
    time_limit, time_limit_per_point : float or None
        The limits it ran under: seconds for the whole frontier, and for each point.
    plan_point : dict or None
        A plan shown beside the frontier (`Frontier.with_plan`): its two metrics (the
        columns), ``new_km2`` and ``label``.
    interrupted : bool
        True when the user stopped the frontier (Ctrl-C): the points finished before,
        and the best plan of the point then running (status ``interrupted``), are kept;
        ``complete`` is False.
    """

    metric_a: Metric
    metric_b: Metric
    points: pd.DataFrame
    plans: np.ndarray
    method: str
    seconds: float
    complete: bool = True
    planned: int | None = None
    solved: int = 0
    budget_km2: float | None = None
    time_limit: float | None = None
    time_limit_per_point: float | None = None
    plan_point: dict[str, Any] | None = None
    interrupted: bool = False

    @property
    def rate_column(self) -> str:
        """Name of the marginal-rate column, e.g. ``marginal_rate_MgC_per_pct``."""
        return f"marginal_rate_{self.metric_a.unit}_per_{self.metric_b.unit}"

    def marginal_rates(self) -> pd.DataFrame:
        """Between each pair of neighbours: how much of a is given up per unit of b gained.

        Returns
        -------
        pandas.DataFrame
            ``from_point``, ``to_point``, ``delta_<a col>``, ``delta_<b col>`` and the rate
            (``a`` units per ``b`` unit, e.g. MgC per percentage point).
        """
        a = self.points[self.metric_a.column].to_numpy()
        b = self.points[self.metric_b.column].to_numpy()
        da, db = a[:-1] - a[1:], b[1:] - b[:-1]
        return pd.DataFrame({"from_point": np.arange(a.size - 1), "to_point": np.arange(1, a.size),
                             f"delta_{self.metric_a.column}": -da,
                             f"delta_{self.metric_b.column}": db,
                             self.rate_column: _safe_div(da, db)})

    def knee(self) -> pd.Series | None:
        """The point farthest from the line between the two ends (both metrics scaled to [0, 1]).

        Returns None with fewer than three points (no interior point).
        """
        i = _knee_index(self.points[self.metric_a.column].to_numpy(),
                        self.points[self.metric_b.column].to_numpy())
        return None if i is None else self.points.iloc[i]

    def single_goal(self) -> pd.DataFrame:
        """What each single-goal plan (the two ends) loses of the other metric's optimum.

        Returns
        -------
        pandas.DataFrame
            Index ``<a>_first`` and ``<b>_first``; columns: the two metrics, ``other``
            (the metric it gives up), ``loss`` (in that metric's unit), ``loss_pct_of_optimum``
            (the loss as a share of the other plan's value, %), ``loss_pct_of_gain`` (as a share
            of what the other plan adds to selecting nothing, %).
        """
        ma, mb = self.metric_a, self.metric_b
        a = self.points[ma.column].to_numpy()
        b = self.points[mb.column].to_numpy()
        rows = []
        for first, other, own, lost in ((ma, mb, 0, b), (mb, ma, -1, a)):
            best = lost[-1] if own == 0 else lost[0]
            loss = best - lost[own]
            rows.append({"plan": f"{first.name}_first", ma.column: a[own], mb.column: b[own],
                         "other": other.column, "loss": loss,
                         "loss_pct_of_optimum": 100.0 * _safe_div(loss, abs(best)),
                         "loss_pct_of_gain": 100.0 * _safe_div(loss, best - other.constant)})
        return pd.DataFrame(rows).set_index("plan")

    @property
    def caveat(self) -> str | None:
        """Why the points are no trade-off to read (None when they are): a frontier the
        time limit cut short, or one of a single point (one plan best on both metrics).

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2)
        >>> f = frontier(p, points=3, gap=0.0)
        >>> f.caveat is None
        True
        >>> import dataclasses
        >>> print(dataclasses.replace(f, complete=False, solved=1, points=f.points[:1],
        ...                           time_limit=10.0).caveat)  # doctest: +NORMALIZE_WHITESPACE
        frontier truncated: 1 of 3 points within the time limit (10 s for the whole
        frontier); raise the time limit, or give one per point
        """
        n = len(self.points)
        if self.interrupted:
            of = f"{self.solved} of {self.planned}" if self.planned else f"{self.solved}"
            return (f"frontier interrupted (Ctrl-C): {of} points solved before the stop (a "
                    "point cut short keeps its best plan, status 'interrupted'); run it again "
                    "for the whole frontier")
        if not self.complete:
            of = f"{self.solved} of {self.planned}" if self.planned else f"{self.solved}"
            return (f"frontier truncated: {of} points within the time limit "
                    f"({self.limits()}); raise the time limit, or give one per point")
        if n == 0:
            return "frontier degenerate: no point"
        if n < 2:
            return (f"frontier degenerate: one point (of {self.solved} solved): one plan is the "
                    f"best on both metrics, so there is no trade-off between "
                    f"{_title(self.metric_a)} and {_title(self.metric_b)} under these settings")
        return None

    def limits(self) -> str:
        """The time limits the frontier ran under, in words."""
        parts = []
        if self.time_limit_per_point is not None:
            parts.append(f"{self.time_limit_per_point:g} s per point")
        if self.time_limit is not None:
            parts.append(f"{self.time_limit:g} s for the whole frontier")
        return ", ".join(parts) or "no time limit"

    def summary(self) -> str:
        """The points and the synergy (what each single-goal plan loses of the other
        metric); for a truncated or degenerate frontier the `caveat` instead of a trade-off."""
        lines = [f"{len(self.points)} non-dominated points ({self.method}, "
                 f"{self.seconds:.1f} s, {self.limits()})"]
        if self.caveat is not None:
            return "\n".join([*lines, self.caveat])
        sg = self.single_goal()
        for (_, row), first, other in zip(sg.iterrows(), (self.metric_a, self.metric_b),
                                          (self.metric_b, self.metric_a), strict=True):
            amount = (f"{row['loss']:,.1f} percentage points" if other.unit == "pct"
                      else f"{row['loss']:,.0f} {other.unit}")
            lines.append(f"{_end(first)}: the plan with the most {_title(first)} gives up "
                         f"{amount} of {_title(other)} ({row['loss_pct_of_optimum']:.1f}% of "
                         "the most possible)")
        short = ~self.points["status"].isin(["optimal", "within_gap"])
        if short.any():
            lines.append(f"note: {int(short.sum())} of {len(short)} points are not proven within "
                         "the requested gap (their status says why)")
        return "\n".join(lines)

    def with_plan(self, x: np.ndarray, *, label: str = "this scenario's plan",
                  new_km2: float | None = None) -> Frontier:
        """The frontier with a plan (per-unit 0/1, e.g. the scenario's own solve) shown
        beside it: its two metrics computed from ``x``; ``new_km2`` recorded when given.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2)
        >>> f = frontier(p, points=3, gap=0.0).with_plan(solve(p, gap=0.0).x)  # equal weights
        >>> f.plan_point["carbon_stock_added_MgC"], f.plan_point["label"]
        (120.0, "this scenario's plan")
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != self.metric_a.coef.shape:
            raise InputDataError(f"with_plan: the plan has {x.size} values; the frontier's "
                                 f"grid has {self.metric_a.coef.size} units")
        point = {self.metric_a.column: self.metric_a.value(x),
                 self.metric_b.column: self.metric_b.value(x),
                 "new_km2": None if new_km2 is None else float(new_km2), "label": label}
        return dataclasses.replace(self, plan_point=point)

    def figure(self) -> Figure:
        """The frontier as a chart (`optimizer.figures.plots.frontier_chart`): the ends named
        by their metric, the knee (when there is a trade-off), the plan of `with_plan`,
        the budget in the title and the `caveat` under it."""
        ma, mb = self.metric_a, self.metric_b
        title = "Trade-off frontier" + (f" under a budget of {self.budget_km2:,.0f} km² new"
                                        if self.budget_km2 is not None else "")
        plan = self.plan_point
        k = None if self.caveat is not None else _knee_index(
            self.points[ma.column].to_numpy(), self.points[mb.column].to_numpy())
        return frontier_chart(
            self.points, ma.column, mb.column, a_title=_title(ma), a_unit=ma.unit,
            b_title=_title(mb), b_unit=mb.unit, a_end=_end(ma), b_end=_end(mb), title=title,
            knee=k, plan=None if plan is None else (plan[ma.column], plan[mb.column]),
            plan_label="" if plan is None else plan["label"], note=self.caveat or "")

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
              inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
        """Write ``frontier.csv`` and ``frontier.png`` into the folder ``out_dir`` (atomically).

        Parameters
        ----------
        out_dir : str or PathLike
            A new or empty folder, or an earlier frontier output.
        overwrite : bool
            Replace a folder that is not an earlier frontier output.
        inputs : iterable of paths
            The inputs (scenario file, grid): never replaced or written into.

        Returns
        -------
        pathlib.Path
            ``out_dir``.
        """

        def fill(folder: Path) -> None:
            self.points.to_csv(folder / "frontier.csv", index_label="point")
            fig = self.figure()
            fig.savefig(folder / "frontier.png", dpi=120)
            (folder / "frontier.json").write_text(json.dumps(self.facts(), indent=1) + "\n",
                                                  encoding="utf-8")

        return write_dir_atomic(out_dir, "frontier", fill, overwrite=overwrite, inputs=inputs)

    def facts(self) -> dict[str, Any]:
        """What ``frontier.json`` records: metrics, budget, limits, points planned and
        solved, whether it is complete, its `caveat` and the plan of `with_plan`."""
        def num(v: Any) -> Any:
            return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v

        plan = None if self.plan_point is None else {k: num(v) for k, v in self.plan_point.items()}
        return {"metric_a": {"column": self.metric_a.column, "label": self.metric_a.label},
                "metric_b": {"column": self.metric_b.column, "label": self.metric_b.label},
                "method": self.method, "budget_km2": num(self.budget_km2),
                "time_limit_s": num(self.time_limit),
                "time_limit_per_point_s": num(self.time_limit_per_point),
                "points_planned": self.planned, "points_solved": self.solved,
                "points_non_dominated": len(self.points), "complete": self.complete,
                "interrupted": self.interrupted,
                "caveat": self.caveat, "seconds": round(self.seconds, 3), "plan": plan}


def _title(m: Metric) -> str:
    """The metric's label without its unit: ``carbon stock added``."""
    return (m.label or m.name).rsplit(" (", 1)[0]


#: The end of the frontier each metric names: the plan with the most of it.
_ENDS = {"carbon_stock_added": "most carbon", "mean_representation": "most representation"}


def _end(m: Metric) -> str:
    """The name of the frontier's end with the most of ``m``: ``most carbon``."""
    return _ENDS.get(m.name, f"most {_title(m)}")


def _safe_div(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan),
                     where=np.abs(den) > 0)


def _knee_index(a: np.ndarray, b: np.ndarray) -> int | None:
    if a.size < 3:
        return None
    span_a, span_b = a.max() - a.min(), b.max() - b.min()
    if span_a <= 0 or span_b <= 0:
        return None
    u, v = (a - a.min()) / span_a, (b - b.min()) / span_b
    # Distance to the line through the two ends (u, v) = (1, 0) and (0, 1): |u + v - 1| / sqrt 2.
    d = np.abs(u + v - 1.0) / np.sqrt(2.0)
    d[[0, -1]] = -1.0
    return int(np.argmax(d))


# ============================================================== solving

def _frontier_solver(model: CompiledModel, solver: str) -> str:
    """``auto``: what `optimizer.solvers.auto.choose` picks for a frontier point
    (``frontier=True``: the cut solver when the model is in cut form with the ε rows
    relaxed by Lagrange multipliers; a boundary penalty is optional here), else HiGHS.

    On the demo at 20 km (5,900 units) an ε point takes 0.05 s with the cut solver and
    4.5 s with HiGHS, at the same objective within the 0.1% gap.
    """
    if solver not in ("auto", "highs", "cut"):
        raise InputDataError(f"solver must be 'auto', 'highs' or 'cut'; got {solver!r}")
    if solver != "auto":
        return solver
    return "cut" if choose(model, frontier=True).name == "frontier-cut" else "highs"


class _PointTimeoutError(SolverError):
    """A point found no plan within its own time limit (``time_limit_per_point``)."""


class _StoppedError(Exception):
    """The user asked the frontier to stop (Ctrl-C) before the next solve."""


class _Solver:
    """Solves the frontier's models: the base compiled once, one objective and ε row per solve."""

    def __init__(self, base: Problem, ma: Metric, mb: Metric, gap: float,
                 time_limit: float | None, solver: str = "auto",
                 time_limit_per_point: float | None = None) -> None:
        kind = None if base.objective is None else objective_kind(base.objective.kind)
        if kind is None or not kind.nested:
            methods = listed([f"{k.method}(budget_km2=...)" for k in OBJECTIVES.values() if k.nested])
            raise InputDataError(f"frontier() needs a base problem with {methods}: its budget, "
                                 "locks, targets and penalties are kept and its weights replaced "
                                 "by the two metrics")
        check_solved_whole(base, "frontier()")
        self.model = compile(base)
        m = self.model
        self.free = m.unit_of_col[: m.n_x]
        locked_in = np.nan_to_num(m.x_fixed, nan=0.0)
        self.penalty = m.c.copy()  # the base objective less its utility: penalties only
        self.penalty[: m.n_x] -= kind.unit_objective(base)[self.free]
        self.ma, self.mb = ma, mb
        self.const = {id(mt): mt.constant + float(mt.coef @ locked_in) for mt in (ma, mb)}
        self.scale = {id(mt): max(float(np.abs(mt.coef[self.free]).sum()), 1e-300)
                      for mt in (ma, mb)}
        self.gap, self.deadline = gap, (None if time_limit is None
                                        else time.perf_counter() + time_limit)
        self.per_point = time_limit_per_point
        self.point_deadline: float | None = None
        self.solver = _frontier_solver(self.model, solver)
        self.unprotected_km2 = base.unprotected_km2

    def remaining(self) -> float | None:
        """Seconds left: of the whole frontier's limit and of this point's, the sooner."""
        ends = [d for d in (self.deadline, self.point_deadline) if d is not None]
        return None if not ends else min(ends) - time.perf_counter()

    def _run(self, weights: tuple[float, float], bounds: list[tuple[Metric, float]],
             cap: float | None = None, quick: bool = False) -> Solution:
        m = self.model
        c = self.penalty.copy()
        for w, mt in zip(weights, (self.ma, self.mb), strict=True):
            if w:
                c[: m.n_x] += w * mt.coef[self.free] / self.scale[id(mt)]
        model = dataclasses.replace(m, c=c)
        for mt, lo in bounds:  # rows scaled to O(1) so the solver's tolerances fit
            s = self.scale[id(mt)]
            model = with_row(model, mt.coef[self.free] / s, (lo - self.const[id(mt)]) / s,
                             label=f"min_{mt.name}")
        if stop_requested():
            raise _StoppedError
        if self.deadline is not None and self.deadline <= time.perf_counter():
            raise TimeoutError
        left = self.remaining()
        if left is not None and left <= 0:
            raise _PointTimeoutError("the point's time limit is reached")
        if cap is not None:
            left = cap if left is None else min(left, cap)
        if self.solver == "cut":  # quick: the Lagrangian search only, no polish MIP
            return CutSolver(gap=self.gap, time_limit=left, polish=not quick,
                             rescue=not quick).solve(model)
        return HighsSolver(strategy="mip", gap=self.gap, time_limit=left).solve(model)

    def point(self, weights: tuple[float, float], epsilon: float | None) -> dict:
        """Best plan for ``weights`` (subject to b >= epsilon), made lexicographic.

        A second solve keeps the first's a (for weights (1, 0); b for (0, 1)) within the
        requested gap and maximises the other metric, so no returned plan is weakly
        dominated within the gap.
        """
        bounds = [] if epsilon is None else [(self.mb, epsilon)]
        self.point_deadline = (None if self.per_point is None
                               else time.perf_counter() + self.per_point)
        try:
            sol = first_sol = self._run(weights, bounds)
        except SolverError as exc:  # no plan within the point's own time limit
            if self.point_deadline is not None and self.point_deadline <= time.perf_counter():
                raise _PointTimeoutError(str(exc)) from None
            raise
        first = self.values(sol.x)
        # The held value may give up the requested gap: the first plan is only known
        # within it anyway, and holding it exactly makes the second solve a needle search
        # (on the demo at 10 km: 12-16 s per end point instead of 0.2 s). With gap 0 the
        # tie-break is exact.
        slack = max(REL_TOL, self.gap)
        if stop_requested():  # Ctrl-C: the first plan, no tie-break
            pass
        elif weights[1] == 0.0:  # a only: then the most b with a held
            hold = first["a"] - slack * max(1.0, abs(first["a"]))
            sol = self._tie_scan(sol, bounds, self.ma, hold)
            sol = self._second(sol, [*bounds, (self.ma, hold)], (0.0, 1.0))
        elif weights[0] == 0.0:  # b only: then the most a with b held
            hold = first["b"] - slack * max(1.0, abs(first["b"]))
            sol = self._tie_scan(sol, bounds, self.mb, hold)
            sol = self._second(sol, [(self.mb, hold)], (1.0, 0.0))
        out = self.values(sol.x)
        if epsilon is not None and out["b"] < epsilon - 0.1 * EPSILON_STEP * self.scale[id(self.mb)]:
            raise SolverError(f"the plan for epsilon={epsilon:g} has {self.mb.column}="
                              f"{out['b']:g} below it; rerun with a smaller gap")
        # Status and gap are the first solve's: the second only breaks ties within it.
        return {**out, "x": sol.x, "status": str(first_sol.status), "gap": first_sol.gap}

    def _tie_scan(self, sol: Solution, bounds: list[tuple[Metric, float]], held: Metric,
                  hold: float) -> Solution:
        """Weighted tie-breaks: the plan with the most of the other metric among those that
        keep ``held`` at ``hold`` or more, from weights (1, δ) for δ = 0.001 ... 0.1.

        Only for an end point (no ε row) on the cut solver, where each is one Lagrangian
        search without polish (0.01 s on the demo at 40 km, 0.1-0.2 s at 10 km, capped at
        the first solve's time): there the constrained tie-break often finds
        no plan quickly, and the end's other metric was understated (mean representation
        of the most-carbon plan 22.0% where 24.8% costs 0.06% of its carbon).
        """
        if bounds or self.solver != "cut" or self.gap == 0:
            return sol
        other = self.mb if held is self.ma else self.ma
        best = sol
        for d in (1e-3, 1e-2, 1e-1):
            w = (1.0, d) if held is self.ma else (d, 1.0)
            try:
                # The Lagrangian search only (quick): a tie-break needs a plan, not a proof; with
                # the polish and neighbourhood search, one weight took 27 s at compactness 0.75.
                cand = self._run(w, [], cap=max(1.0, sol.runtime), quick=True)
            except (InfeasibleProblemError, SolverError, _StoppedError):
                break
            except KeyboardInterrupt:  # Ctrl-C before this tie-break had a plan
                if not stop_requested():
                    raise
                break
            if cand.x is None or held.value(cand.x) < hold:
                break  # larger δ give up more of the held metric
            if other.value(cand.x) > other.value(best.x):
                best = cand
        return best

    def _second(self, sol: Solution, bounds: list[tuple[Metric, float]],
                weights: tuple[float, float]) -> Solution:
        """The tie-breaking solve; the first plan when it finds nothing better.

        With a gap, it gets ten times the first solve's time (at least 1 s) and the cut
        solver no polish MIP: a tie-break is not worth a needle search (HiGHS's presolve
        alone took 10 s, past a 1 s limit, on the demo at 10 km), and the non-dominated
        filter removes what it leaves.
        """
        cap = None if self.gap == 0 else max(1.0, 10.0 * sol.runtime)
        try:
            second = self._run(weights, bounds, cap, quick=self.gap > 0)
        except (InfeasibleProblemError, SolverError, _StoppedError):  # tolerances, time, Ctrl-C
            return sol
        except KeyboardInterrupt:  # Ctrl-C before the tie-break had a plan: keep the first
            if not stop_requested():
                raise
            return sol
        if second.x is None:
            return sol
        mt = self.mb if weights[1] else self.ma
        return second if mt.value(second.x) >= mt.value(sol.x) else sol

    def values(self, x: np.ndarray) -> dict:
        return {"a": self.ma.value(x), "b": self.mb.value(x),
                "new_km2": float(self.unprotected_km2 @ x)}


def frontier(
    base_problem: Problem,
    metric_a: str | Metric = "carbon_stock_added",
    metric_b: str | Metric = "mean_representation",
    *,
    points: int | None = 11,
    method: Literal["epsilon", "weighted"] = "epsilon",
    gap: float = 1e-4,
    time_limit: float | None = None,
    solver: Literal["auto", "highs", "cut"] = "auto",
    time_limit_per_point: float | None = None,
) -> Frontier:
    """The trade-off frontier between two metrics under a base problem's budget and locks.

    Parameters
    ----------
    base_problem : Problem
        With `Problem.add_max_utility_objective` (its total budget); its other budgets,
        locks, targets and penalties are kept, its weights replaced by the metrics.
    metric_a, metric_b : str or Metric
        Both maximised; names as for `metric` (default: carbon stock added, MgC, against
        mean representation of biodiversity features, percentage points).
    points : int or None
        ``epsilon``: the number of ε values, evenly spaced between the two ends' b (the
        ends included); None: every non-dominated point (each next ε just above the last
        point's b; exact, as many solves as points, twice). ``weighted``: the number of
        weights of a between 0 and 1 (None: 11).
    method : {"epsilon", "weighted"}
        ε-constraint (finds non-supported points too) or weighted sums (supported
        points only; faster).
    gap : float
        Relative MIP gap of each solve (0 for proven optima).
    time_limit : float, optional
        Wall-clock seconds for the whole frontier; on running out, the points so far
        are returned with ``complete=False`` (and `Frontier.caveat` says how many of the
        planned points there are instead of a trade-off).
    time_limit_per_point : float, optional
        Wall-clock seconds for each point (its solve and its tie-breaks): a point short of
        time keeps its best plan with its proven gap; one without a plan in time is left
        out and the frontier is not ``complete``. ``carbonpark frontier`` gives each point
        the scenario's ``[solver] time_limit`` (the limit of one solve).
    solver : {"auto", "highs", "cut"}
        ``auto`` (default): the graph-cut solver when the base model is in cut form
        (budgets and targets as Lagrangian rows, with or without a boundary penalty),
        else HiGHS. Every plan is checked against every row either way.

    Returns
    -------
    Frontier

    Raises
    ------
    InputDataError
        Unknown metric or method, ``points < 2``, or a base problem without a max-utility
        objective.
    InfeasibleProblemError
        The base problem has no plan.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2)
    >>> f = frontier(p, points=None, gap=0.0)
    >>> print(f.points.iloc[:, :4].to_string())  # cells 4 and 5, or cells 2 and 4
       carbon_stock_added_MgC  mean_representation_pct  new_km2  marginal_rate_MgC_per_pct
    0                   140.0                     50.0      2.0                        NaN
    1                   120.0                     62.5      2.0                        1.6
    >>> f.single_goal()["loss_pct_of_optimum"].round(1).tolist()  # carbon first; species first
    [20.0, 14.3]
    """
    t0 = time.perf_counter()
    if method not in ("epsilon", "weighted"):
        raise InputDataError(f"method must be 'epsilon' or 'weighted'; got {method!r}")
    if points is not None and (isinstance(points, bool) or not isinstance(points, int | np.integer)
                               or points < 2):
        raise InputDataError(f"points must be an integer of at least 2 (or None for every point "
                             f"of the epsilon method); got {points!r}")
    if not isinstance(base_problem, Problem):
        raise InputDataError(f"frontier() takes a Problem; got {type(base_problem).__name__}")
    ma, mb = metric(base_problem, metric_a), metric(base_problem, metric_b)
    if ma.column == mb.column:
        raise InputDataError(f"metric_a and metric_b are both {ma.column!r}; choose two metrics")
    for name, limit in (("time_limit", time_limit), ("time_limit_per_point", time_limit_per_point)):
        if limit is not None and not limit > 0:
            raise InputDataError(f"{name} must be a positive number of seconds (or None); "
                                 f"got {limit!r}")
    causes = diagnose(base_problem)  # before any solve: a budget the locks exceed, ...
    if causes:
        raise InfeasibleProblemError("frontier: no plan fits the base problem: "
                                     + "; ".join(causes))
    runs = _Solver(base_problem, ma, mb, gap, time_limit, solver, time_limit_per_point)
    found: list[dict] = []
    planned = (points or 11) if method == "weighted" else points
    with stop_on_interrupt():  # Ctrl-C: keep the points so far and the running one's plan
        complete, why = _solve_points(runs, found, points, method)
        interrupted = stop_requested()
    if interrupted and not found:
        raise KeyboardInterrupt  # nothing to keep
    if not complete and not found:
        limits = ", ".join(f"{n} = {v:g} s" for n, v in (
            ("time_limit", time_limit), ("time_limit_per_point", time_limit_per_point))
            if v is not None)
        raise SolverError(f"frontier: no point within the time limit ({limits or why}); "
                          "raise it")
    f = _frontier_from(found, ma, mb, method, time.perf_counter() - t0,
                       complete and not interrupted)
    total = base_problem.total_budget()
    return dataclasses.replace(f, planned=planned, solved=len(found),
                               budget_km2=None if total is None else total.max_km2,
                               time_limit=time_limit, time_limit_per_point=time_limit_per_point,
                               interrupted=interrupted)


def _solve_points(runs: _Solver, found: list[dict], points: int | None,
                  method: str) -> tuple[bool, str]:
    """Solve the frontier's points into ``found``: whether every planned point was solved,
    and why not (the solver's words; "" when complete or stopped).

    A time limit or Ctrl-C (`stop_requested`) ends the search early, keeping what is in
    ``found`` (and the plan of a point cut short by Ctrl-C, status ``interrupted``).
    """
    complete, why = True, ""
    try:
        if method == "weighted":
            for w in np.linspace(1.0, 0.0, points or 11):
                try:
                    found.append({**runs.point((float(w), 1.0 - float(w)), None),
                                  "weight": float(w), "epsilon": np.nan})
                except _PointTimeoutError:
                    complete = False
        else:
            found.append({**runs.point((1.0, 0.0), None), "epsilon": np.nan})
            if points is None:
                step = EPSILON_STEP * runs.scale[id(runs.mb)]
                while True:
                    last = found[-1]["b"]
                    try:
                        nxt = runs.point((1.0, 0.0), last + step)
                    except InfeasibleProblemError:
                        break
                    if nxt["b"] <= last:  # no progress (tolerances): stop rather than loop
                        break
                    found.append({**nxt, "epsilon": last + step})
            else:
                end = runs.point((0.0, 1.0), None)
                try:
                    for eps in np.linspace(found[0]["b"], end["b"], points)[1:-1]:
                        try:
                            found.append({**runs.point((1.0, 0.0), float(eps)),
                                          "epsilon": eps})
                        except InfeasibleProblemError:
                            continue
                        except _PointTimeoutError:
                            complete = False
                finally:  # the b-first end is kept whatever stops the points between
                    found.append({**end, "epsilon": np.nan})
    except _StoppedError:
        complete = False
    except KeyboardInterrupt:  # Ctrl-C before the running point had a plan
        if not stop_requested():
            raise
        complete = False
    except (TimeoutError, SolverError) as exc:
        if isinstance(exc, SolverError) and "below it" in str(exc):
            raise
        complete, why = False, str(exc)
    return complete, why


def _frontier_from(found: list[dict], ma: Metric, mb: Metric, method: str, seconds: float,
                   complete: bool) -> Frontier:
    a = np.array([f["a"] for f in found])
    b = np.array([f["b"] for f in found])
    keep = np.flatnonzero(pareto_mask(a, b))
    keep = keep[np.lexsort((b[keep], -a[keep]))]
    rows = [found[i] for i in keep]
    df = pd.DataFrame({
        ma.column: a[keep], mb.column: b[keep],
        "new_km2": [r["new_km2"] for r in rows],
        "epsilon": [r.get("epsilon", np.nan) for r in rows],
        "weight": [r.get("weight", np.nan) for r in rows],
        "status": [r["status"] for r in rows],
        "gap": [r["gap"] for r in rows],
    })
    plans = np.array([r["x"] for r in rows]) if rows else np.zeros((0, ma.coef.size))
    f = Frontier(ma, mb, df, plans, method, seconds, complete)
    rate = np.concatenate([[np.nan], f.marginal_rates()[f.rate_column].to_numpy()])
    df.insert(3, f.rate_column, rate)
    knee = _knee_index(df[ma.column].to_numpy(), df[mb.column].to_numpy())
    df.insert(4, "knee", np.arange(len(df)) == knee)
    return f
