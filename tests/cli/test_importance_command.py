"""``carbonpark importance``: a solve folder's replacement importance written as csv, json
and GeoTIFF, equal to the library's and to brute force; the user's mistakes are one line
and write nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, box_grid, run_cli, tree_hash

from optimizer.outputs.solve_folder import read_solution
from optimizer.studies.importance import importance


@pytest.fixture()
def solved(tmp_path, capsys):
    from optimizer import write_grid

    write_grid(box_grid(4, 4, seed=3, n_species=3), tmp_path / "grid")
    (tmp_path / "s.toml").write_text(
        'schema_version = 1\n[grid]\npath = "grid"\n[budget]\nshare = 0.25\n'
        '[solver]\ngap = 0\n', encoding="utf-8")
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert code == 0, err
    return tmp_path


def test_importance_of_a_solve_folder_is_written_and_equals_the_library(solved, capsys):
    code, out, err = run_cli(["importance", solved / "plan", "--out", solved / "imp",
                              "--workers", "2"], capsys)
    assert code == 0, err
    assert "replacement importance of" in out and "exact (gap 0) for all" in out
    table = pd.read_csv(solved / "imp" / "importance.csv")
    folder = read_solution(solved / "plan")
    lib = importance(folder.problem, folder.x, gap=0.0)
    assert np.allclose(table["importance"], lib.table["importance"])
    assert table["added"].sum() == int(((folder.status == "added")).sum())
    facts = json.loads((solved / "imp" / "importance.json").read_text(encoding="utf-8"))
    assert facts["added_units"] == table["added"].sum() and facts["gap"] == 0.0
    assert (solved / "imp" / "importance.png").stat().st_size > 0  # the map
    assert not (solved / "imp" / "importance.tif").exists()  # not a square grid
    assert "importance.tif" not in out


def test_a_square_grid_gets_a_geotiff_that_sums_back(tmp_path, capsys):
    import rasterio

    from optimizer.datasets import example_files

    scenario = example_files().scenarios / "balanced.toml"
    code, _, err = run_cli(["solve", scenario, "--out", tmp_path / "plan", "--set",
                            "budget.share=0.02"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["importance", tmp_path / "plan", "--out", tmp_path / "imp"],
                             capsys)
    assert code == 0, err
    assert "importance.tif" in out and "importance.png" in out
    assert (tmp_path / "imp" / "importance.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "imp" / "importance.csv")
    with rasterio.open(tmp_path / "imp" / "importance.tif") as src:
        pct, irreplaceable = src.read(1), src.read(2)
    finite = np.isfinite(table["importance_pct"])
    assert np.nansum(pct) == pytest.approx(table.loc[finite, "importance_pct"].sum(), rel=1e-5)
    assert np.nansum(irreplaceable) == (~finite).sum()


def test_importance_refuses_the_users_mistakes_and_writes_nothing(solved, capsys):
    before = tree_hash(solved)
    for args, says in [
        (["importance", solved / "grid", "--out", solved / "imp"], "carbonpark grid output"),
        (["importance", solved / "plan", "--out", solved / "plan"], "plan"),
        (["importance", solved / "plan", "--out", solved / "imp", "--workers", "0"],
         "--workers"),
        (["importance", solved / "plan", "--out", solved / "imp", "--scheduler", "nowhere"],
         "scheduler"),
        (["importance", solved / "plan", "--out", solved / "imp", "--gap", "-1"],
         "argument --gap: must be a share in [0, 1]"),
    ]:
        code, _, err = run_cli(args, capsys)
        assert_one_line_error(code, err, contains=says)
    assert tree_hash(solved) == before
