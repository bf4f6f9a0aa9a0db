"""A bound and a plan for large zoned max-utility problems: Lagrangian over the zones' area caps.

The zoned model's LP is large (a column per unit and zone, the boundary products and their
valid inequalities): at 22,425 units HiGHS's LP alone outlasts 60 s, and the MIP then has no
bound. But the zoned problem has a relaxation that the plain solvers answer in a second:

    L(mu) = sum_z mu_z cap_z + max_x [ sum_j max_z (v_jz - mu_z a_j) x_j - lambda perim(x) ]

over the problem's own budgets, locks and boundary penalty, where ``v_jz`` is unit ``j``'s
value in zone ``z`` (`optimizer.model.zones.ZonedProblem.zone_values`), ``a_j`` its new
area and ``mu_z >= 0`` a price on each capped zone's area (``max_km2``). Dropping the zones'
own perimeters, minimum areas and targets only loosens it, and for any ``mu >= 0`` every
zoned plan scores at most ``L(mu)``: the inner maximum is a plain problem (the unit values
through a linear term, `Problem.add_linear_penalty`) solved by the usual backends, whose
proven bound keeps ``L`` a bound. `lagrangian_zones` searches ``mu`` by bisection on each
capped zone's subgradient (cap minus the area whose best zone is that zone), keeps the
smallest ``L`` and, from each inner plan with units in their best zones, the best zoned
plan that keeps every constraint (`optimizer.plan.zoned.zoned_violations`), scored by
`optimizer.plan.zoned.zoned_objective`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.model.compile import budget_coefficients
from optimizer.model.zones import ZonedProblem
from optimizer.plan.solving import solve
from optimizer.plan.zoned_evaluation import zoned_objective, zoned_violations
from optimizer.solvers.base import stop_requested

if TYPE_CHECKING:
    from optimizer.model.problem import Problem

__all__ = ["LagrangianZones", "lagrangian_applies", "lagrangian_zones", "repair_caps"]

#: Bisection steps per capped zone and round.
STEPS = 10
#: Rounds over the capped zones (one is enough with one cap).
ROUNDS = 2


@dataclass
class LagrangianZones:
    """What `lagrangian_zones` found.

    Attributes
    ----------
    bound : float
        The smallest ``L(mu)`` evaluated: no zoned plan scores more (NaN if none).
    zone : numpy.ndarray or None
        The best zoned plan found that keeps every constraint (zone per unit, -1 none).
    objective : float
        Its objective (`zoned_objective`), NaN without a plan.
    mu : dict of str to float
        The zone prices of the smallest bound.
    evaluations : int
        Plain solves run.
    seconds : float
    """

    bound: float = float("nan")
    zone: np.ndarray | None = None
    objective: float = float("nan")
    mu: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0
    seconds: float = 0.0


def lagrangian_applies(zp: ZonedProblem) -> bool:
    """Whether `lagrangian_zones` takes the problem: max utility with a zone area cap."""
    p = zp.problem
    return (p.objective is not None and p.objective.kind == "max_utility"
            and any(np.isfinite(z.max_km2) for z in zp.zones))


def _inner(zp: ZonedProblem, values: np.ndarray, mu: np.ndarray, area: np.ndarray
           ) -> tuple[Problem, np.ndarray]:
    """The plain problem of ``L(mu)`` and each unit's best zone in it."""
    priced = np.where(zp.allowed, values - mu[:, None] * area[None, :], -np.inf)
    best_zone = np.argmax(priced, axis=0)
    best = priced[best_zone, np.arange(priced.shape[1])]
    p = zp.problem
    stranded = ~zp.allowed.any(axis=0)
    best = np.where(stranded, 0.0, best)
    # unit_obj += (-1) * 1 * amount for max: amount = -(best - v_j) gives the unit `best`.
    inner = p.add_linear_penalty(-(best - p.unit_values()), 1.0, label="zone prices")
    if stranded.any():
        inner = inner.add_locked_out(mask=stranded, label="no zone allowed")
    return inner, best_zone


