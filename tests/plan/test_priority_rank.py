"""The priority rank agrees with the plan beside it (issue 21 §4): region budgets kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from optimizer.cli import main
from optimizer.model.problem import problem
from optimizer.plan.priority_rank import priority_rank
from optimizer.plan.results import solve
from optimizer.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
CAP_KM2 = 40_000.0  # Hexi: the uncapped plan adds ~109,000 km² there


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path, Path]:
    """`balanced` with a region cap, solved and exported: (scenario, solve folder, export)."""
    root = tmp_path_factory.mktemp("rank")
    text = (ROOT / "scenarios" / "balanced.toml").read_text(encoding="utf-8")
    text = text.replace('"../data/demo.toml"', json.dumps(str(ROOT / "data" / "demo.toml")))
    text += f'\n[[area_budgets]]\nregion = "Hexi"\nmax_km2 = {CAP_KM2}\n'
    scenario = root / "capped.toml"
    scenario.write_text(text, encoding="utf-8")
    assert main(["solve", str(scenario), "--out", str(root / "plan")]) == 0
    assert main(["export", str(root / "plan"), "--out", str(root / "gis"), "--format", "tif"]) == 0
    return scenario, root / "plan", root / "gis"


def test_the_plans_added_units_are_the_top_ranks_of_priority_rank_tif(exported):
    scenario, plan, gis = exported
    pu = Scenario.load(scenario).load_grid()
    status = (pd.read_parquet(plan / "solution.parquet").set_index("pu_id")["status"]
              .reindex(pu.units["pu_id"]).to_numpy())
    with rasterio.open(gis / "priority_rank.tif") as src:
        rank, entry = src.read()
        meaning = src.tags()["meaning"]
    r = rank[pu.units["row"], pu.units["col"]]
    e = entry[pu.units["row"], pu.units["col"]]
    added = status == "added"
    n = int(added.sum())
    assert n > 50
    # The map agrees with the plan: ranks 1..n are exactly its added units.
    assert set(np.flatnonzero(np.isfinite(r) & (r <= n))) == set(np.flatnonzero(added))
    assert f"ranks 1-{n:,} are the plan's {n:,} added units" in meaning
    # ... and the rank's plan of the plan's size is the plan: its entry budget is new_km2.
    s = json.loads((plan / "summary.json").read_text())
    assert np.nanmax(e[added]) == pytest.approx(s["new_km2"], rel=1e-5)
    # Along the rank, Hexi never holds more than its cap scaled to the budget.
    ok = np.isfinite(r)
    order = np.flatnonzero(ok)[np.argsort(r[ok])]
    new = pu.units["area_km2"].to_numpy() * (1 - np.clip(pu.units["pa_fraction"].to_numpy(), 0, 1))
    hexi = (pu.units["region"] == "Hexi").to_numpy()
    held = status == "existing"  # locked in: unranked, their new area counted from the start
    base_hexi, base = float(new[held & hexi].sum()), float(new[held].sum())
    hexi_km2 = base_hexi + np.cumsum(new[order] * hexi[order])
    budget = base + np.cumsum(new[order])
    assert budget == pytest.approx(e[order], rel=1e-5)
    assert (hexi_km2 <= CAP_KM2 * budget / s["new_km2"] + 1e-6).all()
    assert not ok[held].any()


def test_without_the_scaled_budgets_the_plan_would_be_contradicted_on_the_demo_grid(demo_grid):
    # The finding on the 20 km grid: a plan with a region cap had units ranked far
    # below the plan's size. Now the top n are the plan and region shares stay within the cap.
    p = (problem(demo_grid).add_max_utility_objective(budget_share=0.1, weights={"carbon": 1,
                                                                                 "biodiversity": 1})
         .add_existing_protection().add_area_budget(region="Hexi", max_km2=CAP_KM2))
    sol = solve(p, gap=1e-3)
    pr, note = priority_rank(p, plan=sol.x)
    locked, _ = p.locked_masks()
    added = (sol.x > 0.5) & ~locked
    n = int(added.sum())
    assert pr.plan_units == n and set(np.flatnonzero((pr.rank > 0) & (pr.rank <= n))) == set(
        np.flatnonzero(added))
    free, _ = priority_rank(p)  # the path alone, without the plan
    assert set(np.flatnonzero((free.rank > 0) & (free.rank <= n))) != set(np.flatnonzero(added))
    new = p.unprotected_km2
    hexi = (demo_grid.units["region"] == "Hexi").to_numpy()
    order = np.flatnonzero(pr.rank > 0)[np.argsort(pr.rank[pr.rank > 0])]
    plan_km2 = float(new[sol.x > 0.5].sum())
    used = new[locked & hexi].sum() + np.cumsum(new[order] * hexi[order])
    budget = new[locked].sum() + np.cumsum(new[order])
    assert budget[n - 1] == pytest.approx(plan_km2, rel=1e-9)
    assert (used <= CAP_KM2 * budget / plan_km2 + 1e-6).all()
    assert pr.over_budget == 0 and "scaled to the budget" in note
