"""Scenarios side by side: one row per solved plan, from the summaries `plan_summary` makes.

The same table serves the ``carbonpark demo`` console output, its ``comparison.csv``,
and the report, so the numbers agree everywhere. Every column carries its unit in its
name; flows (carbon uptake, emissions) are the latest year's, which the column name states.

`headline_table` is the planner's table of N named plans: one row per plan, one column
per headline quantity of `optimizer.plan.quantities.QUANTITIES` (`HEADLINE`), headed by
its label and unit, each value the one ``summary.json`` holds (scaled as written: shares
in %). The app's Compare page and its all-plans export (``plans.csv``) show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from optimizer.plan.quantities import QUANTITIES
from optimizer.solvers.base import SolveStatus, proven_status

__all__ = ["COMPARISON_COLUMNS", "HEADLINE", "comparison_headers", "comparison_table",
           "format_comparison", "headline_headers", "headline_table", "plan_name"]

#: Column -> header of the printed table (units in every header).
COMPARISON_COLUMNS = {
    "scenario": "scenario",
    "new_km2": "new km²",
    "carbon_stock_added_MgC": "carbon stock added (MgC)",
    "npp_added_MgC_per_yr": "NPP added (MgC/yr)",
    "emissions_inside_tCO2_per_yr": "emissions inside (tCO2/yr)",
    "species_meeting_target": "species ≥ target",
    "status": "status",
    "gap_pct": "gap (%)",
    "seconds": "seconds",
}


def _latest(added: Mapping[str, Any], role: str) -> tuple[float, str]:
    """The latest year's amount of a flow role and its column name ('' when absent)."""
    rows = added.get(role) or {}
    if not rows:
        return float("nan"), ""
    col, r = list(rows.items())[-1]
    return float(r["amount"]), col


def plan_name(summary: Mapping[str, Any], default: str = "") -> str:
    """A plan's name: its scenario's name, with the ``--set`` overrides it was solved with.

    Two what-ifs of one scenario get two names, so tables and map titles tell them apart.

    Examples
    --------
    >>> plan_name({"scenario": {"name": "my_plan", "overrides": {"budget.share": "0.15"}}})
    'my_plan (budget.share=0.15)'
    >>> plan_name({"scenario": {"name": "", "overrides": {}}}, default="out/p")
    'out/p'
    """
    scenario = summary.get("scenario", {}) or {}
    name = str(scenario.get("name") or default)
    overrides = scenario.get("overrides") or {}
    if overrides:
        name += " (" + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ")"
    return name


def _status(status: str, gap: float | None) -> str:
    """The status word of `optimizer.solvers.base.SolveStatus`: a summary written before
    ``within_gap`` existed says "optimal" at a proven gap above 0; read it as within_gap."""
    try:
        word = SolveStatus(status)
    except ValueError:
        return str(status)
    return word.value if gap is None else proven_status(word, float(gap)).value


