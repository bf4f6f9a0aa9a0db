"""Plan: settings -> re-solve (optimizer.studies.interactive) -> map, metrics, gap closure, parks, save."""

from __future__ import annotations

import re
import time
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from optimizer.app import common, goals, labels, map_data, map_view, state
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
    """The candidate parks of ``result``, computed once per plan and kept in the session."""
    views = st.session_state.get("plan_views")
    if views is not None and views["id"] == id(result):
        return views
    from optimizer.plan.parks import candidate_parks

    t = time.perf_counter()
    parks = candidate_parks(result.problem, result.x)
    views = {"id": id(result), "parks": parks, "seconds": time.perf_counter() - t}
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
    v["locked_in_ids"], v["locked_out_ids"] = map_view.lock_ids(st)
    return PlanSettings(**v)


def _settings_form(st: Ui, pu: Any) -> bool:
    """The sidebar form of the settings; whether **Run the plan** was pressed.

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
    return bool(run)


#: Seconds the page waits for a solve before drawing its progress (and a Stop button):
#: a plan read from the cached path, or a quick cut solve, shows at once.
QUICK_SECONDS = 2.0
#: Session keys: the running solve (`optimizer.studies.background.SolveJob`) and the
#: (grid key, settings, error) of the last solve that failed.
JOB_KEY, FAILED_KEY = "solve_job", "solve_failed"


def _harvest(st: Ui, job: Any) -> None:
    """Keep the plan (or the error) of a finished ``job``."""
    st.session_state.pop(JOB_KEY, None)
    if job.error is not None:
        st.session_state.pop("result", None)
        st.session_state[FAILED_KEY] = (job.tag, job.settings, job.error)
        return
    st.session_state["result"] = job.result
    st.session_state["result_key"] = job.tag
    st.session_state["solve_seconds"] = job.seconds
    st.session_state["solve_stopped"] = job.stopped


def _progress(st: Ui, job: Any) -> None:
    """The running solve's stage, seconds and Stop button, redrawn until it ends."""

    @st.fragment(run_every=0.3)
    def progress() -> None:
        running = st.session_state.get(JOB_KEY)
        if running is None or running.done:
            st.rerun()  # the whole page again: the new plan
        st.info(f"Solving: {STAGE_TEXT[running.stage]}: {running.seconds:.1f} s (at most "
                f"{running.session.time_limit:g} s). The plan below is the previous one.")
        st.button("Stop and keep the best plan so far", key="solve_stop", on_click=running.stop)

    progress()


def solve_if_due(st: Ui, session: Any, key: str, wanted: Any, force: bool) -> None:
    """Start a solve of ``wanted`` when the plan shown is not its plan (or **Run** was
    pressed), in the background; wait briefly, then show its progress."""
    job = st.session_state.get(JOB_KEY)
    if job is not None and (job.tag != key or job.settings != wanted):
        job.stop()  # superseded: a newer setting or lock
        st.session_state.pop(JOB_KEY, None)
        job = None
    if job is None:
        result = st.session_state.get("result")
        shown = result if st.session_state.get("result_key") == key else None
        failed = st.session_state.get(FAILED_KEY)
        failed_here = failed is not None and failed[:2] == (key, wanted)
        if force or (not failed_here and (shown is None or shown.settings != wanted)):
            from optimizer.studies.background import SolveJob

            st.session_state.pop(FAILED_KEY, None)
            job = SolveJob(session, wanted, tag=key)
            st.session_state[JOB_KEY] = job
    if job is None:
        return
    with st.spinner(f"Solving: {STAGE_TEXT[job.stage]} (at most {session.time_limit:g} s)…"):
        finished = job.wait(QUICK_SECONDS)
    if finished:
        _harvest(st, job)
    else:
        _progress(st, job)


