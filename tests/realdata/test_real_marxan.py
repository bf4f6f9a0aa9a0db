"""The real-data part of tests/io/test_marxan.py and test_marxan_model.py: tests on ../shared/data
(tasmania-marxan, tasmania-marxan-abs).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import shared

from optimizer.io.marxan import (
    marxan_model,
    marxan_score,
    read_marxan,
    read_marxan_solution,
    read_marxan_summary,
    write_marxan_outputs,
)
from optimizer.model.compile import compile
from optimizer.plan.results import objective_value, solve

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


# ============================================================== parsing


# ============================================================== errors


# ============================================================== Marxan's objective


# ============================================================== output files


# ============================================================== problem -> Marxan


# ============================================================== the BLM a plan was solved with


# ============================================================== CLI


# ============================================================== real data

def _raw_objective(folder: Path, puvspr_name: str, x_by_id: pd.Series, blm: float,
                   prop: bool) -> tuple[float, bool]:
    """The min-set objective and target check from the raw .dat files (no carbonpark code)."""
    inp = folder / "input"
    pu = pd.read_csv(inp / "pu.dat")
    spec = pd.read_csv(inp / "spec.dat")
    pv = pd.read_csv(inp / puvspr_name, sep=None, engine="python")
    bound = pd.read_csv(inp / "bound.dat", sep="\t")
    x = x_by_id.reindex(pu["id"]).to_numpy(np.float64)
    sel = dict(zip(pu["id"], x, strict=True))
    cost = float(pu["cost"].to_numpy() @ x)
    xi = bound["id1"].map(sel).to_numpy()
    xj = bound["id2"].map(sel).to_numpy()
    same = (bound["id1"] == bound["id2"]).to_numpy()
    length = bound["boundary"].to_numpy()
    boundary = float((length[same] * xi[same]).sum() + (length[~same] * np.abs(xi - xj)[~same]).sum())
    held = pv.assign(x=pv["pu"].map(sel)).eval("a = amount * x").groupby("species")["a"].sum()
    total = pv.groupby("species")["amount"].sum()
    target = (spec.set_index("id")["prop"] * total if prop
              else spec.set_index("id")["target"])
    met = bool((held.reindex(target.index, fill_value=0) >= target * (1 - 1e-12)).all())
    locked_ok = bool((x[pu["status"].to_numpy() == 2] == 1).all()
                     and (x[pu["status"].to_numpy() == 3] == 0).all())
    return cost + blm * boundary, met and locked_ok


@pytest.mark.parametrize("blm", [0.0, 0.0005])
def test_tasmania_marxan_is_solved_exactly(blm):
    folder = shared("tasmania-marxan")
    proj = read_marxan(folder / "input.dat")
    assert proj.n_units == 1751 and len(proj.spec) == 17 and len(proj.puvspr) == 4662
    assert proj.files["sporder"] is None and "puvspr_sporder.dat" in proj.notes[0]
    p = proj.to_problem(blm=blm)
    sol = solve(p, gap=0.0)
    assert sol.is_optimal and sol.gap <= 1e-6
    x_by_id = pd.Series(sol.x, index=proj.pu["id"])
    raw, ok = _raw_objective(folder, "puvspr.dat", x_by_id, blm, prop=True)
    assert ok
    assert raw == pytest.approx(sol.objective, rel=1e-9)
    assert objective_value(p, sol) == pytest.approx(sol.objective, rel=1e-9)
    score = marxan_score(proj, sol, blm=blm)
    assert score["targets_met"] == 17 and score["penalty"] == 0 and score["missing_values"] == 0
    assert score["score"] == pytest.approx(objective_value(p, sol), rel=1e-12)


def test_tasmania_marxan_abs_within_one_percent_and_outputs_read_back(tmp_path):
    folder = shared("tasmania-marxan-abs")
    proj = read_marxan(folder)
    assert proj.files["puvspr"].name == "puvsp.dat" and proj.greedy_order is not None
    assert (proj.spec["spf"] == 10).all() and proj.blm == 0
    p = proj.to_problem()
    sol = solve(p, time_limit=120, gap=0.01)
    assert sol.gap <= 0.01
    x_by_id = pd.Series(sol.x, index=proj.pu["id"])
    raw, ok = _raw_objective(folder, "puvsp.dat", x_by_id, 0.0, prop=False)
    assert ok and raw == pytest.approx(sol.objective, rel=1e-9)
    score = marxan_score(proj, sol)
    assert score["score"] == pytest.approx(objective_value(p, sol), rel=1e-12)
    files = write_marxan_outputs(proj, sol, tmp_path, scenario=proj.scenario)
    back = read_marxan_solution(files["best"])
    assert back.index.tolist() == proj.pu["id"].tolist() and (back.to_numpy() == sol.x).all()
    summary = read_marxan_summary(files["sum"])
    assert summary.loc[0, "Score"] == score["score"] and summary.loc[0, "Cost"] == score["cost"]
    assert summary.loc[0, "Planning_Units"] == score["units"]
    assert summary.loc[0, "Missing_Values"] == 0 and summary.loc[0, "MPM"] == 1
    mv = pd.read_csv(files["mvbest"])
    np.testing.assert_allclose(mv["Target"].to_numpy(), proj.targets())
    assert (mv["Target Met"] == "yes").all()


@pytest.mark.parametrize(("folder", "blm"), [("tasmania-marxan", 0.0), ("tasmania-marxan", 0.0005),
                                             ("tasmania-marxan", None), ("tasmania-marxan-abs", None)])
def test_real_projects_compile_straight_from_their_tables_as_through_the_problem(folder, blm):
    # `carbonpark marxan` solves marxan_model (no pandas): the same arrays as the Problem path,
    # so the same plans and objectives (issue 23 item 6).
    proj = read_marxan(shared(folder))
    fast, slow = marxan_model(proj, blm), compile(proj.to_problem(blm))
    for name in ("c", "row_lower", "row_upper", "unit_of_col", "x_fixed", "unit_ids", "edge_x_cols"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
    assert fast.offset == slow.offset and fast.row_blocks == slow.row_blocks
    assert (fast.A != slow.A).nnz == 0 and np.array_equal(fast.A.indices, slow.A.indices)
