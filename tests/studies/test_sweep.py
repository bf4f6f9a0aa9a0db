"""Sweeps: the file, expansion, one part per run, resume, kill-and-resume, Dask, nested path."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from helpers import external_dask_cluster

from optimizer.errors import ScenarioError
from optimizer.studies.sweep import (
    PATH_POLISH,
    PATH_READ,
    Sweep,
    read_results,
    run_sweep,
    set_key,
)

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


def small_sweep(tmp_path: Path, *, path: str = "auto", nested_path: bool = False) -> Path:
    """Four budgets of a 10 x 10 grid with a boundary penalty, on the cut solver: the
    nested path's plans are short of the asked gap of 0.1% (3-33% on this grid)."""
    from helpers import box_grid

    from optimizer import write_grid

    if not (tmp_path / "grid").is_dir():
        write_grid(box_grid(10, 10, seed=3, n_species=4), tmp_path / "grid")
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nname = "small"\n[grid]\npath = "grid"\n'
        '[objective]\nkind = "max_utility"\n[budget]\nshare = 0.1\n'
        '[weights]\ncarbon = 1\nbiodiversity = 1\n[penalties.boundary]\npenalty = 0.01\n'
        f'[solver]\nbackend = "cut"\ngap = 1e-3\nnested_path = {str(nested_path).lower()}\n',
        encoding="utf-8")
    f = tmp_path / "sweep.toml"
    f.write_text(f'schema_version = 1\nbase = "base.toml"\npath = "{path}"\n[parameters]\n'
                 '"budget.share" = [0.1, 0.2, 0.3, 0.4]\n', encoding="utf-8")
    return f


def _direct(run) -> float:  # type: ignore[no-untyped-def]
    """The run's scenario solved on its own by HiGHS to proven optimality (gap 0)."""
    from optimizer.plan.results import solve

    sol = solve(run.scenario.to_problem(run.scenario.load_grid()), "highs", gap=0.0)
    assert sol.gap == 0.0
    return sol.objective


def test_budgets_read_from_the_nested_path_have_a_proven_gap_within_the_asked_gap(tmp_path):
    """Issue 21 §4: every run read from the nested path gets a proven bound and gap; a
    path plan short of the scenario's gap is polished by a warm-started solve."""
    sweep = Sweep.load(small_sweep(tmp_path))
    df = run_sweep(sweep, tmp_path / "p", workers=1)
    assert len(df) == 4 and "path" not in set(df["status"])
    assert df["status"].isin(["optimal", "within_gap"]).all()
    assert np.isfinite(df["gap"]).all() and (df["gap"] <= 1e-3 + 1e-12).all()
    assert {r.method for r in sweep.runs} == {PATH_POLISH}
    assert (df["requested_gap"] == 1e-3).all()
    # The proven bound and the gap agree with the objective (max sense: bound >= objective).
    assert (df["bound"] >= df["objective"] - 1e-12).all()
    assert np.allclose((df["bound"] - df["objective"]) / df["objective"].abs(), df["gap"],
                       atol=1e-12)
    # On this grid the path's plans are short of 0.1%: the runs were polished.
    assert df["strategy"].str.contains("highs-polish").sum() >= 2
    # Independent check: each objective is within the asked gap of HiGHS at gap 0.
    for run, (_, row) in zip(sweep.runs, df.iterrows(), strict=True):
        best = _direct(run)
        assert best - 1e-3 * abs(best) - 1e-12 <= row["objective"] <= best + 1e-9
    assert df["area_km2"].is_monotonic_increasing


