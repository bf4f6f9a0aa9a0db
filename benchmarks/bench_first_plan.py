"""Benchmark for issue 23 item 1 ("anytime"): seconds and memory of the greedy first plan.

Per size, one child process synthesises the national-style grid of `bench_solve_scale.py`
(~``--units`` 1 km cells, 20 biodiversity features, 24 regions, existing protection,
boundary table), then builds, compiles and runs `optimizer.solvers.greedy.first_plan` on:

    maxutil   max utility, budget 10 %, region "r00" capped at 1 %, existing protection,
              boundary penalty rel:0.1 (`bench_solve_scale.penalty_of`)
    minset    min set, 17 % of each of the 20 features, existing protection, boundary 1e-5

Each row prints the units, the seconds to the greedy's own checked plan (``greedy s``) and
to the first plan (``seconds``: the greedy improved by one-unit moves,
`optimizer.solvers.local_search`, completed and checked again), the peak resident size
during the call (and the resident size before it), the greedy's objective, the first plan's
(recomputed from the problem's parts, ``CHECK FAILED`` if it differs), what the moves gained
and the selected units. The issue's aim: a first plan within 0.5 s at up to 1M units.

``--marxan SIDES`` runs the same on `bench_marxan.py`'s generated Marxan grid projects (side x
side units, BLM 0 and 1) instead, and adds the best plan a cut solve finds in
``--reference-seconds`` (default 30) and how far above it each plan is.

    python benchmarks/bench_first_plan.py --units 1e5,1e6
    python benchmarks/bench_first_plan.py --marxan 100,200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _proc import emit, reset_peak, status_kb


def child(n_target: int, seed: int) -> None:
    """Time the greedy on both problem kinds at about ``n_target`` units; one row each."""
    import warnings

    warnings.simplefilter("ignore")
    from bench_solve_scale import N_SPECIES, TARGET_SHARE, penalty_of, synthesise

    from optimizer.grid.planning_units import planning_units_from_arrays
    from optimizer.model.compile import compile as compile_model
    from optimizer.model.problem import problem

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
        emit(_row(name, p, model, own, start_mb))
        model = None


def _row(name: str, p: Any, model: Any, own: bool, start_mb: float) -> dict[str, Any]:
    """Time `first_plan` on ``model`` (of problem ``p``) and check its objective."""
    from optimizer.plan.results import objective_value
    from optimizer.solvers.greedy import first_plan

    t = time.perf_counter()
    plan = first_plan(model)
    seconds = time.perf_counter() - t
    peak_mb = status_kb("VmHWM") / 1024 if own else float("nan")
    row: dict[str, Any] = {"kind": name, "units": int(p.n_units), "seconds": seconds,
                           "start_mb": start_mb, "peak_mb": peak_mb}
    if plan is None:
        row["check"] = "NO PLAN"
        return row
    x = model.unit_x(plan.values)
    recomputed = objective_value(p, x)
    ok = abs(recomputed - plan.objective) <= 1e-6 * max(1.0, abs(plan.objective))
    greedy_s, greedy_obj = plan.steps[0]
    row.update(objective=plan.objective, selected=int(x.sum()), greedy_s=greedy_s,
               greedy_objective=greedy_obj,
               moves=abs(plan.objective - greedy_obj) / max(abs(greedy_obj), 1e-300),
               check="ok" if ok else f"CHECK FAILED: recomputed {recomputed:.10g}")
    return row


def marxan_child(side: int, reference_seconds: float) -> None:
    """`first_plan` on bench_marxan's side x side project at BLM 0 and 1, beside a cut solve."""
    import tempfile
    import warnings

    warnings.simplefilter("ignore")
    from bench_marxan import grid_project, write_project

    from optimizer.io.marxan import read_marxan
    from optimizer.model.compile import compile as compile_model
    from optimizer.plan.results import solve

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_project(grid_project(side), Path(tmp))
        for blm, path in sorted(paths.items()):
            p = read_marxan(path).to_problem()
            model = compile_model(p)
            own = reset_peak()
            row = _row(f"blm {blm:g}", p, model, own, status_kb("VmRSS") / 1024)
            best = solve(p, "cut", model=model, time_limit=reference_seconds, gap=1e-4)
            row["reference"] = best.objective
            emit(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="1e5,1e6", help="comma-separated sizes (units)")
    parser.add_argument("--marxan", help="comma-separated sides of bench_marxan.py's projects "
                                         "(instead of --units)")
    parser.add_argument("--reference-seconds", type=float, default=30.0,
                        help="time limit of the cut solve the --marxan plans are compared to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--marxan-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child), args.seed)
        return
    if args.marxan_child:
        marxan_child(args.marxan_child, args.reference_seconds)
        return
    print(f"{'kind':8} {'units':>10} {'greedy s':>8} {'seconds':>8} {'peak MB':>8} "
          f"{'start MB':>9} {'selected':>9} {'greedy obj':>14} {'objective':>14} {'moves':>7}"
          + (f" {'reference':>14} {'greedy +':>8} {'first +':>8}" if args.marxan else "")
          + "  check")
    runs = ([["--marxan-child", s, "--reference-seconds", str(args.reference_seconds)]
             for s in args.marxan.split(",")] if args.marxan else
            [["--child", str(int(float(s))), "--seed", str(args.seed)]
             for s in args.units.split(",")])
    for extra in runs:
        out = subprocess.run([sys.executable, str(Path(__file__)), *extra],
                             capture_output=True, text=True)
        if out.returncode:
            print(f"{' '.join(extra)}: child failed\n{out.stderr[-2000:]}")
            continue
        for line in out.stdout.splitlines():
            if line.startswith("ROW "):
                print(_format(json.loads(line[4:]), bool(args.marxan)))


def _format(r: dict[str, Any], reference: bool) -> str:
    """One row of the table."""
    nan = float("nan")
    text = (f"{r['kind']:8} {r['units']:>10,} {r.get('greedy_s', nan):>8.3f} {r['seconds']:>8.3f} "
            f"{r['peak_mb']:>8.0f} {r['start_mb']:>9.0f} {r.get('selected', 0):>9,} "
            f"{r.get('greedy_objective', nan):>14.6g} {r.get('objective', nan):>14.6g} "
            f"{r.get('moves', nan):>7.2%}")
    if reference:
        ref = r.get("reference", nan)
        text += (f" {ref:>14.6g} {r.get('greedy_objective', nan) / ref - 1:>8.2%} "
                 f"{r.get('objective', nan) / ref - 1:>8.2%}")
    return f"{text}  {r['check']}"


if __name__ == "__main__":
    main()
