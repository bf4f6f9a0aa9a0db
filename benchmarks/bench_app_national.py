"""The app's plan map of a national 1 km grid, in a real browser: seconds and memory.

Run: ``PYTHONPATH=. python benchmarks/bench_app_national.py [--cells 9.6e6] [--repeat 3]``.

A square grid of ``--cells`` units (default 9.6 million: China at 1 km) is synthesised as
the app holds a grid: a ``row``/``col`` frame over a country-shaped (elliptical) mask with
the grid's ``square_grid`` record, and a plan's status per unit in blocks (existing
network, added, red line, free). The map is what the Plan page draws above
``MAX_PICKABLE_UNITS``: the colours of the plan (`optimizer.app.map_data.PLAN_STATUS`),
one PNG pixel per cell (`optimizer.app.map_view.raster_png`, from row/col, no geometry) in
a deck.gl ``BitmapLayer``. Printed:

* the server side: seconds and peak resident memory above the grid frame to build the
  colours, the PNG and the spec, and the spec's size;
* the browser: a Streamlit page showing that spec (``st.pydeck_chart``) opened in Debian's
  headless Chromium, seconds from navigation until deck.gl has drawn the map and Streamlit
  is idle (median of ``--repeat``), and the resident memory of Chromium's processes after.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _proc import reset_peak, status_kb  # noqa: E402
from bench_app_browser import ARGS, CHROMIUM, free_port, idle  # noqa: E402
from bench_demo import machine  # noqa: E402

PAGE = '''
import pickle, sys
import streamlit as st
from optimizer.app.map_view import MapSpec
spec = pickle.load(open(sys.argv[1], "rb"))
st.pydeck_chart(spec, height=700)
st.markdown("MAP READY")
'''


class Grid:
    """What the map reads of a grid: ``units`` (row, col) and ``meta`` (square_grid)."""

    def __init__(self, units: pd.DataFrame, meta: dict) -> None:
        self.units, self.meta = units, meta


def national(cells: float, seed: int = 0) -> tuple[Grid, np.ndarray]:
    """A country of about ``cells`` 1 km units (an ellipse) and a plan's status codes."""
    ncols = int(np.sqrt(cells / (np.pi / 4) * 1.3))
    nrows = int(ncols / 1.3)
    r, c = np.mgrid[0:nrows, 0:ncols]
    inside = ((r - nrows / 2) / (nrows / 2)) ** 2 + ((c - ncols / 2) / (ncols / 2)) ** 2 <= 1
    row, col = r[inside].astype(np.int32), c[inside].astype(np.int32)
    units = pd.DataFrame({"row": row, "col": col})
    meta = {"square_grid": {"x0": -2_500_000.0, "y0": 5_000_000.0, "cell_m": 1000.0,
                            "nrows": nrows, "ncols": ncols}}
    rng = np.random.default_rng(seed)
    block = (row // 50) * 1000 + col // 50  # plans come in blocks of 50 km
    codes = rng.choice(6, size=int(block.max()) + 1, p=[0.1, 0.02, 0.1, 0.01, 0.1, 0.67])
    return Grid(units, meta), codes[block].astype(np.int8)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=float, default=9.6e6, help="units of the grid")
    ap.add_argument("--repeat", type=int, default=3, help="page loads (median)")
    ap.add_argument("--screenshot", help="save the page as this PNG")
    args = ap.parse_args(argv)
    import psutil

    from optimizer.app import map_data, map_view

    print(f"machine: {machine()}")
    grid, codes = national(args.cells)
    n = len(grid.units)
    base_mb = status_kb("VmRSS") / 1024
    reset_peak()
    t = time.perf_counter()
    lut = np.array([map_data.hex_rgba(c, 230) for c in map_data.PLAN_STATUS.values()],
                   dtype=np.uint8)
    rgba = lut[codes]
    spec = map_view.image_spec(grid, rgba)  # what deck_spec draws above MAX_PICKABLE_UNITS
    seconds = time.perf_counter() - t
    peak_mb = status_kb("VmHWM") / 1024 - base_mb
    size = len(spec.to_json().encode())
    print(f"units: {n:,} ({grid.meta['square_grid']['nrows']:,} rows x "
          f"{grid.meta['square_grid']['ncols']:,} cols)")
    print(f"server: colours + PNG + spec {seconds:.2f} s, peak {peak_mb:,.0f} MB above the "
          f"grid frame ({base_mb:,.0f} MB with it); spec {size / 1e3:,.0f} kB")
    if not Path(CHROMIUM).exists():
        print(f"browser: skipped, {CHROMIUM} is not installed (apt-get install chromium)")
        return
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        spec_file, page_file = Path(tmp) / "spec.pkl", Path(tmp) / "page.py"
        spec_file.write_bytes(pickle.dumps(spec))
        page_file.write_text(PAGE)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(page_file), "--server.port",
             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.maxMessageSize", "1000", "--", str(spec_file)],
            cwd=ROOT, env=env, stdout=(Path(tmp) / "log").open("wb"), stderr=subprocess.STDOUT)
        try:
            time.sleep(3)
            loads, rss = [], []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for _ in range(args.repeat):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    t = time.perf_counter()
                    page.goto(f"http://localhost:{port}", timeout=120_000)
                    expect(page.get_by_text("MAP READY")).to_be_visible(timeout=300_000)
                    page.wait_for_selector("[data-testid=stDeckGlJsonChart] canvas",
                                           timeout=300_000)
                    idle(page)
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                                  "requestAnimationFrame(r)))")  # deck.gl has drawn a frame
                    loads.append(time.perf_counter() - t)
                    if args.screenshot:
                        page.screenshot(path=args.screenshot)
                    kids = psutil.Process(browser_pid(browser)).children(recursive=True)
                    rss.append(sum(k.memory_info().rss for k in kids) / 2**20)
                    page.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"browser: page with the map drawn {statistics.median(loads):.2f} s (median of "
          f"{len(loads)}; {', '.join(f'{x:.2f}' for x in loads)}); Chromium's processes "
          f"{max(rss):,.0f} MB resident")
    print(f"machine at the end: {machine()}")


def browser_pid(browser: object) -> int:
    """The Chromium process Playwright launched (the parent of its renderers)."""
    import psutil

    me = psutil.Process()
    for p in me.children(recursive=True):
        if "chrom" in p.name() and p.parent() is not None and "chrom" not in p.parent().name():
            return int(p.pid)
    return int(me.pid)


if __name__ == "__main__":
    main()
