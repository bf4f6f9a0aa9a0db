"""Graph-cut Lagrangian solver for boundary-penalised problems (issue 6).

The boundary penalty has a cut form (DESIGN.md): with ``y_jk = min(x_j, x_k)`` the
compiled objective ``c_x x + c_y y`` equals ``sigma * (u x + sum_e w_e |x_j - x_k|)``
plus a constant, with ``sigma = +1`` for min and ``-1`` for max sense,
``w_e = -sigma c_y / 2`` and ``u = sigma (c_x + c_y/2 on both ends)``. When every
``w_e >= 0`` (`cut_form` checks it) minimising ``u x + w |dx|`` is an s-t minimum
cut, solved exactly by max-flow. Structural rows (budgets, targets) are relaxed
with Lagrange multipliers, so each multiplier vector costs one cut and gives a
proven bound.

* **One area budget, no other rows** (max utility + boundary): the multiplier
  ``lambda`` of the budget gives nested plans as it grows. A sweep of ``lambda``
  (divide and conquer: each interval is solved only on the units between its two
  nested plans, with the rest fixed, so a level of the sweep costs about one full
  cut) yields the nested *path*; the bracket around the budget is refined with the
  Eisner-Severance (Newton) step until the dual optimum (a breakpoint) is found;
  the leftover budget is filled greedily. ``info["path"]`` and per-unit
  ``info["unit_rank"]`` / ``info["unit_entry_lambda"]`` answer "what does budget B
  protect" instantly through `plan_for_budget`.
* **Targets and other rows** (min set, min shortfall, extra budgets): a box-step
  cutting-plane (bundle) method on the multipliers; the cutting-plane model is a
  tiny LP solved by HiGHS. The best Lagrangian value is a proven bound (equal to
  the LP bound of the linearised model: the cut subproblem's LP is integral).
  Primal side: repair-as-a-cut (raise only the violated multipliers until the cut
  meets every row), rounding of the averaged cut solutions, vectorised drop of
  redundant units and add of improving ones, and a HiGHS MIP polish on the
  undecided frontier, warm-started from the best plan.
* **Gap and time**: the solver stops as soon as the requested ``gap`` is proven;
  short of it, multiplier iterations go on until the dual is solved, then the
  polish MIP gets ``polish_share`` of the time left and a large-neighbourhood
  search (`optimizer.solvers.cut_lns`: connected windows around the plan's
  frontier re-solved by a warm-started HiGHS MIP, only strict improvements kept)
  uses the rest of ``time_limit`` (``lns_time`` without one) or stops when it
  stalls. The search never changes the bound (a window's MIP bound holds only for
  the window); the polish's does when it frees every unit.

The local moves (`_Context._accept`) read the rows unit-major (``unit_rows``), in windows
that grow while every candidate fits and shrink to each phase's reach, so a drop
or add pass costs about one pass over its candidates; boundary gains come from one
CSR product with the symmetric weights (``pair_w @ x``) rather than bincounts over the
edge list. At 1M units this took the min-set primal stage from ~59 s to ~12 s
(cProfile, same plans). numba was tried and not added: a compiled first-fit loop
took 16-19 ms a call on a synthetic 1M-unit batch (random row gathers bound it),
no faster than the windowed numpy (~15 ms a call in the profile).

Max-flow library: PyMaxflow (Boykov-Kolmogorov; GPL-3.0, compatible with our
GPL-3.0-or-later; wheels for CPython 3.8-3.13, release 1.3.2 in 2025). Measured on
this 2-core machine, a 1000x1000 4-neighbour grid: graph build 0.65 s, one cut
0.19 s, a cut after changing every unary in place (``reuse_trees``) 0.21 s, graph
copy 0.54 s. ``scipy.sparse.csgraph.maximum_flow`` (Dinic, integer capacities only,
so scaled) took 2.7 s for the same cut and returns a flow, not the cut; so
PyMaxflow, 14x faster.

Float capacities are updated in place between cuts (BK ``reuse_trees``); the round-off
this leaves in a bound is of the order of 1e-12 relative. Measured figures against
HiGHS: the ``--cut`` table in ``benchmarks/bench_solve.py``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.compile import CompiledModel
from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.solvers.base import (
    LogCallback,
    Solution,
    SolveStatus,
    check_limits,
    feasibility_tolerance,
    relative_gap,
    solve_fixed,
    stop_requested,
)

#: ``auto`` uses the cut solver only up to this many relaxed rows (budget sides
#: and targets); beyond it the multiplier search needs too many cuts to beat HiGHS.
AUTO_MAX_RELAXED_ROWS = 64


# ============================================================== cut form

@dataclass(frozen=True)
class CutForm:
    """The model's unit and boundary terms as ``sigma * (u x + sum_e w_e |x_i - x_j|) + offset``.

    Attributes
    ----------
    unary : numpy.ndarray
        ``u``, min-form cost of selecting each ``x`` column.
    ei, ej : numpy.ndarray
        ``x`` columns of each pairwise term.
    w : numpy.ndarray
        Non-negative pairwise weights (boundary length times penalty).
    sigma : float
        +1 for a min model, -1 for a max model.
    """

    unary: np.ndarray
    ei: np.ndarray
    ej: np.ndarray
    w: np.ndarray
    sigma: float

    @property
    def n(self) -> int:
        """Number of ``x`` columns."""
        return int(self.unary.size)

    def value(self, x: np.ndarray) -> float:
        """Min-form value ``u x + sum_e w_e |x_i - x_j|`` of a 0/1 vector."""
        return float(self.unary @ x + self.w @ np.abs(x[self.ei] - x[self.ej]))

    def gain_on(self, x: np.ndarray) -> np.ndarray:
        """Min-form change of switching each column on (for columns now off)."""
        return self.unary + self._pair(1.0 - 2.0 * x)

    def _pair(self, v: np.ndarray) -> np.ndarray:
        return (np.bincount(self.ei, self.w * v[self.ej], minlength=self.n)
                + np.bincount(self.ej, self.w * v[self.ei], minlength=self.n))


def cut_form(model: CompiledModel) -> CutForm:
    """Derive the cut form of a compiled model, checking that it holds.

    Raises
    ------
    SolverError
        A pairwise weight is negative (the objective rewards boundary), so the
        objective is not a cut function; use the HiGHS solver instead.
    """
    nx = model.n_x
    sigma = 1.0 if model.sense == "min" else -1.0
    yb = model.block("y", rows=False)
    cy = model.c[yb.start:yb.stop]
    e = model.edge_x_cols.astype(np.int64)
    w = -sigma * cy / 2.0
    if (w < -1e-12 * max(1.0, float(np.abs(w).max(initial=0.0)))).any():
        bad = int((w < 0).sum())
        raise SolverError(f"cut solver: {bad} boundary edge(s) have a negative pairwise weight "
                          "(the objective rewards boundary), so the model has no cut form; use "
                          "solver='highs'")
    w = np.maximum(w, 0.0)
    unary = sigma * model.c[:nx].astype(np.float64)
    if cy.size:
        half = sigma * cy / 2.0
        unary = unary + np.bincount(e[:, 0], half, minlength=nx) + np.bincount(e[:, 1], half,
                                                                               minlength=nx)
    return CutForm(unary, e[:, 0].copy(), e[:, 1].copy(), w, sigma)


def has_cut_form(model: CompiledModel) -> tuple[bool, str]:
    """Whether ``auto`` should pick the cut solver, and why (or why not)."""
    yb = model.block("y", rows=False)
    if model.n_x == 0:
        return False, "no free units"
    if yb.stop <= yb.start:
        return False, "no boundary edges between free units (no boundary penalty)"
    extra = set(b.kind for b in model.col_blocks) - {"x", "y", "s"}
    if extra:
        return False, f"columns of kind {sorted(extra)} that the cut form does not know"
    try:
        cut_form(model)
    except SolverError as exc:
        return False, str(exc)
    n_rel = _n_relaxed(model)
    if n_rel > AUTO_MAX_RELAXED_ROWS:
        return False, f"{n_rel} relaxed rows (more than {AUTO_MAX_RELAXED_ROWS})"
    return True, "cut form holds"


def _n_struct(model: CompiledModel) -> int:
    bnd = model.block("boundary")
    return bnd.start if bnd.stop > bnd.start else model.n_rows


def _n_relaxed(model: CompiledModel) -> int:
    ns = _n_struct(model)
    return int(np.isfinite(model.row_lower[:ns]).sum() + np.isfinite(model.row_upper[:ns]).sum())


# ============================================================== max-flow

class _Graph:
    """A max-flow graph over ``x`` columns whose unaries change in place between cuts."""

    def __init__(self, n: int, ei: np.ndarray, ej: np.ndarray, w: np.ndarray) -> None:
        import maxflow

        self.n = n
        self.g = maxflow.Graph[float](max(n, 1), max(ei.size, 1))
        self.ids = np.arange(n, dtype=np.int64)
        if n:
            self.g.add_nodes(n)
        if ei.size:
            self.g.add_edges(ei.astype(np.int64), ej.astype(np.int64), w, w)
        self.cur = np.zeros(n)
        self.solved = False

    def cut(self, unary: np.ndarray) -> np.ndarray:
        """0/1 minimiser of ``unary x + sum w |dx|`` (ties: selected)."""
        if self.n == 0:
            return np.zeros(0)
        d = unary - self.cur
        changed = np.flatnonzero(d != 0)
        if changed.size:
            dc = d[changed]
            # Raising the cost of x=1 adds to the sink edge; lowering it to the source edge
            # (only non-negative capacities are ever added, as BK requires).
            self.g.add_grid_tedges(changed, np.maximum(-dc, 0.0), np.maximum(dc, 0.0))
            self.cur = unary.copy()
            if self.solved:
                self.g.mark_grid_nodes(changed)
        self.g.maxflow(reuse_trees=self.solved)
        self.solved = True
        # Source side (x=1) is every node that cannot reach the sink: the largest minimiser.
        return (~self.g.get_grid_segments(self.ids)).astype(np.float64)


def _cut_on(form: CutForm, unary: np.ndarray, sub: np.ndarray, base: np.ndarray,
            edges: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise over the columns ``sub`` with the others fixed at ``base``.

    ``edges`` (optional) holds every pairwise term touching ``sub`` (a superset is
    fine). Returns the full 0/1 vector and the indices of the terms touching ``sub``.
    """
    x = base.copy()
    if sub.size == 0:
        return x, np.zeros(0, dtype=np.int64)
    n = form.n
    pos = np.full(n, -1, dtype=np.int64)
    pos[sub] = np.arange(sub.size)
    eidx = np.arange(form.ei.size) if edges is None else edges
    pi, pj = pos[form.ei[eidx]], pos[form.ej[eidx]]
    touch = (pi >= 0) | (pj >= 0)
    eidx, pi, pj = eidx[touch], pi[touch], pj[touch]
    w = form.w[eidx]
    inside = (pi >= 0) & (pj >= 0)
    u = unary[sub].copy()
    # Edges to fixed columns: w |x - v| = w (1 - 2v) x + w v.
    a_only = (pi >= 0) & (pj < 0)
    b_only = (pj >= 0) & (pi < 0)
    u += np.bincount(pi[a_only], w[a_only] * (1 - 2 * base[form.ej[eidx[a_only]]]),
                     minlength=sub.size)
    u += np.bincount(pj[b_only], w[b_only] * (1 - 2 * base[form.ei[eidx[b_only]]]),
                     minlength=sub.size)
    g = _Graph(sub.size, pi[inside], pj[inside], w[inside])
    x[sub] = g.cut(u)
    return x, eidx


