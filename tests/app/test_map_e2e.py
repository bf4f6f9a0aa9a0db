"""The Plan page's map in a real headless Chromium: hover, click to lock, goals, offline.

One planner's session on the 40 km demo (`app_url`, tests/app/conftest.py): the tooltip of
a unit shows its values, computed here again from the grid; locking out a unit the plan
adds and locking in one it leaves makes the next plan respect both; the scenario the app
downloads gives that plan through ``carbonpark solve``; the goal bars are that solve's
``representation.csv``; undo takes the last lock back; and no request of the whole session
leaves localhost. Units are found on the screen from the map's own view
(`optimizer.app.map_view.deck_spec`) and checked by their tooltip before a click.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore")]

if not CHROMIUM.exists():
    pytest.skip("end-to-end map test: /usr/bin/chromium is not installed (apt-get install chromium)",
                allow_module_level=True)
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    pytest.skip("end-to-end map test: the playwright package is not installed",
                allow_module_level=True)

MAP = "[data-testid=stDeckGlJsonChart]"


def _idle(page: Page, timeout: float = 120_000) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout)


def _start_plan() -> tuple[object, object, object]:
    """The demo grid, the plan the Plan page shows first and the map's view, found here
    independently of the app (the starting scenario's settings, a fresh session)."""
    import warnings

    from optimizer.app import state
    from optimizer.app.map_view import deck_spec, map_frame
    from optimizer.datasets import demo_grid
    from optimizer.studies.interactive import PlanSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pu = demo_grid(40)
    settings = state.start_settings(pu)
    result = PlanSession(pu).solve(settings)
    frame, unit_of = map_frame(pu, result.problem, result.status, result.solution.budget_path,
                               ((), ()))
    spec, _, _ = deck_spec(pu, frame, unit_of, "plan", ((), ()))
    view = json.loads(spec.to_json())["initialViewState"]
    return pu, result, view


def _centre(pu: object, pu_id: int) -> tuple[float, float]:
    from optimizer.app.map_data import cell_origins

    units = pu.units  # type: ignore[attr-defined]
    x, y, side = cell_origins(units, units.geometry, pu.meta)  # type: ignore[attr-defined]
    k = int(np.flatnonzero(units["pu_id"].to_numpy() == pu_id)[0])
    return float(x[k] + side / 2), float(y[k] + side / 2)


def _screen(page: Page, view: dict, xy: tuple[float, float]) -> tuple[float, float]:
    """Where the point ``xy`` (km) is on the screen: deck.gl's orthographic view puts its
    target at the canvas centre, 2**zoom pixels per km, y up."""
    box = page.locator(f"{MAP} canvas").first.bounding_box()
    assert box is not None
    scale = 2.0 ** float(view["zoom"])
    tx, ty = view["target"][:2]
    return (box["x"] + box["width"] / 2 + (xy[0] - tx) * scale,
            box["y"] + box["height"] / 2 - (xy[1] - ty) * scale)


def _hover(page: Page, at: tuple[float, float]) -> str:
    page.mouse.move(at[0] + 3, at[1] + 3)
    page.mouse.move(*at)
    tip = page.locator(".deck-tooltip")
    expect(tip).to_contain_text("unit ", timeout=10_000)
    return tip.inner_text()


def _click(page: Page, at: tuple[float, float]) -> None:
    """Click as a hand does: the pointer rests on the unit first (deck.gl redraws on hover,
    slowly in a software-rendered browser; a press and release right after a move can be
    taken for a drag), then press and release."""
    page.mouse.move(*at)
    page.wait_for_timeout(400)
    page.mouse.down()
    page.mouse.up()


def _mode(page: Page, label: str) -> None:
    page.locator("[data-testid=stRadio]").filter(has_text="Lock in").get_by_text(
        label, exact=True).click()
    _idle(page)


def _goal_bars(page: Page) -> pd.DataFrame:
    rows = page.locator(".goal-row")
    data = rows.evaluate_all("rs => rs.map(r => [r.dataset.feature, r.dataset.before, "
                             "r.dataset.after])")
    return pd.DataFrame(data, columns=["feature", "before", "after"]).astype(
        {"before": float, "after": float})


def test_hover_click_lock_goals_and_a_saved_scenario_in_a_real_browser(
        app_url: str, tmp_path: Path) -> None:
    pu, first, view = _start_plan()
    units = pu.units  # type: ignore[attr-defined]
    ids = units["pu_id"].to_numpy()
    status = np.asarray(first.status)  # type: ignore[attr-defined]
    _, locked_out = first.problem.locked_masks()  # type: ignore[attr-defined]
    # a unit the plan adds, and a free unit no red line keeps out, both away from the edge
    added = [int(i) for i in ids[status == "added"]]
    free = [int(i) for i in ids[(status == "free") & ~locked_out]]
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1400}, accept_downloads=True)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{app_url}/plan")
        page.wait_for_selector(f"{MAP} canvas", timeout=180_000)
        _idle(page)
        page.locator(MAP).scroll_into_view_if_needed()
        _idle(page)

        # hover: the unit's values, in their units, as the grid has them
        target = added[len(added) // 2]
        text = _hover(page, _screen(page, view, _centre(pu, target)))
        assert f"unit {target}" in text and "status: added by the plan" in text, text
        k = int(np.flatnonzero(ids == target)[0])
        carbon = (units["biomass"].iloc[k] + units["soc"].iloc[k]) / units["area_km2"].iloc[k]
        shown = float(re.search(r"carbon stock: ([\d.e+-]+) kgC/m²", text).group(1))
        assert shown == pytest.approx(carbon / 1000, rel=5e-3)  # MgC/km² -> kgC/m², 3 digits
        pa = 100 * float(np.clip(units["pa_fraction"].iloc[k], 0, 1))
        assert f"protected: {pa:g} % of the unit" in text

        # click: lock it out, and lock in a free unit
        _mode(page, "Lock out")
        _click(page, _screen(page, view, _centre(pu, target)))
        _idle(page)
        expect(page.get_by_text("1 unit(s) locked in") .or_(page.get_by_text("0 unit(s) locked in"))
               ).to_be_visible(timeout=30_000)
        other = next(i for i in free[len(free) // 3:] if _hover(
            page, _screen(page, view, _centre(pu, i))).split("\n")[0] == f"unit {i}")
        _mode(page, "Lock in")
        _click(page, _screen(page, view, _centre(pu, other)))
        _idle(page)
        expect(page.get_by_text("1 unit(s) locked in and 1 locked out on the map")).to_be_visible(
            timeout=30_000)
        assert "status: locked out on the map" in _hover(
            page, _screen(page, view, _centre(pu, target)))
        assert "status: locked in on the map" in _hover(
            page, _screen(page, view, _centre(pu, other)))
        caption = page.get_by_text("Settings of this plan:").inner_text()
        assert "2 units locked on the map" in caption, caption
        bars = _goal_bars(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="Download app_plan.toml").click()
        scenario = tmp_path / "app_plan.toml"
        info.value.save_as(scenario)

        # undo takes the last lock back
        page.get_by_role("button", name="Undo").click()
        _idle(page)
        expect(page.get_by_text("0 unit(s) locked in and 1 locked out on the map")).to_be_visible(
            timeout=30_000)
        browser.close()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "optimizer.cli", "solve", str(scenario), "--out",
                           str(tmp_path / "solved")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    sol = pd.read_parquet(tmp_path / "solved" / "solution.parquet")
    chosen = dict(zip(sol["pu_id"], sol["x"], strict=True))
    assert not chosen[target] and chosen[other]
    rep = pd.read_csv(tmp_path / "solved" / "representation.csv").set_index("feature")
    goals = rep[rep["role"].isin(["carbon_stock", "carbon_uptake", "biodiversity", "land_cover"])]
    assert sorted(bars["feature"]) == sorted(goals.index)
    for row in bars.itertuples(index=False):
        assert row.before == pytest.approx(rep.loc[row.feature, "share_before"], abs=1e-6)
        assert row.after == pytest.approx(rep.loc[row.feature, "share_after"], abs=1e-6)
    outside = [u for u in requests if not u.startswith((app_url, "data:", "blob:"))]
    assert not outside, outside
