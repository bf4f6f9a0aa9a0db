"""Benchmark small exact problems: the real datasets and a boundary grid solved at gap 0.

The problems of issue 23 item 5, where prioritizr + HiGHS is the yardstick:

* ``washington`` - 10,757 raster units, 396 bird features, min set with 30% targets,
  existing protected areas locked in, without the urban lock-out (`bench_real.py`'s
  ``washington:min_set``);
* ``salt-spring`` - 19,794 raster units, 4 features, min set with 17% targets
  (`bench_real.py`'s ``salt-spring``);
* ``tasmania`` - the Tasmanian Marxan project (``tasmania-marxan``, 1,751 units, 17
  features at prop 0.3) at BLM 0.0005, the BLM of prioritizr's tutorial
  (`bench_real.py`'s ``tasmania-marxan:blm0.0005``);
* ``grid20`` - the 20 x 20 box grid of the tests (``tests/helpers.py``
  ``box_grid(20, 20, seed=5, n_species=8)``), min set with 30% targets and a boundary
  penalty of 0.3.

For each row and solver (``highs``: the HiGHS strategy; ``auto``: the default), the
seconds of the whole `optimizer.plan.results.solve` at ``--gap`` (default 0) under
``--time-limit`` (default 120 s), and from the HiGHS run's ``info``: LP seconds, the
rounded plan's gap to the LP bound, the 0/1 columns the LP's reduced costs prove fixed
(``fixable``, `optimizer.solvers.fixing`) and those the MIP ran without (``fixed``: all
of them, or none below `FIX_SHARE`), MIP seconds; then the objective, the proven gap, the status
and how many MIP answers our checks refused (``checks``, ``info["mip_checks"]``). Each row runs in a child process of its own (peak MB is the row's); the
problem is built and compiled once, then the solvers alternate (highs, auto, highs,
auto, ...) ``--repeat`` times (default 3) and every time is the median.

``--lp`` prints the LP table instead: the LP relaxation alone (``highspy`` in this
process, the compiled model as `optimizer.solvers.highs` passes it), by dual simplex
and by the interior-point method with crossover, presolve off and on, medians of
``--repeat``, with the optimal objective of each (they must agree). `lp_options`'
docstring table comes from it.

    .venv/bin/python benchmarks/bench_exact.py
    .venv/bin/python benchmarks/bench_exact.py --rows salt-spring,grid20 --repeat 5
    .venv/bin/python benchmarks/bench_exact.py --lp

The data folder is tests/helpers.py's `shared_data()`: $CARBONPARK_SHARED_DATA, else
../shared/data (rows without their data are skipped with a note).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's optimizer, tests/helpers.py
from helpers import box_grid, shared_data  # noqa: E402 (the one place that finds the real data)

DATA = shared_data()
ROWS = ("washington", "salt-spring", "tasmania", "grid20")
SOLVERS = ("highs", "auto")
#: The LP configurations of ``--lp``: label -> HiGHS options.
LP_CONFIGS: dict[str, dict[str, Any]] = {
    "dual simplex": {"solver": "simplex", "simplex_strategy": 1, "presolve": "off"},
    "dual simplex, presolve": {"solver": "simplex", "simplex_strategy": 1, "presolve": "on"},
    "IPM + crossover": {"solver": "ipm", "run_crossover": "on", "presolve": "off"},
    "IPM + crossover, presolve": {"solver": "ipm", "run_crossover": "on", "presolve": "on"},
}


def build(row: str) -> Any:
    """The row's Problem (files read, planning units and problem built)."""
    from optimizer.model.problem import problem

    if row == "grid20":
        pu = box_grid(20, 20, seed=5, n_species=8)
        return (problem(pu).add_min_set_objective().add_relative_targets(0.3)
                .add_boundary_penalty(0.3))
    if row == "tasmania":
        from optimizer.io.marxan import read_marxan

        return read_marxan(DATA / "tasmania-marxan" / "input.dat").to_problem(blm=0.0005)
    from optimizer.io.prioritizr import prioritizr_problem, raster_planning_units

    if row == "washington":
        d = DATA / "washington"
        pu = raster_planning_units(
            d / "wa_pu.tif", d / "wa_features.tif", locked_in=d / "wa_locked_in.tif",
            extra={"carbon": (d / "wa_carbon.tif", "carbon_stock", "MgC/ha")},
            feature_names=d / "wa_features_names.txt")
        return (prioritizr_problem(pu).add_min_set_objective()
                .add_relative_targets({"biodiversity": 0.3}))
    if row == "salt-spring":
        d = DATA / "salt-spring"
        pu = raster_planning_units(d / "salt_pu.tif", d / "salt_features.tif",
                                   extra={"con": d / "salt_con.tif"})
        return prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.17)
    raise SystemExit(f"unknown row {row!r}; rows: {', '.join(ROWS)}")


def _median(values: list[float]) -> float:
    return round(float(np.median(values)), 3) if values else float("nan")


def _highs_info(info: dict[str, Any]) -> dict[str, Any]:
    """The HiGHS run's stage figures from a Solution's info (auto's holds its HiGHS run's)."""
    return {k: info.get(k, float("nan"))
            for k in ("lp_seconds", "lp_round_gap", "fixable_columns", "fixed_columns",
                      "mip_seconds")}


