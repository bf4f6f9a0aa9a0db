"""What ``solve`` and ``frontier`` say about odd inputs, before any work, in the scenario's
words (issue 22, "Weak"): weights of 1e300, a frontier whose budget the locked units
already exceed, and a path given with ``--set`` (relative to the current folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, box_grid, run_cli, tree_hash

SCENARIO = """schema_version = 1
name = "small"
[grid]
path = "grid"
[budget]
share = 0.3
[weights]
carbon = 1
biodiversity = 1
[solver]
backend = "highs"
gap = 0
time_limit = 60
"""


def _scenario(folder: Path, *, pa: np.ndarray | None = None) -> Path:
    from optimizer import write_grid

    write_grid(box_grid(5, 5, seed=4, n_species=3, pa=pa), folder / "grid")
    f = folder / "small.toml"
    f.write_text(SCENARIO, encoding="utf-8")
    return f


# ================================================================ weights out of range

@pytest.mark.parametrize("command", ["solve", "frontier"])
def test_a_weight_of_1e300_is_refused_before_work_naming_the_key_and_range(tmp_path, capsys,
                                                                           command):
    # Was: "HiGHS found no plan within 0.0 s (strategy 'auto'); raise time_limit" with a 60 s
    # limit (the weight made every cost infinite).
    f = _scenario(tmp_path / "in")
    before = tree_hash(tmp_path)
    code, _, err = run_cli([command, f, "--out", tmp_path / "out", "--set",
                            "weights.carbon=1e300"], capsys)
    line = assert_one_line_error(code, err, contains="[weights] carbon = 1e+300 is out of range")
    assert "between 1e-06 and 1e+06" in line and "scale the weights" in line
    assert "time_limit" not in line and "HiGHS" not in line
    assert tree_hash(tmp_path) == before  # nothing written: refused before work


def test_a_boundary_penalty_of_1e30_is_refused_in_penalties_words(tmp_path, capsys):
    # Was: "[solver] the model's objective has … costs that are not finite", after the grid
    # was read and the model compiled.
    f = _scenario(tmp_path / "in")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["solve", f, "--out", tmp_path / "out", "--set",
                            "penalties.boundary.penalty=1e30"], capsys)
    line = assert_one_line_error(code, err,
                                 contains="[penalties.boundary] penalty = 1e+30 is out of range")
    assert "compactness" in line and "[solver]" not in line
    assert tree_hash(tmp_path) == before
    for value in ("nan", "inf"):  # nan said "must be >= 0"; inf was caught after the grid
        code, _, err = run_cli(["solve", f, "--out", tmp_path / "out", "--set",
                                f"penalties.boundary.penalty={value}"], capsys)
        assert_one_line_error(code, err, contains=f"[penalties.boundary] penalty: expected a "
                                                  f"finite number; got {value}")
    assert tree_hash(tmp_path) == before


def test_weights_within_the_range_still_solve(tmp_path, capsys):
    f = _scenario(tmp_path / "in")
    code, _, err = run_cli(["solve", f, "--out", tmp_path / "out", "--set",
                            "weights.carbon=1e6", "--set", "weights.biodiversity=1e-6"], capsys)
    assert code == 0, err


def test_highs_says_what_happened_when_time_was_not_the_cause(monkeypatch):
    """No plan, well within the time limit: the statuses HiGHS ended with, not "raise
    time_limit" (nor "within 0.0 s")."""
    from optimizer.errors import SolverError
    from optimizer.model.compile import compile
    from optimizer.model.problem import problem
    from optimizer.solvers.highs import HighsSolver, MipRun

    p = problem(box_grid(4, 4, seed=1)).add_max_utility_objective(budget_share=0.3)
    monkeypatch.setattr(HighsSolver, "_run", lambda self, model, **kw: MipRun(
        "solve_error", None, float("nan"), float("nan"), 0.01))
    # Without the greedy first plan (issue 23), which would be the answer here.
    monkeypatch.setattr("optimizer.solvers.highs.first_plan", lambda model: None)
    with pytest.raises(SolverError) as caught:
        HighsSolver(gap=0.0, time_limit=60).solve(compile(p))
    text = str(caught.value)
    assert "well within the time limit" in text and "raise time_limit" not in text
    assert "the LP relaxation ended with status 'solve_error'" in text
    assert "the MIP ended with status 'solve_error'" in text


