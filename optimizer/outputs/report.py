"""The HTML report of one plan, or of several plans side by side: one self-contained file.

`report_html` reads ``carbonpark solve`` folders (`optimizer.outputs.solve_folder.read_solution`)
and writes one HTML page with nothing outside it (figures as base64 PNG ``data:`` URIs,
inline CSS, no script, font, tile or link to fetch), so it opens offline and can be
mailed. One folder gives the plan's report:

* the key numbers, as the console prints them (new km², carbon stock added in MgC and
  tCO2e, NPP added, species at target before -> after), labelled, formatted and defined by
  the registry of quantities (`optimizer.plan.quantities.QUANTITIES`);
* new protection per region (``summary.json``'s ``regions``) against each region budget;
* maps with legends, region names, scale and CRS (`optimizer.figures.maps`): the existing network
  and the added units, the candidate parks numbered by rank, the unprotected hotspots
  and the carbon x biodiversity typology of the existing network's gap analysis;
* the gap closure (`optimizer.plan.closure.gap_closure`, the same numbers as ``carbonpark
  solve``): density inside protection / study area before -> after, ecosystem shortfalls
  closed, hotspots protected, species before -> after;
* the study's Table 1 (carbon stock by zone) before (the existing network by category)
  and after (the existing network, the added units, and both as protected), and Tables
  2-3 (NPP and emissions per year and zone), from `optimizer.gap.tables`;
* the candidate parks (`optimizer.plan.parks.candidate_parks`): the best ones by rank with
  area, carbon, emissions inside, species, typology, the protected areas they extend and the
  sliver flag;
* the performance curves (``solve --curves``, `optimizer.outputs.curves_files`), the
  carbon-biodiversity frontier (``--frontier``) and the run: the scenario's settings (budget,
  effective weights, locks, region and ecosystem budgets, solver) and the solve's metadata.

Several folders give a comparison: `optimizer.plan.comparison.comparison_table`, each plan's
map and its gap closure, and each run's metadata. `write_report` writes the file
atomically (`optimizer.atomic`): an existing report is replaced whole or not at all, a
file carbonpark did not write only with ``overwrite``. A report is a single file and
needs no marker beside it: it carries carbonpark's ``<meta name="generator">`` tag, and a
file without it (or one a marker of an earlier carbonpark lists) is not ours
(`optimizer.outputs.report_files`).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.atomic import write_output_file
from optimizer.errors import InputDataError
from optimizer.figures.maps import hotspot_map, parks_map, plan_map, typology_map
from optimizer.gap import gap_analysis
from optimizer.gap.analysis import typology_subtitle
from optimizer.gap.ranking import TYPES
from optimizer.gap.tables import carbon_table, time_series_table
from optimizer.outputs.curves_files import CURVES_CSV, curves_html
from optimizer.outputs.report_files import (
    GENERATOR,
    check_frontier_folder,
    check_report_file,
    is_report_file,
)
from optimizer.outputs.report_importance import check_importance_folder, importance_html
from optimizer.outputs.report_tables import (
    arrow,
    carbon_table_html,
    density_html,
    ecosystems_html,
    escape,
    figure_html,
    hotspots_html,
    species_html,
    table_html,
    time_series_html,
    zones_after,
)
from optimizer.outputs.report_zones import zones_html
from optimizer.outputs.solve_folder import SolveFolder, read_solution, solve_folder_inputs
from optimizer.plan.closure import gap_closure
from optimizer.plan.comparison import COMPARISON_COLUMNS, comparison_headers, comparison_table, plan_name
from optimizer.plan.parks import PARK_COLUMNS, candidate_parks
from optimizer.plan.quantities import QUANTITIES as Q

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["report_html", "write_report"]

_TOP_PARKS = 20

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:0 auto;max-width:1180px;padding:24px 32px;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #2166ac;padding-bottom:3px;
 margin-top:2em}h3{margin-top:1.4em}
.lede{color:#444;font-size:1.05em}.meta{color:#666;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#f4f7fb;border-left:4px solid #2166ac;padding:10px 14px;min-width:180px;
 flex:1 1 180px}.card b{display:block;font-size:1.35em}.card span{color:#555;font-size:.85em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.88em}
th,td{border-bottom:1px solid #ddd;padding:4px 9px;text-align:right;vertical-align:top}
th{background:#eef2f7;text-align:center}td{white-space:nowrap}
td.t,th.t{text-align:left;white-space:normal}td.s,th.s{text-align:left}
tr.total td{font-weight:bold;border-top:2px solid #999}
figure{margin:12px 0 24px}figure img{max-width:100%;height:auto;border:1px solid #e5e5e5}
figcaption{color:#555;font-size:.9em}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.note{color:#555;font-size:.9em}.up{color:#1b7837}.down{color:#b2182b}
nav a{margin-right:14px}
"""


