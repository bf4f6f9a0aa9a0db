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


def _solve(tmp_path, capsys, keys: str):
    """A 4 x 4 box grid solved at gap 0 with the scenario ``keys`` into ``plan``."""
    from optimizer import write_grid

    write_grid(box_grid(4, 4, seed=3, n_species=3), tmp_path / "grid")
    (tmp_path / "s.toml").write_text(
        f'schema_version = 1\n[grid]\npath = "grid"\n{keys}[solver]\ngap = 0\n',
        encoding="utf-8")
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert code == 0, err
    return tmp_path


@pytest.fixture()
def solved(tmp_path, capsys):
    return _solve(tmp_path, capsys, "[budget]\nshare = 0.25\n")


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


def _gpkg_sums(path, column: str) -> tuple[float, float, int]:
    """SUM of a column of the importance layer by pyogrio and by GDAL's ogrinfo, and the
    number of polygons."""
    import re

    import pyogrio
    from helpers import gdal

    layer = pyogrio.read_dataframe(path, layer="importance")
    out = gdal("ogrinfo", "-ro", "-q", str(path), "-sql",
               f'SELECT SUM("{column}") AS s, COUNT(*) AS n FROM "importance"')
    s = float(re.search(r"^\s+s \(Real\) = (\S+)$", out, re.M).group(1))
    assert int(re.search(r"^\s+n \(Integer\S*\) = (\d+)$", out, re.M).group(1)) == len(layer)
    return float(layer[column].sum()), s, len(layer)


def test_the_geopackage_layer_sums_back_to_the_table(solved, capsys):
    code, out, err = run_cli(["importance", solved / "plan", "--out", solved / "imp"], capsys)
    assert code == 0, err
    assert "importance.gpkg" in out
    table = pd.read_csv(solved / "imp" / "importance.csv")
    by_pyogrio, by_ogr, n = _gpkg_sums(solved / "imp" / "importance.gpkg", "importance")
    shown = table["added"] | (table["importance"] != 0)
    assert n == int(shown.sum()) > 0
    assert by_pyogrio == pytest.approx(table["importance"].sum(), rel=1e-9)
    assert by_ogr == pytest.approx(table["importance"].sum(), rel=1e-6)


@pytest.fixture()
def solved_min_set(tmp_path, capsys):
    return _solve(tmp_path, capsys,
                  '[objective]\nkind = "min_set"\n[targets]\nrelative = { biodiversity = 0.4 }\n')


def test_ferrier_and_rank_by_the_command_equal_the_library(solved_min_set, capsys):
    folder = read_solution(solved_min_set / "plan")
    for method, extra in [("ferrier", []), ("rank", ["--increments", "3"])]:
        out_dir = solved_min_set / method
        code, out, err = run_cli(["importance", solved_min_set / "plan", "--out", out_dir,
                                  "--method", method, *extra], capsys)
        assert code == 0, err
        assert f"{method} importance" in out
        table = pd.read_csv(out_dir / "importance.csv")
        lib = importance(folder.problem, folder.x, method=method, increments=3, gap=0.0)
        assert np.allclose(table["importance"], lib.table["importance"])
        facts = json.loads((out_dir / "importance.json").read_text(encoding="utf-8"))
        assert facts["method"] == method
        by_pyogrio, by_ogr, _ = _gpkg_sums(out_dir / "importance.gpkg", "importance")
        assert by_pyogrio == pytest.approx(table["importance"].sum(), rel=1e-9)
        assert by_ogr == pytest.approx(table["importance"].sum(), rel=1e-6)
    ferrier = pd.read_csv(solved_min_set / "ferrier" / "importance.csv")
    per_feature = [c for c in ferrier.columns if c.startswith("ferrier_")]
    assert per_feature and np.allclose(ferrier[per_feature].sum(axis=1), ferrier["importance"])
    assert len(json.loads((solved_min_set / "rank" / "importance.json").read_text(
        encoding="utf-8"))["increments"]) == 3


def test_ferrier_on_a_max_utility_plan_is_a_one_line_error(solved, capsys):
    before = tree_hash(solved)
    code, _, err = run_cli(["importance", solved / "plan", "--out", solved / "imp",
                            "--method", "ferrier"], capsys)
    assert_one_line_error(code, err, contains="'ferrier' needs the min set objective")
    assert tree_hash(solved) == before
