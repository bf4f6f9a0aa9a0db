"""What a grid and a problem print (compact trees), and the packaged examples."""

from __future__ import annotations

import pytest

from optimizer import problem, solve
from optimizer.datasets import tiny_grid


def test_a_grid_prints_units_crs_features_by_role_and_protected_share():
    text = repr(tiny_grid())
    assert text.splitlines() == [
        "PlanningUnits",
        "├─data",
        "│ ├─6 planning units (user polygons, EPSG:6933), 6 km²",
        "│ ├─protected: 16.7% of the area",
        "│ ├─regions: 2 (north, south)",
        "│ └─boundary: 7 pairs of neighbours",
        "└─features",
        "  ├─carbon_stock (1, MgC): carbon",
        "  └─biodiversity (2, km2): sp_a, sp_b",
    ]


def test_a_problem_prints_its_formulation_as_a_tree():
    p = (problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
         .add_locked_out(ids=[6]).add_boundary_penalty(0.25))
    assert repr(p).splitlines() == [
        "A conservation planning problem (carbonpark Problem)",
        "├─data",
        "│ ├─6 planning units (user polygons, EPSG:6933), 6 km²",
        "│ ├─features: 3 (1 carbon_stock, 2 biodiversity)",
        "│ └─cost: unprotected area (km²), 5 in all",
        "├─objective",
        "│ └─min set: least unprotected area (km²)",
        "├─targets",
        "│ └─2 targets, relative 50%: sp_a, sp_b",
        "├─budgets",
        "│ └─none",
        "├─locks",
        "│ ├─in: existing protection (pa_fraction ≥ 0.5): 1 units",
        "│ └─out: 1 listed ids: 1 units",
        "├─penalties",
        "│ └─boundary: 0.25 per km of plan edge",
        "└─solver",
        "  └─chosen at solve(): highs (default), cut, auto or pulp",
    ]


def test_the_tiny_grid_plans_are_the_ones_worked_out_by_hand():
    pu = tiny_grid()
    ids = pu.units["pu_id"]
    cheapest = solve(problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2}), gap=0.0)
    assert ids[cheapest.selected].tolist() == [1, 2, 4] and cheapest.objective == 2.0
    most = solve(problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1}), gap=0.0)
    assert ids[most.selected].tolist() == [1, 4, 5]
    assert most.objective == pytest.approx(140 / 290, rel=1e-12)
