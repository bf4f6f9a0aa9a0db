"""Sweep throughput on the demo grid (40 km): runs per second and per-run overhead.

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py [--workers 2]``. Measures a 100-run
sweep (10 budget shares × 10 carbon weights, highs, gap 1e-3) on local processes and on
a Dask LocalCluster; the same 100 runs in cut form with a boundary penalty read from the
nested path (10 parametric solves); and the nested path's speed-up over solving 10
budgets one by one. The per-run overhead is the worker's wall time per run beyond the
solve (load the scenario, build the problem, metrics: the grid is loaded once per worker).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARES = [round(0.02 * i, 2) for i in range(1, 11)]
WEIGHTS = [round(0.1 * i, 1) for i in range(10)]


def sweep(extra: dict, shares=SHARES, weights=WEIGHTS, path: str = "auto"):  # type: ignore[no-untyped-def]
    from optimizer.studies.sweep import Sweep

    return Sweep.from_dict({"schema_version": 1, "base": "balanced.toml", "path": path,
                            "set": extra, "parameters": {"budget.share": shares,
                                                         "weights.carbon": weights}},
                           base_dir=ROOT / "scenarios")


def timed(s, **kw) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    from optimizer.studies.sweep import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        df = run_sweep(s, Path(tmp) / "out", **kw)
        return time.perf_counter() - t0, df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    highs = sweep({"solver.gap": 1e-3})
    n = len(highs.runs)
    highs.base.load_grid()
    rows = []
    for label, kw in (("local processes", {"workers": args.workers}),
                      ("dask LocalCluster", {"workers": args.workers, "scheduler": "local"}),
                      ("in-process (1 worker)", {"workers": 1})):
        secs, df = timed(highs, **kw)
        overhead = float((df["wall_s"] - df["runtime"]).mean())
        rows.append((label, n, secs, n / secs, float(df["runtime"].mean()), overhead))
    cut = {"solver.backend": "cut", "penalties.boundary.penalty": 1e-5}
    secs, df = timed(sweep(cut), workers=args.workers)
    rows.append(("nested path (cut)", n, secs, n / secs, float(df["runtime"].mean()), float("nan")))
    print(f"{'executor':24} {'runs':>5} {'seconds':>8} {'runs/s':>7} {'solve s':>8} {'overhead s':>10}")
    for r in rows:
        print(f"{r[0]:24} {r[1]:5d} {r[2]:8.2f} {r[3]:7.2f} {r[4]:8.3f} {r[5]:10.3f}")
    ten = sweep(cut, weights=[1.0])
    t_path, _ = timed(ten, workers=1)
    t_each, _ = timed(sweep(cut, weights=[1.0], path="never"), workers=1)
    print(f"10 budgets in cut form: nested path {t_path:.2f} s, one solve each {t_each:.2f} s "
          f"(x{t_each / t_path:.1f})")


if __name__ == "__main__":
    main()
