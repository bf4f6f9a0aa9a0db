"""``carbonpark solve`` and ``carbonpark frontier``: outputs recomputed, gap closure by hand."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer import problem
from optimizer.cli import main
from optimizer.datasets import tiny_grid
from optimizer.inputs.units import CO2_PER_C
from optimizer.plan.closure import gap_closure

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml") if not p.stem.startswith("sweep_"))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """The scenarios folder copied beside a link to data/ (one grid cache for all tests)."""
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "scenarios", root / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (root / "data").symlink_to(ROOT / "data")
    return root


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_solves_and_its_summary_matches_the_plan(study, capsys, name):
    out = study / "out" / name
    code, text, err = run(["solve", study / "scenarios" / f"{name}.toml", "--out", out], capsys)
    assert code == 0, err
    assert "new protected area (km²)" in text
    summary = json.loads((out / "summary.json").read_text())
    # The console uses the comparison table's and the report's words (issue 21 §4).
    emissions = summary["added"].get("emissions", {})
    if emissions:
        col, r = list(emissions.items())[-1]
        assert re.search(rf"emissions inside, {col} \({re.escape(r['unit'])}\) +{r['amount']:,.0f}\n", text)
    assert "emissions added" not in text and "uptake added" not in text
    # The budget spent completing existing protected units is its own line (issue 21 §2).
    completes = summary["new_km2_in_existing_units"]
    assert re.search(rf"\n +of which completes existing protected units \(km²\) +{completes:,.0f}\n", text)
    sol = pd.read_parquet(out / "solution.parquet")
    assert set(sol["status"]) <= {"existing", "added", "locked out", "free"}
    from optimizer.scenario import Scenario

    s = Scenario.load(study / "scenarios" / f"{name}.toml")
    pu = s.load_grid()
    u = pu.units.set_index("pu_id").loc[sol["pu_id"]]
    added = (sol["status"] == "added").to_numpy()
    # New: the unprotected part of every selected unit, added or locked in (the budget's measure).
    selected = (sol["x"] == 1).to_numpy()
    free = u["area_km2"].to_numpy() * (1 - u["pa_fraction"].clip(0, 1).to_numpy())
    assert summary["new_km2"] == pytest.approx(free[selected].sum(), rel=1e-9)
    assert summary["new_km2_in_existing_units"] == pytest.approx(
        free[selected & (sol["status"] == "existing").to_numpy()].sum(), rel=1e-9)
    stock = sum((u[c].to_numpy() * (1 - u["pa_fraction"].clip(0, 1).to_numpy()))[selected].sum()
                for c in pu.features.index[pu.features["role"] == "carbon_stock"])
    t = summary["added"]["carbon_stock_total"]
    assert t["amount"] == pytest.approx(stock, rel=1e-9)
    assert t["tCO2e"] == pytest.approx(stock * 44.0095 / 12.0107, rel=1e-12)
    assert summary["scenario"]["hash"] == s.hash
    assert summary["units"]["added"] == int(added.sum())
    rep = pd.read_csv(out / "representation.csv")
    assert summary["species"]["features"] <= len(rep)
    for f in ("closure_density.csv", "closure_ecosystems.csv", "closure_species.csv",
              "closure_hotspots.csv"):
        assert (out / f).is_file()
    # Performance curves only when asked (--curves).
    assert not (out / "curves.csv").exists() and "curves" not in summary
    b = summary["gap_closure"]["density_ratio"]["biomass"]
    assert b["before"] == pytest.approx(0.69, abs=0.01)


def test_gap_closure_on_the_tiny_grid_by_hand():
    pu = tiny_grid()
    p = problem(pu).add_max_utility_objective(budget_km2=2)
    gc = gap_closure(pu, p, np.array([1, 0, 0, 1, 1, 0]), top=0.34)
    d = gc.density.set_index("layer").loc["carbon"]
    # Protected before: cell 1 (100 MgC / 1 km²); after: cells 1, 4, 5 (240 MgC / 3 km²).
    assert d["density_before"] == pytest.approx(100 / 1000)  # kgC/m²
    assert d["ratio_before"] == pytest.approx(100 / (290 / 6))
    assert d["ratio_after"] == pytest.approx(80 / (290 / 6))
    sp = gc.species.set_index("feature")
    assert sp.loc["sp_a", "share_after"] == pytest.approx(2 / 4)
    assert sp.loc["sp_b", "share_after"] == pytest.approx(1 / 2)
    assert gc.summary()["species"] == {"features": 2, "meeting_target_before": 0,
                                       "meeting_target_after": 2}
    # Carbon hotspots (top third by density): cells 1, 4, 5; unprotected: 4 and 5, both added.
    hs = gc.hotspots.set_index("criterion")
    assert hs.loc["carbon", "gap_unprotected_km2"] == 2
    assert hs.loc["carbon", "share_protected_by_plan"] == 1.0
    # Biodiversity: every cell is a hotspot; the 5 unprotected km², the plan adds 2.
    assert hs.loc["biodiversity", "share_protected_by_plan"] == pytest.approx(2 / 5)
    assert gc.ecosystems.empty  # no land cover on the tiny grid


def test_curves_flag_writes_the_curves_and_they_sum_back_to_the_representation(study, capsys):
    out = study / "out" / "curves"
    code, text, err = run(["solve", study / "scenarios" / "balanced.toml", "--out", out,
                           "--curves"], capsys)
    assert code == 0, err
    assert "curves: along the priority rank" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["curves"]["files"] == ["curves.csv", "curves.png"]
    assert "held_pct" in summary["curves"]["definition"]
    assert (out / "curves.png").stat().st_size > 10_000
    c = pd.read_csv(out / "curves.csv")
    rep = pd.read_csv(out / "representation.csv").set_index("feature")
    plan = c[(c["along"] == "plan") & (c["point"] == 1) & (c["kind"] == "feature")]
    plan = plan.set_index("curve").loc[rep.index]
    assert np.allclose(plan["held"], rep["held_after"], rtol=1e-9)
    assert np.allclose(plan["held_pct"], 100 * rep["share_after"], rtol=1e-9, equal_nan=True)
    assert plan["new_km2"].iloc[0] == pytest.approx(summary["new_km2"], rel=1e-9)
    # Along the rank, the curve passes through the plan's point (its added units rank first).
    rank = c[(c["along"] == "rank") & np.isclose(c["area_pct"], plan["area_pct"].iloc[0])]
    rank = rank[rank["kind"] == "feature"].drop_duplicates("curve").set_index("curve")
    assert np.allclose(rank.loc[rep.index, "held"], rep["held_after"], rtol=1e-9)
    # The carbon stock curve: every carbon_stock layer summed; less the existing network's
    # stock, the plan's carbon stock added.
    stock = c[(c["curve"] == "carbon_stock_total") & (c["along"] == "plan")]
    layers = rep[rep["role"] == "carbon_stock"]
    assert stock["held"].iloc[1] == pytest.approx(layers["held_after"].sum(), rel=1e-9)
    assert stock["held"].iloc[1] - layers["held_before"].sum() == pytest.approx(
        summary["added"]["carbon_stock_total"]["amount"], rel=1e-9)
    levels = c[(c["curve"] == "carbon_stock_total") & (c["along"] == "rank")]["area_pct"]
    assert levels.is_monotonic_increasing and levels.iloc[-1] <= 100


def test_set_overrides_are_recorded_and_change_the_hash(study, capsys):
    out = study / "out" / "set"
    src = study / "scenarios" / "balanced.toml"
    code, _, err = run(["solve", src, "--out", out, "--set", "budget.share=0.05"], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"]["overrides"] == {"budget.share": 0.05}
    full = json.loads((study / "out" / "balanced" / "summary.json").read_text()) \
        if (study / "out" / "balanced").exists() else None
    if full is not None:
        assert summary["scenario"]["hash"] != full["scenario"]["hash"]
    assert summary["new_km2"] <= 0.05 * summary["study_area_km2"] * (1 + 1e-9)


@pytest.mark.parametrize(("sets", "message"), [
    ("budget.shar=0.1", "did you mean 'share'?"),
    ("budget.share=ten", "[budget] share"),
    ("budget.share=1.5", "[budget] share"),
    ("budgt.share=0.1", "did you mean 'budget'?"),
    ("budget.share", "write KEY=VALUE"),
])
def test_bad_set_overrides_are_one_line_exit_2(study, capsys, sets, message):
    out = study / "out" / "bad"
    code, _, err = run(["solve", study / "scenarios" / "balanced.toml", "--out", out,
                        "--set", sets], capsys)
    lines = [x for x in err.splitlines() if x.strip() and "warning" not in x]
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert not out.exists()


def test_an_infeasible_scenario_exits_1_with_the_diagnosis_on_one_line(study, capsys):
    path = study / "scenarios" / "infeasible.toml"
    path.write_text('schema_version = 1\n[grid]\nmanifest = "../data/demo.toml"\ncell_km = 40\n'
                    '[objective]\nkind = "min_set"\n[targets]\nrelative = 0.5\n'
                    '[[area_budgets]]\nland_cover = "forest"\nmax_km2 = 0\n')
    out = study / "out" / "infeasible"
    code, _, err = run(["solve", path, "--out", out], capsys)
    lines = [x for x in err.splitlines() if x.strip() and "warning" not in x]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("carbonpark: no plan:"), err
    assert not out.exists()


def test_frontier_command_writes_csv_and_png(study, capsys):
    out = study / "out" / "frontier"
    code, text, err = run(["frontier", study / "scenarios" / "balanced.toml", "--out", out,
                           "--points", "3", "--method", "weighted"], capsys)
    assert code == 0, err
    assert (out / "frontier.csv").is_file() and (out / "frontier.png").is_file()
    assert "the plan with the most carbon stock added gives up" in text
    code, _, err = run(["frontier", study / "scenarios" / "balanced.toml", "--out", out,
                        "--points", "3", "--method", "weighted"], capsys)
    assert code == 0, err  # its own earlier output is replaced


def test_co2_factor():
    assert abs(CO2_PER_C - 3.66419) < 1e-5  # molar masses 44.0095 and 12.0107 g/mol


def test_a_solve_folder_loads_back_as_the_same_problem_and_plan(study, capsys):
    from optimizer.errors import InputDataError
    from optimizer.outputs.solve_folder import read_solution

    out = study / "out" / "loaded"
    assert run(["solve", study / "scenarios" / "nbs_balanced.toml", "--out", out, "--set",
                "budget.share=0.05"], capsys)[0] == 0
    ls = read_solution(out)
    summary = json.loads((out / "summary.json").read_text())
    assert ls.summary == summary and ls.scenario.budget.share == 0.05
    assert int(ls.x.sum()) == summary["units"]["added"] + summary["units"]["existing"]
    assert ls.problem.unprotected_km2[ls.x > 0].sum() == pytest.approx(summary["new_km2"])
    assert int((ls.status == "added").sum()) == summary["units"]["added"]
    record = json.loads((out / "scenario.json").read_text())
    record["scenario"]["budget"]["share"] = 0.06  # the scenario is not what was solved
    (out / "scenario.json").write_text(json.dumps(record))
    with pytest.raises(InputDataError, match="changed since it was solved"):
        read_solution(out)
    with pytest.raises(InputDataError, match="not a `carbonpark solve` folder"):
        read_solution(study / "scenarios")


def test_two_what_ifs_of_one_scenario_are_named_apart_in_the_report(study, capsys):
    # A planner solves one scenario at two budgets and compares them (issue 21 §5): the
    # report names each by its scenario and its overrides, not twice "balanced".
    src = study / "scenarios" / "balanced.toml"
    outs = []
    for share in ("0.05", "0.06"):
        out = study / "out" / f"whatif-{share}"
        code, _, err = run(["solve", src, "--out", out, "--set", f"budget.share={share}"], capsys)
        assert code == 0, err
        outs.append(out)
    html = study / "out" / "whatifs.html"
    code, _, err = run(["report", *outs, "--out", html], capsys)
    assert code == 0, err
    text = html.read_text(encoding="utf-8")
    assert "balanced (budget.share=0.05)" in text and "balanced (budget.share=0.06)" in text
    # Each plan's own report names what of its new area completes existing units (issue 21 §2).
    out = outs[0]
    completes = json.loads((out / "summary.json").read_text())["new_km2_in_existing_units"]
    single = study / "out" / "whatif.html"
    code, _, err = run(["report", out, "--out", single], capsys)
    assert code == 0 and completes > 0, err
    assert (f"of which {completes:,.0f} km² completes existing protected units"
            in single.read_text(encoding="utf-8"))


@pytest.mark.parametrize("where", ["checkout", "elsewhere"])
def test_the_demos_plans_and_reports_name_no_absolute_path(where, tmp_path, monkeypatch, capsys):
    """`carbonpark demo` from the checkout or another folder: summary.json, the report and the
    console name the example scenarios by a relative path, never the machine's (issue 21 §5)."""
    from optimizer.cli.demo import _examples, _solve_examples
    from optimizer.datasets import demo_grid, example_files
    from optimizer.outputs.report import write_report

    monkeypatch.chdir(ROOT if where == "checkout" else tmp_path)
    files = example_files()
    scenarios = [s for s in _examples(files, 40.0, None) if s.name == "balanced"]
    want = ("scenarios/balanced.toml" if where == "checkout"
            else "carbonpark examples/scenarios/balanced.toml")
    assert [s.source for s in scenarios] == [want]
    out = tmp_path / "demo"
    code, solved = _solve_examples(scenarios, demo_grid(40), out, False, [])
    assert code == 0
    write_report(solved, out / "reports" / "balanced.html")  # as the demo writes it
    summary = json.loads((out / "scenarios" / "balanced" / "summary.json").read_text())
    assert summary["scenario"]["source"] == want
    report = (out / "reports" / "balanced.html").read_text(encoding="utf-8")
    assert f">{want}<" in report
    for text in (report, json.dumps(summary), capsys.readouterr().out):
        assert str(ROOT) not in text and str(files.scenarios) not in text
