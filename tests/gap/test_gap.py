"""Tests of optimizer.gap: hand-computed tiny grids, the demo's pattern, real data, errors, CLI."""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import ALBERS, row_where

from optimizer.errors import InputDataError
from optimizer.gap import (
    GapReport,
    biodiversity_summary,
    carbon_table,
    ecosystem_table,
    gap_analysis,
    growth_table,
    hotspots,
    region_table,
    species_table,
    synergy_typology,
    time_series_table,
    unit_values,
    zones,
)
from optimizer.grid.build import PlanningUnits, write_grid

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



# ============================================================== zones

def test_zones_union_is_less_than_sum_of_overlapping_categories(tiny):
    z = zones(tiny)
    assert z.names == ("whole", "national_park", "nature_reserve", "protected", "unprotected")
    area = z.sums(np.array(AREA))
    # national park 1 + 0.5 + 0 + 1; reserve 0.5 + 0.5; union 1 + 0.75 + 0 + 1
    assert area == pytest.approx([8.0, 2.5, 1.0, 2.75, 5.25], abs=1e-12)
    assert area[1] + area[2] > area[3]


def test_zones_category_selection(tiny):
    z = zones(tiny, categories=["nature_reserve"])
    assert z.names == ("whole", "nature_reserve", "protected", "unprotected")


def test_zones_with_two_protected_layers(tiny):
    # A second protected layer "oecm" (no categories) covering half of unit 2.
    tiny.meta["layers"].append({"name": "oecm", "role": "protected", "unit": "fraction"})
    tiny.units["oecm_fraction"] = [0.0, 0.0, 0.5, 0.0]
    tiny.units["pa_fraction"] = [1.0, 0.75, 0.5, 0.25]  # the union of both layers
    z = zones(tiny)
    assert z.names == ("whole", "pa.national_park", "pa.nature_reserve", "oecm", "protected",
                       "unprotected")
    assert z.sums(np.array(AREA))[4] == pytest.approx(3.75)
    only = zones(tiny, network="oecm")
    assert only.names == ("whole", "protected", "unprotected")
    assert only.protected.tolist() == [0.0, 0.0, 0.5, 0.0]
    with pytest.raises(InputDataError, match=r"network: \['pa'\] is a part of the protected"):
        zones(tiny, network="pa")


# ============================================================== Table 1

def test_carbon_table_by_hand(tiny):
    t = carbon_table(tiny, total_unit="MgC")
    b = row_where(t, layer="biomass", zone="protected")
    # 100*1 + 200*0.75 + 0 + 400*0.25; valid area 1 + 0.75 + 0 + 2*0.25
    assert b["total_MgC"] == pytest.approx(350.0)
    assert b["total"] == pytest.approx(350.0) and b["total_unit"] == "MgC"
    assert b["share"] == pytest.approx(0.35)
    assert b["area_km2"] == pytest.approx(2.75)
    assert b["area_share"] == pytest.approx(2.75 / 8)
    assert b["density_kgC_m2"] == pytest.approx(350 / 2.25 / 1000)
    assert b["density_MgC_ha"] == pytest.approx(350 / 2.25 / 100)
    assert b["density_ratio"] == pytest.approx((350 / 2.25) / (1000 / 6))
    u = row_where(t, layer="biomass", zone="unprotected")
    assert u["total_MgC"] == pytest.approx(650.0)
    assert u["density_ratio"] == pytest.approx((650 / 3.75) / (1000 / 6))
    npk = row_where(t, layer="biomass", zone="national_park")
    assert npk["total_MgC"] == pytest.approx(100 + 100 + 100)
    assert npk["density_kgC_m2"] == pytest.approx(300 / 2.0 / 1000)
    nr = row_where(t, layer="biomass", zone="nature_reserve")
    assert nr["total_MgC"] == pytest.approx(50 + 100)
    s = row_where(t, layer="soc", zone="protected")  # no valid column: density over area_km2
    assert s["total_MgC"] == pytest.approx(1200.0)
    assert s["density_ratio"] == pytest.approx((1200 / 2.75) / (2300 / 8))
    e = row_where(t, layer="ecosystem", zone="protected")
    assert e["total_MgC"] == pytest.approx(1550.0)
    assert e["share"] == pytest.approx(1550 / 3300)
    assert e["density_kgC_m2"] == pytest.approx((350 / 2.25 + 1200 / 2.75) / 1000)
    assert e["density_ratio"] == pytest.approx((350 / 2.25 + 1200 / 2.75) / (1000 / 6 + 2300 / 8))
    w = row_where(t, layer="ecosystem", zone="whole")
    assert w["share"] == 1.0 and w["density_ratio"] == pytest.approx(1.0)


