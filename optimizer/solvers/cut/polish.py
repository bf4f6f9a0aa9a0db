"""The HiGHS MIP polish of a cut plan over its undecided units.

Units whose averaged cut solutions are not firm, or disagree with the plan, and
both sides of the plan's boundary stay free; every other unit is fixed at the
plan (`optimizer.model.compile.CompiledModel.restrict`) and a HiGHS MIP, warm-started
from the plan, re-optimises the free ones. When every unit is free the MIP's bound
(or its infeasibility) holds for the whole model.
"""

from __future__ import annotations

import numpy as np

from optimizer.solvers.cut.context import CutContext, CutSettings
from optimizer.solvers.highs import HighsSolver


def polish(ctx: CutContext, best: np.ndarray | None, guide: np.ndarray, solver: CutSettings
            ) -> tuple[np.ndarray | None, float, bool, str]:
    """HiGHS MIP over the undecided units (others fixed at the best plan), warm-started.

    Returns the plan (or None), the MIP's bound in the model's sense, whether every
    unit was free (so the bound and an infeasible status hold for the whole model)
    and the MIP's status.
    """
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
    run = hs.run_mip(sub, warm_start=warm, time_limit=limit, log=log)
    ctx.say(f"cut: polish MIP on {free.size} of {n} units: {run.status} in {run.seconds:.2f} s")
    if run.values is None:
        return None, run.bound, whole, run.status
    x = base.copy()
    x[free] = np.round(np.clip(run.values[: free.size], 0, 1))
    return x, run.bound, whole, run.status
