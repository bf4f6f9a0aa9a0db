"""End to end in a real headless Chromium: `streamlit run app.py`, move the budget, run, download.

Starts the app on a free localhost port (40 km demo grid, ``CARBONPARK_APP_CELL_KM``),
drives Debian's /usr/bin/chromium with Playwright, saves a screenshot of every page under
``out/app-screenshots/`` and opens the downloaded Shapefile zip with pyogrio. Skipped only
when /usr/bin/chromium or the playwright package is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "out" / "app-screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

#: The labels of the Plan page's first metric cards (`optimizer.plan.quantities.QUANTITIES`).
NEW_KM2, STOCK = "new protected area (km²)", "carbon stock added (MgC)"

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore")]

if not CHROMIUM.exists():
    pytest.skip("end-to-end app test: /usr/bin/chromium is not installed (apt-get install chromium)",
                allow_module_level=True)
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    pytest.skip("end-to-end app test: the playwright package is not installed",
                allow_module_level=True)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _goto(page: Page, title: str) -> float:
    """Click a page in the sidebar navigation; seconds until its title shows and it is idle."""
    t = time.perf_counter()
    page.get_by_role("link", name=title, exact=True).click()
    _idle(page)
    return time.perf_counter() - t


def _idle(page: Page, timeout: float = 120_000) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout)


def _metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def _save(page: Page, name: str) -> None:
    box = page.get_by_label("Scenario name")
    box.fill(name)
    box.press("Tab")
    _idle(page)
    page.get_by_role("button", name="Save for Compare").click()
    expect(page.get_by_text(f"Saved as '{name}'")).to_be_visible(timeout=30_000)


def test_planner_path_in_a_real_browser(app_url: str, tmp_path: Path) -> None:
    import pyogrio

    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2400}, accept_downloads=True)
        t = time.perf_counter()
        page.goto(app_url)
        expect(page.get_by_text("Planning units", exact=True)).to_be_visible(timeout=120_000)
        _idle(page)
        timings["data page (first load)"] = time.perf_counter() - t
        expect(page.locator('[data-testid="stImage"]').first).to_be_visible()
        _shot(page, "1-data")

        timings["gaps page"] = _goto(page, "Gaps")
        expect(page.get_by_role("heading", name="Gaps of the existing network")).to_be_visible()
        _shot(page, "2-gaps")

        timings["plan page (first solve)"] = _goto(page, "Plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=60_000)
        before = _metric(page, NEW_KM2)
        carbon_before = _metric(page, STOCK)
        _shot(page, "3-plan")
        slider = page.get_by_role("slider").first
        slider.focus()
        for _ in range(20):  # +10 % of the land, 0.5 % a step
            page.keyboard.press("ArrowRight")
        t = time.perf_counter()
        page.get_by_role("button", name="Run the plan").click()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text=NEW_KM2)
               .locator('[data-testid="stMetricValue"]')).not_to_have_text(before, timeout=60_000)
        _idle(page)
        timings["re-solve after the budget move"] = time.perf_counter() - t
        assert _metric(page, STOCK) != carbon_before
        assert not page.locator('[data-testid="stException"]').count()
        _save(page, "plan_a")
        _shot(page, "3-plan-after")

        before = _metric(page, NEW_KM2)
        page.get_by_role("slider").first.focus()
        for _ in range(10):
            page.keyboard.press("ArrowLeft")
        page.get_by_role("button", name="Run the plan").click()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text=NEW_KM2)
               .locator('[data-testid="stMetricValue"]')).not_to_have_text(before, timeout=60_000)
        _idle(page)
        _save(page, "plan_b")

        timings["compare page"] = _goto(page, "Compare")
        expect(page.get_by_role("heading", name="Side by side")).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stImage"]').first).to_be_visible(timeout=60_000)
        _shot(page, "4-compare")

        _goto(page, "Frontier")
        page.get_by_role("button", name="Compute the frontier for the current settings").click()
        t = time.perf_counter()
        expect(page.get_by_text("Open the plan of point")).to_be_visible(timeout=180_000)
        _idle(page)
        timings["frontier (7 points)"] = time.perf_counter() - t
        # The clickable frontier chart (Altair, on_select): drawn, with its instruction.
        expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(
            timeout=60_000)
        expect(page.get_by_text("Click a point to open its plan below.")).to_be_visible()
        _shot(page, "5-frontier")

        timings["export page"] = _goto(page, "Export")
        # The download button (the format picker's chips are buttons named after the formats too).
        button = page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name="Shapefile")
        expect(button).to_be_visible(timeout=120_000)
        _shot(page, "6-export")
        with page.expect_download() as info:
            button.click()
        zpath = tmp_path / "parks_shp.zip"
        info.value.save_as(zpath)
        browser.close()
    parks = pyogrio.read_dataframe(zpath)
    assert len(parks) > 0
    assert {"area_km2", "rank"} <= {c.lower() for c in parks.columns} | {"area_km2", "rank"}
    assert parks.crs is not None
    report = "\n".join(f"{k}: {v:.2f} s" for k, v in timings.items())
    (SHOTS / "timings.txt").write_text(report + "\n", encoding="utf-8")
    print(report)


# ------------------------------------------------------------------ what the planner sets stays set

def _browser(pw: object, width: int = 1500) -> tuple[object, Page]:
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)  # type: ignore[attr-defined]
    page = browser.new_page(viewport={"width": width, "height": 2400}, accept_downloads=True)
    return browser, page


def _slider(page: Page, label: str) -> object:
    return page.locator('[data-testid="stSlider"]').filter(has_text=label).first


def _slider_value(page: Page, label: str) -> float:
    text = _slider(page, label).locator('[data-testid="stSliderThumbValue"]').inner_text()
    return float(text.replace("%", "").replace(",", "").strip())


def _set_slider(page: Page, label: str, value: float, step: float) -> None:
    """Move a slider by the keyboard, as a planner does, to ``value``."""
    now = _slider_value(page, label)
    n = round((value - now) / step)
    _slider(page, label).get_by_role("slider").focus()
    for _ in range(abs(n)):
        page.keyboard.press("ArrowRight" if n > 0 else "ArrowLeft")
    assert _slider_value(page, label) == pytest.approx(value)


def _checkbox(page: Page, label: str) -> object:
    return page.locator('[data-testid="stCheckbox"]').filter(has_text=label).first


def _set_checkbox(page: Page, label: str, on: bool) -> None:
    box = _checkbox(page, label)
    if box.locator("input").is_checked() != on:
        box.locator("label").click()
    assert box.locator("input").is_checked() == on


def _run(page: Page) -> str:
    """Press Run; the caption of the new plan's settings once it shows."""
    caption = page.get_by_text("Settings of this plan:")
    before = caption.inner_text()
    page.get_by_role("button", name="Run the plan").click()
    expect(caption).not_to_have_text(before, timeout=120_000)
    _idle(page)
    return caption.inner_text()


