"""The trade-off frontier: equal to the brute-force Pareto frontier on tiny problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import all_selections, box_grid, reference_feasible
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import compile, feature_representation, problem
from optimizer.errors import InputDataError
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.problem import Problem
from optimizer.solvers.base import feasibility_tolerance
from optimizer.solvers.cut.solver import CutSolver
from optimizer.studies.frontier import frontier, metric, pareto_mask, with_row

A, B = "carbon_stock_added_MgC", "mean_representation_pct"


def _problem(nrows: int, ncols: int, seed: int, budget_share: float, *, n_species: int = 2,
             locks: bool = False, partial_pa: bool = False) -> Problem:
    n = nrows * ncols
    rng = np.random.default_rng(seed)
    pa = np.where(rng.random(n) < 0.3, rng.choice([0.3, 1.0], n), 0.0) if partial_pa else None
    p = problem(box_grid(nrows, ncols, seed=seed, n_species=n_species, pa=pa))
    if locks:
        ids = rng.permutation(p.pu.units["pu_id"].to_numpy())
        p = p.add_locked_in(ids=[int(ids[0])]).add_locked_out(ids=[int(ids[1])])
    return p.add_max_utility_objective(budget_share=budget_share)


def _pairs(a: np.ndarray, b: np.ndarray) -> set[tuple[float, float]]:
    return {(round(float(x), 6), round(float(y), 6)) for x, y in zip(a, b, strict=True)}


def _brute_frontier(p: Problem) -> set[tuple[float, float]]:
    """Non-dominated (carbon added, mean representation) pairs over every feasible plan."""
    X = all_selections(p.n_units)
    X = X[[reference_feasible(p, x) for x in X]]
    bio = [f for f in p.pu.features.index if p.pu.features.loc[f, "role"] == "biodiversity"]
    r = p.feature_amounts(bio)
    total = r.sum(axis=1)
    held = r @ p.protected_fraction + X @ (r * (1 - p.protected_fraction)).T
    b = (held / total * 100).mean(axis=1)
    a = X @ (p.feature_amounts(["biomass"])[0] * (1 - p.protected_fraction))
    keep = []
    for i in range(len(a)):  # the definition, one plan at a time
        dominated = np.any((a >= a[i] - 1e-9) & (b >= b[i] - 1e-9)
                           & ((a > a[i] + 1e-9) | (b > b[i] + 1e-9)))
        if not dominated:
            keep.append(i)
    return _pairs(a[keep], b[keep])


# ============================================================== exactness

@pytest.mark.parametrize(("nrows", "ncols", "seed", "share", "locks", "partial_pa"), [
    (2, 3, 1, 0.5, False, False),
    (3, 3, 7, 0.34, False, False),
    (2, 4, 3, 0.4, True, True),
])
@pytest.mark.parametrize("solver", ["auto", "highs", "cut"])
def test_epsilon_frontier_equals_brute_force(nrows, ncols, seed, share, locks, partial_pa, solver):
    p = _problem(nrows, ncols, seed, share, n_species=3, locks=locks, partial_pa=partial_pa)
    f = frontier(p, points=None, gap=0.0, solver=solver)
    assert _pairs(f.points[A], f.points[B]) == _brute_frontier(p)
    # Recomputed from the plans, and the plans respect the budget and locks.
    assert all(reference_feasible(p, x) for x in f.plans)
    np.testing.assert_allclose(f.plans @ f.metric_a.coef, f.points[A])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nrows=st.integers(1, 2), ncols=st.integers(2, 4), seed=st.integers(0, 10_000),
       share=st.sampled_from([0.25, 0.5, 0.75]), locks=st.booleans())
def test_points_are_non_dominated_and_weighted_points_are_supported(nrows, ncols, seed, share,
                                                                      locks):
    p = _problem(nrows, ncols, seed, share, locks=locks and nrows * ncols >= 4)
    eps = frontier(p, points=None, gap=0.0)
    assert _pairs(eps.points[A], eps.points[B]) == _brute_frontier(p)
    weighted = frontier(p, points=9, method="weighted", gap=0.0)
    for f in (eps, weighted):
        a, b = f.points[A].to_numpy(), f.points[B].to_numpy()
        assert pareto_mask(a, b).all()
        assert (np.diff(a) < 0).all() and (np.diff(b) > 0).all()  # sorted a-first to b-first
    assert _pairs(weighted.points[A], weighted.points[B]) <= _pairs(eps.points[A], eps.points[B])
    grid = frontier(p, points=4, gap=0.0)  # the ε grid finds a subset, both ends included
    assert _pairs(grid.points[A], grid.points[B]) <= _pairs(eps.points[A], eps.points[B])
    assert grid.points[A].max() == pytest.approx(eps.points[A].max())
    assert grid.points[B].max() == pytest.approx(eps.points[B].max())


def _hand_made(carbon, species, budget_km2=1.0) -> Problem:
    pu = box_grid(1, len(carbon), features={"biomass": ("carbon_stock", np.array(carbon, float)),
                                            "sp_1": ("biodiversity", np.array(species, float))})
    return problem(pu).add_max_utility_objective(budget_km2=budget_km2)


def test_epsilon_finds_the_non_supported_point_weighted_sums_miss():
    # One km²: carbon only (10, 0%), species only (0, 71.4%) or a bit of both (4, 28.6%),
    # which lies below the line between the other two: no weighted sum picks it.
    p = _hand_made([10, 0, 4], [0, 10, 4])
    eps = frontier(p, points=None, gap=0.0)
    weighted = frontier(p, points=21, method="weighted", gap=0.0)
    assert eps.points[A].tolist() == [10.0, 4.0, 0.0]
    assert weighted.points[A].tolist() == [10.0, 0.0]
    assert frontier(p, points=5, gap=0.0).points[A].tolist() == [10.0, 4.0, 0.0]  # ε = 17.9%


# ============================================================== analysis

def test_marginal_rates_knee_and_single_goal_losses_on_a_hand_made_frontier():
    # Plans of 1 km²: (10 MgC, 0%), (8, 20%), (3, 60%); (0, 20%) is dominated.
    f = frontier(_hand_made([10, 8, 3, 0], [0, 2, 6, 2]), points=None, gap=0.0)
    assert f.points[A].tolist() == [10.0, 8.0, 3.0]
    np.testing.assert_allclose(f.points[B], [0.0, 20.0, 60.0])
    rates = f.points["marginal_rate_MgC_per_pct"].to_numpy()
    assert np.isnan(rates[0]) and rates[1:] == pytest.approx([2 / 20, 5 / 40])
    mr = f.marginal_rates()
    assert mr["to_point"].tolist() == [1, 2] and mr[f"delta_{A}"].tolist() == [-2.0, -5.0]
    assert f.knee().name == 1 and f.points["knee"].tolist() == [False, True, False]
    sg = f.single_goal()
    assert sg.loc["carbon_stock_added_first", "loss"] == pytest.approx(60.0)
    assert sg.loc["carbon_stock_added_first", "loss_pct_of_optimum"] == pytest.approx(100.0)
    assert sg.loc["mean_representation_first", "loss"] == pytest.approx(7.0)
    assert sg.loc["mean_representation_first", "loss_pct_of_optimum"] == pytest.approx(70.0)
    assert ("most carbon: the plan with the most carbon stock added gives up 60.0 "
            "percentage points of mean representation (100.0% of the most possible)"
            in f.summary())
    assert "gives up 7 MgC of carbon stock added (70.0%" in f.summary()


def test_metrics_agree_with_feature_representation_and_tco2e():
    p = _problem(2, 3, 5, 0.5, partial_pa=True)
    x = np.array([1, 0, 1, 1, 0, 0.0])
    rep = feature_representation(p, x).set_index("feature")
    bio = rep[rep["role"] == "biodiversity"]
    assert metric(p, "mean_representation").value(x) == pytest.approx(100 * bio["share_after"].mean())
    added = rep.loc["biomass", "held_after"] - rep.loc["biomass", "held_before"]
    assert metric(p, "carbon_stock_added").value(x) == pytest.approx(added)
    co2 = metric(p, "carbon_stock_added_tCO2e")
    assert co2.column == "carbon_stock_added_tCO2e" and co2.value(x) == pytest.approx(added * CO2_PER_C)
    one = metric(p, "sp_1")
    assert one.column == "sp_1_representation_pct"
    assert one.value(x) == pytest.approx(100 * rep.loc["sp_1", "share_after"])


def test_with_row_goes_before_the_boundary_rows_and_survives_restrict():
    p = _problem(2, 3, 2, 0.5).add_boundary_penalty(0.01)
    m = compile(p)
    m2 = with_row(m, np.ones(m.n_x), 2.0)
    assert [b.kind for b in m2.row_blocks] == ["budget", "epsilon", "boundary"]
    assert m2.n_rows == m.n_rows + 1 and m2.row_lower[1] == 2.0
    np.testing.assert_array_equal(m2.A[2:].toarray(), m.A[1:].toarray())
    r = m2.restrict(np.arange(3), m2.complete(np.zeros(m.n_x))[: m.n_x])
    assert "epsilon" in [b.kind for b in r.row_blocks] and r.row_lower[1] == 2.0
    f = frontier(p, points=5, gap=0.0)  # penalised plans: still only non-dominated pairs
    assert pareto_mask(f.points[A].to_numpy(), f.points[B].to_numpy()).all()


# ============================================================== output and errors

def test_write_makes_a_csv_with_units_in_its_columns_and_a_png(tmp_path):
    f = frontier(_hand_made([10, 8, 3, 0], [0, 2, 6, 2]), points=None, gap=0.0)
    out = f.write(tmp_path / "fr")
    df = pd.read_csv(out / "frontier.csv")
    assert list(df.columns[:6]) == ["point", A, B, "new_km2", "marginal_rate_MgC_per_pct", "knee"]
    assert df[A].tolist() == [10.0, 8.0, 3.0]
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    f.write(tmp_path / "fr")  # our own output: replaced


def test_errors_are_one_line_and_name_the_fix():
    p = _hand_made([10, 0, 4], [0, 10, 4])
    with pytest.raises(InputDataError, match="did you mean 'carbon_stock_added'") as e:
        frontier(p, "carbon_stok_added")
    assert "\n" not in str(e.value)
    with pytest.raises(InputDataError, match="points must be an integer of at least 2"):
        frontier(p, points=1)
    with pytest.raises(InputDataError, match="method must be"):
        frontier(p, method="sum")
    with pytest.raises(InputDataError, match="add_max_utility_objective"):
        frontier(problem(p.pu).add_min_set_objective().add_relative_targets(0.5))
    with pytest.raises(InputDataError, match="both"):
        frontier(p, "mean_representation", "mean_representation")


def test_an_epsilon_row_is_held_to_its_own_scale_not_the_budget_rows():
    """A budget of 200,000 km² once lent its tolerance (0.2) to an ε row of 0.4: the cut
    solver returned a plan 0.17% below ε as "optimal". Each row is now held to itself."""
    p = _hand_made([10, 0, 4, 6], [0, 10, 4, 3], budget_km2=2.0)
    m = compile(p)
    big = with_row(m, np.full(m.n_x, 1e5), -np.inf, 2e5, label="big")  # a 200,000 row
    small = with_row(big, np.array([0.0, 0.1, 0.04, 0.03]), 0.1, label="eps")
    x = np.array([1.0, 0.0, 1.0, 0.0])  # 0.04 of the 0.1 the ε row asks
    assert small.max_violation(small.complete(x)) == pytest.approx(0.06)
    assert small.max_violation(small.complete(x)) > feasibility_tolerance(small)  # was 0.2
    ok = small.complete(np.array([0.0, 1.0, 0.0, 0.0]))
    assert small.max_violation(ok) == 0.0
    sol = CutSolver(gap=1e-3).solve(small)
    assert small.max_violation(sol.values) <= 1e-6
    assert sol.x[:4] @ np.array([0.0, 0.1, 0.04, 0.03]) >= 0.1 - 1e-9


# ============================================================== honest summaries (issue 21 §4)

def _stop_after(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The whole frontier's time limit runs out after ``n`` points (as a slow solver would)."""
    from optimizer.studies import frontier as fr

    point = fr._Solver.point
    calls = {"n": 0}

    def limited(self, weights, epsilon):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > n:
            raise TimeoutError
        return point(self, weights, epsilon)

    monkeypatch.setattr(fr._Solver, "point", limited)


