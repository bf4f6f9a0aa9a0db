"""Benchmark ``carbonpark marxan`` on generated Marxan grid projects, beside Marxan itself.

Each instance is a Marxan project on an N x N grid of square units (side 1, so a shared
edge has boundary length 1 and a unit on the grid's rim has an exposed self-boundary of 1
per open side), with 20 spatially autocorrelated features (Gaussian-smoothed noise,
thresholded so each covers about 30% of the grid), autocorrelated costs (mean about 1.1),
10% of the units locked in (status 2, in clumps, like existing reserves) and ``prop`` 0.3
targets (30% of each feature's total). The same seed gives the same files. Every instance
is solved at BLM 0 and 1 (``--blms``).

Columns, per instance (units, BLM), every time the wall clock of a whole
``carbonpark marxan`` process (start-up, reading, solving, scoring, writing), each run in a
fresh child process:

* ``first plan s`` - ``--gap 0.99``: the run stops at its first plan proven within 99%;
* ``score@T`` / ``gap@T`` for each T in ``--limits`` (default 0.5, 1, 5, 30 s) - the plan's
  Marxan score (``Score`` of the written ``output_sum.csv``: cost + BLM x boundary +
  penalty) and its proven gap with ``--time-limit T``; ``no plan`` where the run ended
  without one (the message is printed below the table);
* ``to 1% s`` / ``to 0.25% s`` - ``--gap 0.01`` / ``--gap 0.0025`` with ``--time-limit``
  ``--cap`` (default: the largest limit): seconds until the gap was proven, ``>cap`` if not;
* ``peak MB`` - the largest peak resident size of the instance's runs;
* ``marxan score`` / ``marxan s`` - where a ``marxan`` executable is on PATH (it is never
  downloaded): Marxan's best plan (``--marxan-reps`` runs of ``--marxan-iterations``
  annealing iterations), scored by our Marxan scorer, and its wall time.

    .venv/bin/python benchmarks/bench_marxan.py                        # 2.5k, 10k, 40k units
    .venv/bin/python benchmarks/bench_marxan.py --sizes 160000 --limits 1,5,30,120
    .venv/bin/python benchmarks/bench_marxan.py --quick                # 2.5k units, 0.5 and 1 s
    .venv/bin/python benchmarks/bench_marxan.py --write 10000 --blms 1 --folder /tmp/grid100
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]

SIZES = (2_500, 10_000, 40_000)
LIMITS = (0.5, 1.0, 5.0, 30.0)
BLMS = (0.0, 1.0)
N_FEATURES = 20
LOCKED_SHARE = 0.1
PROP = 0.3
#: Share of the grid each feature covers (the rest has amount 0 and no puvspr row).
COVER = 0.3
#: Smoothing radius of the features, costs and locked clumps, as a share of the grid's side:
#: the same patterns at every size.
SMOOTH_SHARE = 0.04
SEED = 23


# ============================================================== the project

def grid_project(side: int, *, seed: int = SEED, n_features: int = N_FEATURES,
                 locked_share: float = LOCKED_SHARE) -> dict[str, Any]:
    """The arrays of an ``side`` x ``side`` grid project (row-major units, ids 1..n).

    Returns ``id``, ``cost``, ``status`` (2 locked in, else 0), ``xloc``, ``yloc`` (unit
    centres), ``amount`` (features x units, 0 where absent), ``id1``, ``id2``, ``boundary``
    (each shared edge once, length 1, then each rim unit's exposed sides as ``id1 == id2``).
    Costs are rounded to 4 decimals and amounts to 3, so the files hold them exactly.
    """
    if side < 2:
        raise SystemExit(f"a grid needs at least 2 x 2 units; got side {side}")
    rng = np.random.default_rng(seed)
    n = side * side
    sigma = max(1.0, SMOOTH_SHARE * side)

    def field() -> np.ndarray:
        z = ndimage.gaussian_filter(rng.standard_normal((side, side)), sigma, mode="wrap")
        return ((z - z.mean()) / z.std()).ravel()

    cost = np.round(np.exp(0.5 * field()), 4)
    cost = np.maximum(cost, 0.0001)
    status = np.zeros(n, dtype=np.int64)
    status[np.argsort(-field(), kind="stable")[:round(locked_share * n)]] = 2
    amount = np.zeros((n_features, n))
    for f in range(n_features):
        z = field()
        a = np.clip(z - np.quantile(z, 1 - COVER), 0, None)
        amount[f] = np.round(100 * a / a.max(), 3)
    ids = np.arange(1, n + 1, dtype=np.int64)
    grid = ids.reshape(side, side)
    rows, cols = np.divmod(np.arange(n), side)
    id1 = np.concatenate([grid[:, :-1].ravel(), grid[:-1, :].ravel()])
    id2 = np.concatenate([grid[:, 1:].ravel(), grid[1:, :].ravel()])
    exposed = ((rows == 0).astype(np.int64) + (rows == side - 1) + (cols == 0) + (cols == side - 1))
    rim = exposed > 0
    return {
        "id": ids, "cost": cost, "status": status,
        "xloc": cols + 0.5, "yloc": side - rows - 0.5, "amount": amount,
        "id1": np.concatenate([id1, ids[rim]]), "id2": np.concatenate([id2, ids[rim]]),
        "boundary": np.concatenate([np.ones(len(id1)), exposed[rim].astype(np.float64)]),
    }


def input_dat(blm: float, *, output_dir: str, reps: int = 10, iterations: int = 1_000_000) -> str:
    """An input.dat naming the tables in ``input/`` (Marxan v4 keys, as Marxan reads them)."""
    return "\n".join([
        "Input file for Marxan: a grid project generated by carbonpark's benchmarks/bench_marxan.py",
        "",
        f"BLM {blm:g}", "PROP 0.5", "RANDSEED -1", f"NUMREPS {reps}",
        f"NUMITNS {iterations}", "STARTTEMP -1", "NUMTEMP 10000",
        "COSTTHRESH 0", "THRESHPEN1 0", "THRESHPEN2 0",
        "INPUTDIR input", "PUNAME pu.dat", "SPECNAME spec.dat", "PUVSPRNAME puvspr.dat",
        "BOUNDNAME bound.dat",
        "SCENNAME output", "SAVERUN 0", "SAVEBEST 3", "SAVESUMMARY 3", "SAVESCEN 0",
        "SAVETARGMET 3", "SAVESUMSOLN 3", "SAVELOG 1", f"OUTPUTDIR {output_dir}",
        "RUNMODE 1", "MISSLEVEL 1", "ITIMPTYPE 1", "HEURTYPE -1", "CLUMPTYPE 0", "VERBOSITY 1",
        "",
    ])


def write_project(arrays: dict[str, Any], folder: Path, blms: tuple[float, ...] = BLMS, *,
                  reps: int = 10, iterations: int = 1_000_000) -> dict[float, Path]:
    """Write the Marxan files: ``input/{pu,spec,puvspr,bound}.dat`` and one input.dat per BLM.

    Returns ``{blm: path of input_blm<blm>.dat}`` (its OUTPUTDIR is ``output_blm<blm>``).
    ``pu.dat``, ``spec.dat`` and ``puvspr.dat`` are comma-separated with headers (puvspr
    sorted by unit, as Marxan wants it), ``bound.dat`` tab-separated, as in Marxan's
    tutorial projects. Floats are written in full (``repr``), so they read back exactly.
    """
    inp = folder / "input"
    inp.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({k: arrays[k] for k in ("id", "cost", "status", "xloc", "yloc")}).to_csv(
        inp / "pu.dat", index=False)
    n_features = len(arrays["amount"])
    pd.DataFrame({"id": np.arange(1, n_features + 1), "prop": PROP, "spf": 10.0,
                  "name": [f"feature{f}" for f in range(1, n_features + 1)]}).to_csv(
        inp / "spec.dat", index=False)
    amount = arrays["amount"]
    unit, species = np.nonzero(amount.T)  # row-major over units: sorted by unit, then species
    pd.DataFrame({"species": species + 1, "pu": arrays["id"][unit],
                  "amount": amount[species, unit]}).to_csv(inp / "puvspr.dat", index=False)
    pd.DataFrame({k: arrays[k] for k in ("id1", "id2", "boundary")}).to_csv(
        inp / "bound.dat", sep="\t", index=False)
    out = {}
    for blm in blms:
        tag = f"blm{blm:g}"
        (folder / f"output_{tag}").mkdir(exist_ok=True)
        path = folder / f"input_{tag}.dat"
        path.write_text(input_dat(blm, output_dir=f"output_{tag}", reps=reps,
                                  iterations=iterations), encoding="ascii")
        out[blm] = path
    return out


# ============================================================== running

def cached_project(units: int, folder: Path, blm: float) -> Path:
    """The input.dat of the ``units``-unit project at ``blm`` under ``folder`` (written once,
    then reused by later runs of the benchmarks that share it)."""
    side = _side(units)
    where = folder / f"grid{side * side}"
    path = where / f"input_blm{blm:g}.dat"  # write_project's name for it
    return path if path.exists() else write_project(grid_project(side), where, (blm,))[blm]


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run ``cmd``; its stdout, stderr, return code, wall seconds and peak MB (its own)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                text=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"stdout": out.read(), "stderr": err.read(), "rc": proc.returncode,
                "wall_s": wall, "peak_mb": usage.ru_maxrss / 1024}


_GAP = re.compile(r"proven gap (?:(0)(?![.\d])|< (0\.001)%|([0-9.]+)%)")


def _ours(input_path: Path, out_dir: Path, *, blm: float, time_limit: float, gap: float,
          solver: str | None) -> dict[str, Any]:
    """One ``carbonpark marxan`` run: its score (from the written summary), gap and status."""
    cmd = [sys.executable, "-m", "optimizer.cli", "marxan", str(input_path), "--blm", f"{blm:g}",
           "--out", str(out_dir), "--time-limit", f"{time_limit:g}", "--gap", f"{gap:g}",
           "--overwrite"]
    if solver:
        cmd += ["--solver", solver]
    r = _run(cmd, cwd=ROOT, timeout=time_limit * 4 + 120)
    res: dict[str, Any] = {"wall_s": r["wall_s"], "peak_mb": r["peak_mb"]}
    summary = out_dir / "output_sum.csv"
    if r["rc"] != 0 or not summary.exists():
        lines = (r["stderr"].strip() or r["stdout"].strip() or f"exit {r['rc']}").splitlines()
        res["plan"] = False
        res["message"] = lines[-1][:300]
        return res
    res["plan"] = True
    res["score"] = float(pd.read_csv(summary)["Score"].iloc[0])
    res["status"], res["gap"] = parse_status(r["stdout"])
    return res


def parse_status(stdout: str) -> tuple[str, float]:
    """The status word and proven gap of ``carbonpark marxan``'s ``targets met: ...; status``
    line (NaN where it printed no proven bound; 1e-5 for "< 0.001%")."""
    status = next((ln.split("; status ", 1)[1] for ln in stdout.splitlines()
                   if ln.startswith("targets met:") and "; status " in ln), "")
    m = _GAP.search(status)
    gap = (math.nan if m is None else 0.0 if m.group(1) else 1e-5 if m.group(2)
           else float(m.group(3)) / 100)
    return status.split(" ", 1)[0].rstrip(","), gap


def _marxan(input_path: Path, blm: float) -> dict[str, Any]:
    """Marxan on the project (when on PATH): its best plan scored by our scorer, wall s."""
    exe = shutil.which("marxan")
    if exe is None:
        return {}
    from optimizer.io.marxan import marxan_score, read_marxan, read_marxan_solution

    r = _run([exe, input_path.name], cwd=input_path.parent, timeout=24 * 3600)
    best = input_path.parent / f"output_blm{blm:g}" / "output_best.csv"
    if r["rc"] != 0 or not best.exists():
        return {"marxan_s": r["wall_s"], "marxan_score": f"failed (exit {r['rc']})"}
    project = read_marxan(input_path)
    score = marxan_score(project, read_marxan_solution(best), blm=blm)
    return {"marxan_s": r["wall_s"], "marxan_score": score["score"]}


def run_instance(folder: Path, units: int, blm: float, input_path: Path, args: argparse.Namespace,
                 notes: list[str]) -> dict[str, Any]:
    """Every run of one instance (units, BLM): the table's row."""
    row: dict[str, Any] = {"units": units, "BLM": blm}
    peak = 0.0
    cap = args.cap if args.cap is not None else max(args.limits)
    runs = folder / f"runs_blm{blm:g}"

    def ours(tag: str, time_limit: float, gap: float) -> dict[str, Any]:
        nonlocal peak
        res = _ours(input_path, runs / tag, blm=blm, time_limit=time_limit, gap=gap,
                    solver=args.solver)
        peak = max(peak, res["peak_mb"])
        if not res["plan"]:
            notes.append(f"{units:,} units, BLM {blm:g}, {tag}: {res['message']}")
        return res

    first = ours("first", cap, 0.99)
    row["first plan s"] = f"{first['wall_s']:.2f}" if first["plan"] else f">{cap:g}"
    for t in args.limits:
        res = ours(f"limit{t:g}", t, args.gap)
        row[f"score@{t:g}s"] = f"{res['score']:,.2f}" if res["plan"] else "no plan"
        row[f"gap@{t:g}s"] = _gap_text(res["gap"]) if res["plan"] else "-"
    for g in (0.01, 0.0025):
        res = ours(f"gap{g:g}", cap, g)
        reached = res["plan"] and res["gap"] <= g
        row[f"to {g:.2%}".replace(".00%", "%") + " s"] = (f"{res['wall_s']:.2f}" if reached
                                                           else f">{cap:g}")
    row["peak MB"] = f"{peak:,.0f}"
    if shutil.which("marxan"):
        m = _marxan(input_path, blm)
        score = m.get("marxan_score")
        row["marxan score"] = f"{score:,.2f}" if isinstance(score, float) else score
        row["marxan s"] = f"{m['marxan_s']:.1f}"
    return row


def _gap_text(gap: float) -> str:
    if gap != gap:
        return "no bound"
    return "0" if gap == 0 else "<0.001%" if gap < 5e-6 else f"{gap:.3%}"


def _side(units: int) -> int:
    side = math.isqrt(units)
    if side * side != units or side < 2:
        raise SystemExit(f"--sizes: {units:,} is not the number of units of an N x N grid "
                         "(a square such as 2500, 10000, 40000 or 160000)")
    return side


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(f"{name}: comma-separated numbers expected; got {text!r}") from None
    if not values or any(not (v >= 0 and math.isfinite(v)) for v in values):
        raise SystemExit(f"{name}: numbers >= 0 expected; got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    """Generate the projects, run every instance and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)),
                    help="units per grid, squares (default 2500,10000,40000; the issue's range "
                         "goes to 160000)")
    ap.add_argument("--blms", default=",".join(f"{b:g}" for b in BLMS), help="default 0,1")
    ap.add_argument("--limits", default=",".join(f"{t:g}" for t in LIMITS),
                    help="--time-limit of the score@T / gap@T runs, seconds (default 0.5,1,5,30)")
    ap.add_argument("--cap", type=float, default=None,
                    help="--time-limit of the first-plan, 1%% and 0.25%% runs (default: the "
                         "largest limit)")
    ap.add_argument("--gap", type=float, default=1e-3,
                    help="--gap of the score@T runs (default 0.001, carbonpark marxan's own)")
    ap.add_argument("--solver", default=None,
                    help="--solver for carbonpark marxan (default: the command's default)")
    ap.add_argument("--seed", type=int, default=SEED, help=f"default {SEED}")
    ap.add_argument("--quick", action="store_true",
                    help="2,500 units, limits 0.5 and 1 s, BLM 0 and 1 (a minute or so)")
    ap.add_argument("--folder", type=Path, default=None,
                    help="keep the projects and runs here (default: a temporary folder)")
    ap.add_argument("--write", type=int, default=None, metavar="UNITS",
                    help="only write one project of UNITS units to --folder and exit")
    ap.add_argument("--marxan-reps", type=int, default=10, help="NUMREPS for marxan (default 10)")
    ap.add_argument("--marxan-iterations", type=int, default=1_000_000,
                    help="NUMITNS for marxan (default 1000000)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.limits = "2500", "0.5,1"
    sizes = [int(v) for v in _floats(args.sizes, "--sizes")]
    blms = _floats(args.blms, "--blms")
    args.limits = _floats(args.limits, "--limits")
    sides = [_side(u) for u in sizes]

    if args.write is not None:
        if args.folder is None:
            raise SystemExit("--write needs --folder")
        paths = write_project(grid_project(_side(args.write), seed=args.seed), args.folder, blms,
                              reps=args.marxan_reps, iterations=args.marxan_iterations)
        print("\n".join(str(p) for p in paths.values()))
        return 0

    marxan = shutil.which("marxan")
    print(f"{os.cpu_count()} cores; carbonpark marxan (solver: {args.solver or 'default'}), "
          f"limits {', '.join(f'{t:g}' for t in args.limits)} s, seed {args.seed}; marxan: "
          f"{marxan or 'not on PATH (its columns are left out)'}", flush=True)
    tmp = None
    if args.folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_marxan_")
        base = Path(tmp.name)
    else:
        base = args.folder
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        for units, side in zip(sizes, sides, strict=True):
            folder = base / f"grid{side}"
            t0 = time.perf_counter()
            paths = write_project(grid_project(side, seed=args.seed), folder, blms,
                                  reps=args.marxan_reps, iterations=args.marxan_iterations)
            print(f"{units:,} units ({side} x {side}): project written in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            for blm in blms:
                row = run_instance(folder, units, blm, paths[blm], args, notes)
                rows.append(row)
                print("  " + "  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    table = pd.DataFrame(rows)
    table["units"] = table["units"].map("{:,}".format)
    table["BLM"] = table["BLM"].map("{:g}".format)
    print(f"\nMarxan grid projects ({N_FEATURES} features, {LOCKED_SHARE:.0%} locked in, prop "
          f"{PROP:g}); seconds are whole `carbonpark marxan` processes (wall clock); score = "
          "cost + BLM x boundary + penalty; gap = proven relative gap")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.to_string(index=False))
    for note in notes:
        print(f"no plan: {note}")
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
