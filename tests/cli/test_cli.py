"""The demo runs the whole pipeline; the package imports no app framework; `carbonpark app` starts it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from optimizer.cli import main


def test_demo_runs_the_whole_showcase(tmp_path, capsys):
    """Grid, gap, every example scenario, the budget sweep and the frontier, cross-checked."""
    import json

    import pandas as pd

    from optimizer.cli.demo import EXAMPLES, SWEEP_SHARES
    from optimizer.studies.frontier import pareto_mask
    from optimizer.studies.sweep import read_results

    assert main(["demo", "--out", str(tmp_path), "--cell-km", "40"]) == 0
    out = capsys.readouterr().out
    assert "planning units: 1,488" in out
    assert "biomass density inside protection is" in out
    assert (tmp_path / "grid" / "units.parquet").exists()
    assert (tmp_path / "gap" / "carbon.csv").exists()
    # The comparison: one row per example, the numbers of each plan's own summary.json.
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert table["scenario"].tolist() == list(EXAMPLES)
    for _, row in table.iterrows():
        s = json.loads((tmp_path / "scenarios" / row["scenario"] / "summary.json").read_text())
        assert row["new_km2"] == pytest.approx(s["new_km2"], rel=1e-12)
        assert row["carbon_stock_added_MgC"] == pytest.approx(
            s["added"]["carbon_stock_total"]["amount"], rel=1e-12)
        assert row["species_meeting_target_after"] == s["species"]["meeting_target_after"]
        # One vocabulary (issue 21 §4): "optimal" only at proven gap 0.
        assert s["status"] == ("optimal" if s["gap"] == 0 else "within_gap") == row["status"]
        assert row["gap_pct"] <= 0.1
    for header in ("new km²", "carbon stock added (MgC)", "NPP added 2020 (MgC/yr)",
                   "emissions inside 2020 (tCO2/yr)", "species ≥ 30% of range"):
        assert header in out
    t = table.set_index("scenario")
    assert t.loc["carbon_first", "carbon_stock_added_MgC"] > t.loc["biodiversity_first",
                                                                    "carbon_stock_added_MgC"]
    assert (t.loc["biodiversity_first", "species_meeting_target_after"]
            > t.loc["carbon_first", "species_meeting_target_after"])
    # The sweep: every budget read from the nested path; its 10% plan is as good as the
    # balanced scenario's HiGHS plan, within the scenario's gap (two solvers, one answer).
    runs = read_results(tmp_path / "sweep")
    assert sorted(runs["param.budget.share"].round(2)) == list(SWEEP_SHARES)
    # At 40 km the locked-in units' unprotected parts (23,443 km²) exceed a 1% budget.
    one = runs["param.budget.share"].round(2) == 0.01
    assert runs.loc[one, "status"].tolist() == ["infeasible"]
    assert "exceeds the budget" in runs.loc[one, "message"].iloc[0]
    # Every budget read from the path has a proven gap within the scenario's (polished
    # where the path's plan was short of it): no "path" status, no NaN gap (issue 21 §4).
    assert runs.loc[~one, "status"].isin(["optimal", "within_gap"]).all()
    assert (runs.loc[~one, "gap"] <= 1e-3 + 1e-12).all()
    by_share = runs[~one].sort_values("param.budget.share")
    assert by_share["carbon_stock_added"].is_monotonic_increasing
    ten = runs[runs["param.budget.share"].round(2) == 0.10].iloc[0]
    balanced = json.loads((tmp_path / "scenarios" / "balanced" / "summary.json").read_text())
    assert ten["objective"] == pytest.approx(balanced["objective"], rel=2e-3)
    assert ten["area_km2"] == pytest.approx(balanced["new_km2"], rel=0.05)
    # The frontier: non-dominated points between the two single-goal plans.
    f = pd.read_csv(tmp_path / "frontier" / "frontier.csv")
    a, b = f["carbon_stock_added_MgC"].to_numpy(), f["mean_representation_pct"].to_numpy()
    assert len(f) >= 5 and pareto_mask(a, b).all() and f["knee"].sum() == 1
    assert (tmp_path / "frontier" / "frontier.png").stat().st_size > 10_000
    # The balanced scenario's own plan is the marked point beside its frontier (issue 21 §4).
    plan = json.loads((tmp_path / "frontier" / "frontier.json").read_text())["plan"]
    assert plan["new_km2"] == pytest.approx(balanced["new_km2"], rel=1e-12)
    assert plan["carbon_stock_added_MgC"] == pytest.approx(
        balanced["added"]["carbon_stock_total"]["amount"], rel=1e-9)
    assert "knee:" in out and "carbonpark demo: done in" in out
    # Parks in every GIS format, with each scenario's [parks]; a report per plan and one
    # comparing them all (the exports and reports have their own tests; here: they are there
    # and agree with the plans).
    import geopandas as gpd

    for name in EXAMPLES:
        every = gpd.read_file(tmp_path / "exports" / name / "parks.gpkg", layer="parks")
        parks = every[every["kind"] == "park"]  # beside them: what completes existing units
        s = json.loads((tmp_path / "scenarios" / name / "summary.json").read_text())
        in_parks = parks["area_km2"].sum()
        completing = every.loc[every["kind"] == "completes existing", "area_km2"].sum()
        assert completing == pytest.approx(s["new_km2_in_existing_units"], rel=1e-9)
        if name == "carbon_parks":  # fragments under 1,000 km² dropped, budget refilled
            assert parks["area_km2"].min() >= 1000
        else:
            assert in_parks == pytest.approx(s["new_km2"] - s["new_km2_in_existing_units"],
                                             rel=1e-9)
        html = (tmp_path / "reports" / f"{name}.html").read_text()
        assert f"{s['new_km2']:,.0f} km²" in html and "http://" not in html
    comparison = (tmp_path / "reports" / "comparison.html").read_text()
    assert all(name in comparison for name in EXAMPLES) and "frontier" in comparison.lower()


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


# ------------------------------------------------------------------ carbonpark app

def test_app_gives_streamlit_the_settings_then_the_users_options(monkeypatch, capsys):
    pytest.importorskip("streamlit")
    import optimizer.cli.app as cli_app

    seen = []
    monkeypatch.setattr(cli_app, "run_until_stopped", lambda command: seen.append(command) or 0)
    assert main(["app", "--server.port", "8600", "--theme.base=dark", "--", "--x"]) == 0
    ((command),) = seen
    script = cli_app.APP_SCRIPT
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(script)]
    assert script.is_file() and script.name == "app.py" and "main(st)" in script.read_text()
    # The repository's .streamlit/config.toml as options, but for those the user gave.
    assert "--server.headless=true" in command and "--browser.gatherUsageStats=false" in command
    assert "--server.address=localhost" in command and "--client.showErrorDetails=none" in command
    assert not any(a.startswith(("--server.port", "--theme.base")) for a in command[5:-5])
    assert command[-5:] == ["--server.port", "8600", "--theme.base=dark", "--", "--x"]
    assert str(script) in capsys.readouterr().out


def test_app_stops_its_command_on_ctrl_c_and_sigterm(tmp_path):
    """`run_until_stopped`: the command's exit code; Ctrl-C (exit code 0) and SIGTERM sent to
    carbonpark alone are passed on, and the command stops cleanly, as Streamlit does."""
    import os
    import signal
    import threading
    import time

    from optimizer.cli.app import run_until_stopped

    before = signal.getsignal(signal.SIGTERM)
    assert run_until_stopped([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    ready, stopped = tmp_path / "ready", tmp_path / "stopped"
    child = ("import pathlib, signal, sys, time\n"
             f"def stop(*_):\n    pathlib.Path({str(stopped)!r}).touch()\n    sys.exit(0)\n"
             f"signal.signal(signal.SIGINT, stop)\npathlib.Path({str(ready)!r}).touch()\n"
             "time.sleep(60)\n")

    def press(signum: int) -> None:  # once the command runs (carbonpark waits for it by then)
        while not ready.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        ready.unlink(missing_ok=True)
        stopped.unlink(missing_ok=True)
        presser = threading.Thread(target=press, args=(signum,))
        presser.start()
        assert run_until_stopped([sys.executable, "-c", child]) == 0
        presser.join()
        assert stopped.exists(), signum
    assert signal.getsignal(signal.SIGTERM) == before


def test_app_without_streamlit_is_one_line():
    code = ("import sys\nsys.modules['streamlit'] = None  # not installed\n"
            "from optimizer.cli import main\nsys.exit(main(['app']))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ('carbonpark: error: the app needs Streamlit, which is not installed: '
                          'pip install "carbonpark[app]"\n')


def test_app_help_is_light():
    code = ("import contextlib, io, sys\nfrom optimizer.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['app', '--help'])\n"
            "print([m for m in ('numpy', 'streamlit', 'pandas') if m in sys.modules])\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_installed_examples_keep_their_grids_in_the_user_cache(monkeypatch, tmp_path):
    """An installed package's scenarios build their grids in the user's cache, never beside them."""
    from optimizer.cli.demo import EXAMPLES, _examples, _sweep
    from optimizer.datasets import ExampleFiles, example_files

    here = example_files()
    assert not here.installed and here.grid_cache is None  # a checkout: the scenarios' own cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "it's cache"))
    installed = ExampleFiles(here.manifest, here.scenarios, installed=True)
    cache = tmp_path / "it's cache" / "carbonpark"
    assert installed.grid_cache == cache
    scenarios = _examples(installed, 80.0, 0.05)
    assert [s.name for s in scenarios] == list(EXAMPLES)
    assert all(s.resolve(s.grid.cache) == cache and s.grid.cell_km == 80.0 for s in scenarios)
    assert all(r.scenario.resolve(r.scenario.grid.cache) == cache for r in _sweep(installed, 80.0).runs)
    assert all(s.grid.cache == ".carbonpark-cache" for s in _examples(here, 80.0, None))