def test_carbon_table_protected_plus_unprotected_is_whole(tiny):
    t = carbon_table(tiny)
    for layer, g in t.groupby("layer"):
        g = g.set_index("zone")
        assert g.at["protected", "total_MgC"] + g.at["unprotected", "total_MgC"] == pytest.approx(
            g.at["whole", "total_MgC"]), layer


def test_carbon_table_readable_unit_and_combine(tiny):
    t = carbon_table(tiny)
    assert set(t["total_unit"]) == {"GgC"}  # 3300 MgC -> 3.3 GgC
    assert row_where(t, layer="ecosystem", zone="whole")["total"] == pytest.approx(3.3)
    t2 = carbon_table(tiny, layers=["biomass"], combine={})
    assert set(t2["layer"]) == {"biomass"}
    t3 = carbon_table(tiny, combine={"all_carbon": ["biomass", "soc"]})
    assert "all_carbon" in set(t3["layer"]) and "ecosystem" not in set(t3["layer"])


# ============================================================== Tables 2-3

def test_time_series_and_growth_by_hand(tiny):
    ts = time_series_table(tiny)
    n0 = row_where(ts, layer="npp", year=2000, zone="protected")
    assert n0["amount"] == pytest.approx(10 + 15 + 0 + 10)
    assert n0["share"] == pytest.approx(35 / 100)
    assert n0["density_unit"] == "gC/m2/yr"  # 1 MgC/km2/yr = 1 gC/m2/yr, the CLI's unit
    assert n0["density"] == pytest.approx(35 / 2.75)
    assert n0["density_ratio"] == pytest.approx((35 / 2.75) / (100 / 8))
    c1 = row_where(ts, layer="co2", year=2010, zone="protected")
    assert c1["amount"] == pytest.approx(150 + 5)
    assert c1["density_unit"] == "tCO2/km2/yr"
    assert c1["density"] == pytest.approx(155 / 2.75)
    assert c1["total_unit"] == "ktCO2/yr" and c1["total"] == pytest.approx(0.155)
    g = growth_table(ts)
    gp = row_where(g, layer="npp", zone="protected")
    assert (gp["start_year"], gp["end_year"]) == (2000, 2010)
    assert gp["change_pct"] == pytest.approx(100 * (45 / 35 - 1))
    assert gp["annual_rate_pct"] == pytest.approx(100 * ((45 / 35) ** 0.1 - 1))
    gu = row_where(g, layer="npp", zone="unprotected")
    assert gu["change_pct"] == pytest.approx(100 * (95 / 65 - 1))


def test_growth_table_has_periods_and_span():
    rows = [("x", y, z, t, "MgC") for z, ts in (("protected", (1, 2, 4)), ("whole", (2, 2, 2)))
            for y, t in zip((2000, 2005, 2010), ts, strict=True)]
    ts = pd.DataFrame(rows, columns=["layer", "year", "zone", "total", "total_unit"])
    g = growth_table(ts)
    p = g[g["zone"] == "protected"]
    assert list(zip(p["start_year"], p["end_year"], p["span"], strict=True)) == [
        (2000, 2005, False), (2005, 2010, False), (2000, 2010, True)]
    assert p["change_pct"].tolist() == pytest.approx([100, 100, 300])
    assert p["annual_rate_pct"].iloc[2] == pytest.approx(100 * (4 ** 0.1 - 1))


# ============================================================== ecosystems, regions

