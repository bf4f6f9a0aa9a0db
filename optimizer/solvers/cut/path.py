"""Single-budget models: the parametric cut over the budget's multiplier.

With one area budget and no other rows (max utility + boundary) the multiplier
``lambda`` of the budget gives nested plans as it grows. A sweep of ``lambda``
(divide and conquer: each interval is solved only on the units between its two
nested plans, with the rest fixed, so a level of the sweep costs about one full
cut) yields the nested *path*; the bracket around the budget is refined with the
Eisner-Severance (Newton) step until the dual optimum (a breakpoint) is found; the
leftover budget is filled greedily. ``info["path"]`` and per-unit
``info["unit_rank"]`` / ``info["unit_entry_lambda"]`` answer "what does budget B
protect" instantly through `plan_for_budget`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import InputDataError
from optimizer.model.compile import budget_coefficients
from optimizer.solvers.base import BudgetPath, Solution

if TYPE_CHECKING:
    import pandas as pd
from optimizer.solvers.cut.block import bracket, improve_in_block
from optimizer.solvers.cut.context import CutContext, row_labels
from optimizer.solvers.cut.form import CutForm
from optimizer.solvers.cut.mincut import cut_on

Plan = tuple[np.ndarray, float, float]  # (x, area, F0): a plan, its area and its min-form value


class ParametricPath:
    """Cuts of ``F0(x) + lam a x`` for one budget row ``a x <= budget``, recorded as a path.

    ``entry`` holds each unit's entry lambda: the largest lambda at which a computed
    plan holds it (plans are nested, so the plan at any computed lambda is
    ``{entry >= lambda}``); ``points`` one ``(lambda, area, F0, units)`` per cut;
    ``bound`` the best Lagrangian value ``F0(x) + lam (a x - budget)`` seen.
    """

    def __init__(self, ctx: CutContext, a: np.ndarray, budget: float) -> None:
        self.ctx, self.form, self.a, self.budget = ctx, ctx.form, a, budget
        self.points: list[tuple[float, float, float, int]] = []
        self.budget_free = False  # True: the path for every budget (`nested_path`)
        self.entry = np.full(self.form.n, -np.inf)
        self.cuts = 0
        self.bound = -np.inf

    def at(self, lam: float, sub: np.ndarray, base: Plan, edges: np.ndarray | None = None
           ) -> tuple[Plan, np.ndarray]:
        """The plan at ``lam``, changing only ``sub`` from ``base``; and the terms touching ``sub``."""
        form, a = self.form, self.a
        xb, area_b, val_b = base
        x, eidx = cut_on(form, form.unary + lam * a, sub, xb, edges)
        self.cuts += 1
        # Value and area change only on sub and the terms touching it.
        d = x[sub] - xb[sub]
        ei, ej = form.ei[eidx], form.ej[eidx]
        val = val_b + float(form.unary[sub] @ d) + float(
            form.w[eidx] @ (np.abs(x[ei] - x[ej]) - np.abs(xb[ei] - xb[ej])))
        area = area_b + float(a[sub] @ d)
        on = x[sub] > 0.5
        self.entry[sub[on]] = np.maximum(self.entry[sub[on]], lam)
        self.points.append((lam, area, val, -1))
        return (x, area, val), eidx

    @staticmethod
    def crossing(pa: Plan, pb: Plan) -> float:
        """Where the lines ``F0(x) + lam a x`` of two nested plans cross."""
        da = pa[1] - pb[1]
        return (pb[2] - pa[2]) / da if da > 0 else np.inf

    @staticmethod
    def is_breakpoint(lm: float, pm: Plan, pa: Plan) -> bool:
        """No plan beats the two lines at ``lm``: both ends are optimal there."""
        vm = pm[2] + lm * pm[1]
        va = pa[2] + lm * pa[1]
        return vm >= va - 1e-10 * max(1.0, abs(va))

    def between(self, pa: Plan, pb: Plan, eidx: np.ndarray) -> tuple[float, Plan, np.ndarray]:
        """The plan where the lines of ``pa`` and ``pb`` cross, solved on the units between them."""
        lm = self.crossing(pa, pb)
        sub = np.flatnonzero((pa[0] > 0.5) & (pb[0] < 0.5))
        pm, em = self.at(lm, sub, pb, eidx)
        self.bound = max(self.bound, pm[2] + lm * (pm[1] - self.budget))
        return lm, pm, em

    def sweep(self, p0: Plan, lam_top: float, p_top: Plan, e_top: np.ndarray) -> tuple:
        """Split intervals at the lines' crossing until each spans little area.

        Each interval is solved only on the units between its two nested plans.
        Returns the interval ``(la, pa, lb, pb, edges, breakpoint or None)`` that
        holds the budget.
        """
        budget, points = self.budget, self.ctx.solver.path_points
        resolution = (p0[1] - p_top[1]) / max(points, 1)
        # Large models: only the intervals that hold the budget (see CutSolver.path_units).
        whole = self.budget_free or self.form.n <= self.ctx.solver.path_units
        stack = [(0.0, p0, lam_top, p_top, e_top)]
        holding: tuple[Any, ...] | None = None
        while stack:
            la, pa, lb, pb, eidx = stack.pop()
            straddle = pa[1] > budget >= pb[1]
            if straddle:
                holding = (la, pa, lb, pb, eidx, None)
            if points <= 0 or pa[1] - pb[1] <= resolution or self.ctx.left() <= 0 or (
                    not whole and not straddle):
                continue
            lm, pm, em = self.between(pa, pb, eidx)
            if self.is_breakpoint(lm, pm, pa):
                if straddle:
                    holding = (la, pa, lb, pb, em, lm)
                continue
            stack.append((la, pa, lm, pm, em))
            stack.append((lm, pm, lb, pb, em))
        assert holding is not None  # area0 > budget >= area(x_top) = 0
        return holding

    def refine(self, holding: tuple) -> tuple[float, Plan, Plan]:
        """Eisner-Severance steps in the interval that holds the budget, until a breakpoint.

        Returns the multiplier and the two plans of the bracket (the second within budget).
        """
        ctx, budget = self.ctx, self.budget
        _la, pa, lb, pb, eidx, found = holding
        if found is not None:
            return found, pa, pb
        lam_star = lb
        while ctx.left() > 0:
            lm, pm, eidx = self.between(pa, pb, eidx)
            if self.is_breakpoint(lm, pm, pa):
                return lm, pa, pb
            if pm[1] > budget:
                pa = pm
            else:
                pb = pm
                lam_star = lm
            ctx.say(f"cut: lambda {lm:.6g} area {pm[1]:.6g} (budget {budget:.6g}) "
                    f"{ctx.elapsed():.2f} s")
        return lam_star, pa, pb

    def bracket(self, p0: Plan) -> tuple[float, Plan, Plan]:
        """The budget's multiplier and the nested plans around it, from the plan at 0."""
        form, a, n = self.form, self.a, self.form.n
        # Above lam_top no unit with positive area pays for itself, even with every
        # neighbour selected, so only zero-area units stay.
        deg = np.bincount(form.ei, form.w, minlength=n) + np.bincount(form.ej, form.w, minlength=n)
        pos = a > 0
        lam_top = float(np.max((-form.unary[pos] + deg[pos]) / a[pos], initial=0.0))
        lam_top = max(lam_top, 0.0) * (1 + 1e-9) + 1e-12
        zero = np.zeros(n)
        p_top, e_top = self.at(lam_top, np.flatnonzero(p0[0] > 0.5), (zero, 0.0, 0.0))
        lam_star, pa, pb = self.refine(self.sweep(p0, lam_top, p_top, e_top))
        # L(lam) = min_x F0(x) + lam (a x - B); pb is a minimiser at lam_star.
        self.bound = max(self.bound, pb[2] + lam_star * (pb[1] - self.budget))
        return lam_star, pa, pb

    def table(self) -> pd.DataFrame:
        """The path: one row per computed lambda (area, units, objective)."""
        import pandas as pd  # for people only: solving needs no pandas (start-up, issue 23)

        path = pd.DataFrame(self.points, columns=["lambda", "area", "min_value", "units"])
        path["units"] = [int((self.entry >= lam).sum()) for lam in path["lambda"]]
        path = (path.sort_values(["lambda", "area"], ascending=[True, False])
                .drop_duplicates("lambda").reset_index(drop=True))
        path["objective"] = self.form.sigma * path["min_value"] + self.ctx.model.offset
        return path.drop(columns="min_value")

    def unit_info(self) -> dict[str, np.ndarray]:
        """Per unit: entry lambda, rank (by entry lambda, last to leave first, ties by
        value per area), area and locked-in flag, for `plan_for_budget`."""
        form, a, entry, model = self.form, self.a, self.entry, self.ctx.model
        cols = model.unit_of_col[:form.n]
        unit_entry = np.full(model.n_units, np.nan)
        unit_entry[cols] = np.where(np.isfinite(entry) | (entry > 0), entry, np.nan)
        unit_rank = np.full(model.n_units, -1, dtype=np.int64)
        ratio = -form.unary / np.where(a > 0, a, 1e-12)
        order = np.lexsort((-ratio, -entry))
        order = order[entry[order] > -np.inf]
        unit_rank[cols[order]] = np.arange(order.size)
        unit_area = np.zeros(model.n_units)
        unit_area[cols] = a
        return {"unit_entry_lambda": unit_entry, "unit_rank": unit_rank, "unit_area": unit_area,
                "unit_locked_in": model.x_fixed == 1.0}


