"""The demo runs the whole pipeline; the package imports no app framework."""

from __future__ import annotations

import subprocess
import sys

from optimizer.cli import main


def test_demo_runs_grid_gap_and_plan(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--cell-km", "40", "--budget-share", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "planning units:" in out
    assert "biomass density inside protection is" in out
    assert "max utility plan" in out and "status optimal" in out
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
