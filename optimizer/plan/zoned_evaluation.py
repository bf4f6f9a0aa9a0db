"""A zoned plan measured from the problem, not from the compiled model: its objective, what it
breaks, each zone's area and perimeter, and each feature's amount held per zone.

`zoned_objective` and `zoned_violations` are the second formula `optimizer.plan.zoned.solve_zones`
checks every backend's answer against; `zone_areas` and `zone_representation` are the tables
``carbonpark solve`` writes (``zones.csv``, ``zone_representation.csv``) and sums into
``summary.json``'s ``zones``. A plan is each unit's zone (-1: not selected), or a
`optimizer.plan.zoned.ZonedPlan`'s ``zone``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.model.compile import budget_coefficients
from optimizer.model.costs import cost_budget_coefficients
from optimizer.model.zones import ZonedProblem

__all__ = ["zone_areas", "zone_representation", "zoned_objective", "zoned_violations"]


def _zone_of(plan: Any) -> np.ndarray:
    """The zone vector of a plan: a `ZonedPlan` (its ``zone``) or an array."""
    return plan.zone if hasattr(plan, "zone") else np.asarray(plan)


def _zone_matrix(zp: ZonedProblem, zone: np.ndarray) -> np.ndarray:
    """``(k, n)`` 0/1: unit ``j`` in zone ``z``."""
    zone = np.asarray(zone)
    return (zone[None, :] == np.arange(zp.k)[:, None]).astype(np.float64)


def _check_zone(zp: ZonedProblem, zone: np.ndarray) -> np.ndarray:
    zone = np.asarray(zone)
    if zone.shape != (zp.problem.n_units,) or not np.issubdtype(zone.dtype, np.integer):
        raise InputDataError(f"zone must be an integer array of the {zp.problem.n_units} units' "
                             f"zones (-1 for none); got shape {zone.shape} of {zone.dtype}")
    if zone.min(initial=-1) < -1 or zone.max(initial=-1) >= zp.k:
        raise InputDataError(f"zone values must be -1 (not selected) to {zp.k - 1}; got "
                             f"{zone.min()} to {zone.max()}")
    return zone


def zoned_objective(zp: ZonedProblem, zone: np.ndarray) -> float:
    """The objective of a zoned plan, computed from the problem (not the compiled model).

    Max utility: ``sum_f w_f / R_f sum_j c_{z(j) f} r_fj (1 - p_j)`` less the penalties;
    min set: ``sum_j cost_factor_{z(j)} cost_j`` plus the penalties; min shortfall:
    ``sum_t w_t short_t / T_t`` plus the penalties. The boundary penalty prices the
    perimeter of the whole selection and each zone's ``boundary_penalty`` its own
    perimeter (`optimizer.model.zones`).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    >>> zp = zoned_problem(p, [Zone("core", cost_factor=2.0), Zone("general")])
    >>> zoned_objective(zp, np.array([0, 0, 1, -1, -1, -1]))  # cell 1 costs 0; 2 x 1 + 1
    3.0
    """
    zone = _check_zone(zp, zone)
    p = zp.problem
    assert p.objective is not None
    kind = p.objective.kind
    sign = -1.0 if kind == "max_utility" else 1.0  # penalties lower a max objective
    Z = _zone_matrix(zp, zone)
    u = Z.sum(axis=0)
    unprot = 1.0 - p.protected_fraction
    value = 0.0
    if kind == "max_utility":
        for f, w in p.utility_weights().items():
            r = p.feature_amount(f)
            if r.sum() != 0:
                held = (zp.contribution[:, zp.features.index(f)] @ Z) * r * unprot
                value += w / float(r.sum()) * float(held.sum())
    elif kind == "min_set":
        factors = np.array([z.cost_factor for z in zp.zones])
        value += float((factors @ Z) @ p.cost)
    else:
        weights = dict(p.objective.weights)
        for t in p.targets:
            held = _held(zp, Z, t.feature)
            short = max(t.amount - held, 0.0)
            if t.amount > 0:
                value += weights.get(t.feature, 1.0) * short / t.amount
    for lp in p.linear_penalties:
        value += sign * lp.penalty * float(lp.amount @ u)
    bp = p.boundary_penalty
    lam = bp.penalty if bp is not None else 0.0
    ef = bp.edge_factor if bp is not None else 1.0
    w_zone = np.array([z.boundary_penalty for z in zp.zones])
    if lam > 0 or (w_zone > 0).any():
        i, j, length = p.pu.boundary_indices()
        exposed = np.nan_to_num(p.pu.units["exposed_km"].to_numpy(dtype=np.float64), nan=0.0)
        perim = float(length @ np.abs(u[i] - u[j]) + ef * exposed @ u)
        value += sign * lam * perim
        for z in range(zp.k):
            if w_zone[z] > 0:
                zz = Z[z]
                value += sign * w_zone[z] * float(length @ np.abs(zz[i] - zz[j])
                                                  + ef * exposed @ zz)
    return float(value)


def _held(zp: ZonedProblem, Z: np.ndarray, feature: str) -> float:
    """Amount of ``feature`` held: existing protection whole, added units as contributed."""
    p = zp.problem
    r = p.feature_amount(feature)
    share = zp.contribution[:, zp.features.index(feature)] @ Z
    return float((r * p.protected_fraction).sum() + (share * r * (1.0 - p.protected_fraction)).sum())


def zoned_violations(zp: ZonedProblem, zone: np.ndarray) -> list[str]:
    """What a zoned plan breaks (empty when it keeps every budget, target and lock).

    Computed from the problem, not the compiled model: the problem's budgets and
    targets, each zone's budget and targets, and the locks.
    """
    zone = _check_zone(zp, zone)
    p = zp.problem
    Z = _zone_matrix(zp, zone)
    u = Z.sum(axis=0)
    tol = 1e-7
    out: list[str] = []
    unprot = 1.0 - p.protected_fraction
    for b in p.budgets:
        used = float(budget_coefficients(p, b.scope, b.name, unprot) @ u)
        if used > b.max_km2 * (1 + tol) + tol or used < b.min_km2 * (1 - tol) - tol:
            out.append(f"budget {b.label}: {used:.6g} km² outside [{b.min_km2:g}, {b.max_km2:g}]")
    for cb in p.cost_budgets:
        used = float(cost_budget_coefficients(p, cb) @ u)
        if used > cb.max_cost * (1 + tol) + tol:
            out.append(f"cost budget {cb.cost}: {used:.6g} over {cb.max_cost:g}")
    area = p.area_km2 * unprot
    for zi, z in enumerate(zp.zones):
        a = float(area @ Z[zi])
        if a > z.max_km2 * (1 + tol) + tol or a < z.min_km2 * (1 - tol) - tol:
            out.append(f"zone {z.name}: {a:.6g} km² outside [{z.min_km2:g}, {z.max_km2:g}]")
    if p.objective is not None and p.objective.kind == "min_set":
        for t in p.targets:
            held = _held(zp, Z, t.feature)
            if held < t.amount * (1 - tol) - tol:
                out.append(f"target {t.feature}: {held:.6g} below {t.amount:.6g}")
    for zi, f, amount in zp.zone_targets:
        r = p.feature_amount(f)
        held = zp.factor(zi, f) * float((r * unprot) @ Z[zi])
        if held < amount * (1 - tol) - tol:
            out.append(f"zone {zp.zones[zi].name} target {f}: {held:.6g} below {amount:.6g}")
    outside = (zone >= 0) & ~zp.allowed[np.maximum(zone, 0), np.arange(zone.size)]
    if outside.any():
        out.append(f"{int(outside.sum())} unit(s) in a zone their locks exclude")
    missing = zp.must_select & (zone < 0)
    if missing.any():
        out.append(f"{int(missing.sum())} locked-in unit(s) in no zone")
    return out


def zone_areas(zp: ZonedProblem, plan: Any) -> pd.DataFrame:
    """Per zone: units, new km² (as the budgets count it) and the zone's perimeter (km).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    >>> zp = zoned_problem(p, [Zone("core"), Zone("general")])
    >>> t = zone_areas(zp, np.array([0, 0, 1, -1, -1, -1]))
    >>> t.loc["core"].tolist(), t.loc["general"].tolist()  # units, new km², perimeter km
    ([2.0, 1.0, 6.0], [1.0, 1.0, 4.0])
    """
    zone = _check_zone(zp, _zone_of(plan))
    p = zp.problem
    Z = _zone_matrix(zp, zone)
    area = p.area_km2 * (1.0 - p.protected_fraction)
    i, j, length = p.pu.boundary_indices()
    exposed = np.nan_to_num(p.pu.units["exposed_km"].to_numpy(dtype=np.float64), nan=0.0)
    perim = [float(length @ np.abs(Z[z][i] - Z[z][j]) + exposed @ Z[z]) for z in range(zp.k)]
    return pd.DataFrame({"units": Z.sum(axis=1).astype(np.int64), "new_km2": Z @ area,
                         "perimeter_km": perim},
                        index=pd.Index(list(zp.names), name="zone"))


def zone_representation(zp: ZonedProblem, plan: Any) -> pd.DataFrame:
    """Per feature the objective or a target uses: the amount each zone's added units hold
    (contributed), existing protection, the total held, and the target.

    Columns: ``total``, ``existing``, ``held_<zone>`` for each zone, ``held``, ``target``
    (NaN without one), ``held_share`` (``held / total``).
    """
    zone = _check_zone(zp, _zone_of(plan))
    p = zp.problem
    Z = _zone_matrix(zp, zone)
    unprot = 1.0 - p.protected_fraction
    targets = {t.feature: t.amount for t in p.targets}
    rows = []
    for fi, f in enumerate(zp.features):
        r = p.feature_amount(f)
        held_z = zp.contribution[:, fi] * (Z @ (r * unprot))
        existing = float((r * p.protected_fraction).sum())
        total = float(r.sum())
        row: dict[str, float | str] = {"feature": f, "total": total, "existing": existing}
        row.update({f"held_{name}": float(h) for name, h in zip(zp.names, held_z, strict=True)})
        held = existing + float(held_z.sum())
        row.update(held=held, target=targets.get(f, np.nan),
                   held_share=held / total if total else np.nan)
        rows.append(row)
    return pd.DataFrame(rows).set_index("feature")
