"""Plan: settings -> re-solve (optimizer.studies.interactive) -> map, metrics, gap closure, parks, save."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from optimizer.app import common, state
from optimizer.inputs.units import CO2_PER_C
from optimizer.studies.interactive import STAGE_TEXT


def _protected_before(problem: Any, pu: Any, columns: list[str]) -> float:
    """Amount of ``columns`` held by the existing network (protected share of each unit)."""
    if not columns:
        return float("nan")
    p = np.clip(problem.protected_fraction, 0.0, 1.0)
    return float(sum((pu.units[c].fillna(0).to_numpy(dtype=float) * p).sum() for c in columns))


def headline(pu: Any, result: Any) -> list[tuple[str, str, str | None, str]]:
    """(label, value, delta, help) of the headline metrics, against the existing network."""
    from optimizer.plan.comparison import comparison_table

    s = result.summary
    problem = result.problem
    feats = pu.features
    study = float(s.get("study_area_km2") or pu.units["area_km2"].sum())
    before_km2 = _protected_before(problem, pu, ["area_km2"])
    new_km2 = float(s["new_km2"])
    completes = float(s.get("new_km2_in_existing_units") or 0.0)
    row = comparison_table([s]).iloc[0]
    stock_cols = list(feats.index[feats["role"] == "carbon_stock"])
    stock_before = _protected_before(problem, pu, stock_cols)
    stock_added = float(row["carbon_stock_added_MgC"])
    out: list[tuple[str, str, str | None, str]] = [
        ("Protected land", common.pct(100 * (before_km2 + new_km2) / study),
         f"+{100 * new_km2 / study:.1f} % ({new_km2:,.0f} km² new)",
         f"existing network {100 * before_km2 / study:.1f} % of {study:,.0f} km²"
         + (f"; of the new area, {completes:,.0f} km² completes existing protected units"
            if completes > 0 else "")),
        ("Carbon stock protected", common.big(stock_before + stock_added, "MgC"),
         f"+{common.big(stock_added, 'MgC')} (+{common.big(stock_added * CO2_PER_C, 'tCO2e')})",
         f"existing network {common.big(stock_before, 'MgC')}"),
    ]
    if row["npp_year"]:
        npp_before = _protected_before(problem, pu, [row["npp_year"]])
        out.append((f"Carbon uptake protected ({row['npp_year'][-4:]})",
                    common.big(npp_before + row["npp_added_MgC_per_yr"], "MgC/yr"),
                    f"+{common.big(row['npp_added_MgC_per_yr'], 'MgC/yr')}",
                    f"existing network {common.big(npp_before, 'MgC/yr')}"))
    if row["emissions_year"]:
        em_before = _protected_before(problem, pu, [row["emissions_year"]])
        out.append((f"Emissions inside protection ({row['emissions_year'][-4:]})",
                    common.big(em_before + row["emissions_inside_tCO2_per_yr"], "tCO2/yr"),
                    f"+{common.big(row['emissions_inside_tCO2_per_yr'], 'tCO2/yr')}",
                    "CO2 emitted inside the protected land (lower is better)"))
    sp = s.get("species", {})
    if sp.get("features"):
        gained = int(sp["meeting_target_after"]) - int(sp["meeting_target_before"])
        out.append((f"Species ≥ {100 * float(s['gap_closure']['target']):.0f} % of range protected",
                    f"{sp['meeting_target_after']} of {sp['features']} species",
                    f"+{gained} species", f"existing network {sp['meeting_target_before']}"))
    eco = s.get("gap_closure", {}).get("ecosystems", {})
    if eco.get("classes"):
        closed = eco.get("closed_pct")
        out.append(("Ecosystem shortfall closed", common.pct(closed, 0),
                    f"{eco['closed_km2']:,.0f} of {eco['shortfall_before_km2']:,.0f} km²",
                    "km² of land-cover classes below the target, protected by the plan"))
    return out


def show_metrics(pu: Any, result: Any) -> None:
    items = headline(pu, result)
    for start in range(0, len(items), 3):
        cols = st.columns(3)
        for col, (label, value, delta, helptext) in zip(cols, items[start:start + 3], strict=False):
            col.metric(label, value, delta, help=helptext, delta_color="off"
                       if label.startswith("Emissions") else "normal")


def show_closure(closure: Any) -> None:
    """The gaps of the existing network this plan closes, and by how much."""
    d = closure.density.rename(columns={"ratio_before": "density ratio before",
                                        "ratio_after": "density ratio after"})
    st.markdown("**Density inside protection ÷ whole-area density** (above 1: protection "
                "holds more than its share)")
    st.dataframe(d[["layer", "quantity", "density ratio before", "density ratio after"]],
                 hide_index=True, column_config={
                     "density ratio before": st.column_config.NumberColumn(format="%.2f ×"),
                     "density ratio after": st.column_config.NumberColumn(format="%.2f ×")})
    eco = closure.ecosystems
    if len(eco):
        st.markdown(f"**Ecosystems below {closure.target:.0%} protected: shortfall closed**")
        cols = [c for c in eco.columns if c.endswith("_km2") or c in ("ecosystem", "closed_pct",
                                                                     "meets_before", "meets_after")]
        cfg = {c: st.column_config.NumberColumn(c.replace("_km2", " (km²)"), format="%,.0f")
               for c in cols if c.endswith("_km2")}
        cfg["closed_pct"] = st.column_config.NumberColumn("closed (%)", format="%.0f %%")
        st.dataframe(eco[cols], hide_index=True, column_config=cfg)
    hot = closure.hotspots
    if len(hot):
        st.markdown(f"**Unprotected hotspots (top {closure.top:.0%} of the area) the plan protects**")
        h = hot.assign(share_protected_by_plan=100 * hot["share_protected_by_plan"])
        cfg = {c: st.column_config.NumberColumn(c.replace("_km2", " (km²)"), format="%,.0f")
               for c in h.columns if c.endswith("_km2")}
        cfg["share_protected_by_plan"] = st.column_config.NumberColumn(
            "protected by the plan (%)", format="%.0f %%")
        st.dataframe(h, hide_index=True, column_config=cfg)


def plan_views(pu: Any, result: Any) -> dict[str, Any]:
    """Parks and maps of ``result``, computed once per plan and kept in the session."""
    views = st.session_state.get("plan_views")
    if views is not None and views["id"] == id(result):
        return views
    from optimizer.figures.maps import parks_map, plan_map
    from optimizer.plan.parks import candidate_parks

    t = time.perf_counter()
    parks = candidate_parks(result.problem, result.x)
    units = common.units_frame(pu, result.problem)
    geom = pu.units.geometry
    views = {"id": id(result), "parks": parks,
             "plan_png": common.fig_png(plan_map(units, result.status, geometry=geom)),
             "parks_png": common.fig_png(parks_map(units, parks.unit_park, result.status,
                                                   geometry=geom)),
             "seconds": time.perf_counter() - t}
    st.session_state["plan_views"] = views
    return views


def parks_table(parks: Any) -> pd.DataFrame:
    """The parks' table without geometry, headers with units (`PARK_COLUMNS`)."""
    from optimizer.plan.parks import PARK_COLUMNS

    t = pd.DataFrame(parks.table.drop(columns="geometry"))
    return t.rename(columns={c: f"{c} ({u})" if u else c for c, (u, _) in PARK_COLUMNS.items()})