def test_a_model_with_infinite_costs_is_refused_before_highs_runs():
    import dataclasses

    from optimizer.errors import InputDataError
    from optimizer.model.compile import compile
    from optimizer.model.problem import problem
    from optimizer.solvers.highs import HighsSolver

    m = compile(problem(box_grid(4, 4, seed=1)).add_max_utility_objective(budget_share=0.3))
    c = m.c.copy()
    c[0] = 1e300
    with pytest.raises(InputDataError, match=r"^the model's objective has 1 costs that are not "
                                             r"finite or of size 1e\+20 or more"):
        HighsSolver().solve(dataclasses.replace(m, c=c))


# ================================================================ a frontier with no room

def test_a_frontier_whose_budget_the_locked_units_exceed_says_so_in_scenario_words(tmp_path,
                                                                                    capsys):
    # Was: "cut solver: row budget 'total' allows at most -23443.3 but the locked units
    # already use 0; raise the budget or unlock units".
    pa = np.zeros(25)
    pa[:4] = 0.6  # four units locked in (pa_threshold 0.5), 0.4 km² of each unprotected
    f = _scenario(tmp_path / "in", pa=pa)
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["frontier", f, "--out", tmp_path / "fr", "--set", "budget.share=0"],
                           capsys)
    line = assert_one_line_error(code, err, contains="[budget] no plan fits, so there is no "
                                                     "frontier: locked-in area 1.6 km² exceeds "
                                                     "the budget of 0.0 km²")
    assert "with --set budget.share=0" in line and 'remainders = "free"' in line
    assert "row budget" not in line and "cut solver" not in line
    assert tree_hash(tmp_path) == before


def test_the_frontier_api_refuses_such_a_base_problem_before_any_solve():
    from optimizer.errors import InfeasibleProblemError
    from optimizer.model.problem import problem
    from optimizer.studies.frontier import frontier

    pa = np.zeros(25)
    pa[:4] = 0.6
    p = (problem(box_grid(5, 5, seed=4, n_species=3, pa=pa)).add_existing_protection()
         .add_max_utility_objective(budget_km2=0.0))
    with pytest.raises(InfeasibleProblemError, match=r"^frontier: no plan fits the base "
                                                     r"problem: locked-in area 1\.6 km²"):
        frontier(p, points=3)


# ================================================================ --set paths: the current folder

def test_a_path_given_with_set_is_relative_to_the_current_folder(tmp_path, capsys, monkeypatch):
    # The scenario's own grid is next to it; the one given on the command line is in the
    # folder the command runs from, as a shell user means it (git, GDAL).
    from optimizer import write_grid

    f = _scenario(tmp_path / "scenarios")
    write_grid(box_grid(4, 4, seed=2, n_species=3), tmp_path / "work" / "other")
    monkeypatch.chdir(tmp_path / "work")
    code, text, err = run_cli(["solve", f, "--out", tmp_path / "out", "--set", "grid.path=other"],
                              capsys)
    assert code == 0, err
    used = str(tmp_path / "work" / "other")
    assert f"--set grid.path = {used!r}" in text  # printed as resolved
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert sum(summary["units"].values()) == 16  # the 4 x 4 grid given, not the 5 x 5 beside
    record = json.loads((tmp_path / "out" / "scenario.json").read_text(encoding="utf-8"))
    assert used in json.dumps(record)


def test_a_missing_path_given_with_set_names_the_resolved_absolute_path(tmp_path, capsys,
                                                                       monkeypatch):
    f = _scenario(tmp_path / "scenarios")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    before = tree_hash(tmp_path)
    for key, name, what in (("grid.path", "nope", "does not exist"),
                            ("grid.manifest", "nope.toml", "does not exist")):
        code, _, err = run_cli(["solve", f, "--out", tmp_path / "out", "--set",
                                f"{key}={name}"], capsys)
        line = assert_one_line_error(code, err)
        assert f"'{tmp_path / 'work' / name}' {what} (looked for {tmp_path / 'work' / name})" \
            in line, line
    assert tree_hash(tmp_path) == before


def test_a_missing_grid_folder_in_a_file_names_where_it_was_looked_for(tmp_path, capsys):
    f = tmp_path / "scenarios" / "s.toml"
    f.parent.mkdir()
    f.write_text(SCENARIO.replace('path = "grid"', 'path = "../grids/g"'), encoding="utf-8")
    code, _, err = run_cli(["solve", f, "--out", tmp_path / "out"], capsys)
    line = assert_one_line_error(code, err, contains="[grid] path '../grids/g' does not exist "
                                                     "(looked for ")
    assert f"{tmp_path / 'scenarios'}/../grids/g)" in line