def solve_single_budget(ctx: CutContext, row: int, a: np.ndarray, budget: float
                        ) -> tuple[np.ndarray, float, dict[str, Any], str, np.ndarray]:
    """Parametric cut over the budget multiplier.

    Returns
    -------
    tuple
        The plan, the min-form bound, ``info`` (with the path), the strategy name and
        the guide for the polish (0.5 on the units between the bracket's two plans).
    """
    form = ctx.form
    t0 = time.perf_counter()
    path = ParametricPath(ctx, a, budget)
    p0, _ = path.at(0.0, np.arange(form.n), (np.zeros(form.n), 0.0, 0.0))
    path.bound = p0[2]  # L(0)
    fits = p0[1] <= budget + ctx.tol[row]
    if fits:
        ctx.say(f"cut: the unconstrained plan fits the budget ({p0[1]:.6g} <= {budget:.6g})")
        lam_star, pa, pb = 0.0, p0, p0
    else:
        lam_star, pa, pb = path.bracket(p0)
    x_fill = pb[0]
    if not fits:
        # Whole components of the bracket's difference: each is a minimiser with pb at
        # lam_star, so the budget is filled at (nearly) no cost over the bound.
        x_fill, n_comp = fill_components(form, a, pa[0], pb[0], budget - float(a @ pb[0]))
        ctx.say(f"cut: {n_comp} component(s) between the bracket's plans; filled "
                f"{float(a @ (x_fill - pb[0])):.6g} of {budget - pb[1]:.6g} left")
    x_fill = ctx.add_improving(x_fill)  # fill the leftover budget greedily
    val = form.value(x_fill)
    seconds = time.perf_counter() - t0
    ctx.say(f"cut: {path.cuts} cuts, plan {val:.10g}, bound {path.bound:.10g}, {seconds:.2f} s")
    info: dict[str, Any] = {
        "cuts": path.cuts, "cut_seconds": round(seconds, 3), "lambda": lam_star,
        "path": path.table(), **path.unit_info(), "budget_row": row_labels(ctx.model)[row],
    }
    guide = x_fill.copy()
    if not fits:  # undecided: between the bracket's two plans and not taken
        guide[(pa[0] > 0.5) & (pb[0] < 0.5) & (x_fill < 0.5)] = 0.5
    return x_fill, path.bound, info, "cut-parametric", guide


