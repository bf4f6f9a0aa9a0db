"""Benchmark management zones (`optimizer.plan.zoned.solve_zones`) on the demo country.

Each row builds ``scenarios/nbs_balanced.toml``'s problem at ``--cell-km`` with two zones (a
core zone of at most ``--core-share`` of the area budget, holding everything; a general
control zone holding 80% of carbon and 50% of the rest) and solves it with HiGHS under
``--time-limit`` seconds at ``--gap``, in a fresh process per row so each peak memory is its
own. ``--no-cuts`` drops the valid inequalities on the union's boundary products (rows of
block ``zone_edge``), to measure what they bring. Columns: ``units``, ``columns`` and
``rows`` of the zoned model, ``compile s``, ``solve s``, ``status``, ``proven gap %``,
``core / general units``, ``peak MB`` and the strategy that answered. ``--method``
picks `solve_zones`' method (``auto``: the zone-price Lagrangian start from 2,000 units).

    .venv/bin/python benchmarks/bench_zones.py [--cell-km 40,20,10] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def row(cell_km: float, core_share: float, time_limit: float, gap: float,
        cuts: bool, method: str) -> dict[str, object]:
    """One row in this process (run as a child by `main`)."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from optimizer.model.zones import Zone, zoned_problem
    from optimizer.model.zones_compile import compile_zones
    from optimizer.plan.zoned import solve_zones
    from optimizer.scenario import Scenario
    from optimizer.scenario.overrides import apply_overrides

    sc, _ = apply_overrides(Scenario.load(ROOT / "scenarios" / "nbs_balanced.toml"),
                            [f"grid.cell_km={cell_km:g}"])
    p = sc.to_problem(sc.load_grid())
    budget = p.total_budget()
    assert budget is not None
    zp = zoned_problem(p, [Zone("core", max_km2=core_share * budget.max_km2),
                           Zone("general", {"carbon": 0.8}, default_contribution=0.5)])
    t0 = time.perf_counter()
    zm = compile_zones(zp)
    if not cuts:  # the model without the zone_edge rows
        m = zm.model
        cut = m.block("zone_edge")
        keep = np.r_[0:cut.start, cut.stop:m.n_rows] if cut.stop > cut.start else None
        if keep is not None:
            m = dataclasses.replace(m, A=m.A[keep], row_lower=m.row_lower[keep],
                                    row_upper=m.row_upper[keep],
                                    row_blocks=tuple(b for b in m.row_blocks
                                                     if b.kind != "zone_edge"))
            zm = dataclasses.replace(zm, model=m)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = solve_zones(zp, "highs", model=zm, time_limit=time_limit, gap=gap, method=method)
    solve_s = time.perf_counter() - t0
    sol = plan.solution
    return {"units": p.n_units, "columns": zm.model.n_cols, "rows": zm.model.n_rows,
            "compile_s": compile_s, "solve_s": solve_s, "status": str(sol.status),
            "gap_pct": 100 * sol.gap, "core": int((plan.zone == 0).sum()),
            "general": int((plan.zone == 1).sum()), "strategy": sol.strategy,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", default="40,20,10", help="comma-separated")
    ap.add_argument("--core-share", type=float, default=0.5)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--no-cuts", action="store_true")
    ap.add_argument("--method", default="auto", choices=("auto", "mip", "lagrangian"),
                    help="solve_zones' method (auto: the Lagrangian start from 2,000 units)")
    ap.add_argument("--row", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row is not None:
        print(json.dumps(row(args.row, args.core_share, args.time_limit, args.gap,
                             not args.no_cuts, args.method)))
        return
    print(f"zones, nbs_balanced, core <= {args.core_share:g} of the budget, HiGHS, limit "
          f"{args.time_limit:g} s, gap {args.gap:g}, method {args.method}"
          f"{', no zone_edge rows' if args.no_cuts else ''}")
    print(f"{'cell km':>7} {'units':>7} {'columns':>8} {'rows':>8} {'compile s':>9} "
          f"{'solve s':>8} {'status':>11} {'gap %':>7} {'core':>6} {'general':>7} {'peak MB':>8}")
    for km in (float(v) for v in args.cell_km.split(",")):
        cmd = [sys.executable, __file__, "--row", str(km), "--core-share", str(args.core_share),
               "--time-limit", str(args.time_limit), "--gap", str(args.gap),
               "--method", args.method]
        if args.no_cuts:
            cmd.append("--no-cuts")
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{km:>7g} {r['units']:>7,} {r['columns']:>8,} {r['rows']:>8,} "
              f"{r['compile_s']:>9.2f} {r['solve_s']:>8.1f} {r['status']:>11} "
              f"{r['gap_pct']:>7.3f} {r['core']:>6,} {r['general']:>7,} {r['peak_mb']:>8.0f}  "
              f"{r['strategy']}")


if __name__ == "__main__":
    main()
