"""A fast feasible first plan for a compiled model: greedy cover, then greedy ratio fill,
then one-unit moves (`optimizer.solvers.local_search`).

Used by the HiGHS strategy as its first incumbent, so that a time-limited solve has a
plan however short its time (issue 23, "anytime"). It relies on what
`optimizer.model.compile` builds: structural rows (budgets, targets) with non-negative
coefficients on the unit columns, ``y`` columns equal to ``min(x_j, x_k)`` and shortfall
columns ``s`` that absorb unmet soft targets.

1. **Cover**: while a hard lower bound (a target of min set, a minimum area) is unmet,
   pick units by the share of every unmet row's shortfall they cover per unit of cost
   (``sum_i min(a_ij, short_i) / short_i`` over the objective loss), among units that fit
   every budget's slack. Scores are computed for all units at once (numpy/scipy.sparse)
   and the best units are taken in order until a quarter of the unmet rows are met; then
   the scores are computed again. A unit is taken only if it still covers a row left
   unmet by the units before it, and never past a budget.
2. **Fill**: while units fit and improve the objective (utility, a shortfall covered),
   take them by gain per share of the scarcest budget's slack, in rounds: each round
   takes the best units in order until the next would break a budget (or meet a soft
   target, whose gains then change), then screens again. With several budgets the fill
   is also run by gain per use of the widest budget alone (the scarcest share ranks
   every unit of a capped region last even where the cap binds late) and the better
   plan is kept.

Boundary penalties are ignored when choosing (the ``y`` columns are completed after);
the plan's objective is recomputed from the model with them, and its rows are checked
(`first_plan`): never trusted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.model.compile import CompiledModel
from optimizer.solvers.base import feasibility_tolerance
from optimizer.solvers.local_search import improve_plan

#: Rounds of scoring at most, in each phase: the plan is a first plan, not the best one.
MAX_ROUNDS = 200

#: Units walked in order per round of the cover and the fill (the best by score; the rest
#: wait for the next round's scores): bounds a round's work at 1M units.
COVER_WINDOW = 1 << 16


@dataclass(frozen=True)
class FirstPlan:
    """A greedy plan improved by one-unit moves, checked against every row of the model.

    Attributes
    ----------
    values : numpy.ndarray
        Every column of the plan (``y`` and ``s`` completed).
    objective : float
        Its objective, recomputed from the model (offset and boundary terms included).
    seconds : float
        Wall-clock seconds the greedy took (scoring, moves, completion and the checks).
    steps : tuple of (float, float)
        ``(seconds since the call, objective)`` of each checked plan in turn: the greedy's,
        then the improved one when the moves improved it (the last is ``objective``).
    """

    values: np.ndarray
    objective: float
    seconds: float
    steps: tuple[tuple[float, float], ...] = ()


def first_plan(model: CompiledModel) -> FirstPlan | None:
    """A feasible plan of ``model`` in well under a second, or None when greedy finds none.

    The greedy's plan (`greedy_x`), improved by `optimizer.solvers.local_search.improve_plan`;
    each plan is completed, its objective recomputed and its rows checked.
    None means only that the greedy found no plan (a min-set problem whose budgets the
    cover cannot meet, or no plan at all); it proves nothing.

    Parameters
    ----------
    model : CompiledModel

    Returns
    -------
    FirstPlan or None

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2,
    ...                                                             weights={"carbon": 1}))
    >>> plan = first_plan(m)
    >>> m.max_violation(plan.values), round(plan.objective, 4), len(plan.steps)
    (0.0, 0.4828, 1)
    """
    started = time.perf_counter()
    x = greedy_x(model)
    if x is None:
        return None
    values = model.complete(x)
    if model.max_violation(values) > feasibility_tolerance(model):
        return None
    objective = model.objective_value(values)
    steps = [(time.perf_counter() - started, objective)]
    better = improve_plan(model, x)
    if not np.array_equal(better, x):
        v = model.complete(better)
        obj = model.objective_value(v)
        gained = obj > objective if model.sense == "max" else obj < objective
        if gained and model.max_violation(v) <= feasibility_tolerance(model):
            values, objective = v, obj
            steps.append((time.perf_counter() - started, objective))
    return FirstPlan(values, objective, time.perf_counter() - started, tuple(steps))


def greedy_x(model: CompiledModel) -> np.ndarray | None:
    """0/1 values of the ``x`` columns of a greedy plan, or None when the cover fails.

    Only the structural rows are respected here (budgets, targets); `first_plan`
    checks every row of the completed plan.

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2,
    ...                                                             weights={"carbon": 1}))
    >>> greedy_x(m).tolist()  # the two best cells of 1 km² each
    [0.0, 0.0, 1.0, 1.0, 0.0]
    """
    nx = model.n_x
    if nx == 0:
        return np.zeros(0)
    bnd = model.block("boundary")
    n_struct = bnd.start if bnd.stop > bnd.start else model.n_rows
    S = model.A[:n_struct, :nx].tocsr()
    S.sort_indices()
    lower = np.asarray(model.row_lower[:n_struct], dtype=np.float64)
    upper = np.asarray(model.row_upper[:n_struct], dtype=np.float64)
    soft = np.zeros(n_struct, dtype=bool)
    short_cost = np.zeros(n_struct)
    sb = model.block("s", rows=False)
    if sb.stop > sb.start:
        soft[model.shortfall_rows] = True
        short_cost[model.shortfall_rows] = model.c[sb.start:sb.stop]
    hard_lower = np.where(soft, -np.inf, lower)
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(lower), lower, 0.0))
                       + np.abs(np.where(np.isfinite(upper), upper, 0.0)))
    tol = 1e-9 * scale
    sigma = 1.0 if model.sense == "max" else -1.0
    gain0 = sigma * np.asarray(model.c[:nx], dtype=np.float64)  # larger is better
    state = _Greedy(S, upper, tol, np.zeros(nx, dtype=bool), np.zeros(n_struct))
    if not state.fits_now():
        return None  # the budgets are broken before any unit is chosen
    if not _cover(state, hard_lower, gain0):
        return None
    bounded = np.flatnonzero(np.isfinite(upper))
    if bounded.size < 2:
        _fill(state, gain0, lower, soft, short_cost, None)
        return state.on.astype(np.float64)
    # Several budgets: the scarcest share misjudges a budget that binds late (a region cap
    # beside the total), so fill also by the widest budget alone and keep the better plan.
    widest = int(bounded[np.argmax((upper - state.act)[bounded])])
    plans = []
    for row in (None, widest):
        st = _Greedy(S, upper, tol, state.on.copy(), state.act.copy(), state.csc)
        _fill(st, gain0, lower, soft, short_cost, row)
        x = st.on.astype(np.float64)
        plans.append((model.objective_value(model.complete(x)), x))
    (a, xa), (b, xb) = plans
    return xa if sigma * a >= sigma * b else xb


@dataclass
class _Greedy:
    """The selection so far and the activity of the structural rows.

    ``csc`` is ``S`` by columns: picking units is a column selection, which CSC does
    without a search (CSR's column selection was a third of the greedy's time at 1M
    units), and CSC to CSR conversion leaves each row's units in the order picked.
    """

    S: sp.csr_matrix
    upper: np.ndarray
    tol: np.ndarray
    on: np.ndarray
    act: np.ndarray
    csc: sp.csc_matrix | None = None

    def __post_init__(self) -> None:
        if self.csc is None:
            self.csc = self.S.tocsc()

    def picked(self, picks: np.ndarray, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """``S[rows][:, picks]`` as CSR, each row's nonzeros in the order of ``picks``."""
        assert self.csc is not None
        sub = self.csc[:, picks].tocsr()
        sub.sort_indices()  # a no-op: CSC to CSR conversion sorts them
        return sub[rows] if rows is not None else sub

    def fits_now(self) -> bool:
        return bool(np.all(self.act <= self.upper + self.tol))

    def fits_alone(self) -> np.ndarray:
        """Per unit: whether it fits the slack of every bounded row on its own."""
        fits = np.ones(self.S.shape[1], dtype=bool)
        bounded = np.flatnonzero(np.isfinite(self.upper))
        if bounded.size == 0:
            return fits
        slack = (self.upper - self.act + self.tol)[bounded]
        coo = self.S[bounded].tocoo()
        fits[coo.col[coo.data > slack[coo.row]]] = False
        return fits

    def first_break(self, picks: np.ndarray) -> int:
        """How many of ``picks`` (in order) fit the bounded rows together."""
        bounded = np.flatnonzero(np.isfinite(self.upper))
        if bounded.size == 0 or picks.size == 0:
            return int(picks.size)
        sub = self.picked(picks, bounded)
        incl = _row_cumsum(sub)
        slack = (self.upper - self.act + self.tol)[bounded]
        rows = np.repeat(np.arange(bounded.size), np.diff(sub.indptr))
        over = incl > slack[rows]
        return int(sub.indices[over].min()) if over.any() else int(picks.size)

    def within_other_rows(self, picks: np.ndarray, row: int) -> np.ndarray:
        """``picks`` (in order) without the units that would break a bounded row other than
        ``row`` if every unit before them were taken (so the rest fit those rows together)."""
        others = np.flatnonzero(np.isfinite(self.upper))
        others = others[others != row]
        if others.size == 0 or picks.size == 0:
            return picks
        sub = self.picked(picks, others)
        incl = _row_cumsum(sub)
        slack = (self.upper - self.act + self.tol)[others]
        rows = np.repeat(np.arange(others.size), np.diff(sub.indptr))
        keep = np.ones(picks.size, dtype=bool)
        keep[sub.indices[incl > slack[rows]]] = False
        return picks[keep]

    def take(self, picks: np.ndarray) -> None:
        self.on[picks] = True
        assert self.csc is not None
        self.act += np.asarray(self.csc[:, picks].sum(axis=1)).ravel()


