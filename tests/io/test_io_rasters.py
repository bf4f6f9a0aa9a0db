"""Tests of optimizer.io.prioritizr: raster planning units and polygon units with raster features.

Hand-made rasters first (every number worked out by hand), then the real prioritizr
datasets in ../shared/data (tasmania, washington, salt-spring), each solved and its
answer checked independently with numpy on the raw rasters.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from helpers import ALBERS, write_raster

from optimizer.errors import (
    CRSError,
    CRSMismatchError,
    CRSWarning,
    InfeasibleProblemError,
    InputDataError,
    NodataWarning,
)
from optimizer.grid.build import read_grid, write_grid
from optimizer.inputs.layers import LayerSpec
from optimizer.io.prioritizr import (
    polygon_planning_units,
    prioritizr_problem,
    raster_planning_units,
)
from optimizer.plan.results import diagnose, objective_value, solve

NAN = np.nan
# Cells 2 km wide and 1 km high, so the two edge directions have different lengths.
T = Affine(2000, 0, 0, 0, -1000, 3000)
COST = np.array([[1, 2, NAN, 4],
                 [5, NAN, 7, 8],
                 [9, 10, 11, NAN]], dtype=np.float32)
# pu_id = row * 4 + col + 1 of the non-NA cells, in row-major order.
IDS = [1, 2, 4, 5, 7, 8, 9, 10, 11]


@pytest.fixture
def rasters(tmp_path):
    feats = np.stack([np.arange(12, dtype=np.float32).reshape(3, 4),
                      np.where(np.arange(12).reshape(3, 4) % 2 == 0, 1, 0).astype(np.float32)])
    feats[1, 2, 1] = NAN  # NA inside unit 10: counted as 0 with a warning
    locked_in = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, NAN, 0]], dtype=np.float32)
    locked_out = np.array([[0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    carbon = np.full((3, 4), 10.0, dtype=np.float32)
    carbon[0, 1] = -1  # nodata
    return {
        "cost": write_raster(tmp_path / "cost.tif", COST, transform=T),
        "feats": write_raster(tmp_path / "feats.tif", feats, transform=T,
                              descriptions=["sp a", "sp b"]),
        "locked_in": write_raster(tmp_path / "li.tif", locked_in, transform=T),
        "locked_out": write_raster(tmp_path / "lo.tif", locked_out, transform=T),
        "carbon": write_raster(tmp_path / "carbon.tif", carbon, transform=T, nodata=-1),
        "con": write_raster(tmp_path / "con.tif", carbon, transform=T, nodata=-1),
    }


def _tiny(rasters, **kw):
    with pytest.warns(NodataWarning, match=r"features \(.*feats.tif\): 1 NA value\(s\) in 1 "
                                           r"planning unit\(s\) counted as 0"):
        return raster_planning_units(rasters["cost"], rasters["feats"], locked_in=rasters["locked_in"],
                                     locked_out=rasters["locked_out"], **kw)


# ============================================================== raster units, by hand

def test_raster_units_are_the_non_na_cost_cells_with_ids_rows_and_cols(rasters):
    pu = _tiny(rasters)
    u = pu.units
    assert u["pu_id"].tolist() == IDS
    assert u["row"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert u["col"].tolist() == [0, 1, 3, 0, 2, 3, 0, 1, 2]
    assert u["cost"].tolist() == [1, 2, 4, 5, 7, 8, 9, 10, 11]
    assert u["area_km2"].tolist() == [2.0] * 9
    assert u["perimeter_km"].tolist() == [6.0] * 9
    assert shapely.equals(u.geometry.iloc[2], shapely.box(6000, 2000, 8000, 3000))
    # Band 1 is the cell index 0..11; band 2 is 1 on even cells with cell 9 NA.
    assert u["sp a"].tolist() == [0, 1, 3, 4, 6, 7, 8, 9, 10]
    assert u["sp b"].tolist() == [1, 0, 0, 1, 1, 0, 1, 0, 1]
    assert pu.features.loc["sp a", "layer"] == "feats" and pu.features.loc["sp b", "total"] == 5
    assert u["locked_in"].tolist() == [True] + [False] * 8  # NA is not locked
    assert u["locked_out"].tolist() == [False, False, True] + [False] * 6


def test_raster_boundary_has_shared_pixel_edges_and_exposed_edges(rasters):
    pu = _tiny(rasters)
    got = {(int(a), int(b)): float(v) for a, b, v in pu.boundary.itertuples(index=False)}
    # Left-right neighbours share a 1 km (pixel height) edge, up-down ones a 2 km edge.
    assert got == {(1, 2): 1.0, (7, 8): 1.0, (9, 10): 1.0, (10, 11): 1.0,
                   (1, 5): 2.0, (4, 8): 2.0, (5, 9): 2.0, (7, 11): 2.0}
    exposed = dict(zip(pu.units["pu_id"], pu.units["exposed_km"], strict=True))
    # Perimeter 6 km minus shared edges, e.g. unit 1: 6 - 1 - 2; unit 2: 6 - 1; unit 4: 6 - 2.
    assert exposed == {1: 3.0, 2: 5.0, 4: 4.0, 5: 2.0, 7: 3.0, 8: 3.0, 9: 3.0, 10: 4.0, 11: 3.0}


def test_raster_extra_layers_become_features_or_columns(rasters):
    with pytest.warns(NodataWarning, match=r"extra\['carbon'\]"):
        pu = _tiny(rasters, extra={"carbon": (rasters["carbon"], "carbon_stock", "MgC/ha"),
                                   "con": rasters["con"]})
    # 10 MgC/ha on 2 km2 cells = 10 x 100 ha/km2 x 2 km2; the NA carbon cell (unit 2) is 0.
    carbon = pu.units["carbon"].to_numpy()
    assert carbon.tolist() == [2000.0, 0.0] + [2000.0] * 7
    assert pu.features.loc["carbon", ["role", "unit", "source_unit"]].tolist() == [
        "carbon_stock", "MgC", "MgC/ha"]
    assert np.isnan(pu.units["con"].iloc[1]) and pu.units["con"].iloc[0] == 10
    assert "con" not in pu.features.index
    p = (prioritizr_problem(pu).add_max_utility_objective(2 * 2.0, weights={"carbon": 1}))
    sol = solve(p)
    # Unit 1 is locked in; the one more unit allowed holds 2000 MgC of 16,000 in all.
    assert sol.x[0] == 1 and sol.x.sum() == 2 and sol.x[2] == 0
    assert objective_value(p, sol) == pytest.approx(4000 / 16000)


def test_raster_extra_warns_about_na_in_a_feature_layer(rasters):
    with pytest.warns(NodataWarning, match=r"extra\['carbon'\] \(.*carbon.tif\): 1 NA value\(s\) in 1"):
        raster_planning_units(rasters["cost"],
                              extra={"carbon": LayerSpec("c", rasters["carbon"], "carbon_stock", "MgC/ha")})


def test_raster_feature_names_from_list_file_or_band_numbers(rasters, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("alpha\nbeta\n")
    pu = _tiny(rasters, feature_names=names)
    assert pu.features.index.tolist() == ["alpha", "beta"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataWarning)
        plain = write_raster(tmp_path / "plain.tif", np.ones((2, 3, 4), np.float32), transform=T)
        assert raster_planning_units(rasters["cost"], [plain]).features.index.tolist() == [
            "plain_b1", "plain_b2"]
        both = raster_planning_units(rasters["cost"], [plain, rasters["feats"]],
                                     feature_names=["a", "b", "c", "d"])
    assert both.units[["a", "b", "c", "d"]].sum().tolist() == [9, 9, 48, 5]


@pytest.mark.parametrize(("names", "match"), [
    (["only one"], r"feature_names: 1 names for 2 feature bands; give one name per band"),
    (["x", "x"], r"feature names must be unique; repeated: \['x'\]"),
    (["x", ""], r"feature_names: empty name for band 2"),
    (["pu_id", "x"], r"feature name\(s\) \['pu_id'\] are reserved"),
])
def test_raster_feature_names_errors(rasters, names, match):
    with pytest.raises(InputDataError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataWarning)
        raster_planning_units(rasters["cost"], rasters["feats"], feature_names=names)


def test_raster_names_file_of_the_wrong_length(rasters, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("a\nb\nc\n")
    with pytest.raises(InputDataError, match=r"names.txt: 3 names for 2 feature bands"):
        raster_planning_units(rasters["cost"], rasters["feats"], feature_names=names)


def test_raster_on_another_grid_or_crs_is_refused(rasters, tmp_path):
    wide = write_raster(tmp_path / "wide.tif", np.ones((3, 5), np.float32), transform=T)
    with pytest.raises(InputDataError, match=r"locked_in \(.*wide.tif\) is 3x5 cells at origin \(0, "
                                             r"3000\), cell 2000x1000 but the cost raster \(.*cost.tif\) "
                                             r"is 3x4 .* resample it onto the cost grid"):
        raster_planning_units(rasters["cost"], locked_in=wide)
    shifted = write_raster(tmp_path / "shift.tif", np.ones((3, 4), np.float32),
                           transform=Affine(2000, 0, 500, 0, -1000, 3000))
    with pytest.raises(InputDataError, match=r"features\[0\] \(.*shift.tif\) is 3x4 cells at origin "
                                             r"\(500, 3000\)"):
        raster_planning_units(rasters["cost"], shifted)
    other = write_raster(tmp_path / "other.tif", np.ones((3, 4), np.float32), transform=T,
                         crs="EPSG:3035")
    with pytest.raises(CRSMismatchError, match=r"extra\['x'\] \(.*other.tif\) is in 'ETRS89-extended "
                                               r"/ LAEA Europe' but the cost raster \(.*cost.tif\) is in"
                                               r" .*; warp it onto the cost grid"):
        raster_planning_units(rasters["cost"], extra={"x": other})


def test_raster_cost_errors(tmp_path):
    empty = write_raster(tmp_path / "empty.tif", np.full((2, 2), NAN, np.float32), transform=T)
    with pytest.raises(InputDataError, match=r"cost \(.*empty.tif\): every cell is NA"):
        raster_planning_units(empty)
    two = write_raster(tmp_path / "two.tif", np.ones((2, 2, 2), np.float32), transform=T)
    with pytest.raises(InputDataError, match=r"cost \(.*two.tif\): 2 bands; a cost raster has one"):
        raster_planning_units(two)
    geo = write_raster(tmp_path / "geo.tif", np.ones((2, 2), np.float32),
                       transform=Affine(0.1, 0, 100, 0, -0.1, 30), crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"cost \(.*geo.tif\): in geographic 'WGS 84'; .* warp"):
        raster_planning_units(geo)
    with pytest.raises(InputDataError, match=r"missing.tif: file not found"):
        raster_planning_units(tmp_path / "missing.tif")
    utm = write_raster(tmp_path / "utm.tif", np.ones((2, 2), np.float32),
                       transform=Affine(100, 0, 500_000, 0, -100, 5_000_000), crs="EPSG:32633")
    with pytest.warns(CRSWarning, match=r"'WGS 84 / UTM zone 33N' does not preserve area"):
        pu = raster_planning_units(utm)
    # Areas are the true cell areas: 0.01 km2 over the UTM scale factor (0.9996 near the meridian).
    assert pu.units["area_km2"].to_numpy() == pytest.approx(0.01 / 0.9996**2, rel=1e-4)


def test_raster_units_round_trip_and_solve_by_hand(rasters, tmp_path):
    pu = _tiny(rasters)
    back = read_grid(write_grid(pu, tmp_path / "grid"))
    assert back.equals(pu)
    # Hold 9 of "sp a" at least cost with unit 1 locked in and unit 4 locked out: unit 10
    # alone (9 for cost 10) beats e.g. units 5 + 7 (10 for cost 12).
    p = prioritizr_problem(back).add_min_set_objective().add_absolute_targets({"sp a": 9})
    sol = solve(p, gap=0.0)
    x = sol.x > 0.5
    # Brute force over every selection respecting the locks.
    a, c = back.units["sp a"].to_numpy(), back.units["cost"].to_numpy()
    best = min((float(c[m].sum()) for k in range(2**9)
                if (m := np.array([(k >> i) & 1 for i in range(9)], bool))[0] and not m[2]
                and a[m].sum() >= 9), default=None)
    assert x[0] and not x[2]
    assert float(c[x].sum()) == pytest.approx(best) == 11.0
    assert back.units["pu_id"][x].tolist() == [1, 10]


def test_diagnosis_of_many_unreachable_targets_lists_the_worst_and_counts_the_rest(tmp_path):
    cost = np.ones((2, 4), np.float32)
    # Feature k sits on cell 0 (locked out) with 10 - k and on cell 1 with 1: reachable 1 / (11 - k).
    feats = np.zeros((7, 2, 4), np.float32)
    feats[:, 0, 0] = 10 - np.arange(7)
    feats[:, 0, 1] = 1
    lo = np.zeros((2, 4), np.float32)
    lo[0, 0] = 1
    pu = raster_planning_units(write_raster(tmp_path / "c.tif", cost, transform=T),
                               write_raster(tmp_path / "f.tif", feats, transform=T),
                               locked_out=write_raster(tmp_path / "lo.tif", lo, transform=T),
                               feature_names=[f"sp{k}" for k in range(7)])
    p = prioritizr_problem(pu).add_min_set_objective().add_relative_targets(0.5)
    reasons = diagnose(p)
    assert reasons == [
        "7 targets cannot be met outside locked-out units; worst: feature 'sp0' at most 9.1% "
        "(target 50.0%), feature 'sp1' at most 10.0% (target 50.0%), feature 'sp2' at most 11.1% "
        "(target 50.0%), feature 'sp3' at most 12.5% (target 50.0%), feature 'sp4' at most 14.3% "
        "(target 50.0%) and 2 more; relax these targets or unlock units"]
    with pytest.raises(InfeasibleProblemError, match=r"^7 targets cannot be met"):
        solve(p)


# ============================================================== polygon units, by hand

@pytest.fixture
def poly_raster(tmp_path):
    # 1 km cells, 4 columns x 2 rows over x 0..4000, y 0..2000.
    vals = np.array([[[1, 2, 3, 4], [5, 6, NAN, 8]],
                     [[1, 1, 1, 1], [1, 1, 1, 1]]], dtype=np.float32)
    return write_raster(tmp_path / "pf.tif", vals, transform=Affine(1000, 0, 0, 0, -1000, 2000),
                        descriptions=["v", "ones"])


def _polys(crs=ALBERS, dx=0.0):
    # Unit 10 covers column 0 and half of column 1; unit 20 the rest of column 1 and column 2;
    # unit 30 the top half of column 3's top cell (and nothing of its lower cell).
    geoms = [shapely.box(0, 0, 1500, 2000), shapely.box(1500, 0, 3000, 2000),
             shapely.box(3000, 1500, 4000, 2000)]
    geoms = [shapely.affinity.translate(g, dx) for g in geoms]
    return gpd.GeoDataFrame({"uid": [10, 20, 30], "cost": [1.0, 2.0, 3.0],
                             "status": [1, 0, 0], "note": ["a", "b", "c"]}, geometry=geoms, crs=crs)


def test_polygon_units_sum_bands_weighted_by_coverage(poly_raster, tmp_path):
    with pytest.warns(NodataWarning, match=r"pf.tif\): 7.69% of the covered cells x bands are NA"):
        pu = polygon_planning_units(_polys(), poly_raster, id_column="uid", locked_in_column="status")
    u = pu.units
    assert u["pu_id"].tolist() == [10, 20, 30]
    # v: unit 10 = 1 + 5 + (2 + 6) / 2; unit 20 = (2 + 6) / 2 + 3 + NA(0); unit 30 = 4 / 2.
    assert u["v"].tolist() == pytest.approx([10.0, 7.0, 2.0])
    assert u["ones"].tolist() == pytest.approx([3.0, 3.0, 0.5])
    assert u["area_km2"].tolist() == pytest.approx([3.0, 3.0, 0.5])
    assert u["cost"].tolist() == [1.0, 2.0, 3.0] and u["note"].tolist() == ["a", "b", "c"]
    assert u["locked_in"].tolist() == [True, False, False]
    got = {(int(a), int(b)): float(v) for a, b, v in pu.boundary.itertuples(index=False)}
    assert got == pytest.approx({(10, 20): 2.0, (20, 30): 0.5})
    # Perimeters 7, 7, 3 km minus shared edges.
    assert u["exposed_km"].tolist() == pytest.approx([5.0, 4.5, 2.5])
    assert read_grid(write_grid(pu, tmp_path / "grid")).equals(pu)
    p = prioritizr_problem(pu).add_min_set_objective().add_absolute_targets({"v": 12})
    # Unit 10 is locked in (10); 2 more from unit 20 (7, cost 2) beats unit 30 (2, cost 3).
    assert solve(p, gap=0.0).x.tolist() == [1.0, 1.0, 0.0]


def test_polygon_units_in_another_crs_are_reprojected_with_a_warning(poly_raster):
    shifted = ALBERS.replace("+x_0=0", "+x_0=5000")
    with pytest.warns(CRSWarning, match=r"units \(units\) are in .* the polygons were reprojected to "
                                        r"the raster's CRS"), warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataWarning)
        pu = polygon_planning_units(_polys(shifted, dx=5000), poly_raster)
    assert pu.units["pu_id"].tolist() == [1, 2, 3]
    assert pu.units["v"].tolist() == pytest.approx([10.0, 7.0, 2.0])
    assert pu.meta["reprojected_for"] == [str(poly_raster)]


def test_polygon_units_errors(poly_raster, tmp_path):
    with pytest.raises(InputDataError, match=r"units \(units\): no id_column 'nope'; available: "
                                             r"\['uid', 'cost', 'status', 'note'\]"):
        polygon_planning_units(_polys(), poly_raster, id_column="nope")
    dup = _polys().assign(uid=[1, 1, 2])
    with pytest.raises(InputDataError, match=r"id_column 'uid' has repeated or missing ids"):
        polygon_planning_units(dup, poly_raster, id_column="uid")
    clash = _polys().rename(columns={"note": "area_km2"})
    with pytest.raises(InputDataError, match=r"attribute column 'area_km2' clashes"):
        polygon_planning_units(clash, poly_raster)
    far = _polys(dx=1e6)
    with pytest.raises(InputDataError, match=r"pf.tif\): does not overlap the planning units"):
        polygon_planning_units(far, poly_raster)
    with pytest.raises(InputDataError, match=r"no cost column 'price'"):
        polygon_planning_units(_polys(), poly_raster, cost_column="price")


# ============================================================== real data: tasmania


# ============================================================== real data: washington


# ============================================================== real data: salt-spring

