"""Ctrl-C ends ``carbonpark solve`` and ``carbonpark frontier`` at once, keeping what was found
(issue 22, "Ctrl-C is slow").

HiGHS 1.15 hears no interrupt during the root LP of a MIP (one step of several seconds on a
boundary-penalised model), so Ctrl-C waited for it: 19.9 s for a solve, 30.7 s for a frontier
that then kept no point. Each case is the planner's: a real SIGINT to the command, its exit
code and exit time, and the outputs read back.

The model: 4,900 units (70 x 70), max utility with a compactness of 0.5 at gap 0: 12 s to
prove here, ~9 s of it in the MIP's root LP (which the old code could not stop).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import box_grid, reference_objective, tree_hash

ROOT = Path(__file__).resolve().parents[2]

#: Seconds from SIGINT to the process's end we accept: the issue's 2 s, with room for a
#: loaded test machine (measured 0.8 s for the solve and 1.4-1.9 s for the frontier, with
#: two other test runs beside; the old code took 5.8 s and 5.3 s here, 32 s on the demo).
EXIT_WITHIN = 4.0

SCENARIO = """schema_version = 1
name = "compact"
[grid]
path = "grid"
[budget]
share = 0.1
[weights]
carbon = 1
biodiversity = 1
[penalties.boundary]
compactness = 0.5
[solver]
backend = "highs"
gap = 0
time_limit = 120
"""


def _scenario(folder: Path) -> Path:
    from optimizer import write_grid

    write_grid(box_grid(70, 70, seed=1, n_species=10), folder / "grid")
    f = folder / "compact.toml"
    f.write_text(SCENARIO, encoding="utf-8")
    return f


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "optimizer.cli", *argv], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        # As from a terminal, even when this test runs in a process that ignores SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt(proc: subprocess.Popen[str], after: float) -> tuple[float, str, str]:
    """SIGINT ``after`` seconds from now; the seconds until the process ended, its output."""
    time.sleep(after)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return time.perf_counter() - sent, out, err


def test_ctrl_c_during_a_solve_keeps_the_best_plan_and_exits_at_once(tmp_path):
    from optimizer.outputs.solve_folder import read_solution

    inputs = tmp_path / "in"
    f = _scenario(inputs)
    before = tree_hash(inputs)
    out = tmp_path / "out"
    proc = _start(["solve", str(f), "--out", str(out)])
    assert proc.stdout is not None
    for line in proc.stdout:  # the scenario's paragraph: the solve starts now
        if line.startswith("Scenario 'compact'"):
            break
    # Past the LP stage (2 s here), inside the MIP's root LP (until ~11 s).
    took, _, err = _interrupt(proc, 3.5)
    assert proc.returncode == 130, err
    assert took < EXIT_WITHIN, (took, err)
    assert "terminate called" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(
        "carbonpark: interrupted: the best plan found so far (proven gap "), err
    # The plan is written, with its proven gap and the status "interrupted".
    folder = read_solution(out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "interrupted"
    assert 0 < summary["gap"] < 1 and summary["bound"] > summary["objective"]
    # Its objective, recomputed from the plan written, is the one reported.
    assert reference_objective(folder.problem, folder.x) == pytest.approx(summary["objective"],
                                                                          rel=1e-9)
    assert float(folder.problem.unprotected_km2 @ folder.x) <= 0.1 * 4900 + 1e-6
    assert tree_hash(inputs) == before


def test_ctrl_c_during_a_highs_frontier_keeps_its_points_and_exits_at_once(tmp_path):
    inputs = tmp_path / "in"
    f = _scenario(inputs)
    before = tree_hash(inputs)
    out = tmp_path / "fr"
    proc = _start(["frontier", str(f), "--out", str(out), "--solver", "highs", "--points", "5"])
    # The first point's MIP (no LP stage) starts ~2 s in; its root LP runs for seconds.
    took, text, err = _interrupt(proc, 5.0)
    assert proc.returncode == 130, err
    assert took < EXIT_WITHIN, (took, err)
    assert "terminate called" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("carbonpark: frontier interrupted (Ctrl-C): "), err
    # What was found is written: the points solved, the running one's best plan among them.
    facts = json.loads((out / "frontier.json").read_text(encoding="utf-8"))
    assert facts["interrupted"] is True and facts["complete"] is False
    assert facts["caveat"].startswith("frontier interrupted (Ctrl-C): ")
    points = pd.read_csv(out / "frontier.csv")
    assert len(points) == facts["points_non_dominated"] >= 1
    assert facts["points_solved"] >= len(points)
    assert set(points["status"]) <= {"optimal", "within_gap", "feasible", "interrupted"}
    assert np.isfinite(points["carbon_stock_added_MgC"]).all()
    assert (points["new_km2"] <= 0.1 * 4900 + 1e-6).all()
    assert (out / "frontier.png").stat().st_size > 0
    assert "frontier interrupted (Ctrl-C)" in text  # the summary says so too
    assert tree_hash(inputs) == before


def test_ctrl_c_during_a_portfolio_keeps_its_plans_and_exits_at_once(tmp_path):
    inputs = tmp_path / "in"
    f = _scenario(inputs)
    before = tree_hash(inputs)
    out = tmp_path / "pf"
    proc = _start(["portfolio", str(f), "--out", str(out), "--n", "5", "--gap", "0.1"])
    # Plan 1 is a 12 s solve at gap 0: stopped inside it, its best plan is kept.
    took, _, err = _interrupt(proc, 5.0)
    assert proc.returncode == 130, err
    assert took < EXIT_WITHIN, (took, err)
    assert "terminate called" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(
        "carbonpark: portfolio interrupted (Ctrl-C): stopped (Ctrl-C)"), err
    facts = json.loads((out / "portfolio.json").read_text(encoding="utf-8"))
    assert facts["interrupted"] is True and facts["complete"] is False and facts["plans"] >= 1
    freq = pd.read_csv(out / "frequency.csv")
    assert (freq["plan_1"].to_numpy() @ np.ones(len(freq))) > 0
    assert tree_hash(inputs) == before
