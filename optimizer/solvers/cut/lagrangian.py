"""Models with targets or several rows: a bundle method on the row multipliers.

Structural rows (min set targets, min shortfall, extra budgets) are relaxed with
Lagrange multipliers, so each multiplier vector costs one cut and gives a proven
bound. A box-step cutting-plane (bundle) method searches the multipliers; the
cutting-plane model is a tiny LP solved by HiGHS (`box_step`). The best Lagrangian
value is a proven bound (equal to the LP bound of the linearised model: the cut
subproblem's LP is integral). Primal side: repair-as-a-cut (raise only the violated
multipliers until the cut meets every row), rounding of the averaged cut solutions,
and the context's vectorised drop of redundant units and add of improving ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InfeasibleProblemError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.cut.context import CutContext, row_labels
from optimizer.solvers.cut.mincut import MinCutGraph
from optimizer.solvers.highs import new_highs
from optimizer.solvers.rounding import round_and_repair

_INFEASIBLE = ("cut solver: the Lagrangian bound exceeds the value of every plan, so the rows "
               "cannot all be met together; relax a target or raise a budget")


@dataclass(frozen=True)
class RelaxedRows:
    """The structural rows as relaxed constraints ``side * (a_r x - bound) / scale <= 0``.

    Upper sides have ``side`` +1, lower sides -1; each is scaled by its bound so one
    box size suits all. With ``P = coef[:, None] * A[rows]`` (never formed: the rows are
    the context's one dense copy), ``m @ P`` (`unary_share`) is the relaxed rows' share
    of the unaries, ``P @ x`` (`activity`) their scaled activity and ``-m @ q`` their
    constant. Shortfall columns (soft lower rows, ``soft_c``) add
    ``min over s of (c_s - m / scale) s``.
    """

    rows: np.ndarray
    side: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    unit_rows: np.ndarray
    q: np.ndarray
    soft_c: np.ndarray
    s_cost: np.ndarray
    s_cap: np.ndarray
    s_per_m: np.ndarray

    @classmethod
    def of(cls, ctx: CutContext) -> RelaxedRows:
        """Every finite side of the context's rows, upper sides first."""
        A, lower, upper = ctx.A, ctx.lower, ctx.upper
        rows_up = np.flatnonzero(np.isfinite(upper))
        rows_lo = np.flatnonzero(np.isfinite(lower))
        rows = np.concatenate([rows_up, rows_lo])
        side = np.concatenate([np.ones(rows_up.size), -np.ones(rows_lo.size)])
        bnd = np.concatenate([upper[rows_up], lower[rows_lo]])
        abs_sum = np.array([np.abs(A[r]).sum() for r in rows])
        scale = np.maximum(np.abs(bnd), 1e-9 * np.maximum(abs_sum, 1.0))
        scale = np.where(scale > 0, scale, 1.0)
        soft_c = np.flatnonzero((side < 0) & ctx.soft[rows])
        s_cap = ctx.s_cap[rows[soft_c]]
        return cls(rows, side, scale, side / scale, ctx.unit_rows, side * bnd / scale,
                   soft_c, ctx.s_cost[rows[soft_c]], s_cap, s_cap / scale[soft_c])

    def unary_share(self, m: np.ndarray) -> np.ndarray:
        """``m @ P``: the relaxed rows' share of each unit's unary at multipliers ``m``."""
        w = np.zeros(self.unit_rows.shape[1])
        np.add.at(w, self.rows, m * self.coef)  # a row relaxed on both sides counts twice
        return self.unit_rows @ w

    def activity(self, x: np.ndarray) -> np.ndarray:
        """``P @ x``: each relaxed side's scaled activity."""
        nz = np.flatnonzero(x)  # a cut selects a small share of the units
        return self.coef * (x[nz] @ self.unit_rows[nz])[self.rows]

    def row(self, c: int) -> np.ndarray:
        """Row ``c`` of ``P`` (one relaxed side over the units)."""
        return self.coef[c] * self.unit_rows[:, self.rows[c]]

    def start(self, unary: np.ndarray) -> tuple[np.ndarray, float]:
        """First multipliers and box size.

        Each lower row is priced at what a typical unit costs per share of it; the
        box starts at the largest row price (it doubles while steps hit its edge).
        """
        nc = self.rows.size
        m = np.zeros(nc)
        unit_cost = np.abs(unary)
        price = np.zeros(nc)
        lower_c = self.side < 0
        cover = np.zeros(unit_cost.size)
        for c in range(nc):  # one relaxed side at a time: no dense copy of every row
            share = np.abs(self.row(c))
            use = share > 0
            if use.any():
                price[c] = float(np.median(unit_cost[use] / share[use]))
            if lower_c[c]:
                cover += share
        if lower_c.any():
            useful = cover > 0
            if useful.any():
                m[lower_c] = 0.5 * float(np.median(np.maximum(unary[useful], 0.0)
                                                   / cover[useful]))
        # Shortfall rows: beyond c_s * scale a multiplier only buys shortfall.
        s_price = self.s_cost * self.scale[self.soft_c]
        m[self.soft_c] = np.maximum(m[self.soft_c], 0.25 * s_price)
        delta = max(float(np.max(price, initial=0.0)), float(np.max(m, initial=0.0)),
                    float(np.max(s_price, initial=0.0)) * 0.5, 1e-9)
        return m, delta


class BundleSearch:
    """The box-step cutting-plane search on the multipliers of `RelaxedRows`, with its
    primal side (the best feasible plan found) and its counters.

    ``lb`` is the best Lagrangian value (a proven min-form bound); ``center`` and
    ``delta`` the box; ``pieces_v`` / ``pieces_g`` the cutting-plane model.
    """

    def __init__(self, ctx: CutContext) -> None:
        self.ctx, self.form = ctx, ctx.form
        self.rel = RelaxedRows.of(ctx)
        self.graph = MinCutGraph(self.form.n, self.form.ei, self.form.ej, self.form.w)
        self.cuts, self.it, self.stall = 0, 0, 0
        self.t_cut = self.t_primal = self.lp_seconds = self.sep_seconds = 0.0
        # An upper bound on every plan's min-form value: beyond it a bound proves infeasibility.
        self.ceiling = (float(np.maximum(self.form.unary, 0).sum() + self.form.w.sum())
                        + float((ctx.s_cost * ctx.s_cap).sum()))
        m, self.delta = self.rel.start(self.form.unary)
        if self.form.n >= SEPARABLE_START_UNITS:
            m, self.delta, self.sep_seconds = separable_start(self.rel, self.form.unary, m,
                                                              self.delta, ctx)
        self.best_x: np.ndarray | None = None
        self.best_val = np.inf
        self.x_sum = np.zeros(self.form.n)
        self.w_sum = 0.0
        self.pieces_v: list[float] = []  # F0(x_i) (x part, no multiplier)
        self.pieces_g: list[np.ndarray] = []
        self.center = m.copy()
        self.center_val, self.x, g = self.evaluate(self.center)
        self.lb = self.center_val
        self._add_piece(self.center, self.center_val, g)

    def evaluate(self, m: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Lagrangian value, cut solution and subgradient (x part) at multipliers ``m``."""
        rel, form = self.rel, self.form
        t = time.perf_counter()
        x = self.graph.cut(form.unary + rel.unary_share(m))
        self.t_cut += time.perf_counter() - t
        self.cuts += 1
        g = rel.activity(x) - rel.q
        val = form.value(x) + float(m @ g)
        if rel.soft_c.size:
            val += float(np.minimum(0.0, rel.s_cost * rel.s_cap - rel.s_per_m * m[rel.soft_c]).sum())
        return val, x, g

    def _add_piece(self, m: np.ndarray, val: float, g: np.ndarray) -> None:
        self.pieces_v.append(val - float(m @ g))
        self.pieces_g.append(g)

    def consider(self, xc: np.ndarray | None) -> None:
        """Repair, trim and improve a candidate plan; keep it when it beats the best."""
        if xc is None:
            return
        ctx = self.ctx
        t = time.perf_counter()
        if not ctx.feasible(xc):
            xc = ctx.repair(xc)
            if xc is None:
                self.t_primal += time.perf_counter() - t
                return
        xc = ctx.drop_redundant(xc)
        v = ctx.min_value(xc)
        if v < self.best_val + 0.01 * abs(self.best_val) or not np.isfinite(self.best_val):
            xc = ctx.improve(xc)  # the full local search only for promising plans
            v = ctx.min_value(xc)
        if v < self.best_val - 1e-12 * max(1.0, abs(v)):
            self.best_val, self.best_x = v, xc
        self.t_primal += time.perf_counter() - t

    def repair_cut(self, m0: np.ndarray, tries: int = 8) -> np.ndarray | None:
        """Raise only the violated multipliers until a cut meets every row."""
        mm = m0.copy()
        step = 0.25
        for _ in range(tries):
            if self.ctx.left() <= 0:
                return None
            val, xr, gr = self.evaluate(mm)
            self._add_piece(mm, val, gr)
            self.lb = max(self.lb, val)
            viol = gr > 1e-9
            viol[self.rel.soft_c] = False
            if not viol.any():
                return xr
            mm[viol] = mm[viol] * (1 + step) + step * self.delta
            step *= 1.8
        return None

    def consider_average(self, thresholds: tuple[float, ...]) -> None:
        """Consider the averaged cut solutions rounded at each threshold."""
        if self.w_sum > 0:
            avg = self.x_sum / self.w_sum
            for thr in thresholds:
                self.consider((avg >= thr).astype(np.float64))

    def run(self) -> None:
        """Iterate until the gap is proven, the dual is solved, or iterations or time run out."""
        self.consider(self.x if self.ctx.feasible(self.x) else None)
        while self.it < self.ctx.solver.max_iterations and self.ctx.left() > 0:
            self.it += 1
            if not self.step():
                break

    def step(self) -> bool:
        """One iteration: the box-step model LP, a cut, the box update, primal attempts.

        Returns whether to go on.
        """
        rel = self.rel
        t = time.perf_counter()  # the box-step model LP: max theta + sum z
        m_new, pred = box_step(np.array(self.pieces_v), np.vstack(self.pieces_g), self.center,
                               self.delta, rel.soft_c, rel.s_cost * rel.s_cap, rel.s_per_m)
        self.lp_seconds += time.perf_counter() - t
        if m_new is None:
            return False
        val, self.x, g = self.evaluate(m_new)
        self._add_piece(m_new, val, g)
        weight = float(self.it)
        self.x_sum += weight * self.x
        self.w_sum += weight
        self.lb = max(self.lb, val)
        self._move_box(m_new, val, pred)
        if self.ctx.feasible(self.x):
            self.consider(self.x)
        if self.it % 5 == 1 or self.it <= 2:
            self.consider(self.repair_cut(self.center))
            self.consider_average((0.5, 0.3))
        if len(self.pieces_v) > 200:  # keep the model small: drop the oldest pieces
            del self.pieces_v[:50], self.pieces_g[:50]
        return not self._done(m_new, pred)

    def _move_box(self, m_new: np.ndarray, val: float, pred: float) -> None:
        """Serious step (move the centre; grow the box on a long good step) or null step
        (shrink the box after three in a row)."""
        if val >= self.center_val + 0.1 * (pred - self.center_val):
            if val >= self.center_val + 0.5 * (pred - self.center_val) and np.max(
                    np.abs(m_new - self.center), initial=0.0) >= 0.99 * self.delta:
                self.delta *= 2.0
            self.center, self.center_val = m_new, val
            self.stall = 0
        else:
            self.stall += 1
            if self.stall >= 3:
                self.delta *= 0.5
                self.stall = 0

    def _done(self, m_new: np.ndarray, pred: float) -> bool:
        """Log the iteration; whether the gap is proven or the dual solved."""
        ctx, form = self.ctx, self.form
        gap_now = ctx.gap(self.best_val, self.lb)
        model_gap = (pred - self.center_val) / max(abs(self.center_val), 1e-9)
        ctx.say(f"cut it {self.it:4d}  bound {form.sigma * self.lb + ctx.model.offset:.10g}  best "
                f"{form.sigma * self.best_val + ctx.model.offset:.10g}  gap {gap_now:.3%}  "
                f"{ctx.elapsed():.2f} s")
        if self.lb > self.ceiling + 1e-9 * max(1.0, abs(self.ceiling)):
            raise InfeasibleProblemError(_INFEASIBLE)
        if np.isfinite(gap_now) and gap_now <= ctx.solver.gap:
            return True
        inside = np.max(np.abs(m_new - self.center), initial=0.0) < 0.99 * self.delta
        if model_gap <= 1e-7 and self.it > 3 and inside:
            return True  # the dual is solved: more cuts cannot raise the bound
        return self.delta < 1e-12 * max(1.0, float(np.abs(self.center).max(initial=0.0)))

    def finish(self) -> None:
        """Last primal attempts: repair from the best multipliers and the average, then
        round and repair the average; raise when no plan can meet the rows."""
        if self.ctx.left() > 0:
            self.consider(self.repair_cut(self.center, tries=12))
        self.consider_average((0.7, 0.5, 0.3, 0.1))
        if self.best_x is None and (self.ctx.left() > 0 or not self.ctx.has_first_plan):
            avg = self.x_sum / self.w_sum if self.w_sum > 0 else self.x
            self.consider(round_and_repair(self.ctx.model, avg, deadline=self.ctx.deadline))
        if self.best_x is None and self.lb > self.ceiling:
            raise InfeasibleProblemError(_INFEASIBLE)

    def info(self) -> dict[str, Any]:
        """Counters, seconds and the multipliers at the centre, per named constraint."""
        rel = self.rel
        return dict(cuts=self.cuts, iterations=self.it, cut_seconds=round(self.t_cut, 3),
                    separable_start_seconds=round(self.sep_seconds, 3),
                    primal_seconds=round(self.t_primal, 3),
                    model_lp_seconds=round(self.lp_seconds, 3),
                    multipliers=dict(zip(constraint_names(self.ctx.model, rel.rows, rel.side),
                                         (self.center / rel.scale).tolist(), strict=True)))

    def guide(self) -> np.ndarray:
        """The averaged cut solutions (the plan, or the last cut, without any)."""
        if self.w_sum > 0:
            return self.x_sum / self.w_sum
        return self.best_x if self.best_x is not None else self.x


#: Models with at least this many free units start the multiplier search from the
#: separable (boundary-free) dual (`separable_start`): at 3M units a cut costs ~0.25 s and
#: the search spent its first ~15 cuts finding the multipliers' scale.
SEPARABLE_START_UNITS = 200_000


def separable_start(rel: RelaxedRows, unary: np.ndarray, m: np.ndarray, delta: float,
                    ctx: CutContext, iterations: int = 25, tol: float = 1e-4
                    ) -> tuple[np.ndarray, float, float]:
    """Multipliers that solve the separable dual: the Lagrangian without the pairwise
    terms, ``min_x (unary + m P) x - m q``, which needs no cut (each unit takes its own
    sign), maximised by the same box-step cutting-plane method.

    The pairwise terms are non-negative, so this dual is a lower bound of the cut
    dual and its multipliers a warm start for it (the boundary raises them somewhat).
    It never gives a bound or a plan: the cut search evaluates its own multipliers.

    Returns
    -------
    tuple
        The multipliers, the box size to start the cut search with, and the seconds spent.
    """
    t0 = time.perf_counter()
    soft_const = rel.s_cost * rel.s_cap

    def value(mm: np.ndarray) -> tuple[float, np.ndarray]:
        z = unary + rel.unary_share(mm)
        x = (z < 0).astype(np.float64)
        g = rel.activity(x) - rel.q
        val = float(z @ x) - float(mm @ rel.q)
        if rel.soft_c.size:
            val += float(np.minimum(0.0, soft_const - rel.s_per_m * mm[rel.soft_c]).sum())
        return val, g

    center = m.copy()
    center_val, g = value(center)
    pv, pg = [center_val - float(center @ g)], [g]
    stall = 0
    for _ in range(iterations):
        if ctx.left() <= 0:
            break
        m_new, pred = box_step(np.array(pv), np.vstack(pg), center, delta, rel.soft_c,
                               soft_const, rel.s_per_m)
        if m_new is None:
            break
        val, g = value(m_new)
        pv.append(val - float(m_new @ g))
        pg.append(g)
        if val >= center_val + 0.1 * (pred - center_val):
            if np.max(np.abs(m_new - center), initial=0.0) >= 0.99 * delta:
                delta *= 2.0
            center, center_val, stall = m_new, val, 0
        else:
            stall += 1
            if stall >= 3:
                delta *= 0.5
                stall = 0
        if pred - center_val <= tol * max(abs(center_val), 1e-9):
            break
    # The cut search's box: a quarter of the largest multiplier (it doubles on long steps).
    box = max(0.25 * float(np.max(center, initial=0.0)), 1e-9)
    ctx.say(f"cut: separable dual {center_val:.10g} after {len(pv)} evaluations, "
            f"{time.perf_counter() - t0:.2f} s")
    return center, box, time.perf_counter() - t0


def solve_lagrangian(ctx: CutContext
                     ) -> tuple[np.ndarray | None, float, dict[str, Any], str, np.ndarray]:
    """Box-step cutting-plane on the row multipliers.

    Returns
    -------
    tuple
        The best plan (or None), the min-form bound, ``info``, the strategy name and
        the guide for the polish (averaged cut solutions).
    """
    search = BundleSearch(ctx)
    search.run()
    search.finish()
    return search.best_x, search.lb, search.info(), "cut-lagrangian", search.guide()


def constraint_names(model: CompiledModel, rows: np.ndarray, side: np.ndarray) -> list[str]:
    """``<row label> <=`` or ``>=`` for each relaxed constraint."""
    labels = row_labels(model)
    return [f"{labels[r]} {'<=' if s > 0 else '>='}" for r, s in zip(rows, side, strict=True)]


def box_step(pv: np.ndarray, pg: np.ndarray, center: np.ndarray, delta: float,
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
