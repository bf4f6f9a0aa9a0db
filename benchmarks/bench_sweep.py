"""Sweep throughput on the demo grid (40 km): runs per second and per-run overhead.

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py [--workers 2]``. Measures a 100-run
sweep (10 budget shares × 10 carbon weights, highs, gap 1e-3) on local processes and on
a Dask LocalCluster; the same 100 runs in cut form with a boundary penalty read from the
nested path (10 parametric solves); and the nested path's speed-up over solving 10
budgets one by one. The per-run overhead is the worker's wall time per run beyond the
solve (load the scenario, build the problem, metrics: the grid is loaded once per worker).

``--faults`` measures a sweep under faults instead, as a planner meets them, with the real
``carbonpark sweep`` command on a synthetic 80 x 80 grid whose runs take about 1 s each (HiGHS
at gap 0 with a strong boundary penalty, stopped by a 1 s time limit): the seconds from Ctrl-C
(SIGINT to the command) to its exit with 1 and 2 local workers and a Dask LocalCluster (median
of ``--repeat``), the parts kept after ``kill -9`` at ``--kill-at`` seconds, and the worker
processes left 5 s after the kill.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARES = [round(0.02 * i, 2) for i in range(1, 11)]
WEIGHTS = [round(0.1 * i, 1) for i in range(10)]


def sweep(extra: dict, shares=SHARES, weights=WEIGHTS, path: str = "auto"):  # type: ignore[no-untyped-def]
    from optimizer.studies.sweep import Sweep

    return Sweep.from_dict({"schema_version": 1, "base": "balanced.toml", "path": path,
                            "set": extra, "parameters": {"budget.share": shares,
                                                         "weights.carbon": weights}},
                           base_dir=ROOT / "scenarios")


def timed(s, **kw) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    from optimizer.studies.sweep import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        df = run_sweep(s, Path(tmp) / "out", **kw)
        return time.perf_counter() - t0, df


def slow_sweep(folder: Path, n_runs: int = 60, side: int = 80) -> Path:
    """A sweep file of ``n_runs`` runs of about 1 s each on a synthetic ``side`` x ``side`` grid."""
    import numpy as np
    import pandas as pd
    import shapely

    from optimizer import planning_units_from_arrays, write_grid

    n = side * side
    rng = np.random.default_rng(5)
    rows, cols = np.divmod(np.arange(n), side)
    boxes = shapely.box(cols * 1000.0, -(rows + 1) * 1000.0, (cols + 1) * 1000.0, -rows * 1000.0)
    amounts = {f"sp_{k}": np.where(rng.random(n) < 0.5, rng.uniform(0, 1, n), 0.0)
               for k in range(30)}
    right, down = np.flatnonzero(cols < side - 1), np.flatnonzero(rows < side - 1)
    ids = np.arange(n) + 100
    boundary = pd.DataFrame({"id1": ids[np.r_[right, down]],
                             "id2": ids[np.r_[right + 1, down + side]], "length_km": 1.0})
    pu = planning_units_from_arrays(ids, amounts, geometry=boxes, crs="EPSG:6933",
                                    boundary=boundary)
    write_grid(pu, folder / "grid")
    (folder / "base.toml").write_text(
        'schema_version = 1\nname = "slow"\n[grid]\npath = "grid"\n[budget]\nshare = 0.2\n'
        '[weights]\nbiodiversity = 1\n[penalties.boundary]\npenalty = 0.3\n'
        '[solver]\nbackend = "highs"\ngap = 0.0\ntime_limit = 1.0\n', encoding="utf-8")
    shares = ", ".join(f"{0.05 + 0.005 * i:.3f}" for i in range(n_runs))
    (folder / "sweep.toml").write_text(
        f'schema_version = 1\nbase = "base.toml"\npath = "never"\n[parameters]\n'
        f'"budget.share" = [{shares}]\n', encoding="utf-8")
    return folder / "sweep.toml"


def _start(sweep_file: Path, out: Path, workers: int, scheduler: str | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "optimizer.cli", "sweep", str(sweep_file), "--out", str(out),
           "--workers", str(workers), "--no-progress"]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    return subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _parts(out: Path) -> int:
    return len(list((out / "runs").glob("*.parquet"))) if (out / "runs").is_dir() else 0


def _alive(pids: list[int]) -> int:
    import psutil

    alive = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            alive += psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return alive


def faults(repeat: int, kill_at: float) -> None:
    """Ctrl-C and kill -9 of a real sweep: seconds to exit, parts kept, processes left."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        sweep_file = slow_sweep(Path(tmp))
        print(f"{'executor':22} {'SIGINT->exit s (median, all)':32} {'kill -9 at s':>12} "
              f"{'parts kept':>10} {'workers before':>14} {'left after 5 s':>14}")
        for label, workers, scheduler in (("1 worker (in-process)", 1, None),
                                          ("2 local workers", 2, None),
                                          ("dask LocalCluster (2)", 2, "local")):
            secs = []
            for i in range(repeat):
                out = Path(tmp) / f"int-{workers}-{scheduler}-{i}"
                proc = _start(sweep_file, out, workers, scheduler)
                while _parts(out) < 2 and proc.poll() is None:
                    time.sleep(0.05)
                t0 = time.monotonic()
                os.kill(proc.pid, signal.SIGINT)
                code = proc.wait()
                secs.append(time.monotonic() - t0)
                assert code == 130, code
            out = Path(tmp) / f"kill-{workers}-{scheduler}"
            proc = _start(sweep_file, out, workers, scheduler)
            time.sleep(kill_at)
            kids = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(5.0)
            left = _alive(kids)
            for pid in kids:  # never leave them behind, whatever was measured
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(pid).kill()
            all_secs = ", ".join(f"{s:.2f}" for s in secs)
            print(f"{label:22} {statistics.median(secs):5.2f} ({all_secs}){'':<8} "
                  f"{kill_at:12.0f} {_parts(out):10d} {len(kids):14d} {left:14d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--faults", action="store_true",
                    help="measure Ctrl-C and kill -9 of a real sweep instead of throughput")
    ap.add_argument("--repeat", type=int, default=5, help="Ctrl-C measurements per executor")
    ap.add_argument("--kill-at", type=float, default=16.0, help="seconds before kill -9")
    args = ap.parse_args()
    if args.faults:
        faults(args.repeat, args.kill_at)
        return
    highs = sweep({"solver.gap": 1e-3})
    n = len(highs.runs)
    highs.base.load_grid()
    rows = []
    for label, kw in (("local processes", {"workers": args.workers}),
                      ("dask LocalCluster", {"workers": args.workers, "scheduler": "local"}),
                      ("in-process (1 worker)", {"workers": 1})):
        secs, df = timed(highs, **kw)
        overhead = float((df["wall_s"] - df["runtime"]).mean())
        rows.append((label, n, secs, n / secs, float(df["runtime"].mean()), overhead))
    cut = {"solver.backend": "cut", "penalties.boundary.penalty": 1e-5}
    secs, df = timed(sweep(cut), workers=args.workers)
    rows.append(("nested path (cut)", n, secs, n / secs, float(df["runtime"].mean()), float("nan")))
    print(f"{'executor':24} {'runs':>5} {'seconds':>8} {'runs/s':>7} {'solve s':>8} {'overhead s':>10}")
    for r in rows:
        print(f"{r[0]:24} {r[1]:5d} {r[2]:8.2f} {r[3]:7.2f} {r[4]:8.3f} {r[5]:10.3f}")
    ten = sweep(cut, weights=[1.0])
    t_path, _ = timed(ten, workers=1)
    t_each, _ = timed(sweep(cut, weights=[1.0], path="never"), workers=1)
    print(f"10 budgets in cut form: nested path {t_path:.2f} s, one solve each {t_each:.2f} s "
          f"(x{t_each / t_path:.1f})")


if __name__ == "__main__":
    main()
