"""Tests of optimizer.gap: hand-computed tiny grids, the demo's pattern, real data, errors, CLI."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import ALBERS, shared

from optimizer.gap import (
    carbon_table,
    gap_analysis,
    species_table,
)
from optimizer.grid.build import PlanningUnits

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata

# ============================================================== a tiny hand-made grid
#
# Four units of 1, 1, 2 and 4 km2. National park covers 1, 0.5, 0, 0.25 of them and
# nature reserve 0.5, 0.5, 0, 0: in units 0 and 1 the categories overlap, so the
# union (pa_fraction) is 1, 0.75, 0, 0.25 — less than the sum of the categories.
AREA = [1.0, 1.0, 2.0, 4.0]
PA = [1.0, 0.75, 0.0, 0.25]


def _feature(layer, role, unit, source_unit, *, year=None, label="", density=""):
    return {"layer": layer, "role": role, "year": year, "label": label, "unit": unit,
            "source_unit": source_unit, "density_column": density}


def tiny_grid(*, protected: bool = True, stock: bool = True) -> PlanningUnits:
    """The 4-unit grid described above (boxes side by side, in metres)."""
    sides = np.sqrt(AREA) * 1000
    x0 = np.concatenate([[0], np.cumsum(sides)[:-1]])
    geoms = shapely.box(x0, 0, x0 + sides, sides)
    cols = {
        "pu_id": [10, 11, 12, 13], "area_km2": AREA, "perimeter_km": shapely.length(geoms) / 1000,
        "exposed_km": shapely.length(geoms) / 1000, "pa_fraction": PA if protected else 0.0,
        "region": ["A", "A", "B", "B"],
        "biomass": [100.0, 200.0, 300.0, 400.0], "biomass_valid_km2": [1.0, 1.0, 2.0, 2.0],
        "soc": [1000.0, 0.0, 500.0, 800.0],
        "npp_2000": [10.0, 20.0, 30.0, 40.0], "npp_2010": [20.0, 20.0, 60.0, 40.0],
        "npp_valid_km2": AREA,
        "co2_2000": [0.0, 100.0, 1000.0, 10.0], "co2_2010": [0.0, 200.0, 1500.0, 20.0],
        "lc_forest_km2": [1.0, 0.5, 0.0, 4.0], "lc_cropland_km2": [0.0, 0.5, 2.0, 0.0],
        "sp_a": [1.0, 1.0, 0.0, 0.0], "sp_b": [0.0, 0.0, 2.0, 4.0],
        "richness": [3.0, 2.0, 2.0, 2.0], "richness_valid_km2": AREA,
    }
    if protected:
        cols["pa_national_park_fraction"] = [1.0, 0.5, 0.0, 0.25]
        cols["pa_nature_reserve_fraction"] = [0.5, 0.5, 0.0, 0.0]
    units = gpd.GeoDataFrame(pd.DataFrame(cols), geometry=geoms, crs=ALBERS)
    feats = {
        "npp_2000": _feature("npp", "carbon_uptake", "MgC/yr", "gC/m2/yr", year=2000),
        "npp_2010": _feature("npp", "carbon_uptake", "MgC/yr", "gC/m2/yr", year=2010),
        "co2_2000": _feature("co2", "emissions", "tCO2/yr", "tCO2/cell/yr", year=2000),
        "co2_2010": _feature("co2", "emissions", "tCO2/yr", "tCO2/cell/yr", year=2010),
        "lc_forest_km2": _feature("lc", "land_cover", "km2", "class", label="forest"),
        "lc_cropland_km2": _feature("lc", "land_cover", "km2", "class", label="cropland"),
        "sp_a": _feature("sp", "biodiversity", "km2", "fraction", label="Species A"),
        "sp_b": _feature("sp", "biodiversity", "km2", "fraction", label="Species B"),
        "richness": _feature("richness", "biodiversity", "species*km2", "species"),
    }
    if stock:
        feats = {"biomass": _feature("biomass", "carbon_stock", "MgC", "MgC/ha"),
                 "soc": _feature("soc", "carbon_stock", "MgC", "MgC/ha"), **feats}
    else:
        units = units.drop(columns=["biomass", "biomass_valid_km2", "soc"])
    features = pd.DataFrame.from_dict(feats, orient="index")
    features.index.name = "column"
    features["year"] = features["year"].astype("Int64")
    features["total"] = [float(units[c].sum()) for c in features.index]
    layers = [{"name": "pa", "role": "protected", "unit": "fraction"}] if protected else []
    meta = {"layers": layers, "area_km2": sum(AREA), "cell_km": None, "kind": "polygons"}
    boundary = pd.DataFrame({"id1": pd.Series([], dtype="int64"), "id2": pd.Series([], dtype="int64"),
                             "length_km": pd.Series([], dtype="float64")})
    return PlanningUnits(units, boundary, features, meta)


@pytest.fixture
def tiny() -> PlanningUnits:
    return tiny_grid()


def _row(df: pd.DataFrame, **where) -> pd.Series:
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


# ============================================================== zones


# ============================================================== Table 1


# ============================================================== Tables 2-3


# ============================================================== ecosystems, regions


# ============================================================== biodiversity


# ============================================================== hotspots, typology


# ============================================================== the whole report


# ============================================================== the demo's pattern


# ============================================================== real data: Washington

@pytest.fixture(scope="module")
def washington():
    import rasterio
    import rasterio.features

    from optimizer.grid.build import build_grid
    from optimizer.inputs.layers import LayerSpec

    folder = shared("washington")
    with rasterio.open(folder / "wa_pu.tif") as ds:
        pu_arr = ds.read(1)
        transform, crs = ds.transform, ds.crs.to_wkt()
    valid = np.isfinite(pu_arr)
    polys = [shapely.geometry.shape(g) for g, _ in rasterio.features.shapes(
        valid.astype("uint8"), mask=valid, transform=transform)]
    outline = shapely.union_all(polys)
    specs = [
        LayerSpec("locked_in", folder / "wa_locked_in.tif", "protected", "fraction"),
        LayerSpec("carbon", folder / "wa_carbon.tif", "carbon_stock", "MgC/ha"),
        LayerSpec("birds", folder / "wa_features.tif", "biodiversity", "count/cell"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pu = build_grid(specs, study_area=(outline, crs), crs=crs, cell_km=transform.a / 1000,
                        origin=(transform.c, transform.f))
    arrays = {}
    for name in ("wa_locked_in", "wa_carbon", "wa_features"):
        with rasterio.open(folder / f"{name}.tif") as ds:
            arrays[name] = ds.read(masked=True).filled(np.nan).astype(np.float64)
    return pu, valid, arrays


def test_washington_units_coincide_with_raster_cells(washington):
    pu, valid, _ = washington
    assert len(pu) == int(valid.sum()) == 10_757
    assert pu.units["area_km2"].to_numpy() == pytest.approx(16.0)


def test_washington_shares_match_numpy(washington):
    pu, valid, arr = washington
    locked = np.nan_to_num(arr["wa_locked_in"][0])
    carbon = np.nan_to_num(arr["wa_carbon"][0])
    ok = valid
    expected = float((carbon * locked)[ok].sum() / carbon[ok].sum())
    t = carbon_table(pu)
    got = _row(t, layer="carbon", zone="protected")["share"]
    assert got == pytest.approx(expected, rel=1e-6)
    expected_area = float(locked[ok].sum() / ok.sum())
    assert _row(t, layer="carbon", zone="protected")["area_share"] == pytest.approx(expected_area,
                                                                                     rel=1e-6)
    s = species_table(pu, target=0.3)
    assert len(s) == 396
    feats = np.nan_to_num(arr["wa_features"])[:, ok]
    expected_sp = (feats * locked[ok]).sum(axis=1) / feats.sum(axis=1)
    np.testing.assert_allclose(s["share_protected"].to_numpy(), expected_sp, rtol=1e-6)
    assert int(s["meets_target"].sum()) == int((expected_sp >= 0.3 - 1e-12).sum())


def test_washington_full_report(washington, tmp_path):
    pu, _, _ = washington
    rep = gap_analysis(pu)
    assert {"carbon", "species", "biodiversity", "hotspots", "typology"} <= set(rep.tables)
    assert "time_series" not in rep.tables
    rep.write(tmp_path)
    assert (tmp_path / "map_typology.png").exists()


# ============================================================== errors


# ============================================================== CLI


