"""Benchmark portfolios (`optimizer.studies.portfolio`) on the demo country.

Each row builds ``scenarios/nbs_balanced.toml``'s problem at ``--cell-km`` and asks for
``--n`` plans within ``--gap`` of the best at ``--min-distance`` units apart (the scenario's
solver and gap for each solve), in a fresh process per row so each peak memory is its own.
Columns: ``units``, ``plans`` (found), ``seconds`` (the whole portfolio), ``per plan s``,
``worst %`` (the last plan's distance from the best; ``--method shuffle``: ``--n`` solves in
random unit orders on ``--workers`` processes or ``--scheduler``, duplicates dropped), ``varying`` (units in some plans but
not all), ``peak MB``.

    .venv/bin/python benchmarks/bench_portfolio.py [--cell-km 40,20,10,4.7] [--n 10] [--gap 0.02]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def row(cell_km: float, n: int, gap: float, min_distance: int, method: str = "gap",
        workers: int = 1, scheduler: str | None = None) -> dict[str, float]:
    """One row in this process (run as a child by `main`)."""
    sys.path.insert(0, str(ROOT))
    from optimizer.scenario import Scenario
    from optimizer.scenario.overrides import apply_overrides
    from optimizer.studies.portfolio import portfolio
    from optimizer.studies.portfolio_shuffle import shuffle_portfolio

    sc, _ = apply_overrides(Scenario.load(ROOT / "scenarios" / "nbs_balanced.toml"),
                            [f"grid.cell_km={cell_km:g}"])
    p = sc.to_problem(sc.load_grid())
    t0 = time.perf_counter()
    if method == "shuffle":
        pf = shuffle_portfolio(p, n, solver=sc.solver.backend, solve_gap=sc.solver.gap,
                               time_limit_per_plan=sc.solver.time_limit, workers=workers,
                               scheduler=scheduler)
    else:
        pf = portfolio(p, n, gap=gap, min_distance=min_distance, solver=sc.solver.backend,
                       solve_gap=sc.solver.gap, time_limit_per_plan=sc.solver.time_limit)
    seconds = time.perf_counter() - t0
    freq = pf.frequency["frequency"].to_numpy()
    return {"units": p.n_units, "plans": len(pf.table), "seconds": seconds,
            "per_plan_s": seconds / len(pf.table),
            "worst_pct": float(pf.table["gap_to_best_pct"].max()),
            "varying": int(((freq > 0) & (freq < 1)).sum()),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", default="40,20,10,4.7", help="comma-separated (4.7: 100,484 units)")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--gap", type=float, default=0.02)
    ap.add_argument("--min-distance", type=int, default=10)
    ap.add_argument("--method", choices=("gap", "shuffle"), default="gap")
    ap.add_argument("--workers", type=int, default=1, help="shuffle: processes")
    ap.add_argument("--scheduler", default=None, help="shuffle: 'local' or a Dask address")
    ap.add_argument("--row", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row is not None:
        print(json.dumps(row(args.row, args.n, args.gap, args.min_distance, args.method,
                             args.workers, args.scheduler)))
        return
    print(f"portfolio ({args.method}), nbs_balanced, n {args.n}, gap {args.gap:g}, min distance "
          f"{args.min_distance}, workers {args.workers}, scheduler {args.scheduler}")
    print(f"{'cell km':>7} {'units':>7} {'plans':>5} {'seconds':>8} {'per plan s':>10} "
          f"{'worst %':>8} {'varying':>7} {'peak MB':>8}")
    for km in (float(v) for v in args.cell_km.split(",")):
        cmd = [sys.executable, __file__, "--row", str(km), "--n", str(args.n), "--gap",
               str(args.gap), "--min-distance", str(args.min_distance), "--method", args.method,
               "--workers", str(args.workers)]
        if args.scheduler:
            cmd += ["--scheduler", args.scheduler]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{km:>7g} {r['units']:>7,} {r['plans']:>5} {r['seconds']:>8.1f} "
              f"{r['per_plan_s']:>10.2f} {r['worst_pct']:>8.3f} {r['varying']:>7,} "
              f"{r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