def _metrics(page: Page) -> dict[str, str]:
    out = {}
    for box in page.locator('[data-testid="stMetric"]').all():
        label = box.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = box.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


#: The Plan page's controls: label -> (first value, second value, slider step or None for a box).
CONTROLS = {
    "Budget: land to add": (12.0, 15.0, 0.5),
    "Weight: carbon stock": (1.0, 2.0, 0.25),
    "Weight: carbon uptake (NPP)": (1.0, 0.25, 0.25),
    "Weight: biodiversity": (2.0, 3.0, 0.25),
    "Emissions penalty": (0.5, 1.0, 0.25),
    "Compactness": (0.5, 1.0, 0.05),
    "Keep the existing network": (False, True, None),
    "Cropland red line": (False, True, None),
    "Urban land locked out": (True, False, None),
}


def _set_all(page: Page, which: int) -> None:
    for label, (*values, step) in CONTROLS.items():
        if step is None:
            _set_checkbox(page, label, bool(values[which]))
        else:
            _set_slider(page, label, float(values[which]), step)


def _shown(page: Page) -> dict[str, object]:
    return {label: (_checkbox(page, label).locator("input").is_checked() if step is None
                    else _slider_value(page, label))
            for label, (*_, step) in CONTROLS.items()}


def test_every_plan_control_keeps_what_the_planner_sets(app_url: str) -> None:
    """Change every control, Run, change each again, Run: the second values are shown, used
    (the settings caption and the metrics follow), and survive a visit to another page."""
    with sync_playwright() as pw:
        browser, page = _browser(pw)
        page.goto(f"{app_url}/plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=120_000)
        _idle(page)
        _set_all(page, 0)
        first = _run(page)
        assert "budget 12.0 %" in first and "compactness 0.50" in first and "biodiversity 2" in first
        metrics_first = _metrics(page)
        assert _shown(page) == {k: v[0] for k, v in CONTROLS.items()}
        _set_all(page, 1)
        second = _run(page)
        wanted = {k: v[1] for k, v in CONTROLS.items()}
        assert _shown(page) == wanted  # nothing snapped back to the first values
        assert ("budget 15.0 %" in second and "carbon stock 2" in second
                and "carbon uptake 0.25" in second and "biodiversity 3" in second
                and "emissions penalty 1" in second and "compactness 1.00" in second)
        assert "keep the existing network, cropland red line" in second and "urban" not in second
        metrics_second = _metrics(page)
        assert metrics_second[NEW_KM2] != metrics_first[NEW_KM2]
        assert metrics_second != metrics_first
        assert not page.locator('[data-testid="stException"]').count()

        _goto(page, "Data")
        expect(page.get_by_text("Planning units", exact=True)).to_be_visible(timeout=60_000)
        _goto(page, "Plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stMetric"]')).to_have_count(len(metrics_second),
                                                                       timeout=60_000)
        _idle(page)
        assert _shown(page) == wanted
        assert page.get_by_text("Settings of this plan:").inner_text() == second
        assert _metrics(page) == metrics_second
        browser.close()