def repair_caps(zp: ZonedProblem, zone: np.ndarray, values: np.ndarray, area: np.ndarray
                ) -> np.ndarray:
    """Move units out of zones over their ``max_km2``: each over-cap zone gives up the units
    that lose least by moving to another allowed zone with room (or, when none has room and
    the unit need not be selected, by leaving the plan), until it fits.

    A heuristic (a plan to start from, checked by the caller): vectorised per zone, at most
    ``k`` passes.
    """
    zone = zone.copy()
    caps = np.array([z.max_km2 for z in zp.zones])
    for _ in range(zp.k):
        used = np.array([float(area[zone == z].sum()) for z in range(zp.k)])
        over = np.flatnonzero(used > caps * (1 + 1e-9))
        if over.size == 0:
            break
        for z in over:
            units = np.flatnonzero(zone == z)
            room = caps - np.array([float(area[zone == y].sum()) for y in range(zp.k)])
            # Each unit's best other zone that has room for it (none: leave the plan).
            alt_val = np.where(zp.allowed[:, units] & (room[:, None] >= area[units][None, :]),
                               values[:, units], -np.inf)
            alt_val[z] = -np.inf
            alt = np.argmax(alt_val, axis=0)
            best_alt = alt_val[alt, np.arange(units.size)]
            can_drop = ~zp.must_select[units]
            target = np.where(np.isfinite(best_alt), alt,
                              np.where(can_drop, -1, z))
            loss = values[z, units] - np.where(np.isfinite(best_alt), best_alt, 0.0)
            movable = target != z
            order = np.argsort(np.where(movable, loss, np.inf), kind="stable")
            excess = used[z] - caps[z]
            freed = np.cumsum(area[units][order])
            take = order[: int(np.searchsorted(freed, excess - 1e-12)) + 1]
            take = take[movable[take]]
            zone[units[take]] = target[take]
    return zone


def lagrangian_zones(zp: ZonedProblem, *, deadline: float = float("inf"),
                     solver: str = "auto", gap: float = 1e-4,
                     log: Any = None) -> LagrangianZones:
    """Search the zone prices ``mu`` for the smallest bound and the best plan on the way.

    Parameters
    ----------
    zp : ZonedProblem
        Max utility with at least one zone area cap (`lagrangian_applies`).
    deadline : float
        ``time.perf_counter()`` value by which to stop (each plain solve gets what is left).
    solver : str
        The plain solves' backend (``auto``: the cut solver with a boundary penalty).
    gap : float
        The plain solves' gap (their proven bounds make ``L``).
    log : callable, optional
        Called with one line per evaluation.

    Returns
    -------
    LagrangianZones

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> from optimizer.plan.zoned import solve_zones
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> zp = zoned_problem(p, [Zone("core", max_km2=1), Zone("general", {"carbon": 0.5})])
    >>> lz = lagrangian_zones(zp)
    >>> best = solve_zones(zp, gap=0.0, method="mip").objective
    >>> round(lz.objective, 4), round(best, 4), lz.bound >= best - 1e-9
    (0.3793, 0.3793, True)
    """
    started = time.perf_counter()
    p = zp.problem
    values = zp.zone_values()
    area = budget_coefficients(p, "total", "total", remainders="count")
    capped = [z for z, zone in enumerate(zp.zones) if np.isfinite(zone.max_km2)]
    caps = np.array([zp.zones[z].max_km2 for z in range(zp.k)])
    out = LagrangianZones()
    mu = np.zeros(zp.k)
    # Beyond hi a zone is worth nothing to any unit: the search's upper end.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(area > 0, values / np.maximum(area, 1e-300), 0.0)
    hi_start = np.maximum(ratio.max(axis=1), 0.0) + 1e-12

    def evaluate(m: np.ndarray) -> np.ndarray | None:
        """L(m): record the bound and the plan; the capped zones' subgradients."""
        left = deadline - time.perf_counter()
        if left <= 0 or stop_requested():
            return None
        inner, best_zone = _inner(zp, values, m, area)
        sol = solve(inner, solver, gap=gap, time_limit=None if not np.isfinite(left) else left)
        out.evaluations += 1
        x = np.asarray(sol.x) > 0.5
        zone = np.where(x, best_zone, -1).astype(np.int64)
        used = np.array([float(area[zone == z].sum()) for z in range(zp.k)])
        finite = np.isfinite(caps)
        bound = float(np.sum(m[finite] * caps[finite])) + float(sol.bound)
        if np.isfinite(bound) and not bound >= out.bound:
            out.bound, out.mu = bound, {zp.names[z]: float(m[z]) for z in capped}
        if zoned_violations(zp, zone):
            zone = repair_caps(zp, zone, values, area)
        if not zoned_violations(zp, zone):
            obj = zoned_objective(zp, zone)
            if out.zone is None or obj > out.objective:
                out.zone, out.objective = zone, obj
        if log is not None:
            log(f"zone prices {np.round(m, 12).tolist()}: bound {bound:.6g}, plan "
                f"{out.objective:.6g}")
        return np.where(finite, caps - used, 0.0)

    g = evaluate(mu)
    if g is not None and any(g[z] < 0 for z in capped):  # a cap binds: price it
        for _ in range(ROUNDS if len(capped) > 1 else 1):
            for z in capped:
                lo, hi = 0.0, float(hi_start[z])
                for _ in range(STEPS):
                    mu[z] = 0.5 * (lo + hi)
                    g = evaluate(mu)
                    if g is None:
                        break
                    if g[z] < 0:  # over the cap: raise its price
                        lo = mu[z]
                    else:
                        hi = mu[z]
                if g is None:
                    break
                mu[z] = hi  # the price at which the cap held
            if g is None:
                break
    out.seconds = time.perf_counter() - started
    return out
