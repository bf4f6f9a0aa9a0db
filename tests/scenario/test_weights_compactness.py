"""Scenario files ask for weights per quantity and for scale-free compactness (issue 21 §1).

The planner's findings: ``carbonpark scenario check`` printed "7 features (biomass, soc, …
npp_2020) × 0.1429", and ``scenarios/sweep_budget_weight.toml`` compared ``weights.carbon
= 0`` and ``1`` at one absolute boundary penalty, which weighs more against the smaller
objective (46.4% vs 50.6% mean representation at 1e-4). Here the same compactness is the
same multiple of each objective's break-even penalty, and equals the app's compactness.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from optimizer.plan.calibration import break_even_penalty, compactness_multiple
from optimizer.plan.results import feature_representation
from optimizer.scenario import Scenario, solve_scenario
from optimizer.studies.interactive import PlanSession, PlanSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo40():
    from optimizer.datasets import demo_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_grid(40)


@pytest.fixture(scope="module")
def grid_dir(demo40, tmp_path_factory) -> Path:
    from optimizer import write_grid

    return write_grid(demo40, tmp_path_factory.mktemp("demo40") / "grid")


def _scenario(grid_dir: Path, body: str, name: str = "s", objective: str = "") -> Scenario:
    head = (f'schema_version = 1\nname = "{name}"\n[grid]\npath = "{grid_dir}"\n'
            f'[objective]\nkind = "max_utility"\n{objective}[budget]\nshare = 0.10\n')
    return Scenario.loads(head + body, source=f"{name}.toml")


def _mean_representation(p, sol) -> float:
    rep = feature_representation(p, sol)
    return float(rep[rep["feature"].isin(p.resolve_features("biodiversity"))]
                 ["share_after"].mean())


def test_one_compactness_scales_the_penalty_with_the_objective(grid_dir, demo40):
    runs = {}
    for carbon in (0.0, 1.0):
        s = _scenario(grid_dir, f"[weights]\ncarbon = {carbon}\nbiodiversity = 1\n"
                                "[penalties.boundary]\ncompactness = 0.5\n"
                                '[solver]\nbackend = "cut"\ngap = 1e-3\n')
        p = s.to_problem(demo40)
        unpenalised = _scenario(grid_dir, f"[weights]\ncarbon = {carbon}\nbiodiversity = 1\n"
                                ).to_problem(demo40)
        runs[carbon] = (p, solve_scenario(s, demo40), break_even_penalty(unpenalised))
    (p0, sol0, be0), (p1, sol1, be1) = runs[0.0], runs[1.0]
    # compactness 0.5 is exactly break-even: the penalty follows each objective's scale
    assert p0.boundary_penalty.penalty == pytest.approx(compactness_multiple(0.5) * be0)
    assert p1.boundary_penalty.penalty == pytest.approx(be1)
    assert be1 / be0 > 1.2  # carbon weighs in: a larger objective, a larger penalty
    assert p1.boundary_penalty.penalty / p0.boundary_penalty.penalty == pytest.approx(be1 / be0)
    # so a plan for biodiversity alone represents species at least as well as one that
    # also weighs carbon (at one absolute penalty of 1e-4 it was the reverse)
    assert _mean_representation(p0, sol0) >= _mean_representation(p1, sol1)


def test_the_absolute_penalty_reverses_the_comparison(grid_dir, demo40):
    reps = {}
    for carbon in (0.0, 1.0):
        s = _scenario(grid_dir, f"[weights]\ncarbon = {carbon}\nbiodiversity = 1\n"
                                "[penalties.boundary]\npenalty = 1e-4\n"
                                '[solver]\nbackend = "cut"\ngap = 1e-3\n')
        p = s.to_problem(demo40)
        reps[carbon] = _mean_representation(p, solve_scenario(s, demo40))
    assert reps[0.0] < reps[1.0]  # the finding this compactness removes


def test_scenario_compactness_equals_the_apps_plan(grid_dir, demo40):
    s = _scenario(grid_dir, "[weights]\ncarbon_stock = 1\ncarbon_uptake = 1\nbiodiversity = 1\n"
                            "[locks]\nexisting = true\npa_threshold = 0.5\n"
                            '[[locks.land_cover_out]]\nland_cover = "cropland"\nunit_share = 0.5\n'
                            "[penalties.boundary]\ncompactness = 0.5\n"
                            '[solver]\nbackend = "cut"\ngap = 1e-3\ntime_limit = 10\n'
                            "nested_path = true\n")
    app = PlanSession(demo40).solve(PlanSettings(budget_share=0.10, compactness=0.5,
                                                 cropland_out=True, urban_out=False))
    p = s.to_problem(demo40)
    sol = solve_scenario(s, demo40)
    assert p.boundary_penalty.penalty == app.boundary_penalty > 0
    assert p.boundary_penalty.compactness == 0.5
    np.testing.assert_array_equal(sol.selected, app.x > 0.5)


def test_solve_prints_and_records_compactness_penalty_and_weights(grid_dir, demo40, tmp_path,
                                                                   capsys):
    scenario = tmp_path / "c.toml"
    scenario.write_text(
        f'schema_version = 1\nname = "c"\n[grid]\npath = "{grid_dir}"\n[budget]\nshare = 0.05\n'
        '[objective]\nyears = "latest"\n[weights]\ncarbon = 1\nbiodiversity = 1\n'
        '[penalties.boundary]\ncompactness = 0.5\n[solver]\nbackend = "cut"\ngap = 1e-3\n')
    code, out, err = run_cli(["solve", scenario, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    b = summary["boundary"]
    unpenalised = Scenario.load(scenario)
    p = unpenalised.to_problem(demo40)
    assert b["compactness"] == 0.5
    assert b["break_even"] == pytest.approx(break_even_penalty(p), rel=1e-12)
    assert b["penalty"] == pytest.approx(b["break_even"], rel=1e-12)
    assert f"0.5 / {b['penalty']:.3g} (break-even {b['break_even']:.3g}, 1 × it)" in out
    assert "boundary: compactness / penalty (per km)" in out
    w = summary["effective_weights"]
    assert w["npp_2020"] == pytest.approx(0.5) and w["npp_2000"] == 0
    quantities = {q["quantity"]: q for q in summary["weight_quantities"]}
    assert quantities["carbon_uptake"]["years"] == "latest"
    assert quantities["carbon_stock"]["weight"] == 0.5
    assert sum(quantities["carbon_stock"]["features"].values()) == pytest.approx(0.5)
    assert summary["weights_rule"].startswith("A group's weight is split equally")
    # an absolute penalty: compactness null, break-even still stated
    scenario.write_text(scenario.read_text().replace("compactness = 0.5", "penalty = 1e-5"))
    code, out, err = run_cli(["solve", scenario, "--out", tmp_path / "abs"], capsys)
    assert code == 0, err
    b = json.loads((tmp_path / "abs" / "summary.json").read_text())["boundary"]
    assert b["compactness"] is None and b["penalty"] == 1e-5 and b["break_even"] > 0
    assert "none (absolute penalty) / 1e-05 (break-even" in out


def test_scenario_check_prints_the_effective_weights(capsys):
    code, out, err = run_cli(["scenario", "check", ROOT / "scenarios" / "balanced.toml"], capsys)
    assert code == 0, err
    feats = Scenario.load(ROOT / "scenarios" / "balanced.toml").load_grid().features
    tb, ts = feats.loc["biomass", "total"], feats.loc["soc", "total"]
    assert (f"carbon_stock × 0.5: biomass {0.5 * tb / (tb + ts):.4g}, "
            f"soc {0.5 * ts / (tb + ts):.4g}") in out
    assert "carbon_uptake × 0.5 (years: mean): npp_2000" in out
    assert f"37 biodiversity features × {1 / 37:.4g}" in out
    assert "7 features" not in out


def test_every_shipped_scenario_passes_check(capsys):
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        if path.stem.startswith("sweep_"):
            continue
        code, out, err = run_cli(["scenario", "check", path], capsys)
        assert code == 0, (path.name, err)
        assert " × " in out, path.name


def test_the_shipped_sweep_varies_compactness_not_an_absolute_penalty(demo40):
    from optimizer.studies.sweep import Sweep

    sweep = Sweep.load(ROOT / "scenarios" / "sweep_budget_weight.toml")
    assert "penalties.boundary.compactness" in sweep.parameters
    assert "penalties.boundary.penalty" not in sweep.parameters
    for run in sweep.runs[:12]:
        p = run.scenario.to_problem(demo40)
        c = run.params["penalties.boundary.compactness"]
        bp = p.boundary_penalty
        assert bp.compactness == c
        assert bp.penalty == pytest.approx(compactness_multiple(c) * bp.break_even)


@pytest.mark.parametrize(("body", "message"), [
    ("[penalties.boundary]\ncompactness = 1.5\n",
     "s.toml: [penalties.boundary] compactness: must be <= 1; got 1.5"),
    ("[penalties.boundary]\ncompactness = 0.5\npenalty = 1e-5\n",
     "s.toml: [penalties.boundary] give one of compactness, penalty, share or calibrate, not "
     "both; got compactness and penalty"),
])
def test_bad_compactness_is_one_line(grid_dir, body, message):
    from optimizer.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        _scenario(grid_dir, body)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(("objective", "message"), [
    ('years = "lates"', "s.toml: [objective] years: expected one of 'mean', 'latest' or a year "
                        "such as 2020; got 'lates'; did you mean 'latest'?"),
    ("years = true", "s.toml: [objective] years: expected one of 'mean', 'latest' or a year "
                     "such as 2020; got true"),
    ('kind = "min_set"\nyears = "latest"',
     "s.toml: [objective] years applies to the weights of max_utility, not min_set"),
])
def test_bad_years_are_one_line(grid_dir, objective, message):
    from optimizer.errors import ScenarioError

    text = (f'schema_version = 1\n[grid]\npath = "{grid_dir}"\n[budget]\nshare = 0.1\n'
            f"[objective]\n{objective}\n[targets]\nrelative = 0.1\n")
    with pytest.raises(ScenarioError) as info:
        Scenario.loads(text, source="s.toml")
    assert str(info.value).startswith(message), str(info.value)


def test_a_year_the_grid_lacks_names_the_key_and_the_years(grid_dir, demo40):
    from optimizer.errors import ScenarioError

    s = _scenario(grid_dir, "[weights]\ncarbon = 1\n", objective="years = 2019\n")
    with pytest.raises(ScenarioError) as info:
        s.to_problem(demo40)
    assert str(info.value) == ("s.toml: [objective] years = 2019: layer 'npp' has no year 2019; "
                               "use 'mean', 'latest' or one of its years: 2000, 2005, 2010, "
                               "2015, 2020")