def plan_page(st: Ui) -> None:
    """Plan: choose the settings, lock units on the map, and see what the plan adds."""
    st.title("Plan")
    pu, key, grid = common.current(st)
    run = _settings_form(st, pu)
    session = common.plan_session(key, pu, grid)
    solve_if_due(st, session, key, current_settings(st), force=run)
    failed = st.session_state.get(FAILED_KEY)
    if failed is not None and failed[0] == key:
        common.show_error(st, failed[2])
    result = st.session_state.get("result")
    if result is None or st.session_state.get("result_key") != key:
        st.info("Choose the settings in the sidebar and press **Run the plan**.")
        return
    s = result.summary
    gap = s.get("gap")
    st.caption(f"Settings of this plan: {common.settings_text(result.settings)}")
    stopped = " (stopped by you: the best plan found)" if st.session_state.get("solve_stopped") else ""
    st.caption(f"{result.stage}: {s.get('status', '')}{stopped}, solved in "
               f"{st.session_state.get('solve_seconds', result.seconds):.2f} s"
               + (f", optimality gap {100 * gap:.2f} %" if gap is not None else ""))
    show_metrics(st, pu, result)
    views = plan_views(st, pu, result)
    map_panel(st, pu, session, result, views["parks"])
    goals_panel(st, result)
    st.subheader("Gap closure: what this plan fixes in the existing network")
    show_closure(st, result.closure)
    st.subheader("Candidate parks")
    st.caption(views["parks"].summary())
    table, cfg = parks_table(st, views["parks"])
    st.dataframe(table, hide_index=True, column_config=cfg)
    _save(st, result)


#: The map's "Colour by" choices: MAP_LAYERS and the candidate parks.
_COLOUR_BY = {**{k: v.title for k, v in map_data.MAP_LAYERS.items()},
              "parks": "Candidate parks"}


def _map_click(st: Ui, pu: Any, session: Any, settings: Any, key: str) -> None:
    """The map's selection callback: lock, clear or box the clicked unit. The map gets a new
    key, so the next click is a new selection (the same unit may be clicked again)."""
    event = st.session_state.get(key)
    st.session_state["map_refused"] = map_view.handle_click(
        st, pu, map_view.clicked_id(event), st.session_state.get("map_mode", "Inspect only"),
        refusal=lambda pid, lock_in: session.lock_refusal(settings, pid, lock_in))
    st.session_state["map_clicks"] = st.session_state.get("map_clicks", 0) + 1


def map_panel(st: Ui, pu: Any, session: Any, result: Any, parks: Any) -> None:
    """The interactive map of the plan (hover a unit for its values, click to lock it), its
    legend and the table of the units locked on the map."""
    st.subheader("Map: hover a unit for its values, click to lock it in or out")
    state.seed(st, "map_mode", "Inspect only")

    def relocked() -> None:
        if st.session_state.pop(map_view.CHANGED_KEY, False):
            st.rerun()  # a click, typed ids or undo changed the locks: the page, for the new plan

    def messages() -> None:
        for why in st.session_state.pop("map_refused", []):
            (st.info if why.startswith("First corner") else st.warning)(why)

    # Three fragments, so that a control reruns only its own part: the click mode and the
    # lock table never resend the map (its spec is megabytes at 20k+ units).
    @st.fragment
    def mode() -> None:
        st.radio("Click on the map", list(map_view.CLICK_MODES), key="map_mode",
                 horizontal=True, help="A box mode takes two clicks: opposite corners of the "
                 "box whose every unit is locked (or cleared)")

    @st.fragment
    def panel() -> None:
        relocked()
        saved = common.saved_plans(st)
        extra = support_layers(st, result)
        if saved:
            extra["frequency"] = (100 * np.mean([np.asarray(r.x) > 0.5 for r in saved.values()],
                                                axis=0), "% of the saved plans",
                                  f"Saved plans selecting each unit ({len(saved)} saved)")
        choices = {**_COLOUR_BY, **{k: v[2] for k, v in extra.items()},
                   **map_data.feature_layers(pu)}
        if "map_layer_next" in st.session_state:  # a layer just computed: show it
            st.session_state["map_layer"] = st.session_state.pop("map_layer_next")
        state.seed_choice(st, "map_layer", list(choices), "plan")
        layer = st.selectbox("Colour the map by", list(choices), key="map_layer",
                             format_func=choices.__getitem__)
        locks = map_view.lock_ids(st)
        cache = st.session_state.get("map_cache")
        if cache is None or cache["id"] != id(result):
            frame, unit_of = map_view.map_frame(pu, result.problem, result.status,
                                                result.solution.budget_path,
                                                (result.settings.locked_in_ids,
                                                 result.settings.locked_out_ids))
            cache = {"id": id(result), "frame": frame, "unit_of": unit_of, "specs": {}}
            st.session_state["map_cache"] = cache
        spec_key = (layer, locks, extra[layer][2] if layer in extra else "")
        if spec_key not in cache["specs"]:
            cache["specs"] = {spec_key: map_view.deck_spec(
                pu, cache["frame"], cache["unit_of"], layer, locks,
                parks=parks.unit_park if parks is not None else None, extra=extra)}
        spec, legend, caption = cache["specs"][spec_key]
        key = f"plan_map_{st.session_state.get('map_clicks', 0)}"
        st.pydeck_chart(spec, on_select=lambda: _map_click(st, pu, session, result.settings, key),
                        selection_mode="single-object", key=key, height=560)
        st.html(map_view.legend_html(legend, caption))
        messages()

    @st.fragment
    def table() -> None:
        relocked()
        messages()
        map_view.show_lock_table(st, pu, refusal=lambda pid, lock_in: session.lock_refusal(
            result.settings, pid, lock_in))
        support_buttons(st, result)

    mode()
    panel()
    table()


