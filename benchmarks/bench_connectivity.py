"""Benchmark connectivity penalties and the park constraints (`optimizer.model.connectivity`,
`optimizer.model.contiguity`).

Rows, each in a fresh process so each peak memory is its own:

* ``demo`` - ``scenarios/balanced.toml`` at ``--cell-km`` with a connectivity penalty on the
  neighbour matrix (``connectivity_matrix`` of a conductance of 1: each shared edge's km),
  priced at the scenario's boundary penalty per km, solved by the scenario's solver;
* ``contiguous`` / ``min_park`` - a synthetic square grid of ``--sides`` squared units
  (smooth carbon, 5% budget), max utility with `add_contiguity_constraints` or
  `add_min_park_constraints` (60% of the budget), row generation on HiGHS at gap 1% within
  `TIME_LIMIT` (out of time: rounds and cuts -1, the error as status).

Columns: ``case``, ``units``, ``pairs`` (connectivity pairs), ``rounds``/``cuts`` (row
generation), ``seconds`` (the solve), ``status``, ``peak MB`` (the row's process).

    .venv/bin/python benchmarks/bench_connectivity.py [--cell-km 10] [--sides 20,30,60]
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
#: Seconds a park-constraint row may take (row generation shares it over its rounds).
TIME_LIMIT = 120.0


def demo_row(cell_km: float) -> dict[str, object]:
    """The demo scenario with a neighbour-matrix connectivity penalty."""
    import numpy as np

    from optimizer.model.connectivity import connectivity_matrix
    from optimizer.plan.solving import solve
    from optimizer.scenario import Scenario
    from optimizer.scenario.build import solver_options
    from optimizer.scenario.overrides import apply_overrides

    sc = Scenario.load(ROOT / "scenarios" / "balanced.toml")
    sc, _ = apply_overrides(sc, [f"grid.cell_km={cell_km:g}"])
    p = sc.to_problem(sc.load_grid())
    penalty = p.boundary_penalty.penalty if p.boundary_penalty is not None else 1e-6
    m = connectivity_matrix(p.pu, np.ones(p.n_units))
    p = p.add_connectivity_penalty(penalty, m)
    t0 = time.perf_counter()
    sol = solve(p, sc.solver.backend, **solver_options(sc))
    return {"case": f"demo {cell_km:g} km", "units": p.n_units, "pairs": m.nnz // 2,
            "rounds": 0, "cuts": 0, "seconds": time.perf_counter() - t0,
            "status": sol.describe()}


def park_row(kind: str, side: int) -> dict[str, object]:
    """A synthetic square grid, max utility with a park constraint, row generation."""
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    from helpers import box_grid

    from optimizer.model.problem import problem
    from optimizer.plan.solving import solve

    n = side * side
    row, col = np.divmod(np.arange(n), side)
    carbon = 10 * (1 + np.sin(row / 5.0) * np.cos(col / 7.0)) + np.random.default_rng(0).random(n)
    pu = box_grid(side, side, features={"biomass": ("carbon_stock", carbon.round(3))})
    p = problem(pu).add_max_utility_objective(0.05 * n, weights={"biomass": 1})
    p = (p.add_contiguity_constraints() if kind == "contiguous"
         else p.add_min_park_constraints(0.6 * 0.05 * n))  # one park of 60% of the budget
    from optimizer.errors import SolverError

    t0 = time.perf_counter()
    try:
        sol = solve(p, "highs", gap=0.01, time_limit=TIME_LIMIT)
    except SolverError as exc:  # out of time before a plan met the constraint
        return {"case": kind, "units": n, "pairs": 0, "rounds": -1, "cuts": -1,
                "seconds": time.perf_counter() - t0, "status": str(exc)}
    return {"case": kind, "units": n, "pairs": 0, "rounds": sol.info["park_cut_rounds"],
            "cuts": sol.info["park_cuts"], "seconds": time.perf_counter() - t0,
            "status": sol.describe() + (f"; repaired plan: {sol.info['park_repaired']}"
                                        if "park_repaired" in sol.info else "")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-km", default="10")
    ap.add_argument("--sides", default="20,30,60")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:  # a child: one row, printed as JSON
        kind, size = args.row.split(":")
        out = demo_row(float(size)) if kind == "demo" else park_row(kind, int(size))
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    rows = [f"demo:{c}" for c in args.cell_km.split(",")]
    rows += [f"{k}:{s}" for s in args.sides.split(",") for k in ("contiguous", "min_park")]
    print(f"{'case':<14}{'units':>8}{'pairs':>9}{'rounds':>8}{'cuts':>7}{'seconds':>9}"
          f"{'peak MB':>9}  status")
    for r in rows:
        done = subprocess.run([sys.executable, __file__, "--row", r], capture_output=True,
                              text=True, check=False, cwd=ROOT)
        if done.returncode:
            print(f"{r}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        o = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{o['case']:<14}{o['units']:>8,}{o['pairs']:>9,}{o['rounds']:>8}{o['cuts']:>7}"
              f"{o['seconds']:>9.2f}{o['peak_mb']:>9.0f}  {o['status']}", flush=True)


if __name__ == "__main__":
    main()
