"""Contiguity and minimum park size as constraints (issue 24 item 5), solved by row generation:
brute force over all 0/1 plans on tiny grids, the components counted by hand (a flood fill
over the boxes' rows and columns, not scipy), keeping only the contiguous or large-enough plans;
the answer's objective equals the best of them, its gap is proven, and the plan without the
constraint breaks it (so the check is not vacuous)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.errors import InputDataError, SolverError
from optimizer.model.contiguity import park_violations
from optimizer.model.problem import problem
from optimizer.plan.results import solve

ROWS, COLS = 3, 4


def components(mask: np.ndarray) -> list[list[int]]:
    """Rook-connected groups of the boxes in ``mask`` (a flood fill)."""
    seen, groups = set(), []
    for start in np.flatnonzero(mask):
        if start in seen:
            continue
        group, todo = [], [int(start)]
        seen.add(start)
        while todo:
            u = todo.pop()
            group.append(u)
            r, c = divmod(u, COLS)
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                rr, cc = r + dr, c + dc
                v = rr * COLS + cc
                if 0 <= rr < ROWS and 0 <= cc < COLS and mask[v] and v not in seen:
                    seen.add(v)
                    todo.append(v)
        groups.append(group)
    return groups


def meets(p, x: np.ndarray, contiguous: bool, min_km2: float) -> bool:
    sel = x > 0.5
    if contiguous and len(components(sel)) > 1:
        return False
    if min_km2 > 0:
        locked_in, _ = p.locked_masks()
        new = (1 - p.protected_fraction) * p.area_km2
        for g in components(sel & ~locked_in):
            if new[g].sum() < min_km2 - 1e-9:
                return False
    return True


def brute(p, contiguous: bool, min_km2: float) -> float | None:
    sense = 1.0 if p.objective.kind == "max_utility" else -1.0
    best = None
    for x in all_selections(p.n_units):
        if reference_feasible(p, x) and meets(p, x, contiguous, min_km2):
            v = sense * reference_objective(p, x)
            best = v if best is None else max(best, v)
    return None if best is None else sense * best


def build(kind: str, *, seed: int, contiguous: bool, min_km2: float, pa=None, lock=False,
          boundary: float = 0.0):
    p = problem(box_grid(ROWS, COLS, seed=seed, pa=pa))
    if lock:
        p = p.add_locked_out(ids=[105])
    if kind == "max_utility":
        p = p.add_max_utility_objective(4.0, weights={"biomass": 1, "sp_1": 1, "sp_2": 1})
    else:
        p = p.add_min_set_objective().add_relative_targets({"sp_1": 0.6, "sp_2": 0.6})
    if boundary:
        p = p.add_boundary_penalty(boundary)
    if contiguous:
        p = p.add_contiguity_constraints()
    if min_km2:
        p = p.add_min_park_constraints(min_km2)
    return p


PA = np.zeros(ROWS * COLS)
PA[[0, 11]] = 1.0  # two protected corners: contiguity must join them or
PA[6] = 0.5        # a half-protected box: locked in, counts for contiguity, not in parks

CASES = [  # kind, seed, contiguous, min_km2, pa, lock, boundary
    ("max_utility", 0, True, 0.0, None, False, 0.0),
    ("max_utility", 1, True, 0.0, PA, False, 0.0),
    ("max_utility", 2, False, 2.0, None, False, 0.0),
    ("max_utility", 3, False, 3.0, PA, True, 0.02),
    ("max_utility", 4, True, 2.0, None, True, 0.0),
    ("min_set", 0, True, 0.0, None, False, 0.0),
    ("min_set", 5, True, 0.0, PA, True, 0.1),
    ("min_set", 2, False, 2.5, None, False, 0.0),
    ("min_set", 6, False, 2.0, PA, False, 0.0),
]


@pytest.mark.parametrize(("kind", "seed", "contiguous", "min_km2", "pa", "lock", "boundary"),
                         CASES)
def test_row_generation_matches_brute_force(kind, seed, contiguous, min_km2, pa, lock, boundary):
    p = build(kind, seed=seed, contiguous=contiguous, min_km2=min_km2, pa=pa, lock=lock,
              boundary=boundary)
    best = brute(p, contiguous, min_km2)
    assert best is not None
    sol = solve(p, "auto", gap=0.0)
    x = (sol.x > 0.5).astype(float)
    assert reference_feasible(p, x) and meets(p, x, contiguous, min_km2)
    assert sol.objective == pytest.approx(reference_objective(p, x), abs=1e-9)
    assert sol.objective == pytest.approx(best, abs=1e-7)
    assert sol.gap == pytest.approx(0.0, abs=1e-9) and sol.describe().startswith("optimal")
    assert sol.info["park_cut_rounds"] >= 1
    v = park_violations(p, x)
    if contiguous:
        assert v["components"] == 1
    if min_km2:
        assert v["small_parks"] == 0


@pytest.mark.parametrize(("kind", "seed", "contiguous", "min_km2", "pa", "lock", "boundary"),
                         [CASES[2], CASES[4], CASES[6], CASES[7]])
def test_the_constraint_binds(kind, seed, contiguous, min_km2, pa, lock, boundary):
    """Without the constraint the optimum breaks it: the cuts did the work."""
    p = build(kind, seed=seed, contiguous=False, min_km2=0.0, pa=pa, lock=lock,
              boundary=boundary)
    x = (solve(p, "highs", gap=0.0).x > 0.5).astype(float)
    assert not meets(p, x, contiguous, min_km2)
    con = build(kind, seed=seed, contiguous=contiguous, min_km2=min_km2, pa=pa, lock=lock,
                boundary=boundary)
    assert solve(con, "highs", gap=0.0).info["park_cuts"] >= 1


def test_a_negative_minimum_is_a_one_line_error():
    with pytest.raises(InputDataError, match=r"^min_park_km2 must be >= 0 \(km²\); got -1$"):
        problem(box_grid(2, 2)).add_min_park_constraints(-1)


def test_out_of_time_before_a_plan_meets_the_constraints_is_a_one_line_error():
    """Row generation returns no plan that breaks the constraints: when time runs out first
    (case 7 needs 4 rounds), it says so."""
    kind, seed, contiguous, min_km2, pa, lock, boundary = CASES[7]
    p = build(kind, seed=seed, contiguous=contiguous, min_km2=min_km2, pa=pa, lock=lock,
              boundary=boundary)
    with pytest.raises(SolverError) as exc:
        solve(p, "highs", gap=0.0, time_limit=1e-6)
    text = str(exc.value)
    assert "\n" not in text and text.startswith(
        "no plan meeting the park constraints within time_limit=1e-06 s (1 rounds")


def test_a_frontier_refuses_park_constraints_in_one_line():
    """Only `solve` runs the row generation; a frontier over the compiled model would ignore
    the constraint, so it says so instead."""
    from optimizer.studies.frontier import frontier

    p = build("max_utility", seed=0, contiguous=True, min_km2=0.0)
    with pytest.raises(InputDataError) as exc:
        frontier(p, points=3)
    assert "\n" not in str(exc.value) and str(exc.value).startswith(
        "frontier() does not enforce contiguity or a minimum park size")


def test_importance_portfolios_and_sweep_paths_refuse_park_constraints():
    from optimizer.datasets import tiny_grid
    from optimizer.errors import InputDataError
    from optimizer.model.problem import problem
    from optimizer.studies.importance import importance
    from optimizer.studies.portfolio import portfolio
    from optimizer.studies.portfolio_shuffle import shuffle_portfolio

    p = (problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
         .add_contiguity_constraints())
    for call, where in ((lambda: importance(p), "importance()"),
                        (lambda: portfolio(p, 2), "portfolio()"),
                        (lambda: shuffle_portfolio(p, 2), "shuffle_portfolio()")):
        with pytest.raises(InputDataError, match=re.escape(f"{where} does not enforce contiguity")):
            call()


def test_a_plan_mended_by_removals_is_kept_when_the_bound_proves_it_within_the_gap():
    from optimizer.model.contiguity import park_cuts
    from optimizer.model.problem import problem
    from optimizer.plan.solving import solve

    # Two rich ends: the first relaxed plan takes both (apart); keeping one end meets the
    # constraint, and with gap 0.99 the first round's bound (19) already proves it.
    pu = box_grid(1, 5, features={"biomass": ("carbon_stock", np.array([10.0, 0, 0, 0, 9]))},
                  pa=np.zeros(5))
    p = (problem(pu).add_max_utility_objective(2, weights={"biomass": 1})
         .add_contiguity_constraints())
    sol = solve(p, "highs", gap=0.99)
    assert "park_repaired" in sol.info and sol.info["park_cut_rounds"] == 1
    assert park_cuts(p, np.arange(5), sol.x) is None  # contiguous
    assert sol.objective == pytest.approx(reference_objective(p, sol.x))
    assert sol.objective == pytest.approx(10 / 19) and sol.bound == pytest.approx(1.0)
    assert sol.gap <= 0.99 and sol.status.value == "within_gap"
    exact = solve(p, "highs", gap=0.0)  # at gap 0 the rounds go on to the proven optimum
    assert exact.objective == pytest.approx(10 / 19) and exact.status.value == "optimal"


def test_the_mended_plan_regrows_into_the_budget_its_removals_freed():
    from optimizer.model.problem import problem
    from optimizer.plan.solving import solve

    # The relaxed plan takes 1, 2 and 6 (20 of 21); the mend keeps 1, 2 (11 > 9) and regrows
    # by the free neighbour 3 (1): 12, the contiguous optimum (brute force below).
    carbon = np.array([10.0, 1, 1, 0, 0, 9])
    pu = box_grid(1, 6, features={"biomass": ("carbon_stock", carbon)}, pa=np.zeros(6))
    p = (problem(pu).add_max_utility_objective(3, weights={"biomass": 1})
         .add_contiguity_constraints())
    sol = solve(p, "highs", gap=0.99)
    assert "park_repaired" in sol.info
    assert sol.selected.nonzero()[0].tolist() == [0, 1, 2]
    assert sol.objective == pytest.approx(12 / 21)
    best = max(reference_objective(p, x) for x in all_selections(6)
               if x.sum() <= 3 and np.all(np.diff(np.flatnonzero(x)) == 1))
    assert sol.objective == pytest.approx(best)
