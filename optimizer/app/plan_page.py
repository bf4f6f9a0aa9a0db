"""Plan: settings -> re-solve (optimizer.studies.interactive) -> map, metrics, gap closure, parks, save."""

from __future__ import annotations

import re
import time
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from optimizer.app import common, labels, state
from optimizer.app.ui import Ui
from optimizer.studies.interactive import STAGE_TEXT


def _protected_before(problem: Any, pu: Any, columns: list[str]) -> float:
    """Amount of ``columns`` held by the existing network (protected share of each unit)."""
    if not columns:
        return float("nan")
    p = np.clip(problem.protected_fraction, 0.0, 1.0)
    return float(sum((pu.units[c].fillna(0).to_numpy(dtype=float) * p).sum() for c in columns))


class Card(NamedTuple):
    """One metric card: label with its unit, value, a delta line and its description, help."""

    label: str
    value: str
    delta: str | None
    note: str | None
    help: str


def _year(column: str) -> str:
    m = re.search(r"(\d{4})$", column)
    return m.group(1) if m else column


def headline(pu: Any, result: Any) -> list[Card]:
    """The headline metric cards: the plan's numbers from its summary, each labelled,
    written and defined as `optimizer.plan.quantities.QUANTITIES` has it (the console,
    ``summary.json`` and the report show the same text), the existing network as context."""
    from optimizer.plan.quantities import QUANTITIES as Q

    s = result.summary
    problem = result.problem
    feats = pu.features
    study = float(s.get("study_area_km2") or pu.units["area_km2"].sum())
    before_km2 = _protected_before(problem, pu, ["area_km2"])
    new_km2 = float(s["new_km2"])
    after_pct = 100 * (before_km2 + new_km2) / study
    q = Q["new_km2"]
    out = [Card(q.header(), q.text(s), f"{Q['new_share_of_land'].with_unit(s)} of the land",
                f"{after_pct:.1f}% protected",
                f"{q.definition}. Existing network: {100 * before_km2 / study:.1f}% of "
                f"{study:,.0f} km².")]
    q = Q["new_km2_in_existing_units"]
    if q.value(s) is not None:
        out.append(Card(q.header(), q.text(s), None, None, q.definition + "."))
    stock_cols = list(feats.index[feats["role"] == "carbon_stock"])
    q = Q["carbon_stock_added"]
    if q.value(s) is not None:
        before = _protected_before(problem, pu, stock_cols)
        out.append(Card(q.header(), q.text(s), Q["carbon_stock_added_co2e"].with_unit(s),
                        "in CO2 equivalent", f"{q.definition}. Existing network: "
                        f"{before:,.0f} MgC."))
    for name in ("npp_added", "emissions_inside"):
        q = Q[name]
        if q.value(s) is None:
            continue
        column = q.latest(s)
        held = (f" Existing network: {_protected_before(problem, pu, [column]):,.0f} "
                f"{q.unit_text}." if column in pu.units else "")
        out.append(Card(q.header(_year(column)), q.text(s), None, None, f"{q.definition}.{held}"))
    sp = s.get("species", {})
    if sp.get("features"):
        q = Q["species_met_after"]
        target = 100 * float(s["gap_closure"]["target"])
        gained = int(sp["meeting_target_after"]) - int(sp["meeting_target_before"])
        out.append(Card(f"{q.label} (≥ {target:.0f}% of range)",
                        f"{q.text(s)} of {Q['species_features'].text(s)}", f"{gained:+,}",
                        f"{Q['species_met_before'].text(s)} before the plan",
                        f"{q.definition} ({target:.0f}%)."))
    eco = s.get("gap_closure", {}).get("ecosystems", {})
    if eco.get("classes"):
        q = Q["shortfall_closed_pct"]
        out.append(Card(q.header(), q.text(s), f"{Q['shortfall_closed_km2'].text(s)} km²",
                        f"of {Q['shortfall_before_km2'].with_unit(s)}", q.definition + "."))
    return out


#: A metric's label wraps onto a second line rather than being cut ("of which completes …").
_WRAP_LABELS = ("<style>[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] * "
                "{white-space: normal !important; overflow: visible !important; "
                "text-overflow: clip !important; height: auto !important}</style>")


def show_metrics(st: Ui, pu: Any, result: Any) -> None:
    """The headline cards, three a row; every value fits its card."""
    items = headline(pu, result)
    st.html(_WRAP_LABELS)
    for start in range(0, len(items), 3):
        cols = st.columns(3)
        for col, card in zip(cols, items[start:start + 3], strict=False):
            col.metric(card.label, card.value, card.delta, help=card.help, delta_color="off",
                       delta_arrow="off", delta_description=card.note)


