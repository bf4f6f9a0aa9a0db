"""The breakpoint block of a nested path, solved exactly by a small MIP (issue 23 item 4).

A single-budget model's nested path holds plans ``P(lambda)`` that grow as the budget's
multiplier ``lambda`` falls. A budget between two consecutive path plans ``pb ⊂ pa``
(``area(pb) <= budget < area(pa)``) lands inside the *breakpoint block* ``pa - pb``: the
Lagrangian bound sits on the line between the two plans, and the plan read from the
path (`optimizer.solvers.cut.path.plan_for_budget`: ``pb`` plus the block's units in
rank order while they fit, then improving units) can be far below it at strong
boundary penalties, where the block is one large patch and a prefix of it by rank is
a ragged shape. Measured on the demo grid (1,488 units) at compactness 0.75-1: the
path's plans stood 1.5-13% below the path's bound while the true optimum (HiGHS at
gap 0) was within 0.7% of that bound: the plan was weak, not the bound.

`improve_in_block` frees the block's units and every unit where the read plan differs
from ``pb``, fixes the rest at the read plan, and solves that sub-model with HiGHS,
warm-started from the read plan (which is feasible in it), so the result is never
worse. The run is deterministic: one thread, a node limit rather than a time limit
(unless the solve's own time limit is nearer), so the app, ``carbonpark solve`` and a
scenario written from the app give the same plan for the same budget.
"""

from __future__ import annotations

import time

import numpy as np

from optimizer.solvers.cut.context import CutContext
from optimizer.solvers.highs import HighsSolver

#: Most units freed in the block MIP by default (`CutSolver.block_units`); a larger block
#: keeps the plan read from the path.
BLOCK_UNITS = 2_000
#: Branch-and-bound nodes of the block MIP (a node limit, not a time limit: deterministic).
BLOCK_NODES = 50
#: Depth (in neighbour steps) of the ring around the read plan's edge that is freed too.
RING = 2


def bracket(entry: np.ndarray, a: np.ndarray, budget: float) -> tuple[np.ndarray, np.ndarray]:
    """The path's two plans around ``budget``: the largest within it and the next one.

    Parameters
    ----------
    entry : numpy.ndarray
        Per ``x`` column, its entry multiplier on the path (``-inf`` or NaN: never on it);
        the path's plans are ``entry >= lambda`` for its multipliers.
    a : numpy.ndarray
        Per ``x`` column, its area in the budget row.
    budget : float
        The budget (of the free units).

    Returns
    -------
    tuple of numpy.ndarray
        ``pb`` and ``pa`` as 0/1 vectors (``pa == pb`` when every path plan fits).

    Examples
    --------
    >>> import numpy as np
    >>> entry = np.array([3.0, 2.0, 2.0, 1.0, -np.inf])
    >>> pb, pa = bracket(entry, np.ones(5), 2.5)
    >>> pb.tolist(), pa.tolist()
    ([1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0])
    """
    e = np.where(np.isfinite(entry), entry, -np.inf)
    levels = np.unique(e[np.isfinite(e)])[::-1]  # the path's multipliers, largest first
    pb = np.zeros(e.size)
    for lam in levels:
        plan = (e >= lam).astype(np.float64)
        if float(a @ plan) > budget * (1 + 1e-12) + 1e-12:
            return pb, plan
        pb = plan
    return pb, pb.copy()


def improve_in_block(ctx: CutContext, x: np.ndarray, pb: np.ndarray, pa: np.ndarray,
                     block_units: int = BLOCK_UNITS, nodes: int = BLOCK_NODES
                     ) -> tuple[np.ndarray, dict[str, float]]:
    """The best plan of the breakpoint block: HiGHS over ``pa - pb`` and the units where
    ``x`` leaves ``pb``, every other unit fixed at ``x`` (a feasible plan).

    Returns
    -------
    numpy.ndarray
        The better of ``x`` and the block MIP's plan (``x`` itself when the block is
        empty, too large, or the MIP found nothing better).
    dict
        ``block_units`` and ``block_seconds`` for ``info`` (empty when skipped).
    """
    core = ((pa > 0.5) & (pb < 0.5)) | ((x > 0.5) != (pb > 0.5))
    near = core.copy()  # a ring around the block
    for _ in range(RING):
        near |= (ctx.pair_w @ near.astype(np.float64)) > 0
    form = ctx.form  # and both sides of the read plan's edge
    cut_e = x[form.ei] != x[form.ej]
    near[form.ei[cut_e]] = near[form.ej[cut_e]] = True
    free = np.flatnonzero(near)
    if free.size == 0 or free.size > block_units:
        return x, {}
    t0 = time.perf_counter()
    sub = ctx.model.restrict(free, x)
    left = ctx.left()
    if left <= 0.2:
        return x, {}
    hs = HighsSolver(strategy="mip", gap=ctx.solver.gap, threads=1)
    run = hs.run_mip(sub, warm_start=sub.complete(x[free]),
                     time_limit=left if np.isfinite(left) else None,
                     options={"mip_max_nodes": int(nodes), "random_seed": 0})
    out = x
    if run.values is not None:
        xc = x.copy()
        xc[free] = np.round(np.clip(run.values[: free.size], 0, 1))
        if ctx.feasible(xc) and ctx.min_value(xc) < ctx.min_value(x) - 1e-12 * max(
                1.0, abs(ctx.min_value(x))):
            out = xc
    seconds = time.perf_counter() - t0
    notes = "; ".join(getattr(run, "notes", None) or [])
    ctx.say(f"cut: block MIP on {free.size} units: {run.status} in {seconds:.2f} s"
            + (f" ({notes})" if notes else ""))
    return out, {"block_units": int(free.size), "block_seconds": round(seconds, 3)}
