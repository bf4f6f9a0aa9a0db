"""Benchmark: build the demo grid (all layers) at several cell sizes.

Each build runs in a fresh subprocess so its peak memory (max RSS) is its own.
Prints, per size: units, median seconds, peak MB, units per second.

    python benchmarks/bench_grid.py                 # 10, 5 and 2 km, 3 runs each
    python benchmarks/bench_grid.py --sizes 10 --repeat 1
    python benchmarks/bench_grid.py --memory --sizes 10,5,2 --repeat 1   # the memory model

``--memory`` builds each size in memory and band by band (written to a temporary folder) and
prints, per build, the peak resident memory's growth over the process's after the imports
(``VmHWM`` less ``VmRSS`` before the build) beside `optimizer.grid.memory`'s estimate.
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


_MEMORY_CHILD = """
import json, sys, tempfile, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from optimizer.grid.build import write_grid
from optimizer.grid.manifest import build_grid_from_manifest
from optimizer.grid.memory import _status, estimate_build_memory, layer_columns
from optimizer.grid.stream import BAND_UNITS, build_grid_streamed
from optimizer.inputs.layers import load_manifest
import pyarrow.parquet as pq
manifest, cell, mode = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
spec, layers = load_manifest(manifest)
out = Path(tempfile.mkdtemp()) / "grid"
before = _status("VmRSS")
if mode == "memory":
    pu = build_grid_from_manifest(manifest, cell_km=cell, check_memory=False)
    write_grid(pu, out)
    units = len(pu)
    est = estimate_build_memory(units, layer_columns(layers))
else:
    build_grid_streamed(layers, out, study_area=manifest.parent / spec.grid.study_area,
                        cell_km=cell, crs=spec.grid.crs, check_memory=False)
    units = pq.read_metadata(out / "units.parquet").num_rows
    est = estimate_build_memory(units, layer_columns(layers, banded=True), band_units=BAND_UNITS)
print(json.dumps({"units": units, "grown_mb": (_status("VmHWM") - before) / 2**20,
                  "estimate_mb": est / 2**20}))
"""


def memory_table(sizes: list[float]) -> None:
    """Measured peak growth against the estimate, in memory and band by band."""
    print(f"{'cell km':>8} {'build':<9}{'units':>11}{'measured MB':>13}{'estimate MB':>13}{'error':>8}")
    for size in sizes:
        for mode in ("memory", "banded"):
            out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(MANIFEST), str(size),
                                  mode], check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            err = r["estimate_mb"] / r["grown_mb"] - 1
            print(f"{size:>8g} {mode:<9}{r['units']:>11,}{r['grown_mb']:>13,.0f}"
                  f"{r['estimate_mb']:>13,.0f}{err:>+8.0%}", flush=True)


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
    parser.add_argument("--memory", action="store_true",
                        help="measure peak memory against the estimate, in memory and banded")
    args = parser.parse_args()
    if args.memory:
        memory_table([float(s) for s in args.sizes.split(",")])
        return
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
