"""Compare: every saved plan side by side, named with its settings, against the existing
network's gaps.

One table, one row per plan in the order chosen (`optimizer.app.plans_table.plans_table`:
each number the plan's own ``summary`` value, labelled with its unit), the gaps each plan
closes, bar charts whose bars follow the table's rows (names wrapped, never cut, units in
the axis titles), and the units only one of two plans protects, on a map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.app import common, state
from optimizer.app.plans_table import bar_chart, number_formats, plans_table
from optimizer.app.ui import Ui
from optimizer.errors import InputDataError
from optimizer.figures.plots import STATUS_COLOURS, mass_scale
from optimizer.plan.comparison import headline_headers
from optimizer.plan.quantities import QUANTITIES

_DIFF_LABELS = ["existing protected area", "in both plans", "only in A", "only in B",
                "in neither plan"]
_DIFF_COLOURS = [STATUS_COLOURS["existing"], "#7570b3", "#e7298a", "#e6ab02", "#f0f0f0"]


def closure_table(plans: dict[str, Any]) -> pd.DataFrame:
    """One row per plan: how much of each gap of the existing network it closes."""
    rows = []
    for name, r in plans.items():
        s = r.closure.summary()
        row: dict[str, Any] = {"plan": name,
                               "ecosystem shortfall closed (km²)": s["ecosystems"]["closed_km2"],
                               "ecosystem shortfall closed (%)": s["ecosystems"]["closed_pct"],
                               "ecosystems meeting target": s["ecosystems"]["meeting_target_after"],
                               "species meeting target": s["species"]["meeting_target_after"]}
        for crit, share in s["hotspots_protected_share"].items():
            row[f"{crit} hotspots protected (%)"] = None if share is None else 100 * share
        for layer, d in s["density_ratio"].items():
            row[f"{layer} density ratio after (×)"] = d["after"]
        rows.append(row)
    return pd.DataFrame(rows)


def difference(pu: Any, a: Any, b: Any) -> tuple[np.ndarray, pd.DataFrame]:
    """Per-unit code (see `_DIFF_LABELS`) and the units/km² only in A, only in B, in both."""
    sa, sb = np.asarray(a.status), np.asarray(b.status)
    if len(sa) != len(sb) or len(sa) != len(pu.units):
        raise InputDataError("these plans are on different grids; compare plans of one grid")
    in_a, in_b = sa == "added", sb == "added"
    km2 = a.problem.unprotected_km2
    code = np.full(len(sa), 4)
    code[in_a & in_b] = 1
    code[in_a & ~in_b] = 2
    code[~in_a & in_b] = 3
    code[(sa == "existing") & (sb == "existing")] = 0
    rows = [(lab, int(m.sum()), float(km2[m].sum())) for lab, m in
            (("only in A", in_a & ~in_b), ("only in B", ~in_a & in_b), ("in both", in_a & in_b))]
    return code, pd.DataFrame(rows, columns=["where", "units", "new area (km²)"])


def _charts(st: Ui, table: pd.DataFrame, closure: pd.DataFrame,
            summaries: list[dict[str, Any]]) -> None:
    """The bar charts: one bar per plan in the table's row order, names wrapped, never cut,
    each axis titled with its quantity and unit (`plans_table.bar_chart`)."""
    heads = headline_headers(summaries)

    def frame(column: str, divisor: float = 1.0) -> pd.DataFrame:
        return pd.DataFrame({"plan": table["plan"],
                             "value": table[column].astype(float) / divisor,
                             "settings": table["settings"]})

    new, carbon = heads["new_km2"], heads["carbon_stock_added"]
    species, closed = heads["species_met_after"], heads["shortfall_closed_pct"]
    # Carbon in the SI prefix of its size (PgC, TgC): axis numbers of a few digits.
    divisor, unit = mass_scale(table[carbon].to_numpy(dtype=float),
                               QUANTITIES["carbon_stock_added"].unit)
    total = table[heads["species_features"]].dropna()
    of = f" (of {int(total.iloc[0])})" if len(total) and total.nunique() == 1 else ""
    c1, c2 = st.columns(2)
    c1.altair_chart(bar_chart(frame(new), "New protected area", new), width="stretch")
    c2.altair_chart(bar_chart(frame(carbon, divisor), "Carbon stock added",
                              f"{QUANTITIES['carbon_stock_added'].label} ({unit})",
                              number=",.1f" if divisor > 1 else ",.0f"), width="stretch")
    c3, c4 = st.columns(2)
    c3.altair_chart(bar_chart(frame(species), f"{species.capitalize()}{of}",
                              f"species{of}"), width="stretch")
    c4.altair_chart(bar_chart(frame(closed), "Ecosystem shortfall closed", closed,
                              number=".1f"), width="stretch")
    hot = [c for c in closure if c.endswith("hotspots protected (%)")]
    if hot:
        long = closure.melt(id_vars="plan", value_vars=hot, var_name="hotspots",
                            value_name="value")
        long["hotspots"] = long["hotspots"].str.replace(" hotspots protected (%)", "",
                                                        regex=False)
        # Plan by plan, in the table's order; the criteria side by side within each plan.
        long["order"] = long["plan"].map({n: i for i, n in enumerate(table["plan"])})
        long = long.sort_values(["order"], kind="stable").drop(columns="order")
        st.altair_chart(bar_chart(long, "Unprotected hotspots each plan protects",
                                  "hotspots protected (%)", number=".1f", series="hotspots"),
                        width="stretch")


def compare_page(st: Ui) -> None:
    """Compare: every saved plan (or those chosen), in one table named with its settings,
    bar charts in the table's order, and the difference of two of them on a map."""
    from optimizer.figures.maps import category_map

    st.title("Compare plans")
    saved = common.saved_plans(st)
    if len(saved) < 2:
        st.info(f"{len(saved)} plan(s) saved. Save two or more plans on the Plan page "
                "(**Save for Compare**) to compare them here.")
        return
    # The planner's choice is kept; a plan saved since it was made joins it.
    offered = st.session_state.get("cmp_offered", [])
    kept = [n for n in st.session_state.get("cmp_names", []) if n in saved]
    st.session_state["cmp_names"] = kept + [n for n in saved if n not in offered and n not in kept]
    st.session_state["cmp_offered"] = list(saved)
    names = st.multiselect("Plans to compare (every saved plan unless you leave some out)",
                           list(saved), key="cmp_names")
    if len(names) < 2:
        raise InputDataError("choose two or more plans to compare (the selection holds "
                             f"{len(names)})")
    plans = {n: saved[n] for n in names}
    pu, _, _ = common.current(st)
    table = plans_table(plans)
    summaries = [r.summary for r in plans.values()]
    st.subheader(f"Side by side: {len(plans)} plans")
    formats = number_formats(summaries)
    st.dataframe(table, hide_index=True, column_config={
        "plan": st.column_config.TextColumn("plan", pinned=True),
        "settings": st.column_config.TextColumn("settings", width="medium"),
        **{h: st.column_config.NumberColumn(format=f) for h, f in formats.items()}})
    st.caption("One row per plan, in the order chosen above; each number is the plan's own "
               "(its summary.json value, labelled and in the unit carbonpark solve prints).")
    st.subheader("Gaps of the existing network each plan closes")
    closure = closure_table(plans)
    st.dataframe(closure, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%,d" if "meeting target" in c else "%,.1f")
        for c in closure.columns if c != "plan"})
    _charts(st, table, closure, summaries)
    st.subheader("What one protects that the other does not")
    a_col, b_col = st.columns(2)
    # A plan left out of the selection falls back to one that differs from the other.
    kept_a = state.seed_choice(st, "cmp_a", names, names[0])
    state.seed_choice(st, "cmp_b", names, next(n for n in names if n != kept_a))
    a = a_col.selectbox("Plan A", names, key="cmp_a")
    b = b_col.selectbox("Plan B", names, key="cmp_b")
    if a == b:
        raise InputDataError("plan A and plan B are the same plan; choose two different plans")
    code, diff = difference(pu, plans[a], plans[b])
    st.dataframe(diff, hide_index=True, column_config={
        "new area (km²)": st.column_config.NumberColumn(format="%,.0f km²")})
    units = common.units_frame(pu, plans[a].problem)
    with st.spinner("Drawing the map…"):
        fig = category_map(units, code, [_DIFF_LABELS[0], _DIFF_LABELS[1], f"only in A ({a})",
                                         f"only in B ({b})", _DIFF_LABELS[4]], _DIFF_COLOURS,
                           f"{a} (A) vs {b} (B): where they differ", geometry=pu.units.geometry,
                           always=())
        common.show_fig(st, fig)
