"""Benchmark loading and solving the real prioritizr and Marxan datasets in ../shared/data.

The data folder is tests/helpers.py's `shared_data()`: $CARBONPARK_SHARED_DATA, else ../shared/data.

Rows (dataset / scenario):

* ``tasmania`` - 1,130 polygon units, 33 raster features (coverage-weighted sums),
  min set with 17% targets and the locked_in / locked_out columns;
* ``washington`` - 10,757 raster units at 4 km, 396 bird features: min set with 30%
  targets without the urban lock-out (with it the problem is infeasible), and max
  utility (carbon 1, biodiversity 1) under a budget of 10% of the area with existing
  protected areas locked in and urban cells locked out;
* ``salt-spring`` - 19,794 raster units at 100 m, 4 features, min set with 17% targets;
* ``tasmania-marxan`` (BLM 0 and 0.0005) and ``tasmania-marxan-abs`` (BLM 0) - Marxan
  projects read by `optimizer.io.marxan` (rows skipped with a note if it is absent).

Columns: units, features, build s (read the files and build the planning units and the
problem), solve s (`optimizer.plan.results.solve`, HiGHS), objective, proven gap, status
and peak MB (the row's own process). Each row runs in a child process; times are the
median of ``--repeats`` runs (default 3), except that a row whose first run takes more
than ``--repeat-below`` seconds (default 30) runs once; the ``runs`` column says how many.

    .venv/bin/python benchmarks/bench_real.py --gap 1e-4 --time-limit 120
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from helpers import shared_data  # noqa: E402 (the one place that finds the real data)

DATA = shared_data()  # $CARBONPARK_SHARED_DATA, else ../shared/data

ROWS = ("tasmania", "washington:min_set", "washington:max_utility", "salt-spring",
        "tasmania-marxan:blm0", "tasmania-marxan:blm0.0005", "tasmania-marxan-abs")


def _tasmania() -> Any:
    from optimizer.io.prioritizr import polygon_planning_units, prioritizr_problem

    d = DATA / "tasmania"
    pu = polygon_planning_units(d / "tas_pu.gpkg", d / "tas_features.tif", id_column="id")
    return prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.17)


def _washington(scenario: str) -> Any:
    from optimizer.io.prioritizr import prioritizr_problem, raster_planning_units

    d = DATA / "washington"
    pu = raster_planning_units(
        d / "wa_pu.tif", d / "wa_features.tif", locked_in=d / "wa_locked_in.tif",
        locked_out=d / "wa_locked_out.tif" if scenario == "max_utility" else None,
        extra={"carbon": (d / "wa_carbon.tif", "carbon_stock", "MgC/ha")},
        feature_names=d / "wa_features_names.txt")
    p = prioritizr_problem(pu)
    if scenario == "min_set":
        return p.add_min_set_objective().add_relative_targets({"biodiversity": 0.3})
    return p.add_max_utility_objective(budget_share=0.1, weights={"carbon": 1, "biodiversity": 1})


def _salt_spring() -> Any:
    from optimizer.io.prioritizr import prioritizr_problem, raster_planning_units

    d = DATA / "salt-spring"
    pu = raster_planning_units(d / "salt_pu.tif", d / "salt_features.tif",
                               extra={"con": d / "salt_con.tif"})
    return prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.17)


def _marxan(folder: str, blm: float | None) -> Any:
    from optimizer.io.marxan import read_marxan

    return read_marxan(DATA / folder / "input.dat").to_problem(blm=blm)


def builder(row: str) -> Callable[[], Any]:
    """The function that reads a row's files and returns its Problem."""
    dataset, _, scenario = row.partition(":")
    if dataset == "tasmania":
        return _tasmania
    if dataset == "washington":
        return lambda: _washington(scenario)
    if dataset == "salt-spring":
        return _salt_spring
    if dataset == "tasmania-marxan":
        return lambda: _marxan("tasmania-marxan", float(scenario.removeprefix("blm")))
    if dataset == "tasmania-marxan-abs":
        return lambda: _marxan("tasmania-marxan-abs", 0.0)
    raise SystemExit(f"unknown row {row!r}; rows: {', '.join(ROWS)}")


