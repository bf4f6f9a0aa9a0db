"""End to end in a real headless Chromium: `streamlit run app.py`, move the budget, run, download.

Starts the app on a free localhost port (40 km demo grid, ``CARBONPARK_APP_CELL_KM``),
drives Debian's /usr/bin/chromium with Playwright, saves a screenshot of every page under
``out/app-screenshots/`` and opens the downloaded Shapefile zip with pyogrio. Skipped only
when /usr/bin/chromium or the playwright package is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "out" / "app-screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore")]

if not CHROMIUM.exists():
    pytest.skip("end-to-end app test: /usr/bin/chromium is not installed (apt-get install chromium)",
                allow_module_level=True)
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    pytest.skip("end-to-end app test: the playwright package is not installed",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    env = {**os.environ, "CARBONPARK_APP_CELL_KM": os.environ.get("CARBONPARK_APP_CELL_KM", "40"),
           "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "localhost", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


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
        expect(page.get_by_text("Protected land")).to_be_visible(timeout=60_000)
        before = _metric(page, "Protected land")
        carbon_before = _metric(page, "Carbon stock protected")
        _shot(page, "3-plan")
        slider = page.get_by_role("slider").first
        slider.focus()
        for _ in range(20):  # +10 % of the land, 0.5 % a step
            page.keyboard.press("ArrowRight")
        t = time.perf_counter()
        page.get_by_role("button", name="Run the plan").click()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="Protected land")
               .locator('[data-testid="stMetricValue"]')).not_to_have_text(before, timeout=60_000)
        _idle(page)
        timings["re-solve after the budget move"] = time.perf_counter() - t
        assert _metric(page, "Carbon stock protected") != carbon_before
        assert not page.locator('[data-testid="stException"]').count()
        _save(page, "plan_a")
        _shot(page, "3-plan-after")

        before = _metric(page, "Protected land")
        page.get_by_role("slider").first.focus()
        for _ in range(10):
            page.keyboard.press("ArrowLeft")
        page.get_by_role("button", name="Run the plan").click()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="Protected land")
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