def test_a_truncated_frontier_says_so_and_gives_no_trade_off(monkeypatch):
    """A time limit that ends the frontier after 1 of 7 points: no "gives up 0.0" summary."""
    _stop_after(monkeypatch, 1)
    f = frontier(_hand_made([10, 8, 3, 0], [0, 2, 6, 2]), points=7, gap=0.0, time_limit=10.0)
    text = f.summary()
    assert "gives up" not in text  # was "gives up 0.0 percentage points"
    assert not f.complete and len(f.points) == 1 and (f.planned, f.solved) == (7, 1)
    assert f.caveat == ("frontier truncated: 1 of 7 points within the time limit (10 s for the "
                        "whole frontier); raise the time limit, or give one per point")
    assert f.caveat in text
    fig = f.figure()
    assert f.caveat in fig.axes[0].get_title()
    assert "knee" not in [t.get_text() for t in fig.axes[0].texts]


def test_a_frontier_of_one_point_is_degenerate_not_a_trade_off():
    # The budget holds every unit: one plan, the best on both metrics.
    f = frontier(_hand_made([10, 8, 3, 0], [0, 2, 6, 2], budget_km2=4.0), points=5, gap=0.0)
    assert f.complete and len(f.points) == 1
    assert "gives up" not in f.summary()
    assert f.caveat is not None and f.caveat.startswith("frontier degenerate: one point")


