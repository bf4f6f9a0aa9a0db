"""The app's re-solve engine (optimizer.studies.interactive): plans, caches, scenarios, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.results import patches, solve
from optimizer.scenario import Scenario, solve_scenario
from optimizer.solvers import plan_for_budget
from optimizer.studies.interactive import STAGE_TEXT, PlanSession, PlanSettings, compactness_multiple


@pytest.fixture(scope="module")
def pu():
    from optimizer.datasets import demo_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return demo_grid(40)


@pytest.fixture(scope="module")
def session(pu):
    return PlanSession(pu, grid={"path": "unused: the units are given"})


def _value(p, x):
    """The objective of plan x computed by hand: weighted normalised amounts of the free
    share, minus the boundary penalty times the plan's boundary length."""
    m = compile(p)
    return m.objective_value(m.complete(m.x_cols_of(x)))


def _boundary_km(pu, x):
    i, j, length = pu.boundary_indices()
    sel = np.asarray(x) > 0.5
    exposed = pu.units["exposed_km"].to_numpy()
    return float(exposed[sel].sum() + length[sel[i] != sel[j]].sum())


def test_objective_recomputed_and_within_gap_of_highs(session, pu):
    for c in (0.0, 0.5):
        r = session.solve(PlanSettings(budget_share=0.05, compactness=c))
        # objective by hand: utility of the selected units minus penalty x boundary
        p = r.problem
        util = compile(problem(pu)
                       .add_existing_protection(0.5)
                       .add_locked_out_land_cover("cropland", 0.5)
                       .add_max_utility_objective(budget_share=0.05, weights={
                           "carbon_stock": 1, "carbon_uptake": 1, "biodiversity": 1}))
        u = util.objective_value(util.complete(util.x_cols_of(r.x)))
        by_hand = u - r.boundary_penalty * _boundary_km(pu, r.x)
        assert r.objective == pytest.approx(by_hand, abs=1e-9)
        ref = solve(p, "highs", gap=1e-6, time_limit=60)
        best = _value(p, ref.x)
        assert r.objective <= best + 1e-9
        assert best - r.objective <= r.gap * abs(r.objective - r.constant) + 1e-9
        new_km2 = float(p.unprotected_km2[(r.x > 0.5) & (r.status == "added")].sum())
        assert new_km2 <= 0.05 * p.study_area_km2 * (1 + 1e-9)


def test_budget_change_reads_the_path(pu):
    s = PlanSession(pu)
    first = s.solve(PlanSettings(budget_share=0.05, compactness=0.5))
    assert first.stage == "cut solve"
    read = s.solve(PlanSettings(budget_share=0.12, compactness=0.5))
    assert read.stage == "nested path"
    # the path's plan for the budget, or a better one (its breakpoint block solved exactly)
    base = plan_for_budget(first.solution, 0.12 * read.problem.study_area_km2,
                           problem=read.problem)
    m = compile(read.problem)
    assert read.objective >= m.objective_value(m.complete(m.x_cols_of(base))) - 1e-12
    # reading the path gives what a solve at that budget gives
    fresh = PlanSession(pu).solve(PlanSettings(budget_share=0.12, compactness=0.5))
    assert fresh.stage == "cut solve"
    np.testing.assert_array_equal(read.x, fresh.x)
    assert read.objective == pytest.approx(fresh.objective, rel=1e-12)
    assert read.gap == pytest.approx(fresh.gap, rel=1e-9, abs=1e-12)


def test_compactness_gives_fewer_patches(session):
    loose = session.solve(PlanSettings(compactness=0.0))
    tight = session.solve(PlanSettings(compactness=1.0))
    n_loose = len(patches(loose.problem, loose.solution))
    n_tight = len(patches(tight.problem, tight.solution))
    assert n_tight < n_loose
    assert tight.boundary_penalty > 0 == loose.boundary_penalty
    # on what the plan changes: the nested path's own proven gap, no MIP polish (0.131 at
    # compactness 1 with the quantity weights of issue 21 §1; 0.095 before)
    assert np.isfinite(tight.gap) and tight.gap < 0.15