#: Session key of the decision support computed for a plan: {"id": id(result), name: (values,
#: unit, title), ...}.
SUPPORT_KEY = "plan_support"


def support_layers(st: Ui, result: Any) -> dict[str, tuple[np.ndarray, str, str]]:
    """The map layers of the decision support computed for ``result`` (a portfolio's selection
    frequency, each unit's importance), by layer name."""
    store = st.session_state.get(SUPPORT_KEY)
    if store is None or store.get("id") != id(result):
        return {}
    return {k: v for k, v in store.items() if k != "id"}


def support_buttons(st: Ui, result: Any) -> None:
    """Decision support for the plan on the map: a portfolio of near-optimal plans and the
    importance of each added unit, each a map layer once computed."""
    store = st.session_state.get(SUPPORT_KEY)
    if store is None or store.get("id") != id(result):
        store = st.session_state[SUPPORT_KEY] = {"id": id(result)}
    c1, c2 = st.columns(2)
    if c1.button("Portfolio: up to 10 plans within 2 % of this one", key="plan_portfolio",
                 help="optimizer.studies.portfolio: each plan the best at a distance from the "
                      "earlier ones; the map layer is the share of the plans selecting each unit"):
        from optimizer.studies.portfolio import portfolio

        with st.spinner("Solving a portfolio of near-optimal plans (each at most 10 s)…"):
            pf = portfolio(result.problem, 10, gap=0.02, time_limit_per_plan=10.0)
        store["portfolio"] = (100 * pf.frequency["frequency"].to_numpy(dtype=float),
                              "% of the portfolio's plans",
                              f"Portfolio: plans selecting each unit ({len(pf.plans)} plans "
                              "within 2 %)")
        st.session_state["map_layer_next"] = "portfolio"
        st.rerun()
    if c2.button("Importance of each added unit (rank, 10 steps)", key="plan_importance",
                 help="optimizer.studies.importance, method rank (prioritizr's rank "
                      "importance): the plan's spend cut into 10 steps; a unit entering at "
                      "step k of n scores (n + 1 - k) / n"):
        from optimizer.studies.importance import importance

        with st.spinner("Ranking the plan's units (10 solves)…"):
            imp = importance(result.problem, result.x, method="rank", increments=10)
        values = imp.table["importance"].to_numpy(dtype=float)  # METHOD_MEANINGS["rank"]
        store["importance"] = (np.where(imp.table["added"].to_numpy(dtype=bool), values, np.nan),
                               "(1 = in the first tenth of the budget, 0 = never)",
                               "Importance of each added unit (rank of its budget increment)")
        st.session_state["map_layer_next"] = "importance"
        st.rerun()


def goals_panel(st: Ui, result: Any) -> None:
    """Goals at a glance: per feature, the share held before and with the plan against
    its goal (`optimizer.app.goals`)."""
    st.subheader("Goals at a glance")
    target = float(result.summary.get("gap_closure", {}).get("target", 0.3))

    @st.fragment
    def panel() -> None:
        roles = set(result.problem.pu.features["role"])
        groups = [(role, title) for role, title in goals.GROUPS if role in roles]
        cols = st.columns(len(groups)) if groups else []
        wanted = {}
        for col, (role, title) in zip(cols, groups, strict=True):
            state.seed(st, f"goal_{role}", round(100 * target, 1))
            wanted[role] = col.slider(f"Goal: {title.split(' (')[0].lower()} (% of total)", 0.0,
                                      100.0, step=1.0, key=f"goal_{role}") / 100
        table = goals.goal_table(result.problem, result.x, wanted)
        for role, title in groups:
            part = table[table["role"] == role]
            met = int(part["at_goal"].sum())
            with st.expander(f"{title}: {met} of {len(part)} feature(s) at their goal",
                             expanded=role != "biodiversity"):
                st.html(goals.goals_html(table, role))
        st.caption("Shares of each feature's total (representation.csv of "
                   "`carbonpark solve`); the objective maximises the weighted value, so a "
                   "goal here is a yardstick, not a constraint.")

    panel()


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
