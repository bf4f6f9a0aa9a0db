"""Tests of optimizer.plan.closure: the gap closure of a plan, worked out by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, box_grid, run_cli

from optimizer.cli import main
from optimizer.errors import InputDataError
from optimizer.model.problem import problem
from optimizer.plan.closure import gap_closure
from optimizer.plan.results import solve
from optimizer.scenario import Scenario


def test_a_grid_with_nothing_protected_yet_has_no_density_before_and_a_hand_computed_one_after():
    # Nothing protected: the protected density before is undefined (no area), not an error
    # (it was a KeyError); after, it is the plan's own density over the whole area's.
    pu = box_grid(3, 3, seed=1, pa=np.zeros(9))
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    sol = solve(p)
    closure = gap_closure(pu, p, sol)
    row = closure.density.set_index("layer").loc["biomass"]
    b, a = pu.units["biomass"].to_numpy(), pu.units["area_km2"].to_numpy()
    x = sol.x > 0.5
    assert x.sum() > 0 and math.isnan(row["density_before"]) and math.isnan(row["ratio_before"])
    assert row["ratio_after"] == pytest.approx((b[x].sum() / a[x].sum()) / (b.sum() / a.sum()), rel=1e-12)
    ratio = closure.summary()["density_ratio"]["biomass"]
    assert ratio["before"] is None and ratio["after"] == pytest.approx(row["ratio_after"], rel=1e-12)


# ---------------------------------------------------------------- which ecosystems count

ROOT = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = ROOT / "data" / "demo.toml"
NATURAL = ["forest", "grassland", "wetland", "bare"]


def _balanced_red_line(folder: Path, extra: str = "") -> Path:
    """The demo's `balanced` with the cropland red line, as a planner would write it."""
    text = (ROOT / "scenarios" / "balanced.toml").read_text(encoding="utf-8")
    text = text.replace('"../data/demo.toml"', json.dumps(str(DEMO_MANIFEST)))
    text += '\n[[locks.land_cover_out]]  # the cropland red line\nland_cover = "cropland"\n' + extra
    path = folder / "balanced_red_line.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def red_line(tmp_path_factory) -> tuple[Path, Path]:
    """`carbonpark solve` of balanced with the cropland red line: (scenario, solve folder)."""
    root = tmp_path_factory.mktemp("closure")
    scenario = _balanced_red_line(root)
    code = main(["solve", str(scenario), "--out", str(root / "out")])
    assert code == 0
    return scenario, root / "out"


def _closed_by_hand(pu, x: np.ndarray, classes: list[str], target: float = 0.3) -> float:
    """Σ over the classes of shortfall before - after, from the units table alone."""
    p = np.clip(pu.units["pa_fraction"].to_numpy(dtype=float), 0, 1)
    after = p + (1 - p) * x
    closed = 0.0
    for c in classes:
        km2 = pu.units[f"lc_{c}_km2"].to_numpy(dtype=float)
        area = km2.sum()
        closed += max(0.0, target * area - km2 @ p) - max(0.0, target * area - km2 @ after)
    return closed


