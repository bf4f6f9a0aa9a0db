"""``[budget] cost`` with ``cost_layer`` (issue 24 item 4): a scenario's cost budget end to end
through ``carbonpark solve`` (summary.json's ``costs``, the console), and the planner's
mistakes as one line naming ``[budget]`` and the fix, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, box_grid, console_rows, run_cli

from optimizer.errors import ScenarioError
from optimizer.scenario import Scenario

PRICE = [4.0, 2.0, 0.5, 1.5, 4.5, 5.0, 3.0, 4.0, 3.0]


def cost_grid(price=PRICE):
    rng = np.random.default_rng(0)
    feats = {"biomass": ("carbon_stock", rng.uniform(0, 10, 9).round(2)),
             "sp_1": ("biodiversity", rng.uniform(0, 1, 9).round(2)),
             "land_price": ("cost", np.asarray(price, dtype=float))}
    return box_grid(3, 3, features=feats, pa=[0, 0.5, 0, 0, 0.2, 0, 0, 0, 1.0])


@pytest.fixture
def folder(tmp_path):
    from optimizer import write_grid

    write_grid(cost_grid(), tmp_path / "grid")
    return tmp_path


def scenario_text(budget: str, extra: str = "") -> str:
    return (f'schema_version = 1\n[grid]\npath = "grid"\n[budget]\n{budget}\n'
            f"[weights]\nbiomass = 1\n{extra}")


@pytest.mark.parametrize(("budget", "area"), [
    ('cost = 7\ncost_layer = "land_price"', None),
    ('km2 = 3\ncost = 7\ncost_layer = "land_price"', 3.0),
])
def test_solve_reports_the_plans_cost_against_the_budget(budget, area, folder, capsys):
    from optimizer.model.compile import compile

    (folder / "s.toml").write_text(scenario_text(budget), encoding="utf-8")
    s = Scenario.load(folder / "s.toml")
    p = s.to_problem(cost_grid())
    assert [(b.cost, b.max_cost) for b in p.cost_budgets] == [("land_price", 7.0)]
    assert compile(p).block("budget").labels == (("total",) if area else ()) + ("cost_land_price",)
    assert "cost at most 7 (layer land_price)" in s.describe()
    code, out, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    cost = summary["costs"]["land_price"]
    # The plan's cost restated from solution.parquet: price x unprotected share, selected.
    plan = pd.read_parquet(folder / "plan" / "solution.parquet")
    pa = np.array([0, 0.5, 0, 0, 0.2, 0, 0, 0, 1.0])
    spent = float((np.array(PRICE) * (1 - pa)) @ plan["x"].to_numpy(dtype=float))
    assert cost == {"spent": pytest.approx(spent), "max": 7.0, "unit": "km2",
                    "source_unit": "km2"}
    assert 0 < cost["spent"] <= 7.0 + 1e-9
    assert summary["definitions"]["cost_spent"]["path"] == "costs.{cost}.spent"
    rows = console_rows(out)
    assert rows["plan cost / cost budget, land_price (km2)"] == f"{cost['spent']:,.0f} / 7", out
    if area is not None:
        assert summary["new_km2"] <= area + 1e-9
    # The report's settings show the plan's cost against the budget, in the summary's digits
    # (the settings table alone: the whole report needs a grid with a protected layer).
    from optimizer.outputs.report import _settings_html
    from optimizer.outputs.solve_folder import read_solution

    html = _settings_html(read_solution(folder / "plan"))
    assert "cost budget: land_price (km2)" in html
    assert f"plan cost {cost['spent']:,.0f} of at most 7" in html


def test_min_shortfall_with_a_cost_budget_from_a_scenario(folder, capsys):
    text = ('schema_version = 1\n[grid]\npath = "grid"\n[objective]\nkind = "min_shortfall"\n'
            '[budget]\ncost = 5\ncost_layer = "land_price"\n[targets]\nrelative = 0.6\n')
    (folder / "s.toml").write_text(text, encoding="utf-8")
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert summary["costs"]["land_price"]["spent"] <= 5.0 + 1e-9


@pytest.mark.parametrize(("budget", "extra", "words"), [
    ('cost = 7\ncost_layer = "land_prise"', "",
     "[budget] cost_layer 'land_prise' is not a layer of this grid; cost layers: ['land_price']; "
     "did you mean 'land_price'?"),
    ('cost = 7\ncost_layer = "biomass"', "",
     "[budget] cost_layer 'biomass' is a layer of role 'carbon_stock', not a cost layer; name a "
     "layer with role \"cost\" (cost layers: ['land_price'])"),
    ("cost = 7", "", "[budget] give cost and cost_layer together"),
    ('remainders = "free"', "", "[budget] give one of km2, share or total_protection, or cost "
                                "with cost_layer"),
    ('cost = -1\ncost_layer = "land_price"', "", "[budget] cost: "),
    ('cost = 2\ncost_layer = "land_price"', '[[locks.locked_in]]\nids = [100]\n',
     "[budget] the locked-in units already cost 5 km2 (cost layer 'land_price'), more than the "
     "cost budget of 2; raise the cost budget or unlock units"),
])
def test_a_wrong_cost_budget_is_one_line_about_the_budget(budget, extra, words, folder, capsys):
    (folder / "s.toml").write_text(scenario_text(budget, extra), encoding="utf-8")
    out = folder / "plan"
    code, _, err = run_cli(["solve", folder / "s.toml", "--out", out], capsys)
    assert_one_line_error(code, err, contains=words)
    assert not out.exists()


def test_nodata_in_the_cost_layer_is_named_before_any_solve(tmp_path, capsys):
    from optimizer import write_grid

    price = list(PRICE)
    price[3] = float("nan")
    write_grid(cost_grid(price), tmp_path / "grid")
    (tmp_path / "s.toml").write_text(scenario_text('cost = 7\ncost_layer = "land_price"'),
                                     encoding="utf-8")
    words = ("s.toml: [budget] cost layer 'land_price' has no value (nodata or NaN) in 1 unit(s) "
             "a plan could select, e.g. pu_id [103]; fill the layer there (0 for free land) or "
             "lock those units out")
    with pytest.raises(ScenarioError) as exc:
        Scenario.load(tmp_path / "s.toml").to_problem(cost_grid(price))
    assert str(exc.value).endswith(words)
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert_one_line_error(code, err, contains=words)
    # Locked out, the unit without a price is no longer the budget's business.
    (tmp_path / "s.toml").write_text(scenario_text('cost = 7\ncost_layer = "land_price"',
                                                   "[[locks.locked_out]]\nids = [103]\n"),
                                     encoding="utf-8")
    code, _, err = run_cli(["solve", tmp_path / "s.toml", "--out", tmp_path / "plan"], capsys)
    assert code == 0, err
