"""``[[locks.locked_out]] file = "..."`` and ``[[locks.locked_in]]`` (issue 24 item 6): a
polygon file laid over the grid at solve time, end to end through ``carbonpark solve``
(summary.json's ``locks``, the console, solution.parquet), its shares cached by the file's
content, and the planner's mistakes as one line naming the table and the fix, exit 2,
nothing written."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import assert_one_line_error, box_grid, console_rows, run_cli

from optimizer.errors import CRSWarning, ScenarioError
from optimizer.scenario import Scenario
from optimizer.scenario import lock_files as lock_files_module
from optimizer.scenario.inputs import scenario_inputs

#: On the 3 x 3 grid of 1 km boxes (x from 0 to 3000 m, y from 0 down to -3000 m): the whole
#: top row (pu_id 100, 101, 102), 0.6 of the middle row's first box (103) and a quarter of
#: the bottom row's last box (108).
CONCESSION = [shapely.box(0, -1000, 3000, 0), shapely.box(0, -2000, 600, -1000),
              shapely.box(2000, -3000, 3000, -2750)]


def write_polygons(path, geoms, *, crs="EPSG:4326", layer=None):
    """The polygons (given in the grid's EPSG:6933) written in ``crs``."""
    series = gpd.GeoSeries(geoms, crs="EPSG:6933")
    frame = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(geoms))]},
                             geometry=series.to_crs(crs) if crs else gpd.GeoSeries(list(geoms)),
                             crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio's note on a file written without a CRS
        frame.to_file(path, layer=layer)
    return path


@pytest.fixture
def folder(tmp_path):
    from optimizer import write_grid

    write_grid(box_grid(3, 3, seed=5), tmp_path / "grid")
    write_polygons(tmp_path / "concessions.gpkg", CONCESSION)
    return tmp_path


def scenario_text(locks: str) -> str:
    return ('schema_version = 1\n[grid]\npath = "grid"\n[budget]\nkm2 = 3\n[weights]\n'
            f"biomass = 1\n[solver]\nbackend = \"highs\"\ngap = 0.0\n{locks}")


OUT = '[[locks.locked_out]]\nfile = "concessions.gpkg"\n'


def test_solve_locks_out_the_units_the_file_covers(folder, capsys):
    (folder / "s.toml").write_text(scenario_text(OUT + "min_share = 0.5\n"), encoding="utf-8")
    code, out, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert summary["locks"] == {"concessions.gpkg covering >= 50% of a unit": {
        "locked": "out", "units": 4, "km2": 4.0, "file": "concessions.gpkg"}}
    assert summary["definitions"]["lock_units"]["path"] == "locks.{lock}.units"
    plan = pd.read_parquet(folder / "plan" / "solution.parquet")
    out_ids = plan.loc[plan["status"] == "locked out", "pu_id"].tolist()
    assert out_ids == [100, 101, 102, 103]
    assert not plan.loc[plan["pu_id"].isin(out_ids), "x"].any()
    assert console_rows(out)["locked out: concessions.gpkg covering >= 50% of a unit"] == \
        "4 units (4 km²)"
    # min_share 0.25 takes the quarter-covered box too; 0.7 leaves the box 0.6 inside.
    for share, n in ((0.25, 5), (0.7, 3)):
        (folder / "s.toml").write_text(scenario_text(OUT + f"min_share = {share}\n"),
                                       encoding="utf-8")
        p = Scenario.load(folder / "s.toml").to_problem()
        assert int(p.locked_masks()[1].sum()) == n
    # The solve folder reads back (export, report): the lock rebuilt from the cached shares.
    from optimizer.outputs.solve_folder import read_solution

    assert int(read_solution(folder / "plan").problem.locked_masks()[1].sum()) == 4


def test_locked_in_by_a_planned_reserve_and_a_layer(folder, capsys):
    gpkg = folder / "plans.gpkg"
    write_polygons(gpkg, [shapely.box(2000, -3000, 3000, -2000)], layer="reserves")
    write_polygons(gpkg, CONCESSION, layer="roads")
    text = scenario_text('[[locks.locked_in]]\nfile = "plans.gpkg"\nlayer = "reserves"\n'
                         'label = "planned reserve"\n')
    (folder / "s.toml").write_text(text, encoding="utf-8")
    code, out, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert summary["locks"] == {"planned reserve": {"locked": "in", "units": 1, "km2": 1.0,
                                                    "file": "plans.gpkg (layer 'reserves')"}}
    plan = pd.read_parquet(folder / "plan" / "solution.parquet")
    assert plan.set_index("pu_id").loc[108, "x"] == 1
    assert "locked in: planned reserve" in console_rows(out)