def test_ecosystem_table_by_hand(tiny):
    e = ecosystem_table(tiny, target=0.3).set_index("ecosystem")
    assert e.at["forest", "area_km2"] == pytest.approx(5.5)
    assert e.at["forest", "protected_km2"] == pytest.approx(1 + 0.375 + 1)
    assert e.at["forest", "share_protected"] == pytest.approx(2.375 / 5.5)
    assert bool(e.at["forest", "meets_target"]) and e.at["forest", "shortfall_km2"] == 0
    assert e.at["cropland", "share_protected"] == pytest.approx(0.375 / 2.5)
    assert e.at["cropland", "shortfall_km2"] == pytest.approx(0.3 * 2.5 - 0.375)
    assert not bool(e.at["cropland", "meets_target"])
    # carbon of forest: stock x forest share of unit: 1100*1 + 200*0.5 + 0 + 1200*1
    assert e.at["forest", "carbon_total"] * 1000 == pytest.approx(2400)  # GgC
    assert e.at["forest", "carbon_share_protected"] == pytest.approx((1100 + 75 + 300) / 2400)
    assert ecosystem_table(tiny, target=0.5).set_index("ecosystem").at["forest", "shortfall_km2"] \
        == pytest.approx(0.5 * 5.5 - 2.375)


def test_region_table_by_hand(tiny):
    r = region_table(tiny).set_index("region")
    assert r.at["A", "land_share_protected"] == pytest.approx(1.75 / 2)
    assert r.at["B", "land_share_protected"] == pytest.approx(1 / 6)
    assert r.at["A", "carbon_share_protected"] == pytest.approx(1250 / 1300)
    assert r.at["B", "carbon_share_protected"] == pytest.approx(300 / 2000)
    assert int(r.at["A", "npp_year"]) == 2010
    assert r.at["A", "npp_share_protected"] == pytest.approx(35 / 40)
    assert r.at["B", "npp_share_protected"] == pytest.approx(10 / 100)


# ============================================================== biodiversity

def test_species_table_and_summary_by_hand(tiny):
    s = species_table(tiny, target=0.3).set_index("feature")
    assert list(s.index) == ["sp_a", "sp_b"]  # richness (intensive) is not a species
    assert s.at["sp_a", "share_protected"] == pytest.approx(1.75 / 2)
    assert s.at["sp_b", "share_protected"] == pytest.approx(1 / 6)
    assert s.at["sp_b", "shortfall"] == pytest.approx(0.3 * 6 - 1)
    assert s["meets_target"].tolist() == [True, False]
    b = biodiversity_summary(tiny, target=0.3).set_index("metric")["value"]
    assert b["species meeting the 30% target"] == 1
    assert b["mean richness, protected"] == pytest.approx((3 + 1.5 + 0 + 0.5) / 2.75)
    assert b["mean richness, whole"] == pytest.approx(9 / 8)
    assert b["mean richness, unprotected"] == pytest.approx(4 / 5.25)
    assert b["richness ratio protected / unprotected"] == pytest.approx((5 / 2.75) / (4 / 5.25))


def test_richness_falls_back_to_species_count(tiny):
    tiny.features = tiny.features.drop(index="richness")
    b = biodiversity_summary(tiny).set_index("metric")["value"]
    # species present: 1, 1, 1, 1 per unit -> mean 1 everywhere
    assert b["mean richness, protected"] == pytest.approx(1.0)
    v = unit_values(tiny)  # auto -> rarity without a richness layer
    # sp_a: 1/2 in units 0, 1; sp_b: 2/6, 4/6 in units 2, 3; per 1000 km2
    assert v["bio_value"].tolist() == pytest.approx(
        [500.0, 500.0, (2 / 6) / 2 * 1000, (4 / 6) / 4 * 1000])


# ============================================================== hotspots, typology

def test_unit_values_by_hand(tiny):
    v = unit_values(tiny)
    assert v["carbon_kgC_m2"].tolist() == pytest.approx([1.1, 0.2, 0.4, 0.4])
    assert v["npp_gC_m2_yr"].tolist() == pytest.approx([20, 20, 30, 10])
    assert v["bio_value"].tolist() == pytest.approx([3.0, 2.0, 1.0, 0.5])


