"""``carbonpark portfolio``: the files equal the library's portfolio of the same scenario;
the user's mistakes are one line and write nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from helpers import assert_one_line_error, box_grid, run_cli, tree_hash

from optimizer.scenario import Scenario
from optimizer.studies.portfolio import portfolio


def _scenario(tmp_path):
    from optimizer import write_grid

    write_grid(box_grid(4, 4, seed=6, n_species=3), tmp_path / "grid")
    path = tmp_path / "s.toml"
    path.write_text('schema_version = 1\n[grid]\npath = "grid"\n[budget]\nshare = 0.25\n'
                    '[solver]\ngap = 0\n', encoding="utf-8")
    return path


def test_portfolio_files_equal_the_library(tmp_path, capsys):
    path = _scenario(tmp_path)
    code, out, err = run_cli(["portfolio", path, "--out", tmp_path / "pf", "--n", "4",
                              "--gap", "0.5", "--min-distance", "2"], capsys)
    assert code == 0, err
    assert "distinct plans within 50% of the best (each at least 2 units" in out
    sc = Scenario.load(path)
    lib = portfolio(sc.to_problem(sc.load_grid()), 4, gap=0.5, min_distance=2, solve_gap=0.0)
    table = pd.read_csv(tmp_path / "pf" / "portfolio.csv")
    assert np.allclose(table["objective"], lib.table["objective"])
    freq = pd.read_csv(tmp_path / "pf" / "frequency.csv")
    plans = freq[[c for c in freq.columns if c.startswith("plan_")]].to_numpy()
    assert plans.shape[1] == len(table)
    assert np.allclose(plans.mean(axis=1), freq["frequency"])
    assert (np.abs(plans[:, :, None] - plans[:, None, :]).sum(axis=0)
            + 99 * np.eye(plans.shape[1]) >= 2).all()
    facts = json.loads((tmp_path / "pf" / "portfolio.json").read_text(encoding="utf-8"))
    assert facts["plans"] == len(table) and facts["min_distance"] == 2


def test_portfolio_refuses_the_users_mistakes_and_writes_nothing(tmp_path, capsys):
    path = _scenario(tmp_path)
    before = tree_hash(tmp_path)
    for args, says in [
        (["portfolio", path, "--out", tmp_path / "pf", "--gap", "-1"],
         "argument --gap: must be a share in [0, 1]"),
        (["portfolio", path, "--out", tmp_path / "pf", "--min-distance", "0"],
         "argument --min-distance"),
        (["portfolio", path, "--out", tmp_path / "pf", "--n", "0"], "--n"),
        (["portfolio", path, "--out", tmp_path / "grid"], "grid"),
        (["portfolio", path, "--out", tmp_path / "pf", "--set", "budget.shar=0.1"], "shar"),
        (["portfolio", path, "--out", tmp_path / "pf", "--workers", "2"],
         "--workers and --scheduler apply to --method shuffle"),
        (["portfolio", path, "--out", tmp_path / "pf", "--method", "shuffle", "--scheduler",
          "nowhere"], "scheduler"),
    ]:
        code, _, err = run_cli(args, capsys)
        assert_one_line_error(code, err, contains=says)
    assert tree_hash(tmp_path) == before


def test_a_shuffle_portfolio_by_the_command_equals_the_library(tmp_path, capsys):
    from optimizer.studies.portfolio_shuffle import shuffle_portfolio

    path = _scenario(tmp_path)
    code, _, err = run_cli(["portfolio", path, "--out", tmp_path / "pf", "--n", "3",
                              "--method", "shuffle", "--seed", "5", "--workers", "2"], capsys)
    assert code == 0, err
    sc = Scenario.load(path)
    lib = shuffle_portfolio(sc.to_problem(sc.load_grid()), 3, solver=sc.solver.backend,
                            solve_gap=0.0, seed=5)
    table = pd.read_csv(tmp_path / "pf" / "portfolio.csv")
    assert np.allclose(table["objective"], lib.table["objective"])
    freq = pd.read_csv(tmp_path / "pf" / "frequency.csv")
    assert np.allclose(freq["frequency"], lib.frequency["frequency"])