def show_closure(st: Ui, closure: Any) -> None:
    """The gaps of the existing network this plan closes, and by how much."""
    st.markdown("**Density inside protection ÷ whole-area density** (above 1: protection "
                "holds more than its share)")
    table, cfg = labels.readable(st, closure.density[["layer", "quantity", "ratio_before",
                                                  "ratio_after"]])
    st.dataframe(table, hide_index=True, column_config=cfg)
    eco = closure.ecosystems
    if len(eco):
        st.markdown(f"**Ecosystems below {closure.target:.0%} protected: shortfall closed**")
        cols = [c for c in ("ecosystem", "area_km2", "protected_before_km2",
                            "protected_after_km2", "shortfall_before_km2", "closed_km2",
                            "closed_pct", "meets_after") if c in eco.columns]
        eco = eco.copy()
        if "counted" in eco.columns:  # as the console: a class the headline leaves out says so
            eco["ecosystem"] = [e if c else f"{e} (not counted)"
                                for e, c in zip(eco["ecosystem"], eco["counted"], strict=True)]
        table, cfg = labels.readable(st, eco[cols])
        st.dataframe(table, hide_index=True, column_config=cfg, width="stretch")
        if closure.ecosystem_definition:  # the headline card counts only the counted classes
            st.caption(closure.ecosystem_definition[0].upper() + closure.ecosystem_definition[1:])
    hot = closure.hotspots
    if len(hot):
        st.markdown(f"**Unprotected hotspots (top {closure.top:.0%} of the area) the plan protects**")
        table, cfg = labels.readable(st, hot)
        st.dataframe(table, hide_index=True, column_config=cfg)


def plan_views(st: Ui, pu: Any, result: Any) -> dict[str, Any]:
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


def parks_table(st: Ui, parks: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The parks' table without geometry: readable headers, units once (`PARK_COLUMNS`)."""
    t = pd.DataFrame(parks.table.drop(columns="geometry"))
    return labels.readable(st, t, parks=True)


#: The weight sliders: (PlanSettings field, label); 0-5 in steps of 0.25.
_WEIGHTS = (("carbon_stock", "Weight: carbon stock"), ("carbon_uptake", "Weight: carbon uptake (NPP)"),
            ("biodiversity", "Weight: biodiversity"),
            ("emissions_penalty", "Emissions penalty (weight against CO2 emitted inside)"))
_LOCKS = common.LOCKS


def seed_controls(st: Ui, pu: Any) -> None:
    """Give each Plan control its starting value (the starting scenario's), once a session."""
    d = state.start_settings(pu)
    keys = state.PLAN_KEYS
    state.seed(st, keys["budget_share"], min(50.0, max(1.0, round(200 * d.budget_share) / 2)))
    for name, _ in _WEIGHTS:
        state.seed(st, keys[name], float(getattr(d, name)))
    state.seed(st, keys["compactness"], float(d.compactness))
    for name, _ in _LOCKS:
        state.seed(st, keys[name], bool(getattr(d, name)))


def current_settings(st: Ui) -> Any:
    """The `PlanSettings` the controls hold (`optimizer.app.state.PLAN_KEYS`)."""
    from optimizer.studies.interactive import PlanSettings

    v = {name: st.session_state[key] for name, key in state.PLAN_KEYS.items()}
    v["budget_share"] = float(v["budget_share"]) / 100
    return PlanSettings(**v)


def _settings_form(st: Ui, pu: Any, key: str) -> Any:
    """The settings of the sidebar form; None unless a solve is due (run, or a new grid).

    Every control has a key (`optimizer.app.state.PLAN_KEYS`) and no ``value=``: the
    session holds what the planner set, seeded once from the starting scenario.
    """
    units = pu.units
    area = float(units["area_km2"].sum())
    before = float((units["pa_fraction"].clip(0, 1) * units["area_km2"]).sum()) / max(area, 1e-12)
    seed_controls(st, pu)
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
    return current_settings(st)


def plan_page(st: Ui) -> None:
    """Plan: choose the settings, run, and see what the plan adds."""
    st.title("Plan")
    pu, key, grid = common.current(st)
    settings = _settings_form(st, pu, key)
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
    show_metrics(st, pu, result)
    with st.spinner("Drawing candidate parks and maps…"):
        views = plan_views(st, pu, result)
    t1, t2 = st.tabs(["Added units", "Candidate parks"])
    t1.image(views["plan_png"], width="stretch",
             caption="Units the plan adds (pink) over the existing network (blue)")
    t2.image(views["parks_png"], width="stretch",
             caption="Candidate parks: connected groups of added units, numbered by rank")
    st.subheader("Gap closure: what this plan fixes in the existing network")
    show_closure(st, result.closure)
    st.subheader("Candidate parks")
    st.caption(views["parks"].summary())
    table, cfg = parks_table(st, views["parks"])
    st.dataframe(table, hide_index=True, column_config=cfg)
    _save(st, result)


def _save(st: Ui, result: Any) -> None:
    st.subheader("Save this plan")
    c1, c2 = st.columns([2, 1])
    state.seed(st, "save_name", "app_plan")
    name = common.safe_name(c1.text_input("Scenario name", key="save_name"))
    if c2.button("Save for Compare", key="save_plan"):
        common.saved_plans(st)[name] = result
        st.success(f"Saved as {name!r}: {len(common.saved_plans(st))} plan(s) saved (see Compare).")
    settings = result.settings
    st.download_button(f"Download {name}.toml (reproduce with `carbonpark solve {name}.toml`)",
                       lambda: common.scenario_toml(st, settings, name), file_name=f"{name}.toml",
                       mime="application/toml", key="download_toml",
                       help="A scenario file that runs from any folder: its grid is named by "
                            "content hash in your carbonpark cache, never a cache beside it.")
