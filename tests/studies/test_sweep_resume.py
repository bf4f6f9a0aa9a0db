"""A sweep's folder under faults: damaged parts redone on resume, infeasible runs recorded,
a bad scheduler refused before the folder is made (issue 22 items 6 and Weak)."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import assert_one_line_error, box_grid, run_cli

from optimizer.errors import OptimizerWarning, OutputError, ScenarioError
from optimizer.studies.sweep import Sweep, read_results, run_sweep

#: Columns that must agree between a run solved again and its first solve.
SAME = ["run", "hash", "status", "area_km2", "n_added"]


def _sweep_file(tmp_path: Path, values: str = "0.1, 0.2, 0.3", *, key: str = "budget.share",
                pa: bool = False) -> Path:
    """A 6 x 6 grid (a third of it protected with ``pa``), its base and a sweep over ``key``."""
    from optimizer import write_grid

    protected = np.r_[np.ones(12), np.zeros(24)] if pa else None
    write_grid(box_grid(6, 6, seed=2, n_species=3, pa=protected), tmp_path / "grid")
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nname = "small"\n[grid]\npath = "grid"\n[budget]\nshare = 0.2\n'
        '[weights]\ncarbon = 1\nbiodiversity = 1\n[solver]\nbackend = "highs"\n',
        encoding="utf-8")
    f = tmp_path / "sweep.toml"
    f.write_text(f'schema_version = 1\nbase = "base.toml"\n[parameters]\n"{key}" = [{values}]\n',
                 encoding="utf-8")
    return f


def _table(df):  # type: ignore[no-untyped-def]
    out = df[SAME].copy().reset_index(drop=True)
    out["added_ids"] = df["added_ids"].map(sorted).reset_index(drop=True)
    return out


def test_a_resume_redoes_damaged_parts_and_says_how_many(tmp_path, capsys):
    f, out = _sweep_file(tmp_path), tmp_path / "out"
    code, _, _ = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"], capsys)
    assert code == 0
    first = read_results(out)
    parts = {r["run"]: out / "runs" / f"{r['hash']}.parquet" for _, r in first.iterrows()}
    # A part cut short (a full disk, a copy interrupted) and a part holding another run's row.
    data = parts[0].read_bytes()
    parts[0].write_bytes(data[: len(data) // 2])
    parts[1].write_bytes(parts[2].read_bytes())
    # The CLI prints the warning as "carbonpark: warning: <message>" (pytest records it).
    with pytest.warns(OptimizerWarning) as seen:
        code, text, err = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"],
                                  capsys)
    assert code == 0, err
    warning = [str(w.message) for w in seen if issubclass(w.category, OptimizerWarning)]
    assert len(warning) == 1 and "2 damaged parts removed, their runs solved again" in warning[0]
    assert parts[0].name in warning[0] and "not a readable Parquet file" in warning[0]
    assert parts[1].name in warning[0] and "the row of another run" in warning[0]
    assert "3 of 3 runs" in text and "1 resumed" in text and "2 solved" in text
    assert "2 of them again (their parts were damaged)" in text
    again = read_results(out)
    assert _table(again).equals(_table(first))
    for run, part in parts.items():  # every part whole again, its own run's row
        table = pq.read_table(part)
        assert table.num_rows == 1 and table.column("run")[0].as_py() == run


def test_reading_a_damaged_part_is_one_line_naming_it(tmp_path):
    f, out = _sweep_file(tmp_path, "0.1, 0.2"), tmp_path / "out"
    df = run_sweep(f, out, workers=1)
    part = out / "runs" / f"{df['hash'][1]}.parquet"
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(OutputError, match="run the same carbonpark sweep again") as err:
        read_results(out)
    assert str(part) in str(err.value) and "\n" not in str(err.value)


def test_a_sweep_of_only_infeasible_runs_records_each_and_finishes(tmp_path, capsys):
    # Today a third of the grid is protected: a total protection of 10% or 20% adds nothing.
    f = _sweep_file(tmp_path, "0.1, 0.2", key="budget.total_protection", pa=True)
    out = tmp_path / "out"
    code, text, err = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"],
                              capsys)
    assert code == 0, err
    df = read_results(out)
    assert list(df["status"]) == ["infeasible", "infeasible"]
    assert df["message"].str.contains("total_protection = 0.1 is at or below today's protection "
                                       r"\(33.3% of the land\)").sum() == 1
    assert df["n_added"].eq(0).all() and df["area_km2"].isna().all()
    assert "2 of 2 runs in" in text and "(2 infeasible)" in text
    assert ("2 of 2 runs infeasible: no plan meets their settings (each run's reason is in its "
            "message column); run 0 (small (budget.total_protection=0.1)): [budget] "
            "total_protection = 0.1 is at or below today's protection") in text


def test_one_feasible_run_among_infeasible_ones(tmp_path, capsys):
    f = _sweep_file(tmp_path, "0.1, 0.5", key="budget.total_protection", pa=True)
    out = tmp_path / "out"
    code, text, err = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"],
                              capsys)
    assert code == 0, err
    df = read_results(out)
    assert df["status"][0] == "infeasible" and df["status"][1] in ("optimal", "within_gap")
    # 50% of 36 km² in total, 12 km² held today: 6 km² added.
    assert df["area_km2"][1] == pytest.approx(6.0)
    assert "1 of 2 runs infeasible" in text


def test_a_bad_scheduler_address_leaves_no_folder(tmp_path):
    f = _sweep_file(tmp_path, "0.1")
    with socket.socket() as s:  # a free port: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"tcp://127.0.0.1:{port}", "nowhere"):
        with pytest.raises(ScenarioError) as err:
            run_sweep(Sweep.load(f), tmp_path / "out", scheduler=address)
        assert "\n" not in str(err.value)
        assert not (tmp_path / "out").exists()


def test_the_cli_refuses_a_bad_scheduler_before_any_folder(tmp_path, capsys):
    f = _sweep_file(tmp_path, "0.1")
    code, _, err = run_cli(["sweep", f, "--out", tmp_path / "out", "--scheduler", "nowhere"],
                           capsys)
    assert_one_line_error(code, err, contains="--scheduler must be 'local'")
    assert not (tmp_path / "out").exists()


def test_no_damage_no_warning(tmp_path):
    f, out = _sweep_file(tmp_path, "0.1, 0.2"), tmp_path / "out"
    run_sweep(f, out, workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizerWarning)
        again = run_sweep(f, out, workers=1)
    assert again["resumed"].all() and again.attrs["redone"] == 0


def test_a_scheduler_without_workers_is_named_and_leaves_no_folder(tmp_path, capsys):
    """A real Dask scheduler with no worker: the sweep would queue its runs and wait forever."""
    distributed = pytest.importorskip("distributed")
    f = _sweep_file(tmp_path)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        code, _, err = run_cli(["sweep", f, "--out", out, "--scheduler", address, "--no-progress"],
                               capsys)
    line = assert_one_line_error(code, err, contains=f"the Dask scheduler at {address} has no workers")
    assert "dask worker" in line
    assert not out.exists()
