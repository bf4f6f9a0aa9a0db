"""A new objective kind and a new layer role flow through, registered in the registries only.

The registries (`optimizer.model.objectives.OBJECTIVES`, `optimizer.inputs.roles.ROLES`)
are the one place a kind or a role is stated: here a toy kind (the least *absolute*
weighted shortfall of targets under a budget) and a toy role (soil carbon, in the
``carbon`` group) are added by monkeypatching those two dicts and nothing else, and both
go through the layer specs, ``compile`` (checked against brute force), ``solve`` and the
results, ``print(problem)``, the scenario schema and the ``carbonpark`` commands.

The app reads neither registry: its plan page solves max-utility problems only (it offers
no choice of objective) and lists no roles.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import all_selections, box_grid

from optimizer.cli import main
from optimizer.datasets import tiny_grid
from optimizer.errors import InputDataError, ScenarioError, UnitError
from optimizer.grid.build import PlanningUnits, write_grid
from optimizer.inputs.dimensions import MASS_AREA, MASS_CELL
from optimizer.inputs.layers import LayerSpec
from optimizer.inputs.roles import ROLES, Role, feature_roles, groups, mass_roles
from optimizer.inputs.units import role_units
from optimizer.model.compile import compile
from optimizer.model.objectives import OBJECTIVES, ObjectiveKind
from optimizer.model.objectives.kind import target_shortfalls
from optimizer.model.problem import Problem, problem
from optimizer.plan.calibration import boundary_tradeoff
from optimizer.plan.results import diagnose, objective_value, solve
from optimizer.scenario import Scenario

KIND = "min_absolute_shortfall"


def _weights(p: Problem) -> np.ndarray:
    """Weight of each target (features without one weigh 1)."""
    assert p.objective is not None
    weights = dict(p.objective.weights)
    return np.array([weights.get(t.feature, 1.0) for t in p.targets])


#: ``sum_k w_k s_k``: the weighted amounts short of the targets (not shares, as min shortfall).
ABSOLUTE_SHORTFALL = ObjectiveKind(
    name=KIND, sense="min", method="add_objective",
    summary="least weighted amount short of the targets under the budget",
    aim="minimises the weighted amount short of the targets", printed="weights {weights}",
    unit_objective=lambda p: np.zeros(p.n_units),
    evaluate=lambda p, x: float(_weights(p) @ target_shortfalls(p, x)[0]),
    needs_budget=True, needs_targets=True, weights="targets", shortfall_cost=_weights,
)
SOIL = Role("soil_carbon", "soil carbon", (MASS_AREA, MASS_CELL), feature=True, group="carbon",
            mass="MgC", nonnegative=True)

SCENARIO = f"""schema_version = 1
grid.path = "grid"
objective.kind = "{KIND}"
weights.soil_carbon = 2
targets.absolute = {{carbon = 5, sp_1 = 1}}
solver = {{backend = "highs", gap = 0.0}}
"""


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OBJECTIVES, KIND, ABSOLUTE_SHORTFALL)
    monkeypatch.setitem(ROLES, SOIL.name, SOIL)


def _grid() -> PlanningUnits:
    """Six 1 km² units; the first 60% protected (locked in); a soil carbon layer."""
    return box_grid(2, 3, pa=np.array([0.6, 0, 0, 0, 0, 0]), features={
        "biomass": ("carbon_stock", np.array([1.0, 2, 3, 4, 5, 6])),
        "soil_c": ("soil_carbon", np.array([6.0, 0, 1, 0, 2, 3])),
        "sp_1": ("biodiversity", np.array([0.0, 1, 0, 0, 0.5, 0])),
    })


def _problem(pu: PlanningUnits) -> Problem:
    return (problem(pu).add_objective(KIND, 2, weights={"soil_carbon": 2})
            .add_absolute_targets({"carbon": 5, "sp_1": 1}))


def _brute_force(p: Problem) -> tuple[float, np.ndarray]:
    """The least weighted absolute shortfall over every plan within the locks and the budget."""
    pa = p.pu.units["pa_fraction"].to_numpy()
    area = p.pu.units["area_km2"].to_numpy()
    locked = pa >= 0.5
    budget = p.total_budget()
    assert budget is not None and p.objective is not None
    weights = dict(p.objective.weights)
    best, plan = np.inf, np.zeros(p.n_units)
    for x in all_selections(p.n_units):
        if (x[locked] < 1).any() or ((1 - pa) * area) @ x > budget.max_km2 + 1e-9:
            continue
        value = 0.0
        for t in p.targets:
            r = p.pu.units[t.feature].to_numpy()
            held = r @ pa + (r * (1 - pa)) @ x
            value += weights.get(t.feature, 1.0) * max(t.amount - held, 0.0)
        if value < best - 1e-12:
            best, plan = value, x
    return best, plan


def _write_scenario(folder: Path, text: str = SCENARIO) -> Path:
    write_grid(_grid(), folder / "grid")
    path = folder / "s.toml"
    path.write_text(text + "budget.km2 = 2\n", encoding="utf-8")
    return path


# ================================================================ not registered: refused

def test_an_unregistered_kind_and_role_are_refused(tmp_path):
    with pytest.raises(InputDataError, match="unknown role 'soil_carbon'; use one of: carbon_stock"):
        LayerSpec("soil", "soil.tif", "soil_carbon", "MgC/ha")
    with pytest.raises(InputDataError, match=f"objective kind '{KIND}' is unknown"):
        problem(box_grid()).add_objective(KIND, 1)
    with pytest.raises(ScenarioError, match=f"kind: expected one of 'max_utility', 'min_set' or "
                                            f"'min_shortfall'; got '{KIND}'"):
        Scenario.load(_write_scenario(tmp_path))


# ================================================================ registered: it flows through

def test_the_role_is_a_layer_role_a_feature_and_a_member_of_its_group(registered):
    spec = LayerSpec("soil", "soil.tif", "soil_carbon", "tC/ha")
    assert (spec.unit, spec.total_unit) == ("MgC/ha", "MgC")
    with pytest.raises(UnitError, match=r"does not fit role 'soil_carbon', which takes mass per "
                                        r"area or mass per cell; use one of: MgC/ha, kgC/m2"):
        LayerSpec("soil", "soil.tif", "soil_carbon", "MgC/ha/yr")
    assert role_units("soil_carbon") == role_units("carbon_stock")
    assert feature_roles()[-1] == "soil_carbon" and "soil_carbon" in mass_roles()
    assert groups()["carbon"] == ("carbon_stock", "carbon_uptake", "soil_carbon")
    p = problem(_grid())
    assert p.resolve_features("carbon") == ["biomass", "soil_c"]
    assert p.resolve_features("soil_carbon") == ["soil_c"]


def test_the_kind_compiles_to_its_own_columns_and_solves_to_the_brute_force_optimum(registered):
    p = _problem(_grid())
    assert [(t.feature, t.amount) for t in p.targets] == [("biomass", 5.0), ("soil_c", 5.0),
                                                          ("sp_1", 1.0)]
    m = compile(p)
    assert m.sense == "min" and m.n_x == 5  # the first unit is locked in
    s = m.block("s", rows=False)
    targets = m.block("target")
    assert s.labels == ("biomass", "soil_c", "sp_1")
    np.testing.assert_allclose(m.c[: m.n_x], 0.0)
    np.testing.assert_allclose(m.c[s.start:s.stop], [1.0, 2.0, 1.0])  # weights, not w / t
    np.testing.assert_allclose(m.A[targets.start:targets.stop, s.start:s.stop].toarray(),
                               np.eye(3))
    np.testing.assert_allclose(m.col_upper[s.start:s.stop],
                               np.maximum(m.row_lower[targets.start:targets.stop], 0.0))
    best, plan = _brute_force(p)
    sol = solve(p, gap=0.0)
    assert sol.objective == pytest.approx(best)
    assert objective_value(p, sol) == pytest.approx(best)
    assert objective_value(p, plan) == pytest.approx(best)
    assert m.objective_value(m.complete(m.x_cols_of(plan))) == pytest.approx(best)
    # Its targets are soft: one out of reach is a shortfall, not an infeasible problem.
    assert diagnose(p.add_absolute_targets({"sp_1": 100})) == []


def test_print_problem_names_the_kind_and_counts_the_role(registered):
    text = repr(_problem(_grid()))
    assert "features: 3 (1 carbon_stock, 1 biodiversity, 1 soil_carbon)" in text
    assert "└─min absolute shortfall: weights soil_c × 2\n" in text


def test_a_scenario_of_the_kind_and_role_validates_and_builds(registered, tmp_path):
    path = _write_scenario(tmp_path)
    s = Scenario.load(path)
    p = s.to_problem(s.load_grid())
    assert p.objective is not None and p.objective.kind == KIND
    assert dict(p.objective.weights) == {"soil_c": 2.0}
    assert [t.feature for t in p.targets] == ["biomass", "soil_c", "sp_1"]
    assert "objective min absolute shortfall, budget: 2 km² new" in s.describe()
    path.write_text(SCENARIO, encoding="utf-8")  # no [budget]
    with pytest.raises(ScenarioError, match=f"the {KIND} objective needs a \\[budget\\] table"):
        Scenario.load(path)


def test_the_commands_check_and_solve_the_scenario(registered, tmp_path, capsys):
    path = _write_scenario(tmp_path)
    assert main(["scenario", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "objective min absolute shortfall" in out and "weights soil_c × 2" in out
    assert main(["solve", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    best, _ = _brute_force(_problem(_grid()))
    assert summary["objective"] == pytest.approx(best)
    assert set(summary["added"]["soil_carbon"]) == {"soil_c"}  # a mass role: carbon accounting


# ================================================================ the kind's sense, everywhere

@pytest.mark.parametrize("kind", ["max_utility", "min_set", "min_shortfall"])
def test_a_calibration_curve_penalises_in_the_kinds_sense(kind):
    p = problem(tiny_grid()).add_relative_targets({"sp_a": 0.75, "sp_b": 0.5})
    p = p.add_objective(kind, 3, weights={"carbon": 1} if kind == "max_utility" else None)
    solved = solve(p.add_boundary_penalty(0.1), gap=0.0)
    t = boundary_tradeoff(p, [0.0, 0.1], solver="highs", gap=0.0).iloc[1]
    # The penalised objective is what the solver optimised: raised for min, lowered for max.
    assert t["boundary_km"] > 0 and t["penalised_objective"] == pytest.approx(solved.objective)
    sign = -1.0 if OBJECTIVES[kind].sense == "max" else 1.0
    assert t["penalised_objective"] == pytest.approx(t["objective"] + sign * 0.1 * t["boundary_km"])
