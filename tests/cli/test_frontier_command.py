"""``carbonpark frontier``: time limits per point, no trade-off from a cut-short frontier,
the scenario's own plan beside its frontier (issue 21 §4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import box_grid, run_cli

from optimizer.studies.frontier import metric


def _scenario(tmp_path: Path) -> Path:
    from optimizer import write_grid

    write_grid(box_grid(5, 5, seed=4, n_species=3), tmp_path / "grid")
    f = tmp_path / "small.toml"
    f.write_text('schema_version = 1\nname = "small"\n[grid]\npath = "grid"\n[budget]\n'
                 'share = 0.3\n[weights]\ncarbon = 1\nbiodiversity = 1\n'
                 '[solver]\nbackend = "highs"\ngap = 0\ntime_limit = 10\n', encoding="utf-8")
    return f


def test_the_scenarios_time_limit_is_per_point_and_its_plan_is_shown(tmp_path, capsys):
    from optimizer.plan.results import solve
    from optimizer.scenario import Scenario

    f, out = _scenario(tmp_path), tmp_path / "fr"
    code, text, err = run_cli(["frontier", f, "--out", out, "--points", "4"], capsys)
    assert code == 0, err
    facts = json.loads((out / "frontier.json").read_text())
    # The scenario's time_limit = 10 is the limit of each point, not of the whole frontier.
    assert facts["time_limit_per_point_s"] == 10 and facts["time_limit_s"] is None
    assert facts["complete"] and facts["points_planned"] == 4 and facts["caveat"] is None
    assert "(epsilon" in text and "10 s per point" in text and "gives up" in text
    # The scenario's own plan, solved independently, is the plan point of the figure's data.
    s = Scenario.load(f)
    p = s.to_problem(s.load_grid())
    x = solve(p, "highs", gap=0.0).x
    ca, cb = "carbon_stock_added_MgC", "mean_representation_pct"
    assert facts["plan"][ca] == pytest.approx(metric(p, "carbon_stock_added").value(x))
    assert facts["plan"][cb] == pytest.approx(metric(p, "mean_representation").value(x))
    assert facts["plan"]["new_km2"] == pytest.approx(float(p.unprotected_km2 @ x))
    assert "small's plan (optimal)" in text
    assert facts["budget_km2"] == pytest.approx(p.total_budget().max_km2)


def test_a_frontier_cut_short_says_so_and_prints_no_trade_off(tmp_path, capsys, monkeypatch):
    from optimizer.studies import frontier as fr

    point, calls = fr._Solver.point, {"n": 0}

    def limited(self, weights, epsilon):  # type: ignore[no-untyped-def]
        calls["n"] += 1  # the whole frontier's time runs out after its first point
        if calls["n"] > 1:
            raise TimeoutError
        return point(self, weights, epsilon)

    monkeypatch.setattr(fr._Solver, "point", limited)
    f, out = _scenario(tmp_path), tmp_path / "fr"
    code, text, err = run_cli(["frontier", f, "--out", out, "--points", "7", "--time-limit", "5"],
                              capsys)
    assert code == 0, err
    assert ("frontier truncated: 1 of 7 points within the time limit (10 s per point, 5 s for "
            "the whole frontier); raise the time limit" in text)
    assert "gives up" not in text and "knee:" not in text
    assert json.loads((out / "frontier.json").read_text())["complete"] is False
