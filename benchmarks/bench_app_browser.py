"""What a planner waits for in the app: from pressing Run to the updated metric cards.

Run: ``PYTHONPATH=. python benchmarks/bench_app_browser.py [--cell-km 10] [--repeat 5]``.
Starts ``streamlit run app.py`` on a free localhost port (``CARBONPARK_APP_CELL_KM``), drives
Debian's headless Chromium (/usr/bin/chromium) with Playwright as a planner does, and times,
median of ``--repeat``: the Plan page's first plan (the grid loaded or built, the first
nested path), a budget change (+1% of the land by the keyboard, then Run), a weight change
and a compactness change, each from the click on **Run the plan** to the new plan's metric
cards (and, separately, until Streamlit is idle: maps and tables drawn). ``bench_app.py``
times the library's re-solve alone; the difference is Streamlit's rerun and the browser.
Then the map (issue 25): a click on the map that locks a unit, from the click to the new
plan's cards (the settings caption names one more unit locked on the map) and to an idle
page, median of ``--repeat`` clicks on distinct units; and the Plan page opened again
from the Data page (until its map is drawn and the page is idle), median of ``--repeat``.
Prints the machine and its load: a shared machine under load is slower.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_demo import machine  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CAPTION = "Settings of this plan:"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(cell_km: float, log: Path) -> tuple[subprocess.Popen, str]:
    """The app's server, once it answers its health check."""
    port = free_port()
    env = {**os.environ, "CARBONPARK_APP_CELL_KM": f"{cell_km:g}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "localhost", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")


def idle(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=300_000)


def run_plan(page) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Press Run: seconds to the new plan's cards, and to an idle page."""
    timed = timed_change(page, page.get_by_role("button", name="Run the plan").click, 300_000)
    if timed is None:
        raise SystemExit("Run the plan gave no new plan in 300 s")
    return timed


def nudge(page, label: str, steps: int) -> None:  # type: ignore[no-untyped-def]
    """Move a slider by ``steps`` keyboard steps (right when positive), as a planner does."""
    page.locator('[data-testid="stSlider"]').filter(has_text=label).first \
        .get_by_role("slider").focus()
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowRight" if steps > 0 else "ArrowLeft")


MAP = "[data-testid=stDeckGlJsonChart]"


