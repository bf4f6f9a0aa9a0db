"""Candidate parks (optimizer.plan.parks): components, attributes by hand, extensions, min size,
refill, and parks of a real demo solve."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from optimizer.errors import InputDataError
from optimizer.grid.build import planning_units_from_arrays
from optimizer.model.problem import problem
from optimizer.plan.parks import PARK_COLUMNS, Parks, candidate_parks
from optimizer.plan.results import unit_status

ROOT = Path(__file__).resolve().parents[2]
CRS = "EPSG:6933"
CO2 = 44.0095 / 12.0107


def grid(nrows: int, ncols: int, amounts: dict[str, list[float]], *, roles: dict[str, str],
         pa: list[float] | None = None, region: list[str] | None = None,
         square: bool = True, areas: gpd.GeoDataFrame | None = None):
    """nrows x ncols 1 km boxes (ids 1.. row by row), rook boundary, optional row/col."""
    n = nrows * ncols
    ids = np.arange(1, n + 1)
    rows, cols = np.divmod(ids - 1, ncols)
    geoms = shapely.box(cols * 1000.0, -(rows + 1) * 1000.0, (cols + 1) * 1000.0, -rows * 1000.0)
    pairs = [(a, a + 1) for a in ids if (a - 1) % ncols < ncols - 1]
    pairs += [(a, a + ncols) for a in ids if a + ncols <= n]
    boundary = pd.DataFrame([(a, b, 1.0) for a, b in pairs], columns=["id1", "id2", "length_km"])
    info = pd.DataFrame({"role": [roles[c] for c in amounts], "unit": "km2/cell"}, index=list(amounts))
    pu = planning_units_from_arrays(
        ids, amounts, geometry=geoms, crs=CRS, boundary=boundary, pa_fraction=pa, region=region,
        feature_info=info, extra={"row": rows, "col": cols} if square else None)
    pu.protected_areas = areas
    return pu


def ids_of(parks: Parks, pu) -> list[list[int]]:
    """Unit ids of each park, in table order."""
    ids = pu.units["pu_id"].to_numpy()
    return [sorted(ids[parks.unit_park == pid].tolist()) for pid in parks.table["park_id"]]


# ================================================================ components

@pytest.mark.parametrize("square", [True, False], ids=["row-col", "geometry"])
def test_diagonal_pair_is_two_parks_rook_one_queen(square):
    # 1 2 3 / 4 5 6 / 7 8 9: cells 1 and 5 touch at a corner only; 9 touches 5 too.
    pu = grid(3, 3, {"c": [1.0] * 9}, roles={"c": "carbon_stock"}, square=square)
    p = problem(pu)
    x = np.zeros(9)
    x[[0, 4, 8, 2]] = 1  # ids 1, 5, 9 on the diagonal, and 3 (corner to 5)
    rook = candidate_parks(p, x)
    assert sorted(ids_of(rook, pu)) == [[1], [3], [5], [9]]
    queen = candidate_parks(p, x, connectivity="queen")
    assert ids_of(queen, pu) == [[1, 3, 5, 9]]
    assert queen.table["area_km2"].tolist() == [4.0]
    assert queen.table["geometry"].iloc[0].geom_type == "MultiPolygon"  # corners: 4 parts
    assert (queen.unit_park > 0).sum() == 4 and set(queen.unit_park[x > 0]) == {1}


def test_every_added_unit_in_one_park_existing_units_in_none():
    pu = grid(2, 3, {"c": [5.0, 1, 1, 1, 1, 1]}, roles={"c": "carbon_stock"},
              pa=[1.0, 0, 0, 0, 0, 0])
    p = problem(pu)
    parks = candidate_parks(p, [1, 1, 0, 0, 0, 1])
    assert parks.unit_park.tolist() == [0, 1, 0, 0, 0, 2] or parks.unit_park.tolist() == \
        [0, 2, 0, 0, 0, 1]
    assert parks.table["n_units"].tolist() == [1, 1]
    assert parks.x.tolist() == [1, 1, 0, 0, 0, 1] and len(parks.refilled) == 0
    assert list(parks.table.columns) == list(PARK_COLUMNS)
    empty = candidate_parks(p, [1, 0, 0, 0, 0, 0])  # only the existing unit: no park
    assert len(empty.table) == 0 and list(empty.table.columns) == list(PARK_COLUMNS)
    assert empty.unit_park.tolist() == [0] * 6
    assert "0 candidate parks" in empty.summary()


# ================================================================ attributes by hand

def attribute_grid():
    # 2 x 3: 1 2 3 / 4 5 6. Unit 2 is a quarter protected (below the 0.5 threshold).
    amounts = {
        "biomass": [10.0, 20, 30, 40, 50, 60],
        "soc": [1.0, 2, 3, 4, 5, 6],
        "npp_old": [9.0, 9, 9, 9, 9, 9],
        "npp_new": [1.0, 2, 3, 4, 5, 6],
        "co2_new": [0.5, 0.5, 0.5, 1, 1, 1],
        "sp_a": [1.0, 1, 0, 0, 0, 2],
        "sp_b": [0.0, 0, 1, 1, 0, 0],
        "sp_c": [0.0, 0, 0, 0, 0, 3],
        "lc_forest_km2": [1.0, 0.6, 0.2, 1, 0, 0],
        "lc_grass_km2": [0.0, 0.4, 0.8, 0, 1, 1],
    }
    roles = {"biomass": "carbon_stock", "soc": "carbon_stock", "npp_old": "carbon_uptake",
             "npp_new": "carbon_uptake", "co2_new": "emissions", "sp_a": "biodiversity",
             "sp_b": "biodiversity", "sp_c": "biodiversity", "lc_forest_km2": "land_cover",
             "lc_grass_km2": "land_cover"}
    pu = grid(2, 3, amounts, roles=roles, pa=[0, 0.25, 0, 0, 0, 0],
              region=["north", "north", "east", "south", "south", "east"])
    f = pu.features
    f.loc[["npp_old", "npp_new"], "layer"] = "npp"
    f.loc[["npp_old", "npp_new"], "year"] = [2000, 2020]
    f.loc["lc_forest_km2", "label"] = "forest"
    f.loc["lc_grass_km2", "label"] = "grass"
    f.loc["sp_a", "label"] = "Species A"
    return pu, amounts


def test_attributes_equal_sums_over_the_park_units_by_hand():
    pu, a = attribute_grid()
    p = problem(pu)
    parks = candidate_parks(p, [0, 1, 1, 0, 0, 1])  # one park: units 2, 3, 6
    assert len(parks.table) == 1
    row = parks.table.iloc[0]
    free = np.array([0.75, 1, 1])  # unit 2 counts its unprotected three quarters
    units = [1, 2, 5]
    assert row["n_units"] == 3
    assert row["area_km2"] == pytest.approx(0.75 + 1 + 1)
    carbon = sum((a["biomass"][u] + a["soc"][u]) * f for u, f in zip(units, free, strict=True))
    assert carbon == pytest.approx(20 * 0.75 + 2 * 0.75 + 33 + 66)
    assert row["carbon_stock_MgC"] == pytest.approx(carbon)
    assert row["carbon_stock_tCO2e"] == pytest.approx(carbon * 44.0095 / 12.0107)
    assert row["carbon_uptake_MgC_per_yr"] == pytest.approx(2 * 0.75 + 3 + 6)  # 2020 only
    assert row["emissions_tCO2_per_yr"] == pytest.approx(0.5 * 0.75 + 0.5 + 1)
    # Species: A 0.75 + 2 of 4, B 1 of 2, C 3 of 3 -> 68.75% + 50% + 100%.
    assert row["species_in_range"] == 3
    assert row["biodiversity_value"] == pytest.approx(100 * (2.75 / 4 + 1 / 2 + 3 / 3))
    assert row["key_species"] == 3
    assert row["key_species_names"] == "Species A; sp_b; sp_c"
    # Land cover: forest 0.45 + 0.2 + 0 = 0.65, grass 0.3 + 0.8 + 1 = 2.1 of 2.75 km2.
    assert row["dominant_ecosystem"] == "grass"
    assert row["ecosystem_mix"] == f"grass {2.1 / 2.75:.0%}, forest {0.65 / 2.75:.0%}"
    assert row["regions"] == "east; north"  # east 2 km2, north 0.75 km2
    # Synergy types by hand (upper terciles of carbon density and rarity-weighted
    # richness): 2 low, 3 biodiversity, 6 synergy; 1 km2 each of the last two: the tie
    # goes to synergy, first in TYPES.
    assert row["typology"] == "synergy"
    assert row["is_extension"] is np.False_ or row["is_extension"] is False
    assert row["extends"] == ""
    # One L-shaped polygon of three cells: area 3 km2 (whole cells), perimeter 8 km.
    assert row["geometry"].area == pytest.approx(3e6)
    assert row["polsby_popper"] == pytest.approx(4 * math.pi * 3 / 8 ** 2)
    assert row["rank"] == 1 and row["park_id"] == 1


def test_value_per_km2_and_rank_follow_the_objective():
    pu, a = attribute_grid()
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"biomass": 1})
    parks = candidate_parks(p, [1, 0, 0, 0, 0, 1])  # two single-cell parks: 1 and 6
    total = sum(a["biomass"])
    assert ids_of(parks, pu) == [[6], [1]]  # 60 MgC ranks above 10
    assert parks.table["value_per_km2"].tolist() == pytest.approx([60 / total, 10 / total])
    assert parks.table["rank"].tolist() == [1, 2]
    assert parks.unit_park.tolist() == [2, 0, 0, 0, 0, 1]


def test_key_species_by_hand():
    # Species s: 0.95 in park {1}, 0.05 in park {3}; t: half in each; u: only in {1}.
    pu = grid(1, 3, {"s": [0.95, 0, 0.05], "t": [1.0, 0, 1], "u": [2.0, 0, 0]},
              roles={"s": "biodiversity", "t": "biodiversity", "u": "biodiversity"})
    p = problem(pu)
    parks = candidate_parks(p, [1, 0, 1])
    by_id = dict(zip(map(tuple, ids_of(parks, pu)), parks.table.itertuples(), strict=True))
    assert by_id[(1,)].key_species_names == "s; t; u" and by_id[(1,)].key_species == 3
    assert by_id[(3,)].key_species_names == "t" and by_id[(3,)].key_species == 1  # 5% < 10%
    assert by_id[(3,)].species_in_range == 2
    strict = candidate_parks(p, [1, 0, 1], key_share=0.6)
    names = dict(zip(map(tuple, ids_of(strict, pu)), strict.table["key_species_names"],
                     strict=True))
    assert names == {(1,): "s; u", (3,): ""}


def test_polsby_popper_of_one_square_cell_is_pi_over_4():
    pu = grid(1, 3, {"c": [1.0, 1, 1]}, roles={"c": "carbon_stock"})
    parks = candidate_parks(problem(pu), [1, 0, 1])
    assert parks.table["polsby_popper"].tolist() == pytest.approx([math.pi / 4] * 2)
    two = candidate_parks(problem(pu), [1, 1, 0])  # a 2 x 1 rectangle: 4 pi 2 / 6^2
    assert two.table["polsby_popper"].iloc[0] == pytest.approx(2 * math.pi / 9)


# ================================================================ extensions

def test_extension_names_the_protected_area_it_touches():
    # 3 x 4: 1 2 3 4 / 5 6 7 8 / 9 10 11 12. Unit 1 is "Old Reserve"; "Edge Park" lies
    # outside the grid, sharing unit 8's right edge; "Far Park" is nowhere near a park.
    areas = gpd.GeoDataFrame(
        {"name": ["Old Reserve", "Edge Park", "Far Park"], "category": ["NR", "NP", "NP"]},
        geometry=[shapely.box(0, -1000, 1000, 0), shapely.box(4000, -2000, 5000, -1000),
                  shapely.box(9000, -9000, 9500, -8500)], crs=CRS)
    pa = [1.0] + [0.0] * 11
    pu = grid(3, 4, {"c": [1.0] * 12}, roles={"c": "carbon_stock"}, pa=pa, areas=areas)
    p = problem(pu)
    x = np.zeros(12)
    x[[0, 1, 7, 9, 10]] = 1  # existing 1; parks {2}, {8}, {10, 11}
    parks = candidate_parks(p, x)
    got = {tuple(u): (e, bool(ext)) for u, e, ext in zip(
        ids_of(parks, pu), parks.table["extends"], parks.table["is_extension"], strict=True)}
    assert got == {(2,): ("Old Reserve", True), (8,): ("Edge Park", True),
                   (10, 11): ("", False)}
    # Without polygons the existing unit still makes {2} an extension, unnamed.
    pu.protected_areas = None
    bare = candidate_parks(problem(pu), x)
    got = {tuple(u): (e, bool(ext)) for u, e, ext in zip(
        ids_of(bare, pu), bare.table["extends"], bare.table["is_extension"], strict=True)}
    assert got == {(2,): ("", True), (8,): ("", False), (10, 11): ("", False)}


def test_extension_names_areas_of_the_adjacent_existing_unit():
    # The reserve covers the middle of unit 1 only (no shared edge with the park at 2).
    areas = gpd.GeoDataFrame({"name": ["Inner"], "category": ["NR"]},
                             geometry=[shapely.box(200, -800, 800, -200)], crs=CRS)
    pu = grid(1, 3, {"c": [1.0] * 3}, roles={"c": "carbon_stock"}, pa=[0.6, 0, 0], areas=areas)
    parks = candidate_parks(problem(pu), [1, 1, 0])
    assert parks.table["extends"].tolist() == ["Inner"]
    assert parks.table["is_extension"].tolist() == [True]


# ================================================================ min size and refill

def test_min_size_drops_small_parks_and_lists_what_they_held():
    # 2 x 4: 1 2 3 4 / 5 6 7 8. Parks {1, 5} (2 km2), {3} (1 km2), {8} (1 km2).
    c = [1.0, 2, 3, 4, 5, 6, 7, 8]
    pu = grid(2, 4, {"c": c, "sp": [0, 0, 1, 0, 0, 0, 0, 1]},
              roles={"c": "carbon_stock", "sp": "biodiversity"})
    p = problem(pu)
    x = np.array([1, 0, 1, 0, 1, 0, 0, 1], dtype=float)
    parks = candidate_parks(p, x, min_km2=1.5)
    assert ids_of(parks, pu) == [[1, 5]]
    assert parks.table["area_km2"].tolist() == [2.0]
    assert parks.x.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert parks.unit_park.tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    d = parks.dropped
    assert "geometry" not in d.columns and list(d.columns) == list(PARK_COLUMNS)[:-1]
    assert sorted(d["carbon_stock_MgC"].tolist()) == [3.0, 8.0]
    assert d["area_km2"].tolist() == [1.0, 1.0]
    assert d["park_id"].tolist() == [2, 3]  # numbered after the kept park
    assert d["species_in_range"].tolist() == [1, 1]
    # In the plan given, each small park held half of sp: both were key species parks.
    assert d["key_species"].tolist() == [1, 1]
    text = parks.summary()
    assert "Dropped 2 parks under 1.5 km²: 2 km², 11 MgC" in text
    assert len(parks.refilled) == 0


def test_refill_adds_the_best_neighbours_within_the_budget_by_hand():
    # 2 x 4: 1 2 3 4 / 5 6 7 8, budget 3 km2. Plan: park {1, 5} and a lone {8}.
    # Dropping {8} (min 1.5) frees 1 km2; the free neighbours of {1, 5} are 2 (value 2)
    # and 6 (value 6): 6 is added. 4 is locked out and never used.
    c = [1.0, 2, 30, 40, 5, 6, 7, 8]
    pu = grid(2, 4, {"c": c}, roles={"c": "carbon_stock"})
    p = (problem(pu).add_max_utility_objective(budget_km2=3, weights={"c": 1})
         .add_locked_out(mask=np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=bool)))
    x = np.array([1, 0, 0, 0, 1, 0, 0, 1], dtype=float)
    parks = candidate_parks(p, x, min_km2=1.5, refill=True)
    assert pu.units["pu_id"].to_numpy()[parks.refilled].tolist() == [6]
    assert parks.x.tolist() == [1, 0, 0, 0, 1, 1, 0, 0]
    assert ids_of(parks, pu) == [[1, 5, 6]]
    assert parks.table["area_km2"].tolist() == [3.0]
    assert "Refilled 1 unit(s)" in parks.summary()


def test_refill_keeps_a_cost_budget():
    # The grid of the test above with a price: unit 6 (value 6) costs 9, over the 3 the
    # dropped {8} freed of the cost budget of 5; unit 2 (value 2, price 1) refills instead.
    c = [1.0, 2, 30, 40, 5, 6, 7, 8]
    price = [1.0, 1, 1, 1, 1, 9, 1, 1]
    pu = grid(2, 4, {"c": c, "price": price}, roles={"c": "carbon_stock", "price": "cost"})
    p = (problem(pu).add_cost_budget(5, cost="price")
         .add_max_utility_objective(budget_km2=3, weights={"c": 1})
         .add_locked_out(mask=np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=bool)))
    x = np.array([1, 0, 0, 0, 1, 0, 0, 1], dtype=float)
    parks = candidate_parks(p, x, min_km2=1.5, refill=True)
    assert pu.units["pu_id"].to_numpy()[parks.refilled].tolist() == [2]
    assert np.asarray(price) @ parks.x <= 5.0


def test_refill_under_a_budget_whose_remainders_are_free_uses_the_whole_budget():
    # 2 x 4: 1 2 3 4 / 5 6 7 8; unit 1 is 60% protected (locked in, 0.4 km² remainder, in
    # no park), budget 3 km² with remainders free: the plan {1, 5, 6, 8} spends 5, 6 and 8.
    # Dropping {8} (min 1.5 km²) frees 1 km² of the budget: 7 (value 7, beside 6) refills
    # it, although the plan's new area with the remainder (0.4 + 3) is over 3 km².
    c = [1.0, 2, 30, 40, 5, 6, 7, 8]
    pu = grid(2, 4, {"c": c}, roles={"c": "carbon_stock"}, pa=[0.6, 0, 0, 0, 0, 0, 0, 0])
    p = problem(pu).add_max_utility_objective(budget_km2=3, weights={"c": 1},
                                              budget_remainders="free")
    x = np.array([1, 0, 0, 0, 1, 1, 0, 1], dtype=float)
    parks = candidate_parks(p, x, min_km2=1.5, refill=True)
    assert pu.units["pu_id"].to_numpy()[parks.refilled].tolist() == [7]
    assert parks.x.tolist() == [1, 0, 0, 0, 1, 1, 1, 0]
    assert p.unprotected_km2 @ parks.x == pytest.approx(3.4)  # budget 3 + remainder 0.4


def test_refill_respects_budget_and_locks_for_every_plan_of_a_tiny_grid():
    # Every plan of a 2 x 4 grid (256), two min sizes: budget and locks always hold,
    # refilled units were free and join a kept park, every added unit is in one park.
    rng = np.random.default_rng(3)
    c = rng.uniform(1, 10, 8).round(2).tolist()
    pu = grid(2, 4, {"c": c}, roles={"c": "carbon_stock"},
              pa=[0, 0.3, 0, 0, 0, 0, 0.9, 0], square=False)
    out = np.zeros(8, dtype=bool)
    out[3] = True
    p = (problem(pu).add_max_utility_objective(budget_km2=3.5, weights={"c": 1})
         .add_locked_out(mask=out))
    new_km2 = p.unprotected_km2
    locked_in, locked_out = p.locked_masks()
    for bits in itertools.product((0.0, 1.0), repeat=8):
        x = np.array(bits)
        if x[3] or not x[6] or new_km2 @ x > 3.5 + 1e-9:
            continue  # a plan breaking the locks or the budget is not a plan of p
        for min_km2 in (1.5, 2.5):
            parks = candidate_parks(p, x, min_km2=min_km2, refill=True)
            assert new_km2 @ parks.x <= 3.5 + 1e-9
            assert not parks.x[locked_out].any() and parks.x[locked_in].all()
            before = unit_status(p, x)
            assert (before[parks.refilled] == "free").all() or not len(parks.refilled)
            added = unit_status(p, parks.x) == "added"
            assert ((parks.unit_park > 0) == added).all()
            assert (parks.table["area_km2"] >= min_km2 - 1e-9).all()
            assert (parks.dropped["area_km2"] < min_km2).all()
            # Units only leave the plan by dropping, only enter by refill.
            assert set(np.flatnonzero(parks.x > x)) == set(parks.refilled.tolist())
            if len(parks.refilled):
                assert (parks.unit_park[parks.refilled] > 0).all()
            kept_area = float(new_km2[added].sum())
            assert parks.table["area_km2"].sum() == pytest.approx(kept_area)


# ================================================================ bad input

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"connectivity": "bishop"}, "connectivity must be 'rook' or 'queen'; got 'bishop'"),
    ({"min_km2": -1.0}, r"min_km2 must be a finite number >= 0 \(km²\); got -1.0"),
    ({"key_share": 0.0}, r"key_share must be in \(0, 1\]"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    pu = grid(1, 3, {"c": [1.0] * 3}, roles={"c": "carbon_stock"})
    with pytest.raises(InputDataError, match=message):
        candidate_parks(problem(pu), [1, 0, 0], **kwargs)


def test_plan_of_the_wrong_length_is_an_error():
    pu = grid(1, 3, {"c": [1.0] * 3}, roles={"c": "carbon_stock"})
    with pytest.raises(InputDataError, match=r"plan x has \(2,\) values; expected \(3,\)"):
        candidate_parks(problem(pu), [1, 0])


# ================================================================ a real demo solve

def test_parks_of_a_demo_solve_cover_exactly_the_added_units():
    from optimizer.datasets import demo_grid
    from optimizer.scenario import Scenario, solve_scenario

    pu = demo_grid(40)
    scenario = Scenario.load(ROOT / "scenarios" / "balanced.toml")
    p = scenario.to_problem(pu)
    sol = solve_scenario(scenario, pu)
    parks = candidate_parks(p, sol)
    added = unit_status(p, sol.x) == "added"
    assert added.sum() > 10 and len(parks.table) >= 2
    assert ((parks.unit_park > 0) == added).all()
    counts = np.bincount(parks.unit_park[added], minlength=len(parks.table) + 1)[1:]
    assert counts.tolist() == parks.table.sort_values("park_id")["n_units"].tolist()
    assert parks.table["area_km2"].sum() == pytest.approx(float(p.unprotected_km2[added].sum()))
    stock = [c for c in pu.features.index if pu.features.at[c, "role"] == "carbon_stock"]
    free = 1 - p.protected_fraction
    carbon = float((pu.units.loc[added, stock].sum(axis=1) * free[added]).sum())
    assert parks.table["carbon_stock_MgC"].sum() == pytest.approx(carbon)
    assert parks.table["carbon_stock_tCO2e"].sum() == pytest.approx(carbon * CO2)
    assert parks.table["rank"].tolist() == list(range(1, len(parks.table) + 1))
    assert parks.table.crs == pu.units.crs
    # The dissolved polygons hold the units' whole area.
    whole = float(pu.units.loc[added, "area_km2"].sum())
    assert float(parks.table.area.sum()) / 1e6 == pytest.approx(whole, rel=1e-9)
    assert parks.table["is_extension"].any()
    named = parks.table.loc[parks.table["extends"] != "", "extends"]
    assert set("; ".join(named).split("; ")) <= set(pu.protected_areas["name"])
    assert ((parks.table["polsby_popper"] > 0) & (parks.table["polsby_popper"] <= 1)).all()
    # Queen never makes more parks than rook.
    assert len(candidate_parks(p, sol, connectivity="queen").table) <= len(parks.table)


# ================================================================ slivers and emissions

def test_a_park_of_one_clipped_edge_cell_is_flagged_as_a_sliver():
    # A row of six cells: cell 4 is clipped by the border to 0.3 km²; cell 6 is 45%
    # protected (below the 0.5 threshold: added, 0.55 km² new). The median unit is 1 km².
    pu = grid(1, 6, {"c": [1.0] * 6}, roles={"c": "carbon_stock"},
              pa=[0.0, 0.0, 0.0, 0.0, 0.0, 0.45])
    pu.units["area_km2"] = [1.0, 1.0, 1.0, 0.3, 1.0, 1.0]
    p = problem(pu)
    # Parks: {1, 2} (2 km², no sliver), {4} (0.3 km², sliver), {6} (0.55 km² new: not one).
    parks = candidate_parks(p, [1, 1, 0, 1, 0, 1])
    flags = dict(zip(parks.table["area_km2"].round(2), parks.table["sliver"], strict=True))
    assert flags == {2.0: False, 0.3: True, 0.55: False}
    assert parks.sliver_km2 == pytest.approx(0.5)  # half the median unit (1 km²)
    assert "1 of them is a sliver (under 0.5 km² new" in parks.summary()
    assert "sliver" in PARK_COLUMNS


def test_emissions_inside_per_park_are_the_latest_years_of_its_units():
    pu, _ = attribute_grid()
    p = problem(pu)
    x = [1, 0, 0, 0, 1, 1]  # parks {1} and {5, 6}
    parks = candidate_parks(p, x)
    by_hand = {(1,): 0.5, (5, 6): 1.0 + 1.0}  # co2_new of the units, none protected

    got = {tuple(ids): e for ids, e in zip(ids_of(parks, pu), parks.table["emissions_tCO2_per_yr"],
                                           strict=True)}
    assert got == pytest.approx(by_hand)
