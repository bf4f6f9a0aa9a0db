"""Sweeps: the file, expansion, one part per run, resume, kill-and-resume, Dask, nested path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from helpers import external_dask_cluster

from optimizer.errors import ScenarioError
from optimizer.studies.sweep import Sweep, read_results, run_sweep, set_key

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "scenarios" / "balanced.toml"
#: Columns that must agree between two runs of the same sweep.
SAME = ["run", "hash", "status", "area_km2", "n_added", "added_ids"]


def write_sweep(tmp_path: Path, params: str, extra: str = "") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'schema_version = 1\nbase = "{BASE}"\n{extra}\n[parameters]\n{params}\n',
                    encoding="utf-8")
    return path


TWENTY = ('"budget.share" = [0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18, 0.20]\n'
          '"weights.carbon" = [0.0, 1.0]')


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    a, b = a[SAME].copy(), b[SAME].copy()
    for df in (a, b):
        df["added_ids"] = df["added_ids"].map(list)
    return a.reset_index(drop=True).equals(b.reset_index(drop=True))


# ================================================================ the file

def test_shipped_sweep_has_at_least_20_runs_and_varies_three_keys():
    s = Sweep.load(ROOT / "scenarios" / "sweep_budget_weight.toml")
    assert len(s.runs) >= 20
    assert set(s.parameters) == {"budget.share", "weights.carbon", "penalties.boundary.compactness"}
    assert len({r.hash for r in s.runs}) == len(s.runs)


def test_product_and_zip(tmp_path):
    params = '"budget.share" = [0.05, 0.1]\n"weights.carbon" = [0.0, 1.0]'
    assert len(Sweep.load(write_sweep(tmp_path, params)).runs) == 4
    z = Sweep.load(write_sweep(tmp_path, params, 'combine = "zip"'))
    assert [r.params for r in z.runs] == [{"budget.share": 0.05, "weights.carbon": 0.0},
                                          {"budget.share": 0.1, "weights.carbon": 1.0}]
    assert z.runs[1].scenario.budget.share == 0.1 and z.runs[1].scenario.weights["carbon"] == 1.0


def test_any_key_is_addressable():
    d = {"budget": {"km2": 5.0}, "area_budgets": [{"region": "a", "max_km2": 1.0}]}
    set_key(d, "budget.share", 0.2)
    set_key(d, "penalties.boundary.penalty", 1e-4)
    set_key(d, "area_budgets[0].max_km2", 3.0)
    assert d == {"budget": {"share": 0.2}, "area_budgets": [{"region": "a", "max_km2": 3.0}],
                 "penalties": {"boundary": {"penalty": 1e-4}}}
    with pytest.raises(ScenarioError, match=r"index from 0 to 0"):
        set_key(d, "area_budgets[1].max_km2", 3.0)


@pytest.mark.parametrize(("params", "extra", "message"), [
    ('"budget.share" = [0.1, 2.0]', "", r"\[budget\] share: must be <= 1; got 2.0"),
    ('"budget.share" = 0.1', "", r"must be a non-empty list"),
    ('"budget.share" = [0.1]\n"weights.carbon" = [0.0, 1.0]', 'combine = "zip"', r"one length"),
    ('"budget.share" = [0.1]', 'combin = "zip"', r"unknown key 'combin'; did you mean 'combine'"),
])
def test_mistakes_are_one_line(tmp_path, params, extra, message):
    with pytest.raises(ScenarioError, match=message) as err:
        Sweep.load(write_sweep(tmp_path, params, extra))
    assert "\n" not in str(err.value)


# ================================================================ running

def test_sweep_of_20_runs_one_part_each_and_resume_skips(tmp_path):
    sweep = Sweep.load(write_sweep(tmp_path, TWENTY))
    out = tmp_path / "out"
    seen: list[tuple[float, str]] = []
    df = run_sweep(sweep, out, workers=1, progress=lambda f, stage: seen.append((f, stage)))
    assert len(df) == 20 and df["status"].isin(["optimal", "within_gap"]).all()
    assert seen[0] == (0.0, "0/20 runs") and seen[-1] == (1.0, "20/20 runs")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    parts = sorted((out / "runs").glob("*.parquet"))
    assert len(parts) == 20 and {p.stem for p in parts} == set(df["hash"])
    assert ds.dataset(out / "runs", format="parquet").count_rows() == 20
    assert (df["param.budget.share"].to_numpy() > 0).all()
    assert (df["area_km2"] > 0).all()
    row = df.iloc[-1]
    assert row["n_added"] == len(row["added_ids"]) > 0 and row["carbon_stock_added"] > 0
    # Re-running solves nothing: every hash is finished.
    seen.clear()
    again = run_sweep(sweep, out, workers=1, progress=lambda f, stage: seen.append((f, stage)))
    assert seen == [(1.0, "20/20 runs")] and same(again, df)


def test_resumes_only_the_same_sweep_and_the_folder_stays_its_own(tmp_path):
    from optimizer.atomic import check_output_dir
    from optimizer.errors import OutputError

    out = tmp_path / "out"
    first = run_sweep(write_sweep(tmp_path, '"budget.share" = [0.05, 0.1]'), out, workers=1)
    assert len(first) == 2
    check_output_dir(out, "sweep")  # its grown runs/ parts are its own, not foreign
    other = Sweep.load(write_sweep(tmp_path, '"budget.share" = [0.05, 0.15]'))
    with pytest.raises(OutputError, match=r"holds another sweep .*2 runs.*--overwrite"):
        run_sweep(other, out, workers=1)
    assert len(read_results(out)) == 2  # nothing mixed in
    replaced = run_sweep(other, out, workers=1, overwrite=True)
    assert sorted(replaced["param.budget.share"]) == [0.05, 0.15]


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    from optimizer.errors import OutputError

    with pytest.raises(OutputError, match="not empty"):
        run_sweep(write_sweep(tmp_path, '"budget.share" = [0.1]'), tmp_path / "out", workers=1)


def _worker_pids(pid: int) -> list[int]:
    """The pool's worker processes of ``pid`` (spawned; not its resource tracker)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    out = []
    for k in kids:
        try:
            cmd = Path(f"/proc/{k}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmd:
            out.append(int(k))
    return out


def _sweep_mid_run(tmp_path: Path, workers: int) -> tuple[subprocess.Popen, Path, Path]:
    """A real 30-run sweep process, returned once 3 runs are finished (and, with several
    workers, once its pool is up): 30 runs, so it is still mid-sweep however fast it is."""
    params = ('"budget.share" = [0.04, 0.07, 0.10, 0.13, 0.16, 0.20]\n'
              '"weights.carbon" = [0.0, 0.25, 0.5, 0.75, 1.0]')
    sweep_file = write_sweep(tmp_path, params, '[set]\n"penalties.boundary.penalty" = 1e-5')
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "optimizer.cli", "sweep", str(sweep_file), "--out", str(out),
           "--workers", str(workers), "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (len(list((out / "runs").glob("*.parquet"))) >= 3
                and (workers == 1 or _worker_pids(proc.pid))):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    return proc, sweep_file, out