def test_a_time_limit_per_point_bounds_each_point_not_the_frontier():
    f = frontier(_hand_made([10, 8, 3, 0], [0, 2, 6, 2]), points=5, gap=0.0,
                 time_limit_per_point=30.0)
    assert f.complete and f.solved == 5 and f.time_limit is None
    assert f.facts()["time_limit_per_point_s"] == 30.0 and "30 s per point" in f.summary()
    with pytest.raises(InputDataError, match="time_limit_per_point must be a positive"):
        frontier(_hand_made([10, 0], [0, 10]), time_limit_per_point=0)


@pytest.mark.parametrize(("scale", "unit"), [(1e6, "TgC"), (1e9, "PgC"), (1.0, "MgC")])
def test_the_carbon_axis_is_in_the_unit_of_its_magnitude(scale, unit):
    f = frontier(_hand_made([10 * scale, 8 * scale, 3 * scale, 0], [0, 2, 6, 2]), points=None,
                 gap=0.0)
    ax = f.figure().axes[0]
    assert ax.get_ylabel() == f"carbon stock added ({unit})"
    assert ax.get_xlabel() == "mean representation (%)"
    # One unit per quantity: the drawn values are the points in that unit.
    front = next(line for line in ax.get_lines() if line.get_label() == "non-dominated plans")
    divisor = {"TgC": 1e6, "PgC": 1e9, "MgC": 1.0}[unit]
    np.testing.assert_allclose(front.get_ydata(), f.points[A].to_numpy() / divisor)
    assert [t.get_text() for t in ax.texts][:2] == ["most carbon", "most representation"]
    assert "budget of 1 km² new" in ax.get_title()