# ============================================================== the solver

@dataclass
class CutSolver:
    """Graph-cut Lagrangian solver (see the module docstring).

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
        search (`optimizer.solvers.cut_lns`) while the gap is above ``gap``.
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
    """

    time_limit: float | None = None
    gap: float = 1e-4
    log: LogCallback | None = None
    max_iterations: int = 400
    path_points: int = 32
    polish: bool = True
    polish_units: int = 20_000
    polish_all: int = 2_000
    polish_share: float = 0.2
    polish_time: float = 60.0
    lns: bool = True
    lns_units: int = 2_000
    lns_window_time: float = 2.0
    lns_time: float = 10.0
    lns_stall: int = 30
    name: str = "cut"
    _lines: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_limits(self.time_limit, self.gap)

    # ---------------------------------------------------------- public
    def solve(self, model: CompiledModel) -> Solution:
        """Solve ``model``; raises only when there is no solution at all.

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
        form = cut_form(model)
        ctx = _Context(model, form, self, started, deadline)
        ctx.check_reachable()
        single = ctx.single_budget()
        if single is not None:
            x, bound_min, info, strategy, guide = _solve_single_budget(ctx, *single)
        else:
            x, bound_min, info, strategy, guide = _solve_lagrangian(ctx)
        gap_now = _gap_min(ctx.min_value(x) if x is not None else np.inf, bound_min, form, model)
        if (self.polish and not gap_now <= self.gap and ctx.left() > 0.5) or (
                x is None and ctx.left() > 0.5):
            t = time.perf_counter()
            xp, mip_bound, whole, status = _polish(ctx, x, guide, self)
            info["polish_seconds"] = round(time.perf_counter() - t, 3)
            strategy += "+polish"
            if status == "infeasible" and whole and x is None:
                raise InfeasibleProblemError("cut solver: the MIP over every free unit proves "
                                             "that the rows cannot all be met together; relax a "
                                             "target or raise a budget")
            if xp is not None and ctx.feasible(xp) and (
                    x is None or ctx.min_value(xp) < ctx.min_value(x)):
                x = xp
            if whole and np.isfinite(mip_bound):
                bound_min = max(bound_min, form.sigma * (mip_bound - model.offset))
        if (self.polish and self.lns and x is not None and ctx.left() > 0.5
                and not _gap_min(ctx.min_value(x), bound_min, form, model) <= self.gap):
            from optimizer.solvers.cut_lns import lns

            x, lns_info = lns(ctx, x, bound_min, self)
            info.update(lns_info)
            strategy += "+lns"
        if x is None:
            if stop_requested():
                raise KeyboardInterrupt
            raise SolverError(f"cut solver found no plan within {time.perf_counter() - started:.1f}"
                              " s; raise time_limit or use solver='highs'")
        values = model.complete(x)
        objective = model.objective_value(values)
        bound = form.sigma * bound_min + model.offset
        # Round-off can put the bound a hair past the plan; a real excess is kept (and is a bug).
        if abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
            bound = objective
        gap = relative_gap(objective, bound)
        if np.isfinite(gap) and gap < 1e-12:
            gap = 0.0
        status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.gap + 1e-12
                  else SolveStatus.INTERRUPTED if stop_requested() else SolveStatus.FEASIBLE)
        runtime = time.perf_counter() - started
        info["seconds"] = round(runtime, 3)
        self._say(f"cut: done {status.value} objective {objective:.10g} bound {bound:.10g} "
                  f"gap {gap:.3%} in {runtime:.2f} s")
        return Solution(status, model.unit_x(values), objective, bound, gap, runtime, self.name,
                        version, "\n".join(self._lines) + "\n", strategy, values, info)

    def _say(self, line: str) -> None:
        self._lines.append(line)
        if self.log is not None:
            self.log(line)


class _Context:
    """Arrays shared by both methods: the cut form and the relaxed rows in min form."""

    def __init__(self, model: CompiledModel, form: CutForm, solver: CutSolver, started: float,
                 deadline: float) -> None:
        self.model, self.form, self.solver = model, form, solver
        self.started, self.deadline = started, deadline
        nx = model.n_x
        ns = _n_struct(model)
        self.A = model.A[:ns, :nx].toarray() if ns else np.zeros((0, nx))
        self.lower = model.row_lower[:ns].copy()
        self.upper = model.row_upper[:ns].copy()
        # Shortfall columns: soft lower rows with a price per unit short.
        self.s_cost = np.zeros(ns)
        self.s_cap = np.zeros(ns)
        sb = model.block("s", rows=False)
        if sb.stop > sb.start:
            self.s_cost[model.shortfall_rows] = model.c[sb.start:sb.stop]
            self.s_cap[model.shortfall_rows] = model.col_upper[sb.start:sb.stop]
        self.soft = self.s_cap > 0
        scale = np.maximum(np.abs(np.where(np.isfinite(self.lower), self.lower, 0))
                           + np.abs(np.where(np.isfinite(self.upper), self.upper, 0)), 1.0)
        self.tol = 1e-9 * scale
        self.ftol = feasibility_tolerance(model)

    @functools.cached_property
    def unit_rows(self) -> np.ndarray:
        """Unit-major copy of the rows: candidate batches gather contiguous rows of it."""
        return np.ascontiguousarray(self.A.T)

    @functools.cached_property
    def pair_w(self) -> sp.csr_matrix:
        """Symmetric pairwise weights: one sparse product gives every unit's boundary
        change (several times faster than two bincounts over the edge list)."""
        form = self.form
        n, w = form.n, form.w
        return sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([form.ei, form.ej]),
                                                       np.concatenate([form.ej, form.ei]))),
                             shape=(n, n))

    @functools.cached_property
    def deg(self) -> np.ndarray:
        """Total pairwise weight at each unit."""
        return np.asarray(self.pair_w.sum(axis=1)).ravel()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        """Seconds left; none once the user asked to stop (Ctrl-C), as at a time limit."""
        if stop_requested():
            return -1.0
        return self.deadline - time.perf_counter()

    def say(self, line: str) -> None:
        self.solver._say(line)

    # ---------------------------------------------------------- facts
    def single_budget(self) -> tuple[int, np.ndarray, float] | None:
        """``(row, coefficients, upper)`` when the only row is one upper bound with a >= 0."""
        if self.A.shape[0] != 1 or self.soft.any():
            return None
        if np.isfinite(self.lower[0]) or not np.isfinite(self.upper[0]):
            return None
        a = self.A[0]
        if (a < 0).any():
            return None
        return 0, a, float(self.upper[0])

    def check_reachable(self) -> None:
        """Raise when a single row cannot be met by any 0/1 plan."""
        pos = np.where(self.A > 0, self.A, 0).sum(axis=1)
        neg = np.where(self.A < 0, self.A, 0).sum(axis=1)
        labels = _row_labels(self.model)
        for r in np.flatnonzero(pos + self.s_cap < self.lower - self.tol):
            raise InfeasibleProblemError(f"cut solver: row {labels[r]} needs at least "
                                         f"{self.lower[r]:.6g} but the free units give at most "
                                         f"{pos[r]:.6g}; relax the target or unlock units")
        for r in np.flatnonzero(neg > self.upper + self.tol):
            raise InfeasibleProblemError(f"cut solver: row {labels[r]} allows at most "
                                         f"{self.upper[r]:.6g} but the locked units already use "
                                         f"{neg[r]:.6g}; raise the budget or unlock units")

    def row_activity(self, x: np.ndarray) -> np.ndarray:
        return self.A @ x

    def feasible(self, x: np.ndarray) -> bool:
        act = self.A @ x
        low = np.where(self.soft, -np.inf, self.lower)
        return bool(np.all(act >= low - self.ftol) and np.all(act <= self.upper + self.ftol))

    def gain_on(self, x: np.ndarray) -> np.ndarray:
        """Min-form change of switching each column on (for columns now off); see `CutForm`."""
        return self.form.unary + self.deg - 2.0 * (self.pair_w @ x)

    def cut_value(self, x: np.ndarray) -> float:
        """``CutForm.value`` of a 0/1 vector: ``sum w |x_i - x_j| = deg x - x W x``."""
        return float((self.form.unary + self.deg) @ x - x @ (self.pair_w @ x))

    def min_value(self, x: np.ndarray) -> float:
        """Min-form value of a plan including shortfall costs."""
        v = self.cut_value(x)
        if self.soft.any():
            short = np.clip(self.lower - self.A @ x, 0, self.s_cap)
            v += float(self.s_cost[self.soft] @ short[self.soft])
        return v

    # ---------------------------------------------------------- vectorised local moves
    def _accept(self, cand: np.ndarray, sign: float, x: np.ndarray, phases: int = 64
                ) -> np.ndarray:
        """Longest feasible prefixes of ``cand`` (best first) to switch (``sign`` +1 on, -1 off).

        A phase accepts the longest prefix whose cumulative row change keeps every
        hard row within its bounds, skipping the candidates that no longer fit on
        their own, and goes on after it; gains are not recomputed (with ``w >= 0``
        they only grow as neighbours switch the same way). Candidates are read in
        windows that double while they all fit, so a call costs about one pass over
        the candidates (slack only shrinks: one that does not fit now never will),
        vectorised over rows and the window.
        """
        act = self.A @ x
        # Soft rows (shortfall) may not fall further short: a batch never adds shortfall.
        low = np.where(np.isfinite(self.lower) & ~self.soft, self.lower,
                       np.where(self.soft, np.minimum(self.lower, act), -np.inf))
        hi = self.upper - act + self.tol
        lo = act - low + self.tol
        keep = np.isfinite(hi) | np.isfinite(lo)
        if not keep.any():
            return cand.copy()
        rows = None if keep.all() else np.flatnonzero(keep)
        hi, lo = hi[keep], lo[keep]
        chosen = []
        pos, win, n_phase = 0, 1024, 0
        while pos < cand.size and n_phase < phases:
            blk = cand[pos:pos + win]
            D = self.unit_rows[blk] if rows is None else self.unit_rows[blk][:, rows]
            if sign < 0:
                D = -D  # change of each row per candidate
            idx = np.flatnonzero(np.all((hi >= D) & (lo >= -D), axis=1))
            if idx.size == 0:
                pos += blk.size
                win *= 2
                continue
            cum = np.cumsum(D[idx], axis=0)
            bad = np.any((cum > hi) | (-cum > lo), axis=1)
            if bad.any():
                k = max(int(np.argmax(bad)), 1)  # the first fits on its own
                n_phase += 1
                # Size the next window to this phase's reach, so a phase costs its progress.
                win = max(1024, 2 * int(idx[k]))
            else:
                k = idx.size
                win *= 2
            chosen.append(blk[idx[:k]])
            hi = hi - cum[k - 1]
            lo = lo + cum[k - 1]
            pos += int(idx[k - 1]) + 1
        return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)

    def drop_redundant(self, x: np.ndarray, rounds: int = 6) -> np.ndarray:
        """Deselect units whose removal lowers the min-form value and keeps every lower row.

        Removal gains are supermodular with ``w >= 0`` (removing two neighbours
        gains more than both alone), so all positive-gain units that fit the rows'
        slack can go at once (`_accept`); rounds recompute the gains.
        """
        x = x.copy()
        for _ in range(rounds):
            gain = self.gain_on(x)  # removal lowers the value by this much
            if self.soft.any():
                # Removal may open a shortfall: charge it (as if alone).
                act = self.A @ x
                for r in np.flatnonzero(self.soft):
                    over = max(act[r] - self.lower[r], 0.0)
                    gain -= self.s_cost[r] * np.maximum(np.maximum(self.A[r], 0) - over, 0) * x
            cand = np.flatnonzero((x > 0.5) & (gain > 1e-12))
            if cand.size == 0:
                break
            cand = cand[np.argsort(-gain[cand])]
            out = self._accept(cand, -1.0, x)
            if out.size == 0:
                break
            x[out] = 0.0
        return x

    def add_improving(self, x: np.ndarray, rounds: int = 6) -> np.ndarray:
        """Select units that lower the min-form value and fit every upper row (same scheme)."""
        x = x.copy()
        has_up = np.isfinite(self.upper)
        for _ in range(rounds):
            gain = -self.gain_on(x)
            act = self.A @ x
            if self.soft.any():
                short = np.clip(self.lower - act, 0, self.s_cap)
                for r in np.flatnonzero(self.soft):
                    gain += self.s_cost[r] * np.minimum(np.maximum(self.A[r], 0), short[r])
            cand = np.flatnonzero((x < 0.5) & (gain > 1e-12))
            if cand.size == 0:
                break
            # Ratio: gain per share of the scarcest upper row each unit uses.
            slack = np.maximum(self.upper[has_up] - act[has_up], 1e-12)
            use = (np.max(np.maximum(self.A[has_up][:, cand], 0) / slack[:, None], axis=0)
                   if has_up.any() else np.zeros(cand.size))
            cand = cand[np.argsort(-gain[cand] / np.maximum(use, 1e-12))]
            # Shortfall gains are not supermodular (a target met once is met): one phase.
            inn = self._accept(cand, 1.0, x, phases=1 if self.soft.any() else 64)
            if inn.size == 0:
                break
            x[inn] = 1.0
        return x

    def cover_lower(self, x: np.ndarray, rounds: int = 200) -> np.ndarray | None:
        """Add units until every hard lower row is met (cheapest coverage first), or None."""
        x = x.copy()
        has_up = np.isfinite(self.upper)
        hard = np.isfinite(self.lower) & ~self.soft
        for _ in range(rounds):
            act = self.A @ x
            deficit = np.where(hard, self.lower - act, 0.0)
            viol = np.flatnonzero(deficit > self.tol)
            if viol.size == 0:
                return x
            off = np.flatnonzero(x < 0.5)
            if off.size == 0:
                return None
            cover = np.zeros(off.size)
            for r in viol:
                cover += np.minimum(np.maximum(self.A[r, off], 0.0), deficit[r]) / deficit[r]
            cost = np.maximum(self.gain_on(x)[off], 0.0)
            slack = self.upper - act
            ok = cover > 0
            for r in np.flatnonzero(has_up):
                ok &= self.A[r, off] <= slack[r] + self.tol[r]
            off, cover, cost = off[ok], cover[ok], cost[ok]
            if off.size == 0:
                return None
            score = cover / np.maximum(cost, 1e-12 * max(1.0, float(cost.max(initial=0))))
            # Only the best few are ever taken in one round: sort just those.
            top = min(score.size, 1 << 16)
            order = (np.argpartition(-score, top - 1)[:top] if top < score.size
                     else np.arange(score.size))
            order = order[np.argsort(-score[order])]
            # Add a batch about the size the worst row still needs, at least one unit.
            r0 = viol[np.argmax(deficit[viol] / np.maximum(np.abs(self.lower[viol]), 1e-12))]
            cum = np.cumsum(np.maximum(self.A[r0, off[order]], 0))
            k = int(np.searchsorted(cum, deficit[r0])) + 1
            k = max(1, min(k // 2 + 1, order.size))
            batch = off[order[:k]]
            limit = k
            for r in np.flatnonzero(has_up):
                over = np.cumsum(self.A[r, batch]) > slack[r] + self.tol[r]
                if over.any():
                    limit = min(limit, int(np.argmax(over)))
            x[batch[:max(limit, 1)]] = 1.0
        return x if self.feasible(x) else None

    def improve(self, x: np.ndarray) -> np.ndarray:
        """Drop redundant and add improving units until neither changes the plan."""
        for _ in range(4):
            before = x
            x = self.add_improving(self.drop_redundant(x))
            if np.array_equal(x, before):
                break
        return x


def _row_labels(model: CompiledModel) -> list[str]:
    labels: list[str] = []
    for b in model.row_blocks:
        if b.kind in ("budget", "target"):
            labels += [f"{b.kind} {lab!r}" for lab in b.labels]
    return labels


# ============================================================== single budget: parametric

def _solve_single_budget(ctx: _Context, row: int, a: np.ndarray, budget: float
                         ) -> tuple[np.ndarray, float, dict[str, Any], str, np.ndarray]:
    """Parametric cut over the budget multiplier; returns (x, min-form bound, info, strategy)."""
    form = ctx.form
    n = form.n
    t0 = time.perf_counter()
    points: list[tuple[float, float, float, int]] = []  # (lambda, area, F0, units)
    # Entry lambda of each unit: the largest lambda at which a computed plan holds it
    # (plans are nested, so the plan at any computed lambda is {entry >= lambda}).
    entry = np.full(n, -np.inf)
    cuts = 0

    def at(lam: float, sub: np.ndarray, base: tuple[np.ndarray, float, float],
           edges: np.ndarray | None = None) -> tuple[tuple[np.ndarray, float, float], np.ndarray]:
        """The plan at ``lam`` (x, area, F0), changing only ``sub`` from ``base``."""
        nonlocal cuts
        xb, area_b, val_b = base
        x, eidx = _cut_on(form, form.unary + lam * a, sub, xb, edges)
        cuts += 1
        # Value and area change only on sub and the terms touching it.
        d = x[sub] - xb[sub]
        ei, ej = form.ei[eidx], form.ej[eidx]
        val = val_b + float(form.unary[sub] @ d) + float(
            form.w[eidx] @ (np.abs(x[ei] - x[ej]) - np.abs(xb[ei] - xb[ej])))
        area = area_b + float(a[sub] @ d)
        on = x[sub] > 0.5
        entry[sub[on]] = np.maximum(entry[sub[on]], lam)
        points.append((lam, area, val, -1))
        return (x, area, val), eidx

    def crossing(pa: tuple, pb: tuple) -> float:
        """Where the lines ``F0(x) + lam a x`` of two nested plans cross."""
        da = pa[1] - pb[1]
        return (pb[2] - pa[2]) / da if da > 0 else np.inf

    def is_breakpoint(lm: float, pm: tuple, pa: tuple) -> bool:
        """No plan beats the two lines at ``lm``: both ends are optimal there."""
        vm = pm[2] + lm * pm[1]
        va = pa[2] + lm * pa[1]
        return vm >= va - 1e-10 * max(1.0, abs(va))

    zero = np.zeros(n)
    p0, _ = at(0.0, np.arange(n), (zero, 0.0, 0.0))
    area0 = p0[1]
    lam_star = 0.0
    bound = p0[2]  # L(0)
    pa = pb = p0
    if area0 <= budget + ctx.tol[row]:
        ctx.say(f"cut: the unconstrained plan fits the budget ({area0:.6g} <= {budget:.6g})")
    else:
        # Above lam_top no unit with positive area pays for itself, even with every
        # neighbour selected, so only zero-area units stay.
        deg = np.bincount(form.ei, form.w, minlength=n) + np.bincount(form.ej, form.w, minlength=n)
        pos = a > 0
        lam_top = float(np.max((-form.unary[pos] + deg[pos]) / a[pos], initial=0.0))
        lam_top = max(lam_top, 0.0) * (1 + 1e-9) + 1e-12
        p_top, e_top = at(lam_top, np.flatnonzero(p0[0] > 0.5), (zero, 0.0, 0.0))
        # ---- sweep: split intervals at the lines' crossing until each spans little area;
        # each interval is solved only on the units between its two nested plans.
        resolution = (area0 - p_top[1]) / max(ctx.solver.path_points, 1)
        stack = [(0.0, p0, lam_top, p_top, e_top)]
        holding = None
        while stack:
            la, pa, lb, pb, eidx = stack.pop()
            straddle = pa[1] > budget >= pb[1]
            if straddle:
                holding = (la, pa, lb, pb, eidx, None)
            if ctx.solver.path_points <= 0 or pa[1] - pb[1] <= resolution or ctx.left() <= 0:
                continue
            lm = crossing(pa, pb)
            sub = np.flatnonzero((pa[0] > 0.5) & (pb[0] < 0.5))
            pm, em = at(lm, sub, pb, eidx)
            bound = max(bound, pm[2] + lm * (pm[1] - budget))
            if is_breakpoint(lm, pm, pa):
                if straddle:
                    holding = (la, pa, lb, pb, em, lm)
                continue
            stack.append((la, pa, lm, pm, em))
            stack.append((lm, pm, lb, pb, em))
        assert holding is not None  # area0 > budget >= area(x_top) = 0
        # ---- refine the interval that holds the budget (Eisner-Severance steps)
        la, pa, lb, pb, eidx, found = holding
        exact = found is not None
        lam_star = found if exact else lb
        while not exact and ctx.left() > 0:
            lm = crossing(pa, pb)
            sub = np.flatnonzero((pa[0] > 0.5) & (pb[0] < 0.5))
            pm, eidx = at(lm, sub, pb, eidx)
            bound = max(bound, pm[2] + lm * (pm[1] - budget))
            if is_breakpoint(lm, pm, pa):
                exact, lam_star = True, lm
                break
            if pm[1] > budget:
                la, pa = lm, pm
            else:
                lb, pb = lm, pm
                lam_star = lb
            ctx.say(f"cut: lambda {lm:.6g} area {pm[1]:.6g} (budget {budget:.6g}) "
                    f"{ctx.elapsed():.2f} s")
        # L(lam) = min_x F0(x) + lam (a x - B); pb is a minimiser at lam_star.
        bound = max(bound, pb[2] + lam_star * (pb[1] - budget))
    x_plan = pb[0]
    xa, xb = pa[0], pb[0]
    # ---- fill the leftover budget greedily
    x_fill = ctx.add_improving(x_plan)
    val = form.value(x_fill)
    seconds = time.perf_counter() - t0
    ctx.say(f"cut: {cuts} cuts, plan {val:.10g}, bound {bound:.10g}, {seconds:.2f} s")
    path = pd.DataFrame(points, columns=["lambda", "area", "min_value", "units"])
    path["units"] = [int((entry >= lam).sum()) for lam in path["lambda"]]  # one pass per point
    path = (path.sort_values(["lambda", "area"], ascending=[True, False])
            .drop_duplicates("lambda").reset_index(drop=True))
    path["objective"] = form.sigma * path["min_value"] + ctx.model.offset
    path = path.drop(columns="min_value")
    # Rank: by entry lambda (last to leave first), ties by value per area.
    model = ctx.model
    cols = model.unit_of_col[:n]
    unit_entry = np.full(model.n_units, np.nan)
    unit_entry[cols] = np.where(np.isfinite(entry) | (entry > 0), entry, np.nan)
    unit_rank = np.full(model.n_units, -1, dtype=np.int64)
    ratio = -form.unary / np.where(a > 0, a, 1e-12)
    order = np.lexsort((-ratio, -entry))
    order = order[entry[order] > -np.inf]
    unit_rank[cols[order]] = np.arange(order.size)
    unit_area = np.zeros(model.n_units)
    unit_area[cols] = a
    info: dict[str, Any] = {
        "cuts": cuts, "cut_seconds": round(seconds, 3), "lambda": lam_star,
        "path": path, "unit_entry_lambda": unit_entry, "unit_rank": unit_rank,
        "unit_area": unit_area, "unit_locked_in": model.x_fixed == 1.0,
        "budget_row": _row_labels(model)[row],
    }
    guide = x_fill.copy()
    if area0 > budget + ctx.tol[row]:
        guide[(xa > 0.5) & (xb < 0.5)] = 0.5  # undecided: between the bracket's two plans
    return x_fill, bound, info, "cut-parametric", guide


def plan_for_budget(solution: Solution | dict[str, Any], budget_km2: float, *,
                    problem: Any = None) -> np.ndarray:
    """The compact plan for another budget, from a cut solution's nested path (no solve).

    Parameters
    ----------
    solution : Solution or dict
        A `CutSolver` solution of a single-budget model (or its ``info``).
    budget_km2 : float
        The budget, counted as the model's budget row counts it: new area of the
        free units. With ``problem`` given, the budget is the problem's total (the
        locked-in units' area is taken off first).
    problem : Problem, optional
        The problem solved (to count locked-in area).

    Returns
    -------
    numpy.ndarray
        Per unit 0/1 (locked-in units 1): every unit that enters the path at or
        before the largest breakpoint plan within the budget, then units of the
        next tier, best value per area first, while they fit.
    """
    info = solution.info if isinstance(solution, Solution) else solution
    if "unit_rank" not in info:
        raise InputDataError("plan_for_budget needs a cut solution of a single-budget model "
                             "(info has no 'unit_rank'); solve with solver='cut'")
    rank = np.asarray(info["unit_rank"])
    area = np.asarray(info["unit_area"])
    locked = np.asarray(info["unit_locked_in"], dtype=bool)
    budget = float(budget_km2)
    if problem is not None:
        unprotected = problem.unprotected_km2
        budget -= float(unprotected[locked].sum())
    x = locked.astype(np.float64)
    ranked = np.flatnonzero(rank >= 0)
    ranked = ranked[np.argsort(rank[ranked])]
    cum = np.cumsum(area[ranked])
    k = int(np.searchsorted(cum, budget * (1 + 1e-12), side="right"))
    x[ranked[:k]] = 1.0
    # Past the first unit that does not fit, smaller later units may still fit.
    left = budget - (cum[k - 1] if k else 0.0)
    rest = ranked[k:]
    if rest.size and left > 0:
        small = rest[area[rest] <= left]
        csum = np.cumsum(area[small])
        x[small[csum <= left * (1 + 1e-12)]] = 1.0
    return x


# ============================================================== general: bundle method

def _solve_lagrangian(ctx: _Context
                      ) -> tuple[np.ndarray | None, float, dict[str, Any], str, np.ndarray]:
    """Box-step cutting-plane on the row multipliers; returns (x, min-form bound, info, strategy)."""
    form, solver = ctx.form, ctx.solver
    n = form.n
    A, lower, upper = ctx.A, ctx.lower, ctx.upper
    # Relaxed constraints c: side * (a_r x - bound) <= 0 (upper side +1, lower side -1),
    # each scaled by its bound so one box size suits all.
    rows_up = np.flatnonzero(np.isfinite(upper))
    rows_lo = np.flatnonzero(np.isfinite(lower))
    rows = np.concatenate([rows_up, rows_lo])
    side = np.concatenate([np.ones(rows_up.size), -np.ones(rows_lo.size)])
    bnd = np.concatenate([upper[rows_up], lower[rows_lo]])
    scale = np.maximum(np.abs(bnd), 1e-9 * np.maximum(np.abs(A[rows]).sum(axis=1), 1.0))
    scale = np.where(scale > 0, scale, 1.0)
    P = A[rows] * (side / scale)[:, None]  # m.P x is the relaxed rows' unary share
    q = side * bnd / scale  # constant: -m.q
    nc = rows.size
    # Shortfall columns (soft lower rows): min over s of (c_s - m/scale) s.
    soft_c = np.flatnonzero((side < 0) & ctx.soft[rows])
    s_cost = ctx.s_cost[rows[soft_c]]
    s_cap = ctx.s_cap[rows[soft_c]]
    s_per_m = s_cap / scale[soft_c]

    graph = _Graph(n, form.ei, form.ej, form.w)
    cuts = 0
    t_cut = 0.0

    def evaluate(m: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        nonlocal cuts, t_cut
        t = time.perf_counter()
        x = graph.cut(form.unary + m @ P)
        t_cut += time.perf_counter() - t
        cuts += 1
        g = P @ x - q  # subgradient (x part)
        val = form.value(x) + float(m @ g)
        if soft_c.size:
            val += float(np.minimum(0.0, s_cost * s_cap - s_per_m * m[soft_c]).sum())
        return val, x, g

    # An upper bound on every plan's min-form value: beyond it a bound proves infeasibility.
    ceiling = (float(np.maximum(form.unary, 0).sum() + form.w.sum())
               + float((ctx.s_cost * ctx.s_cap).sum()))

    # Start: price each lower row at what a typical unit costs per share of it; the box
    # starts at the largest row price (the box doubles while steps hit its edge).
    m = np.zeros(nc)
    unit_cost = np.abs(form.unary)
    price = np.zeros(nc)
    share = np.abs(P)
    for c in range(nc):
        use = share[c] > 0
        if use.any():
            price[c] = float(np.median(unit_cost[use] / share[c, use]))
    lower_c = side < 0
    if lower_c.any():
        cover = np.where(lower_c[:, None], share, 0.0).sum(axis=0)
        useful = cover > 0
        if useful.any():
            m[lower_c] = 0.5 * float(np.median(np.maximum(form.unary[useful], 0.0)
                                               / cover[useful]))
    # Shortfall rows: beyond c_s * scale a multiplier only buys shortfall.
    s_price = s_cost * scale[soft_c]
    m[soft_c] = np.maximum(m[soft_c], 0.25 * s_price)
    delta = max(float(np.max(price, initial=0.0)), float(np.max(m, initial=0.0)),
                float(np.max(s_price, initial=0.0)) * 0.5, 1e-9)

    best_x: np.ndarray | None = None
    best_val = np.inf
    x_sum = np.zeros(n)
    w_sum = 0.0
    pieces_v: list[float] = []  # F0(x_i) (x part, no multiplier)
    pieces_g: list[np.ndarray] = []
    center = m.copy()
    center_val, x, g = evaluate(center)
    lb = center_val
    pieces_v.append(center_val - float(center @ g))
    pieces_g.append(g)
    info: dict[str, Any] = {}
    t_primal = 0.0

    def consider(xc: np.ndarray | None) -> None:
        nonlocal best_x, best_val, t_primal
        if xc is None:
            return
        t = time.perf_counter()
        if not ctx.feasible(xc):
            xc = ctx.cover_lower(xc)
            if xc is None or not ctx.feasible(xc):
                t_primal += time.perf_counter() - t
                return
        xc = ctx.drop_redundant(xc)
        v = ctx.min_value(xc)
        if v < best_val + 0.01 * abs(best_val) or not np.isfinite(best_val):
            xc = ctx.improve(xc)  # the full local search only for promising plans
            v = ctx.min_value(xc)
        if v < best_val - 1e-12 * max(1.0, abs(v)):
            best_val, best_x = v, xc
        t_primal += time.perf_counter() - t

    def repair_cut(m0: np.ndarray, tries: int = 8) -> np.ndarray | None:
        """Raise only the violated multipliers until a cut meets every row."""
        nonlocal lb
        mm = m0.copy()
        step = 0.25
        for _ in range(tries):
            if ctx.left() <= 0:
                return None
            val, xr, gr = evaluate(mm)
            pieces_v.append(val - float(mm @ gr))
            pieces_g.append(gr)
            lb = max(lb, val)
            viol = gr > 1e-9
            viol[soft_c] = False
            if not viol.any():
                return xr
            mm[viol] = mm[viol] * (1 + step) + step * delta
            step *= 1.8
        return None

    consider(x if ctx.feasible(x) else None)
    it = 0
    stall = 0
    lp_seconds = 0.0
    while it < solver.max_iterations and ctx.left() > 0:
        it += 1
        # ---- the box-step model LP: max theta + sum z
        t = time.perf_counter()
        m_new, pred = _box_step(np.array(pieces_v), np.vstack(pieces_g), center, delta,
                                soft_c, s_cost * s_cap, s_per_m)
        lp_seconds += time.perf_counter() - t
        if m_new is None:
            break
        val, x, g = evaluate(m_new)
        pieces_v.append(val - float(m_new @ g))
        pieces_g.append(g)
        weight = float(it)
        x_sum += weight * x
        w_sum += weight
        lb = max(lb, val)
        if val >= center_val + 0.1 * (pred - center_val):
            if val >= center_val + 0.5 * (pred - center_val) and np.max(
                    np.abs(m_new - center), initial=0.0) >= 0.99 * delta:
                delta *= 2.0
            center, center_val = m_new, val
            stall = 0
        else:
            stall += 1
            if stall >= 3:
                delta *= 0.5
                stall = 0
        if ctx.feasible(x):
            consider(x)
        if it % 5 == 1 or it <= 2:
            consider(repair_cut(center))
            if w_sum > 0:
                avg = x_sum / w_sum
                for thr in (0.5, 0.3):
                    consider((avg >= thr).astype(np.float64))
        if len(pieces_v) > 200:  # keep the model small: drop the oldest pieces
            del pieces_v[:50], pieces_g[:50]
        gap_now = _gap_min(best_val, lb, form, ctx.model)
        model_gap = (pred - center_val) / max(abs(center_val), 1e-9)
        ctx.say(f"cut it {it:4d}  bound {form.sigma * lb + ctx.model.offset:.10g}  best "
                f"{form.sigma * best_val + ctx.model.offset:.10g}  gap {gap_now:.3%}  "
                f"{ctx.elapsed():.2f} s")
        if lb > ceiling + 1e-9 * max(1.0, abs(ceiling)):
            raise InfeasibleProblemError("cut solver: the Lagrangian bound exceeds the value of "
                                         "every plan, so the rows cannot all be met together; "
                                         "relax a target or raise a budget")
        if np.isfinite(gap_now) and gap_now <= solver.gap:
            break
        inside = np.max(np.abs(m_new - center), initial=0.0) < 0.99 * delta
        if model_gap <= 1e-7 and it > 3 and inside:
            break  # the dual is solved: more cuts cannot raise the bound
        if delta < 1e-12 * max(1.0, float(np.abs(center).max(initial=0.0))):
            break
    # ---- last primal attempts: repair from the best multipliers and the average
    if ctx.left() > 0:
        consider(repair_cut(center, tries=12))
    if w_sum > 0:
        avg = x_sum / w_sum
        for thr in (0.7, 0.5, 0.3, 0.1):
            consider((avg >= thr).astype(np.float64))
    if best_x is None:
        from optimizer.solvers.rounding import round_and_repair

        avg = x_sum / w_sum if w_sum > 0 else x
        consider(round_and_repair(ctx.model, avg))
    if best_x is None and lb > ceiling:
        raise InfeasibleProblemError("cut solver: the Lagrangian bound exceeds the value of "
                                     "every plan, so the rows cannot all be met together; "
                                     "relax a target or raise a budget")
    strategy = "cut-lagrangian"
    info.update(cuts=cuts, iterations=it, cut_seconds=round(t_cut, 3),
                primal_seconds=round(t_primal, 3), model_lp_seconds=round(lp_seconds, 3),
                multipliers=dict(zip(_constraint_names(ctx.model, rows, side),
                                     (center / scale).tolist(), strict=True)))
    guide = x_sum / w_sum if w_sum > 0 else (best_x if best_x is not None else x)
    return best_x, lb, info, strategy, guide


def _constraint_names(model: CompiledModel, rows: np.ndarray, side: np.ndarray) -> list[str]:
    labels = _row_labels(model)
    return [f"{labels[r]} {'<=' if s > 0 else '>='}" for r, s in zip(rows, side, strict=True)]


def _gap_min(best: float, lb: float, form: CutForm, model: CompiledModel) -> float:
    if not np.isfinite(best):
        return float("nan")
    return relative_gap(form.sigma * best + model.offset, form.sigma * lb + model.offset)


def _box_step(pv: np.ndarray, pg: np.ndarray, center: np.ndarray, delta: float,
              soft_c: np.ndarray, s_const: np.ndarray, s_per_m: np.ndarray
              ) -> tuple[np.ndarray | None, float]:
    """Maximise the cutting-plane model within a box around ``center`` (a small HiGHS LP).

    Variables ``m`` (nc), ``z`` (soft rows) and ``theta``: max ``theta + sum z`` with
    ``theta <= pv_i + pg_i m`` for each piece and ``z_k <= min(0, s_const - s_per_m m)``.
    """
    import highspy

    nc = center.size
    ns = soft_c.size
    nv = nc + ns + 1
    from optimizer.solvers.highs import new_highs

    h = new_highs()
    h.silent()
    inf = highspy.kHighsInf
    lo = np.concatenate([np.maximum(center - delta, 0.0), np.full(ns, -inf), [-inf]])
    hi = np.concatenate([center + delta, np.zeros(ns), [inf]])
    cost = np.concatenate([np.zeros(nc), -np.ones(ns), [-1.0]])  # HiGHS minimises
    # theta - pg_i m <= pv_i
    k = pv.size
    rows_a = sp.hstack([sp.csr_matrix(-pg), sp.csr_matrix((k, ns)), sp.csr_matrix(np.ones((k, 1)))])
    blocks = [rows_a]
    rlo = [np.full(k, -inf)]
    rhi = [pv]
    if ns:
        zc = sp.csr_matrix((s_per_m, (np.arange(ns), soft_c)), shape=(ns, nc))
        blocks.append(sp.hstack([zc, sp.identity(ns), sp.csr_matrix((ns, 1))]))
        rlo.append(np.full(ns, -inf))
        rhi.append(s_const)
    M = sp.vstack(blocks, format="csc")
    h.passModel(int(nv), int(M.shape[0]), int(M.nnz), 1, 1, 0.0, cost, lo, hi,
                np.concatenate(rlo), np.concatenate(rhi), M.indptr[:-1].astype(np.int32),
                M.indices.astype(np.int32), M.data.astype(np.float64),
                np.zeros(nv, dtype=np.int32))
    h.run()
    if str(h.getModelStatus()).rsplit(".", 1)[-1] != "kOptimal":
        return None, float("nan")
    v = np.array(h.getSolution().col_value)
    return np.maximum(v[:nc], 0.0), -float(h.getInfo().objective_function_value)


# ============================================================== polish

def _polish(ctx: _Context, best: np.ndarray | None, guide: np.ndarray, solver: CutSolver
            ) -> tuple[np.ndarray | None, float, bool, str]:
    """HiGHS MIP over the undecided units (others fixed at the best plan), warm-started.

    Returns the plan (or None), the MIP's bound in the model's sense, whether every
    unit was free (so the bound and an infeasible status hold for the whole model)
    and the MIP's status.
    """
    from optimizer.solvers.highs import HighsSolver

    form = ctx.form
    n = form.n
    if best is None or n <= solver.polish_all:
        free = np.arange(n)
    else:
        # Undecided: the guide (averaged cut solutions) is not firm or disagrees with the
        # plan; plus both sides of the plan's boundary.
        doubt = np.maximum(np.abs(guide - best), 1.0 - np.abs(2 * guide - 1))
        cut_e = best[form.ei] != best[form.ej]
        edge_units = np.zeros(n, dtype=bool)
        edge_units[form.ei[cut_e]] = True
        edge_units[form.ej[cut_e]] = True
        score = doubt + 0.5 * edge_units
        free = np.flatnonzero(score > 0.05)
        if free.size > solver.polish_units:
            free = free[np.argsort(-score[free], kind="stable")[: solver.polish_units]]
        free = np.sort(free)
    if free.size == 0:
        return None, float("nan"), False, "skipped"
    whole = free.size == n
    base = best if best is not None else np.zeros(n)
    sub = ctx.model.restrict(free, base)
    left = ctx.left()
    limit = min(left * solver.polish_share if np.isfinite(left) else solver.polish_time,
                solver.polish_time)
    if best is None and np.isfinite(left):
        limit = left  # nothing to fall back on: the MIP gets all the time left
    limit = max(limit, 0.2)
    hs = HighsSolver(strategy="mip", time_limit=limit, gap=solver.gap)
    warm = sub.complete(base[free]) if best is not None else None
    log: list[str] = []
    run = hs.run_mip(sub, warm=warm, time_limit=limit, log=log)
    ctx.say(f"cut: polish MIP on {free.size} of {n} units: {run.status} in {run.seconds:.2f} s")
    if run.values is None:
        return None, run.bound, whole, run.status
    x = base.copy()
    x[free] = np.round(np.clip(run.values[: free.size], 0, 1))
    return x, run.bound, whole, run.status