def test_hotspots_by_hand(tiny):
    table, flags, by_region = hotspots(tiny, top=0.25, pa_threshold=0.5)
    t = table.set_index("criterion")
    # carbon: ranked 1.1 (1 km2), then a tie at 0.4 reaching 25% of 8 km2: all tied units flagged
    assert flags["top_carbon"].tolist() == [True, False, True, True]
    assert flags["gap_carbon"].tolist() == [False, False, True, True]
    assert t.at["carbon", "cutoff"] == pytest.approx(0.4)
    assert t.at["carbon", "gap_area_km2"] == pytest.approx(6.0)
    assert t.at["carbon", "top_protected_share"] == pytest.approx((1 + 1) / 7)
    # gap carbon: unprotected part of units 2 and 3: 800 + 1200 * 0.75
    assert t.at["carbon", "gap_carbon_MgC"] == pytest.approx(800 + 900)
    assert t.at["carbon", "gap_carbon_share"] == pytest.approx(1700 / 3300)
    assert flags["gap_npp"].tolist() == [False, False, True, False]
    assert flags["top_biodiversity"].tolist() == [True, True, False, False]
    assert not flags["gap_biodiversity"].any()  # unit 1 is 75% protected
    assert flags["gap_any"].tolist() == [False, False, True, True]
    assert t.at["any", "gap_units"] == 2
    b = by_region[by_region["criterion"] == "carbon"].set_index("region")
    assert b.at["B", "gap_area_km2"] == pytest.approx(6.0) and list(b.index) == ["B"]


def test_synergy_typology_quantile_by_hand(tiny):
    table, types = synergy_typology(tiny, quantile=2 / 3)
    # carbon high >= 0.4 (units 0, 2, 3); biodiversity high >= 1 (units 0, 1, 2)
    assert types.tolist() == ["synergy", "biodiversity", "synergy", "carbon"]
    syn = row_where(table, type="synergy", zone="protected")
    assert syn["area_km2"] == pytest.approx(1.0)  # unit 0 (1 km2 x 1) + unit 2 (2 km2 x 0)
    assert syn["carbon_MgC"] == pytest.approx(1100)
    assert row_where(table, type="synergy", zone="whole")["protected_share"] == pytest.approx(1 / 3)
    car = row_where(table, type="carbon", zone="unprotected")
    assert car["area_km2"] == pytest.approx(3.0) and car["carbon_MgC"] == pytest.approx(900)


def test_synergy_typology_kmeans_maps_clusters_by_centroid(demo_grid):
    values = unit_values(demo_grid)
    _, types = synergy_typology(demo_grid, method="kmeans", values=values, seed=0)
    assert set(types) <= {"synergy", "carbon", "biodiversity", "low", "no_data"}
    c = values["carbon_kgC_m2"]
    b = values["bio_value"]
    zc, zb = (c - c.mean()) / c.std(), (b - b.mean()) / b.std()
    for t, sc, sb in (("synergy", 1, 1), ("carbon", 1, -1), ("biodiversity", -1, 1), ("low", -1, -1)):
        sel = types == t
        if sel.any():
            # each cluster sits in its type's quadrant of the standardised plane
            assert np.sign(zc[sel].mean()) == sc and np.sign(zb[sel].mean()) == sb, t
    _, again = synergy_typology(demo_grid, method="kmeans", values=values, seed=0)
    assert (again == types).all()  # fixed seed: reproducible


# ============================================================== the whole report

def test_gap_analysis_writes_everything(tiny, tmp_path):
    rep = gap_analysis(tiny, target=0.3, top=0.25)
    assert isinstance(rep, GapReport)
    assert {"carbon", "time_series", "growth", "ecosystems", "regions", "species", "biodiversity",
            "hotspots", "typology"} <= set(rep.tables)
    files = rep.write(tmp_path / "gap")
    names = {p.name for p in files}
    assert {"carbon.csv", "summary.md", "units.parquet", "gap_units.csv", "shares.png", "density_ratio.png",
            "time_series.png", "map_hotspots.png", "map_typology.png"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in files)
    assert not list((tmp_path / "gap").glob(".*"))  # no temporary files left behind
    back = pd.read_csv(tmp_path / "gap" / "carbon.csv")
    assert back["total_MgC"].tolist() == pytest.approx(rep.tables["carbon"]["total_MgC"].tolist())
    md = (tmp_path / "gap" / "summary.md").read_text()
    assert "## Findings" in md and "| layer | zone |" in md
    layer = rep.map_layer()
    assert isinstance(layer, gpd.GeoDataFrame) and len(layer) == 4 and "gap_any" in layer


