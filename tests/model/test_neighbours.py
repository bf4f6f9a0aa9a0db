"""Neighbour constraints (issue 24 item 5): ``Problem.add_neighbours_constraints(k)`` as
prioritizr's ``add_neighbors_constraints(k)`` (clamped to a unit's number of neighbours;
locked-in units count as selected neighbours and are held to it), against brute force over all
0/1 plans with the neighbour count done by hand from the grid's rows and columns."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.errors import InputDataError, SolverError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.results import solve
from optimizer.solvers.auto import choose
from optimizer.solvers.cut import CutSolver

ROWS, COLS = 3, 4


def grid(seed: int = 0, pa: np.ndarray | None = None):
    return box_grid(ROWS, COLS, seed=seed, pa=pa)


def neighbours_ok(x: np.ndarray, k: int) -> bool:
    """Each selected box has at least min(k, its number of rook neighbours) selected ones."""
    g = x.reshape(ROWS, COLS)
    for r in range(ROWS):
        for c in range(COLS):
            if not g[r, c]:
                continue
            near = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                    if 0 <= r + dr < ROWS and 0 <= c + dc < COLS]
            if sum(g[a, b] for a, b in near) < min(k, len(near)):
                return False
    return True


def brute(p, k: int) -> float | None:
    sense = 1.0 if p.objective.kind == "max_utility" else -1.0
    best = None
    for x in all_selections(p.n_units):
        if reference_feasible(p, x) and neighbours_ok(x, k):
            v = sense * reference_objective(p, x)
            best = v if best is None else max(best, v)
    return None if best is None else sense * best


def build(kind: str, k: int, *, seed: int = 0, lock: bool = False, boundary: float = 0.0,
          pa: np.ndarray | None = None):
    p = problem(grid(seed, pa))
    if lock:
        p = p.add_locked_in(ids=[105]).add_locked_out(ids=[102])
    if kind == "max_utility":
        p = p.add_max_utility_objective(5.0, weights={"biomass": 1, "sp_1": 1})
    else:
        p = p.add_min_set_objective().add_relative_targets({"sp_1": 0.5, "sp_2": 0.5})
    if boundary:
        p = p.add_boundary_penalty(boundary)
    return p.add_neighbours_constraints(k)


@pytest.mark.parametrize("backend", ["highs", "auto"])
@pytest.mark.parametrize(("kind", "k", "seed", "lock", "boundary"), [
    ("max_utility", 1, 0, False, 0.0), ("max_utility", 2, 1, True, 0.0),
    ("max_utility", 3, 2, False, 0.05), ("min_set", 1, 0, True, 0.0),
    ("min_set", 2, 3, False, 0.2), ("min_set", 2, 4, True, 0.0)])
def test_matches_brute_force(backend, kind, k, seed, lock, boundary):
    p = build(kind, k, seed=seed, lock=lock, boundary=boundary)
    best = brute(p, k)
    assert best is not None
    sol = solve(p, backend, gap=0.0)
    x = (sol.x > 0.5).astype(float)
    assert neighbours_ok(x, k) and reference_feasible(p, x)
    assert sol.objective == pytest.approx(best, abs=1e-9)
    if k >= 2:  # not vacuous: the plan without the constraint breaks it
        free = solve(build(kind, 0, seed=seed, lock=lock, boundary=boundary), "highs", gap=0.0)
        assert not neighbours_ok((free.x > 0.5).astype(float), k)


def test_existing_protection_counts_and_is_held_to_it():
    """A protected box (locked in) counts as a selected neighbour, and needs its own."""
    pa = np.zeros(ROWS * COLS)
    pa[5] = 1.0  # box 105 (row 1, col 1): protected, so it must have 2 selected neighbours
    p = build("max_utility", 2, pa=pa)
    best = brute(p, 2)
    sol = solve(p, "highs", gap=0.0)
    x = sol.x > 0.5
    assert x[5] and neighbours_ok(x.astype(float), 2)
    assert sol.objective == pytest.approx(best, abs=1e-9)


def test_rows_and_the_solver_choice():
    p = build("max_utility", 2, boundary=0.05)
    m = compile(p)
    nb = m.block("neighbours")
    assert nb.stop - nb.start == ROWS * COLS and nb.labels[0] == "100"
    assert nb.stop <= m.block("boundary").start
    assert choose(m).name == "highs" and "neighbour constraints" in choose(m).reason
    with pytest.raises(SolverError, match="neighbour constraints are rows the cut form does "
                       "not relax; use solver='highs'"):
        CutSolver().solve(m)
    assert len(m.row_names()) == m.n_rows


@pytest.mark.parametrize("k", [-1, 1.5, True, "2"])
def test_a_bad_k_is_a_one_line_error(k):
    with pytest.raises(InputDataError, match=r"^neighbours k must be a whole number >= 0; got"):
        problem(grid()).add_neighbours_constraints(k)


def test_no_plan_under_the_neighbour_constraints_names_them():
    """The tiny grid's protected corner needs 2 selected neighbours, each of them 2 more: 3 km²
    where the budget allows 2 (worked by hand)."""
    from optimizer.datasets import tiny_grid
    from optimizer.errors import InfeasibleProblemError

    p = (problem(tiny_grid()).add_max_utility_objective(2, weights={"carbon": 1})
         .add_neighbours_constraints(2))
    with pytest.raises(InfeasibleProblemError) as exc:
        solve(p, "highs", gap=0.0)
    assert "\n" not in str(exc.value)
    assert str(exc.value).endswith("the neighbour constraints (k=2) may be at fault: every "
                                   "selected unit, existing protection included, needs 2 "
                                   "selected neighbours; lower k or raise the budget")
    assert solve(p.add_area_budget(max_km2=3), "highs", gap=0.0).objective > 0