def run_row(row: str, time_limit: float, gap: float, repeat: int) -> list[dict[str, Any]]:
    """One row in this process: the problem built and compiled once, the solvers alternated."""
    import highspy

    from optimizer.model.compile import compile
    from optimizer.plan.results import solve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CRS and nodata notes are expected on these data
        p = build(row)
    model = compile(p)
    version = (f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}."
               f"{highspy.HIGHS_VERSION_PATCH}")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SOLVERS}
    for _ in range(repeat):
        for solver in SOLVERS:
            t0 = time.perf_counter()
            try:
                sol = solve(p, solver, model=model, time_limit=time_limit, gap=gap)
            except Exception as exc:  # a benchmark reports failures as rows
                runs[solver].append({"error": f"{type(exc).__name__}: {exc}"[:160]})
                continue
            seconds = time.perf_counter() - t0
            runs[solver].append({"seconds": seconds, "objective": sol.objective, "gap": sol.gap,
                                 "status": sol.status.value, "strategy": sol.strategy,
                                 "checks": len(sol.info.get("mip_checks", [])),
                                 **_highs_info(sol.info)})
    out = []
    for solver, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        res: dict[str, Any] = {"row": row, "solver": solver, "highspy": version,
                               "units": p.n_units, "cols": model.n_cols, "runs": len(ok)}
        if not ok:
            res["status"] = rs[0]["error"] if rs else "no run"
        else:
            last = ok[-1]
            res.update(solve_s=_median([r["seconds"] for r in ok]),
                       lp_s=_median([r["lp_seconds"] for r in ok if np.isfinite(r["lp_seconds"])]),
                       round_gap=last["lp_round_gap"], fixable=last["fixable_columns"],
                       fixed=last["fixed_columns"],
                       mip_s=_median([r["mip_seconds"] for r in ok
                                      if np.isfinite(r["mip_seconds"])]),
                       objective=last["objective"], gap=max(r["gap"] for r in ok),
                       status="/".join(sorted({r["status"] for r in ok})),
                       strategy=last["strategy"], checks=sum(r["checks"] for r in ok))
        out.append(res)
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for res in out:
        res["peak_mb"] = peak
    return out


def run_lp(row: str, repeat: int) -> list[dict[str, Any]]:
    """The LP relaxation of one row by each of `LP_CONFIGS`, alternated, in this process."""
    import highspy

    from optimizer.model.compile import compile
    from optimizer.solvers.highs_process import new_highs, pass_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = compile(build(row))
    times: dict[str, list[float]] = {k: [] for k in LP_CONFIGS}
    objective: dict[str, float] = {}
    for _ in range(repeat):
        for label, opts in LP_CONFIGS.items():
            h = new_highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("time_limit", 120.0)
            pass_model(h, model)
            for k, v in {"solve_relaxation": True, **opts}.items():
                h.setOptionValue(k, v)
            t0 = time.perf_counter()
            h.run()
            times[label].append(time.perf_counter() - t0)
            ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            objective[label] = h.getInfo().objective_function_value if ok else float("nan")
    return [{"row": row, "cols": model.n_cols, "edge_cols": model.n_cols - model.n_x,
             "lp": label, "seconds": _median(times[label]), "objective": objective[label]}
            for label in LP_CONFIGS]


def main(argv: list[str] | None = None) -> int:
    """Run every row in a child process and print the table."""
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated (default {','.join(ROWS)})")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve (default 120)")
    ap.add_argument("--gap", type=float, default=0.0, help="relative gap (default 0)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per solver; times are medians (default 3)")
    ap.add_argument("--lp", action="store_true", help="the LP table (simplex vs IPM, presolve off/on)")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter of the child processes (e.g. another venv's; default this one)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    ap.add_argument("--row", default=None, help=argparse.SUPPRESS)  # child process
    args = ap.parse_args(argv)

    if args.row:
        res = run_lp(args.row, args.repeat) if args.lp else \
            run_row(args.row, args.time_limit, args.gap, args.repeat)
        print("ROWS " + json.dumps(res, default=float), flush=True)
        return 0
    results = []
    for row in args.rows.split(","):
        if row != "grid20" and not DATA.exists():
            print(f"{row}: no real data at {DATA}; skipped", flush=True)
            continue
        cmd = [args.python, __file__, "--row", row, "--time-limit", str(args.time_limit),
               "--gap", str(args.gap), "--repeat", str(args.repeat), *(["--lp"] if args.lp else [])]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ},
                             timeout=(args.time_limit + 60) * 2 * args.repeat + 300)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("ROWS ")]
        if out.returncode != 0 or not lines:
            tail = out.stderr.strip().splitlines()[-1:]
            results.append({"row": row, "status": f"crashed: {tail}"})
        else:
            results.extend(json.loads(lines[-1][5:]))
        print(json.dumps(results[-1], default=float), flush=True)
    load = os.getloadavg()[0]
    table = pd.DataFrame(results)
    print(f"\n{'LP relaxation' if args.lp else f'gap {args.gap:g}, time limit {args.time_limit:g} s'}; "
          f"medians of {args.repeat}; {os.cpu_count()} cores, load {load:.2f} at the end")
    with pd.option_context("display.width", 220, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