def test_balanced_with_the_cropland_red_line_counts_natural_ecosystems_only(red_line, capsys):
    # Issue 21 §3: the headline counted urban land, cropland and water as ecosystems to
    # protect to 30%, so "shortfall closed" equalled the plan's whole new area (220,000 km²).
    scenario, out = red_line
    capsys.readouterr()
    s = json.loads((out / "summary.json").read_text())
    eco = s["gap_closure"]["ecosystems"]
    assert eco["setting"] == "natural" and eco["counted"] == NATURAL
    assert eco["not_counted"] == ["cropland", "urban", "water"]
    assert eco["by_class"]["cropland"]["counted"] is False and eco["classes"] == 4
    assert "counted: the natural classes the grid's manifest marks (forest, grassland, wetland, " \
           "bare); not counted: cropland, urban, water" in eco["definition"]
    # Independently, from the units table and the plan's x.
    pu = Scenario.load(scenario).load_grid()
    x = (pd.read_parquet(out / "solution.parquet").set_index("pu_id")["x"]
         .reindex(pu.units["pu_id"]).to_numpy(dtype=float))
    expected = _closed_by_hand(pu, x, NATURAL)
    assert eco["closed_km2"] == pytest.approx(expected, rel=1e-9)
    assert eco["closed_km2"] < s["new_km2"] - 1_000  # no longer the whole new area
    everything = _closed_by_hand(pu, x, [*NATURAL, "cropland", "urban", "water"])
    assert everything == pytest.approx(s["new_km2"], rel=1e-3)  # what it used to read
    # The closure CSV flags each class; the report prints the definition and each class.
    table = pd.read_csv(out / "closure_ecosystems.csv")
    assert table.set_index("ecosystem")["counted"].to_dict() == {
        **dict.fromkeys(NATURAL, True), **dict.fromkeys(["cropland", "urban", "water"], False)}
    code = main(["report", str(out), "--out", str(out.parent / "report.html")])
    assert code == 0
    html = (out.parent / "report.html").read_text(encoding="utf-8")
    closure = html[html.index('id="closure"'):html.index('id="table1"')]
    assert "not counted: cropland, urban, water" in closure
    counted_row = re.search(r"counted classes</td>(.*?)</tr>", closure).group(1)
    assert f"{eco['closed_km2']:,.0f}" in counted_row
    assert "Not counted in the ecosystem shortfall" in closure and ">cropland<" in closure


def test_the_console_prints_the_definition_and_each_class(tmp_path, capsys):
    scenario = _balanced_red_line(tmp_path, '\n[closure]\necosystems = ["forest", "wetland"]\n')
    code = main(["solve", str(scenario), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert code == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    eco = s["gap_closure"]["ecosystems"]
    assert eco["setting"] == ["forest", "wetland"] and eco["counted"] == ["forest", "wetland"]
    assert re.search(rf"\n +counted classes +{eco['shortfall_before_km2']:,.0f} +"
                     rf"{eco['closed_km2']:,.0f} ", text)
    assert re.search(r"\n +cropland \(not counted\) +[\d,]+ ", text)
    assert "counted: the classes the scenario lists (forest, wetland)" in " ".join(text.split())


def test_an_unknown_class_in_the_closure_table_is_a_one_line_error_before_the_solve(tmp_path, capsys):
    bad = _balanced_red_line(tmp_path, '\n[closure]\necosystems = ["forest", "forrest"]\n')
    code, _, err = run_cli(["solve", bad, "--out", tmp_path / "bad"], capsys)
    line = assert_one_line_error(code, err, contains="'forrest' is not a land-cover class")
    assert "closure" in line and "forest, grassland, cropland, wetland, bare, urban, water" in line
    assert not (tmp_path / "bad" / "summary.json").exists()


def test_a_grid_whose_manifest_marks_no_natural_class_counts_every_class_and_says_so():
    # Hand-computed: 3 cells of 1 km², nothing protected, target 30%; the plan adds cell 0.
    lc = {"lc_forest_km2": ("land_cover", np.array([1.0, 0.0, 0.0])),
          "lc_cropland_km2": ("land_cover", np.array([0.0, 1.0, 1.0]))}
    pu = box_grid(1, 3, features=lc, pa=np.zeros(3))
    p = problem(pu).add_max_utility_objective(budget_km2=1, weights={"ecosystem": 1})
    gc = gap_closure(pu, p, np.array([1, 0, 0]))
    eco = gc.summary()["ecosystems"]
    # forest: shortfall 0.3 -> 0, closed 0.3; cropland: 0.6 -> 0.6.
    assert eco["counted"] == ["forest", "cropland"] and eco["closed_km2"] == pytest.approx(0.3)
    assert eco["shortfall_before_km2"] == pytest.approx(0.9)
    assert "the grid's manifest marks none natural" in eco["definition"]
    only = gap_closure(pu, p, np.array([1, 0, 0]), ecosystems=["cropland"]).summary()["ecosystems"]
    assert only["counted"] == ["cropland"] and only["closed_km2"] == 0.0
    every = gap_closure(pu, p, np.array([1, 0, 0]), ecosystems="all").summary()["ecosystems"]
    assert every["counted"] == ["forest", "cropland"] and 'ecosystems = "all"' in every["definition"]
    with pytest.raises(InputDataError, match="'natural', 'all' or a list"):
        gap_closure(pu, p, np.array([1, 0, 0]), ecosystems="natureal")
