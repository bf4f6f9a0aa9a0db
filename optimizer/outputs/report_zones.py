"""The report's management zones section: each zone's units, new area, perimeter and the
amount of each feature it holds, from ``summary.json``'s ``zones`` (so the report reads the
numbers the console and the exports read), with the quantities' definitions."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import pandas as pd

from optimizer.outputs.report_tables import table_html
from optimizer.plan.quantities import QUANTITIES as Q

__all__ = ["zones_html"]


def zones_html(summary: Mapping[str, Any]) -> str:
    """The section ("" for a plan without zones).

    Examples
    --------
    >>> s = {"new_km2": 3.0, "zones": {
    ...     "core": {"units": 2, "new_km2": 1.0, "perimeter_km": 6.0, "held": {"sp_a": 2.0}},
    ...     "general": {"units": 1, "new_km2": 2.0, "perimeter_km": 4.0, "held": {"sp_a": 0.5}}}}
    >>> html = zones_html(s)
    >>> "<td>core</td>" in html.replace(' class="t"', ""), "0.5" in html
    (True, True)
    """
    zones = summary.get("zones") or {}
    if not zones:
        return ""
    units, new, perim = Q["zone_units"], Q["zone_new_km2"], Q["zone_perimeter_km"]
    rows = [{"zone": name, units.header(): units.text(summary, zone=name),
             new.header(): new.text(summary, zone=name),
             perim.header(): perim.text(summary, zone=name)} for name in zones]
    held = pd.DataFrame({name: z.get("held", {}) for name, z in zones.items()})
    notes = [f"<b>{escape(q.label)}</b>: {escape(q.definition)}." for q in (units, new, perim)]
    out = ['<h2 id="zones">Management zones</h2>',
           table_html(pd.DataFrame(rows), text_cols=("zone",)),
           '<p class="note">' + " ".join(notes) + "</p>"]
    if len(held):
        view = held.reset_index(names="feature")
        out += ["<h3>Amount each zone holds (contributed: a zone's share of each unit's "
                "unprotected amount, in the feature's unit)</h3>",
                table_html(view, text_cols=("feature",))]
    return "".join(out)