def test_the_shares_are_cached_by_the_files_content(folder, monkeypatch):
    (folder / "s.toml").write_text(scenario_text(OUT), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    first = s.to_problem().locked_masks()[1]
    cached = sorted((folder / ".carbonpark-cache").glob("lock-*.npy"))
    assert len(cached) == 1
    np.testing.assert_allclose(np.load(cached[0]), [1, 1, 1, 0.6, 0, 0, 0, 0, 0.25], atol=1e-9)

    def no_overlay(*args, **kwargs):
        raise AssertionError("the shares were computed again")

    monkeypatch.setattr(lock_files_module, "polygon_shares", no_overlay)
    hash_before = Scenario.load(folder / "s.toml").hash
    again = Scenario.load(folder / "s.toml").to_problem().locked_masks()[1]
    assert again.tolist() == first.tolist()
    # An edited file is a new key: computed again (here: the patched overlay is called).
    write_polygons(folder / "concessions.gpkg", CONCESSION[:1])
    assert Scenario.load(folder / "s.toml").hash != hash_before  # a new scenario for sweeps
    with pytest.raises(AssertionError, match="computed again"):
        Scenario.load(folder / "s.toml").to_problem()
    monkeypatch.undo()
    edited = Scenario.load(folder / "s.toml").to_problem().locked_masks()[1]
    assert edited.nonzero()[0].tolist() == [0, 1, 2]
    assert len(list((folder / ".carbonpark-cache").glob("lock-*.npy"))) == 2
    # A damaged cache file is computed again, not trusted.
    for f in (folder / ".carbonpark-cache").glob("lock-*.npy"):
        f.write_bytes(b"damaged")
    assert Scenario.load(folder / "s.toml").to_problem().locked_masks()[1].sum() == 3


def test_the_lock_files_are_inputs_never_outputs(folder, capsys):
    (folder / "s.toml").write_text(scenario_text(OUT), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    assert {folder / "concessions.gpkg", folder / ".carbonpark-cache"} <= set(scenario_inputs(s))
    before = (folder / "concessions.gpkg").read_bytes()
    for out in (folder / "concessions.gpkg", folder / ".carbonpark-cache"):
        code, _, err = run_cli(["solve", folder / "s.toml", "--out", out, "--overwrite"], capsys)
        assert_one_line_error(code, err)
    assert (folder / "concessions.gpkg").read_bytes() == before


def test_a_file_that_covers_no_unit_warns_and_locks_nothing(folder, capsys):
    write_polygons(folder / "elsewhere.gpkg", [shapely.box(5e6, 5e6, 5.1e6, 5.1e6)],
                   crs="EPSG:6933")
    (folder / "s.toml").write_text(scenario_text('[[locks.locked_out]]\nfile = "elsewhere.gpkg"\n'),
                                   encoding="utf-8")
    # The CLI prints it as "carbonpark: warning: <message>" (pytest records it instead).
    with pytest.warns(CRSWarning, match="^file 'elsewhere.gpkg': its polygons cover no unit of "
                                        "the grid, so the lock locks nothing"):
        code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert summary["locks"]["elsewhere.gpkg covering >= 50% of a unit"]["units"] == 0
    with pytest.warns(CRSWarning, match="^file 'elsewhere.gpkg': its polygons cover no unit"):
        code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err


def test_a_shapefile_counts_with_its_sidecars(folder):
    write_polygons(folder / "roads.shp", CONCESSION, crs="EPSG:3857")
    (folder / "s.toml").write_text(scenario_text('[[locks.locked_out]]\nfile = "roads.shp"\n'),
                                   encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    names = {p.name for p in scenario_inputs(s)}
    assert {"roads.shp", "roads.shx", "roads.dbf", "roads.prj"} <= names
    assert int(s.to_problem().locked_masks()[1].sum()) == 4


@pytest.mark.parametrize(("locks", "setup", "words"), [
    ('file = "missing.gpkg"', None,
     "[locks.locked_out[1]] file 'missing.gpkg': file not found; check the path (a scenario's "
     "paths are relative to the scenario file's folder)"),
    ('file = "junk.gpkg"', "junk",
     "[locks.locked_out[1]] file 'junk.gpkg': cannot be read as a vector file"),
    ('file = "empty.gpkg"', "empty", "[locks.locked_out[1]] file 'empty.gpkg': holds no features"),
    ('file = "concessions.gpkg"\nlayer = "concesions"', None,
     "[locks.locked_out[1]] file 'concessions.gpkg': no layer 'concesions'; its layers: "
     "['concessions']; did you mean 'concessions'?"),
    ('file = "nocrs.shp"', "nocrs",
     "[locks.locked_out[1]] file 'nocrs.shp': has no CRS, so its polygons cannot be placed on "
     "the grid; set its CRS (e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg) and give that file"),
    ('file = "concessions.gpkg"\nmin_share = 0', None, "[locks.locked_out[1]] min_share: must be > 0"),
    ('file = "concessions.gpkg"\nmin_share = 1.5', None,
     "[locks.locked_out[1]] min_share: must be <= 1"),
    ('ids = [100]\nmin_share = 0.5', None,
     "[locks.locked_out[1]] min_share applies to a polygon file: add file = \"...\" or remove "
     "min_share"),
    ('file = "concessions.gpkg"\ncolumn = "keep"', None,
     "[locks.locked_out[1]] give one of column, ids or file, not both"),
])
def test_a_wrong_polygon_lock_is_one_line_and_writes_nothing(locks, setup, words, folder, capsys):
    if setup == "junk":
        (folder / "junk.gpkg").write_text("not a geopackage")
    elif setup == "empty":
        gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326").to_file(folder / "empty.gpkg")
    elif setup == "nocrs":
        write_polygons(folder / "nocrs.shp", CONCESSION, crs=None)
    (folder / "s.toml").write_text(scenario_text(f"[[locks.locked_out]]\n{locks}\n"),
                                   encoding="utf-8")
    out = folder / "plan"
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", out], capsys)
    assert_one_line_error(code, err, contains=words)
    assert not out.exists() and not (folder / ".carbonpark-cache").exists()
    code, _, err = run_cli(["scenario", "check", folder / "s.toml"], capsys)
    assert_one_line_error(code, err, contains=words)


def test_a_lock_file_is_checked_before_the_grid_is_built(tmp_path, capsys):
    # A manifest grid: the missing lock file is named before any build (no cache folder).
    manifest = Path(__file__).resolve().parents[2] / "data" / "demo.toml"
    text = (f'schema_version = 1\n[grid]\nmanifest = "{manifest.as_posix()}"\ncell_km = 40\n'
            f'cache = "{(tmp_path / "cache").as_posix()}"\n[budget]\nshare = 0.1\n'
            '[[locks.locked_out]]\nfile = "missing.gpkg"\n')
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert_one_line_error(code, err, contains="file 'missing.gpkg': file not found")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "plan").exists()


def test_on_the_demo_grid_the_shares_match_an_independent_overlay(tmp_path):
    from optimizer.datasets import demo_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pu = demo_grid(40)
    xmin, ymin, xmax, ymax = pu.units.total_bounds
    # A tilted strip across the country (a corridor), written in lon/lat.
    strip = shapely.Polygon([(xmin, ymin + 0.3 * (ymax - ymin)), (xmax, ymin + 0.5 * (ymax - ymin)),
                             (xmax, ymin + 0.6 * (ymax - ymin)), (xmin, ymin + 0.4 * (ymax - ymin))])
    corridor = gpd.GeoDataFrame({"name": ["corridor"]}, geometry=[strip], crs=pu.units.crs)
    corridor.to_crs("EPSG:4326").to_file(tmp_path / "corridor.gpkg")
    s = Scenario.loads(f'schema_version = 1\n[grid]\npath = "unused"\ncache = "{tmp_path / "c"}"\n'
                       '[budget]\nshare = 0.1\n[[locks.locked_out]]\nfile = "corridor.gpkg"\n',
                       base=tmp_path)
    (_, entry), = lock_files_module.lock_entries(s)
    got = lock_files_module.lock_shares(s, pu, entry).share
    # Independently: geopandas' overlay of the units with the file read back in the grid's CRS.
    units = gpd.GeoDataFrame({"i": np.arange(len(pu))}, geometry=pu.units.geometry.values,
                             crs=pu.units.crs)
    back = gpd.read_file(tmp_path / "corridor.gpkg").to_crs(pu.units.crs)
    pieces = gpd.overlay(units, back, how="intersection")
    want = np.zeros(len(pu))
    np.add.at(want, pieces["i"].to_numpy(), pieces.area.to_numpy())
    want /= units.area.to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert 0 < (got >= 0.5).sum() < len(pu) and ((got > 0) & (got < 1)).any()
    p = s.to_problem(pu)
    assert p.locked_masks()[1].sum() == ((got >= 0.5) & ~p.existing_protection_mask()).sum()


def test_a_scenario_error_names_the_table(folder):
    (folder / "s.toml").write_text(scenario_text('[[locks.locked_in]]\nfile = "nope.gpkg"\n'),
                                   encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"s.toml: \[locks.locked_in\[1\]\] file 'nope.gpkg': "
                                            "file not found"):
        Scenario.load(folder / "s.toml").to_problem()