def timed_change(page, act, timeout_ms: float) -> tuple[float, float] | None:  # type: ignore[no-untyped-def]
    """Run ``act()`` (a press or a click that should give a new plan): seconds from it to the
    new plan's cards (the settings caption changes) and to an idle page; None when no new
    plan came within ``timeout_ms`` (the action changed nothing)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    caption = page.get_by_text(CAPTION)
    before = caption.inner_text()
    t = time.perf_counter()
    act()
    try:
        expect(caption).not_to_have_text(before, timeout=timeout_ms)
    except (AssertionError, PlaywrightTimeout):
        idle(page)
        return None
    cards = time.perf_counter() - t
    idle(page)
    return cards, time.perf_counter() - t


def press(page) -> None:  # type: ignore[no-untyped-def]
    page.mouse.down()
    page.mouse.up()


def click_to_metrics(page, repeat: int) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Lock ``repeat`` units in by clicks near the map's centre: seconds from each click to
    the new plan's cards (the settings caption changes) and to an idle page. A click that
    lands on no unit, or on a unit a red line keeps out, changes nothing and is skipped."""
    from playwright.sync_api import Error as PlaywrightError

    page.locator("[data-testid=stRadio]").filter(has_text="Lock in").get_by_text(
        "Lock in", exact=True).click()
    idle(page)
    out: list[tuple[float, float]] = []
    for k in range(repeat + 2):
        if len(out) >= repeat:
            break
        canvas = page.locator(f"{MAP} canvas").first
        try:  # the map may be redrawn under the pointer (a new plan's spec)
            idle(page)
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
        except PlaywrightError:
            continue
        dx, dy = ((k % 5) - 2) * 23, ((k // 5) % 5 - 2) * 19
        # the pointer rests on the unit first, as a hand's does (deck.gl redraws on hover; a
        # press right after a move can be taken for a drag in a software-rendered browser)
        page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
        page.wait_for_timeout(400)
        timed = timed_change(page, lambda: press(page), 8_000)
        if timed is not None:
            out.append(timed)
    return out


def typed_lock_to_metrics(page, repeat: int) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Lock ``repeat`` units out by typing their ids (the lock table's box, then **Lock
    out**): seconds to the new plan's cards and to an idle page. An id the existing network
    keeps is refused (no new plan) and skipped."""
    out: list[tuple[float, float]] = []
    box = page.get_by_label("Or lock units by id")
    for k in range(repeat * 4):
        if len(out) >= repeat:
            break
        box.fill(str(1000 + 379 * k))
        box.press("Tab")
        idle(page)
        button = page.get_by_role("button", name="Lock out", exact=True).last
        timed = timed_change(page, button.click, 30_000)
        if timed is not None:
            out.append(timed)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", type=float, default=10.0, help="the app's demo grid (km)")
    ap.add_argument("--repeat", type=int, default=5, help="changes of each kind (median)")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():  # `make system` installs Debian's chromium
        print(f"skipped: {CHROMIUM} is not installed (apt-get install chromium)")
        return
    from playwright.sync_api import expect, sync_playwright

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(args.cell_km, Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1500, "height": 2400})
                t = time.perf_counter()
                page.goto(f"{url}/plan")
                expect(page.get_by_text(CAPTION)).to_be_visible(timeout=600_000)
                idle(page)
                print(f"plan page, first plan (grid at {args.cell_km:g} km): "
                      f"{time.perf_counter() - t:.1f} s")
                # Each change alternates direction, so no plan is a repeat of a cached one.
                changes = {"budget +/-1% of the land": ("Budget: land to add", 2),
                           "biodiversity weight +/-0.5": ("Weight: biodiversity", 2),
                           "compactness +/-0.05": ("Compactness", 1)}
                print(f"{'change':<30} {'to cards s':>11} {'to idle s':>10}  (median of "
                      f"{args.repeat})")
                for name, (label, steps) in changes.items():
                    times = []
                    for i in range(args.repeat):
                        nudge(page, label, steps if i % 2 == 0 else -steps)
                        times.append(run_plan(page))
                    print(f"{name:<30} {statistics.median(c for c, _ in times):>11.2f} "
                          f"{statistics.median(d for _, d in times):>10.2f}", flush=True)
                typed = typed_lock_to_metrics(page, args.repeat)
                print(f"{'lock out by typed id':<30} {statistics.median(c for c, _ in typed):>11.2f} "
                      f"{statistics.median(d for _, d in typed):>10.2f}", flush=True)
                clicks = click_to_metrics(page, args.repeat)
                if clicks:
                    print(f"{'click on the map (lock in)':<30} "
                          f"{statistics.median(c for c, _ in clicks):>11.2f} "
                          f"{statistics.median(d for _, d in clicks):>10.2f}  ({len(clicks)} of "
                          f"{args.repeat} clicks taken)", flush=True)
                else:
                    print(f"{'click on the map (lock in)':<30} no click taken (a press on a map "
                          "this large is taken for a drag in software-rendered Chromium)",
                          flush=True)
                opens = []
                for _ in range(args.repeat):
                    page.get_by_role("link", name="Data", exact=True).click()
                    idle(page)
                    t = time.perf_counter()
                    page.get_by_role("link", name="Plan", exact=True).click()
                    page.wait_for_selector(f"{MAP} canvas", timeout=300_000)
                    idle(page)
                    opens.append(time.perf_counter() - t)
                print(f"{'Plan page opened again':<30} {'':>11} {statistics.median(opens):>10.2f}",
                      flush=True)
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
