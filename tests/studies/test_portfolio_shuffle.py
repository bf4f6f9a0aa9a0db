"""Tests of the shuffle portfolio (optimizer.studies.portfolio_shuffle): a permuted model has
the same objective and rows for every plan; every plan is feasible and within its solve gap
of the optimum found by enumeration; duplicates are dropped."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import box_grid, brute_force, reference_feasible, reference_objective

from optimizer.errors import InputDataError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.studies.portfolio_shuffle import permuted, shuffle_portfolio


def test_a_permuted_model_scores_and_bounds_every_plan_alike():
    p = (problem(box_grid(3, 3, seed=4, n_species=2)).add_min_set_objective()
         .add_relative_targets(0.4).add_boundary_penalty(0.1))
    m = compile(p)
    q = permuted(m, np.random.default_rng(1).permutation(m.n_x))
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = (rng.random(p.n_units) < 0.5).astype(float)
        a, b = m.complete(m.x_cols_of(x)), q.complete(q.x_cols_of(x))
        assert m.objective_value(a) == pytest.approx(q.objective_value(b), abs=1e-12)
        assert (m.max_violation(a) <= 1e-9) == (q.max_violation(b) <= 1e-9)


@pytest.mark.parametrize("solver", ["highs", "auto"])
def test_every_plan_is_feasible_and_within_its_gap_of_the_optimum(solver):
    # Equal amounts: many optima and near-optima for the orders to pick among.
    pu = box_grid(2, 4, features={"sp": ("biodiversity", np.ones(8)),
                                  "biomass": ("carbon_stock", np.ones(8))})
    p = problem(pu).add_min_set_objective().add_absolute_targets({"sp": 3.0})
    best = brute_force(p)
    pf = shuffle_portfolio(p, 6, solver=solver, solve_gap=0.0, seed=3)
    for x, z in zip(pf.plans, pf.table["objective"], strict=True):
        assert reference_feasible(p, x)
        assert z == pytest.approx(reference_objective(p, x)) == pytest.approx(best)
    keys = {tuple(x) for x in pf.plans}
    assert len(keys) == len(pf.plans)  # duplicates dropped
    assert pf.complete == (len(pf.plans) == 6)


def test_bad_n_is_a_one_line_error():
    p = problem(box_grid(1, 3, seed=1)).add_max_utility_objective(budget_km2=1)
    with pytest.raises(InputDataError, match="n must be a whole number of solves") as err:
        shuffle_portfolio(p, 0)
    assert "\n" not in str(err.value)


def test_workers_and_dask_give_the_same_plans_as_one_process():
    pu = box_grid(2, 4, features={"sp": ("biodiversity", np.ones(8)),
                                  "biomass": ("carbon_stock", np.ones(8))})
    p = problem(pu).add_min_set_objective().add_absolute_targets({"sp": 3.0})
    one = shuffle_portfolio(p, 5, solver="highs", seed=7)
    forked = shuffle_portfolio(p, 5, solver="highs", seed=7, workers=2)
    dask = shuffle_portfolio(p, 5, solver="highs", seed=7, workers=2, scheduler="local")
    for other in (forked, dask):
        assert [tuple(x) for x in other.plans] == [tuple(x) for x in one.plans]
        assert other.table["objective"].tolist() == one.table["objective"].tolist()


def test_bad_workers_or_scheduler_are_one_line_errors():
    p = problem(box_grid(1, 3, seed=1)).add_max_utility_objective(budget_km2=1)
    for kw, text in (({"workers": 0}, "workers must be a whole number"),
                     ({"scheduler": "nowhere"}, "scheduler")):
        with pytest.raises(InputDataError, match=text) as err:
            shuffle_portfolio(p, 2, **kw)
        assert "\n" not in str(err.value)
