"""The trade-off frontier between two metrics of a plan, by the ε-constraint method.

A *metric* (`Metric`) is a linear function of the plan over planning units,
``value(x) = constant + coef @ x`` with ``x`` the per-unit 0/1 selection (locked units
included): `carbon_stock_added` (MgC, or tCO2e = MgC x 44.0095/12.0107, of carbon stock newly
protected), `mean_representation` (mean held share of the biodiversity features after the
plan, in percentage points) or the mean representation of any feature or group.
Both metrics are maximised.

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
``frontier.csv`` and ``frontier.png`` (`Frontier.write`).

With penalties (boundary, linear) in the base problem, each solve maximises the metric
as a share of its largest possible gain (like max-utility weights) minus the penalties,
so points are penalised (compact) plans; only non-dominated pairs are kept.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.atomic import write_dir_atomic
from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError, did_you_mean
from optimizer.inputs.roles import groups
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.compile import Block, CompiledModel, compile
from optimizer.model.objectives import OBJECTIVES, listed, objective_kind
from optimizer.model.problem import Problem
from optimizer.solvers.cut.form import AUTO_MAX_RELAXED_ROWS, cut_form, n_relaxed
from optimizer.solvers.cut.solver import CutSolver
from optimizer.solvers.highs import HighsSolver

if TYPE_CHECKING:
    from optimizer.solvers.base import Solution

__all__ = ["CO2_PER_C", "METRICS", "Frontier", "Metric", "frontier", "metric", "pareto_mask",
           "with_row"]

#: Metric names `metric` knows besides feature and group names.
METRICS = ("carbon_stock_added", "carbon_stock_added_tCO2e", "mean_representation")

_REL_TOL = 1e-9  # relative tolerance when comparing metric values

#: With ``points=None``, each next ε is this share of metric b's largest possible gain above
#: the last point's b (well above the solver's feasibility tolerance of 1e-7 on the scaled
#: row): points closer than that in b are not told apart.
EPSILON_STEP = 1e-5


# ============================================================== metrics

@dataclass(frozen=True, eq=False)
class Metric:
    """A linear function of a plan: ``value(x) = constant + coef @ x``.

    Attributes
    ----------
    name : str
        Short name, e.g. ``carbon_stock_added``.
    unit : str
        Unit of the value, e.g. ``MgC``, ``tCO2e`` or ``pct`` (percentage points).
    coef : numpy.ndarray
        Per planning unit (row order of ``pu.units``): what selecting it adds.
    constant : float
        The value of selecting nothing (e.g. what existing protection already holds).
    label : str
        Axis label, with the unit, e.g. ``"carbon stock added (MgC)"``.
    """

    name: str
    unit: str
    coef: np.ndarray
    constant: float = 0.0
    label: str = ""

    @property
    def column(self) -> str:
        """Column name with the unit, e.g. ``carbon_stock_added_MgC``."""
        return f"{self.name}_{self.unit}" if not self.name.endswith(self.unit) else self.name

    def value(self, x: np.ndarray) -> np.ndarray | float:
        """Value of one plan (per-unit 0/1 vector) or of each row of a (plans x units) array."""
        out = np.asarray(x, dtype=np.float64) @ self.coef + self.constant
        return float(out) if np.ndim(out) == 0 else out


def metric(problem: Problem, name: str | Metric) -> Metric:
    """Build a metric of ``problem``'s plans from its name.

    Parameters
    ----------
    problem : Problem
        Supplies the units, amounts and existing protection.
    name : str or Metric
        ``"carbon_stock_added"`` (MgC of carbon-stock features newly protected:
        ``sum_k sum_j r_kj (1 - p_j) x_j``), ``"carbon_stock_added_tCO2e"`` (the same in
        tCO2e), ``"mean_representation"`` (mean over biodiversity features of the share
        held after the plan, percentage points), or a feature, role, layer or group name
        (the mean representation of its features, ``<name>_representation``). A `Metric`
        is returned as it is.

    Returns
    -------
    Metric

    Raises
    ------
    InputDataError
        An unknown name (the message lists the nearest), or a metric with no features.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid())
    >>> m = metric(p, "carbon_stock_added")
    >>> m.column, m.coef.tolist()  # cell 1 is already protected
    ('carbon_stock_added_MgC', [0.0, 40.0, 10.0, 80.0, 60.0, 0.0])
    >>> r = metric(p, "mean_representation")
    >>> r.column, r.constant  # sp_a holds 1 of 4 km², sp_b 0 of 2
    ('mean_representation_pct', 12.5)
    """
    if isinstance(name, Metric):
        if np.shape(name.coef) != (problem.n_units,):
            raise InputDataError(f"metric {name.name!r} has {np.shape(name.coef)} coefficients; "
                                 f"expected ({problem.n_units},), one per planning unit")
        return name
    if not isinstance(name, str):
        raise InputDataError(f"a metric is a name or a Metric; got {type(name).__name__}")
    feats = problem.pu.features
    unprotected = 1.0 - problem.protected_fraction
    if name in ("carbon_stock_added", "carbon_stock_added_tCO2e"):
        cols = list(feats.index[feats["role"] == "carbon_stock"])
        if not cols:
            raise InputDataError(f"metric {name!r} needs carbon_stock features; this grid has "
                                 f"none (features: {list(feats.index)[:8]})")
        coef = problem.feature_amounts(cols).sum(axis=0) * unprotected
        if name.endswith("tCO2e"):
            return Metric("carbon_stock_added", "tCO2e", coef * CO2_PER_C, 0.0,
                          "carbon stock added (tCO2e)")
        return Metric("carbon_stock_added", "MgC", coef, 0.0, "carbon stock added (MgC)")
    if name == "mean_representation":
        key, out_name = "biodiversity", "mean_representation"
    else:
        key, out_name = name, f"{name}_representation"
    known = [*METRICS, *groups(), *feats.index]
    try:
        cols = problem.resolve_features(key, argument="metric")
    except InputDataError:
        raise InputDataError(f"metric {name!r} is not a metric, feature or group of this grid; "
                             f"metrics: {list(METRICS)}{did_you_mean(name, known)}") from None
    amounts = problem.feature_amounts(cols)
    total = amounts.sum(axis=1)
    ok = total > 0
    if not ok.any():
        raise InputDataError(f"metric {name!r}: its features {cols[:5]} are all zero; "
                             "choose features present in the grid")
    share = amounts[ok] / total[ok, None] * 100.0
    before = float((share @ problem.protected_fraction).mean())
    coef = (share * unprotected).mean(axis=0)
    what = "mean representation" if out_name == "mean_representation" else f"{name} representation"
    return Metric(out_name, "pct", coef, before, f"{what} (% held)")


# ============================================================== the ε row

def with_row(model: CompiledModel, coeffs_x: np.ndarray, lower: float, upper: float = np.inf,
             label: str = "row") -> CompiledModel:
    """A copy of ``model`` with one more row ``lower <= coeffs_x @ x <= upper``.

    The row is inserted before the boundary rows (so `CompiledModel.restrict` keeps it)
    as a block of kind ``epsilon``; it has no ``y`` or ``s`` coefficients.

    Parameters
    ----------
    model : CompiledModel
    coeffs_x : numpy.ndarray
        One coefficient per ``x`` column (free unit), length ``model.n_x``. Fold locked
        units into ``lower``/``upper`` (`Metric` values of locked units are constants).
    lower, upper : float
        Row bounds (``-inf``/``inf`` when absent).
    label : str
        The row's label (its name is ``epsilon_<label>``).

    Returns
    -------
    CompiledModel

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2))
    >>> m2 = with_row(m, [1, 1, 1, 1, 1], 1.0, label="min_units")  # at least one new unit
    >>> m2.n_rows, m2.row_lower.tolist(), m2.row_names()
    (2, [-inf, 1.0], ['budget_total', 'epsilon_min_units'])
    """
    coeffs_x = np.asarray(coeffs_x, dtype=np.float64)
    if coeffs_x.shape != (model.n_x,):
        raise InputDataError(f"coeffs_x has shape {coeffs_x.shape}; expected ({model.n_x},), "
                             "one per x column of the model")
    if not (lower <= upper):
        raise InputDataError(f"lower ({lower}) must not exceed upper ({upper})")
    bnd = model.block("boundary")
    at = bnd.start if bnd.stop > bnd.start else model.n_rows
    row = sp.csr_matrix(np.concatenate([coeffs_x, np.zeros(model.n_cols - model.n_x)])[None])
    row.eliminate_zeros()
    A = sp.vstack([model.A[:at], row, model.A[at:]], format="csr")
    A.sort_indices()
    blocks = [b for b in model.row_blocks if b.kind != "boundary"]
    blocks.append(Block("epsilon", at, at + 1, (label,)))
    if bnd.stop > bnd.start:
        blocks.append(Block("boundary", bnd.start + 1, bnd.stop + 1))
    return dataclasses.replace(
        model, A=A, row_blocks=tuple(blocks),
        row_lower=np.insert(model.row_lower, at, lower),
        row_upper=np.insert(model.row_upper, at, upper))


def pareto_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True for the points no other point dominates (both metrics maximised).

    Equal points (within a relative 1e-9) keep only their first copy.

    Examples
    --------
    >>> pareto_mask(np.array([3, 2, 1, 2, 3.0]), np.array([0, 1, 2, 0.5, 0.0])).tolist()
    [True, True, True, False, False]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ta = _REL_TOL * max(1.0, float(np.abs(a).max(initial=0.0)))
    tb = _REL_TOL * max(1.0, float(np.abs(b).max(initial=0.0)))
    ge = (a[None, :] >= a[:, None] - ta) & (b[None, :] >= b[:, None] - tb)  # [i, j]: j >= i
    gt = (a[None, :] > a[:, None] + ta) | (b[None, :] > b[:, None] + tb)
    dominated = (ge & gt).any(axis=1)
    same = ge & ~gt
    earlier = np.tril(same, k=-1).any(axis=1)  # an equal point comes first
    return np.asarray(~dominated & ~earlier)


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
    """

    metric_a: Metric
    metric_b: Metric
    points: pd.DataFrame
    plans: np.ndarray
    method: str
    seconds: float
    complete: bool = True

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

    def summary(self) -> str:
        """Two lines: the points and the synergy (what each single-goal plan loses)."""
        sg = self.single_goal()
        lines = [f"{len(self.points)} non-dominated points ({self.method}, {self.seconds:.1f} s)"]
        for (plan, row), first, other in zip(sg.iterrows(), (self.metric_a, self.metric_b),
                                             (self.metric_b, self.metric_a), strict=True):
            amount = (f"{row['loss']:,.1f} percentage points" if other.unit == "pct"
                      else f"{row['loss']:,.0f} {other.unit}")
            lines.append(f"{plan}: the plan with the most {_title(first)} gives up {amount} of "
                         f"{_title(other)} ({row['loss_pct_of_optimum']:.1f}% of the most "
                         "possible)")
        return "\n".join(lines)

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
            self._plot(folder / "frontier.png")

        return write_dir_atomic(out_dir, "frontier", fill, overwrite=overwrite, inputs=inputs)

    def _plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ma, mb = self.metric_a, self.metric_b
        b = self.points[mb.column].to_numpy()
        a = self.points[ma.column].to_numpy()
        fig, ax = plt.subplots(figsize=(7.2, 4.8))
        try:
            ax.plot(b, a, "-o", color="#2c7a4b", label=f"non-dominated plans ({self.method})")
            ends = [(0, f"{ma.name} first"), (len(a) - 1, f"{mb.name} first")]
            k = _knee_index(a, b)
            if k is not None:
                ax.plot(b[k], a[k], "s", color="#c0392b", ms=9, label="knee")
                ends.append((k, "knee"))
            for i, text in ends:
                ax.annotate(text, (b[i], a[i]), textcoords="offset points", xytext=(6, 6),
                            fontsize=8)
            ax.set_xlabel(mb.label or mb.column)
            ax.set_ylabel(ma.label or ma.column)
            # Full numbers with thousands separators (no "1e9" offset): one style everywhere.
            from matplotlib.ticker import FuncFormatter

            for axis, m in ((ax.yaxis, ma), (ax.xaxis, mb)):
                axis.set_major_formatter(FuncFormatter(
                    lambda v, _, pct=m.unit == "pct": f"{v:,.1f}" if pct else f"{v:,.0f}"))
            ax.set_title("Trade-off frontier")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            fig.savefig(path, dpi=120)
        finally:
            plt.close(fig)