def _nothing_finished_is_lost(tmp_path: Path, sweep_file: Path, out: Path) -> None:
    partial = read_results(out)
    assert 3 <= len(partial) < 30
    # Every part present reads as a whole result; temporary names are never results.
    for part in (out / "runs").glob("*.parquet"):
        assert ds.dataset(part, format="parquet").count_rows() == 1
    resumed = run_sweep(sweep_file, out, workers=1)
    assert len(resumed) == 30 and not list((out / "runs").glob(".*"))
    assert same(resumed, run_sweep(sweep_file, tmp_path / "clean", workers=1))


def test_kill_and_resume_loses_nothing_finished(tmp_path):
    proc, sweep_file, out = _sweep_mid_run(tmp_path, workers=1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    _nothing_finished_is_lost(tmp_path, sweep_file, out)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_killing_a_worker_is_one_line_and_loses_nothing_finished(tmp_path):
    proc, sweep_file, out = _sweep_mid_run(tmp_path, workers=2)
    os.kill(_worker_pids(proc.pid)[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "a worker process died" in lines[0] and "resume" in lines[0]
    _nothing_finished_is_lost(tmp_path, sweep_file, out)


def test_nested_path_reads_budgets_from_one_solve(tmp_path):
    params = '"budget.share" = [0.02, 0.05, 0.10, 0.20]'
    extra = '[set]\n"solver.backend" = "cut"\n"penalties.boundary.penalty" = 1e-5'
    path = run_sweep(Sweep.load(write_sweep(tmp_path, params, extra)), tmp_path / "p", workers=1)
    assert (path["status"] == "path").all()
    assert path["area_km2"].is_monotonic_increasing
    # The same plans as one cut solve at the largest budget, read with plan_for_budget.
    from optimizer.plan.results import solve
    from optimizer.solvers import plan_for_budget

    runs = Sweep.load(write_sweep(tmp_path, params, extra)).runs
    top = runs[-1].scenario
    pu = top.load_grid()
    sol = solve(top.to_problem(pu), "cut", gap=top.solver.gap)
    for run, ids in zip(runs, path["added_ids"], strict=True):
        p = run.scenario.to_problem(pu)
        x = plan_for_budget(sol, p.total_budget().max_km2, problem=p) > 0.5
        added = x & ~p.locked_masks()[0]
        assert sorted(ids) == sorted(str(i) for i in pu.units["pu_id"][added])


@pytest.mark.dask
@pytest.mark.timeout(120)
def test_local_cluster_gives_the_local_process_results(tmp_path):
    sweep = Sweep.load(write_sweep(tmp_path, '"budget.share" = [0.04, 0.08, 0.12]\n'
                                   '"weights.carbon" = [0.0, 1.0]'))
    local = run_sweep(sweep, tmp_path / "a", workers=2)
    dask = run_sweep(sweep, tmp_path / "b", workers=2, scheduler="local")
    assert len(dask) == 6 and same(local, dask)


@pytest.mark.dask
@pytest.mark.timeout(180)
def test_an_external_scheduler_by_address_runs_the_sweep(tmp_path):
    """A real `dask scheduler` and `dask worker` in their own processes, reached by tcp://."""
    with external_dask_cluster() as addr:
        sweep = Sweep.load(write_sweep(tmp_path, '"budget.share" = [0.04, 0.08, 0.12]'))
        remote = run_sweep(sweep, tmp_path / "r", scheduler=addr)
        assert len(remote) == 3 and same(remote, run_sweep(sweep, tmp_path / "l", workers=1))


def test_bad_scheduler_is_one_line(tmp_path):
    with pytest.raises(ScenarioError, match="tcp://host:8786"):
        run_sweep(write_sweep(tmp_path, '"budget.share" = [0.1]'), tmp_path / "o", workers=1,
                  scheduler="nowhere")
