"""What a problem prints: a compact tree, as prioritizr prints its problems.

``print(problem)`` shows the formulation (data, objective, targets, budgets, locks,
penalties, solver); `problem_summary` is the same in one paragraph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from optimizer.grid.printing import crs_name, names, tree
from optimizer.inputs.roles import ROLES, feature_roles
from optimizer.model.objectives import OBJECTIVES, listed, objective_kind

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits
    from optimizer.model.parts import WeightQuantity
    from optimizer.model.problem import Problem


def _weights(weights: Sequence[tuple[str, float]]) -> str:
    """Target weights grouped by value: ``2 features (sp_a, sp_b) × 2``."""
    groups: dict[float, list[str]] = {}
    for k, w in weights:
        groups.setdefault(w, []).append(k)
    parts = [(f"{group[0]} × {w:.4g}" if len(group) == 1
              else f"{len(group)} features ({names(group, 2)}) × {w:.4g}")
             for w, group in groups.items()]
    return "; ".join(parts) or "every feature 1"


def _number(w: float) -> str:
    return f"{w:.4g}"


def quantity_lines(quantities: Sequence[WeightQuantity], roles: Mapping[str, str]) -> list[str]:
    """One line per quantity weighed, its weight and its features' effective weights.

    Quantities of one feature with equal weights and the same role print as one line
    (``37 biodiversity features × 0.02703 (richness, sp_01, … sp_36)``); ``roles`` gives
    each feature's role.

    Examples
    --------
    >>> from optimizer.model.parts import WeightQuantity
    >>> qs = [WeightQuantity("carbon_stock", 0.5, (("biomass", 0.1), ("soc", 0.4))),
    ...       WeightQuantity("npp", 0.5, (("npp_2000", 0.2), ("npp_2020", 0.3)), "mean"),
    ...       WeightQuantity("sp_a", 0.5, (("sp_a", 0.5),)),
    ...       WeightQuantity("sp_b", 0.5, (("sp_b", 0.5),))]
    >>> quantity_lines(qs, {"sp_a": "biodiversity", "sp_b": "biodiversity"})  # doctest: +NORMALIZE_WHITESPACE
    ['carbon_stock × 0.5: biomass 0.1, soc 0.4', 'npp × 0.5 (years: mean): npp_2000 0.2,
      npp_2020 0.3', '2 biodiversity features × 0.5 (sp_a, sp_b)']
    """
    out: list[str] = []
    runs: dict[tuple[str, float], list[str]] = {}
    for q in quantities:
        one = len(q.features) == 1 and q.features[0][0] == q.name
        if one and not q.override:
            key = (roles.get(q.name, "feature"), q.weight)
            if key not in runs:
                runs[key] = []
                out.append(f"\0{len(runs) - 1}")
            runs[key].append(q.name)
            continue
        years = f" (years: {q.years})" if q.years is not None else ""
        if one:
            out.append(f"{q.name} × {_number(q.weight)} (the feature on its own)")
        else:
            features = ", ".join(f"{f} {_number(w)}" for f, w in q.features)
            out.append(f"{q.name} × {_number(q.weight)}{years}: {features or 'none left'}")
    groups = list(runs.items())
    for i, line in enumerate(out):
        if line.startswith("\0"):
            (role, w), members = groups[int(line[1:])]
            label = ROLES[role].label if role in ROLES else role
            out[i] = (f"{members[0]} × {_number(w)}" if len(members) == 1 else
                      f"{len(members)} {label} features × {_number(w)} ({names(members)})")
    return out


def _objective_lines(p: Problem) -> list[str]:
    obj = p.objective
    if obj is None:
        return [f"none yet: {listed([k.method for k in OBJECTIVES.values()])}"]
    kind = objective_kind(obj.kind)
    if kind.weights == "utility" and obj.quantities:
        roles = p.pu.features["role"].astype(str).to_dict()
        years = any(q.years is not None for q in obj.quantities)
        head = "per quantity" + (f" (years: {obj.years})" if years else "")
        return [f"{kind.label}: " + kind.printed.format(weights=head, cost=p.cost_label),
                *quantity_lines(obj.quantities, roles)]
    return [f"{kind.label}: "
            + kind.printed.format(weights=_weights(obj.weights), cost=p.cost_label)]


def _target_lines(p: Problem) -> list[str]:
    if not p.targets:
        return ["none"]
    rel = [t.relative for t in p.targets if t.relative is not None]
    text = f"{len(p.targets)} targets"
    if rel and len(rel) == len(p.targets):
        lo, hi = min(rel), max(rel)
        text += f", relative {lo:.0%}" + (f" to {hi:.0%}" if hi != lo else "")
    else:
        text += " (absolute amounts)"
    return [f"{text}: {names([t.feature for t in p.targets])}"]


def _budget_lines(p: Problem) -> list[str]:
    out = []
    for b in p.budgets:
        lo = f"≥ {b.min_km2:,.0f}" if b.min_km2 > 0 else ""
        hi = f"≤ {b.max_km2:,.0f}" if np.isfinite(b.max_km2) else ""
        out.append(f"{b.label}: new area {' and '.join(x for x in (lo, hi) if x)} km²"
                   + (", remainders of existing protected units free (on top)"
                      if b.remainders == "free" else ""))
    out += [f"{b.label}: at most {b.max_cost:,.6g} {b.unit_text}" for b in p.cost_budgets]
    return out or ["none"]


def _lock_lines(p: Problem) -> list[str]:
    out = []
    if p.pa_threshold is not None:
        locked = p.existing_protection_mask()
        out.append(f"in: existing protection (pa_fraction ≥ {p.pa_threshold:g}): "
                   f"{int(locked.sum()):,} units")
    out += [f"{'in' if lk.value else 'out'}: {lk.label}: {int(lk.mask.sum()):,} units"
            for lk in p.locks]
    return out or ["none"]


def _penalty_lines(p: Problem) -> list[str]:
    out = []
    if p.boundary_penalty is not None:
        bp = p.boundary_penalty
        edge = f", edge factor {bp.edge_factor:g}" if bp.edge_factor != 1 else ""
        scale = (f"compactness {bp.compactness:g}: " if bp.compactness is not None else "")
        ratio = (f" ({bp.penalty / bp.break_even:.3g} × break-even {bp.break_even:.3g})"
                 if bp.break_even else "")
        out.append(f"boundary: {scale}{bp.penalty:.4g} per km of plan edge{ratio}{edge}")
    out += [f"linear: {lp.label} × {lp.penalty:g}" for lp in p.linear_penalties]
    cp = p.connectivity_penalty
    if cp is not None:
        out.append(f"connectivity ({'symmetric' if cp.symmetric else 'asymmetric'}, "
                   f"{cp.label}, {cp.matrix.nnz:,} links): {cp.penalty:g}")
    if p.neighbour_constraint is not None:
        out.append(f"neighbours: each selected unit has ≥ {p.neighbour_constraint.k} selected "
                   "neighbours")
    pc = p.park_constraint
    if pc is not None and pc.contiguous:
        out.append("contiguity: one connected park (row generation)")
    if pc is not None and pc.min_km2 > 0:
        out.append(f"parks: each at least {pc.min_km2:g} km² of new area (row generation)")
    return out or ["none"]


def problem_text(p: Problem) -> str:
    """The formulation as a tree: data, objective, targets, budgets, locks, penalties, solver."""
    pu = p.pu
    cell = pu.meta.get("cell_km")
    shape = f"{cell:g} km cells" if cell else "user polygons"
    data = [f"{p.n_units:,} planning units ({shape}, {crs_name(pu)}), "
            f"{p.study_area_km2:,.0f} km²",
            f"features: {len(pu.features)} ({_roles(pu)})",
            f"cost: {p.cost_label}, {float(np.sum(p.cost)):,.4g} in all"]
    return tree("A conservation planning problem (carbonpark Problem)", [
        ("data", data),
        ("objective", _objective_lines(p)),
        ("targets", _target_lines(p)),
        ("budgets", _budget_lines(p)),
        ("locks", _lock_lines(p)),
        ("penalties", _penalty_lines(p)),
        ("solver", ["chosen at solve(): highs (default), cut, auto or pulp"]),
    ])


def _roles(pu: PlanningUnits) -> str:
    counts = pu.features["role"].value_counts()
    listed_first = feature_roles()
    order = [*listed_first, *sorted(set(counts.index) - set(listed_first))]
    return ", ".join(f"{counts[r]} {r}" for r in order if r in counts.index)


def problem_summary(p: Problem) -> str:
    """The problem's parts in one paragraph (`Problem.describe`)."""
    kind = p.objective.kind if p.objective else "no objective"
    parts = [f"{kind} over {p.n_units} units"]
    if p.targets:
        parts.append(f"{len(p.targets)} targets")
    parts += [f"budget {b.label} [{b.min_km2:g}, {b.max_km2:g}] km²" for b in p.budgets]
    parts += [f"budget {b.label} <= {b.max_cost:g} {b.unit}" for b in p.cost_budgets]
    parts += [f"lock {'in' if lk.value else 'out'}: {lk.label} ({int(lk.mask.sum())})"
              for lk in p.locks]
    if p.boundary_penalty:
        parts.append(f"boundary penalty {p.boundary_penalty.penalty:g}")
    parts += [f"linear penalty {lp.label} x {lp.penalty:g}" for lp in p.linear_penalties]
    if p.connectivity_penalty is not None:
        parts.append(f"connectivity penalty {p.connectivity_penalty.penalty:g}")
    if p.neighbour_constraint is not None:
        parts.append(f"neighbours >= {p.neighbour_constraint.k}")
    if p.park_constraint is not None:
        parts.append(f"parks: contiguous {p.park_constraint.contiguous}, min "
                     f"{p.park_constraint.min_km2:g} km²")
    return "; ".join(parts)
