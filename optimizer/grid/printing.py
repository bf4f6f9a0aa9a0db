"""What a grid prints: a compact tree, the first thing a user sees in a notebook.

``print(pu)`` shows the grid (units, CRS, cell size, features by role with their units,
protected share). `tree` and `names` are the text helpers `optimizer.model.printing` shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optimizer.inputs.roles import feature_roles

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits

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


def names(items: Sequence[str], shown: int = 3) -> str:
    """The first few of ``items`` and the last: ``a, b, c, … z``.

    Examples
    --------
    >>> names(["a", "b", "c", "d", "e"])
    'a, b, c, … e'
    """
    items = list(items)
    if len(items) <= shown + 1:
        return ", ".join(items)
    return f"{', '.join(items[:shown])}, … {items[-1]}"


def crs_name(pu: PlanningUnits) -> str:
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
    roles = [r for r in feature_roles() if r in set(feats["role"])]
    roles += sorted(set(feats["role"]) - set(roles))
    for role in roles:
        rows = feats[feats["role"] == role]
        units = ", ".join(dict.fromkeys(str(u) for u in rows["unit"]))
        lines.append(f"{role} ({len(rows)}, {units}): {names(list(rows.index))}")
    return lines


def grid_text(pu: PlanningUnits) -> str:
    """The grid as a tree: units, CRS, cell size, features by role, protected share."""
    units = pu.units
    area = float(units["area_km2"].sum())
    cell = pu.meta.get("cell_km")
    shape = f"{cell:g} km cells" if cell else "user polygons"
    data = [f"{len(units):,} planning units ({shape}, {crs_name(pu)}), {area:,.0f} km²"]
    if "pa_fraction" in units:
        protected = float((units["pa_fraction"] * units["area_km2"]).sum()) / max(area, 1e-12)
        data.append(f"protected: {protected:.1%} of the area")
    if "region" in units and units["region"].notna().any():
        regions = sorted(map(str, units["region"].dropna().unique()))
        data.append(f"regions: {len(regions)} ({names(regions)})")
    data.append(f"boundary: {pu.n_boundary_pairs:,} pairs of neighbours")
    return tree("PlanningUnits", [("data", data), ("features", feature_lines(pu) or ["none"])])


