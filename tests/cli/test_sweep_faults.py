"""``carbonpark sweep`` under faults, with real processes and real solves (issue 22 items 2, 3).

A planner presses Ctrl-C, or the machine kills the sweep (``kill -9``), in the middle of a
sweep of many runs of about a second each (HiGHS at gap 0 on an 80 x 80 grid with a strong
boundary penalty, stopped by a 1 s time limit). What they must get: every run that finished
is a readable part on disk; Ctrl-C exits 130 within 2 s (3 s asserted on a loaded machine)
without running the queued runs; no worker process outlives its driver.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from helpers import ROOT, box_grid

from optimizer.studies.sweep import read_results

#: Runs in the slow sweep: many more than can finish before the test interrupts it.
N_RUNS = 40
#: Seconds allowed from the signal to the exit (the target is 2 s; a loaded CI machine).
EXIT_LIMIT = 3.0


@pytest.fixture(scope="module")
def slow_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep file of `N_RUNS` runs of about 1 s each (each its own HiGHS solve)."""
    from optimizer import write_grid

    d = tmp_path_factory.mktemp("slow")
    write_grid(box_grid(80, 80, seed=5, n_species=30), d / "grid")
    (d / "base.toml").write_text(
        'schema_version = 1\nname = "slow"\n[grid]\npath = "grid"\n[budget]\nshare = 0.2\n'
        '[weights]\ncarbon = 1\nbiodiversity = 1\n[penalties.boundary]\npenalty = 0.3\n'
        '[solver]\nbackend = "highs"\ngap = 0.0\ntime_limit = 1.0\n', encoding="utf-8")
    shares = ", ".join(f"{0.05 + 0.005 * i:.3f}" for i in range(N_RUNS))
    f = d / "sweep.toml"
    f.write_text(f'schema_version = 1\nbase = "base.toml"\npath = "never"\n[parameters]\n'
                 f'"budget.share" = [{shares}]\n', encoding="utf-8")
    return f


def _parts(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet")) if (out / "runs").is_dir() else []


def _start(sweep_file: Path, out: Path, workers: int, scheduler: str | None = None,
           parts: int = 1, wait: float = 20.0) -> subprocess.Popen:
    """The sweep as a planner runs it, returned once ``parts`` runs are finished on disk
    (its stderr in ``out``'s parent folder: a pipe would be held open by orphans)."""
    cmd = [sys.executable, "-m", "optimizer.cli", "sweep", str(sweep_file), "--out", str(out),
           "--workers", str(workers), "--no-progress"]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(out.parent / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None and len(_parts(out)) < parts:
        time.sleep(0.05)
    if proc.poll() is None and len(_parts(out)) < parts:
        proc.kill()
        proc.wait()
        pytest.fail(f"{len(_parts(out))} parts on disk after {wait:.0f} s of a sweep of "
                    f"{N_RUNS} runs of about 1 s: a finished run is not written as it ends")
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    return proc


def _alive(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _gone_within(procs: list[psutil.Process], seconds: float) -> list[str]:
    """The processes of ``procs`` still alive after ``seconds`` (waited for)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _alive(procs):
        time.sleep(0.1)
    return _alive(procs)


def _readable(out: Path) -> int:
    """Every part on disk is one whole row; their number."""
    parts = _parts(out)
    for p in parts:
        assert pq.read_table(p).num_rows == 1, p
    return len(parts)


def _interrupt(sweep_file: Path, out: Path, workers: int, scheduler: str | None = None) -> float:
    proc = _start(sweep_file, out, workers, scheduler)
    kids = psutil.Process(proc.pid).children(recursive=True)
    before = len(_parts(out))
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    seconds = time.monotonic() - t0
    err = (out.parent / "stderr.txt").read_text()
    print(f"SIGINT -> exit: {seconds:.2f} s ({workers} workers, {scheduler or 'local'})")
    assert proc.returncode == 130, err
    assert "carbonpark: interrupted" in err and "Traceback" not in err, err
    assert seconds <= EXIT_LIMIT, f"exit {seconds:.1f} s after Ctrl-C"
    # Finished runs kept and readable; the queued ones never ran (at most the runs that
    # were finishing as the signal came in were added).
    kept = _readable(out)
    assert before <= kept <= before + workers < N_RUNS
    assert len(read_results(out)) == kept
    assert not _gone_within(kids, 5.0), "a worker outlived the interrupted sweep"
    time.sleep(1.0)
    assert len(_parts(out)) == kept, "runs went on after the sweep exited"
    return seconds


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_exits_130_at_once_keeping_the_finished_runs(slow_sweep, tmp_path, workers):
    _interrupt(slow_sweep, tmp_path / "out", workers)


@pytest.mark.dask
@pytest.mark.timeout(120)
def test_ctrl_c_of_a_local_cluster_sweep_exits_130_at_once(slow_sweep, tmp_path):
    _interrupt(slow_sweep, tmp_path / "out", 2, scheduler="local")


def _kill(sweep_file: Path, out: Path, workers: int, scheduler: str | None = None) -> None:
    proc = _start(sweep_file, out, workers, scheduler, parts=2)
    kids = psutil.Process(proc.pid).children(recursive=True)
    assert (workers == 1 and scheduler is None) or kids, "no worker processes to watch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = _gone_within(kids, 5.0)
    for line in left:  # never leave them to the next test
        psutil.Process(int(line.split()[0])).kill()
    assert not left, f"workers left behind by the killed sweep: {left}"
    assert _readable(out) >= 2


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_of_the_driver_keeps_finished_runs_and_leaves_no_worker(slow_sweep, tmp_path,
                                                                        workers):
    _kill(slow_sweep, tmp_path / "out", workers)


@pytest.mark.dask
@pytest.mark.timeout(120)
def test_kill_9_of_a_local_cluster_sweep_leaves_no_worker(slow_sweep, tmp_path):
    _kill(slow_sweep, tmp_path / "out", 2, scheduler="local")