def _parks_vs_plan(parks: Any, summary: dict[str, Any]) -> str:
    """Why the parks' km² differ from the plan's new km² (the two totals side by side)."""
    in_parks = float(parks.table["area_km2"].sum()) if len(parks.table) else 0.0
    new = float(summary.get("new_km2", 0.0))
    existing = float(summary.get("new_km2_in_existing_units", 0.0))
    dropped = float(parks.dropped["area_km2"].sum()) if len(parks.dropped) else 0.0
    parts = [f"The parks hold {in_parks:,.0f} km² of the plan's {new:,.0f} km² of new "
             f"protection."]
    if existing > 0:
        parts.append(f"{existing:,.0f} km² is the unprotected part of existing protected units "
                     "the plan locks in, which belongs to no new park.")
    if dropped > 0:
        parts.append(f"{dropped:,.0f} km² was in parks under the minimum size"
                     + (", refilled next to kept parks." if len(parks.refilled) else "."))
    return f'<p class="note">{escape(" ".join(parts))}</p>'


def _parks_html(parks: Any, summary: Mapping[str, Any] | None = None) -> str:
    t = parks.table
    if not len(t):
        return '<p class="note">The plan adds no units: no candidate parks.</p>'
    s = summary or {}
    emissions = Q["emissions_inside"]
    has_emissions = emissions.value(s) is not None  # a plan with an emissions layer
    emissions_year = _year_of(emissions.latest(s))
    cols = ["rank", "area_km2", "n_units", "carbon_stock_MgC", "carbon_stock_tCO2e",
            "carbon_uptake_MgC_per_yr", "emissions_tCO2_per_yr", "species_in_range",
            "key_species_names", "dominant_ecosystem", "regions", "typology", "extends",
            "sliver"]
    heads = {"rank": "park (rank)", "area_km2": "new area (km²)", "n_units": "units",
             "carbon_stock_MgC": "carbon stock (MgC)", "carbon_stock_tCO2e": "carbon stock (tCO2e)",
             "carbon_uptake_MgC_per_yr": "NPP (MgC/yr)",
             "emissions_tCO2_per_yr": (f"{emissions.label}"
                                       + (f" {emissions_year}" if emissions_year else "")
                                       + f" ({emissions.unit_text})"),
             "species_in_range": "species in range",
             "key_species_names": "key species", "dominant_ecosystem": "dominant ecosystem",
             "regions": "regions", "typology": "typology", "extends": "extends",
             "sliver": "sliver"}
    cols = [c for c in cols if c in t.columns
            and (c != "emissions_tCO2_per_yr" or has_emissions or summary is None)]
    df = pd.DataFrame(t[cols].head(_TOP_PARKS)).rename(columns=heads)
    df["park (rank)"] = [f"P{int(r)}" for r in t["rank"].head(_TOP_PARKS)]
    if "sliver" in df:
        df["sliver"] = ["sliver" if bool(v) else "" for v in df["sliver"]]
    if "key species" in df:
        df["key species"] = [_first(v) for v in df["key species"]]
    if "extends" in df:
        df["extends"] = df["extends"].replace("", "— (new site)")
    more = (f" The table lists the best {_TOP_PARKS} of {len(t):,} parks."
            if len(t) > _TOP_PARKS else "")
    dictionary = "; ".join(f"<b>{escape(heads[c])}</b>: {escape(PARK_COLUMNS[c][1])}"
                           for c in cols if c in PARK_COLUMNS and c in heads)
    return (f"<p>{escape(parks.summary()).replace(chr(10), '<br>')}{escape(more)}</p>"
            + table_html(df, text_cols=("park (rank)", "key species", "dominant ecosystem",
                                    "regions", "typology", "extends", "sliver"))
            + f'<p class="note">{dictionary}.</p>')


