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
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.compile import CompiledModel
from optimizer.errors import InfeasibleProblemError
from optimizer.solvers.cut.context import CutContext, row_labels
from optimizer.solvers.cut.mincut import MinCutGraph
from optimizer.solvers.highs import new_highs
from optimizer.solvers.rounding import round_and_repair


def solve_lagrangian(ctx: CutContext
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

    graph = MinCutGraph(n, form.ei, form.ej, form.w)
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
        m_new, pred = box_step(np.array(pieces_v), np.vstack(pieces_g), center, delta,
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
        gap_now = ctx.gap(best_val, lb)
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
        avg = x_sum / w_sum if w_sum > 0 else x
        consider(round_and_repair(ctx.model, avg))
    if best_x is None and lb > ceiling:
        raise InfeasibleProblemError("cut solver: the Lagrangian bound exceeds the value of "
                                     "every plan, so the rows cannot all be met together; "
                                     "relax a target or raise a budget")
    strategy = "cut-lagrangian"
    info.update(cuts=cuts, iterations=it, cut_seconds=round(t_cut, 3),
                primal_seconds=round(t_primal, 3), model_lp_seconds=round(lp_seconds, 3),
                multipliers=dict(zip(constraint_names(ctx.model, rows, side),
                                     (center / scale).tolist(), strict=True)))
    guide = x_sum / w_sum if w_sum > 0 else (best_x if best_x is not None else x)
    return best_x, lb, info, strategy, guide


def constraint_names(model: CompiledModel, rows: np.ndarray, side: np.ndarray) -> list[str]:
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
