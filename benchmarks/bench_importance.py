"""Benchmark replacement importance (`optimizer.studies.importance`) on the demo country.

Each row solves ``scenarios/nbs_balanced.toml`` at ``--cell-km`` (the scenario's own solver,
gap and compactness), then computes the replacement importance of every added unit with
``--workers`` local processes, in a fresh process per row so each peak memory is its own.
Columns: ``units`` (planning units), ``added`` (units the plan adds: one re-solve each),
``solve s`` (the plan), ``importance s`` (every re-solve), ``per unit ms``, ``proven``
(units proven at the requested gap, of ``added``), ``pruned`` (units whose plan-without-them
was already within the gap of the plan's bound: no re-solve, `importance_repair`), ``peak MB``
(the row's process); with ``--limit`` ``added`` counts the units computed. ``--no-prune`` re-solves every unit (the method before pruning);
``--limit N`` computes the importance of the first N added units only (a subset, for the
largest grids), ``--time-limit-per-unit`` overrides the scenario's. ``--rank N`` times rank
importance instead (N increments solved one after the other): ``rank s``, units ``ranked``,
increments ``proven`` at the gap.

    .venv/bin/python benchmarks/bench_importance.py [--cell-km 40,20] [--workers 2] [--gap 0.001]
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


def row(cell_km: float, workers: int, gap: float | None, prune: bool = True,
        limit: int | None = None, time_limit: float | None = None,
        increments: int = 0) -> dict[str, float]:
    """One row in this process (run as a child by `main`)."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from optimizer.plan.solving import solve
    from optimizer.scenario import Scenario
    from optimizer.scenario.build import solver_options
    from optimizer.studies.importance import importance

    sc = Scenario.load(ROOT / "scenarios" / "nbs_balanced.toml")
    from optimizer.scenario.overrides import apply_overrides

    sc, _ = apply_overrides(sc, [f"grid.cell_km={cell_km:g}"])
    p = sc.to_problem(sc.load_grid())
    t0 = time.perf_counter()
    sol = solve(p, sc.solver.backend, **solver_options(sc))
    solve_s = time.perf_counter() - t0
    g = sc.solver.gap if gap is None else gap
    only = None
    if limit is not None:  # a subset: the first `limit` added units (every re-solve whole)
        locked_in, _ = p.locked_masks()
        free_added = np.flatnonzero((sol.x > 0.5) & ~locked_in)[:limit]
        only = p.pu.units["pu_id"].to_numpy()[free_added]
    if increments:  # rank importance: one solve per increment, one after the other
        t0 = time.perf_counter()
        imp = importance(p, sol, method="rank", increments=increments, gap=g,
                         solver=sc.solver.backend, time_limit_per_unit=sc.solver.time_limit)
        steps = imp.steps if imp.steps is not None else None
        assert steps is not None
        return {"units": p.n_units, "added": int(imp.table["added"].sum()),
                "increments": increments, "solve_s": solve_s,
                "rank_s": time.perf_counter() - t0,
                "ranked": int((imp.table["rank"] > 0).sum()),
                "proven": int((steps["gap"] <= g + 1e-12).sum()),
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    t0 = time.perf_counter()
    imp = importance(p, sol, solver=sc.solver.backend, gap=g, workers=workers,
                     time_limit_per_unit=time_limit or sc.solver.time_limit, prune=prune,
                     units=only)
    imp_s = time.perf_counter() - t0
    t = imp.table[imp.table["added"]]
    proven = int((t["gap"] <= g + 1e-12).sum())
    pruned = int((t["status"] == "repaired").sum())
    computed = int((t["status"] != "").sum())  # all added units, or the --limit subset
    return {"units": p.n_units, "added": len(t), "pruned": pruned, "solve_s": solve_s,
            "importance_s": imp_s,
            "per_unit_ms": 1000 * imp_s / max(computed, 1), "computed": computed,
            "proven": proven, "gap": g,
            "median_pct": float(np.median(
                t["importance_pct"][np.isfinite(t["importance_pct"]) & (t["status"] != "")])),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", default="40,20", help="comma-separated")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gap", type=float, default=None, help="default the scenario's")
    ap.add_argument("--no-prune", action="store_true", help="re-solve every unit")
    ap.add_argument("--limit", type=int, default=None, help="first N added units only")
    ap.add_argument("--time-limit-per-unit", type=float, default=None)
    ap.add_argument("--rank", type=int, default=0, metavar="N",
                    help="rank importance with N increments instead of replacement")
    ap.add_argument("--row", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row is not None:
        print(json.dumps(row(args.row, args.workers, args.gap, not args.no_prune, args.limit,
                             args.time_limit_per_unit, args.rank)))
        return
    if args.rank:
        print(f"rank importance, nbs_balanced, {args.rank} increments")
        print(f"{'cell km':>7} {'units':>7} {'added':>6} {'solve s':>8} {'rank s':>8} "
              f"{'ranked':>6} {'proven':>6} {'peak MB':>8}")
        for km in (float(v) for v in args.cell_km.split(",")):
            cmd = [sys.executable, __file__, "--row", str(km), "--rank", str(args.rank)]
            cmd += ["--gap", str(args.gap)] if args.gap is not None else []
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-2000:])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{km:>7g} {r['units']:>7,} {r['added']:>6,} {r['solve_s']:>8.2f} "
                  f"{r['rank_s']:>8.1f} {r['ranked']:>6,} {r['proven']:>6,} "
                  f"{r['peak_mb']:>8.0f}")
        return
    print(f"replacement importance, nbs_balanced, {args.workers} workers"
          + (", no pruning" if args.no_prune else "")
          + (f", first {args.limit} added units" if args.limit else ""))
    print(f"{'cell km':>7} {'units':>7} {'added':>6} {'pruned':>6} {'solve s':>8} "
          f"{'importance s':>12} {'per unit ms':>11} {'proven':>6} {'median %':>8} "
          f"{'peak MB':>8}")
    for km in (float(v) for v in args.cell_km.split(",")):
        cmd = [sys.executable, __file__, "--row", str(km), "--workers", str(args.workers)]
        if args.gap is not None:
            cmd += ["--gap", str(args.gap)]
        if args.no_prune:
            cmd += ["--no-prune"]
        if args.limit is not None:
            cmd += ["--limit", str(args.limit)]
        if args.time_limit_per_unit is not None:
            cmd += ["--time-limit-per-unit", str(args.time_limit_per_unit)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{km:>7g} {r['units']:>7,} {r['computed']:>6,} {r['pruned']:>6,} "
              f"{r['solve_s']:>8.2f} "
              f"{r['importance_s']:>12.1f} {r['per_unit_ms']:>11.0f} {r['proven']:>6,} "
              f"{r['median_pct']:>8.3f} {r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