def _parks_config(table: pd.DataFrame) -> dict[str, Any]:
    """Whole numbers with separators; shares and ratios with decimals."""
    cfg: dict[str, Any] = {}
    for c in table.columns:
        if not pd.api.types.is_float_dtype(table[c]):
            continue
        if c.startswith("value_per"):
            cfg[c] = st.column_config.NumberColumn(format="%.2e")
        elif c.startswith(("polsby_popper", "biodiversity_value")):
            cfg[c] = st.column_config.NumberColumn(format="%.2f")
        else:
            table[c] = table[c].round(0)
            cfg[c] = st.column_config.NumberColumn(format="localized")
    return cfg


#: The weight sliders: (PlanSettings field, label); 0-5 in steps of 0.25.
_WEIGHTS = (("carbon_stock", "Weight: carbon stock"), ("carbon_uptake", "Weight: carbon uptake (NPP)"),
            ("biodiversity", "Weight: biodiversity"),
            ("emissions_penalty", "Emissions penalty (weight against CO2 emitted inside)"))
_LOCKS = common.LOCKS


def seed_controls(pu: Any) -> None:
    """Give each Plan control its starting value (the starting scenario's), once a session."""
    d = state.start_settings(pu)
    keys = state.PLAN_KEYS
    state.seed(keys["budget_share"], min(50.0, max(1.0, round(200 * d.budget_share) / 2)))
    for name, _ in _WEIGHTS:
        state.seed(keys[name], float(getattr(d, name)))
    state.seed(keys["compactness"], float(d.compactness))
    for name, _ in _LOCKS:
        state.seed(keys[name], bool(getattr(d, name)))


def current_settings() -> Any:
    """The `PlanSettings` the controls hold (`optimizer.app.state.PLAN_KEYS`)."""
    from optimizer.studies.interactive import PlanSettings

    v = {name: st.session_state[key] for name, key in state.PLAN_KEYS.items()}
    v["budget_share"] = float(v["budget_share"]) / 100
    return PlanSettings(**v)


