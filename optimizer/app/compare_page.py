"""Compare: saved plans side by side against the existing network's gaps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.app import common, state
from optimizer.app.ui import Ui
from optimizer.errors import InputDataError
from optimizer.figures.plots import STATUS_COLOURS

_DIFF_LABELS = ["existing protected area", "in both plans", "only in A", "only in B",
                "in neither plan"]
_DIFF_COLOURS = [STATUS_COLOURS["existing"], "#7570b3", "#e7298a", "#e6ab02", "#f0f0f0"]


def _named(name: str, summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "scenario": {**summary.get("scenario", {}), "name": name}}


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


def compare_page(st: Ui) -> None:
    """Compare: two or more saved plans."""
    from optimizer.figures.maps import category_map
    from optimizer.plan.comparison import COMPARISON_COLUMNS, comparison_headers, comparison_table

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
    names = st.multiselect("Plans to compare", list(saved), key="cmp_names")
    if len(names) < 2:
        raise InputDataError("choose two or more plans to compare (the selection holds "
                             f"{len(names)})")
    plans = {n: saved[n] for n in names}
    pu, _, _ = common.current(st)
    table = comparison_table([_named(n, r.summary) for n, r in plans.items()])
    cols = [c for c in COMPARISON_COLUMNS if c in table]
    st.subheader("Side by side")
    shown = table[cols].round({"new_km2": 0, "carbon_stock_added_MgC": 0, "gap_pct": 3,
                               "npp_added_MgC_per_yr": 0, "emissions_inside_tCO2_per_yr": 0,
                               "seconds": 2})
    heads = comparison_headers(table)
    st.dataframe(shown.rename(columns=heads), hide_index=True,
                 column_config={h: st.column_config.NumberColumn(format="localized")
                                for h in heads.values()})
    st.subheader("Gaps of the existing network each plan closes")
    closure = closure_table(plans)
    st.dataframe(closure.round(1), hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in closure.columns if c != "plan"})
    c1, c2 = st.columns(2)
    c1.markdown("**New protected area (km²)**")
    c1.bar_chart(table.set_index("scenario")["new_km2"], y_label="km²")
    c2.markdown("**Carbon stock added (MgC)**")
    c2.bar_chart(table.set_index("scenario")["carbon_stock_added_MgC"], y_label="MgC")
    c3, c4 = st.columns(2)
    c3.markdown("**Ecosystem shortfall closed (%)**")
    c3.bar_chart(closure.set_index("plan")["ecosystem shortfall closed (%)"], y_label="%")
    hot = [c for c in closure if c.endswith("hotspots protected (%)")]
    if hot:
        c4.markdown("**Unprotected hotspots each plan protects (%)**")
        c4.bar_chart(closure.set_index("plan")[hot], y_label="%", stack=False)
    st.subheader("What one protects that the other does not")
    a_col, b_col = st.columns(2)
    state.seed_choice(st, "cmp_a", names, names[0])
    state.seed_choice(st, "cmp_b", names, names[1])
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
