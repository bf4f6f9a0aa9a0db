"""Benchmark how well the solvers keep a time limit and stop on Ctrl-C (the timings the tests no longer assert).

The problem is the tests' hard one: ``box_grid(30, 30, seed=1, n_species=10)``, min set
with 30% targets and a boundary penalty of 0.3, at gap 0 (minutes to prove, so every run
ends on its limit or on Ctrl-C). For each solver (highs, cut, auto) and time limit, one
row: the limit asked, seconds taken by `solve` (median of 3), the overshoot (median
seconds past the limit), status, and peak memory (MB, the row's own process). Then the
seconds from SIGINT to `solve` returning (SIGINT 1.5 s into a 120 s solve; median of 3),
and the seconds to compile a 300 x 300 grid (90,000 units, as in
tests/test_compile.py::test_compile_is_vectorised_on_a_large_grid; median of 3).

    .venv/bin/python benchmarks/bench_limits.py [--limits 1,2] [--repeat 3]

Every row runs in a process of its own (so memory is its own and a Ctrl-C hits only it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's optimizer, and tests/helpers.py
SOLVERS = ("highs", "cut", "auto")
INTERRUPT_AFTER = 1.5


def _hard_problem():
    from helpers import box_grid

    from optimizer.model.problem import problem

    pu = box_grid(30, 30, seed=1, n_species=10)
    return (problem(pu).add_min_set_objective().add_relative_targets(0.3)
            .add_boundary_penalty(0.3))


def _peak_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def row_limit(solver: str, limit: float) -> dict:
    """One solve of the hard problem with ``limit`` seconds (in this process)."""
    import time

    from optimizer.errors import SolverError
    from optimizer.plan.results import solve

    p = _hard_problem()
    started = time.perf_counter()
    try:
        sol = solve(p, solver, gap=0.0, time_limit=limit)
    except SolverError:  # no plan within the limit (a loaded machine, a short limit)
        took = time.perf_counter() - started
        return {"seconds": took, "runtime": took, "status": "no plan", "peak_mb": _peak_mb()}
    took = time.perf_counter() - started
    return {"seconds": took, "runtime": sol.runtime, "status": sol.status.value, "peak_mb": _peak_mb()}


def row_interrupt(solver: str) -> dict:
    """Seconds from SIGINT (1.5 s in) to `solve` returning, for a 120 s solve."""
    import os
    import signal
    import threading
    import time

    from optimizer.plan.results import solve

    p = _hard_problem()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal
    sent: list[float] = []

    def interrupt() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(INTERRUPT_AFTER, interrupt).start()
    sol = solve(p, solver, gap=0.0, time_limit=120)
    returned = time.perf_counter()
    return {"stop_seconds": returned - sent[0], "status": sol.status.value, "peak_mb": _peak_mb()}


def row_compile() -> dict:
    """Seconds to compile the 300 x 300 grid of test_compile_is_vectorised_on_a_large_grid."""
    import time

    import numpy as np
    from helpers import box_grid

    from optimizer.model.compile import compile
    from optimizer.model.problem import problem

    n_side = 300
    rng = np.random.default_rng(0)
    feats = {f"sp_{k}": ("biodiversity", rng.random(n_side * n_side)) for k in range(5)}
    pu = box_grid(n_side, n_side, features=feats)
    p = (problem(pu).add_min_set_objective().add_relative_targets(0.2)
         .add_boundary_penalty(0.1).add_locked_in(mask=rng.random(n_side * n_side) < 0.1))
    started = time.perf_counter()
    compile(p)
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _in_child(*args: str) -> dict:
    run = subprocess.run([sys.executable, __file__, "--row", *args], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    if run.returncode != 0:
        raise SystemExit(f"row {args} failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limits", default="1,2", help="time limits in seconds, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--row", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        kind, *rest = args.row
        out = (row_limit(rest[0], float(rest[1])) if kind == "limit"
               else row_interrupt(rest[0]) if kind == "interrupt" else row_compile())
        print(json.dumps(out))
        return

    print(f"time limits: 30x30 min set + boundary 0.3, gap 0 (median of {args.repeat})")
    print(f"{'solver':<7} {'limit s':>7} {'took s':>7} {'over s':>7} {'runtime s':>9} "
          f"{'peak MB':>8}  status")
    for limit in (float(x) for x in args.limits.split(",")):
        for solver in SOLVERS:
            rows = [_in_child("limit", solver, str(limit)) for _ in range(args.repeat)]
            took = _median([r["seconds"] for r in rows])
            print(f"{solver:<7} {limit:>7.1f} {took:>7.2f} {took - limit:>+7.2f} "
                  f"{_median([r['runtime'] for r in rows]):>9.2f} "
                  f"{max(r['peak_mb'] for r in rows):>8.0f}  "
                  f"{'/'.join(sorted({r['status'] for r in rows}))}")
    print(f"\nCtrl-C: SIGINT {INTERRUPT_AFTER} s into a 120 s solve (median of {args.repeat})")
    print(f"{'solver':<7} {'SIGINT->return s':>16} {'peak MB':>8}  status")
    for solver in SOLVERS:
        rows = [_in_child("interrupt", solver) for _ in range(args.repeat)]
        print(f"{solver:<7} {_median([r['stop_seconds'] for r in rows]):>16.2f} "
              f"{max(r['peak_mb'] for r in rows):>8.0f}  "
              f"{'/'.join(sorted({r['status'] for r in rows}))}")
    rows = [_in_child("compile") for _ in range(args.repeat)]
    print(f"\ncompile 300x300 (90,000 units, boundary, locks): "
          f"{_median([r['seconds'] for r in rows]):.2f} s (median of {args.repeat}), "
          f"peak {max(r['peak_mb'] for r in rows):.0f} MB")


if __name__ == "__main__":
    main()