def test_gap_analysis_without_stock_skips_carbon(tmp_path):
    rep = gap_analysis(tiny_grid(stock=False))
    assert "carbon" not in rep.tables and "typology" not in rep.tables
    assert any("carbon_stock" in n for n in rep.notes)
    assert "species" in rep.tables
    rep.write(tmp_path)


# ============================================================== the demo's pattern

def test_demo_shows_the_studys_pattern(demo_grid):
    rep = gap_analysis(demo_grid)
    c = rep.tables["carbon"].set_index(["layer", "zone"])
    assert c.at[("biomass", "protected"), "density_ratio"] < 1
    assert c.at[("soc", "protected"), "density_ratio"] > 1
    assert c.at[("biomass", "protected"), "area_share"] == pytest.approx(0.113, abs=0.01)
    ts = rep.tables["time_series"]
    last = ts[(ts["year"] == 2020) & (ts["zone"] == "protected")].set_index("layer")
    assert last.at["npp", "density_ratio"] < 1
    assert last.at["co2", "density_ratio"] < 0.3
    assert {"national_park", "nature_reserve"} <= set(rep.tables["carbon"]["zone"])
    assert any("npp density inside protection" in f for f in rep.findings)


# ============================================================== real data: Washington


# ============================================================== errors

@pytest.mark.parametrize(("call", "match"), [
    (lambda pu: carbon_table(pu, layers=["nope"]), r"layers: unknown carbon_stock layer 'nope'"),
    (lambda pu: carbon_table(pu, combine={"x": ["biomass", "nope"]}), r"combine: 'x' lists"),
    (lambda pu: carbon_table(pu, combine={"soc": ["biomass"]}), r"combine: name 'soc'"),
    (lambda pu: carbon_table(pu, total_unit="kg"), r"total_unit: 'kg' does not fit totals in MgC"),
    (lambda pu: time_series_table(pu, layers="nope"), r"layers: unknown carbon_uptake/emissions"),
    (lambda pu: species_table(pu, target=1.5), r"target must be a share in \[0, 1\]; got 1\.5"),
    (lambda pu: ecosystem_table(pu, target=-0.1), r"target must be a share in \[0, 1\]; got -0\.1"),
    (lambda pu: gap_analysis(pu, target=30), r"target must be a share in \[0, 1\]; got 30"),
    (lambda pu: hotspots(pu, top=0), r"top must be a share in \(0, 1\]; got 0"),
    (lambda pu: hotspots(pu, pa_threshold=2), r"pa_threshold must be a share in \(0, 1\]"),
    (lambda pu: synergy_typology(pu, quantile=1), r"quantile must be a share in \(0, 1\)"),
    (lambda pu: synergy_typology(pu, method="dbscan"), r"method must be 'quantile' or 'kmeans'"),
    (lambda pu: gap_analysis(pu, typology="x"), r"typology must be 'quantile' or 'kmeans'"),
    (lambda pu: unit_values(pu, bio_value="x"), r"bio_value must be 'auto', 'richness' or"),
    (lambda pu: zones(pu, categories=["park"]), r"categories: unknown protected category"),
    (lambda pu: zones(pu, network="nope"), r"network: unknown protected layer"),
    (lambda pu: species_table(pu, features=["nope"]), r"features: unknown biodiversity layer"),
])
def test_bad_arguments_raise_one_line_errors(tiny, call, match):
    with pytest.raises(InputDataError, match=match) as info:
        call(tiny)
    assert "\n" not in str(info.value)


def test_no_protected_layer_is_an_error():
    pu = tiny_grid(protected=False)
    with pytest.raises(InputDataError, match=r"grid has no protected layer .*role = \"protected\""):
        gap_analysis(pu)
    with pytest.raises(InputDataError, match="grid has no protected layer"):
        carbon_table(pu)


