"""The demo runs the whole pipeline; the package imports no app framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

from optimizer.cli import main


def test_demo_runs_grid_gap_and_plan(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--cell-km", "40", "--budget-share", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "planning units:" in out
    assert "biomass density inside protection is" in out
    assert "max utility plan" in out
    assert "status optimal (proven gap 0)" in out or "status within the requested gap of 0.01%" in out
    assert (tmp_path / "grid" / "units.parquet").exists()
    assert (tmp_path / "gap" / "carbon.csv").exists()
    # the plan adds protection: biomass share after exceeds before
    plan = out.split("max utility plan", 1)[1]
    line = next(x for x in plan.splitlines() if x.startswith("biomass "))
    before, after = (float(v.rstrip("%")) for v in line.split()[-2:])
    assert after > before
    # the compact plan (boundary penalty, graph-cut solver) has no more patches and less edge
    compact = out.split("compact plan", 1)[1]
    line = next(x for x in compact.splitlines() if x.startswith("patches"))
    words = line.replace(",", "").replace(";", "").split()
    assert int(words[3]) <= int(words[1])  # "patches A -> B"
    assert float(words[8]) <= float(words[6])  # "plan edge E1 -> E2 km"


def test_import_optimizer_pulls_in_no_app_or_plotting_framework():
    code = ("import sys, optimizer, optimizer.gap, optimizer.cli; "
            "bad = [m for m in ('streamlit', 'matplotlib.pyplot', 'folium') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_unexpected_errors_are_one_line_with_a_debug_switch(monkeypatch, capsys):
    import optimizer.cli as cli

    def boom(args):  # type: ignore[no-untyped-def]
        raise RuntimeError("unexpected")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["gap"].set_defaults(func=boom)
    monkeypatch.delenv("CARBONPARK_DEBUG", raising=False)
    assert cli.main(["gap", "anywhere"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error: RuntimeError: unexpected" in err
    monkeypatch.setenv("CARBONPARK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="unexpected"):
        cli.main(["gap", "anywhere"])


def test_a_truncated_marxan_file_is_a_one_line_error(tmp_path, capsys):
    import shutil

    from helpers import shared

    src = shared("tasmania-marxan")
    shutil.copytree(src, tmp_path / "p")
    pu = tmp_path / "p" / "input" / "pu.dat"
    pu.write_text(pu.read_text()[:300])  # cut mid-line, as an interrupted copy would
    assert main(["marxan", str(tmp_path / "p" / "input.dat"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pu.dat" in err


def test_an_os_error_is_a_one_line_error(monkeypatch, capsys):
    import optimizer.cli as cli

    def denied(args):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", "/read-only/out")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["gap"].set_defaults(func=denied)
    assert cli.main(["gap", "anywhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "carbonpark: error: [Errno 13] Permission denied: '/read-only/out'"