def comparison_table(summaries: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per plan summary (`optimizer.outputs.solve_folder.plan_summary`).

    Columns: ``scenario``, ``new_km2``, ``carbon_stock_added_MgC``,
    ``npp_added_MgC_per_yr`` and ``emissions_inside_tCO2_per_yr`` (latest year, named in
    ``npp_year`` / ``emissions_year``), ``species_meeting_target_before`` / ``_after``,
    ``species_features``, ``species_meeting_target`` (text, e.g. ``5 -> 31 of 36``),
    ``target_pct``, ``status``, ``gap_pct`` and ``seconds`` (the whole solve,
    ``seconds_total`` when recorded, else the solver's runtime).

    Examples
    --------
    >>> s = {"scenario": {"name": "a"}, "new_km2": 1500.0, "status": "optimal", "gap": 0.0,
    ...      "runtime_s": 0.5, "seconds_total": 0.7,
    ...      "added": {"carbon_stock_total": {"amount": 2.5e6},
    ...                "carbon_uptake": {"npp_2020": {"amount": 1e4, "unit": "MgC/yr"}}},
    ...      "species": {"meeting_target_before": 5, "meeting_target_after": 9, "features": 12},
    ...      "gap_closure": {"target": 0.3}}
    >>> t = comparison_table([s])
    >>> row = t.iloc[0]
    >>> row["scenario"], float(row["npp_added_MgC_per_yr"]), row["species_meeting_target"]
    ('a', 10000.0, '5 -> 9 of 12')
    >>> print(format_comparison(t[["scenario", "new_km2", "npp_added_MgC_per_yr", "npp_year"]]))
    scenario  new km²  NPP added 2020 (MgC/yr)
    a           1,500                   10,000
    """
    rows = []
    for s in summaries:
        added = s.get("added", {})
        npp, npp_year = _latest(added, "carbon_uptake")
        emis, emis_year = _latest(added, "emissions")
        sp = s.get("species", {})
        gap = s.get("gap")
        rows.append({
            "scenario": plan_name(s),
            "new_km2": float(s["new_km2"]),
            "carbon_stock_added_MgC": float(added.get("carbon_stock_total", {})
                                            .get("amount", float("nan"))),
            "npp_added_MgC_per_yr": npp, "npp_year": npp_year,
            "emissions_inside_tCO2_per_yr": emis, "emissions_year": emis_year,
            "species_meeting_target_before": sp.get("meeting_target_before"),
            "species_meeting_target_after": sp.get("meeting_target_after"),
            "species_features": sp.get("features"),
            "species_meeting_target": (f"{sp.get('meeting_target_before')} -> "
                                       f"{sp.get('meeting_target_after')} of "
                                       f"{sp.get('features')}"),
            "target_pct": 100 * float(s.get("gap_closure", {}).get("target", float("nan"))),
            "status": _status(s.get("status", ""), gap),
            "gap_pct": float("nan") if gap is None else 100 * float(gap),
            "seconds": float(s.get("seconds_total") or s.get("runtime_s") or float("nan")),
        })
    return pd.DataFrame(rows)


def comparison_headers(table: pd.DataFrame) -> dict[str, str]:
    """Column -> header with its unit; the flows' year and the species target filled in from
    ``table`` when every row shares them (the console, the report and the app all use these).

    Examples
    --------
    >>> t = pd.DataFrame({"npp_year": ["npp_2020"], "emissions_year": [""], "target_pct": [30.0]})
    >>> h = comparison_headers(t)
    >>> h["npp_added_MgC_per_yr"], h["species_meeting_target"]
    ('NPP added 2020 (MgC/yr)', 'species ≥ 30% of range')
    """
    headers = dict(COMPARISON_COLUMNS)
    for col, year_col in (("npp_added_MgC_per_yr", "npp_year"),
                          ("emissions_inside_tCO2_per_yr", "emissions_year")):
        years = set(table[year_col]) - {""} if year_col in table else set()
        if len(years) == 1:  # "npp_2020" -> "NPP added 2020 (MgC/yr)"
            m = re.search(r"(\d{4})$", years.pop())
            if m:
                headers[col] = headers[col].replace("(", f"{m.group(1)} (", 1)
    if len(table) and "target_pct" in table:
        headers["species_meeting_target"] = (f"species ≥ {table['target_pct'].iloc[0]:.0f}% "
                                             "of range")
    return headers


def format_comparison(table: pd.DataFrame) -> str:
    """The comparison as aligned text: full numbers, thousands separators, units in headers
    (`comparison_headers`).
    """
    headers = comparison_headers(table)

    def cell(col: str, v: Any) -> str:
        if isinstance(v, str):
            return v
        if v is None or pd.isna(v):
            return "-"
        if col == "gap_pct":
            return f"{v:.3f}"
        if col == "seconds":
            return f"{v:.1f}"
        return f"{v:,.0f}"

    cols = [c for c in COMPARISON_COLUMNS if c in table]
    body = [[cell(c, v) for c, v in zip(cols, row, strict=True)]
            for row in table[cols].itertuples(index=False)]
    head = [headers[c] for c in cols]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    for r in body:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


#: The quantities of `headline_table`, in column order (names of `QUANTITIES`): the headline
#: numbers of every plan (those of the app's metric cards and ``summary.json``).
HEADLINE: tuple[str, ...] = (
    "new_km2", "new_share_of_land", "new_km2_in_existing_units", "carbon_stock_added",
    "carbon_stock_added_co2e", "npp_added", "emissions_inside", "species_met_before",
    "species_met_after", "species_features", "shortfall_closed_km2", "shortfall_closed_pct",
    "units_added", "patches", "status", "gap",
)


def headline_headers(summaries: Iterable[Mapping[str, Any]],
                     names: Iterable[str] = HEADLINE) -> dict[str, str]:
    """Quantity name -> column header of `headline_table`: its label and unit
    (`optimizer.plan.quantities.Quantity.header`), a flow's year when every plan shares it.

    Examples
    --------
    >>> s = {"added": {"carbon_uptake": {"npp_2020": {"amount": 1e4}}}}
    >>> h = headline_headers([s], ["new_km2", "npp_added", "gap"])
    >>> h["new_km2"], h["npp_added"], h["gap"]
    ('new protected area (km²)', 'NPP added, 2020 (MgC/yr)', 'proven gap (%)')
    """
    summaries = list(summaries)
    out = {}
    for name in names:
        q = QUANTITIES[name]
        years = {q.latest(s) for s in summaries} - {""}
        qualifier = ""
        if len(years) == 1:
            year = years.pop()
            m = re.search(r"(\d{4})$", year)
            qualifier = m.group(1) if m else year
        out[name] = q.header(qualifier)
    return out


def headline_table(plans: Mapping[str, Mapping[str, Any]],
                   names: Iterable[str] = HEADLINE) -> pd.DataFrame:
    """One row per named plan, in the order given: ``plan`` then one column per quantity.

    Parameters
    ----------
    plans : mapping of str to dict
        Plan name -> its summary (`optimizer.outputs.solve_folder.plan_summary`, what
        ``summary.json`` holds).
    names : iterable of str
        Names of `optimizer.plan.quantities.QUANTITIES` (default `HEADLINE`).

    Returns
    -------
    pandas.DataFrame
        Columns ``plan`` and the headers of `headline_headers`. Each value is the summary's
        (`Quantity.value`) times the quantity's ``scale`` (shares in %), not rounded: a
        float for numbers, an integer for counts (pandas' ``Int64``: ``<NA>`` when missing),
        text as it is (None when missing); a missing number is NaN.

    Examples
    --------
    >>> a = {"new_km2": 1500.5, "new_share_of_land": 0.1, "status": "optimal",
    ...      "species": {"meeting_target_after": 9}}
    >>> b = {"new_km2": 3000.0, "new_share_of_land": 0.2, "status": "within_gap"}
    >>> t = headline_table({"ten": a, "twenty": b},
    ...                    ["new_km2", "new_share_of_land", "species_met_after", "status"])
    >>> t.to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'plan': ['ten', 'twenty'], 'new protected area (km²)': [1500.5, 3000.0],
     'new share of the land (%)': [10.0, 20.0], 'species meeting the target': [9, None],
     'status (one word)': ['optimal', 'within_gap']}
    """
    names = list(names)
    heads = headline_headers(plans.values(), names)
    rows = []
    for plan, s in plans.items():
        row: dict[str, Any] = {"plan": plan}
        for name in names:
            q, v = QUANTITIES[name], QUANTITIES[name].value(s)
            if q.kind == "text":
                row[heads[name]] = None if v is None else str(v)
            elif q.kind == "count":
                row[heads[name]] = None if v is None else int(v)
            else:
                row[heads[name]] = float("nan") if v is None else float(v) * q.scale
        rows.append(row)
    table = pd.DataFrame(rows, columns=["plan", *heads.values()])
    counts = {heads[n]: "Int64" for n in names if QUANTITIES[n].kind == "count"}
    return table.astype(counts)
