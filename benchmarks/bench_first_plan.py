"""Benchmark for issue 23 item 1 ("anytime"): seconds and memory of the greedy first plan.

Per size, one child process synthesises the national-style grid of `bench_solve_scale.py`
(~``--units`` 1 km cells, 20 biodiversity features, 24 regions, existing protection,
boundary table), then builds, compiles and runs `optimizer.solvers.greedy.first_plan` on:

    maxutil   max utility, budget 10 %, region "r00" capped at 1 %, existing protection,
              boundary penalty rel:0.1 (`bench_solve_scale.penalty_of`)
    minset    min set, 17 % of each of the 20 features, existing protection, boundary 1e-5

Each row prints the units, the greedy's seconds (scoring, completion and the row check),
the peak resident size during the greedy (and the resident size before it), the plan's
objective (recomputed from the problem's parts, ``CHECK FAILED`` if it differs) and the
selected units. The issue's aim: a first plan within 0.5 s at up to 1M units.

    python benchmarks/bench_first_plan.py --units 1e5,1e6
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _proc import emit, reset_peak, status_kb


def child(n_target: int, seed: int) -> None:
    """Time the greedy on both problem kinds at about ``n_target`` units; one row each."""
    import warnings

    warnings.simplefilter("ignore")
    from bench_solve_scale import N_SPECIES, TARGET_SHARE, penalty_of, synthesise

    from optimizer.grid.planning_units import planning_units_from_arrays
    from optimizer.model.compile import compile as compile_model
    from optimizer.model.problem import problem
    from optimizer.plan.results import objective_value
    from optimizer.solvers.greedy import first_plan

    a = synthesise(n_target, seed)
    pu = planning_units_from_arrays(
        a["pu_id"], a["amounts"], area_km2=a["area_km2"], boundary=a["boundary"],
        pa_fraction=a["pa_fraction"], region=a["region"], extra=a["extra"],
        feature_info=a["feature_info"], kind="synthetic")
    a = None
    base = (problem(pu).add_max_utility_objective(budget_share=0.1).add_existing_protection()
            .add_area_budget(region=str(pu.units["region"].iloc[0]), max_share=0.01))
    maxutil = base.add_boundary_penalty(penalty_of("rel:0.1", base))
    feats = [f"sp_{k:02d}" for k in range(N_SPECIES)]
    minset = (problem(pu).add_min_set_objective()
              .add_relative_targets({f: TARGET_SHARE for f in feats})
              .add_existing_protection().add_boundary_penalty(1e-5))
    for name, p in (("maxutil", maxutil), ("minset", minset)):
        model = compile_model(p)
        own = reset_peak()
        start_mb = status_kb("VmRSS") / 1024
        t = time.perf_counter()
        plan = first_plan(model)
        seconds = time.perf_counter() - t
        peak_mb = status_kb("VmHWM") / 1024 if own else float("nan")
        row: dict[str, Any] = {"kind": name, "units": int(p.n_units), "seconds": seconds,
                               "start_mb": start_mb, "peak_mb": peak_mb}
        if plan is None:
            row["check"] = "NO PLAN"
        else:
            x = model.unit_x(plan.values)
            recomputed = objective_value(p, x)
            ok = abs(recomputed - plan.objective) <= 1e-6 * max(1.0, abs(plan.objective))
            row.update(objective=plan.objective, selected=int(x.sum()),
                       check="ok" if ok else f"CHECK FAILED: recomputed {recomputed:.10g}")
        emit(row)
        model = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="1e5,1e6", help="comma-separated sizes (units)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child), args.seed)
        return
    print(f"{'kind':8} {'units':>10} {'seconds':>8} {'peak MB':>8} {'start MB':>9} "
          f"{'selected':>9} {'objective':>14}  check")
    for n in (int(float(s)) for s in args.units.split(",")):
        out = subprocess.run([sys.executable, str(Path(__file__)), "--child", str(n),
                              "--seed", str(args.seed)], capture_output=True, text=True)
        if out.returncode:
            print(f"size {n:,}: child failed\n{out.stderr[-2000:]}")
            continue
        for line in out.stdout.splitlines():
            if not line.startswith("ROW "):
                continue
            r = json.loads(line[4:])
            print(f"{r['kind']:8} {r['units']:>10,} {r['seconds']:>8.3f} {r['peak_mb']:>8.0f} "
                  f"{r['start_mb']:>9.0f} {r.get('selected', 0):>9,} "
                  f"{r.get('objective', np.nan):>14.6g}  {r['check']}")


if __name__ == "__main__":
    main()
