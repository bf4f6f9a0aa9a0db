"""What the planner sets stays set: every control's value lives in ``st.session_state``.

Each control of the app has a key, and ``st.session_state[key]`` is its one source of
truth: the page seeds it once (`seed`) and draws the widget with that key and no
``value=``, so a later run never resets it to a default computed from elsewhere. Streamlit
forgets the state of a widget a run does not draw (another page); `keep`, run first on
every run of the app (`optimizer.app.main`), stores each kept key again, so a control keeps
its value across pages (Streamlit's documented way: "interrupt the widget clean-up"). Each
function is given the Streamlit module, ``st`` (`optimizer.app.ui.Ui`).

The Plan page's defaults are the scenario the app starts from (`START_SCENARIO`, one of
the example scenarios), read by `start_settings`, not constants of their own.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from optimizer.app.ui import Ui

__all__ = ["KEPT", "PLAN_KEYS", "START_SCENARIO", "keep", "seed", "seed_choice",
           "settings_from_scenario", "start_scenario_path", "start_settings"]

#: The example scenario (``scenarios/<name>.toml``) whose settings the Plan page starts from.
START_SCENARIO = "balanced"

#: PlanSettings field -> the key of its control on the Plan page.
PLAN_KEYS = {"budget_share": "budget_pct", "carbon_stock": "plan_carbon_stock",
             "carbon_uptake": "plan_carbon_uptake", "biodiversity": "plan_biodiversity",
             "emissions_penalty": "plan_emissions", "compactness": "plan_compactness",
             "lock_existing": "plan_lock_existing", "cropland_out": "plan_cropland_out",
             "urban_out": "plan_urban_out"}

#: Every control whose value is kept across runs and pages (buttons and uploads cannot be).
KEPT = (*PLAN_KEYS.values(), "save_name",
        "data_kind", "grid_path", "data_layer",
        "cmp_names", "cmp_a", "cmp_b",
        "fr_how", "fr_points", "fr_path", "fr_point",
        "exp_what", "exp_plan", "exp_formats", "exp_folder", "exp_name")


def keep(st: Ui, keys: Iterable[str] = KEPT) -> None:
    """Store each of ``keys`` present in the session again, so Streamlit keeps it for a
    page that does not draw its widget."""
    state = st.session_state
    for key in keys:
        if key in state:
            state[key] = state[key]


def seed(st: Ui, key: str, default: Any) -> Any:
    """The value of control ``key``: ``default`` the first time, the planner's after."""
    if key not in st.session_state:
        st.session_state[key] = default
    return st.session_state[key]


def seed_choice(st: Ui, key: str, options: Sequence[Any], default: Any) -> Any:
    """`seed` for a choice among ``options`` that may change (saved plans, points): a kept
    value no longer offered falls back to ``default``."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    return st.session_state[key]


# ------------------------------------------------------------------ the starting scenario

def start_scenario_path() -> Path:
    """The starting scenario file (``scenarios/balanced.toml``, installed or checked out)."""
    from optimizer.datasets import example_files

    return example_files().scenarios / f"{START_SCENARIO}.toml"


def settings_from_scenario(scenario: Any, area_km2: float, protected_km2: float = 0.0) -> Any:
    """The app's `PlanSettings` closest to ``scenario`` (a `max_utility` scenario).

    The budget is the scenario's share (``km2`` and ``total_protection`` as a share of
    ``area_km2``); ``carbon`` splits equally over its two quantities (carbon stock and
    uptake), ``carbon_stock``, ``carbon_uptake`` and ``biodiversity`` are the sliders of
    the same names, a negative ``emissions`` (or ``co2_*``) weight is the emissions
    penalty; the locks are ``[locks] existing`` and the cropland and urban red lines of
    ``[[locks.land_cover_out]]``; compactness is the scenario's scale-free
    ``compactness`` when it has one, else 0. Other keys are left at the app's defaults.

    Examples
    --------
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "g"
    ... budget.share = 0.1
    ... weights = {carbon = 1, biodiversity = 1}
    ... [[locks.land_cover_out]]
    ... land_cover = "cropland"
    ... ''')
    >>> p = settings_from_scenario(s, 1000.0)
    >>> (p.budget_share, p.carbon_stock, p.carbon_uptake, p.biodiversity, p.cropland_out,
    ...  p.urban_out, p.lock_existing, p.compactness)
    (0.1, 0.5, 0.5, 1.0, True, False, True, 0.0)
    """
    from optimizer.studies.interactive import PlanSettings

    base = PlanSettings()
    values: dict[str, Any] = {}
    b = scenario.budget
    if b is not None and area_km2 > 0:
        if b.share is not None:
            values["budget_share"] = float(b.share)
        elif b.km2 is not None:
            values["budget_share"] = float(b.km2) / area_km2
        elif b.total_protection is not None:
            values["budget_share"] = max(0.0, float(b.total_protection) * area_km2
                                         - protected_km2) / area_km2
    weights = dict(scenario.weights) or {"carbon": 1.0, "biodiversity": 1.0}
    w = {"carbon_stock": 0.0, "carbon_uptake": 0.0, "biodiversity": 0.0,
         "emissions_penalty": 0.0}
    for key, value in weights.items():
        if key == "carbon":
            w["carbon_stock"] += value / 2
            w["carbon_uptake"] += value / 2
        elif key in ("carbon_stock", "carbon_uptake", "biodiversity"):
            w[key] += value
        elif (key == "emissions" or key.startswith("co2_")) and value < 0:
            w["emissions_penalty"] += -value
    values.update(w)
    locks = scenario.locks
    classes = {lc.land_cover.removeprefix("lc_").removesuffix("_km2")
               for lc in locks.land_cover_out}
    values.update(lock_existing=bool(locks.existing), cropland_out="cropland" in classes,
                  urban_out="urban" in classes)
    boundary = scenario.penalties.boundary
    compactness = getattr(boundary, "compactness", None) if boundary is not None else None
    values["compactness"] = float(compactness) if compactness is not None else 0.0
    values["budget_share"] = min(max(values.get("budget_share", base.budget_share), 0.01), 0.5)
    return dataclasses.replace(base, **values)


@functools.lru_cache(maxsize=8)
def _start_settings(area_km2: float, protected_km2: float) -> Any:
    from optimizer.scenario import Scenario

    return settings_from_scenario(Scenario.load(start_scenario_path()), area_km2, protected_km2)


def start_settings(pu: Any) -> Any:
    """The Plan page's defaults: the starting scenario's settings on the grid ``pu``."""
    units = pu.units
    area = float(units["area_km2"].sum())
    protected = float((units["pa_fraction"].clip(0, 1) * units["area_km2"]).sum())
    return _start_settings(round(area, 6), round(protected, 6))
