"""The registry of quantities (optimizer.plan.quantities): every headline of a real plan summary
is registered, found at its path, written one way, and defined in summary.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimizer import problem, solve
from optimizer.datasets import tiny_grid
from optimizer.inputs.units import UNITS
from optimizer.outputs.solve_folder import plan_summary
from optimizer.plan.quantities import (
    LATEST,
    QUANTITIES,
    Quantity,
    definitions,
    format_count,
    format_year,
)


@pytest.fixture(scope="module")
def summary() -> dict:
    """A solved plan's summary on the tiny grid, as summary.json holds it (JSON round trip)."""
    pu = tiny_grid()
    p = (problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
         .add_existing_protection())
    return json.loads(json.dumps(plan_summary(None, p, solve(p, "highs")), default=str))


def test_every_fixed_path_is_in_a_plans_summary(summary):
    for q in QUANTITIES.values():
        if "{" in q.key or LATEST in q.path:
            continue
        if q.path[0] in ("added", "gap_closure") and q.value(summary) is None:
            continue  # layers the tiny grid lacks (no carbon stock total / ecosystems)
        assert q.value(summary) is not None or q.name in ("bound", "gap", "seconds_total"), q.name


def test_summary_defines_every_quantity_once(summary):
    assert summary["definitions"] == definitions()
    labels = [(q.label, q.unit) for q in QUANTITIES.values() if "{" not in q.key]
    # A label names one quantity per unit (per region for the regions' own); the same label
    # in two units is one idea twice (MgC and tCO2e), never two ideas.
    assert len(labels) == len(set(labels))
    for d in summary["definitions"].values():
        assert d["definition"] and d["label"] and d["path"]


def test_units_are_those_of_optimizer_inputs_units():
    totals = {u.total_unit for u in UNITS.values()}
    for q in QUANTITIES.values():
        if q.unit in ("km2", "MgC", "MgC/yr", "tCO2/yr"):
            assert q.unit in totals, q.name
    with pytest.raises(ValueError, match="not one of"):
        Quantity("x", ("x",), "x", "furlongs", "a test")


def test_counts_get_separators_years_never():
    assert format_count(31234) == "31,234" and format_count(2020.0) == "2,020"
    assert format_year(2020) == "2020" and format_year(2000.0) == "2000"
    assert format_count(None) == "-" and format_year(float("nan")) == "-"
    assert QUANTITIES["units_added"].format(12345) == "12,345"
    assert QUANTITIES["new_share_of_land"].format(0.1) == "10.00"
    assert QUANTITIES["gap"].format(0.00033) == "0.033"
    assert QUANTITIES["gap"].format(None) == "-"


def test_latest_year_and_region_placeholders():
    s = {"added": {"emissions": {"co2_2000": {"amount": 1.0}, "co2_2020": {"amount": 7.5e6}}},
         "regions": {"Hexi": {"new_km2": 1234.4, "max_km2": 5000.0}}}
    q = QUANTITIES["emissions_inside"]
    assert q.value(s) == 7.5e6 and q.latest(s) == "co2_2020"
    assert q.header(q.latest(s)) == "emissions inside, co2_2020 (tCO2/yr)"
    assert q.with_unit(s) == "7,500,000 tCO2/yr"
    assert QUANTITIES["region_new_km2"].with_unit(s, region="Hexi") == "1,234 km²"
    assert QUANTITIES["region_max_km2"].value(s, region="Borun") is None
    assert QUANTITIES["npp_added"].value(s) is None and QUANTITIES["npp_added"].text(s) == "-"
    assert np.isclose(QUANTITIES["region_max_km2"].value(s, region="Hexi"), 5000.0)