def test_the_scenarios_own_plan_is_a_marked_point_of_the_figure(tmp_path):
    from optimizer import solve

    p = _hand_made([10e6, 8e6, 3e6, 0], [0, 2, 6, 2], budget_km2=2.0)
    x = solve(p, gap=0.0).x  # equal weights on carbon and species
    f = frontier(p, points=None, gap=0.0).with_plan(x, label="my plan", new_km2=2.0)
    a = 10e6 * x[0] + 8e6 * x[1] + 3e6 * x[2]  # by hand: carbon of the chosen cells
    b = 100 * (2 * x[1] + 6 * x[2] + 2 * x[3]) / 10
    ax = f.figure().axes[0]
    star = next(line for line in ax.get_lines() if line.get_label() == "my plan")
    assert star.get_xdata()[0] == pytest.approx(b) and star.get_ydata()[0] == pytest.approx(a / 1e6)
    facts = f.write(tmp_path / "fr") / "frontier.json"
    import json

    plan = json.loads(facts.read_text())["plan"]
    assert plan == {A: pytest.approx(a), B: pytest.approx(b), "new_km2": 2.0, "label": "my plan"}


# ================================================================ Ctrl-C (issue 22)

def test_a_frontier_stopped_by_request_keeps_the_running_points_plan():
    """The API: a stop request (what Ctrl-C makes) during a point keeps the points so far
    and that point's best plan, whose metrics are recomputed from the plan."""
    import signal
    import threading

    from optimizer.model.problem import problem
    from optimizer.plan.calibration import add_compactness
    from optimizer.solvers import base
    from optimizer.studies.frontier import frontier, metric

    p = add_compactness(problem(box_grid(50, 50, seed=1, n_species=10))
                        .add_max_utility_objective(budget_share=0.1), 0.5)  # 2 points in 40 s
    # As from a terminal (a test process may ignore SIGINT): the frontier's Ctrl-C handling
    # then takes the request and clears it on leaving, whatever this process inherited.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(2.0, base.request_stop)  # what the first Ctrl-C does
    timer.start()
    try:
        f = frontier(p, points=5, gap=0.0, solver="highs", time_limit_per_point=60)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert f.interrupted and not f.complete and len(f.points) >= 1
    assert f.caveat is not None and f.caveat.startswith("frontier interrupted (Ctrl-C)")
    assert not base.stop_requested()  # cleared on leaving the frontier
    ma, mb = metric(p, "carbon_stock_added"), metric(p, "mean_representation")
    for row, x in zip(f.points.itertuples(), f.plans, strict=True):
        assert row.carbon_stock_added_MgC == pytest.approx(ma.value(x))
        assert row.mean_representation_pct == pytest.approx(mb.value(x))
