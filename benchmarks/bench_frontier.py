"""Benchmark ``carbonpark frontier`` with a compactness penalty on the demo country.

Issue 23 asks for the 7-point frontier of a scenario with compactness in under 10 s at
10 km (22,425 units), where it once took 121 s for 4 of the 7 points. Each row runs
``carbonpark frontier scenarios/nbs_balanced.toml --points 7`` (the scenario's cell size
replaced by ``--cell-km`` and its compactness by ``--compactness``; manifest path made
absolute) in a fresh process and reads its closing line. Columns (medians of ``--repeat``):

* ``points`` - non-dominated points found (of 7);
* ``frontier s`` - the frontier's own seconds as the command prints them (every ε point
  and the two single-goal ends, after the grid is read);
* ``wall s`` - the whole process (start-up, grid read from the cache, writing);
* ``worst gap`` - the largest proven gap among the points;
* ``peak MB`` - the process's peak resident size.

The first run of a cell size builds the grid into the cache and is not counted.

    .venv/bin/python benchmarks/bench_frontier.py [--cell-km 10] [--compactness 0.25,0.75]
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DONE = re.compile(r"(\d+) non-dominated points \(\w+, ([\d.]+) s")
_GAP = re.compile(r"(?:within_gap|optimal|feasible)\s+([\d.]+)%")


def scenario(folder: Path, cell_km: float, compactness: float) -> Path:
    """nbs_balanced.toml at ``cell_km`` and ``compactness``, its manifest path absolute."""
    text = (ROOT / "scenarios" / "nbs_balanced.toml").read_text(encoding="utf-8")
    text = text.replace('manifest = "../data/demo.toml"',
                        f'manifest = "{(ROOT / "data" / "demo.toml").as_posix()}"')
    text = re.sub(r"(?m)^cell_km = .*$", f"cell_km = {cell_km:g}", text)
    text = re.sub(r"(?m)^compactness = [\d.]+", f"compactness = {compactness:g}", text)
    path = folder / f"nbs_{cell_km:g}km_c{compactness:g}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, out: Path) -> dict[str, float]:
    """One frontier process: points, the frontier's seconds, wall seconds, worst gap, peak MB."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optimizer.cli", "frontier", str(path), "--out",
                           str(out), "--points", "7", "--overwrite"], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"carbonpark frontier failed:\n{proc.stderr[-2000:]}")
    done = _DONE.search(proc.stdout)
    if done is None:
        raise SystemExit(f"no closing line in:\n{proc.stdout[-2000:]}")
    gaps = [float(g) for g in _GAP.findall(proc.stdout)]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"points": int(done.group(1)), "frontier_s": float(done.group(2)), "wall_s": wall,
            "worst_gap_pct": max(gaps) if gaps else float("nan"), "peak_mb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", type=float, default=10.0)
    ap.add_argument("--compactness", default="0.25,0.75", help="comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"carbonpark frontier, nbs_balanced at {args.cell_km:g} km, 7 points "
              f"(median of {args.repeat})")
        print(f"{'compactness':>11} {'points':>6} {'frontier s':>10} {'wall s':>7} "
              f"{'worst gap':>9} {'peak MB':>8}")
        for c in (float(x) for x in args.compactness.split(",")):
            path = scenario(folder, args.cell_km, c)
            run(path, folder / "warm")  # builds the grid into the cache: not counted
            rows = [run(path, folder / f"out{i}") for i in range(args.repeat)]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(f"{c:>11g} {int(med['points']):>6} {med['frontier_s']:>10.1f} "
                  f"{med['wall_s']:>7.1f} {med['worst_gap_pct']:>8.3f}% {med['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
