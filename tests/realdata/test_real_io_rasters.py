"""The real-data part of tests/io/test_io_rasters.py: 6 tests on ../shared/data (salt-spring, tasmania, washington).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from helpers import shared

from optimizer.errors import (
    CRSWarning,
    InfeasibleProblemError,
    NodataWarning,
)
from optimizer.io.prioritizr import (
    polygon_planning_units,
    prioritizr_problem,
    raster_planning_units,
)
from optimizer.plan.results import feature_representation, solve

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata

# Cells 2 km wide and 1 km high, so the two edge directions have different lengths.
# pu_id = row * 4 + col + 1 of the non-NA cells, in row-major order.


# ============================================================== raster units, by hand


# ============================================================== polygon units, by hand


# ============================================================== real data: tasmania

def test_tasmania_polygons_match_exactextract_and_solve_17_percent_with_locks():
    from exactextract import exact_extract

    tas = shared("tasmania")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataWarning)  # cells offshore are NA
        pu = polygon_planning_units(tas / "tas_pu.gpkg", tas / "tas_features.tif", id_column="id")
    units = gpd.read_file(tas / "tas_pu.gpkg")
    assert len(pu) == 1130 and len(pu.features) == 33
    with rasterio.open(tas / "tas_features.tif") as ds:
        names = list(ds.descriptions)
    assert pu.features.index.tolist() == names
    ref = exact_extract(str(tas / "tas_features.tif"), units, "sum", output="pandas")
    np.testing.assert_allclose(pu.amounts(), ref[[f"band_{b}_sum" for b in range(1, 34)]].to_numpy().T,
                               rtol=1e-6, atol=1e-9)
    assert pu.units["cost"].tolist() == units["cost"].tolist()

    p = prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.17)
    sol = solve(p, gap=0.0)
    assert sol.is_optimal and sol.gap == pytest.approx(0, abs=1e-9)
    x = sol.x > 0.5
    amounts = pu.amounts()
    assert (amounts[:, x].sum(axis=1) >= 0.17 * amounts.sum(axis=1) - 1e-9).all()
    assert x[units["locked_in"].to_numpy()].all() and not x[units["locked_out"].to_numpy()].any()
    assert sol.objective == pytest.approx(float(units["cost"].to_numpy()[x].sum()), rel=1e-9)


# ============================================================== real data: washington

@pytest.fixture(scope="module")
def wa():
    folder = shared("washington")
    pu = raster_planning_units(
        folder / "wa_pu.tif", folder / "wa_features.tif", locked_in=folder / "wa_locked_in.tif",
        locked_out=folder / "wa_locked_out.tif",
        extra={"carbon": (folder / "wa_carbon.tif", "carbon_stock", "MgC/ha")},
        feature_names=folder / "wa_features_names.txt")
    raw = {}
    for name in ("wa_pu", "wa_features", "wa_locked_in", "wa_locked_out", "wa_carbon"):
        with rasterio.open(folder / f"{name}.tif") as ds:
            raw[name] = ds.read(masked=True).filled(np.nan).astype(np.float64)
    valid = np.isfinite(raw["wa_pu"][0])
    names = (folder / "wa_features_names.txt").read_text().splitlines()
    return pu, raw, valid, names


def test_washington_units_and_amounts(wa):
    pu, raw, valid, names = wa
    assert len(pu) == int(valid.sum()) == 10_757
    assert pu.features.index.tolist() == [*names, "carbon"]
    assert pu.units["area_km2"].to_numpy() == pytest.approx(16.0)
    np.testing.assert_allclose(pu.amounts(names), raw["wa_features"][:, valid], rtol=1e-6)
    # Mg C/ha x 1600 ha per 4 km cell.
    np.testing.assert_allclose(pu.units["carbon"], np.nan_to_num(raw["wa_carbon"][0][valid]) * 1600,
                               rtol=1e-6)
    assert int(pu.units["locked_out"].sum()) == 1399 and int(pu.units["locked_in"].sum()) == 555


def test_washington_30_percent_with_urban_lock_out_is_infeasible_and_names_the_species(wa):
    pu, raw, valid, names = wa
    p = prioritizr_problem(pu).add_min_set_objective().add_relative_targets({"biodiversity": 0.3})
    with pytest.raises(InfeasibleProblemError) as info:
        solve(p)
    message = str(info.value)
    # Independently: the share of each species outside urban cells.
    feats = np.nan_to_num(raw["wa_features"][:, valid])
    urban = np.nan_to_num(raw["wa_locked_out"][0][valid]) > 0
    share = feats[:, ~urban].sum(axis=1) / feats.sum(axis=1)
    short = np.flatnonzero(share < 0.3)
    assert short.size >= 2
    for k in short[np.argsort(share[short])][:2]:
        assert re.search(re.escape(f"feature '{names[k]}'") + r".*?" + re.escape(f"{share[k]:.1%}"),
                         message)
    assert len(message) < 1200


def test_washington_without_the_lock_out_solves_min_set(wa):
    pu, raw, valid, _ = wa
    open_pu = type(pu)(pu.units.drop(columns="locked_out"), pu.boundary, pu.features, pu.meta)
    p = prioritizr_problem(open_pu).add_min_set_objective().add_relative_targets({"biodiversity": 0.3})
    sol = solve(p, gap=0.02, time_limit=60)
    assert sol.is_optimal and sol.gap <= 0.02
    x = sol.x > 0.5
    feats = np.nan_to_num(raw["wa_features"][:, valid])
    assert (feats[:, x].sum(axis=1) >= 0.3 * feats.sum(axis=1) * (1 - 1e-9)).all()
    assert x[np.nan_to_num(raw["wa_locked_in"][0][valid]) > 0].all()
    assert sol.objective == pytest.approx(float(raw["wa_pu"][0][valid][x].sum()), rel=1e-6)


def test_washington_carbon_and_biodiversity_max_utility_under_a_budget(wa):
    pu, raw, valid, _ = wa
    p = (prioritizr_problem(pu).add_max_utility_objective(
        budget_share=0.1, weights={"carbon": 1, "biodiversity": 1}))
    sol = solve(p, gap=1e-3, time_limit=60)
    assert sol.is_optimal and sol.gap <= 1e-3
    x = sol.x > 0.5
    locked_in = np.nan_to_num(raw["wa_locked_in"][0][valid]) > 0
    urban = np.nan_to_num(raw["wa_locked_out"][0][valid]) > 0
    assert x[locked_in].all() and not x[urban].any()
    assert 16.0 * x.sum() <= 0.1 * 16.0 * valid.sum() + 1e-6
    carbon = np.nan_to_num(raw["wa_carbon"][0][valid]) * 1600
    feats = np.nan_to_num(raw["wa_features"][:, valid])
    carbon_share = carbon[x].sum() / carbon.sum()
    bio = (feats[:, x].sum(axis=1) / feats.sum(axis=1)).mean()
    assert sol.objective == pytest.approx(carbon_share + bio, rel=1e-6)
    rep = feature_representation(p, sol).set_index("feature")
    assert rep.loc["carbon", "held_after"] == pytest.approx(carbon[x].sum(), rel=1e-9)
    # The plan holds more carbon than its share of the area.
    assert carbon_share > 0.1


# ============================================================== real data: salt-spring

def test_salt_spring_min_set_17_percent():
    folder = shared("salt-spring")
    with pytest.warns(CRSWarning, match="UTM zone 10N"):
        pu = raster_planning_units(folder / "salt_pu.tif", folder / "salt_features.tif",
                                   extra={"con": folder / "salt_con.tif"})
    assert len(pu) == 19_794 and len(pu.features) == 4
    p = prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.17)
    sol = solve(p, gap=0.0, time_limit=60)
    assert sol.is_optimal
    with rasterio.open(folder / "salt_pu.tif") as ds:
        cost = ds.read(1).astype(np.float64)
    with rasterio.open(folder / "salt_features.tif") as ds:
        feats = ds.read().astype(np.float64)
    valid = np.isfinite(cost)
    x = sol.x > 0.5
    f = np.nan_to_num(feats[:, valid])
    assert (f[:, x].sum(axis=1) >= 0.17 * f.sum(axis=1) * (1 - 1e-9)).all()
    assert sol.objective == pytest.approx(float(cost[valid][x].sum()), rel=1e-9)
    assert pd.Series(pu.units["con"]).notna().all()