def _settings_form(pu: Any, key: str) -> Any:
    """The settings of the sidebar form; None unless a solve is due (run, or a new grid).

    Every control has a key (`optimizer.app.state.PLAN_KEYS`) and no ``value=``: the
    session holds what the planner set, seeded once from the starting scenario.
    """
    units = pu.units
    area = float(units["area_km2"].sum())
    before = float((units["pa_fraction"].clip(0, 1) * units["area_km2"]).sum()) / max(area, 1e-12)
    seed_controls(pu)
    keys = state.PLAN_KEYS
    with st.sidebar.form("plan_settings"):
        st.markdown("**Objective**: maximise the weighted value of the new protection "
                    "(shares of national totals) within the budget")
        budget = st.slider("Budget: land to add (% of the study area)", 1.0, 50.0, step=0.5,
                           format="%.1f %%", key=keys["budget_share"])
        st.caption(f"Protected after the plan: existing {100 * before:.1f} % + up to "
                   f"{budget:.1f} % new = up to {100 * before + budget:.1f} % of "
                   f"{area:,.0f} km²")
        for name, label in _WEIGHTS:
            st.slider(label, 0.0, 5.0, step=0.25, key=keys[name])
        st.slider("Compactness (0 = scattered, 1 = compact parks)", 0.0, 1.0, step=0.05,
                  format="%.2f", key=keys["compactness"])
        for name, label in _LOCKS:
            st.checkbox(label, key=keys[name])
        run = st.form_submit_button("Run the plan", type="primary")
    st.sidebar.caption(f"Starting values: scenarios/{state.START_SCENARIO}.toml")
    if not run and st.session_state.get("result_key") == key:
        return None  # nothing changed: show the plan already solved
    return current_settings()


def plan_page() -> None:
    """Plan: choose the settings, run, and see what the plan adds."""
    st.title("Plan")
    pu, key, grid = common.current()
    settings = _settings_form(pu, key)
    if settings is not None:
        session = common.plan_session(key, pu, grid)
        st.session_state["settings"] = settings
        stage = STAGE_TEXT[session.next_stage(settings)]
        with st.spinner(f"Solving: {stage} (at most {session.time_limit:g} s)…"):
            t = time.perf_counter()
            try:
                result = session.solve(settings)
            except Exception:
                st.session_state.pop("result", None)
                raise
            st.session_state["solve_seconds"] = time.perf_counter() - t
        st.session_state["result"] = result
        st.session_state["result_key"] = key
    result = st.session_state.get("result")
    if result is None or st.session_state.get("result_key") != key:
        st.info("Choose the settings in the sidebar and press **Run the plan**.")
        return
    s = result.summary
    gap = s.get("gap")
    st.caption(f"Settings of this plan: {common.settings_text(result.settings)}")
    st.caption(f"{result.stage}: {s.get('status', '')}, solved in "
               f"{st.session_state.get('solve_seconds', result.seconds):.2f} s"
               + (f", optimality gap {100 * gap:.2f} %" if gap is not None else ""))
    show_metrics(pu, result)
    with st.spinner("Drawing candidate parks and maps…"):
        views = plan_views(pu, result)
    t1, t2 = st.tabs(["Added units", "Candidate parks"])
    t1.image(views["plan_png"], width="stretch",
             caption="Units the plan adds (pink) over the existing network (blue)")
    t2.image(views["parks_png"], width="stretch",
             caption="Candidate parks: connected groups of added units, numbered by rank")
    st.subheader("Gap closure: what this plan fixes in the existing network")
    show_closure(result.closure)
    st.subheader("Candidate parks")
    st.caption(views["parks"].summary())
    table = parks_table(views["parks"])
    st.dataframe(table, hide_index=True, column_config=_parks_config(table))
    _save(result)


def _save(result: Any) -> None:
    st.subheader("Save this plan")
    c1, c2 = st.columns([2, 1])
    state.seed("save_name", "app_plan")
    name = common.safe_name(c1.text_input("Scenario name", key="save_name"))
    if c2.button("Save for Compare", key="save_plan"):
        common.saved_plans()[name] = result
        st.success(f"Saved as {name!r}: {len(common.saved_plans())} plan(s) saved (see Compare).")
    settings = result.settings
    st.download_button(f"Download {name}.toml (reproduce with `carbonpark solve {name}.toml`)",
                       lambda: common.scenario_toml(settings, name), file_name=f"{name}.toml",
                       mime="application/toml", key="download_toml",
                       help="A scenario file that runs from any folder: its grid is named by "
                            "content hash in your carbonpark cache, never a cache beside it.")
