"""State shared by the cut solver's steps: `CutContext`, the relaxed rows in min form.

The context holds the model, its cut form and its structural rows (dense, and a
unit-major copy), the solver's options and clock, and the vectorised local moves
every step uses: feasibility, min-form values, drop of redundant units, add of
improving ones and cover of unmet lower rows.

The local moves (`CutContext._accept`) read the rows unit-major (``unit_rows``), in
windows that grow while every candidate fits and shrink to each phase's reach, so a
drop or add pass costs about one pass over its candidates; boundary gains come from
one CSR product with the symmetric weights (``pair_w @ x``) rather than bincounts over
the edge list. At 1M units this took the min-set primal stage from ~59 s to ~12 s
(cProfile, same plans). numba was tried and not added: a compiled first-fit loop
took 16-19 ms a call on a synthetic 1M-unit batch (random row gathers bound it), no
faster than the windowed numpy (~15 ms a call in the profile).
"""

from __future__ import annotations

import functools
import time
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InfeasibleProblemError
from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import feasibility_tolerance, relative_gap, stop_requested
from optimizer.solvers.cut.form import CutForm, n_struct


class CutSettings(Protocol):
    """The options and log of `CutSolver` that the solver's steps read."""

    time_limit: float | None
    gap: float
    max_iterations: int
    path_points: int
    path_units: int
    polish_units: int
    polish_all: int
    polish_share: float
    polish_time: float
    lns_units: int
    lns_window_time: float
    lns_time: float
    lns_stall: int
    block_units: int

    def _say(self, line: str) -> None: ...


