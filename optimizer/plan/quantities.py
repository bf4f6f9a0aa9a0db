"""The registry of the quantities a planner reads: one label, unit, definition and format each.

Every number a plan shows (the console table of ``carbonpark solve``, ``summary.json``,
the HTML report, the app's metrics) is a `Quantity` of `QUANTITIES`: where it sits in
``summary.json`` (its key path), its readable label, its one unit, a one-sentence
definition and how it is written. The console, the report and the summary's
``definitions`` block read them from here, so a label is written once and a number is
written the same way wherever it appears. Counts always get thousands separators; years
never do (`format_year`).

The registry lives in `optimizer.plan` (the package of a solved plan) because the plan
summary it describes is made from the plan's evaluation, and every part that shows a plan
sits above it: `optimizer.plan.comparison`, `optimizer.studies`, `optimizer.outputs`,
`optimizer.cli` and `optimizer.app` may all import it.

A path may hold two placeholders: `LATEST` stands for the last entry of a mapping (the
latest year of a flow: ``added.carbon_uptake.<latest>.amount``), and ``{field}`` for a name
given when the value is read (``regions.{region}.new_km2``).

Examples
--------
>>> q = QUANTITIES["new_km2"]
>>> q.header(), q.text({"new_km2": 152556.4}), q.with_unit({"new_km2": 152556.4})
('new protected area (km²)', '152,556', '152,556 km²')
>>> QUANTITIES["units_added"].text({"units": {"added": 1234}})
'1,234'
>>> s = {"added": {"carbon_uptake": {"npp_2019": {"amount": 1.0}, "npp_2020": {"amount": 2.5e6}}}}
>>> q = QUANTITIES["npp_added"]
>>> q.value(s), q.latest(s), q.header(q.latest(s))
(2500000.0, 'npp_2020', 'NPP added, npp_2020 (MgC/yr)')
>>> QUANTITIES["region_new_km2"].text({"regions": {"Hexi": {"new_km2": 4100.2}}}, region="Hexi")
'4,100'
>>> format_year(2020.0), format_count(31234)
('2020', '31,234')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from optimizer.inputs.units import MASSES, UNITS

__all__ = ["LATEST", "QUANTITIES", "Quantity", "definitions", "format_count", "format_year",
           "pretty_unit"]

#: A path step meaning "the last entry of this mapping" (a flow's latest year).
LATEST = "<latest>"

Kind = Literal["number", "count", "text"]

# The units a quantity may have: the totals layers aggregate to (`optimizer.inputs.units`),
# their CO2 equivalents, and the few units of the solve itself.
_MASS_UNITS = {f"{m}{suffix}" for base in MASSES.values() for m in base for suffix in ("", "/yr")}
ALLOWED_UNITS = frozenset({u.total_unit for u in UNITS.values()} | _MASS_UNITS
                          | {"tCO2e", "tCO2e/yr", "%", "s", "km", ""})


def pretty_unit(unit: str) -> str:
    """A unit as a reader sees it: ``km2`` -> ``km²`` (the rest as written).

    Examples
    --------
    >>> pretty_unit("km2"), pretty_unit("MgC/yr")
    ('km²', 'MgC/yr')
    """
    return "/".join(p[:-1] + "²" if p in ("m2", "km2") else p for p in unit.split("/"))


def format_count(v: Any) -> str:
    """A count: a whole number with thousands separators (``-`` when missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{round(float(v)):,}"


def format_year(v: Any) -> str:
    """A year: a whole number without separators (``2020``, never ``2,020``)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return str(round(float(v)))


@dataclass(frozen=True)
class Quantity:
    """A quantity a planner reads, defined once (see the module docstring).

    Attributes
    ----------
    name : str
        The registry key.
    path : tuple of str
        Where ``summary.json`` holds it (`LATEST` and ``{field}`` placeholders allowed).
    label : str
        What tables and cards call it (no unit).
    unit : str
        Its one unit, as `optimizer.inputs.units` spells totals (``km2``, ``MgC``,
        ``MgC/yr``, ``tCO2/yr``), ``tCO2e``, ``%``, ``s``; ``""`` for text and pure numbers.
    definition : str
        One sentence: what it counts.
    kind : {"number", "count", "text"}
        Counts are whole numbers with separators; text is written as it is.
    spec : str
        Format spec of a number (after ``scale``).
    scale : float
        The written value is the stored one times ``scale`` (a share 0-1 written in %).
    """

    name: str
    path: tuple[str, ...]
    label: str
    unit: str
    definition: str
    kind: Kind = "number"
    spec: str = ",.0f"
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.unit not in ALLOWED_UNITS:
            raise ValueError(f"quantity {self.name!r}: unit {self.unit!r} is not one of "
                             f"{sorted(ALLOWED_UNITS)}")

    @property
    def key(self) -> str:
        """The dotted ``summary.json`` path, e.g. ``added.carbon_stock_total.amount``."""
        return ".".join(self.path)

    @property
    def unit_text(self) -> str:
        """The unit as written (``km²``)."""
        return pretty_unit(self.unit)

    def header(self, qualifier: str = "") -> str:
        """The label with its unit, e.g. ``NPP added, npp_2020 (MgC/yr)``."""
        head = f"{self.label}, {qualifier}" if qualifier else self.label
        return f"{head} ({self.unit_text})" if self.unit else head

    def _walk(self, summary: Mapping[str, Any], fields: Mapping[str, str]
              ) -> tuple[Any, str]:
        node: Any = summary
        latest = ""
        for step in self.path:
            if not isinstance(node, Mapping) or not node:
                return None, latest
            if step == LATEST:
                latest = str(list(node)[-1])
                node = node[latest]
                continue
            key = step.format(**fields) if "{" in step else step
            if key not in node:
                return None, latest
            node = node[key]
        return node, latest

    def value(self, summary: Mapping[str, Any], **fields: str) -> Any:
        """The stored value in ``summary`` (None when absent)."""
        return self._walk(summary, fields)[0]

    def latest(self, summary: Mapping[str, Any], **fields: str) -> str:
        """The entry `LATEST` picked (e.g. ``npp_2020``); ``""`` without one."""
        return self._walk(summary, fields)[1]

    def format(self, value: Any) -> str:
        """A stored value written as everywhere: scaled, with its spec (``-`` when missing)."""
        if self.kind == "text":
            return "-" if value is None else str(value)
        if value is None:
            return "-"
        v = float(value) * self.scale
        if not math.isfinite(v):
            return "-"
        if self.kind == "count":
            return format_count(v)
        return format(v, self.spec)

    def text(self, summary: Mapping[str, Any], **fields: str) -> str:
        """The value in ``summary``, formatted (`format`)."""
        return self.format(self.value(summary, **fields))

    def with_unit(self, summary: Mapping[str, Any], **fields: str) -> str:
        """The formatted value and its unit, e.g. ``152,556 km²``."""
        t = self.text(summary, **fields)
        if not self.unit or t == "-":
            return t
        return f"{t}%" if self.unit == "%" else f"{t} {self.unit_text}"


_NEW = ("the unprotected part (1 - pa_fraction) x area of every unit the plan selects, "
        "added or locked in")

_ALL: tuple[Quantity, ...] = (
    Quantity("status", ("status",), "status (one word)", "",
             "how the solve ended (optimizer.solvers.base.SolveStatus): optimal only at a "
             "proven gap of 0; within_gap when proven within the requested gap, above 0; "
             "feasible when the time limit came first; interrupted by Ctrl-C", kind="text"),
    Quantity("status_text", ("status_text",), "status", "",
             "how the solve ended, in words, with the proven gap", kind="text"),
    Quantity("objective", ("objective",), "objective", "",
             "the plan's objective value as the solver optimised it (for max utility: the "
             "weighted shares of national totals the plan protects, less any penalty)",
             spec=",.6g"),
    Quantity("bound", ("bound",), "proven bound", "",
             "the best objective value any plan could reach, as the solver proved it",
             spec=",.6g"),
    Quantity("gap", ("gap",), "proven gap", "%",
             "how much better than this plan the best possible plan can at most be: "
             "|bound - objective| / |objective|, proven by the solver", spec=".3f", scale=100.0),
    Quantity("runtime_s", ("runtime_s",), "solver runtime", "s",
             "wall-clock seconds the solver ran", spec=".1f"),
    Quantity("seconds_total", ("seconds_total",), "whole solve", "s",
             "wall-clock seconds of the whole command: grid, problem, solve and outputs",
             spec=".1f"),
    Quantity("study_area_km2", ("study_area_km2",), "study area", "km2",
             "the area of every planning unit"),
    Quantity("new_km2", ("new_km2",), "new protected area", "km2",
             f"the area the plan protects that was not protected before: {_NEW} (the "
             "budget's measure)"),
    Quantity("new_km2_in_existing_units", ("new_km2_in_existing_units",),
             "of which completes existing protected units", "km2",
             "the part of the new protected area that lies in existing protected units the "
             "plan locks in (units at least pa_threshold protected already): their "
             "unprotected remainders"),
    Quantity("new_km2_in_locked_in_units", ("new_km2_in_locked_in_units",),
             "of which units the scenario locks in", "km2",
             "the part of the new protected area that lies in units the scenario locks in "
             "(its locked_in), not protected yet"),
    Quantity("new_share_of_land", ("new_share_of_land",), "new share of the land", "%",
             "new protected area / study area", spec=".2f", scale=100.0),
    Quantity("units_added", ("units", "added"), "units added", "",
             "planning units the plan adds (not locked in)", kind="count"),
    Quantity("units_existing", ("units", "existing"), "units existing", "",
             "planning units locked in as existing protection", kind="count"),
    Quantity("units_locked_out", ("units", "locked out"), "units locked out", "",
             "planning units a lock keeps out of the plan", kind="count"),
    Quantity("units_free", ("units", "free"), "units free", "",
             "planning units neither selected nor locked", kind="count"),
    Quantity("patches", ("patches", "count"), "patches", "",
             "connected groups of selected units (existing and added), by shared edges",
             kind="count"),
    Quantity("largest_patch_km2", ("patches", "largest_km2"), "largest patch", "km2",
             "the whole area of the largest patch, protected before or not"),
    Quantity("carbon_stock_added", ("added", "carbon_stock_total", "amount"),
             "carbon stock added", "MgC",
             f"carbon stock newly protected: every carbon_stock layer summed over {_NEW}"),
    Quantity("carbon_stock_added_co2e", ("added", "carbon_stock_total", "tCO2e"),
             "carbon stock added", "tCO2e",
             "carbon stock added in CO2 equivalent: MgC x 44.0095/12.0107"),
    Quantity("npp_added", ("added", "carbon_uptake", LATEST, "amount"), "NPP added", "MgC/yr",
             "carbon uptake (net primary production) newly protected in the latest year (the "
             f"last carbon_uptake column), summed over {_NEW}"),
    Quantity("npp_added_co2e", ("added", "carbon_uptake", LATEST, "tCO2e"), "NPP added",
             "tCO2e/yr", "NPP added in CO2 equivalent: MgC/yr x 44.0095/12.0107"),
    Quantity("emissions_inside", ("added", "emissions", LATEST, "amount"), "emissions inside",
             "tCO2/yr",
             "CO2 emitted in the new protected area in the latest year (the last emissions "
             f"column), summed over {_NEW}; protection holds these emissions inside the "
             "network, it does not add them"),
    Quantity("species_features", ("species", "features"), "species with a range layer", "",
             "species (biodiversity range layers) the gap closure counts", kind="count"),
    Quantity("species_met_before", ("species", "meeting_target_before"),
             "species meeting the target before", "",
             "species with at least the target share of their range protected before the plan",
             kind="count"),
    Quantity("species_met_after", ("species", "meeting_target_after"),
             "species meeting the target", "",
             "species with at least the target share of their range protected with the plan",
             kind="count"),
    Quantity("targets_met_after", ("targets", "met_after"), "features meeting their targets", "",
             "features with a scenario target that the plan meets", kind="count"),
    Quantity("shortfall_before_km2", ("gap_closure", "ecosystems", "shortfall_before_km2"),
             "ecosystem shortfall before", "km2",
             "the area each counted ecosystem class lacks to reach the target share, summed"),
    Quantity("shortfall_closed_km2", ("gap_closure", "ecosystems", "closed_km2"),
             "ecosystem shortfall closed", "km2",
             "the part of the ecosystem shortfall the plan's new area fills, summed over classes"),
    Quantity("shortfall_closed_pct", ("gap_closure", "ecosystems", "closed_pct"),
             "ecosystem shortfall closed", "%",
             "ecosystem shortfall closed / ecosystem shortfall before", spec=".1f"),
    Quantity("region_new_km2", ("regions", "{region}", "new_km2"), "new protected area",
             "km2", f"the new protected area in the region: {_NEW}, in the region"),
    Quantity("region_max_km2", ("regions", "{region}", "max_km2"), "region budget", "km2",
             "the scenario's most new area the region may get (none: no cap)"),
    Quantity("region_min_km2", ("regions", "{region}", "min_km2"), "region minimum", "km2",
             "the scenario's least new area the region must get (0: no floor)"),
    Quantity("lock_units", ("locks", "{lock}", "units"), "units locked", "",
             "planning units the lock forces into (in) or keeps out of (out) every plan; a "
             "polygon lock: the units at least min_share of whose area lies inside its file's "
             "polygons (a lock-out leaves existing protection in)", kind="count"),
    Quantity("lock_km2", ("locks", "{lock}", "km2"), "area locked", "km2",
             "the area of the units the lock locks (area_km2 summed)"),
    Quantity("zone_units", ("zones", "{zone}", "units"), "units in the zone", "",
             "planning units the plan puts in this management zone, added or locked in (every "
             "selected unit is in exactly one zone)", kind="count"),
    Quantity("zone_new_km2", ("zones", "{zone}", "new_km2"), "new area in the zone", "km2",
             "the unprotected area (1 - pa_fraction) x area_km2 of the zone's units: the "
             "zones' new areas sum to new_km2"),
    Quantity("zone_perimeter_km", ("zones", "{zone}", "perimeter_km"), "zone perimeter", "km",
             "the length of the zone's outline: its edges shared with other zones or "
             "unselected units, and its units' outer edges"),
    Quantity("cost_spent", ("costs", "{cost}", "spent"), "plan cost", "cost",
             "what the plan's new land costs in the cost layer: its value x (1 - pa_fraction) "
             "summed over every unit the plan selects, added or locked in (the cost budget's "
             "measure), in the layer's unit aggregated per unit"),
    Quantity("connectivity_kept", ("connectivity", "kept"), "connectivity kept", "",
             "the connectivity data summed over pairs of units the plan selects, added or "
             "locked in, each symmetric pair once, the diagonal included (0 without "
             "[penalties.connectivity])", spec=",.4g"),
    Quantity("connectivity_term", ("connectivity", "term"), "connectivity term", "",
             "what the connectivity penalty adds to the objective: penalty x (minus the "
             "connectivity kept, symmetric; the connectivity lost to unselected units less "
             "the diagonal kept, asymmetric), in objective units, signed as the objective",
             spec=",.4g"),
    Quantity("cost_max", ("costs", "{cost}", "max"), "cost budget", "cost",
             "the scenario's most the plan's new land may cost in the cost layer ([budget] "
             "cost)"),
    Quantity("region_carbon_stock_added", ("regions", "{region}", "carbon_stock_added_MgC"),
             "carbon stock added", "MgC",
             "carbon stock newly protected in the region (every carbon_stock layer)"),
)

#: Every quantity by name, in the order summaries list them.
QUANTITIES: dict[str, Quantity] = {q.name: q for q in _ALL}


def definitions(names: Any = None) -> dict[str, dict[str, str]]:
    """The ``definitions`` block of ``summary.json``: per quantity its path, label, unit and
    definition.

    Examples
    --------
    >>> definitions(["new_km2"])["new_km2"]["path"]
    'new_km2'
    """
    keep = list(QUANTITIES) if names is None else list(names)
    return {n: {"path": QUANTITIES[n].key, "label": QUANTITIES[n].label,
                "unit": QUANTITIES[n].unit_text, "definition": QUANTITIES[n].definition}
            for n in keep}
