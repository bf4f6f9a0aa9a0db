"""The real-data part of tests/solvers/test_cut.py: 1 test on ../shared/data (tasmania-marxan).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import reference_feasible, reference_objective

from optimizer.grid.build import PlanningUnits
from optimizer.model.compile import compile
from optimizer.model.problem import Problem, problem
from optimizer.solvers import (
    CutSolver,
    HighsSolver,
    has_cut_form,
)

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


# ---------------------------------------------------------------- polygon units


# ---------------------------------------------------------------- brute force


# ---------------------------------------------------------------- against HiGHS


# ---------------------------------------------------------------- nested path


# ---------------------------------------------------------------- errors, auto, log


# ---------------------------------------------------------------- real data

def marxan_problem(folder) -> Problem:
    """Tasmania Marxan inputs read with pandas alone (no Marxan reader)."""
    d = folder / "input"
    pu = pd.read_csv(d / "pu.dat")
    spec = pd.read_csv(d / "spec.dat")
    puv = pd.read_csv(d / "puvspr.dat")
    bnd = pd.read_csv(d / "bound.dat", sep="\t")
    ids = pu["id"].to_numpy()
    amounts = (puv.pivot_table(index="pu", columns="species", values="amount", aggfunc="sum")
               .reindex(index=ids, columns=spec["id"]).fillna(0.0))
    self_edge = bnd["id1"] == bnd["id2"]
    exposed = bnd[self_edge].groupby("id1")["boundary"].sum().reindex(ids).fillna(0.0)
    pairs = bnd[~self_edge]
    boundary = pd.DataFrame({"id1": np.minimum(pairs["id1"], pairs["id2"]),
                             "id2": np.maximum(pairs["id1"], pairs["id2"]),
                             "length_km": pairs["boundary"].to_numpy(dtype=float)})
    data = {"pu_id": ids, "area_km2": np.ones(ids.size), "perimeter_km": np.zeros(ids.size),
            "exposed_km": exposed.to_numpy(), "pa_fraction": np.zeros(ids.size),
            "region": np.full(ids.size, None, dtype=object)}
    frows = []
    for sid, name in zip(spec["id"], spec["name"], strict=True):
        col = f"sp_{sid}"
        data[col] = amounts[sid].to_numpy()
        frows.append({"column": col, "layer": "sp", "role": "biodiversity", "year": pd.NA,
                      "label": name, "unit": "amount", "source_unit": "amount",
                      "density_column": "", "total": float(data[col].sum())})
    feats = pd.DataFrame(frows).set_index("column")
    feats["year"] = feats["year"].astype("Int64")
    units = gpd.GeoDataFrame(pd.DataFrame(data), geometry=shapely.points(pu["xloc"], pu["yloc"]))
    planning = PlanningUnits(units, boundary, feats, {})
    targets = {f"sp_{sid}": float(prop) for sid, prop in zip(spec["id"], spec["prop"], strict=True)}
    return (problem(planning, cost=pu["cost"].to_numpy(dtype=float)).add_relative_targets(targets)
            .add_min_set_objective()
            .add_locked_in(mask=pu["status"].to_numpy() == 2)
            .add_locked_out(mask=pu["status"].to_numpy() == 3)
            .add_boundary_penalty(0.0005))


def test_tasmania_marxan_with_blm_agrees_with_the_highs_mip():
    """Real data: 1,751 irregular units, 17 features, Marxan boundary file, BLM 0.0005."""
    from helpers import shared

    p = marxan_problem(shared("tasmania-marxan"))
    assert p.n_units == 1751 and len(p.targets) == 17
    m = compile(p)
    assert has_cut_form(m)[0]
    gap = 0.005
    cut = CutSolver(gap=gap, time_limit=25, polish_all=0).solve(m)
    mip = HighsSolver(strategy="mip", gap=gap, time_limit=25).solve(m)
    for sol in (cut, mip):
        assert reference_feasible(p, sol.x)
        assert sol.objective == pytest.approx(reference_objective(p, sol.x), rel=1e-9)
    assert cut.bound <= mip.objective + 1e-6 and mip.bound <= cut.objective + 1e-6
    # Both within the gap of each other (each gap is proven against its own bound).
    assert abs(cut.objective - mip.objective) <= (max(cut.gap, mip.gap) + gap) * mip.objective
    assert cut.gap <= 0.02


# ---------------------------------------------------------------- neighbourhood search


