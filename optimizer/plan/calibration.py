"""Boundary penalties a planner can set without knowing the objective's scale.

A boundary penalty is in objective units per km of plan boundary, so a useful value
depends on the objective's scale (a max-utility objective is a sum of shares of national
totals, ~1; a min-set objective is in km²). This module finds one from solves:

* `boundary_tradeoff` - the trade-off curve: the problem solved at a range of penalties,
  with the objective without the penalty term, the boundary length and the penalty's
  share of the objective at each.
* `penalty_for_share` - the penalty at which the boundary term is about a given share of
  the objective at the optimum (secant/bisection on log penalty).
* `calibrate_boundary_penalty` - Cohon's method (the knee of the curve), as prioritizr's
  ``calibrate_cohon_penalty``.
* `add_compactness` - the scale-free compactness of the app and of scenario files, no
  solve: a position in [0, 1] (`compactness_multiple`) times the break-even penalty
  (`break_even_penalty`), the penalty at which an average worthwhile free unit standing
  alone is worth exactly its boundary. The break-even scales with the objective, so one
  compactness asks for the same compactness whatever the weights.

Both calibrations return a `Calibration`: the penalty, how it was found, the plan at that
penalty and every point solved (`Calibration.curve`, for plotting).

Definitions used throughout, for a plan x solved at penalty λ:

* ``objective`` - the problem's objective without the boundary term (the utility of a
  max-utility problem, the cost of a min-set problem; linear penalties included);
* ``boundary_km`` - the plan's boundary length, outer edges weighted by ``edge_factor``
  (the quantity the penalty multiplies);
* ``share`` - ``λ · boundary_km / |objective|``: the boundary term as a share of the
  objective (``nan`` where the objective is 0).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError, OptimizerWarning
from optimizer.model.compile import compile
from optimizer.model.objectives import objective_kind
from optimizer.plan.results import objective_value, solve

if TYPE_CHECKING:
    from collections.abc import Sequence

    from optimizer.model.problem import Problem

__all__ = [
    "Calibration",
    "CalibrationWarning",
    "add_compactness",
    "boundary_summary",
    "boundary_tradeoff",
    "break_even_penalty",
    "calibrate_boundary_penalty",
    "compactness_multiple",
    "penalty_for_share",
]

#: Columns of `boundary_tradeoff` and of `Calibration.curve`.
CURVE_COLUMNS = ["penalty", "objective", "boundary_km", "share", "penalised_objective",
                 "units", "status", "gap", "runtime"]
#: Default range of `boundary_tradeoff`, as multiples of the objective's scale
#: (the unpenalised plan's |objective| / boundary length).
DEFAULT_FACTORS = tuple(float(f) for f in np.geomspace(1e-3, 10.0, 9))
#: The "very large" penalty of Cohon's method, as a multiple of the objective's scale.
LARGE_FACTOR = 1e4


class CalibrationWarning(OptimizerWarning):
    """A calibration did not reach its tolerance; the nearest penalty found is returned."""


@dataclass(frozen=True)
class Calibration:
    """A calibrated boundary penalty and the solves that found it.

    Attributes
    ----------
    penalty : float
        The penalty (objective units per km of boundary).
    method : str
        ``"cohon"`` or ``"share"``.
    objective, boundary_km, share : float
        The plan solved at `penalty` (see the module docstring for the definitions).
    solves : int
        Number of solves the calibration took.
    seconds : float
        Wall-clock time of the calibration.
    curve : pandas.DataFrame
        Every point solved, by penalty (`boundary_tradeoff`'s columns).
    requested_share : float or None
        The share asked for (``method="share"``).
    converged : bool
        ``False`` when `penalty_for_share` ended outside its tolerance.
    """

    penalty: float
    method: str
    objective: float
    boundary_km: float
    share: float
    solves: int
    seconds: float
    curve: pd.DataFrame = field(repr=False)
    requested_share: float | None = None
    converged: bool = True

    def describe(self) -> str:
        """One line: the penalty and how it was found.

        Examples: ``"boundary penalty 2.3e-06 (share 0.1 of the objective, calibrated)"``,
        ``"boundary penalty 4.1e-05 (Cohon's method, calibrated)"``.
        """
        how = (f"share {self.requested_share:g} of the objective" if self.method == "share"
               else "Cohon's method")
        return f"boundary penalty {self.penalty:.2g} ({how}, calibrated)"


# ============================================================== solving at a penalty

class _Runner:
    """Solves one problem at any boundary penalty, once per penalty (memoised)."""

    def __init__(self, problem: Problem, *, edge_factor: float | None, solver: str,
                 gap: float, time_limit: float | None) -> None:
        if problem.objective is None:
            raise InputDataError("the problem has no objective; add one before calibrating "
                                 "a boundary penalty")
        bp = problem.boundary_penalty
        if edge_factor is None:
            edge_factor = bp.edge_factor if bp is not None else 1.0
        if not 0.0 <= edge_factor <= 1.0:
            raise InputDataError(f"edge_factor must be in [0, 1]; got {edge_factor}")
        self.base = dataclasses.replace(problem, boundary_penalty=None, _cache=problem._cache)
        self.edge_factor = float(edge_factor)
        self.solver = solver
        self.options: dict[str, Any] = {"gap": gap}
        if time_limit is not None:
            self.options["time_limit"] = time_limit
        # Penalties raise a min objective and lower a max one.
        self.sign = 1.0 if objective_kind(problem.objective.kind).sense == "min" else -1.0
        self.rows: dict[float, dict[str, Any]] = {}
        self.plans: dict[float, np.ndarray] = {}
        i, j, length = problem.pu.boundary_indices()
        self._edges = (np.asarray(i), np.asarray(j), np.asarray(length, dtype=np.float64))
        self._exposed = np.nan_to_num(problem.pu.units["exposed_km"].to_numpy(dtype=np.float64))

    def boundary_km(self, x: np.ndarray) -> float:
        i, j, length = self._edges
        return float(self.edge_factor * self._exposed @ x + (length * np.abs(x[i] - x[j])).sum())

    def __call__(self, penalty: float) -> dict[str, Any]:
        penalty = float(penalty)
        if not (math.isfinite(penalty) and penalty >= 0):
            raise InputDataError(f"boundary penalty must be a finite number >= 0; got {penalty}")
        if penalty not in self.rows:
            q = self.base.add_boundary_penalty(penalty, self.edge_factor) if penalty > 0 \
                else self.base
            sol = solve(q, self.solver, **self.options)
            x = sol.selected.astype(np.float64)
            obj = objective_value(self.base, x)
            km = self.boundary_km(x)
            self.plans[penalty] = sol.selected
            self.rows[penalty] = {
                "penalty": penalty, "objective": obj, "boundary_km": km,
                "share": penalty * km / abs(obj) if obj != 0 else math.nan,
                "penalised_objective": obj + self.sign * penalty * km,
                "units": int(sol.selected.sum()), "status": sol.status.value,
                "gap": float(sol.gap), "runtime": float(sol.runtime)}
        return self.rows[penalty]

    def scale(self) -> float:
        """|objective| / boundary length of the unpenalised plan (objective units per km)."""
        r = self(0.0)
        if not (r["boundary_km"] > 0 and r["objective"] != 0):
            raise InputDataError(
                "the unpenalised plan has no boundary or a zero objective "
                f"(boundary {r['boundary_km']:g} km, objective {r['objective']:g}); there is "
                "no trade-off to calibrate: give the penalty as a number")
        return abs(r["objective"]) / r["boundary_km"]

    def curve(self) -> pd.DataFrame:
        rows = [self.rows[k] for k in sorted(self.rows)]
        return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def _runner(problem: Problem, edge_factor: float | None, solver: str, gap: float,
            time_limit: float | None) -> _Runner:
    return _Runner(problem, edge_factor=edge_factor, solver=solver, gap=gap,
                   time_limit=time_limit)


# ============================================================== the trade-off curve

def boundary_tradeoff(problem: Problem, penalties: Sequence[float] | np.ndarray | None = None,
                      *, solver: str = "auto", gap: float = 1e-3,
                      time_limit: float | None = None,
                      edge_factor: float | None = None) -> pd.DataFrame:
    """The trade-off between boundary length and objective, over a range of penalties.

    The problem's own boundary penalty (if any) is replaced by each penalty in turn;
    everything else (budgets, targets, locks, linear penalties) is kept.

    Parameters
    ----------
    problem : Problem
        A problem with an objective.
    penalties : sequence of float, optional
        The penalties (objective units per km, ``>= 0``). Default: 0 and nine penalties
        spaced geometrically from 1e-3 to 10 times the objective's scale (the
        unpenalised plan's |objective| / boundary length).
    solver, gap, time_limit
        Passed to `optimizer.plan.results.solve` for every solve.
    edge_factor : float, optional
        Weight of outer edges (default: the problem's, else 1).

    Returns
    -------
    pandas.DataFrame
        One row per penalty, ascending: ``penalty``, ``objective`` (without the boundary
        term), ``boundary_km``, ``share`` (``penalty * boundary_km / |objective|``),
        ``penalised_objective``, ``units`` (selected), ``status``, ``gap``, ``runtime``.
        With exact solves, ``boundary_km`` never increases and the objective never gets
        better as the penalty grows.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.plan.calibration import boundary_tradeoff
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> t = boundary_tradeoff(p, [0, 0.1, 1], solver="highs", gap=0)
    >>> t[["penalty", "objective", "boundary_km"]].round(4).to_numpy().tolist()
    [[0.0, 0.6207, 8.0], [0.1, 0.6207, 8.0], [1.0, 0.0, 4.0]]
    """
    run = _runner(problem, edge_factor, solver, gap, time_limit)
    if penalties is None:
        scale = run.scale()
        penalties = [0.0, *(scale * f for f in DEFAULT_FACTORS)]
    values = np.asarray(penalties, dtype=np.float64).ravel()
    rows = [run(v) for v in values]
    return pd.DataFrame(rows, columns=CURVE_COLUMNS).sort_values(
        "penalty", kind="stable").drop_duplicates("penalty").reset_index(drop=True)


# ============================================================== a share of the objective

def penalty_for_share(problem: Problem, share: float, *, rtol: float = 0.1,
                      max_solves: int = 12, solver: str = "auto", gap: float = 1e-3,
                      time_limit: float | None = None,
                      edge_factor: float | None = None) -> Calibration:
    """The penalty at which the boundary term is about ``share`` of the objective.

    At penalty λ the optimal plan has objective U(λ) (without the boundary term) and
    boundary B(λ); its share is ``λ B(λ) / |U(λ)|``. The search solves the unpenalised
    plan, tries λ = share × |U(0)| / B(0) (right if the plan did not change), then
    brackets the share and narrows the bracket by secant steps on (log λ, log share),
    kept inside the middle 80% of the bracket so that it always shrinks.

    Tolerance: it stops at the first plan whose share is within ``rtol`` (relative) of
    ``share``, or after ``max_solves`` solves (the unpenalised one included), or when
    the bracket is narrower than 1e-6 relative (plans are discrete: the share jumps, and
    a share inside a jump is reached by no penalty). It then returns the point nearest
    the requested share and warns (`CalibrationWarning`) if that is outside ``rtol``.

    Parameters
    ----------
    problem : Problem
        A problem with an objective (its boundary penalty, if any, is replaced).
    share : float
        The boundary term's share of the objective, ``> 0`` (0 gives penalty 0).
    rtol : float
        Relative tolerance on the share (default 0.1: 0.1 means 0.09 to 0.11).
    max_solves : int
        At most this many solves (>= 2).
    solver, gap, time_limit, edge_factor
        As `boundary_tradeoff`.

    Returns
    -------
    Calibration
        ``method="share"``; ``curve`` holds every point solved.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.plan.calibration import penalty_for_share
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> c = penalty_for_share(p, 0.1, solver="highs", gap=0)
    >>> c.converged, abs(c.share / 0.1 - 1) <= 0.1
    (True, True)
    """
    share = float(share)
    if not (math.isfinite(share) and share >= 0):
        raise InputDataError(f"share must be a number >= 0; got {share}")
    if not rtol > 0 or max_solves < 2:
        raise InputDataError(f"need rtol > 0 and max_solves >= 2; got rtol={rtol}, "
                             f"max_solves={max_solves}")
    t0 = time.perf_counter()
    run = _runner(problem, edge_factor, solver, gap, time_limit)
    if share == 0:
        return _calibration(run, 0.0, "share", t0, requested_share=0.0)

    def err(r: dict[str, Any]) -> float:
        s = r["share"]
        return abs(s / share - 1.0) if math.isfinite(s) else math.inf

    lam = share * run.scale()
    lo: tuple[float, float] | None = None  # (log λ, log share) with share below the target
    hi: tuple[float, float] | None = None  # ... above the target
    while True:
        r = run(lam)
        if err(r) <= rtol or len(run.rows) >= max_solves:
            break
        s = r["share"]
        point = (math.log(lam), math.log(s) if s > 0 else -math.inf)
        if not math.isfinite(s) or s < share:
            lo = point if lo is None or point[0] > lo[0] else lo
        else:
            hi = point if hi is None or point[0] < hi[0] else hi
        if lo is not None and hi is not None:
            if hi[0] - lo[0] < 1e-6:
                break
            secant = math.isfinite(lo[1]) and hi[1] > lo[1]
            t = (math.log(share) - lo[1]) / (hi[1] - lo[1]) if secant else 0.5
            lam = math.exp(lo[0] + min(max(t, 0.1), 0.9) * (hi[0] - lo[0]))
        elif hi is None:  # too little: a larger penalty, by the shortfall (at least 2x)
            lam *= min(max(2.0, (share / s) ** 1.5 if s > 0 else 10.0), 100.0)
        else:
            lam /= min(max(2.0, (s / share) ** 1.5), 100.0)
    best = min((k for k in run.rows if k > 0), key=lambda k: err(run.rows[k]))
    converged = err(run.rows[best]) <= rtol
    if not converged:
        warnings.warn(f"penalty_for_share: no penalty found gives a share within {rtol:g} of "
                      f"{share:g} in {len(run.rows)} solves; the nearest is {best:.3g} (share "
                      f"{run.rows[best]['share']:.3g}); plans are discrete, so the share may "
                      "jump past the request: raise max_solves or rtol", CalibrationWarning,
                      stacklevel=2)
    return _calibration(run, best, "share", t0, requested_share=share, converged=converged)


def _calibration(run: _Runner, penalty: float, method: str, t0: float,
                 **extra: Any) -> Calibration:
    r = run(penalty)
    return Calibration(penalty=float(penalty), method=method, objective=r["objective"],
                       boundary_km=r["boundary_km"], share=r["share"], solves=len(run.rows),
                       seconds=time.perf_counter() - t0, curve=run.curve(), **extra)


# ============================================================== Cohon's method

def calibrate_boundary_penalty(problem: Problem, *, method: str = "cohon",
                               large_factor: float = LARGE_FACTOR, curve: bool = True,
                               solver: str = "auto", gap: float = 1e-3,
                               time_limit: float | None = None,
                               edge_factor: float | None = None) -> Calibration:
    """The boundary penalty at the knee of the boundary/objective trade-off (Cohon's method).

    What is implemented (after prioritizr's ``calibrate_cohon_penalty``, approximate
    form, and Cohon et al. 1979, *Water Resources Research* 15(5): 1129-1139):

    1. solve the problem without a boundary penalty: plan 1, objective U₁, boundary B₁;
    2. solve it with a very large penalty, ``large_factor`` × |U₁| / B₁: plan 2, the most
       compact plan the constraints allow (the objective only breaks ties), U₂, B₂;
    3. the penalty is the slope of the line joining the two extreme plans in the
       (boundary, objective) plane, ``|U₁ − U₂| / |B₁ − B₂|`` (ΔU/ΔB for a max-utility
       problem, where both fall; −ΔC/ΔB for a min-set cost C, which rises): the rate
       at which the two objectives trade on average, at which a penalised optimum
       sits at the knee of the curve.

    prioritizr solves step 2 by dropping the objective (``approx = FALSE``) or, as here,
    by a very large penalty (``approx = TRUE``). With ``curve=True`` the trade-off curve
    of `boundary_tradeoff` (default range) is solved too, for plotting.

    Parameters
    ----------
    problem : Problem
        A problem with an objective (its boundary penalty, if any, is replaced).
    method : {"cohon"}
        The only method so far.
    large_factor : float
        The very large penalty of step 2, in multiples of |U₁| / B₁.
    curve : bool
        Also solve the default trade-off curve (9 more solves) into ``Calibration.curve``.
    solver, gap, time_limit, edge_factor
        As `boundary_tradeoff`.

    Returns
    -------
    Calibration
        ``method="cohon"``; the plan at the penalty, and ``curve`` (the extremes, the
        Cohon point and, with ``curve=True``, the default range).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.plan.calibration import calibrate_boundary_penalty
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> c = calibrate_boundary_penalty(p, solver="highs", gap=0, curve=False)
    >>> ends = c.curve.iloc[[0, -1]]  # the unpenalised and the most compact plans
    >>> slope = ends["objective"].diff().iloc[-1] / ends["boundary_km"].diff().iloc[-1]
    >>> ends[["objective", "boundary_km"]].round(4).to_numpy().tolist()
    [[0.6207, 8.0], [0.0, 4.0]]
    >>> bool(abs(c.penalty - slope) < 1e-12), c.solves, c.describe()
    (True, 3, "boundary penalty 0.16 (Cohon's method, calibrated)")
    """
    if method != "cohon":
        raise InputDataError(f"method must be 'cohon'; got {method!r}")
    if not (math.isfinite(large_factor) and large_factor > 1):
        raise InputDataError(f"large_factor must be a finite number > 1; got {large_factor}")
    t0 = time.perf_counter()
    run = _runner(problem, edge_factor, solver, gap, time_limit)
    scale = run.scale()
    one, two = run(0.0), run(large_factor * scale)
    d_boundary = one["boundary_km"] - two["boundary_km"]
    if not d_boundary > 0:
        raise InputDataError(
            f"the most compact plan is no shorter than the unpenalised one ({one['boundary_km']:g} "
            "km): the boundary does not trade against the objective; give the penalty as a "
            "number (0 is fine)")
    penalty = abs(one["objective"] - two["objective"]) / d_boundary
    if curve:
        for f in DEFAULT_FACTORS:
            run(scale * f)
    return _calibration(run, penalty, "cohon", t0)


# ============================================================== scale-free compactness

def compactness_multiple(compactness: float) -> float:
    """The boundary penalty of a compactness position, as a multiple of break-even.

    Break-even (`break_even_penalty`) is the penalty at which an average free unit
    standing alone is worth exactly its boundary cost. The control is geometric:
    ``(100**c - 1) / 9``, so 0 is no penalty, 0.5 break-even and 1 eleven times
    break-even.

    Examples
    --------
    >>> [round(compactness_multiple(c), 2) for c in (0, 0.25, 0.5, 0.75, 1)]
    [0.0, 0.24, 1.0, 3.4, 11.0]
    """
    return (100.0 ** float(compactness) - 1.0) / 9.0


def break_even_penalty(problem: Problem) -> float:
    """The penalty (objective units per km) at which an average worthwhile free unit
    standing alone is worth exactly its perimeter.

    The mean objective coefficient of the free units worth adding (value above 0 for a
    max objective, cost above 0 for a min one) over their mean perimeter, from the
    problem compiled without its boundary penalty (0 when no free unit is worth
    anything). It scales with the objective: weights twice as large, a break-even twice
    as large.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> q = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 2})
    >>> # free units worth adding: 40, 10, 80 and 60 of 290 MgC, each 4 km around
    >>> round(break_even_penalty(p), 6) == round((40 + 10 + 80 + 60) / 4 / 290 / 4, 6)
    True
    >>> break_even_penalty(q) / break_even_penalty(p)
    2.0
    """
    base = dataclasses.replace(problem, boundary_penalty=None, _cache=problem._cache)
    model = compile(base)
    nx = model.n_x
    value = np.asarray(model.c[:nx], dtype=np.float64)
    good = value > 0
    if not good.any():
        return 0.0
    units = model.unit_of_col[:nx]
    per = problem.pu.units["perimeter_km"].to_numpy(dtype=np.float64)[units][good]
    mean_per = float(np.nanmean(per))
    return float(value[good].mean() / mean_per) if mean_per > 0 else 0.0


def add_compactness(problem: Problem, compactness: float, edge_factor: float = 1.0,
                    *, break_even: float | None = None) -> Problem:
    """``problem`` with the boundary penalty of a scale-free ``compactness`` in [0, 1].

    The penalty is ``compactness_multiple(compactness) × break_even_penalty(problem)``: 0
    none, 0.5 break-even (new land goes where it joins other land), 1 eleven times
    break-even (large blocks, rims of the existing network). The penalty, the
    compactness and the break-even are recorded on ``problem.boundary_penalty``.

    Parameters
    ----------
    problem : Problem
        A problem with an objective (its boundary penalty, if any, is replaced).
    compactness : float
        The position in [0, 1].
    edge_factor : float
        Weight of outer edges, as `optimizer.model.problem.Problem.add_boundary_penalty`.
    break_even : float, optional
        The break-even penalty when already known (else computed).

    Raises
    ------
    InputDataError
        ``compactness`` is not a number in [0, 1], or the problem has no objective.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> bp = add_compactness(p, 0.5).boundary_penalty
    >>> bp.penalty == bp.break_even == break_even_penalty(p), bp.compactness
    (True, 0.5)
    """
    if problem.objective is None:
        raise InputDataError("the problem has no objective; add one before asking for "
                             "compactness")
    c = compactness
    if isinstance(c, bool) or not isinstance(c, int | float | np.floating | np.integer) \
            or not 0.0 <= float(c) <= 1.0:
        raise InputDataError(f"compactness must be a number in [0, 1]; got {c!r}; 0 is none, "
                             "0.5 break-even, 1 eleven times break-even")
    scale = break_even_penalty(problem) if break_even is None else float(break_even)
    penalty = compactness_multiple(float(c)) * scale
    return problem.add_boundary_penalty(penalty, edge_factor, compactness=float(c),
                                        break_even=scale)


def boundary_summary(problem: Problem) -> dict[str, float | None]:
    """The boundary penalty as `summary.json` records it: ``compactness`` (None when the
    penalty was given as a number), ``penalty`` (objective units per km; None without a
    boundary penalty) and ``break_even`` (`break_even_penalty`).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> boundary_summary(p)
    {'compactness': None, 'penalty': None, 'break_even': None}
    >>> s = boundary_summary(add_compactness(p, 1.0))
    >>> s["compactness"], round(s["penalty"] / s["break_even"], 6)
    (1.0, 11.0)
    """
    bp = problem.boundary_penalty
    if bp is None:
        return {"compactness": None, "penalty": None, "break_even": None}
    scale = bp.break_even if bp.break_even is not None else break_even_penalty(problem)
    return {"compactness": bp.compactness, "penalty": float(bp.penalty),
            "break_even": float(scale)}