# ------------------------------------------------------------------ pages by URL, numbers that add up

def test_every_page_opens_at_its_own_url(app_url: str) -> None:
    """Each page typed in the address bar opens that page (``/data`` was "Page not found")."""
    from optimizer.app.main import PAGES

    titles = {"data": "Data", "gaps": "Gaps of the existing network", "plan": "Plan",
              "compare": "Compare plans", "frontier": "Carbon–biodiversity frontier",
              "export": "Export"}
    with sync_playwright() as pw:
        browser, page = _browser(pw)
        for _, path, _ in PAGES:
            page.goto(f"{app_url}/{path}")
            expect(page.get_by_role("heading", name=titles[path], exact=True)).to_be_visible(
                timeout=120_000)
            _idle(page)
            assert not page.get_by_text("Page not found").count(), path
            assert page.url.rstrip("/").endswith(f"/{path}"), page.url
        page.goto(app_url)  # the root opens the first page, at its own URL
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=60_000)
        page.wait_for_url(f"{app_url}/data", timeout=30_000)
        browser.close()


_CUT = """box => [...box.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1
    && getComputedStyle(e).overflowX !== 'visible').map(e => e.innerText)"""


@pytest.mark.parametrize("width", [1280, 1500])
def test_metric_cards_show_their_whole_text(app_url: str, width: int) -> None:
    """No metric label, value or delta is cut (no element of a card overflows its box)."""
    with sync_playwright() as pw:
        browser, page = _browser(pw, width)
        page.goto(f"{app_url}/plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=120_000)
        expect(page.get_by_text("ecosystem shortfall closed (%)")).to_be_visible(timeout=60_000)
        _idle(page)
        cards = page.locator('[data-testid="stMetric"]').all()
        assert len(cards) >= 5
        for card in cards:
            assert card.evaluate(_CUT) == [], card.inner_text()
        # The ecosystem table fits the page (no column cut at the right edge).
        for frame in page.locator('[data-testid="stDataFrame"]').all()[:3]:
            box, main = frame.bounding_box(), page.locator('[data-testid="stMain"]').bounding_box()
            assert box is not None and main is not None
            assert box["x"] + box["width"] <= main["x"] + main["width"] + 1
        browser.close()


def test_app_metrics_equal_the_cli_summary_of_its_downloaded_scenario(
        app_url: str, tmp_path: Path) -> None:
    """The plan the app shows by default, downloaded as a scenario and moved to another
    folder, checks and solves with `carbonpark`; summary.json's new km², of which completes,
    carbon stock added and species meeting the target are the app's cards, to the digit."""
    import json

    from optimizer.plan.quantities import QUANTITIES as Q

    with sync_playwright() as pw:
        browser, page = _browser(pw)
        page.goto(f"{app_url}/plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=120_000)
        expect(page.get_by_text("ecosystem shortfall closed (%)")).to_be_visible(timeout=60_000)
        _idle(page)
        shown = _metrics(page)
        button = page.get_by_role("button", name="Download app_plan.toml")
        with page.expect_download() as info:
            button.click()
        downloaded = tmp_path / "downloads" / "app_plan.toml"
        info.value.save_as(downloaded)
        browser.close()
    moved = tmp_path / "another" / "folder"
    moved.mkdir(parents=True)
    scenario = moved / "app_plan.toml"
    downloaded.rename(scenario)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["scenario", "check", str(scenario)],
                 ["solve", str(scenario), "--out", str(tmp_path / "solved")]):
        proc = subprocess.run([sys.executable, "-m", "optimizer.cli", *argv], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in moved.iterdir()) == ["app_plan.toml"]  # no cache beside it
    summary = json.loads((tmp_path / "solved" / "summary.json").read_text())
    for name in ("new_km2", "new_km2_in_existing_units", "carbon_stock_added"):
        q = Q[name]
        assert shown[q.header()] == q.text(summary), name
    species = next(v for k, v in shown.items() if k.startswith(Q["species_met_after"].label))
    assert species == (f"{Q['species_met_after'].text(summary)} of "
                       f"{Q['species_features'].text(summary)}")


def _choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``, as a planner does.

    The menu can re-render under the click while the page settles (the click then lands on
    nothing and leaves the menu open over the page); the pick is checked and tried again.
    """
    box = page.get_by_role("combobox", name=label)
    for _ in range(3):
        box.click()
        page.get_by_role("option", name=option, exact=True).click()
        _idle(page)
        if box.input_value() == option:
            return
        page.keyboard.press("Escape")  # close a menu left open, then pick again
    assert box.input_value() == option


def test_controls_of_other_pages_keep_their_values_across_pages(app_url: str) -> None:
    """The Data page's layer and the Export page's formats survive a visit to another page."""
    with sync_playwright() as pw:
        browser, page = _browser(pw)
        page.goto(f"{app_url}/data")
        expect(page.get_by_text("Planning units", exact=True)).to_be_visible(timeout=120_000)
        _idle(page)
        _choose(page, "Layer to map", "carbon uptake: npp 2020")
        _goto(page, "Plan")
        expect(page.get_by_text(NEW_KM2)).to_be_visible(timeout=120_000)
        _goto(page, "Export")
        expect(page.get_by_role("heading", name="Export", exact=True)).to_be_visible()
        chips = page.locator('[data-testid="stMultiSelect"]')
        chips.get_by_role("button", name="remove").first.click()  # drop the first format
        _idle(page)
        kept = chips.inner_text()
        _goto(page, "Data")
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible(timeout=60_000)
        _idle(page)
        assert page.get_by_role("combobox", name="Layer to map").input_value() == (
            "carbon uptake: npp 2020")
        _goto(page, "Export")
        expect(page.get_by_role("heading", name="Export", exact=True)).to_be_visible()
        _idle(page)
        assert page.locator('[data-testid="stMultiSelect"]').inner_text() == kept
        assert "Shapefile" not in kept and "GeoPackage" in kept
        browser.close()