def run_row(row: str, time_limit: float, gap: float, repeats: int, repeat_below: float) -> dict:
    """One benchmark row, in this process: build and solve up to ``repeats`` times."""
    from optimizer.plan.results import solve

    dataset, _, scenario = row.partition(":")
    out: dict[str, Any] = {"dataset": dataset, "scenario": scenario or "min_set"}
    if dataset.startswith("tasmania-marxan"):
        try:
            import optimizer.io.marxan  # noqa: F401
        except ImportError:
            out["status"] = "skipped: optimizer.io.marxan is not there yet"
            return out
    build_s, solve_s = [], []
    sol = p = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CRS and nodata notes are expected on these data
            p = builder(row)()
        build_s.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        try:
            sol = solve(p, time_limit=time_limit, gap=gap)
        except Exception as exc:  # a benchmark reports failures as rows
            out["status"] = f"no solution: {type(exc).__name__}: {exc}"[:160]
            break
        solve_s.append(time.perf_counter() - t1)
        if build_s[0] + solve_s[0] > repeat_below:
            break
    assert p is not None
    feats = p.pu.features
    out.update(units=p.n_units, features=len(feats),
               runs=len(build_s), build_s=round(float(np.median(build_s)), 2))
    if sol is not None and solve_s:
        out.update(solve_s=round(float(np.median(solve_s)), 2), objective=sol.objective, gap=sol.gap,
                   status=sol.status.value, strategy=sol.strategy)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every row in a child process and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows (default {','.join(ROWS)})")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per solve (default 120)")
    ap.add_argument("--gap", type=float, default=1e-4, help="relative gap (default 0.01%%)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per row; times are medians (default 3)")
    ap.add_argument("--repeat-below", type=float, default=30.0,
                    help="repeat a row only if its first run takes fewer seconds (default 30)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    ap.add_argument("--row", default=None, help=argparse.SUPPRESS)  # child process
    args = ap.parse_args(argv)

    if args.row:
        print(json.dumps(run_row(args.row, args.time_limit, args.gap, args.repeats, args.repeat_below),
                         default=float))
        return 0
    if not DATA.exists():
        print(f"no real data at {DATA}; nothing to benchmark")
        return 0
    rows = []
    for row in args.rows.split(","):
        cmd = [sys.executable, __file__, "--row", row, "--time-limit", str(args.time_limit),
               "--gap", str(args.gap), "--repeats", str(args.repeats),
               "--repeat-below", str(args.repeat_below)]
        started = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=(args.time_limit + 120) * args.repeats + 600)
        if out.returncode != 0:
            dataset, _, scenario = row.partition(":")
            res = {"dataset": dataset, "scenario": scenario,
                   "status": f"crashed: {out.stderr.strip().splitlines()[-1:]}"}
        else:
            res = json.loads(out.stdout.strip().splitlines()[-1])
        res["wall_s"] = round(time.perf_counter() - started, 1)
        rows.append(res)
        print(_fmt(res), flush=True)
    table = pd.DataFrame(rows)
    cols = ["dataset", "scenario", "units", "features", "runs", "build_s", "solve_s", "objective",
            "gap", "status", "peak_mb", "strategy", "wall_s"]
    table = table[[c for c in cols if c in table]]
    print(f"\nHiGHS, gap {args.gap:g}, time limit {args.time_limit:g} s; times are medians of "
          "'runs' runs")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


def _fmt(row: dict) -> str:
    return (f"{row.get('dataset')!s:<20} {row.get('scenario')!s:<12} units {row.get('units')!s:>6} "
            f"features {row.get('features')!s:>4} build {row.get('build_s')!s:>6}s "
            f"solve {row.get('solve_s')!s:>7}s obj {row.get('objective', float('nan')):.8g} "
            f"gap {row.get('gap', float('nan')):.2e} {row.get('status')}")


if __name__ == "__main__":
    raise SystemExit(main())