def test_a_scenario_asking_for_the_nested_path_gets_its_plan_and_proven_gap(tmp_path):
    """With ``nested_path = true`` the sweep reads the path's plan as the scenario's own
    solve gives it (no polish), with the path's proven bound: never a NaN gap."""
    from optimizer.plan.results import solve
    from optimizer.scenario.build import solver_options

    sweep = Sweep.load(small_sweep(tmp_path, nested_path=True))
    df = run_sweep(sweep, tmp_path / "p", workers=1)
    assert np.isfinite(df["gap"]).all() and "path" not in set(df["status"])
    assert {r.method for r in sweep.runs} == {PATH_READ}
    assert not df["strategy"].str.contains("highs").any()
    for run, (_, row) in zip(sweep.runs, df.iterrows(), strict=True):
        s = run.scenario
        pu = s.load_grid()
        own = solve(s.to_problem(pu), s.solver.backend, **solver_options(s))
        ids = sorted(str(i) for i in pu.units["pu_id"][own.selected])
        assert sorted(row["added_ids"]) == ids
        assert row["gap"] == pytest.approx(own.gap, rel=1e-9, abs=1e-12)
        assert row["status"] == own.status.value


def test_changing_only_the_solve_method_solves_those_runs_again_on_resume(tmp_path):
    """The run's hash holds how it was solved: path and solved results never mix."""
    out = tmp_path / "out"
    first = run_sweep(Sweep.load(small_sweep(tmp_path, path="auto")), out, workers=1)
    assert (first["method"] == PATH_POLISH).all() and not first["resumed"].any()
    never = Sweep.load(small_sweep(tmp_path, path="never"))
    assert [r.scenario_hash for r in never.runs] == first["scenario_hash"].tolist()
    again = run_sweep(never, out, workers=1)
    assert len(again) == 4 and not again["resumed"].any()  # solved, not reused
    assert (again["method"] == "solve:cut").all()
    assert set(again["hash"]).isdisjoint(first["hash"])
    assert len(read_results(out)) == 4  # the path's parts are not read with them
    assert not read_results(out)["strategy"].str.contains("nested-path").any()
    # Back to the path: its parts are this method's results, reused.
    back = run_sweep(Sweep.load(small_sweep(tmp_path, path="auto")), out, workers=1)
    assert back["resumed"].all() and sorted(back["hash"]) == sorted(first["hash"])


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


def test_a_grid_without_carbon_layers_sweeps_with_no_carbon_metric(tmp_path):
    """A biodiversity-only grid: the carbon column is NaN (no carbon layer), not the end
    of the sweep ("metric 'carbon_stock_added' needs carbon_stock features")."""
    from helpers import box_grid

    from optimizer import write_grid

    rng = np.random.default_rng(1)
    features = {f"sp_{k}": ("biodiversity", rng.uniform(0, 1, 16).round(2)) for k in range(3)}
    write_grid(box_grid(4, 4, features=features), tmp_path / "grid")
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nname = "bio"\n[grid]\npath = "grid"\n[budget]\nshare = 0.25\n'
        '[weights]\nbiodiversity = 1\n[solver]\nbackend = "highs"\ngap = 0.0\n', encoding="utf-8")
    f = tmp_path / "sweep.toml"
    f.write_text('schema_version = 1\nbase = "base.toml"\n[parameters]\n'
                 '"budget.share" = [0.25, 0.5]\n', encoding="utf-8")
    df = run_sweep(f, tmp_path / "out", workers=1)
    assert list(df["n_added"]) == [4, 8] and df["carbon_stock_added"].isna().all()
    assert (df["mean_representation"] > 0).all()


def test_the_runs_table_never_prints_an_absurd_or_rounded_to_zero_gap():
    """A run whose objective is about 0 has a relative gap of ~1e13 (it printed
    "758400000000000.000%"); one of 1e-7 printed "0.000%", read as proven optimal."""
    import pandas as pd

    from optimizer.studies.sweep import format_runs

    gaps = [0.0, 1e-7, 0.00083, 7.584e12, float("nan")]
    df = pd.DataFrame({"run": range(5), "name": [f"r{i}" for i in range(5)],
                       "area_km2": [1.0] * 5, "objective": [0.5, 0.5, 0.5, 1e-16, 0.5],
                       "status": ["optimal", "within_gap", "within_gap", "feasible", "feasible"],
                       "gap": gaps, "wall_s": [1.0] * 5, "method": ["solve:highs"] * 5})
    rows = format_runs(df).splitlines()[1:6]
    shown = [re.split(r"\s{2,}", r.strip())[5] for r in rows]
    assert shown == ["0", "< 0.001%", "0.083%", "> 1,000%", "-"]
