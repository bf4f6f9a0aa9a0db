"""Benchmark: build the demo grid (all layers) at several cell sizes.

Each build runs in a fresh subprocess so its peak memory (max RSS) is its own.
Prints, per size: units, median seconds, peak MB, units per second.

    python benchmarks/bench_grid.py                 # 10, 5 and 2 km, 3 runs each
    python benchmarks/bench_grid.py --sizes 10 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "data" / "demo.toml"

_CHILD = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from optimizer.grid.manifest import build_grid_from_manifest
t = time.perf_counter()
pu = build_grid_from_manifest(sys.argv[1], cell_km=float(sys.argv[2]))
seconds = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"units": len(pu), "seconds": seconds, "peak_mb": peak_mb,
                  "features": len(pu.features), "boundary_pairs": len(pu.boundary)}))
"""


def run_once(cell_km: float) -> dict[str, float]:
    """Build the demo grid once in a subprocess; return its figures."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(MANIFEST), str(cell_km)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,5,2", help="cell sizes in km, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median reported)")
    args = parser.parse_args()
    print(f"{'cell km':>8}{'units':>10}{'features':>10}{'median s':>10}{'min s':>8}"
          f"{'peak MB':>9}{'units/s':>10}")
    for size in (float(s) for s in args.sizes.split(",")):
        runs = [run_once(size) for _ in range(args.repeat)]
        secs = [r["seconds"] for r in runs]
        med = statistics.median(secs)
        r0 = runs[0]
        print(f"{size:>8g}{r0['units']:>10,}{r0['features']:>10}{med:>10.2f}{min(secs):>8.2f}"
              f"{max(r['peak_mb'] for r in runs):>9.0f}{r0['units'] / med:>10,.0f}", flush=True)


if __name__ == "__main__":
    main()