def fill_components(form: CutForm, a: np.ndarray, xa: np.ndarray, xb: np.ndarray,
                    slack: float) -> tuple[np.ndarray, int]:
    """``xb`` plus whole connected components of ``xa - xb`` that lower the min form and fit
    ``slack`` (area of row ``a``).

    Two nested plans ``xb <= xa`` that both minimise ``F0 + lambda a x`` differ by
    components (connected through positive pairwise weights) that are independent: each
    adds ``F0`` change ``d0`` (its unaries plus ``w (1 - 2 xb)`` over its edges leaving the
    difference), and with both plans minimisers every ``d0 + lambda area`` is 0, so
    ``xb`` plus any union of them is a minimiser too, and its gap to the Lagrangian bound
    is ``lambda`` times the area left unused. The components that lower ``F0`` are packed
    first-fit, largest first and, separately, best ``-d0`` per area first; the better
    packing is kept. Vectorised: one connected-components pass and a few prefix sums.

    Returns
    -------
    numpy.ndarray
        The filled plan (``xb`` when nothing fits).
    int
        Number of components of the difference.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    diff = (xa > 0.5) & (xb < 0.5)
    units = np.flatnonzero(diff)
    if units.size == 0 or slack <= 0:
        return xb.copy(), 0
    pos = np.full(form.n, -1, dtype=np.int64)
    pos[units] = np.arange(units.size)
    di, dj = diff[form.ei], diff[form.ej]
    both = di & dj & (form.w > 0)
    g = coo_matrix((np.ones(int(both.sum()), dtype=np.int8),
                    (pos[form.ei[both]], pos[form.ej[both]])), shape=(units.size, units.size))
    n_comp, lab = connected_components(g, directed=False)
    d0 = np.bincount(lab, form.unary[units], minlength=n_comp)
    one = di != dj
    e_in = np.where(di[one], form.ei[one], form.ej[one])
    e_out = np.where(di[one], form.ej[one], form.ei[one])
    d0 += np.bincount(lab[pos[e_in]], form.w[one] * (1.0 - 2.0 * xb[e_out]), minlength=n_comp)
    area = np.bincount(lab, a[units], minlength=n_comp)
    cand = np.flatnonzero(d0 < 0)
    best_take, best_d = np.zeros(0, dtype=np.int64), 0.0
    for order in (np.argsort(-area[cand], kind="stable"),
                  np.argsort(d0[cand] / np.maximum(area[cand], 1e-300), kind="stable")):
        take = _first_fit(area, cand[order], slack)
        d = float(d0[take].sum())
        if d < best_d:
            best_take, best_d = take, d
    x = xb.copy()
    chosen = np.zeros(n_comp, dtype=bool)
    chosen[best_take] = True
    x[units[chosen[lab]]] = 1.0
    return x, n_comp


def _first_fit(size: np.ndarray, order: np.ndarray, slack: float, phases: int = 256
               ) -> np.ndarray:
    """Items of ``order`` taken first-fit (in order, skipping those that no longer fit)
    into ``slack``: each phase takes the longest prefix that fits, then drops the items
    too large for what is left."""
    taken = []
    left = slack
    for _ in range(phases):
        order = order[size[order] <= left]
        if order.size == 0:
            break
        cum = np.cumsum(size[order])
        k = int(np.searchsorted(cum, left, side="right"))  # >= 1: the first fits
        taken.append(order[:k])
        left -= float(cum[k - 1])
        order = order[k:]
    return np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)


def plan_for_budget(solution: Solution | BudgetPath | dict[str, Any], budget_km2: float, *,
                    problem: Any = None) -> np.ndarray:
    """The compact plan for another budget, from a cut solution's nested path (no solve).

    Parameters
    ----------
    solution : Solution, BudgetPath or dict
        A `CutSolver` solution of a single-budget model, its `Solution.budget_path`, or
        its ``info``.
    budget_km2 : float
        The budget, counted as the model's budget row counts it: new area of the
        free units. With ``problem`` given, the budget is the problem's total (what the
        locked-in units spend of it is taken off first:
        `optimizer.model.compile.budget_coefficients`).
    problem : Problem, optional
        The problem solved (to count locked-in area).

    Returns
    -------
    numpy.ndarray
        Per unit 0/1 (locked-in units 1): every unit that enters the path at or
        before the largest breakpoint plan within the budget, then units of the
        next tier, best value per area first, while they fit.

    Examples
    --------
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.solvers import plan_for_budget
    >>> pu = tiny_grid()
    >>> p = (problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    ...      .add_boundary_penalty(1e-3))
    >>> sol = solve(p, "cut")  # one solve gives the nested path of plans
    >>> [pu.units["pu_id"][plan_for_budget(sol, km2) > 0.5].tolist() for km2 in (1, 3, 4)]
    [[1, 4], [1, 2, 4, 5], [1, 2, 3, 4, 5]]
    """
    info = (solution.info if isinstance(solution, Solution)
            else solution.to_info() if isinstance(solution, BudgetPath) else solution)
    if "unit_rank" not in info:
        raise InputDataError("plan_for_budget needs a cut solution of a single-budget model "
                             "(info has no 'unit_rank'); solve with solver='cut'")
    rank = np.asarray(info["unit_rank"])
    area = np.asarray(info["unit_area"])
    locked = np.asarray(info["unit_locked_in"], dtype=bool)
    budget = float(budget_km2)
    if problem is not None:  # what the locked-in units spend of it (the budget's own measure)
        budget -= float(budget_coefficients(problem, "total", "total")[locked].sum())
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


def nested_path(ctx: CutContext, a: np.ndarray) -> tuple[ParametricPath, float]:
    """The nested path of plans over every budget, independent of the budget.

    The sweep of `ParametricPath.sweep` from ``lambda = 0`` (the unconstrained plan) to
    the multiplier at which nothing of positive area is worth its area, without the
    refinement around one budget, so the path (and every plan read from it) is the
    same whatever the model's budget. Returns the path and the Lagrangian value at 0.
    """
    form, n = ctx.form, ctx.form.n
    path = ParametricPath(ctx, a, 0.0)
    path.budget_free = True
    p0, _ = path.at(0.0, np.arange(n), (np.zeros(n), 0.0, 0.0))
    if p0[1] > 0:
        deg = (np.bincount(form.ei, form.w, minlength=n)
               + np.bincount(form.ej, form.w, minlength=n))
        pos = a > 0
        lam_top = float(np.max((-form.unary[pos] + deg[pos]) / a[pos], initial=0.0))
        lam_top = max(lam_top, 0.0) * (1 + 1e-9) + 1e-12
        p_top, e_top = path.at(lam_top, np.flatnonzero(p0[0] > 0.5), (np.zeros(n), 0.0, 0.0))
        path.sweep(p0, lam_top, p_top, e_top)
    return path, p0[2]


def path_bound(info: dict[str, Any], budget: float) -> float:
    """The min-form Lagrangian bound at ``budget`` from a path's cuts (each a minimiser
    of ``F0(x) + lambda a x`` at its lambda): ``max F0 + lambda (area - budget)``."""
    points = info["path_points"]
    return float(np.max(points[:, 2] + points[:, 0] * (points[:, 1] - budget)))


def read_plan(ctx: CutContext, info: dict[str, Any], budget: float) -> np.ndarray:
    """The plan (cut-form columns) for ``budget`` from a nested path's ``info``: the
    path's plan for the budget (`plan_for_budget`), then the units that still pay for
    themselves and fit, added greedily (`CutContext.add_improving`), then the breakpoint
    block around the budget solved by a small deterministic MIP
    (`optimizer.solvers.cut.block.improve_in_block`). Deterministic."""
    cols = ctx.model.unit_of_col[:ctx.form.n]
    x = ctx.add_improving(plan_for_budget(info, budget)[cols])
    entry = np.asarray(info["unit_entry_lambda"], dtype=np.float64)[cols]
    a = np.asarray(info["unit_area"], dtype=np.float64)[cols]
    pb, pa = bracket(entry, a, budget)
    x, block_info = improve_in_block(ctx, x, pb, pa, block_units=ctx.solver.block_units)
    info.update(block_info)
    return x


def solve_nested_path(ctx: CutContext, row: int, a: np.ndarray, budget: float
                      ) -> tuple[np.ndarray, float, dict[str, Any], str, np.ndarray]:
    """The plan read from the budget-independent nested path (`nested_path`, `read_plan`)
    with the path's Lagrangian bound (`path_bound`); same returns as `solve_single_budget`."""
    t0 = time.perf_counter()
    path, _ = nested_path(ctx, a)
    info: dict[str, Any] = {
        "cuts": path.cuts, "lambda": float("nan"), "path": path.table(), **path.unit_info(),
        "path_points": np.array([p[:3] for p in path.points], dtype=np.float64),
        "budget_row": row_labels(ctx.model)[row]}
    x = read_plan(ctx, info, budget)
    info["cut_seconds"] = round(time.perf_counter() - t0, 3)
    bound = path_bound(info, budget)
    ctx.say(f"cut: nested path of {path.cuts} cuts, plan {ctx.form.value(x):.10g}, bound "
            f"{bound:.10g}, {time.perf_counter() - t0:.2f} s")
    return x, bound, info, "cut-nested-path", x.copy()
