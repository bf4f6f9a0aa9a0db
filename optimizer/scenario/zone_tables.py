"""From a scenario's ``[[zones]]`` tables to a `optimizer.model.zones.ZonedProblem`.

Each table becomes a `optimizer.model.zones.Zone`; its ``locked_in`` / ``locked_out``
entries are resolved as ``[[locks.locked_in]]`` entries are (a column, ``pu_id`` values
or a polygon file laid over the grid, `optimizer.scenario.lock_files`), into one mask per
zone. A mistake is a `ScenarioError` naming the file and the table (``zones[2]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimizer.errors import ScenarioError
from optimizer.model.problem import Problem, problem
from optimizer.model.zones import Zone, ZonedProblem, zoned_problem
from optimizer.scenario.lock_files import lock_shares
from optimizer.scenario.messages import blame_scenario

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits
    from optimizer.scenario.file import Scenario
    from optimizer.scenario.models import UnitsLock

__all__ = ["describe_zones", "refuse_zones", "to_zoned_problem"]


def _mask(scenario: Scenario, pu: PlanningUnits, entries: list[UnitsLock], table: str
          ) -> np.ndarray | None:
    """The units any of ``entries`` names, as one mask (None without entries)."""
    if not entries:
        return None
    mask = np.zeros(len(pu.units), dtype=bool)
    bare = problem(pu)
    add = bare.add_locked_out if table.endswith("locked_out") else bare.add_locked_in
    for i, lk in enumerate(entries, 1):
        with blame_scenario(scenario, f"{table}[{i}]"):
            if lk.file is not None:
                p = add(shares=lock_shares(scenario, pu, lk), min_share=lk.min_share,
                        label=lk.label)
            else:
                p = add(column=lk.column, ids=lk.ids, label=lk.label)
            mask |= p.locks[-1].mask
    return mask


def to_zoned_problem(scenario: Scenario, pu: PlanningUnits, base: Problem) -> ZonedProblem:
    """The scenario's zoned problem: ``base`` (its `Scenario.to_problem`) with its zones.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "unused: the units are given"
    ... budget.km2 = 2
    ... weights.carbon = 1
    ... [[zones]]
    ... name = "core"
    ... max_km2 = 1
    ... [[zones]]
    ... name = "general"
    ... contribution = {carbon = 0.5}
    ... locked_out = [{ids = [4]}]
    ... ''')
    >>> pu = tiny_grid()
    >>> zp = to_zoned_problem(s, pu, s.to_problem(pu))
    >>> zp.names, zp.allowed[1].tolist()
    (('core', 'general'), [True, True, True, False, True, True])
    """
    zones = []
    for z, t in enumerate(scenario.zones, 1):
        table = f"zones[{z}]"
        zones.append(Zone(
            name=t.name, contribution=dict(t.contribution),
            default_contribution=t.default_contribution, cost_factor=t.cost_factor,
            min_km2=t.min_km2, max_km2=np.inf if t.max_km2 is None else t.max_km2,
            boundary_penalty=t.boundary_penalty, targets=dict(t.targets),
            locked_in=_mask(scenario, pu, t.locked_in, f"{table}.locked_in"),
            locked_out=_mask(scenario, pu, t.locked_out, f"{table}.locked_out")))
    with blame_scenario(scenario, "zones"):
        return zoned_problem(base, zones)


def describe_zones(scenario: Scenario) -> str:
    """One sentence naming the zones and what sets each apart ("" without zones)."""
    if not scenario.zones:
        return ""
    words = []
    for t in scenario.zones:
        bits = []
        if t.contribution or t.default_contribution is not None:
            shares = [f"{k} {v:g}" for k, v in t.contribution.items()]
            if t.default_contribution is not None:
                shares.append(f"others {t.default_contribution:g}")
            bits.append("holds " + ", ".join(shares))
        if t.max_km2 is not None:
            bits.append(f"at most {t.max_km2:,.0f} km²")
        if t.min_km2:
            bits.append(f"at least {t.min_km2:,.0f} km²")
        if t.cost_factor != 1:
            bits.append(f"cost × {t.cost_factor:g}")
        if t.boundary_penalty:
            bits.append(f"perimeter {t.boundary_penalty:g} per km")
        if t.targets:
            bits.append("targets " + ", ".join(f"{k} {v:.0%}" for k, v in t.targets.items()))
        words.append(t.name + (f" ({'; '.join(bits)})" if bits else ""))
    return f"Zones: {', '.join(words)}."


def refuse_zones(scenario: Scenario, what: str) -> None:
    """Raise when a scenario has ``[[zones]]`` and ``what`` (a command or method) does not
    take them: a plan that silently ignored the zones would disagree with ``carbonpark
    solve``'s.

    Raises
    ------
    ScenarioError
        One line naming the scenario, ``what`` and the fix.

    Examples
    --------
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "g"
    ... budget.km2 = 1
    ... zones = [{name = "a"}, {name = "b"}]
    ... ''')
    >>> try:
    ...     refuse_zones(s, "carbonpark frontier")
    ... except ScenarioError as exc:
    ...     print(str(exc).split(": ", 1)[1].split(";")[0])
    carbonpark frontier does not take management zones yet
    """
    if scenario.zones:
        raise ScenarioError(f"{scenario.source}: {what} does not take management zones yet; "
                            "solve the zoned scenario with `carbonpark solve`, or remove its "
                            "[[zones]] tables")