def _title(m: Metric) -> str:
    """The metric's label without its unit: ``carbon stock added``."""
    return (m.label or m.name).rsplit(" (", 1)[0]


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
    """``auto``: the cut solver when the model is in cut form (its budget, targets and the
    ε rows relaxed by Lagrange multipliers; a boundary penalty is optional here), else HiGHS.

    On the demo at 20 km (5,900 units) an ε point takes 0.05 s with the cut solver and
    4.5 s with HiGHS, at the same objective within the 0.1% gap.
    """
    if solver not in ("auto", "highs", "cut"):
        raise InputDataError(f"solver must be 'auto', 'highs' or 'cut'; got {solver!r}")
    if solver != "auto":
        return solver

    if model.n_x == 0 or set(b.kind for b in model.col_blocks) - {"x", "y", "s"}:
        return "highs"
    try:
        cut_form(model)
    except SolverError:
        return "highs"
    # Two more relaxed rows at most: the epsilon row and the lexicographic hold row.
    return "cut" if n_relaxed(model) + 2 <= AUTO_MAX_RELAXED_ROWS else "highs"


class _Solver:
    """Solves the frontier's models: the base compiled once, one objective and ε row per solve."""

    def __init__(self, base: Problem, ma: Metric, mb: Metric, gap: float,
                 time_limit: float | None, solver: str = "auto") -> None:
        kind = None if base.objective is None else objective_kind(base.objective.kind)
        if kind is None or not kind.nested:
            methods = listed([f"{k.method}(budget_km2=...)" for k in OBJECTIVES.values() if k.nested])
            raise InputDataError(f"frontier() needs a base problem with {methods}: its budget, "
                                 "locks, targets and penalties are kept and its weights replaced "
                                 "by the two metrics")
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
        self.solver = _frontier_solver(self.model, solver)
        self.unprotected_km2 = base.unprotected_km2

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

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
        left = self.remaining()
        if left is not None and left <= 0:
            raise TimeoutError
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
        sol = first_sol = self._run(weights, bounds)
        first = self.values(sol.x)
        # The held value may give up the requested gap: the first plan is only known
        # within it anyway, and holding it exactly makes the second solve a needle search
        # (on the demo at 10 km: 12-16 s per end point instead of 0.2 s). With gap 0 the
        # tie-break is exact.
        slack = max(_REL_TOL, self.gap)
        if weights[1] == 0.0:  # a only: then the most b with a held
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

        Only for an end point (no ε row) on the cut solver, where each is one parametric
        solve (0.01 s on the demo at 40 km): there the constrained tie-break often finds
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
                cand = self._run(w, [], cap=max(1.0, 10.0 * sol.runtime))
            except (InfeasibleProblemError, SolverError):
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
        except (InfeasibleProblemError, SolverError):  # tolerances or time: keep the first
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
        are returned with ``complete=False``.
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
    runs = _Solver(base_problem, ma, mb, gap, time_limit, solver)
    found: list[dict] = []
    complete = True
    try:
        if method == "weighted":
            for w in np.linspace(1.0, 0.0, points or 11):
                found.append({**runs.point((float(w), 1.0 - float(w)), None),
                              "weight": float(w), "epsilon": np.nan})
        else:
            found.append({**runs.point((1.0, 0.0), None), "epsilon": np.nan})
            if points is None:
                step = EPSILON_STEP * runs.scale[id(mb)]
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
                for eps in np.linspace(found[0]["b"], end["b"], points)[1:-1]:
                    try:
                        found.append({**runs.point((1.0, 0.0), float(eps)), "epsilon": eps})
                    except InfeasibleProblemError:
                        continue
                found.append({**end, "epsilon": np.nan})
    except (TimeoutError, SolverError) as exc:
        if not found or (isinstance(exc, SolverError) and "below it" in str(exc)):
            raise
        complete = False
    return _frontier_from(found, ma, mb, method, time.perf_counter() - t0, complete)


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
