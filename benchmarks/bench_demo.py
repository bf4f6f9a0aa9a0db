"""The whole demo, as a new user times it: ``carbonpark demo`` end to end.

Run: ``PYTHONPATH=. python benchmarks/bench_demo.py [--repeat 3] [--cell-km 10 40]``.
For each cell size it runs the command ``--repeat`` times in a child process with a fresh
output folder and reports the median wall-clock seconds and the child's peak resident
memory (``ru_maxrss`` of the children), twice: with the grid cache removed first (what a
fresh clone pays) and with the grid cached (every later run). It prints the machine (CPUs,
model, load average at the start and end), because a shared machine under load is slower:
a time quoted in the docs names this script and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """CPUs, CPU model and the 1-minute load average, in one line."""
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs ({model}), load average {load:.2f}"


#: Where a source checkout's demo keeps its grids (`optimizer.datasets.ExampleFiles.grid_cache`).
CACHE = ROOT / "scenarios" / ".carbonpark-cache"


def run_once(cell_km: float, cold: bool) -> tuple[float, float]:
    """Seconds and the child's peak MB of one ``carbonpark demo`` run into a fresh folder."""
    if cold:
        shutil.rmtree(CACHE, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "optimizer.cli", "demo", "--out", str(Path(tmp) / "demo"),
               "--cell-km", f"{cell_km:g}"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest so far
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return secs, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting (median)")
    ap.add_argument("--cell-km", type=float, nargs="+", default=[10.0, 40.0],
                    help="grid sizes of the demo to time (km)")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{'cell km':>8} {'grid':>7} {'runs':>5} {'median s':>9} {'min s':>7} {'max s':>7} "
          f"{'peak MB':>8}")
    kept = CACHE.with_name(CACHE.name + ".bench-kept")
    if CACHE.exists():  # the developer's cache is set aside for the cold runs, then restored
        shutil.rmtree(kept, ignore_errors=True)
        CACHE.rename(kept)
    try:
        for cell in args.cell_km:
            for cold in (True, False):
                runs = [run_once(cell, cold) for _ in range(args.repeat)]
                report(cell, cold, runs)
    finally:
        shutil.rmtree(CACHE, ignore_errors=True)
        if kept.exists():
            kept.rename(CACHE)
    print(f"machine at the end: {machine()}")


def report(cell: float, cold: bool, runs: list[tuple[float, float]]) -> None:
    """One row: the setting, the median, min and max seconds, the largest peak."""
    secs = [s for s, _ in runs]
    print(f"{cell:>8g} {'built' if cold else 'cached':>7} {len(runs):>5} "
          f"{statistics.median(secs):>9.1f} {min(secs):>7.1f} {max(secs):>7.1f} "
          f"{max(m for _, m in runs):>8.0f}", flush=True)


if __name__ == "__main__":
    main()
