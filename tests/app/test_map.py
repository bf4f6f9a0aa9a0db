"""The map's data, the goal bars and the locks set on the map, against independent sums.

No browser here (tests/app/test_map_e2e.py drives one): what the map shows of a unit is
recomputed from the grid's own columns, the goal bars from the amounts, and a plan with
map locks is solved again from the scenario the app writes.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from optimizer.app import goals, map_data, map_view
from optimizer.datasets import demo_grid, tiny_grid
from optimizer.errors import InputDataError
from optimizer.studies.interactive import PlanSession, PlanSettings

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def pu40():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_grid(40)


@pytest.fixture(scope="module")
def session40(pu40):  # type: ignore[no-untyped-def]
    return PlanSession(pu40, grid={"path": "unused"})


def _image(deck: dict) -> np.ndarray:
    """The map's colour image (rows × cols × RGBA) from its spec."""
    import base64
    import io

    from PIL import Image

    url = next(la for la in deck["layers"] if la["id"] == "colours")["image"]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def _unit_colours(pu, deck: dict) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Each unit's colour read back from the map's image at its row and column."""
    img = _image(deck)
    row, col = pu.units["row"].to_numpy(), pu.units["col"].to_numpy()
    return img[row - row.min(), col - col.min()]


class FakeSt:
    """The session state of a page, without Streamlit."""

    def __init__(self) -> None:
        self.session_state: dict = {}


@pytest.mark.parametrize("with_meta", [True, False])
def test_cell_origins_equal_every_whole_cells_bounds(pu40, with_meta: bool) -> None:  # type: ignore[no-untyped-def]
    u = pu40.units
    x, y, side = map_data.cell_origins(u, u.geometry, pu40.meta if with_meta else None)
    b = u.geometry.bounds.to_numpy() / 1000
    whole = u["area_km2"].to_numpy() > 1600 * (1 - 1e-9)  # edge cells are cut by the outline
    assert side == pytest.approx(40.0) and whole.sum() > 1000
    np.testing.assert_allclose(x[whole], b[whole, 0], atol=1e-6)
    np.testing.assert_allclose(y[whole], b[whole, 1], atol=1e-6)
    # every unit, cut or not, lies inside its cell
    assert (b[:, 0] >= x - 1e-6).all() and (b[:, 2] <= x + side + 1e-6).all()
    assert (b[:, 1] >= y - 1e-6).all() and (b[:, 3] <= y + side + 1e-6).all()


def test_hover_values_are_the_units_own_numbers(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    r = session40.solve(PlanSettings(budget_share=0.1))
    frame, unit_of = map_view.map_frame(pu40, r.problem, r.status, r.solution.budget_path, ((), ()))
    u = pu40.units
    carbon = (u["biomass"].fillna(0) + u["soc"].fillna(0)) / u["area_km2"] / 1000  # kgC/m²
    np.testing.assert_allclose(frame["carbon"], carbon, rtol=5e-3)
    assert unit_of["carbon"] == "kgC/m²" and unit_of["npp"] == "gC/m²/yr"
    npp = u["npp_2020"].fillna(0) / u["area_km2"]  # MgC/km²/yr = gC/m²/yr, the latest year
    np.testing.assert_allclose(frame["npp"], npp, rtol=5e-3)
    sp = [c for c in u.columns if c.startswith("sp_")]
    assert (frame["species"] == (u[sp].fillna(0) > 0).sum(axis=1)).all()
    assert (frame["status"] == np.where(r.status == "added", "added by the plan", frame["status"])).all()
    counts = frame["status"].value_counts()
    assert counts["added by the plan"] == int((r.status == "added").sum())
    # The rank: the nested path's order of entry, 1 first, each rank once; locked units none.
    rank = pd.to_numeric(frame["rank"], errors="coerce")
    path = r.solution.budget_path
    on = path.unit_rank >= 0
    np.testing.assert_array_equal(rank[on], path.unit_rank[on] + 1)
    assert sorted(rank[on].astype(int)) == list(range(1, int(on.sum()) + 1))
    assert (frame["rank"][~on] == "fixed (locked)").all()


def test_the_map_spec_has_one_cell_per_unit_and_no_basemap(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    r = session40.solve(PlanSettings(budget_share=0.1))
    frame, unit_of = map_view.map_frame(pu40, r.problem, r.status, r.solution.budget_path, ((), ()))
    spec, legend, caption = map_view.deck_spec(pu40, frame, unit_of, "plan", ((), ()))
    deck = json.loads(spec.to_json())
    units = next(la for la in deck["layers"] if la["id"] == "units")
    assert units["@@type"] == "ScatterplotLayer" and len(units["data"]) == len(pu40.units)
    assert units["pickable"] and units["getRadius"] == pytest.approx(40.0 / np.sqrt(2))
    # the colour image: one pixel per cell, each unit's status colour at its row and column,
    # and its bounds the grid's (the whole cells' own bounds)
    rgba = _unit_colours(pu40, deck)
    want = {k: map_data.hex_rgba(c, 230) for k, c in map_data.PLAN_STATUS.items()}
    for k, colour in want.items():
        m = frame["status"].to_numpy() == k
        assert (rgba[m] == colour).all(), k
    img = _image(deck)
    bounds = next(la for la in deck["layers"] if la["id"] == "colours")["bounds"]
    x, y, side = map_data.cell_origins(pu40.units, pu40.units.geometry, pu40.meta)
    assert bounds == pytest.approx([x.min(), y.min(), x.max() + side, y.max() + side])
    assert img.shape[:2] == (round((bounds[3] - bounds[1]) / side),
                             round((bounds[2] - bounds[0]) / side))
    assert not deck.get("mapStyle") and deck.get("mapProvider") in (None, "")
    assert "carbon stock: {c} kgC/m²" in spec._tooltip["html"]
    n_added = int((r.status == "added").sum())
    assert f"added by the plan ({n_added:,} units)" in [lab for lab, _ in legend]
    names = {la["id"] for la in deck["layers"]}
    assert "regions" in names
    for name in map_data.MAP_LAYERS:
        rgba, legend, caption = map_data.layer_colours(name, frame, frame["status"].to_numpy(),
                                                       unit_of)
        assert rgba.shape == (len(frame), 4) and legend and caption


def test_goal_bars_equal_feature_representation(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    r = session40.solve(PlanSettings(budget_share=0.1))
    table = goals.goal_table(r.problem, r.x, {"biodiversity": 0.3, "carbon_stock": 0.2})
    feats = pu40.features
    p = np.clip(r.problem.protected_fraction, 0, 1)
    for row in table.itertuples(index=False):
        a = pu40.units[row.feature].fillna(0).to_numpy(dtype=float)
        before = (a * p).sum() / a.sum()
        after = (a * np.maximum(p, r.x)).sum() / a.sum()  # an added unit is wholly protected
        assert row.share_before == pytest.approx(before, abs=1e-9)
        assert row.share_after == pytest.approx(after, abs=1e-9)
        goal = {"biodiversity": 0.3, "carbon_stock": 0.2}.get(feats.loc[row.feature, "role"])
        assert (np.isnan(row.goal_share) if goal is None else row.goal_share == goal)
        assert row.at_goal == (goal is not None and after >= goal - 1e-12)
    html = goals.goals_html(table, "biodiversity")
    assert html.count("class='goal-row'") == int((table["role"] == "biodiversity").sum())


def test_map_locks_go_into_the_plan_and_its_scenario(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    from optimizer.scenario import Scenario
    from optimizer.scenario.build import to_problem

    base = session40.solve(PlanSettings(budget_share=0.1))
    ids = pu40.units["pu_id"].to_numpy()
    out_id = int(ids[base.status == "added"][0])
    in_id = int(ids[(base.status == "free") & ~base.problem.locked_masks()[1]][0])
    s = PlanSettings(budget_share=0.1, locked_in_ids=(in_id,), locked_out_ids=(out_id,))
    r = session40.solve(s)
    k_in, k_out = (int(np.flatnonzero(ids == i)[0]) for i in (in_id, out_id))
    assert r.x[k_in] > 0.5 and r.x[k_out] < 0.5
    scenario = session40.scenario(s, name="locks")
    data = scenario.to_dict()
    assert data["locks"]["locked_in"][0]["ids"] == [in_id]
    assert data["locks"]["locked_out"][0]["ids"] == [out_id]
    again = Scenario.loads(scenario.dumps())
    p = to_problem(again, pu40)
    np.testing.assert_array_equal(p.locked_masks()[0], r.problem.locked_masks()[0])
    np.testing.assert_array_equal(p.locked_masks()[1], r.problem.locked_masks()[1])
    with pytest.raises(InputDataError, match="locked both in and out"):
        PlanSettings(locked_in_ids=(in_id,), locked_out_ids=(in_id,)).check()


def test_clicks_lock_undo_and_box() -> None:
    pu = tiny_grid()
    st = FakeSt()
    session = PlanSession(pu)
    settings = PlanSettings(cropland_out=False)

    def refusal(pid: int, lock_in: bool) -> str | None:
        return session.lock_refusal(settings, pid, lock_in)

    assert map_view.handle_click(st, pu, 3, "Lock in", refusal) == []
    assert map_view.lock_ids(st) == ((3,), ())
    # the existing network cannot be locked out: the click changes nothing and says why
    why = map_view.handle_click(st, pu, 1, "Lock out", refusal)
    assert why and "existing network" in why[0] and map_view.lock_ids(st) == ((3,), ())
    map_view.handle_click(st, pu, 4, "Lock out", refusal)
    assert map_view.lock_ids(st) == ((3,), (4,))
    assert map_view.undo_lock(st) and map_view.lock_ids(st) == ((3,), ())
    # a box: two clicks, the units between the corners
    first = map_view.handle_click(st, pu, 2, "Lock out a box", refusal)
    assert first[0].startswith("First corner: unit 2")
    map_view.handle_click(st, pu, 6, "Lock out a box", refusal)
    assert map_view.lock_ids(st) == ((), tuple(map_view.box_ids(pu, 2, 6)))
    assert map_view.box_ids(pu, 2, 6) == [2, 3, 5, 6]
    assert map_view.undo_lock(st) and map_view.lock_ids(st) == ((3,), ())
    map_view.handle_click(st, pu, 3, "Clear the lock", refusal)
    assert map_view.lock_ids(st) == ((), ())


def test_every_feature_and_the_saved_plans_colour_the_map(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    r = session40.solve(PlanSettings(budget_share=0.1))
    frame, unit_of = map_view.map_frame(pu40, r.problem, r.status, r.solution.budget_path, ((), ()))
    layers = map_data.feature_layers(pu40)
    assert "feature:sp_species_01" in layers and "feature:biomass" in layers
    _, _, caption = map_view.deck_spec(pu40, frame, unit_of, "feature:biomass", ((), ()))
    assert caption == "biomass density (kgC/m²)"
    values, _ = map_data.feature_density(pu40, "biomass")
    u = pu40.units
    np.testing.assert_allclose(values, u["biomass"] / u["area_km2"] / 1000)
    # two saved plans: a unit in one of them is at 50 %, in both at 100 %
    other = session40.solve(PlanSettings(budget_share=0.2))
    freq = np.mean([r.x > 0.5, other.x > 0.5], axis=0)
    extra = {"frequency": (100 * freq, "% of the saved plans", "Saved plans selecting each unit")}
    spec, _, caption = map_view.deck_spec(pu40, frame, unit_of, "frequency", ((), ()),
                                          extra=extra)
    assert caption == "Saved plans selecting each unit (% of the saved plans)"
    assert set(np.unique(100 * freq)) <= {0.0, 50.0, 100.0}
    colours = {tuple(c) for c in _unit_colours(pu40, json.loads(spec.to_json()))}
    assert len(colours) == len(np.unique(freq))  # one colour per share


def test_the_plan_page_computes_a_portfolio_and_importance_as_map_layers() -> None:
    """The map's decision support through the page (AppTest, 40 km): a portfolio's selection
    frequency and each added unit's importance become layers, equal to the library's."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[2]
    script = ("import streamlit as st\nfrom optimizer.app.common import guarded\n"
              "from optimizer.app.plan_page import plan_page\nguarded(st, plan_page)()\n")
    import os

    os.environ["CARBONPARK_APP_CELL_KM"] = "40"
    at = AppTest.from_string(script, default_timeout=300).run()
    assert not at.exception and not at.error, [e.stack_trace for e in at.exception]
    at = at.button(key="plan_portfolio").click().run()
    assert not at.exception and not at.error, ([e.value for e in at.error], [e.stack_trace for e in at.exception])
    assert at.session_state["map_layer"] == "portfolio"
    result = at.session_state["result"]
    from optimizer.studies.portfolio import portfolio

    want = portfolio(result.problem, 10, gap=0.02, time_limit_per_plan=10.0)
    values, unit, _ = at.session_state["plan_support"]["portfolio"]
    np.testing.assert_allclose(values, 100 * want.frequency["frequency"].to_numpy())
    assert unit == "% of the portfolio's plans"
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert any(la["id"] == "colours" for la in deck["layers"])
    at = at.button(key="plan_importance").click().run()
    assert not at.exception and not at.error
    values, _, _ = at.session_state["plan_support"]["importance"]
    from optimizer.studies.importance import importance

    want = importance(result.problem, result.x, method="rank", increments=10).table
    added = want["added"].to_numpy(dtype=bool)
    np.testing.assert_allclose(values[added], want["importance"].to_numpy()[added])
    assert np.isnan(values[~added]).all() and root.exists()