#: The headlines whose definitions the report prints under its key numbers.
_DEFINED = ("new_km2", "new_km2_in_existing_units", "carbon_stock_added", "npp_added",
            "emissions_inside", "species_met_after", "gap")


def _definitions_html(s: Mapping[str, Any]) -> str:
    """What the key numbers mean: label, unit and definition, from the registry (the words
    of ``summary.json``'s ``definitions``)."""
    items = [f"<b>{escape(Q[n].label)}</b> ({escape(Q[n].unit_text or 'count')}): {escape(Q[n].definition)}."
             for n in _DEFINED if Q[n].value(s) is not None]
    return f'<p class="note">{" ".join(items)}</p>' if items else ""


def _year_of(column: str) -> str:
    """The year a flow's column names (``co2_2020`` -> ``2020``, no separator), or ``""``."""
    m = re.search(r"(\d{4})$", column or "")
    return m.group(1) if m else ""


def _first(names: Any, n: int = 4) -> str:
    """The first ``n`` of '; '-joined names, and how many more."""
    parts = [x for x in str(names or "").split("; ") if x]
    return "; ".join(parts[:n]) + (f" … (+{len(parts) - n} more)" if len(parts) > n else "")


def _key_numbers(s: Mapping[str, Any], closure: Any) -> str:
    # Values, labels and units from the registry (`optimizer.plan.quantities`), as the console.
    completes = Q["new_km2_in_existing_units"]
    cards = [(Q["new_km2"].with_unit(s),
              f"{Q['new_km2'].label} ({Q['new_share_of_land'].with_unit(s)} of the land)"
              + (f"; {completes.label.replace('of which', 'of which ' + completes.with_unit(s))}"
                 if float(completes.value(s) or 0.0) > 0 else ""))]
    if Q["carbon_stock_added"].value(s) is not None:
        cards.append((Q["carbon_stock_added"].with_unit(s),
                      f"{Q['carbon_stock_added'].label} "
                      f"({Q['carbon_stock_added_co2e'].with_unit(s)})"))
    for name in ("npp_added", "emissions_inside"):
        q = Q[name]
        if q.value(s) is not None:
            cards.append((f"{q.text(s)} {q.unit_text}", f"{q.label}, {q.latest(s)}"))
    sp = s.get("species", {})
    if sp.get("features"):
        cards.append((f"{Q['species_met_before'].text(s)} → {Q['species_met_after'].text(s)} "
                      f"of {Q['species_features'].text(s)}", f"species with ≥ "
                      f"{100 * closure.target:.0f}% of their range protected"))
    cs = closure.summary()
    eco = cs["ecosystems"]
    if eco["classes"]:
        pct = eco["closed_pct"]
        counted = ", ".join(eco.get("counted", []))  # the classes the headline counts
        cards.append((f"{eco['closed_km2']:,.0f} km²",
                      f"of {eco['shortfall_before_km2']:,.0f} km² ecosystem shortfall closed"
                      + (f" ({pct:.1f}%)" if pct is not None else "")
                      + (f"; counted: {counted}" if counted else "")))
    ratio = cs["density_ratio"].get("biomass") or next(iter(cs["density_ratio"].values()), None)
    if ratio:
        name = "biomass" if "biomass" in cs["density_ratio"] else next(iter(cs["density_ratio"]))
        cards.append((arrow(ratio["before"], ratio["after"]) + " ×",
                      f"{name} density inside protection ÷ study area"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(a)}</b><span>{escape(b)}</span></div>' for a, b in cards) + "</div>"


def _metadata_html(sol: SolveFolder) -> str:
    s = sol.summary
    sc = s.get("scenario", {})
    gap = s.get("gap")
    rows = [("scenario", sc.get("name", "")), ("scenario file", sc.get("source", "")),
            ("scenario hash", sc.get("hash", "")), ("solve folder", str(sol.path)),
            ("solver", f"{s.get('solver', '')} {s.get('solver_version', '')}"
                       f" ({s.get('strategy', '')})"),
            # status_text begins with the status word (`SolveStatus`): "optimal" only at
            # proven gap 0, "within_gap" within the requested gap above 0.
            ("status", str(s.get("status_text") or s.get("status", ""))),
            ("optimality gap (%)", "—" if gap is None else f"{100 * float(gap):.3f}"),
            ("solver runtime (s)", f"{float(s.get('runtime_s') or 0):.2f}"),
            ("whole solve (s)", f"{float(s.get('seconds_total') or 0):.2f}"),
            ("units existing / added / locked out / free",
             " / ".join(f"{int(v):,}" for v in s.get("units", {}).values())),
            ("versions", ", ".join(f"{k} {v}" for k, v in s.get("versions", {}).items()))]
    return table_html(pd.DataFrame(rows, columns=["item", "value"]), text_cols=("item", "value"))


def _plain(v: Any) -> str:
    """A setting as text: mappings as ``key value; …``, lists comma-joined, numbers plain."""
    if isinstance(v, Mapping):
        return "; ".join(f"{k} {_plain(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_plain(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) >= 1000 else f"{v:.6g}"
    return str(v)


def _km2(v: float) -> str:
    return f"{v:,.0f} km²" if np.isfinite(v) else "no cap"


def _settings_html(sol: SolveFolder) -> str:
    """The scenario's settings the plan answers: budget, weights, locks, area budgets."""
    s, sc, p = sol.summary, sol.scenario, sol.problem
    rows: list[tuple[str, str]] = [("objective", p.objective.kind if p.objective else "—")]
    budget = p.total_budget()
    asked = sc.budget.model_dump(exclude_none=True, exclude={"cost", "cost_layer"}) if sc.budget else {}
    if budget is not None or set(asked) - {"remainders"}:
        rows.append(("budget (new area)", "; ".join(
            [_plain(asked)] * bool(asked)
            + ([_km2(budget.max_km2)] if budget is not None else []))))
    for key in ("budget_remainders", "remainders"):  # whether remainders count (when recorded)
        if key in s:
            rows.append(("remainders of existing units count against the budget",
                         _plain(s[key])))
    if sc.weights:
        rows.append(("weights (as written)", _plain(dict(sc.weights))))
    if s.get("weights_rule"):
        rows.append(("weights rule", _plain(s["weights_rule"])))
    if s.get("weight_quantities"):
        rows.append(("weight per quantity", _plain(s["weight_quantities"])))
    effective = s.get("effective_weights") or (dict(p.objective.weights) if p.objective else {})
    if effective:
        rows.append(("effective weight per feature", _plain(effective)))
    if s.get("boundary") is not None:
        rows.append(("boundary", _plain(s["boundary"])))
    if p.pa_threshold is not None:
        rows.append(("locked in as existing protection",
                     f"units at least {100 * p.pa_threshold:.0f}% protected "
                     f"({Q['units_existing'].text(s)} units)"))
    for lock in p.locks:
        rows.append(("locked " + ("in" if lock.value == 1 else "out"),
                     f"{lock.label} ({int(np.asarray(lock.mask).sum()):,} units)"))
    for b in p.budgets:
        if b.scope == "total":
            continue
        bounds = [f"at most {_km2(b.max_km2)}"] * bool(np.isfinite(b.max_km2))
        bounds += [f"at least {_km2(b.min_km2)}"] * bool(b.min_km2 > 0)
        rows.append((f"{b.scope} budget: {b.name}", ", ".join(bounds) or "—"))
    rows += [(f"cost budget: {n} ({c['unit']})", f"plan cost {Q['cost_spent'].text(s, cost=n)} of "
              f"at most {Q['cost_max'].text(s, cost=n)}") for n, c in (s.get("costs") or {}).items()]
    rows.append(("solver settings", _plain(sc.solver.model_dump(exclude_none=True))))
    return table_html(pd.DataFrame(rows, columns=["setting", "value"]), text_cols=("setting", "value"))


def _regions_html(s: Mapping[str, Any]) -> str:
    """New protection per region against each region budget (``summary.json``'s regions)."""
    regions = s.get("regions") or {}
    if not regions:
        return '<p class="note">The grid has no regions.</p>'
    new, cap, low = Q["region_new_km2"], Q["region_max_km2"], Q["region_min_km2"]
    stock = Q["region_carbon_stock_added"]
    rows = []
    for name in regions:
        capped = cap.value(s, region=name)
        rows.append({"region": name, new.header(): new.text(s, region=name),
                     cap.header(): cap.text(s, region=name) if capped is not None else "no cap",
                     low.header(): low.text(s, region=name),
                     "budget used (%)": (f"{100 * float(new.value(s, region=name)) / capped:.1f}"
                                         if capped else "—"),
                     stock.header(): stock.text(s, region=name)})
    total = {"region": "all", new.header(): Q["new_km2"].text(s), cap.header(): "",
             low.header(): "", "budget used (%)": "",
             stock.header(): Q["carbon_stock_added"].text(s)}
    df = pd.concat([pd.DataFrame(rows), pd.DataFrame([total])], ignore_index=True)
    # The budget columns only where the scenario sets a region budget.
    has_cap = any(cap.value(s, region=n) is not None for n in regions)
    has_low = any(low.value(s, region=n) is not None for n in regions)
    df = df.drop(columns=[cap.header(), "budget used (%)"] * (not has_cap)
                 + [low.header()] * (not has_low))
    notes = [f"<b>{escape(new.label)}</b>: {escape(new.definition)}."]
    notes += [f"<b>{escape(cap.label)}</b>: {escape(cap.definition)}."] * has_cap
    notes += [f"<b>{escape(low.label)}</b>: {escape(low.definition)}."] * has_low
    if not (has_cap or has_low):
        notes.append("The scenario sets no region budget.")
    return (table_html(df, text_cols=("region",), total_last=True)
            + f'<p class="note">{" ".join(notes)}</p>')


def _locks_html(s: Mapping[str, Any]) -> str:
    """Each lock of the scenario (``summary.json``'s locks, existing protection apart): in or
    out, its units and area, as `carbonpark solve` prints them; empty when there is none."""
    locks = s.get("locks") or {}
    if not locks:
        return ""
    units, km2 = Q["lock_units"], Q["lock_km2"]
    rows = [{"lock": label, "locked": lk["locked"], units.header(): units.text(s, lock=label),
             km2.header(): km2.text(s, lock=label), "file": lk.get("file") or "—"}
            for label, lk in locks.items()]
    notes = (f"<b>{escape(units.label)}</b>: {escape(units.definition)}. "
             f"<b>{escape(km2.label)}</b>: {escape(km2.definition)}.")
    return ('<h2 id="locks">Locks</h2><div id="locks-table">'
            + table_html(pd.DataFrame(rows), text_cols=("lock", "locked", "file"))
            + f'</div><p class="note">{notes}</p>')


def _no_data_note(gap: Any) -> str:
    """What the grey "no data" units of the maps are, with their count."""
    units = gap.units
    n = int((units["synergy_type"] == "no_data").sum()) if "synergy_type" in units else 0
    counted = (f" Here {n:,} unit{'s' if n != 1 else ''} ha{'ve' if n != 1 else 's'} no carbon "
               "stock density or no biodiversity value." if n else "")
    return ('<p class="note">Grey "no data" units have no valid value in a layer the map '
            "classifies (every raster cell under them is nodata, e.g. outside a layer's "
            "coverage): they are neither hotspots nor typed. Their totals count only valid "
            "cells (none: 0), so the plan may still select them." + escape(counted) + "</p>")


def _frontier_html(folder: Path | None) -> str:
    if folder is None:
        return ""
    csv, png = folder / "frontier.csv", folder / "frontier.png"
    parts = ['<h2 id="frontier">Carbon–biodiversity frontier</h2>']
    if png.is_file():
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
        parts.append(f'<figure><img alt="frontier" src="{uri}"><figcaption>Each point a plan '
                     "on the trade-off between carbon stock added and mean species "
                     f"representation ({escape(folder)}).</figcaption></figure>")
    if csv.is_file():
        f = pd.read_csv(csv)
        keep = [c for c in ("point", "carbon_stock_added_MgC", "mean_representation_pct",
                            "new_km2", "knee", "status") if c in f]
        heads = {"carbon_stock_added_MgC": "carbon stock added (MgC)",
                 "mean_representation_pct": "mean representation (%)", "new_km2": "new km²"}
        parts.append(table_html(f[keep].rename(columns=heads), text_cols=("status",)))
    return "".join(parts)


#: The last gap analyses by grid object: plans of one grid (the demo's six) share it.
_GAPS: list[tuple[Any, dict[str, float], Any]] = []


def _gap_of(pu: Any, settings: dict[str, float], run: Any) -> Any:
    """``run(pu, **settings)``, once per grid object and settings in this process."""
    for p, st, gap in _GAPS:
        if p is pu and st == settings:
            return gap
    gap = run(pu, **settings)
    _GAPS[:] = [*_GAPS[-3:], (pu, dict(settings), gap)]
    return gap


class _Plan:
    """One loaded plan and what its report shows (computed once)."""

    def __init__(self, sol: SolveFolder) -> None:
        self.sol = sol
        gc = sol.summary.get("gap_closure", {})
        self.settings = {"target": float(gc.get("target", 0.3)),
                         "pa_threshold": float(gc.get("pa_threshold", 0.5)),
                         "top": float(gc.get("hotspot_top", 0.1))}
        eco = gc.get("ecosystems", {})  # which classes counted, as the solve recorded
        self.closure = gap_closure(sol.pu, sol.problem, sol.x, **self.settings,
                                   ecosystems=eco.get("setting", "natural"))
        self.name = plan_name(sol.summary, default=sol.path.name)

    def plan_map(self, title: str | None = None) -> Figure:
        units = self.sol.pu.units.assign(pa_fraction=self.sol.problem.protected_fraction)
        return plan_map(units, self.sol.status, geometry=self.sol.pu.units.geometry,
                        title=title or f"{self.name}: existing network and added units")


# ============================================================== the pages

def _single(plan: _Plan, frontier: Path | None, importance: Path | None = None) -> str:
    sol, gc = plan.sol, plan.closure
    pu, s = sol.pu, sol.summary
    gap = _gap_of(pu, plan.settings, gap_analysis)
    before = np.clip(sol.problem.protected_fraction, 0.0, 1.0)
    z_after = zones_after(pu, before, sol.x.astype(float))
    pk = sol.scenario.parks  # the scenario's [parks]: the same parks as `carbonpark export`
    parks = candidate_parks(sol.problem, sol.x, connectivity=pk.connectivity,
                            min_km2=pk.min_km2, refill=pk.refill)
    geom = pu.units.geometry
    desc = getattr(sol.scenario, "description", None) or ""
    out = [f"<h1>Plan report: {escape(plan.name)}</h1>",
           f'<p class="lede">{escape(desc)}</p>' if desc else "",
           f'<p class="meta">{escape(s.get("status_text", ""))}; solved with '
           f'{escape(s.get("solver", ""))}; scenario hash '
           f'{escape(str(s.get("scenario", {}).get("hash", ""))[:16])}'
           f"; report written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
           '<nav><a href="#maps">Maps</a><a href="#regions">Regions</a>'
           + ('<a href="#locks">Locks</a>' if s.get("locks") else "")
           +            '<a href="#closure">Gap closure</a><a href="#table1">'
           'Carbon (Table 1)</a><a href="#series">NPP and emissions</a><a href="#parks">Parks</a>'
           + ('<a href="#curves">Curves</a>' if (sol.path / CURVES_CSV).is_file() else "")
           + ('<a href="#frontier">Frontier</a>' if frontier else "")
           + ('<a href="#importance">Importance</a>' if importance else "")
           + '<a href="#meta">Run</a></nav>',
           _key_numbers(s, gc), _definitions_html(s), '<h2 id="maps">Maps</h2>',
           figure_html(plan.plan_map(), "The existing protected network (blue) and the units the "
                   "plan adds (magenta), with the named regions.", "plan map")]
    units = pu.units.assign(pa_fraction=sol.problem.protected_fraction)
    out.append(figure_html(parks_map(units, parks.unit_park, sol.status, geometry=geom),
                       "Candidate parks: the added units grouped into contiguous parks, "
                       "numbered by rank (P1 = brings the most value); see the parks table.",
                       "parks map"))
    if "gap_any" in gap.units:
        out.append(figure_html(hotspot_map(gap.units, top=plan.settings["top"],
                                       pa_threshold=plan.settings["pa_threshold"], geometry=geom,
                                       value_units=gap.settings.get("value_units")),
                           "Where the existing network leaves hotspots unprotected (before the "
                           "plan); the gap closure below says how much of them the plan "
                           "protects.", "hotspot map"))
    if "synergy_type" in gap.units:

        out.append(figure_html(typology_map(gap.units, TYPES, geometry=geom,
                                        subtitle=typology_subtitle(gap.settings)),
                           "Where carbon and biodiversity value coincide (synergy), or one "
                           "dominates: carbon-dominant units are candidate carbon parks.",
                           "typology map"))
    out.append(_no_data_note(gap))
    out += [zones_html(s)]  # "" without zones
    out += ['<h2 id="regions">New protection by region</h2>', _regions_html(s), _locks_html(s)]
    out += ['<h2 id="closure">Gap closure: the plan against the existing network\'s gaps</h2>',
            "<h3>Density inside protection ÷ study-area density</h3>", density_html(gc.density),
            '<p class="note">1 = protected land is as dense as the study area on average; '
            "below 1 the network under-represents that carbon (or, for emissions, is "
            "cleaner than average).</p>",
            f"<h3>Ecosystem representation (target {100 * gc.target:g}% of each class)</h3>",
            ecosystems_html(gc.ecosystems, gc.ecosystem_definition),
            "<h3>Unprotected hotspots the plan protects</h3>",
            hotspots_html(gc.hotspots, gc.top),
            f"<h3>Species targets ({100 * gc.target:.0f}% of each range)</h3>",
            species_html(gc.species)]
    if "carbon" in gap.tables:
        out += ['<h2 id="table1">Carbon stock by zone (the study\'s Table 1)</h2>',
                "<h3>Before: the existing network by category</h3>",
                carbon_table_html(gap.tables["carbon"]),
                "<h3>After: the existing network and the added units, both counted as "
                "protected</h3>", carbon_table_html(carbon_table(pu, zones_=z_after))]
    out += ['<h2 id="series">Carbon uptake (NPP) and emissions by year (Tables 2–3)</h2>',
            "<h3>Before</h3>", time_series_html(gap.tables.get("time_series")),
            "<h3>After (added units counted as protected)</h3>",
            time_series_html(time_series_table(pu, zones_=z_after))]
    out += ['<h2 id="parks">Candidate parks</h2>', _parks_html(parks, s), _parks_vs_plan(parks, s)]
    out += [curves_html(sol.path), _frontier_html(frontier)]
    if importance is not None:
        out.append(importance_html(importance, sol))
    out += ['<h2 id="meta">Run</h2>', "<h3>Settings</h3>", _settings_html(sol),
            "<h3>Solve</h3>", _metadata_html(sol)]
    return "".join(out)


def _comparison(plans: Sequence[_Plan], frontier: Path | None) -> str:
    t = comparison_table([p.sol.summary for p in plans])
    cols = [c for c in COMPARISON_COLUMNS if c in t]
    heads = comparison_headers(t)  # as the console prints them
    view = t[cols].rename(columns=heads)
    out = [f"<h1>Scenario comparison: {len(plans)} plans</h1>",
           f'<p class="meta">{escape(", ".join(p.name for p in plans))}; report written '
           f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
           "<h2>Side by side</h2>", table_html(view, text_cols=("scenario", heads[
               "species_meeting_target"])),
           '<p class="note">New km² counts the unprotected part of every selected unit '
           "(the budget's measure). Flows are the latest year's. gap = proven optimality gap "
           "of the solver.</p>",
           "<h2>Density inside protection ÷ study area, before → after</h2>"]
    rows = []
    for p in plans:
        r: dict[str, Any] = {"scenario": p.name}
        for d in p.closure.density.itertuples():
            r[f"{d.layer} (×)"] = arrow(d.ratio_before, d.ratio_after)
        eco = p.closure.summary()["ecosystems"]
        if eco["classes"]:
            r["ecosystem shortfall closed (km²)"] = float(eco["closed_km2"])
        for h in p.closure.hotspots.itertuples():
            r[f"{h.criterion} hotspots protected (%)"] = 100 * float(h.share_protected_by_plan)
        rows.append(r)
    df = pd.DataFrame(rows)
    out.append(table_html(df, text_cols=("scenario",)))
    out.append("<h2>Plans</h2><div class=\"grid2\">")
    for p in plans:
        out.append(figure_html(p.plan_map(title=p.name), f"{p.name}: existing network and added "
                           "units", f"plan map {p.name}"))
    out.append("</div>")
    out.append(_frontier_html(frontier))
    out.append("<h2>Runs</h2>")
    for p in plans:
        out += [f"<h3>{escape(p.name)}</h3>", _settings_html(p.sol), _metadata_html(p.sol)]
    return "".join(out)


def report_html(solve_dirs: Sequence[str | os.PathLike[str]], *,
                frontier: str | os.PathLike[str] | None = None,
                importance: str | os.PathLike[str] | None = None) -> str:
    """The HTML report of one solve folder, or the comparison of several (see the module).

    Parameters
    ----------
    solve_dirs : sequence of path or SolveFolder
        ``carbonpark solve`` folders (one: the plan's report; several: a comparison), or
        plans already loaded (`optimizer.outputs.solve_folder.SolveFolder`, e.g. just solved).
    frontier : path, optional
        A ``carbonpark frontier`` folder (``frontier.csv``, ``frontier.png``) to include.
    importance : path, optional
        A ``carbonpark importance`` folder of the (one) plan: its map and top units.

    Returns
    -------
    str
        One self-contained HTML document.

    Raises
    ------
    InputDataError
        No folder, a folder that is not a solve folder, or a frontier folder without
        ``frontier.csv``, an importance folder with several plans, or one of another
        plan (one line naming it).
    """

    if not solve_dirs:
        raise InputDataError("solve_dirs: no solve folder given; pass one or more folders "
                             "written by `carbonpark solve`")
    front = check_frontier_folder(frontier)
    imp = check_importance_folder(importance)
    if imp is not None and len(solve_dirs) > 1:
        raise InputDataError(f"--importance {imp}: belongs to one plan; give one solve folder "
                             f"with it, not {len(solve_dirs)}")
    plans = [_Plan(p if isinstance(p, SolveFolder) else read_solution(p)) for p in solve_dirs]
    body = _single(plans[0], front, imp) if len(plans) == 1 else _comparison(plans, front)
    title = (f"carbonpark plan report: {plans[0].name}" if len(plans) == 1 else
             "carbonpark scenario comparison")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"{GENERATOR}<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}"
            '<p class="note">Written by carbonpark. Units: areas km², carbon stock MgC (tCO2e = '
            "MgC × 44.0095/12.0107), carbon stock density kgC/m², NPP MgC/yr and gC/m²/yr, "
            "emissions tCO2/yr.</p></body></html>\n")


def write_report(solve_dirs: Sequence[str | os.PathLike[str]], out_file: str | os.PathLike[str], *,
                 frontier: str | os.PathLike[str] | None = None,
                 importance: str | os.PathLike[str] | None = None,
                 overwrite: bool = False) -> Path:
    """Write `report_html` to ``out_file`` atomically.

    The file is checked first (`check_report_file`: an earlier carbonpark report may be
    replaced, a user's file only with ``overwrite``, an input never, and the folder must
    be writable), then written beside ``out_file`` and renamed over it, so a reader sees the
    old report or the new one, never half of one. Nothing else is written: no marker
    beside it (the report's generator tag says it is ours); a write that fails (a full
    disk) leaves no file and no folder behind.

    Parameters
    ----------
    solve_dirs : sequence of path or SolveFolder
        As for `report_html`.
    out_file : path
        The HTML file to write.
    frontier : path, optional
        A ``carbonpark frontier`` folder.
    importance : path, optional
        A ``carbonpark importance`` folder of the plan.
    overwrite : bool
        Replace ``out_file`` even if carbonpark did not write it.

    Returns
    -------
    pathlib.Path
        ``out_file``.

    Raises
    ------
    OutputError
        ``out_file`` is taken (see above), inside an input folder, or cannot be written.
    InputDataError
        See `report_html`.
    """
    p = Path(out_file)
    # Each folder (a loaded plan: its folder), its scenario, grid, layers and cache.
    inputs: list[str | os.PathLike[str]] = [
        q for s in solve_dirs for q in solve_folder_inputs(getattr(s, "path", s))]
    inputs += [frontier] if frontier is not None else []
    inputs += [importance] if importance is not None else []

    check_report_file(p, overwrite=overwrite, inputs=inputs)
    text = report_html(solve_dirs, frontier=frontier, importance=importance)

    def writer(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    return write_output_file(p, writer, owned=is_report_file, overwrite=overwrite, inputs=inputs)