def test_compactness_scale():
    assert compactness_multiple(0) == 0
    assert compactness_multiple(0.5) == pytest.approx(1.0)
    assert compactness_multiple(1) == pytest.approx(11.0)
    # the scale lives upstream, in plan.calibration; the app's name still works
    from optimizer.plan import calibration

    assert compactness_multiple is calibration.compactness_multiple


@pytest.mark.parametrize("settings", [
    PlanSettings(budget_share=0.08, compactness=0.75, biodiversity=2.0),
    PlanSettings(budget_share=0.05, emissions_penalty=1.0, urban_out=True, lock_existing=False),
])
def test_saved_scenario_reproduces_the_plan(pu, settings):
    s = PlanSession(pu, grid={"path": "unused: the units are given"})
    s.solve(PlanSettings(budget_share=0.02, compactness=settings.compactness,
                         biodiversity=settings.biodiversity,
                         emissions_penalty=settings.emissions_penalty,
                         urban_out=settings.urban_out, lock_existing=settings.lock_existing))
    r = s.solve(settings)  # read from the cached path
    assert r.stage == "nested path"
    text = s.scenario(settings, name="saved").dumps()
    assert "nested_path = true" in text
    # compactness is saved scale-free, as a scenario asks for it (issue 21 §1)
    assert (f"\ncompactness = {settings.compactness}" in text) == (settings.compactness > 0)
    assert "\npenalty =" not in text
    sol = solve_scenario(Scenario.loads(text), pu=pu)
    np.testing.assert_array_equal(sol.x, r.x)
    assert sol.objective == pytest.approx(r.objective, rel=1e-12)


@pytest.mark.parametrize(("settings", "word"), [
    (PlanSettings(budget_share=0.0), "budget_share"),
    (PlanSettings(budget_share=1.5), "budget_share"),
    (PlanSettings(carbon_stock=-1.0), "carbon_stock"),
    (PlanSettings(emissions_penalty=float("nan")), "emissions_penalty"),
    (PlanSettings(carbon_stock=0, carbon_uptake=0, biodiversity=0), "all 0"),
    (PlanSettings(compactness=2.0), "compactness"),
])
def test_bad_settings(session, settings, word):
    with pytest.raises(InputDataError, match=word) as info:
        session.solve(settings)
    assert "\n" not in str(info.value)


def test_budget_below_the_locked_in_remainder_is_infeasible(session):
    with pytest.raises(InfeasibleProblemError, match="budget") as info:
        session.solve(PlanSettings(budget_share=1e-5))
    assert "\n" not in str(info.value)


def test_the_saved_toml_reproduces_the_plan_through_carbonpark_solve(pu, tmp_path, capsys):
    """The file a planner downloads, solved by the command line: the same units."""
    import pandas as pd

    from optimizer.cli import main
    from optimizer.datasets import demo_manifest

    s = PlanSession(pu, grid={"manifest": str(demo_manifest()), "cell_km": 40})
    settings = PlanSettings(budget_share=0.07, compactness=0.6, biodiversity=2.0,
                            emissions_penalty=0.5)
    r = s.solve(settings)
    (tmp_path / "app_plan.toml").write_text(s.scenario(settings).dumps())
    assert main(["solve", str(tmp_path / "app_plan.toml"), "--out", str(tmp_path / "o")]) == 0
    x = pd.read_parquet(tmp_path / "o" / "solution.parquet")["x"].to_numpy()
    np.testing.assert_array_equal(x, r.x.astype(x.dtype))
    assert int(x.sum()) > 0


def test_the_stage_announced_before_a_solve_is_the_stage_the_solve_reports(pu):
    # The app's spinner says what the caption will say (issue 21 §6): a cut solve first,
    # a read of the cached path when only the budget moves, a solve again for a new compactness.
    s = PlanSession(pu)
    for share, compactness in ((0.05, 0.5), (0.12, 0.5), (0.12, 0.8)):
        settings = PlanSettings(budget_share=share, compactness=compactness)
        announced = s.next_stage(settings)
        assert announced in STAGE_TEXT and s.solve(settings).stage == announced
    assert [s.next_stage(PlanSettings(budget_share=0.2, compactness=c)) for c in (0.5, 0.3)] == [
        "nested path", "cut solve"]
