"""Benchmark the proven gap of boundary problems, this checkout beside an older one.

Instances (issue 23 item 4):

* ``marxan<N>`` - `bench_marxan.py`'s generated Marxan project of N units at BLM 1 (min
  set, 20 features with Marxan's penalties, 10% locked in), solved by the cut solver
  (``CutSolver``, what ``--solver auto`` picks);
* ``strong10000`` - the same 10,000-unit project at BLM 4 (a strong penalty);
* ``demo c=<C>`` - the app's plan (`optimizer.studies.interactive.PlanSession`, the
  nested path) on the demo grid (`optimizer.datasets.demo_grid`, 1,488 units) at 10%
  new land and compactness C; its gap is the app's (on the part the plan can change).

Per instance and checkout, each run in a fresh child process (``PYTHONPATH`` the
checkout, so ``--old`` runs the code of another clone with this venv):

* ``gap@T`` - the proven relative gap of a solve with ``time_limit`` T (``--limits``,
  default 1, 5, 30 s; gap asked 0.01%), and the solve's seconds;
* ``to 1% s`` / ``to 0.25% s`` - a solve asked for that gap with ``time_limit`` ``--cap``:
  its seconds when it proved it, ``>cap`` when not.

The old and the new checkout run alternately, instance by instance, so both see the
same load. Times are the solve's own (the problem build is not timed).

    .venv/bin/python benchmarks/bench_bounds.py --old /work/h_bounds_old
    .venv/bin/python benchmarks/bench_bounds.py --instances demo --limits 1
    .venv/bin/python benchmarks/bench_bounds.py --instances marxan2500,strong10000 --cap 30
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ("marxan2500", "marxan10000", "marxan40000", "strong10000",
             "demo c=0.25", "demo c=0.5", "demo c=0.75", "demo c=1")

#: The child: builds one instance and prints one JSON line of its solve.
CHILD = r"""
import json, sys, time, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
name, limit, gap, folder = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if name.startswith("demo"):
    from optimizer.datasets import demo_grid
    from optimizer.studies.interactive import PlanSession, PlanSettings
    session = PlanSession(demo_grid(), gap=gap, time_limit=limit)
    settings = PlanSettings(budget_share=0.1, compactness=float(name.split("=")[1]))
    t = time.perf_counter()
    r = session.solve(settings)
    out = {"seconds": time.perf_counter() - t, "gap": r.gap, "objective": r.objective}
else:
    sys.path.insert(0, sys.argv[5])
    import bench_marxan as bm
    from optimizer.io.marxan import read_marxan
    from optimizer.model.compile import compile
    from optimizer.solvers import CutSolver
    units = int(name.removeprefix("marxan").removeprefix("strong"))
    blm = 4.0 if name.startswith("strong") else 1.0
    path = Path(folder) / f"grid{units}" / f"input_blm{blm:g}.dat"
    if not path.exists():
        bm.write_project(bm.grid_project(bm._side(units)), path.parent, (blm,))
    model = compile(read_marxan(path).to_problem(blm))
    t = time.perf_counter()
    sol = CutSolver(gap=gap, time_limit=limit).solve(model)
    out = {"seconds": time.perf_counter() - t, "gap": sol.gap, "objective": sol.objective}
print("RESULT " + json.dumps(out))
"""


def run(checkout: Path, name: str, limit: float, gap: float, folder: Path) -> dict[str, Any]:
    """One solve of instance ``name`` with the code of ``checkout``, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.run([sys.executable, "-c", CHILD, name, f"{limit:g}", f"{gap:g}",
                           str(folder), str(ROOT / "benchmarks")], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=limit * 4 + 600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        tail = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}")
        return {"error": tail.splitlines()[-1][:200]}
    return json.loads(line.removeprefix("RESULT "))


def _gap(res: dict[str, Any]) -> str:
    if "error" in res:
        return "error"
    g = res["gap"]
    return "no bound" if g != g else "0" if g == 0 else f"{g:.3%}"


def measure(checkout: Path, name: str, args: argparse.Namespace, folder: Path,
            errors: list[str]) -> dict[str, Any]:
    """Every run of one instance with one checkout: its table row."""
    row: dict[str, Any] = {}
    for t in args.limits:
        res = run(checkout, name, t, 1e-4, folder)
        if "error" in res:
            errors.append(f"{name} {checkout}: {res['error']}")
        row[f"gap@{t:g}s"] = _gap(res)
        row[f"s@{t:g}s"] = f"{res['seconds']:.2f}" if "seconds" in res else "-"
    for g in (0.01, 0.0025):
        res = run(checkout, name, args.cap, g, folder)
        done = "gap" in res and res["gap"] <= g + 1e-12
        row[f"to {g:.2%} s".replace(".00%", "%")] = (f"{res['seconds']:.2f}" if done
                                                     else f">{args.cap:g}")
    return row


def main(argv: list[str] | None = None) -> int:
    """Run every instance with the new (and ``--old``) checkout alternately; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, default=None,
                    help="a second checkout (e.g. the commit before) run alternately with this one")
    ap.add_argument("--instances", default=",".join(INSTANCES),
                    help="comma-separated: marxan<N>, strong<N>, 'demo c=<C>' or 'demo' (all four "
                         "compactness levels); default every instance")
    ap.add_argument("--limits", default="1,5,30", help="time limits of the gap@T runs, s")
    ap.add_argument("--cap", type=float, default=30.0,
                    help="time limit of the to-1%% and to-0.25%% runs, s (default 30)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = ap.parse_args(argv)
    names: list[str] = []
    for part in (p.strip() for p in args.instances.split(",") if p.strip()):
        names += [n for n in INSTANCES if n.startswith("demo")] if part == "demo" else [part]
    args.limits = [float(v) for v in args.limits.split(",") if v.strip()]
    if not args.limits or any(not (v > 0 and math.isfinite(v)) for v in args.limits):
        raise SystemExit(f"--limits: positive seconds expected; got {args.limits}")
    checkouts = [("new", ROOT)] + ([("old", args.old.resolve())] if args.old else [])
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; checkouts: "
          + ", ".join(f"{k} {p}" for k, p in checkouts), flush=True)
    rows, errors = [], []
    with tempfile.TemporaryDirectory(prefix="bench_bounds_") as tmp:
        for k, name in enumerate(names):  # alternate which checkout runs first
            for tag, path in (checkouts if k % 2 == 0 else checkouts[::-1]):
                t0 = time.perf_counter()
                row = {"instance": name, "code": tag, **measure(path, name, args, Path(tmp),
                                                                errors)}
                rows.append(row)
                print("  " + "  ".join(f"{k} {v}" for k, v in row.items())
                      + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    table = pd.DataFrame(rows).sort_values(["instance", "code"], kind="stable")
    print(f"\nproven gap of boundary problems (load {os.getloadavg()[0]:.1f}); gap@T: solve "
          "with time_limit T; s@T: its seconds; to 1%/0.25% s: a solve asked for that gap")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.to_string(index=False))
    for e in errors:
        print(f"error: {e}")
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
