"""``[[zones]]`` end to end (issue 24 item 3): a zoned scenario through ``carbonpark solve``
(solution.parquet's zone, summary.json's zones, the console, zones.csv) and ``carbonpark
export`` (every format's zone columns summed back, by GDAL's ogrinfo too), the zoned plan
against brute force, and the planner's mistakes as one line naming the table."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import _ogr_sums, assert_one_line_error, box_grid, console_rows, run_cli

from optimizer.plan.zoned import zoned_objective, zoned_violations
from optimizer.scenario import Scenario

PA = [0, 0, 0, 0, 1.0, 0, 0, 0, 0]


def zone_grid():
    rng = np.random.default_rng(3)
    feats = {"biomass": ("carbon_stock", rng.uniform(1, 10, 9).round(2)),
             "sp_1": ("biodiversity", rng.uniform(0, 1, 9).round(2)),
             "sp_2": ("biodiversity", rng.uniform(0, 1, 9).round(2))}
    return box_grid(3, 3, features=feats, pa=PA)


@pytest.fixture
def folder(tmp_path):
    from optimizer import write_grid

    write_grid(zone_grid(), tmp_path / "grid")
    return tmp_path


ZONES = '''
[[zones]]
name = "core"
max_km2 = 2
boundary_penalty = 0.01
[[zones]]
name = "general"
contribution = {biomass = 0.8, biodiversity = 0.5}
locked_out = [{ids = [100]}]
'''


def scenario_text(extra: str = ZONES, budget: str = "km2 = 4") -> str:
    return (f'schema_version = 1\n[grid]\npath = "grid"\n[budget]\n{budget}\n'
            f'[weights]\nbiomass = 1\nsp_1 = 1\nsp_2 = 1\n[solver]\nbackend = "highs"\n'
            f'gap = 0.0\n[penalties.boundary]\npenalty = 0.02\n{extra}')


def test_solve_writes_the_zones_and_they_add_up(folder, capsys):
    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    assert "Zones: core (at most 2 km²; perimeter 0.01 per km), general (holds biomass 0.8, " \
           "biodiversity 0.5)." in s.describe()
    code, out, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    plan = pd.read_parquet(folder / "plan" / "solution.parquet")
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    zone_names = plan["zone"].to_numpy()
    assert set(zone_names) <= {"", "core", "general"}
    assert ((zone_names != "") == (plan["x"] == 1)).all()
    assert zone_names[0] != "general"  # pu_id 100 is locked out of general
    # The zoned plan is the brute-force optimum over every assignment of 9 units to 2 zones.
    zp = s.to_zoned_problem(zone_grid())
    zone = np.select([zone_names == "core", zone_names == "general"], [0, 1], -1)
    best = max(zoned_objective(zp, np.array(z)) for z in itertools.product(range(-1, 2), repeat=9)
               if not zoned_violations(zp, np.array(z)))
    assert summary["objective"] == pytest.approx(best, abs=1e-9)
    assert zoned_objective(zp, zone) == pytest.approx(best, abs=1e-9)
    # summary.json's zones: from the plan by hand.
    new = (1 - np.array(PA)) * 1.0
    for name in ("core", "general"):
        z = summary["zones"][name]
        assert z["units"] == int((zone_names == name).sum())
        assert z["new_km2"] == pytest.approx(float(new[zone_names == name].sum()))
    assert summary["zones"]["core"]["new_km2"] <= 2 + 1e-9
    assert sum(z["new_km2"] for z in summary["zones"].values()) == pytest.approx(summary["new_km2"])
    assert summary["definitions"]["zone_new_km2"]["path"] == "zones.{zone}.new_km2"
    # The held amounts: the general zone's biomass counts 0.8 of each unit's.
    biomass = zone_grid().units["biomass"].to_numpy()
    assert summary["zones"]["general"]["held"]["biomass"] == pytest.approx(
        0.8 * float((biomass * new)[zone_names == "general"].sum()))
    table = pd.read_csv(folder / "plan" / "zones.csv", index_col="zone")
    assert table.loc["core", "new_km2"] == pytest.approx(summary["zones"]["core"]["new_km2"])
    # The console prints each zone's line, in summary.json's digits.
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("core "))
    assert line.split()[1:3] == [str(summary["zones"]["core"]["units"]),
                                 f"{summary['zones']['core']['new_km2']:,.0f}"]
    assert console_rows(out)  # the main table is still there


def test_export_carries_the_zones_in_every_format(folder, capsys):
    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    assert run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)[0] == 0
    code, _, err = run_cli(["export", folder / "plan", "--out", folder / "ex"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    g = folder / "ex" / "parks.gpkg"
    parks = pyogrio.read_dataframe(g, layer="parks")
    units = pyogrio.read_dataframe(g, layer="added_units")
    geo = json.loads((folder / "ex" / "parks.geojson").read_text(encoding="utf-8"))
    for name in ("core", "general"):
        want = summary["zones"][name]["new_km2"]
        col = f"zone_{name}_km2"
        assert parks[col].sum() == pytest.approx(want)
        assert sum(f["properties"][col] for f in geo["features"]) == pytest.approx(want)
        assert pd.read_parquet(folder / "ex" / "parks.parquet")[col].sum() == pytest.approx(want)
        assert _ogr_sums(str(g), "parks", area=col)[0] == pytest.approx(want, abs=1e-6)
        assert units.loc[units["zone"] == name, "new_km2"].sum() == pytest.approx(want)


@pytest.mark.parametrize(("extra", "message"), [
    ('[[zones]]\nname = "core"\n', "give two or more [[zones]]"),
    ('[[zones]]\nname = "a"\n[[zones]]\nname = "a"\n', "names must be unique"),
    ('[[zones]]\nname = "a"\ncontribution = {biomass = 0.5}\n[[zones]]\nname = "b"\n',
     "zone 'a' has no contribution for 2 feature(s)"),
    ('[[zones]]\nname = "a"\ncontribution = {biomass = 1.5}\n[[zones]]\nname = "b"\n',
     "not a share in [0, 1]"),
    ('[[zones]]\nname = "a"\ntargets = {nope = 0.1}\n[[zones]]\nname = "b"\n',
     "is not a feature"),
    ('[[zones]]\nname = "a"\nlocked_in = [{ids = [99]}]\n[[zones]]\nname = "b"\n', "99"),
    ('[[zones]]\nname = "a"\nmin_km2 = 3\nmax_km2 = 1\n[[zones]]\nname = "b"\n',
     "min_km2 3 is above max_km2 1"),
])
def test_zone_mistakes_are_one_line_errors_before_any_work(extra, message, folder, capsys):
    (folder / "s.toml").write_text(scenario_text(extra), encoding="utf-8")
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert_one_line_error(code, err, contains=message)
    assert "zones" in err
    assert not (folder / "plan").exists()
    code, _, err = run_cli(["scenario", "check", folder / "s.toml"], capsys)
    assert_one_line_error(code, err, contains=message)


def test_scenario_check_prints_the_zones(folder, capsys):
    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    code, out, err = run_cli(["scenario", "check", folder / "s.toml"], capsys)
    assert code == 0, err
    assert "  core: 9 units allowed; holds biomass 1, sp_1 1, sp_2 1" in out
    assert "  general: 8 units allowed; holds biomass 0.8, sp_1 0.5, sp_2 0.5" in out


def test_solve_scenario_and_a_sweep_solve_the_zones(folder):
    from optimizer.scenario import solve_scenario
    from optimizer.studies.sweep_worker import run_one

    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    zp = s.to_zoned_problem(zone_grid())
    best = max(zoned_objective(zp, np.array(z)) for z in itertools.product(range(-1, 2), repeat=9)
               if not zoned_violations(zp, np.array(z)))
    assert solve_scenario(s).objective == pytest.approx(best, abs=1e-9)
    record = run_one(s.to_dict(), str(folder), "k", "solve")
    assert record["status"] == "optimal" and record["objective"] == pytest.approx(best, abs=1e-9)
    record = run_one(s.to_dict(), str(folder), "k", "path:cut")
    assert record["status"] == "infeasible" and "does not take management zones" in \
        record["message"]


@pytest.mark.parametrize("command", ["frontier", "portfolio", "importance"])
def test_commands_without_zones_refuse_them_in_one_line(command, folder, capsys):
    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    source = folder / "s.toml"
    if command == "importance":  # it starts from a solve folder
        assert run_cli(["solve", source, "--out", folder / "plan"], capsys)[0] == 0
        source = folder / "plan"
    code, _, err = run_cli([command, source, "--out", folder / "f"], capsys)
    assert_one_line_error(code, err,
                          contains=f"carbonpark {command} does not take management zones")
    assert not (folder / "f").exists()


def test_a_zone_lock_from_a_polygon_file_is_an_input_and_holds(folder, capsys):
    import shapely
    from test_polygon_lock_scenario import write_polygons

    from optimizer.scenario.inputs import scenario_inputs

    # The top row (pu_id 100-102) may only be core; 103 is 0.6 inside, 108 a quarter.
    write_polygons(folder / "valley.gpkg", [shapely.box(0, -1000, 3000, 0),
                                           shapely.box(0, -2000, 600, -1000)])
    extra = ZONES.replace('locked_out = [{ids = [100]}]',
                          'locked_out = [{file = "valley.gpkg", min_share = 0.5}]')
    (folder / "s.toml").write_text(scenario_text(extra), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    assert folder / "valley.gpkg" in [p.resolve() for p in scenario_inputs(s)]
    zp = s.to_zoned_problem(zone_grid())
    assert zp.allowed[1].tolist() == [False] * 4 + [True] * 5
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    zone_names = pd.read_parquet(folder / "plan" / "solution.parquet")["zone"].to_numpy()
    assert not (zone_names[:4] == "general").any()
    # --out over the polygon file is refused: it is an input.
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "valley.gpkg",
                            "--overwrite"], capsys)
    assert code == 2 and (folder / "valley.gpkg").is_file()


def test_the_report_s_zone_table_reads_summary_json(folder, capsys):
    from optimizer.outputs.report_zones import zones_html
    from optimizer.plan.quantities import QUANTITIES as Q

    (folder / "s.toml").write_text(scenario_text(), encoding="utf-8")
    assert run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)[0] == 0
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    html = zones_html(summary)
    for name, z in summary["zones"].items():
        row = (f'<td class="t">{name}</td><td class="s">{z["units"]}</td><td class="s">'
               f'{Q["zone_new_km2"].text(summary, zone=name)}</td>')
        assert row in html
    assert zones_html({"zones": {}}) == ""
