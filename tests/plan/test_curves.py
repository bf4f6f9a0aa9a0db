"""Performance curves (issue 24 item 7): a 2x3 grid worked out by hand, top-X% masks, plans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import box_grid

from optimizer import feature_representation, problem, solve
from optimizer.errors import InputDataError
from optimizer.figures.plots import curves_chart
from optimizer.model.compile import compile as compile_model
from optimizer.plan.curves import (
    CURVE_COLUMNS,
    curve_plan_pct,
    curves_for_plan,
    performance_curves,
    plan_curves,
    top_share_mask,
)
from optimizer.plan.priority_rank import priority_rank
from optimizer.solvers import BudgetPath, CutSolver

# Cells 0..5 of a 2x3 grid. Cell 0 is wholly protected (locked in, pa >= 0.5), cell 1 a
# quarter protected (not locked in). Study area 8 km²; existing protection 1 + 0.25 km².
AREA = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 2.0])
PA = np.array([1.0, 0.25, 0.0, 0.0, 0.0, 0.0])
BIOMASS = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])  # total 210
SP_1 = np.array([0.0, 4.0, 0.0, 0.0, 2.0, 2.0])  # total 8
SP_2 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])  # total 4
RANK = np.array([0, 4, 1, 3, 2, 5])  # cells 2, 4, 3, 1, 5 in turn


def grid():
    return box_grid(2, 3, features={"biomass": ("carbon_stock", BIOMASS),
                                    "sp_1": ("biodiversity", SP_1),
                                    "sp_2": ("biodiversity", SP_2)}, pa=PA, area=AREA)


# By hand, after 0..5 ranked units (cells 2, 4, 3, 1, 5; cell 1 brings its unprotected 3/4):
KM2 = [1.25, 3.25, 4.25, 5.25, 6.0, 8.0]
HELD = {"biomass": [15, 45, 95, 135, 150, 210], "sp_1": [1, 1, 3, 3, 6, 8],
        "sp_2": [1, 2, 2, 3, 3, 4]}
TOTAL = {"biomass": 210, "sp_1": 8, "sp_2": 4}


def curve(c: pd.DataFrame, name: str, along: str = "rank") -> pd.DataFrame:
    return c[(c["curve"] == name) & (c["along"] == along)].reset_index(drop=True)


def test_rank_curve_by_hand_at_each_level():
    c = performance_curves(grid(), RANK, step_pct=25)
    assert list(c.columns) == list(CURVE_COLUMNS)
    # Levels: the start (15.625 %), 25, 50, 75 (exactly 6 km²: cell 1 fits, an area tie)
    # and the end; units entered 0, 0, 1, 4, 5.
    b = curve(c, "biomass")
    assert b["area_pct"].tolist() == [15.625, 25.0, 50.0, 75.0, 100.0]
    assert b["units_added"].tolist() == [0, 0, 1, 4, 5]
    assert b["protected_km2"].tolist() == [KM2[k] for k in (0, 0, 1, 4, 5)]
    assert b["new_km2"].tolist() == [KM2[k] - 1.25 for k in (0, 0, 1, 4, 5)]
    assert b["protected_pct"].tolist() == [100 * KM2[k] / 8 for k in (0, 0, 1, 4, 5)]
    for name in HELD:
        got = curve(c, name)
        want = [HELD[name][k] for k in (0, 0, 1, 4, 5)]
        assert got["held"].tolist() == pytest.approx(want, abs=1e-12)
        assert got["held_pct"].tolist() == pytest.approx(
            [100 * v / TOTAL[name] for v in want], abs=1e-12)
        assert set(got["kind"]) == {"feature"} and set(got["total"]) == {TOTAL[name]}
    # The biodiversity group: the mean of its features' shares; carbon stock: the sum.
    mean = curve(c, "mean_biodiversity")
    assert mean["held_pct"].tolist() == pytest.approx(
        (curve(c, "sp_1")["held_pct"] + curve(c, "sp_2")["held_pct"]).to_numpy() / 2)
    assert mean["held"].isna().all() and set(mean["unit"]) == {"%"}
    stock = curve(c, "carbon_stock_total")
    assert stock["held"].tolist() == b["held"].tolist()
    assert set(stock["unit"]) == {"MgC"} and set(stock["kind"]) == {"quantity"}


def test_every_step_of_the_rank_by_hand():
    # Each prefix of the rank as a plan: a nested path along its budgets.
    order = np.argsort(np.where(RANK > 0, RANK, 99))[:5]
    plans = np.array([np.isin(np.arange(6), order[:k]) | (PA >= 0.5) for k in range(6)])
    c = plan_curves(grid(), plans.astype(float))
    for name in HELD:
        got = curve(c, name, "plan")
        assert got["held"].tolist()[1:] == pytest.approx(HELD[name], abs=1e-12)
        assert got["held"].iloc[0] == HELD[name][0]  # point 0: the start
    assert curve(c, "biomass", "plan")["protected_km2"].tolist()[1:] == KM2


@pytest.mark.parametrize("step", [1.0, 2.5, 7.0])
def test_each_point_is_its_top_share_mask_and_its_representation(step):
    pu = grid()
    p = problem(pu)
    c = performance_curves(p, RANK, step_pct=step)
    b = curve(c, "biomass")
    grid_pct = b["area_pct"].to_numpy()[1:-1]
    assert np.allclose(grid_pct / step, np.round(grid_pct / step))  # every whole step
    assert b["area_pct"].iloc[0] == 15.625 and b["area_pct"].iloc[-1] == 100.0
    assert (b["protected_pct"] <= b["area_pct"] + 1e-9).all()
    for i, level in enumerate(b["area_pct"]):
        x = top_share_mask(p, RANK, level / 100)
        rep = feature_representation(p, x).set_index("feature")
        for name in HELD:
            assert curve(c, name)["held"].iloc[i] == pytest.approx(rep.at[name, "held_after"])
        assert curve_plan_pct(p, x) == pytest.approx(b["protected_pct"].iloc[i])


def test_top_share_masks_with_area_and_rank_ties():
    pu = grid()
    assert top_share_mask(pu, RANK, 0.0).tolist() == [1, 0, 0, 0, 0, 0]  # the locked-in cell
    assert top_share_mask(pu, RANK, 0.40).tolist() == [1, 0, 0, 0, 0, 0]  # 3.2 km² < 3.25
    assert top_share_mask(pu, RANK, 0.40625).tolist() == [1, 0, 1, 0, 0, 0]  # exactly 3.25
    assert top_share_mask(pu, RANK, 0.75).tolist() == [1, 1, 1, 1, 1, 0]  # exactly 6 km²
    assert top_share_mask(pu, RANK, 1.0).tolist() == [1, 1, 1, 1, 1, 1]
    # Equal ranks enter together: cells 2 and 3 (3 km² -> 4.25), cell 1 (5.0), cells 4, 5.
    tied = np.array([0, 2, 1, 1, 3, 3])
    assert top_share_mask(pu, tied, 0.5).tolist() == [1, 0, 0, 0, 0, 0]
    assert top_share_mask(pu, tied, 4.25 / 8).tolist() == [1, 0, 1, 1, 0, 0]
    assert top_share_mask(pu, tied, 0.6).tolist() == [1, 0, 1, 1, 0, 0]
    assert top_share_mask(pu, tied, 0.625).tolist() == [1, 1, 1, 1, 0, 0]
    assert top_share_mask(pu, tied, 0.99).tolist() == [1, 1, 1, 1, 0, 0]
    c = performance_curves(pu, tied, step_pct=12.5)
    # Levels 15.625 (start), 25, 37.5, 50 (4 km² < 4.25), 62.5 (5 km²), 75, 87.5, 100.
    assert curve(c, "sp_2")["units_added"].tolist() == [0, 0, 0, 0, 3, 3, 3, 5]
    assert curve(c, "sp_2")["held"].tolist() == [1, 1, 1, 1, 3, 3, 3, 4]
    # A float rank (a score's order) and NaN for "never": the same masks.
    as_float = np.array([np.nan, 2.0, 0.5, 0.5, 7.0, 7.0])
    assert top_share_mask(pu, as_float, 0.625).tolist() == [1, 1, 1, 1, 0, 0]


def test_existing_protection_and_locks_are_held_from_the_start():
    pu = grid()
    p = problem(pu).add_locked_in(ids=[103]).add_locked_out(ids=[104])  # cells 3 and 4
    c = performance_curves(p, RANK, step_pct=12.5)
    b = curve(c, "biomass")
    # Start: 15 (existing) + 40 (cell 3, locked in: 2.25 km²); then cells 2 (4.25 km²), 1
    # (5 km²) and 5 (7 km²); cell 4 never enters, cell 3 does not enter twice.
    assert b["area_pct"].tolist() == [28.125, 37.5, 50.0, 62.5, 75.0, 87.5]
    assert b["held"].tolist() == [55.0, 55.0, 55.0, 100.0, 100.0, 160.0]
    assert b["protected_km2"].tolist() == [2.25, 2.25, 2.25, 5.0, 5.0, 7.0]
    assert b["units_added"].tolist() == [0, 0, 0, 2, 2, 3]
    rep = feature_representation(p, top_share_mask(p, RANK, 1.0)).set_index("feature")
    assert rep.at["biomass", "held_after"] == 160.0
    zero = top_share_mask(p, RANK, 0.0)
    assert zero.tolist() == [1, 0, 0, 1, 0, 0]
    start = feature_representation(p, zero).set_index("feature")
    assert curve(c, "sp_1")["held"].iloc[0] == start.at["sp_1", "held_after"] == 1.0


def test_priority_rank_curves_pass_through_the_plan_and_sum_to_its_representation():
    pu = grid()
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"biomass": 1, "sp_1": 1})
    x = solve(p).x
    pr, _ = priority_rank(p, plan=x)
    c = performance_curves(p, pr, plan=x, step_pct=10)
    rep = feature_representation(p, x).set_index("feature")
    pct = curve_plan_pct(p, x)
    for name in HELD:
        on_rank = curve(c, name)
        at_plan = on_rank[np.isclose(on_rank["area_pct"], pct)]
        assert len(at_plan) >= 1
        assert at_plan["held"].iloc[0] == pytest.approx(rep.at[name, "held_after"])
        plan_rows = curve(c, name, "plan")
        assert plan_rows["held"].tolist() == pytest.approx(
            [rep.at[name, "held_before"], rep.at[name, "held_after"]])
        assert plan_rows["held_pct"].iloc[1] == pytest.approx(100 * rep.at[name, "share_after"])
        # The rank's steps, summed back from the start, give the plan's amount.
        steps = np.diff(on_rank["held"].to_numpy()[on_rank["area_pct"] <= pct + 1e-9])
        assert on_rank["held"].iloc[0] + steps.sum() == pytest.approx(rep.at[name, "held_after"])
    table, note = curves_for_plan(p, x, step_pct=10)
    pd.testing.assert_frame_equal(table, c)
    assert note.startswith("along the priority rank")


def test_a_nested_path_ranks_as_its_order():
    pu = grid()
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"biomass": 1})
    sol = CutSolver().solve(compile_model(p))
    path = BudgetPath.from_info(sol.info)
    assert path is not None
    by_path = performance_curves(p, path)
    by_array = performance_curves(p, np.asarray(path.unit_rank) + 1)
    pd.testing.assert_frame_equal(by_path, by_array)


def test_bad_arguments_are_one_line():
    pu = grid()
    with pytest.raises(InputDataError, match=r"rank has 5 units but the problem 6"):
        performance_curves(pu, RANK[:5])
    with pytest.raises(InputDataError, match=r"step_pct must be in \(0, 100\]; got 0"):
        performance_curves(pu, RANK, step_pct=0)
    with pytest.raises(InputDataError, match=r"share must be in \[0, 1\].*got 30; write 30% as 0.3"):
        top_share_mask(pu, RANK, 30)
    with pytest.raises(InputDataError, match=r"plan has 2 units but the problem 6"):
        plan_curves(pu, np.ones(2))
    with pytest.raises(InputDataError, match=r"features: 'nope' is not a feature column"):
        performance_curves(pu, RANK, features=["nope"])


def test_the_figure_draws_every_curve_and_marks_the_plan():
    pu = grid()
    x = np.array([1, 0, 1, 0, 1, 0.0])
    c = performance_curves(pu, RANK, plan=x)
    ax = curves_chart(c).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["single features", "carbon layers (mean)", "biodiversity (mean of features)",
                      "carbon stock", "the plan: 53.1% of the area"]
    assert len(ax.lines) == 3 + 3 + 1  # three features, two means and the stock, the plan
    only_plan = curves_chart(plan_curves(pu, x)).axes[0]
    assert "the plan" not in " ".join(t.get_text() for t in only_plan.get_legend().get_texts())