def _row_cumsum(m: sp.csr_matrix) -> np.ndarray:
    """Per nonzero of a CSR matrix with sorted indices: the sum of its row up to it (inclusive)."""
    cs = np.cumsum(m.data)
    lengths = np.diff(m.indptr)
    starts = np.concatenate([[0.0], cs])[m.indptr[:-1]]
    return cs - np.repeat(starts, lengths)


def _cover(st: _Greedy, hard_lower: np.ndarray, gain0: np.ndarray) -> bool:
    """Meet every hard lower bound (targets, minimum areas); False when the greedy cannot."""
    loss = -gain0
    pos = loss[loss > 0]
    eps = 1e-9 * (float(pos.mean()) if pos.size else 1.0)
    price = np.maximum(loss, eps)
    for _ in range(MAX_ROUNDS * 10):
        short = hard_lower - st.act
        need = np.flatnonzero(short > st.tol)
        if need.size == 0:
            return True
        coo = st.S[need].tocoo()
        short_of = short[need][coo.row]
        cover = np.minimum(coo.data, short_of) / short_of
        score = np.bincount(coo.col, cover, minlength=st.S.shape[1])
        cand = np.flatnonzero((score > 0) & ~st.on & st.fits_alone())
        if cand.size == 0:
            return False
        key = score[cand] / price[cand]
        if cand.size > COVER_WINDOW:
            top = np.argpartition(-key, COVER_WINDOW - 1)[:COVER_WINDOW]
            cand, key = cand[top], key[top]
        cand = cand[np.lexsort((-score[cand], -key))]
        # Walk the order: a unit is useful while it covers a row the units before it left unmet.
        ordered = st.picked(cand, need)
        incl = _row_cumsum(ordered)
        rows = np.repeat(np.arange(need.size), np.diff(ordered.indptr))
        need_short = short[need][rows] - st.tol[need][rows]
        useful = np.zeros(cand.size, dtype=bool)
        useful[ordered.indices[incl - ordered.data < need_short]] = True
        met_at = np.full(need.size, cand.size, dtype=np.int64)
        hit = np.flatnonzero(incl >= need_short)
        # Each row's units are in order, so its first hit is where it is met.
        first = hit[np.r_[True, rows[hit][1:] != rows[hit][:-1]]] if hit.size else hit
        met_at[rows[first]] = ordered.indices[first]
        k = max(1, -(-need.size // 4))
        stop = int(np.sort(met_at)[k - 1])  # re-score once a quarter of the unmet rows are met
        picks = cand[np.flatnonzero(useful[: stop + 1])]
        picks = picks[: max(1, st.first_break(picks))]
        st.take(picks)
    return False


def _fill(st: _Greedy, gain0: np.ndarray, lower: np.ndarray, soft: np.ndarray,
          short_cost: np.ndarray, by_row: int | None) -> None:
    """Add units that fit every budget and improve the objective, best ratio first: gain per
    share of the scarcest budget's slack, or per use of budget row ``by_row`` when given."""
    bounded = np.isfinite(st.upper)
    if by_row is not None:
        bounded = np.zeros_like(bounded)
        bounded[by_row] = True
    soft_rows = np.flatnonzero(soft)
    for _ in range(MAX_ROUNDS):
        gain = np.where(st.on, 0.0, gain0)
        short = np.maximum(lower - st.act, 0.0)
        if soft_rows.size:
            sub = st.S[soft_rows].tocoo()
            r = soft_rows[sub.row]
            gain = gain + np.bincount(sub.col, short_cost[r] * np.minimum(sub.data, short[r]),
                                      minlength=gain.size)
        top = float(np.max(np.abs(gain), initial=0.0))
        cand = np.flatnonzero(~st.on & (gain > 1e-12 * max(top, 1e-300)) & st.fits_alone())
        if cand.size == 0:
            return
        slack = np.maximum(st.upper - st.act, 0.0)
        coo = st.picked(cand).tocoo()
        use = np.zeros(cand.size)
        keep = bounded[coo.row]
        np.maximum.at(use, coo.col[keep],
                      coo.data[keep] / np.maximum(slack[coo.row[keep]], 1e-12))
        ratio = gain[cand] / np.maximum(use, 1e-12)
        if cand.size > COVER_WINDOW:  # sort only the best: a round takes a prefix
            window = np.argpartition(-ratio, COVER_WINDOW - 1)[:COVER_WINDOW]
            cand, ratio = cand[window], ratio[window]
        cand = cand[np.argsort(-ratio, kind="stable")]
        if by_row is not None:
            cand = st.within_other_rows(cand, by_row)
        n = st.first_break(cand)
        if soft_rows.size:  # stop where a soft target is met: the gains change there
            ordered = st.picked(cand[:n], soft_rows)
            incl = _row_cumsum(ordered)
            rows = np.repeat(np.arange(soft_rows.size), np.diff(ordered.indptr))
            met = incl >= short[soft_rows][rows] - st.tol[soft_rows][rows]
            met &= short[soft_rows][rows] > st.tol[soft_rows][rows]
            if met.any():
                n = min(n, int(ordered.indices[met].min()) + 1)
        st.take(cand[: max(1, n)])
