"""Frontier: carbon against biodiversity; compute one or load a frontier/sweep folder, open a point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.app import common, state
from optimizer.app.ui import Ui
from optimizer.errors import InputDataError

_HEADS = {"carbon_stock_added_MgC": "carbon stock added (MgC)",
          "mean_representation_pct": "mean species representation (%)",
          "new_km2": "new km²", "carbon_stock_added": "carbon stock added (MgC)",
          "mean_representation": "mean species representation (%)", "area_km2": "new km²"}


def _compute(st: Ui) -> None:
    from optimizer.studies.frontier import frontier

    result = st.session_state.get("result")
    if result is None:
        raise InputDataError("no plan yet: run a plan on the Plan page; the frontier keeps its "
                             "budget, locks and penalties")
    state.seed(st, "fr_points", 7)
    points = st.slider("Points on the frontier", 3, 15, key="fr_points")
    if st.button("Compute the frontier for the current settings", key="fr_run"):
        with st.spinner(f"Frontier: {points} ε-constraint solves (at most 120 s)…"):
            f = frontier(result.problem, points=points, time_limit=120.0)
        st.session_state["frontier"] = {"points": f.points, "plans": f.plans,
                                        "problem": result.problem, "seconds": f.seconds,
                                        "complete": f.complete, "caveat": f.caveat}
    fr = st.session_state.get("frontier")
    if fr is None:
        return
    st.caption(f"{len(fr['points'])} points in {fr['seconds']:.1f} s"
               + (f": {fr['caveat']}" if fr.get("caveat") else ""))
    _show(st, fr["points"], fr["problem"], lambda i: np.asarray(fr["plans"][i]))


def _load(st: Ui) -> None:
    path = st.text_input("A folder written by `carbonpark frontier` or `carbonpark sweep`",
                         key="fr_path")
    if not path.strip():
        return
    folder = Path(path.strip()).expanduser()
    if (folder / "frontier.csv").is_file():
        points = pd.read_csv(folder / "frontier.csv")
        if (folder / "frontier.png").is_file():
            st.image(str(folder / "frontier.png"), width="stretch")
        st.dataframe(_display(points), hide_index=True)
        st.caption("A frontier folder keeps the points, not their plans: compute the frontier "
                   "here to open a point's map.")
        return
    from optimizer.studies.sweep import read_results

    runs = read_results(folder)
    if runs.empty:
        raise InputDataError(f"{folder}: the sweep has no finished runs yet")
    result = st.session_state.get("result")
    if result is None:
        raise InputDataError("no plan yet: run a plan on the Plan page on the sweep's grid to "
                             "open its runs' maps")
    pu, _, _ = common.current(st)
    ids = pu.units["pu_id"].astype(str).to_numpy()

    def plan(i: int) -> np.ndarray:
        added = set(runs["added_ids"].iloc[i])
        if not added <= set(ids):
            raise InputDataError(f"{folder}: run {runs['run'].iloc[i]} names units this grid "
                                 "does not have; load the sweep's grid on the Data page")
        return np.isin(ids, list(added)).astype(float)

    keep = [c for c in runs.columns if c.startswith("param.")] + [
        "status", "area_km2", "carbon_stock_added", "mean_representation"]
    _show(st, runs[keep], result.problem, plan, x_col="mean_representation",
          y_col="carbon_stock_added")


def _display(points: pd.DataFrame) -> pd.DataFrame:
    """The points as a planner reads them: full numbers, units in the headers."""
    out = points.rename(columns={**_HEADS, "marginal_rate_MgC_per_pct":
                                 "MgC given up per point of representation",
                                 "epsilon": "representation floor ε (%)"})
    for col in out.columns:
        v = out[col]
        if v.dtype.kind != "f":
            continue
        if "(%)" in col or col.startswith("param."):
            out[col] = v.map(lambda a: "" if pd.isna(a) else f"{a:,.2f}")
        elif col == "gap":
            out[col] = v.map(lambda a: "" if pd.isna(a) else f"{100 * a:.3f} %")
        else:
            out[col] = v.map(lambda a: "" if pd.isna(a) else f"{a:,.0f}")
    return out


def _clickable_chart(st: Ui, points: pd.DataFrame, x_col: str, y_col: str) -> None:
    """The frontier as points; a click on one opens its plan (it sets the selectbox below)."""
    import altair as alt

    df = pd.DataFrame({"point": np.arange(len(points)), "x": points[x_col].to_numpy(),
                       "y": points[y_col].to_numpy()})
    pick = alt.selection_point(name="pt", fields=["point"], on="click")
    chart = (alt.Chart(df).mark_line(color="#2c7a4b").encode(x="x:Q", y="y:Q")
             + alt.Chart(df).mark_circle(size=140, color="#2c7a4b").encode(
                 x=alt.X("x:Q", title=_HEADS.get(x_col, x_col), scale=alt.Scale(zero=False)),
                 y=alt.Y("y:Q", title=_HEADS.get(y_col, y_col), scale=alt.Scale(zero=False),
                         axis=alt.Axis(format=",.0f")),
                 tooltip=[alt.Tooltip("point:Q", title="point"),
                          alt.Tooltip("y:Q", title=_HEADS.get(y_col, y_col), format=",.0f"),
                          alt.Tooltip("x:Q", title=_HEADS.get(x_col, x_col), format=".1f")],
             ).add_params(pick))
    event = st.altair_chart(chart, on_select="rerun", selection_mode="pt", key="fr_chart",
                            width="stretch")
    chosen = (getattr(event, "selection", None) or {}).get("pt") or []
    if chosen and "point" in chosen[0]:
        st.session_state["fr_point"] = int(chosen[0]["point"])
    st.caption("Click a point to open its plan below.")


def _show(st: Ui, points: pd.DataFrame, problem: Any, plan: Any, *,
          x_col: str = "mean_representation_pct", y_col: str = "carbon_stock_added_MgC") -> None:
    from optimizer.figures.maps import plan_map
    from optimizer.plan.results import unit_status

    if x_col in points and y_col in points:
        _clickable_chart(st, points, x_col, y_col)
    st.dataframe(_display(points), hide_index=False)
    labels = [f"point {i}: {points[y_col].iloc[i]:,.0f} MgC, {points[x_col].iloc[i]:.1f} %"
              if y_col in points and x_col in points else f"point {i}" for i in range(len(points))]
    state.seed_choice(st, "fr_point", list(range(len(points))), 0)
    i = st.selectbox("Open the plan of point", range(len(points)), format_func=lambda k: labels[k],
                     key="fr_point")
    if i is None:
        raise InputDataError("no point selected; choose a point of the frontier")
    x = plan(int(i))
    pu, _, _ = common.current(st)
    status = unit_status(problem, x)
    units = common.units_frame(pu, problem)
    common.show_fig(st, plan_map(units, status,  # an array of str
                             geometry=pu.units.geometry,
                             title=f"Frontier {labels[int(i)]}"))


def frontier_page(st: Ui) -> None:
    """Frontier: the carbon-biodiversity trade-off."""
    st.title("Carbon–biodiversity frontier")
    how = st.radio("Frontier", ["Compute for the current plan settings",
                                "Load a frontier or sweep folder"], horizontal=True, key="fr_how")
    if how.startswith("Compute"):
        _compute(st)
    else:
        _load(st)
