"""The real-data part of tests/solvers/test_solvers.py: 1 test on ../shared/data (tasmania).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import pytest

from optimizer.model.problem import problem
from optimizer.solvers import SolveStatus

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


def test_tasmania_min_set_17_percent_is_solved_to_optimality():
    """Real data: 1,130 polygon units, 33 vegetation features, user cost and locks."""
    import warnings

    import geopandas as gpd
    from helpers import shared

    from optimizer import LayerSpec, build_grid
    from optimizer.plan.results import feature_representation, solve

    folder = shared("tasmania")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0.5% nodata in the raster is expected
        pu = build_grid([LayerSpec("veg", str(folder / "tas_features.tif"), "biodiversity",
                                   "count/cell")], units=folder / "tas_pu.gpkg", id_column=None)
    attrs = gpd.read_file(folder / "tas_pu.gpkg")  # build_grid keeps no user columns
    assert len(attrs) == len(pu) == 1130
    p = (problem(pu, cost=attrs["cost"].to_numpy()).add_min_set_objective()
         .add_relative_targets(0.17)
         .add_locked_in(mask=attrs["locked_in"].to_numpy(bool))
         .add_locked_out(mask=attrs["locked_out"].to_numpy(bool)))
    assert len(p.targets) == 33
    sol = solve(p, gap=0.0, time_limit=60)
    assert sol.status is SolveStatus.OPTIMAL and sol.gap == 0.0
    rep = feature_representation(p, sol)
    assert rep["met"].all() and (rep["share_after"] >= 0.17 - 1e-9).all()
    assert sol.objective == pytest.approx(float(attrs["cost"].to_numpy() @ sol.x), rel=1e-9)
    assert sol.x[attrs["locked_in"].to_numpy(bool)].min() == 1
    assert sol.x[attrs["locked_out"].to_numpy(bool)].max() == 0
    cbc = solve(p, "pulp", gap=0.0, time_limit=60)
    assert cbc.objective == pytest.approx(sol.objective, rel=1e-6)


# ============================================================== never trust a backend's word


# ============================================================== interrupts and time limits


