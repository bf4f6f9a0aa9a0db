"""Tests of optimizer.solvers.cut.block: the nested path's plan with its breakpoint block
solved exactly, checked by brute force over every plan of tiny grids (issue 23 item 4).

Before the block MIP, the plan read from the nested path at a strong boundary penalty
could sit far below the optimum (a prefix of the block by rank: a ragged shape, at
times worse than protecting nothing new); these cases are the ones brute force found.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import Case, box_grid, brute_force, reference_feasible, reference_objective

from optimizer.model.compile import compile
from optimizer.solvers import CutSolver
from optimizer.solvers.cut.block import bracket
from optimizer.studies.interactive import PlanSession, PlanSettings


def tiny(seed: int, boundary: float, share: float, lock_in: int = 0) -> Case:
    """A 3 x 4 grid (12 units), max utility with a boundary penalty of ``boundary`` x 0.02."""
    return Case(3, 4, seed, "max_utility", share, 0.3, boundary, lock_in, 0, 0.0, False, False)


def check(p, sol, best: float) -> None:
    """The plan meets every row, its objective is recomputed from the plan, and the bound
    is at or above the optimum, which is at or above the plan (max sense)."""
    assert reference_feasible(p, sol.x)
    assert sol.objective == pytest.approx(reference_objective(p, sol.x), abs=1e-9)
    assert best <= sol.bound + 1e-9 * max(1.0, abs(best))
    assert sol.objective <= best + 1e-9


@pytest.mark.parametrize(("seed", "boundary", "share", "lock_in"), [
    (13, 10.0, 0.3, 1), (13, 10.0, 0.1, 1), (13, 3.0, 0.1, 1), (14, 10.0, 0.1, 0),
    (14, 3.0, 0.5, 0)])
def test_nested_path_plan_is_optimal_where_the_ranked_prefix_was_not(seed, boundary, share,
                                                                      lock_in):
    """`carbonpark solve`'s nested path (the app's plan): the optimum of every plan."""
    p = tiny(seed, boundary, share, lock_in).build()
    best = brute_force(p)
    sol = CutSolver(gap=0.0, nested_path=True).solve(compile(p))
    check(p, sol, best)
    assert sol.objective == pytest.approx(best, abs=1e-9)
    assert sol.info["block_units"] > 0


def test_nested_path_plans_and_bounds_are_valid_by_brute_force():
    """Many seeds and penalties, the plan solved and a plan read at other budgets from
    the same path (a budget change in the app): every bound >= the optimum >= the plan."""
    solver = CutSolver(gap=0.0, nested_path=True)
    for seed in range(8):
        for boundary in (1.0, 10.0):
            case = tiny(seed, boundary, 0.3, seed % 3)
            p = case.build()
            best = brute_force(p)
            if best is None:
                continue
            sol = solver.solve(compile(p))
            check(p, sol, best)
            for share in (0.1, 0.5):
                q = case.build(budget_share=share)
                best_q = brute_force(q)
                if best_q is None:
                    continue
                check(q, solver.read_path(compile(q), sol.budget_path), best_q)


def test_app_plan_at_strong_compactness_is_the_optimum():
    """The app at compactness 0.75 and 1 on a 3 x 4 grid: the plan is the best of all
    4,096 (the path's ranked prefix scored below protecting nothing new)."""
    session = PlanSession(box_grid(3, 4, seed=0))
    for share, compactness in itertools.product((0.1, 0.3, 0.5), (0.75, 1.0)):
        r = session.solve(PlanSettings(budget_share=share, compactness=compactness,
                                           cropland_out=False, carbon_uptake=0.0))
        best = brute_force(r.problem)
        assert r.objective == pytest.approx(reference_objective(r.problem, r.x), abs=1e-9)
        assert r.objective == pytest.approx(best, abs=1e-9)
        assert r.solution.bound >= best - 1e-9


def test_bracket_reads_the_path_plans_around_the_budget():
    entry = np.array([5.0, 4.0, 4.0, 2.0, np.nan, 1.0])
    a = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0])
    pb, pa = bracket(entry, a, 4.5)  # plans: {0} 1, {0,1,2} 4, {0..3} 5, {0..3,5} 8
    assert pb.tolist() == [1, 1, 1, 0, 0, 0] and pa.tolist() == [1, 1, 1, 1, 0, 0]
    pb, pa = bracket(entry, a, 100.0)  # every path plan fits
    assert pb.tolist() == pa.tolist() == [1, 1, 1, 1, 0, 1]
    pb, pa = bracket(entry, a, 0.5)  # none fits
    assert pb.tolist() == [0] * 6 and pa.tolist() == [1, 0, 0, 0, 0, 0]
