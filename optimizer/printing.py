"""What a grid and a problem print: compact trees, the first thing a user sees in a notebook.

``print(problem)`` shows the formulation as prioritizr does (data, objective, targets,
budgets, locks, penalties, solver); ``print(pu)`` shows the grid (units, CRS, cell
size, features by role with their units, protected share). Both only read the objects
they are given, so this module imports neither `optimizer.grid` nor `optimizer.problem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from optimizer.grid import PlanningUnits
    from optimizer.problem import Problem

#: Feature roles in the order they are listed.
ROLE_ORDER = ("carbon_stock", "carbon_uptake", "emissions", "biodiversity", "land_cover")


def tree(title: str, branches: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Text of a two-level tree: a title, branches, and each branch's leaves.

    Examples
    --------
    >>> print(tree("A grid", [("data", ["10 units", "2 features"]), ("solver", [])]))
    A grid
    ├─data
    │ ├─10 units
    │ └─2 features
    └─solver
    """
    lines = [title]
    for i, (name, leaves) in enumerate(branches):
        last = i == len(branches) - 1
        lines.append(("└─" if last else "├─") + name)
        pad = "  " if last else "│ "
        lines += [pad + ("└─" if j == len(leaves) - 1 else "├─") + leaf
                  for j, leaf in enumerate(leaves)]
    return "\n".join(lines)


def _names(names: Sequence[str], shown: int = 3) -> str:
    names = list(names)
    if len(names) <= shown + 1:
        return ", ".join(names)
    return f"{', '.join(names[:shown])}, … {names[-1]}"


def _crs_name(pu: PlanningUnits) -> str:
    try:
        crs = pu.crs
    except Exception:  # units from tables may have no CRS at all
        return "no CRS"
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg()
    kind = "equal-area" if "Equal Area" in crs.name or "Albers" in crs.to_wkt() \
        or "Lambert_Azimuthal" in crs.to_wkt() else crs.name
    return f"EPSG:{epsg}" if epsg else kind


def feature_lines(pu: PlanningUnits) -> list[str]:
    """One line per feature role: how many, their unit(s) and a few names."""
    feats = pu.features
    lines = []
    roles = [r for r in ROLE_ORDER if r in set(feats["role"])]
    roles += sorted(set(feats["role"]) - set(roles))
    for role in roles:
        rows = feats[feats["role"] == role]
        units = ", ".join(dict.fromkeys(str(u) for u in rows["unit"]))
        lines.append(f"{role} ({len(rows)}, {units}): {_names(list(rows.index))}")
    return lines


def grid_text(pu: PlanningUnits) -> str:
    """The grid as a tree: units, CRS, cell size, features by role, protected share."""
    units = pu.units
    area = float(units["area_km2"].sum())
    cell = pu.meta.get("cell_km")
    shape = f"{cell:g} km cells" if cell else "user polygons"
    data = [f"{len(units):,} planning units ({shape}, {_crs_name(pu)}), {area:,.0f} km²"]
    if "pa_fraction" in units:
        protected = float((units["pa_fraction"] * units["area_km2"]).sum()) / max(area, 1e-12)
        data.append(f"protected: {protected:.1%} of the area")
    if "region" in units and units["region"].notna().any():
        regions = sorted(map(str, units["region"].dropna().unique()))
        data.append(f"regions: {len(regions)} ({_names(regions)})")
    data.append(f"boundary: {pu.n_boundary_pairs:,} pairs of neighbours")
    return tree("PlanningUnits", [("data", data), ("features", feature_lines(pu) or ["none"])])


def _weights(weights: Sequence[tuple[str, float]]) -> str:
    """Weights grouped by value: ``7 features (biomass, soc, … npp_2020) × 0.1429``."""
    groups: dict[float, list[str]] = {}
    for k, w in weights:
        groups.setdefault(w, []).append(k)
    parts = [(f"{names[0]} × {w:.4g}" if len(names) == 1
              else f"{len(names)} features ({_names(names, 2)}) × {w:.4g}")
             for w, names in groups.items()]
    return "; ".join(parts) or "every feature 1"


def _objective_lines(p: Problem) -> list[str]:
    obj = p.objective
    if obj is None:
        return ["none yet: add_max_utility_objective, add_min_set_objective or "
                "add_min_shortfall_objective"]
    kind = obj.kind.replace("_", " ")
    if obj.kind == "max_utility":
        return [f"{kind}: weights {_weights(obj.weights)}"]
    if obj.kind == "min_shortfall":
        return [f"{kind}: weights {_weights(obj.weights)}"]
    return [f"{kind}: least {p.cost_label}"]


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
    return [f"{text}: {_names([t.feature for t in p.targets])}"]


def _budget_lines(p: Problem) -> list[str]:
    out = []
    for b in p.budgets:
        lo = f"≥ {b.min_km2:,.0f}" if b.min_km2 > 0 else ""
        hi = f"≤ {b.max_km2:,.0f}" if np.isfinite(b.max_km2) else ""
        out.append(f"{b.label}: new area {' and '.join(x for x in (lo, hi) if x)} km²")
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
        out.append(f"boundary: {bp.penalty:g} per km of plan edge{edge}")
    out += [f"linear: {lp.label} × {lp.penalty:g}" for lp in p.linear_penalties]
    return out or ["none"]


def problem_text(p: Problem) -> str:
    """The formulation as a tree: data, objective, targets, budgets, locks, penalties, solver."""
    pu = p.pu
    cell = pu.meta.get("cell_km")
    shape = f"{cell:g} km cells" if cell else "user polygons"
    data = [f"{p.n_units:,} planning units ({shape}, {_crs_name(pu)}), "
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
    order = [*ROLE_ORDER, *sorted(set(counts.index) - set(ROLE_ORDER))]
    return ", ".join(f"{counts[r]} {r}" for r in order if r in counts.index)


def problem_summary(p: Problem) -> str:
    """The problem's parts in one paragraph (`Problem.describe`)."""
    kind = p.objective.kind if p.objective else "no objective"
    parts = [f"{kind} over {p.n_units} units"]
    if p.targets:
        parts.append(f"{len(p.targets)} targets")
    parts += [f"budget {b.label} [{b.min_km2:g}, {b.max_km2:g}] km²" for b in p.budgets]
    parts += [f"lock {'in' if lk.value else 'out'}: {lk.label} ({int(lk.mask.sum())})"
              for lk in p.locks]
    if p.boundary_penalty:
        parts.append(f"boundary penalty {p.boundary_penalty.penalty:g}")
    parts += [f"linear penalty {lp.label} x {lp.penalty:g}" for lp in p.linear_penalties]
    return "; ".join(parts)
