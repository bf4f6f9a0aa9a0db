"""A command's time limit is kept, and Ctrl-C ends it at once keeping the plan (issue 23 item 3).

Measured before: a 5.0 s ``--time-limit`` took 9.0 s in all; HiGHS reported 6.7 s on a
1.15 s limit (presolve and root cuts hear no interrupt); the hint named ``time_limit``.
Each case is the planner's: a real ``carbonpark marxan`` process (the limit counts from its
start), a real SIGINT, the outputs read back. Bounds on time are generous (the issue asks
for 0.5 s; ``benchmarks/bench_limits.py`` measures it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import box_grid, run_cli

from optimizer.io.marxan import marxan_score, read_marxan, write_marxan_project
from optimizer.model.problem import problem

ROOT = Path(__file__).resolve().parents[2]

#: Seconds from SIGINT to the process's end we accept: the issue's 2 s, with room for a
#: loaded test machine.
EXIT_WITHIN = 4.0
#: Seconds past its limit we accept for the whole command (the issue's 0.5 s, with room for
#: a loaded test machine).
OVER_AT_MOST = 2.0


def _hard_project(folder: Path) -> Path:
    """A Marxan project (2,500 units, boundary) HiGHS takes minutes to prove at gap 0."""
    p = (problem(box_grid(50, 50, seed=1, n_species=10)).add_min_set_objective()
         .add_relative_targets(0.3).add_boundary_penalty(0.3))
    return write_marxan_project(p, folder)


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "optimizer.cli", *argv], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        # As from a terminal, even when this test runs in a process that ignores SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _running_with(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (a forked child keeps its parent's)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_ctrl_c_ends_carbonpark_marxan_at_once_and_keeps_the_plan(tmp_path):
    project = _hard_project(tmp_path / "project")
    out = tmp_path / "out"
    proc = _start(["marxan", str(project), "--out", str(out), "--gap", "0", "--time-limit", "120"])
    assert proc.stdout is not None
    for line in proc.stdout:  # the solve starts now
        if line.startswith("solving with "):
            break
    time.sleep(3.0)  # inside HiGHS (its MIP, in a child process)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    took = time.perf_counter() - sent
    assert proc.returncode == 130, err
    assert took < EXIT_WITHIN, (took, err)
    assert "Traceback" not in err and "terminate called" not in err, err
    assert err.strip().splitlines()[-1].startswith(
        "carbonpark: interrupted: the best plan found so far (proven gap "), err
    # The plan is written, and it meets every target (scored as Marxan scores it).
    best = out / "output_best.csv"
    score = marxan_score(read_marxan(project), best)
    assert len(pd.read_csv(best)) == 2_500 and score["targets_met"] == score["features"]
    assert _running_with(str(project)) == []  # no HiGHS process left behind


def test_carbonpark_marxan_keeps_its_time_limit_from_the_process_start(tmp_path):
    project = _hard_project(tmp_path / "project")
    limit = 8.0
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "optimizer.cli", "marxan", str(project), "--out",
         str(tmp_path / "out"), "--gap", "0", "--time-limit", f"{limit:g}"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120)
    took = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    assert took < limit + OVER_AT_MOST, (took, run.stdout)
    # The budget printed is the solver's share of the whole limit, and the timing line
    # counts from the process's start.
    assert f"of the {limit:g} s limit (Ctrl-C stops" in run.stdout
    last = next(ln for ln in run.stdout.splitlines() if ln.startswith("start-up "))
    assert "status feasible" in run.stdout or "status optimal" in run.stdout
    over = re.search(r"; over the 8 s limit by (\d+\.\d+) s", last)
    assert last.endswith(f"of the {limit:g} s limit") or float(over.group(1)) < OVER_AT_MOST, last
    assert (tmp_path / "out" / "output_best.csv").exists()
    assert _running_with(str(project)) == []


def test_a_no_plan_hint_names_the_option_as_typed(tmp_path, capsys, monkeypatch):
    import optimizer.plan.solving
    from optimizer.errors import SolverError

    project = write_marxan_project(
        problem(box_grid(4, 4, seed=1)).add_min_set_objective().add_relative_targets(0.3),
        tmp_path / "project")

    def no_plan(*args, **kwargs):  # what the library says when time ran out
        raise SolverError("HiGHS found no plan within the time limit of 1 s (strategy "
                          "'auto'); raise time_limit")

    monkeypatch.setattr(optimizer.plan.solving, "solve_model", no_plan)
    code, _, err = run_cli(["marxan", str(project), "--out", str(tmp_path / "out"),
                            "--time-limit", "1"], capsys)
    assert code == 2
    assert err.strip().endswith("(strategy 'auto'); raise --time-limit"), err
    assert "time_limit" not in err


@pytest.mark.parametrize("limit", [0.05, 0.3])
def test_a_tiny_limit_still_writes_a_plan(tmp_path, capsys, limit):
    # The limit is spent by start-up and reading: the solver still gets time for its
    # first plan, and the command says by how much it went over.
    project = _hard_project(tmp_path / "project")
    code, out, err = run_cli(["marxan", str(project), "--out", str(tmp_path / "out"),
                              "--time-limit", f"{limit:g}"], capsys)
    assert code == 0, err
    score = marxan_score(read_marxan(project), tmp_path / "out" / "output_best.csv")
    assert score["targets_met"] == score["features"]
    assert f"over the {limit:g} s limit by " in out or f"of the {limit:g} s limit" in out
