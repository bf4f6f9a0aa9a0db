"""Large-neighbourhood search for the cut solver: re-solve windows of a plan with HiGHS.

A window is a connected cluster of units (breadth-first from a seed on the plan's
frontier, so it holds both sides of a park edge); every other unit stays fixed at
the plan (`optimizer.model.compile.CompiledModel.restrict`) and a HiGHS MIP, warm-started
from the plan, re-optimises the window. The plan is replaced only by a strictly
better feasible one, so the search never worsens it. The window grows while its
MIPs finish well within their time and shrinks when they run out of time; after
a run of windows without improvement at the largest size the search stops.
"""

from __future__ import annotations

import time

import numpy as np

from optimizer.solvers.cut.context import CutContext, CutSettings
from optimizer.solvers.highs import HighsSolver


def lns(ctx: CutContext, x: np.ndarray, bound_min: float, solver: CutSettings
        ) -> tuple[np.ndarray, dict[str, float]]:
    """Improve the feasible plan ``x`` by re-solving windows of it until a stop rule holds.

    Stops when the gap to ``bound_min`` (min form) is at most ``solver.gap``, the
    time is up (``solver.time_limit``, or ``solver.lns_time`` without one), or
    ``solver.lns_stall`` windows in a row at the largest size gave nothing.

    Returns
    -------
    numpy.ndarray
        The best plan (``x`` itself when nothing better was found).
    dict
        ``lns_windows``, ``lns_improved`` and ``lns_seconds`` for ``info``.
    """
    form, model = ctx.form, ctx.model
    n = form.n
    started = time.perf_counter()
    stop_at = min(ctx.deadline, started + solver.lns_time if solver.time_limit is None
                  else float("inf"))
    rng = np.random.default_rng(0)  # reproducible windows
    best_val = ctx.min_value(x)
    size_max = min(n, solver.lns_units)
    floor = min(64, size_max)
    size = max(floor, size_max // 4)
    windows = improved = stall = 0
    while True:
        left = min(stop_at - time.perf_counter(), ctx.left())
        if left < 0.3 or ctx.gap(best_val, bound_min) <= solver.gap:
            break
        if stall >= solver.lns_stall and size >= size_max:
            break
        free = _window(ctx, x, size, rng)
        sub = model.restrict(free, x)
        limit = min(left, max(solver.lns_window_time, 0.2))
        # The window's objective carries the fixed part's offset, so its relative gap is
        # taken small: a window's gains are a tiny share of the whole objective.
        hs = HighsSolver(strategy="mip", gap=min(solver.gap, 2.5e-5))
        run = hs.run_mip(sub, warm_start=sub.complete(x[free]), time_limit=limit)
        windows += 1
        gain = False
        if run.values is not None:
            xc = x.copy()
            xc[free] = np.round(np.clip(run.values[: free.size], 0, 1))
            v = ctx.min_value(xc)
            if v < best_val - 1e-9 * max(1.0, abs(best_val)) and ctx.feasible(xc):
                x, best_val, gain = xc, v, True
                improved += 1
        # Grow while the MIPs finish quickly; shrink when they run out of time.
        if run.status == "optimal" and run.seconds < 0.5 * limit:
            size = min(size_max, int(size * 1.5) + 1)
        elif run.status != "optimal":
            size = max(floor, int(size * 0.7))
        stall = 0 if gain else stall + 1
        if windows % 10 == 0 or gain:
            ctx.say(f"cut: lns window {windows} ({free.size} units, {run.status}, "
                    f"{run.seconds:.2f} s) best {form.sigma * best_val + model.offset:.10g} "
                    f"gap {ctx.gap(best_val, bound_min):.3%} {ctx.elapsed():.2f} s")
    return x, {"lns_windows": windows, "lns_improved": improved,
               "lns_seconds": round(time.perf_counter() - started, 3)}


def _window(ctx: CutContext, x: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` connected units (sorted), breadth-first from a seed on the plan's frontier.

    The seed is an end of a random cut edge (a plan without one seeds anywhere); a
    component smaller than ``size`` is filled up with other frontier units.
    """
    form = ctx.form
    cut_e = np.flatnonzero(x[form.ei] != x[form.ej])
    if cut_e.size:
        e = cut_e[rng.integers(cut_e.size)]
        seed = int(form.ei[e] if rng.random() < 0.5 else form.ej[e])
    else:
        seed = int(rng.integers(form.n))
    # scipy.sparse.csgraph loads scipy.sparse.linalg (0.1 s): imported by the one step that
    # walks the graph, so solving without the cut solver's LNS never does (start-up, issue 23)
    from scipy.sparse.csgraph import breadth_first_order

    order = breadth_first_order(ctx.pair_w, seed, directed=True, return_predecessors=False)
    free = np.sort(order[:size])
    if free.size < size:
        extra = np.setdiff1d(np.unique(np.concatenate([form.ei[cut_e], form.ej[cut_e]])), free)
        free = np.union1d(free, extra[: size - free.size])
    return free