class CutContext:
    """Arrays shared by both methods: the cut form and the relaxed rows in min form."""

    def __init__(self, model: CompiledModel, form: CutForm, solver: CutSettings, started: float,
                 deadline: float, *, has_first_plan: bool = False) -> None:
        self.model, self.form, self.solver = model, form, solver
        self.started, self.deadline = started, deadline
        #: Whether the solve already holds a plan (the greedy's): a late rounding is then
        #: skipped once the time is up.
        self.has_first_plan = has_first_plan
        nx = model.n_x
        ns = n_struct(model)
        # One dense copy of the rows, unit-major (candidate batches gather contiguous rows
        # of it); ``A`` is its transposed view, so the rows are held once.
        self.unit_rows = _dense_unit_major(model.A, ns, nx)
        self.A = self.unit_rows.T
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
        # Per row: each row is held to its own magnitude, never to the largest row's.
        self.ftol = feasibility_tolerance(model) * model.row_scale()[:ns]

    @functools.cached_property
    def pair_w(self) -> sp.csr_matrix:
        """Symmetric pairwise weights: one sparse product gives every unit's boundary
        change (several times faster than two bincounts over the edge list)."""
        form = self.form
        n, w = form.n, form.w
        return sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([form.ei, form.ej]),
                                                       np.concatenate([form.ej, form.ei]))),
                             shape=(n, n))

    def row_nonzeros(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Columns and values of structural row ``r``'s nonzeros among the ``x`` columns
        (views of the model's CSR when the row has no other columns)."""
        A, nx = self.model.A, self.model.n_x
        lo, hi = A.indptr[r], A.indptr[r + 1]
        cols, vals = A.indices[lo:hi], A.data[lo:hi]
        if cols.size and cols[-1] >= nx:  # sorted indices: only then any non-x column
            keep = cols < nx
            cols, vals = cols[keep], vals[keep]
        return cols, vals

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
        """Log a progress line through the solver."""
        self.solver._say(line)

    def gap(self, best: float, bound: float) -> float:
        """Relative gap between min-form values ``best`` (a plan) and ``bound``, in the
        model's sense and with its offset; NaN without a plan (``best`` infinite)."""
        if not np.isfinite(best):
            return float("nan")
        form, model = self.form, self.model
        return relative_gap(form.sigma * best + model.offset, form.sigma * bound + model.offset)

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
        # Row by row from the model's sparse rows: no dense temporaries of every row.
        ns = self.A.shape[0]
        pos, neg = np.zeros(ns), np.zeros(ns)
        A, nx = self.model.A, self.model.n_x
        for r in range(ns):
            lo, hi = A.indptr[r], A.indptr[r + 1]
            d = A.data[lo:hi][A.indices[lo:hi] < nx]
            pos[r], neg[r] = d[d > 0].sum(), d[d < 0].sum()
        labels = row_labels(self.model)
        for r in np.flatnonzero(pos + self.s_cap < self.lower - self.tol).tolist():
            raise InfeasibleProblemError(f"cut solver: row {labels[r]} needs at least "
                                         f"{self.lower[r]:.6g} but the free units give at most "
                                         f"{pos[r]:.6g}; relax the target or unlock units")
        for r in np.flatnonzero(neg > self.upper + self.tol).tolist():
            raise InfeasibleProblemError(f"cut solver: row {labels[r]} allows at most "
                                         f"{self.upper[r]:.6g} but the locked units already use "
                                         f"{neg[r]:.6g}; raise the budget or unlock units")

    def row_activity(self, x: np.ndarray) -> np.ndarray:
        """``A @ x`` over the nonzeros of ``x`` only: a plan selects a small share of the
        units, so gathering their rows reads a fraction of the dense rows a product would."""
        nz = np.flatnonzero(x)
        return x[nz] @ self.unit_rows[nz]

    def feasible(self, x: np.ndarray) -> bool:
        act = self.row_activity(x)
        low = np.where(self.soft, -np.inf, self.lower)
        return bool(np.all(act >= low - self.ftol) and np.all(act <= self.upper + self.ftol))

    def gain_on(self, x: np.ndarray) -> np.ndarray:
        """Min-form change of switching each column on (for columns now off); see `CutForm`."""
        return self.form.unary + self.deg - 2.0 * (self.pair_w @ x)

    def cut_value(self, x: np.ndarray) -> float:
        """``CutForm.value`` of a 0/1 vector (the unit terms plus the cut edges' weights)."""
        return self.form.value(x)

    def min_value(self, x: np.ndarray) -> float:
        """Min-form value of a plan including shortfall costs."""
        v = self.cut_value(x)
        if self.soft.any():
            short = np.clip(self.lower - self.row_activity(x), 0, self.s_cap)
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
        act = self.row_activity(x)
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
                act = self.row_activity(x)
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
            act = self.row_activity(x)
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

    def cover_lower(self, x: np.ndarray, rounds: int = 200, *, upper: bool = True
                    ) -> np.ndarray | None:
        """Add units until every hard lower row is met (cheapest coverage first), or None.

        ``upper=False`` lets the added units exceed the upper rows (`repair` then trims
        them back): the way out when a plan is at a budget and short of a lower row.
        """
        x = x.copy()
        has_up = np.isfinite(self.upper) if upper else np.zeros(self.upper.size, dtype=bool)
        hard = np.isfinite(self.lower) & ~self.soft
        for _ in range(rounds):
            act = self.row_activity(x)
            deficit = np.where(hard, self.lower - act, 0.0)
            viol = np.flatnonzero(deficit > self.tol)
            if viol.size == 0:
                return x
            # Coverage from the rows' sparse nonzeros: a pass over each violated row's
            # nonzeros instead of a gather of every unit off the plan per row.
            cover_all = np.zeros(x.size)
            for r in viol:
                cols, vals = self.row_nonzeros(int(r))
                pos = vals > 0
                cover_all[cols[pos]] += np.minimum(vals[pos], deficit[r]) / deficit[r]
            cover_all[x > 0.5] = 0.0
            off = np.flatnonzero(cover_all > 0)
            if off.size == 0:
                return None
            cover = cover_all[off]
            cost = np.maximum(self.gain_on(x)[off], 0.0)
            slack = self.upper - act
            ok = np.ones(off.size, dtype=bool)
            for r in np.flatnonzero(has_up):
                ok &= self.A[r, off] <= slack[r] + self.tol[r]
            off, cover, cost = off[ok], cover[ok], cost[ok]
            if off.size == 0:
                return None
            score = cover / np.maximum(cost, 1e-12 * max(1.0, float(cost.max(initial=0))))
            r0 = viol[np.argmax(deficit[viol] / np.maximum(np.abs(self.lower[viol]), 1e-12))]
            # Only the best few are ever taken in one round: sort just those (more when
            # they cannot cover the worst row, so a round is never capped below its need).
            top = min(score.size, 1 << 16)
            while True:
                order = (np.argpartition(-score, top - 1)[:top] if top < score.size
                         else np.arange(score.size))
                order = order[np.argsort(-score[order])]
                cum = np.cumsum(np.maximum(self.A[r0, off[order]], 0))
                if top == score.size or cum[-1] >= deficit[r0]:
                    break
                top = min(score.size, 4 * top)
            # Add a batch about the size the worst row still needs, at least one unit:
            # half of it while it is small (rows overlap), all of it when large (the
            # drop of redundant units trims any excess; each round costs a pass).
            k = int(np.searchsorted(cum, deficit[r0])) + 1
            k = max(1, min(k if k >= 4096 else k // 2 + 1, order.size))
            batch = off[order[:k]]
            limit = k
            for r in np.flatnonzero(has_up):
                over = np.cumsum(self.A[r, batch]) > slack[r] + self.tol[r]
                if over.any():
                    limit = min(limit, int(np.argmax(over)))
            x[batch[:max(limit, 1)]] = 1.0
        if upper:
            return x if self.feasible(x) else None
        act = self.row_activity(x)
        hard = np.isfinite(self.lower) & ~self.soft
        return x if np.all(act[hard] >= self.lower[hard] - self.ftol[hard]) else None

    def repair(self, x: np.ndarray) -> np.ndarray | None:
        """A plan meeting every hard row from ``x``, or None: removals down to the upper
        rows (`trim_upper`) then cover of the lower rows within them; failing that, cover
        first (past the upper rows) and then removals that keep the lower rows met."""
        if self.feasible(x):
            return x
        xt = self.trim_upper(x)
        xr = None if xt is None else self.cover_lower(xt)
        if xr is not None and self.feasible(xr):
            return xr
        xc = self.cover_lower(x, upper=False)
        xr = None if xc is None else self.trim_upper(xc)
        return xr if xr is not None and self.feasible(xr) else None

    def trim_upper(self, x: np.ndarray, rounds: int = 50) -> np.ndarray | None:
        """Remove units until every hard upper row is met, or None.

        The least loss per share of the excess first (the min-form loss of removing a
        unit alone, over the largest share of any exceeded row's excess it frees), never
        taking a hard lower row below its bound (nor further below it); each round
        removes the shortest such prefix that clears every excess, then recomputes.
        A Lagrangian cut over a budget had no repair before (`cover_lower` only adds):
        at the frontier's most-carbon end on the demo at 10 km, compactness 0.75, no
        cut of the search became a plan.

        Examples
        --------
        >>> import numpy as np
        >>> from optimizer.model.problem import problem
        >>> from optimizer.model.compile import compile
        >>> from optimizer.datasets import tiny_grid
        >>> from optimizer.solvers.cut.form import cut_form
        >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2)
        ...             .add_boundary_penalty(0.1))
        >>> ctx = CutContext(m, cut_form(m), None, 0.0, np.inf)
        >>> x = ctx.trim_upper(np.ones(m.n_x))
        >>> bool(ctx.feasible(x)), int(x.sum())
        (True, 2)
        """
        x = x.copy()
        hard_lo = np.isfinite(self.lower) & ~self.soft
        for _ in range(rounds):
            act = self.row_activity(x)
            over = np.flatnonzero(act > self.upper + self.tol)
            if over.size == 0:
                return x
            on = np.flatnonzero(x > 0.5)
            rows = self.unit_rows[on]
            excess = act[over] - self.upper[over]
            frees = np.maximum(rows[:, over], 0.0)
            share = np.max(frees / excess, axis=1)
            slack = np.where(hard_lo, np.maximum(act - self.lower, 0.0), np.inf) + self.tol
            ok = (share > 0) & np.all(rows <= slack, axis=1)
            if not ok.any():
                return None
            on, rows, frees, share = on[ok], rows[ok], frees[ok], share[ok]
            loss = -self.gain_on(x)[on]  # min-form change of removing each unit alone
            order = np.lexsort((loss / share, loss >= 0))  # improving removals first
            cleared = np.all(np.cumsum(frees[order], axis=0) >= excess - self.tol[over], axis=1)
            k = int(np.argmax(cleared)) + 1 if cleared.any() else order.size
            low_ok = ~np.any(np.cumsum(rows[order], axis=0) > slack, axis=1)
            k = max(1, min(k, int(np.argmin(low_ok)) if not low_ok.all() else k))
            x[on[order[:k]]] = 0.0
        return x if np.all(self.row_activity(x) <= self.upper + self.tol) else None

    def improve(self, x: np.ndarray) -> np.ndarray:
        """Drop redundant and add improving units until neither changes the plan."""
        for _ in range(4):
            before = x
            x = self.add_improving(self.drop_redundant(x))
            if np.array_equal(x, before):
                break
        return x


def _dense_unit_major(A: sp.csr_matrix, ns: int, nx: int) -> np.ndarray:
    """The first ``ns`` rows of ``A`` over the first ``nx`` columns as a dense C-ordered
    ``(nx, ns)`` array, filled row by row (no sparse slicing copies)."""
    out = np.zeros((nx, ns))
    for r in range(ns):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        cols = A.indices[lo:hi]
        keep = cols < nx
        out[cols[keep], r] = A.data[lo:hi][keep]
    return out


def row_labels(model: CompiledModel) -> list[str]:
    """A label per row before the boundary rows: ``budget 'name'``, ``target 'name'``, ...

    Placed by each block's row range, so blocks added later (the frontier's ``epsilon``
    rows) are named too.
    """
    labels = [f"row {r}" for r in range(n_struct(model))]  # never one per boundary row
    for b in model.row_blocks:
        if b.kind != "boundary":
            for r, lab in zip(range(b.start, min(b.stop, len(labels))), b.labels or [],
                              strict=False):
                labels[r] = f"{b.kind} {lab!r}"
    return labels