def test_no_carbon_stock_layer_is_an_error_for_the_carbon_table():
    with pytest.raises(InputDataError, match=r"layers: the grid has no carbon_stock layer"):
        carbon_table(tiny_grid(stock=False))
    with pytest.raises(InputDataError, match=r"synergy typology needs a carbon_stock layer"):
        synergy_typology(tiny_grid(stock=False))


def test_missing_land_cover_and_region_are_errors(tiny):
    pu = tiny_grid()
    pu.features = pu.features[pu.features["role"] != "land_cover"]
    with pytest.raises(InputDataError, match="grid has no land_cover layer"):
        ecosystem_table(pu)
    pu.units["region"] = None
    with pytest.raises(InputDataError, match="grid has no region layer"):
        region_table(pu)


def test_not_a_grid_is_an_error():
    with pytest.raises(InputDataError, match="pu must be PlanningUnits; got dict"):
        gap_analysis({})


# ============================================================== CLI

def test_cli_gap_writes_files(tmp_path, capsys):
    from optimizer.cli import main

    grid = write_grid(tiny_grid(), tmp_path / "grid")
    out = tmp_path / "gap"
    code = main(["gap", str(grid), "--out", str(out), "--target", "0.3", "--top", "0.25",
                 "--protected-category", "national_park"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Carbon stock by zone" in printed and "national_park" in printed
    assert "nature_reserve" not in printed
    for name in ("carbon.csv", "time_series.csv", "species.csv", "hotspots.csv", "summary.md",
                 "shares.png", "map_typology.png"):
        assert (out / name).exists(), name


def test_cli_gap_bad_path_exits_2(tmp_path, capsys):
    from optimizer.cli import main

    code = main(["gap", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carbonpark: error:") and "not a carbonpark grid" in err
    assert len(err.splitlines()) == 1


def test_cli_gap_bad_target_exits_2(tmp_path, capsys):
    from optimizer.cli import main

    grid = write_grid(tiny_grid(), tmp_path / "grid")
    assert main(["gap", str(grid), "--target", "30", "--out", str(tmp_path / "o")]) == 2
    assert "argument --target: must be a share in [0, 1]; got 30" in capsys.readouterr().err


def test_markdown_and_fmt_handle_missing_values(tiny):
    rep = gap_analysis(tiny, top=0.25)
    md = rep.to_markdown()
    assert "—" in md  # NaN cutoff of the "any" hotspot row
    assert not math.isnan(rep.tables["carbon"]["density_ratio"].iloc[0])


def test_gap_analysis_reads_written_grid_identically(tiny, tmp_path):
    from optimizer.grid.build import read_grid

    back = read_grid(write_grid(tiny, tmp_path / "g"))
    a = carbon_table(tiny)
    b = carbon_table(back)
    pd.testing.assert_frame_equal(a, b)


def test_cwd_independent_paths(tmp_path, monkeypatch, capsys):
    """The CLI's default --out is relative to the working directory."""
    from optimizer.cli import main

    grid = write_grid(tiny_grid(), tmp_path / "grid")
    monkeypatch.chdir(tmp_path)
    assert main(["gap", str(grid)]) == 0
    assert (Path(tmp_path) / "out" / "gap" / "carbon.csv").exists()
    capsys.readouterr()


def test_a_mistyped_protected_category_gets_the_nearest_names(tiny):
    with pytest.raises(InputDataError, match=r"unknown protected category \['nature_reserves'\]; .*; did you "
                       r"mean 'nature_reserve'\?$"):
        zones(tiny, categories=["nature_reserves"])


def test_years_print_without_separators_and_unit_counts_with_them(demo_grid):
    # The planner reads the gap summary: "2000" is a year, "2,750 units" a count (issue 21 §5).
    rep = gap_analysis(demo_grid, top=0.5)
    md = rep.to_markdown()
    series = rep.tables["time_series"]
    years = sorted({int(y) for y in series["year"].dropna()})
    assert years and all(f"| {y} |" in md for y in years)
    assert not re.search(r"\| \d,\d{3} \| npp_", md)  # no "2,000" in a year cell
    counts = re.findall(r"lie outside protection \(([\d,]+) units", md)
    assert counts and any(int(c.replace(",", "")) >= 1000 for c in counts)
    assert all(c == f"{int(c.replace(',', '')):,}" for c in counts)