def test_units_locked_by_typed_ids_are_kept_out_of_the_next_plan() -> None:
    """Where a click cannot be made (a software-rendered browser on a large grid), the ids
    the tooltip shows lock units: the page's next plan leaves them out."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["CARBONPARK_APP_CELL_KM"] = "40"
    script = ("import streamlit as st\nfrom optimizer.app.common import guarded\n"
              "from optimizer.app.plan_page import plan_page\nguarded(st, plan_page)()\n")
    at = AppTest.from_string(script, default_timeout=300).run()
    result = at.session_state["result"]
    ids = result.problem.pu.units["pu_id"].to_numpy()
    added = [int(i) for i in ids[result.status == "added"][:3]]
    at.text_input(key="map_ids").input(f"{added[0]}, {added[1]}-{added[1]} {added[2]}, 999999")
    at = at.button(key="map_ids_out").click().run()
    assert not at.exception
    new = at.session_state["result"]
    assert new.settings.locked_out_ids == tuple(sorted(added))
    assert all(new.x[np.flatnonzero(ids == i)[0]] < 0.5 for i in added)
    assert any("not in this grid" in w.value for w in at.warning)
    assert map_view.parse_ids("3-5, 9") == [3, 4, 5, 9]
    with pytest.raises(InputDataError, match="not a number"):
        map_view.parse_ids("3-x")


def test_a_red_line_unit_cannot_be_locked_in(pu40, session40) -> None:  # type: ignore[no-untyped-def]
    settings = PlanSettings(budget_share=0.1)  # the cropland red line on
    cropland = pu40.units["lc_cropland_km2"] / pu40.units["area_km2"] > 0.5
    pid = int(pu40.units["pu_id"][cropland & (pu40.units["pa_fraction"] < 0.5)].iloc[0])
    why = session40.lock_refusal(settings, pid, lock_in=True)
    assert why is not None and why.startswith(f"unit {pid} is kept out by the ")
    assert session40.lock_refusal(settings, pid, lock_in=False) is None
    assert session40.lock_refusal(settings, -5, lock_in=True) == "pu_id -5 is not a unit of this grid"


def test_a_grid_without_rows_and_columns_is_drawn_from_its_polygons() -> None:
    pu = tiny_grid()
    session = PlanSession(pu)
    r = session.solve(PlanSettings(budget_share=0.5, cropland_out=False, carbon_uptake=0.0))
    frame, unit_of = map_view.map_frame(pu, r.problem, r.status, r.solution.budget_path, ((), ()))
    spec, _, _ = map_view.deck_spec(pu, frame, unit_of, "plan", ((), (4,)))
    deck = json.loads(spec.to_json())
    units = next(la for la in deck["layers"] if la["id"] == "units")
    assert units["@@type"] == "PolygonLayer" and len(units["data"]) == len(pu.units)
    # each polygon is its unit's outline in km, coloured by its status
    b = pu.units.geometry.bounds.to_numpy() / 1000
    for k, d in enumerate(units["data"]):
        ring = np.asarray(d["pg"])
        np.testing.assert_allclose([ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(),
                                    ring[:, 1].max()], b[k])
        assert tuple(d["f"]) == map_data.hex_rgba(map_data.PLAN_STATUS[frame["status"][k]], 230)
    marks = next(la for la in deck["layers"] if la["id"] == "locks")
    assert len(marks["data"]) == 1 and marks["data"][0]["kind"] == "out"
