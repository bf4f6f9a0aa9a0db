"""Tests of the planning-unit grid: hand-computed aggregation, conservation, boundary, storage."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rasterio.features
import shapely
from affine import Affine
from helpers import ALBERS, DEMO_MANIFEST, write_raster
from pyproj import Geod

from optimizer import LayerSpec, build_grid, read_grid
from optimizer.errors import CRSError, InputDataError, NodataWarning
from optimizer.grid.build import boundary_table, square_cells, write_grid
from optimizer.grid.crs import fitted_albers
from optimizer.inputs.layers import cell_areas_km2, is_equal_area, open_raster
from optimizer.inputs.units import get_unit

BOX4 = shapely.box(0, 0, 4000, 4000)


def _values() -> np.ndarray:
    return (np.arange(16, dtype="float32").reshape(4, 4) + 1)


def _overlap_1d(lo: np.ndarray, hi: np.ndarray, a: float, b: float) -> np.ndarray:
    """Length of [lo, hi] inside [a, b] for each raster cell (independent of exactextract)."""
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0, None)


# ---------------------------------------------------------------- hand-computed grids

def test_aligned_raster_sums_four_cells_per_unit(tmp_path):
    path = write_raster(tmp_path / "c.tif", _values(), transform=Affine(1000, 0, 0, 0, -1000, 4000))
    pu = build_grid([LayerSpec("c", path, "carbon_stock", "MgC/ha")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    v = _values()
    expected = {(0, 0): v[:2, :2].sum(), (0, 1): v[:2, 2:].sum(),
                (1, 0): v[2:, :2].sum(), (1, 1): v[2:, 2:].sum()}
    got = {(r.row, r.col): r.c for r in pu.units.itertuples()}
    assert len(pu) == 4
    for key, s in expected.items():
        # MgC/ha x 1 km2 per cell = 100 MgC per unit of value
        assert got[key] == pytest.approx(s * 100, rel=1e-12)
    assert pu.units["c_density"].tolist() == pytest.approx([expected[k] / 4 for k in sorted(expected)])
    assert pu.units["area_km2"].tolist() == pytest.approx([4.0] * 4)
    assert pu.features.loc["c", "unit"] == "MgC"
    assert pu.features.loc["c", "total"] == pytest.approx(v.sum() * 100)


def test_offset_raster_weights_partial_cells_and_reports_the_uncovered_part(tmp_path):
    # Raster shifted 500 m east and 250 m south: every unit cuts raster cells.
    x0, y0 = 500.0, 3750.0
    path = write_raster(tmp_path / "c.tif", _values(), transform=Affine(1000, 0, x0, 0, -1000, y0))
    with pytest.warns(NodataWarning, match="no data"):
        pu = build_grid([LayerSpec("c", path, "carbon_stock", "kgC/m2")],
                        study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    v = _values().astype(float)
    cx0 = x0 + np.arange(4) * 1000.0
    cy1 = y0 - np.arange(4) * 1000.0
    for r in pu.units.itertuples():
        ux0, uy1 = r.col * 2000.0, 4000.0 - r.row * 2000.0
        wx = _overlap_1d(cx0, cx0 + 1000, ux0, ux0 + 2000) / 1000
        wy = _overlap_1d(cy1 - 1000, cy1, uy1 - 2000, uy1) / 1000
        frac = np.outer(wy, wx)
        # kgC/m2 -> MgC per km2 is x1000; each raster cell is 1 km2
        assert r.c == pytest.approx((frac * v).sum() * 1000, rel=1e-9)
        assert r.c_valid_km2 == pytest.approx(frac.sum(), rel=1e-9)
        assert r.c_density == pytest.approx((frac * v).sum() / frac.sum(), rel=1e-9)
    uncovered = 16.0 - 3.5 * 3.75
    assert pu.meta["nodata"]["c"]["outside_extent_km2"] == pytest.approx(uncovered, rel=1e-9)


def test_edge_cells_keep_their_clipped_area_and_boundary(tmp_path):
    tri = shapely.Polygon([(0, 0), (4000, 0), (0, 4000)])
    path = write_raster(tmp_path / "c.tif", np.full((4, 4), 10, "float32"),
                        transform=Affine(1000, 0, 0, 0, -1000, 4000))
    pu = build_grid([LayerSpec("c", path, "carbon_stock", "MgC/ha")],
                    study_area=(tri, ALBERS), cell_km=2, crs=ALBERS)
    u = pu.units.set_index(["row", "col"])
    assert sorted(u.index) == [(0, 0), (1, 0), (1, 1)]
    assert u.loc[(0, 0), "area_km2"] == pytest.approx(2.0)
    assert u.loc[(1, 0), "area_km2"] == pytest.approx(4.0)
    assert u.loc[(1, 1), "area_km2"] == pytest.approx(2.0)
    assert u["c"].sum() == pytest.approx(8 * 10 * 100)  # 8 km2 at 10 MgC/ha
    assert pu.boundary["length_km"].tolist() == pytest.approx([2.0, 2.0])
    diag = 2 * np.sqrt(2)
    assert u.loc[(0, 0), "perimeter_km"] == pytest.approx(4 + diag)
    assert u.loc[(0, 0), "exposed_km"] == pytest.approx(2 + diag)
    assert u.loc[(1, 0), "exposed_km"] == pytest.approx(4.0)


def test_per_cell_units_split_by_covered_fraction(tmp_path):
    # tCO2 per cell: a unit covering half a cell gets half its emissions.
    path = write_raster(tmp_path / "e.tif", np.array([[100.0, 300.0]], "float32"),
                        transform=Affine(4000, 0, -2000, 0, -4000, 4000))
    pu = build_grid([LayerSpec("e", path, "emissions", "tCO2/cell/yr")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    by_col = pu.units.groupby("col")["e"].sum()
    assert by_col[0] == pytest.approx(100 / 2)  # the left cell's right half
    assert by_col[1] == pytest.approx(300 / 2)  # the right cell's left half, in two units
    assert pu.units["e"].tolist() == pytest.approx([25, 75, 25, 75])
    assert "e_density" not in pu.units


def test_multiband_years_from_descriptions(tmp_path):
    data = np.stack([np.full((4, 4), 100, "float32"), np.full((4, 4), 200, "float32")])
    path = write_raster(tmp_path / "n.tif", data, transform=Affine(1000, 0, 0, 0, -1000, 4000),
                        descriptions=["2000", "2020"])
    pu = build_grid([LayerSpec("npp", path, "carbon_uptake", "gC/m2/yr")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    assert list(pu.features.index) == ["npp_2000", "npp_2020"]
    assert pu.features["year"].tolist() == [2000, 2020]
    assert pu.features.loc["npp_2020", "unit"] == "MgC/yr"
    assert pu.units["npp_2020"].sum() == pytest.approx(200 * 16)  # gC/m2 = MgC/km2


def test_land_cover_classes_become_areas(tmp_path):
    lc = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 0, 0], [3, 3, 0, 0]], "uint8")
    path = write_raster(tmp_path / "lc.tif", lc, transform=Affine(1000, 0, 0, 0, -1000, 4000),
                        nodata=0, tags={"class_1": "forest", "class_2": "grassland",
                                        "class_3": "cropland"})
    with pytest.warns(NodataWarning):
        pu = build_grid([LayerSpec("lc", path, "land_cover", "class")],
                        study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    u = pu.units.set_index(["row", "col"])
    assert u.loc[(0, 0), "lc_forest_km2"] == pytest.approx(4)
    assert u.loc[(0, 1), "lc_grassland_km2"] == pytest.approx(4)
    assert u.loc[(1, 0), "lc_cropland_km2"] == pytest.approx(4)
    assert u.loc[(1, 1), ["lc_forest_km2", "lc_grassland_km2", "lc_cropland_km2"]].sum() == 0
    assert u.loc[(0, 0), "lc_major"] == "forest"
    assert set(pu.features["role"]) == {"land_cover"}


def test_overlapping_protected_polygons_are_counted_once(tmp_path):
    pas = gpd.GeoDataFrame(
        {"category": ["national_park", "nature_reserve", "nature_reserve"]},
        geometry=[shapely.box(0, 2000, 2000, 4000),      # unit (0,0) whole
                  shapely.box(1000, 2000, 3000, 4000),   # overlaps the park by half a unit
                  shapely.box(2500, 2500, 3000, 3000)],  # inside the reserve above
        crs=ALBERS)
    pas.to_file(tmp_path / "pa.gpkg")
    pu = build_grid([LayerSpec("pa", tmp_path / "pa.gpkg", "protected", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    u = pu.units.set_index(["row", "col"])
    assert u.loc[(0, 0), "pa_fraction"] == pytest.approx(1.0)
    assert u.loc[(0, 1), "pa_fraction"] == pytest.approx(0.5)
    assert u.loc[(0, 0), "pa_national_park_fraction"] == pytest.approx(1.0)
    assert u.loc[(0, 0), "pa_nature_reserve_fraction"] == pytest.approx(0.5)
    assert u.loc[(0, 1), "pa_nature_reserve_fraction"] == pytest.approx(0.5)
    assert u.loc[(1, 0), "pa_fraction"] == 0


def test_species_ranges_are_dissolved_before_summing(tmp_path):
    ranges = gpd.GeoDataFrame(
        {"species": ["a", "a", "b"]},
        geometry=[shapely.box(0, 0, 3000, 1000), shapely.box(2000, 0, 4000, 1000),
                  shapely.box(0, 0, 1000, 1000)],
        crs=ALBERS)
    ranges.to_file(tmp_path / "sp.gpkg")
    pu = build_grid([LayerSpec("sp", tmp_path / "sp.gpkg", "biodiversity", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    assert pu.units["sp_a"].sum() == pytest.approx(4.0)  # 4 km2, not 5
    assert pu.units["sp_b"].sum() == pytest.approx(1.0)
    assert pu.features.loc["sp_a", "label"] == "a"


def test_polygon_units_match_square_cells(tmp_path):
    path = write_raster(tmp_path / "c.tif", _values(), transform=Affine(1000, 0, 250, 0, -1000, 4100))
    spec = LayerSpec("c", path, "carbon_stock", "MgC/ha")
    with pytest.warns(NodataWarning):
        square = build_grid([spec], study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    polys = gpd.GeoDataFrame({"uid": [10, 11, 12, 13]}, geometry=square.units.geometry.values,
                             crs=ALBERS)
    with pytest.warns(NodataWarning):
        poly = build_grid([spec], units=polys, id_column="uid", crs=ALBERS)
    assert poly.units["pu_id"].tolist() == [10, 11, 12, 13]
    np.testing.assert_allclose(poly.units["c"], square.units["c"], rtol=1e-12)
    assert poly.boundary["length_km"].sum() == pytest.approx(square.boundary["length_km"].sum())
    np.testing.assert_allclose(poly.units["exposed_km"], square.units["exposed_km"])


def test_chunking_does_not_change_results():
    from helpers import DEMO_MANIFEST

    from optimizer.inputs.layers import load_manifest

    manifest, specs = load_manifest(DEMO_MANIFEST)
    area = DEMO_MANIFEST.parent / manifest.grid.study_area
    whole = build_grid(specs[:4], study_area=area, cell_km=40)
    chunked = build_grid(specs[:4], study_area=area, cell_km=40, chunk_units=97)
    assert len(whole) > 97 * 10
    for col in ["biomass", "soc", "npp_2020", "co2_2020"]:
        np.testing.assert_allclose(chunked.units[col], whole.units[col], rtol=1e-9)


# ---------------------------------------------------------------- cell areas

def test_geographic_cell_areas_match_geodesic_polygons():
    t = Affine(0.5, 0, 100, 0, -0.5, 60)
    areas = cell_areas_km2(pyproj.CRS(4326), t, np.array([0, 30, 119]), np.array([0]))
    geod = Geod(ellps="WGS84")
    for k, r in enumerate([0, 30, 119]):
        top = 60 - 0.5 * r
        # Geodesic edges bulge off parallels: densify them so they follow the parallels.
        lon = np.linspace(100, 100.5, 200)
        a, _ = geod.polygon_area_perimeter(np.r_[lon, lon[::-1]],
                                           np.r_[np.full(200, top), np.full(200, top - 0.5)])
        assert areas[k, 0] == pytest.approx(abs(a) / 1e6, rel=1e-9)


def test_projected_non_equal_area_cells_use_the_areal_scale():
    crs = pyproj.CRS(32647)  # UTM 47N: area grows away from the central meridian
    t = Affine(1000, 0, 200_000, 0, -1000, 4_000_000)
    areas = cell_areas_km2(crs, t, np.array([0]), np.array([0, 300]))
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    geod = Geod(ellps="WGS84")
    for k, c in enumerate([0, 300]):
        x0 = 200_000 + 1000 * c
        ring = shapely.segmentize(shapely.box(x0, 3_999_000, x0 + 1000, 4_000_000), 50)
        lon, lat = to_ll.transform(*np.asarray(ring.exterior.coords).T)
        a, _ = geod.polygon_area_perimeter(lon, lat)
        assert areas[0, k] == pytest.approx(abs(a) / 1e6, rel=1e-5)
    assert not is_equal_area(crs)
    assert is_equal_area(pyproj.CRS(6933))


def test_fitted_albers_is_equal_area_and_centred():
    crs = fitted_albers(80, 20, 120, 50)
    assert is_equal_area(crs)
    assert "+lon_0=100" in crs.to_proj4()


# ---------------------------------------------------------------- conservation

def _reference_total(path, unit_name, outline, outline_crs, band=1):
    """Sum of a raster over the outline, computed without carbonpark's aggregation:
    cells whose centre lies inside, true areas from pyproj.Geod or the CRS."""
    unit = get_unit(unit_name)
    with rasterio.open(path) as ds:
        v = ds.read(band).astype(float)
        crs, t, nodata = pyproj.CRS(ds.crs.to_wkt()), ds.transform, ds.nodata
    shape = shapely.ops.transform(
        pyproj.Transformer.from_crs(outline_crs, crs, always_xy=True).transform, outline)
    inside = rasterio.features.geometry_mask([shape], v.shape, t, invert=True)
    ok = inside & (v != nodata) & np.isfinite(v)
    if unit.kind == "per_cell":
        return float(v[ok].sum()) * unit.factor
    if crs.is_geographic:
        geod = Geod(ellps="WGS84")
        rows = np.arange(v.shape[0])
        lat_top = t.f + t.e * rows
        row_area = np.array([abs(geod.polygon_area_perimeter(
            [0, t.a, t.a, 0], [y, y, y + t.e, y + t.e])[0]) / 1e6 for y in lat_top])
        area = np.broadcast_to(row_area[:, None], v.shape)
    else:
        area = np.full(v.shape, abs(t.a * t.e) / 1e6)
    return float((v * area)[ok].sum()) * unit.factor


def test_demo_totals_are_conserved(demo_grid):
    from helpers import DEMO_MANIFEST

    from optimizer.grid.crs import read_study_area
    from optimizer.inputs.layers import load_manifest

    manifest, specs = load_manifest(DEMO_MANIFEST)
    outline, ocrs = read_study_area(DEMO_MANIFEST.parent / manifest.grid.study_area)
    checked = 0
    for spec in specs:
        if spec.role not in ("carbon_stock", "carbon_uptake", "emissions"):
            continue
        info = open_raster(spec)
        for b, label in zip(info.bands, info.band_labels, strict=True):
            col = f"{spec.name}_{label}" if label else spec.name
            ref = _reference_total(spec.path, spec.unit, outline, ocrs, band=b)
            got = demo_grid.units[col].sum()
            assert got == pytest.approx(ref, rel=5e-3), col
            checked += 1
    assert checked == 12  # biomass, soc, 5 NPP years, 5 emission years
    # the grid's own area agrees with the outline's geodesic area
    geod_area = abs(Geod(ellps="WGS84").geometry_area_perimeter(outline)[0]) / 1e6
    assert demo_grid.units["area_km2"].sum() == pytest.approx(geod_area, rel=1e-4)


# ---------------------------------------------------------------- boundary

def test_boundary_identity_on_the_demo(demo_grid):
    u = demo_grid.units
    shared_len = (np.bincount(demo_grid.boundary_indices()[0], demo_grid.boundary["length_km"],
                              minlength=len(u))
                  + np.bincount(demo_grid.boundary_indices()[1], demo_grid.boundary["length_km"],
                                minlength=len(u)))
    np.testing.assert_allclose(u["exposed_km"] + shared_len, u["perimeter_km"], rtol=1e-9)
    interior = np.isclose(u["area_km2"], 400) & (u["exposed_km"] == 0)
    assert interior.sum() > 0.8 * len(u)


def test_boundary_of_irregular_polygons_matches_brute_force():
    rng = np.random.default_rng(3)
    pts = shapely.MultiPoint(rng.uniform(0, 10_000, (25, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=shapely.box(0, 0, 10_000, 10_000)))
    cells = shapely.intersection(cells, shapely.box(0, 0, 10_000, 10_000))
    i, j, length, exposed = boundary_table(cells)
    brute = {}
    for a in range(len(cells)):
        for b in range(a + 1, len(cells)):
            shared_len = shapely.intersection(cells[a].boundary, cells[b].boundary).length / 1000
            if shared_len > 1e-9:
                brute[(a, b)] = shared_len
    assert dict(zip(zip(i.tolist(), j.tolist(), strict=True), length.tolist(), strict=True)) == pytest.approx(brute)
    assert exposed.sum() == pytest.approx(40.0, rel=1e-9)  # the 10 km box's outer edge


def test_square_cells_align_to_origin():
    grid, _rows, _cols, geoms, clipped = square_cells(shapely.box(150, 150, 2950, 1950), 1.0,
                                                    origin=(100, 100))
    assert (grid.x0, grid.y0) == (100, 2100)
    assert len(geoms) == 3 * 2
    assert shapely.area(geoms).sum() == pytest.approx(2800 * 1800)
    assert clipped.all()


# ---------------------------------------------------------------- storage

def test_write_and_read_back_is_identical(demo_grid, tmp_path):
    out = write_grid(demo_grid, tmp_path / "g")
    back = read_grid(out)
    assert back.equals(demo_grid)
    assert not back.equals(read_grid(write_grid(build_small(tmp_path), tmp_path / "h")))
    assert set(p.name for p in out.iterdir()) == {"units.parquet", "boundary.parquet",
                                                  "features.parquet", "study_area.parquet",
                                                  "protected_areas.parquet",
                                                  "carbonpark-output.json"}
    # GeoParquet readable by plain geopandas, with the metadata recorded
    gdf = gpd.read_parquet(out / "units.parquet")
    assert gdf.crs == demo_grid.units.crs
    meta = back.meta
    assert meta["cell_km"] == 20 and meta["kind"] == "square"
    assert [layer["name"] for layer in meta["layers"]][:2] == ["biomass", "soc"]
    assert "built_at" in meta and meta["n_units"] == len(demo_grid)


def test_failed_write_leaves_the_old_grid_intact(demo_grid, tmp_path, monkeypatch):
    out = write_grid(build_small(tmp_path), tmp_path / "g")
    before = read_grid(out)
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        write_grid(demo_grid, out)
    assert read_grid(out).equals(before)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def build_small(tmp_path):
    path = write_raster(tmp_path / "small.tif", _values(), transform=Affine(1000, 0, 0, 0, -1000, 4000))
    return build_grid([LayerSpec("c", path, "carbon_stock", "MgC/ha")],
                      study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)


def test_read_grid_of_a_wrong_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputDataError, match="not a carbonpark grid"):
        read_grid(tmp_path)


def test_summary_reports_densities(demo_grid):
    s = demo_grid.summary().set_index("feature")
    assert s.loc["biomass", "density"] == pytest.approx(14.0, rel=0.02)
    assert s.loc["biomass", "density_unit"] == "MgC/ha"
    assert s.loc["biomass", "nodata_share"] > 0
    assert isinstance(s, pd.DataFrame)


def test_rasters_are_read_in_windows_not_whole(monkeypatch):
    """Memory follows the units: each chunk reads only the raster block under it."""
    from helpers import DEMO_MANIFEST

    import optimizer.grid.aggregate as aggregate_mod
    from optimizer.inputs.layers import load_manifest

    manifest, specs = load_manifest(DEMO_MANIFEST)
    biomass = specs[0]
    sizes: list[int] = []
    real = aggregate_mod.read_window

    def spy(path, bands, window):
        sizes.append(int(window.width * window.height))
        return real(path, bands, window)

    monkeypatch.setattr(aggregate_mod, "read_window", spy)
    with rasterio.open(biomass.path) as ds:
        total = ds.width * ds.height
    pu = build_grid([biomass], study_area=DEMO_MANIFEST.parent / manifest.grid.study_area,
                    cell_km=25, chunk_units=200)
    assert len(sizes) == int(np.ceil(len(pu) / 200)) > 10
    assert max(sizes) < total / 4
    assert sum(sizes) < 1.5 * total  # each part of the raster is read about once


def test_band_descriptions_label_features_and_raster_pa_is_the_union(tmp_path):
    data = np.stack([np.ones((4, 4), "float32"), np.zeros((4, 4), "float32")])
    sp = write_raster(tmp_path / "sp.tif", data, transform=Affine(1000, 0, 0, 0, -1000, 4000),
                      descriptions=["Grus japonensis (breeding)", "Ailuropoda melanoleuca"])
    locked = np.zeros((4, 4), "float32")
    locked[:2, :2] = 1
    pa = write_raster(tmp_path / "pa.tif", locked, transform=Affine(1000, 0, 0, 0, -1000, 4000))
    pu = build_grid([LayerSpec("sp", sp, "biodiversity", "count/cell"),
                     LayerSpec("pa", pa, "protected", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    assert pu.features.loc["sp_b1", "label"] == "Grus japonensis (breeding)"
    assert pu.features.loc["sp_b2", "label"] == "Ailuropoda melanoleuca"
    assert pu.units.set_index(["row", "col"])["pa_fraction"].to_dict() == {
        (0, 0): 1.0, (0, 1): 0.0, (1, 0): 0.0, (1, 1): 0.0}


def test_two_protected_layers_union_counts_overlap_once(tmp_path):
    for name, box in (("parks", shapely.box(0, 2000, 2000, 4000)),
                      ("reserves", shapely.box(1000, 2000, 3000, 4000))):
        gpd.GeoDataFrame({"category": [name]}, geometry=[box], crs=ALBERS).to_file(tmp_path / f"{name}.gpkg")
    pu = build_grid([LayerSpec("parks", tmp_path / "parks.gpkg", "protected", "fraction"),
                     LayerSpec("reserves", tmp_path / "reserves.gpkg", "protected", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    u = pu.units.set_index(["row", "col"])
    assert u.loc[(0, 0), "pa_fraction"] == pytest.approx(1.0)  # not 1.5
    assert u.loc[(0, 1), "pa_fraction"] == pytest.approx(0.5)
    assert u.loc[(0, 0), "reserves_fraction"] == pytest.approx(0.5)
    assert (pu.units["pa_fraction"] * pu.units["area_km2"]).sum() == pytest.approx(6.0)


# ============================================================== units from arrays

def test_planning_units_from_arrays_tables_and_round_trip(tmp_path):
    from optimizer.grid.build import planning_units_from_arrays

    bnd = pd.DataFrame({"id1": [1, 1, 2, 3, 3], "id2": [1, 2, 3, 2, 3],
                        "length_km": [5.0, 1.0, 2.0, 0.5, 4.0]})
    pu = planning_units_from_arrays([3, 1, 2], {"sp1": [1, 0, 2], "sp2": [0, np.nan, 1]},
                                    boundary=bnd, extra={"cost": [1.0, 2.0, 3.0]})
    # self-boundaries (id1 == id2) become exposed edges; pairs are merged and ordered id1 < id2
    assert pu.units["exposed_km"].tolist() == [4.0, 5.0, 0.0]
    assert sorted(map(tuple, pu.boundary[["id1", "id2", "length_km"]].to_numpy().tolist())) == [
        (1, 2, 1.0), (2, 3, 2.5)]
    assert pu.units["area_km2"].tolist() == [1.0, 1.0, 1.0]
    assert pu.features.loc["sp2", "total"] == 1.0  # missing amount counts as none
    assert pu.features.loc["sp1", "role"] == "biodiversity"
    assert pu.units["cost"].tolist() == [1.0, 2.0, 3.0]
    write_grid(pu, tmp_path / "g")
    assert read_grid(tmp_path / "g").equals(pu)
    with pytest.raises(CRSError, match="no CRS"):
        _ = pu.crs


def test_planning_units_from_arrays_geometry_area_and_errors():
    from optimizer.grid.build import planning_units_from_arrays

    boxes = shapely.box(np.array([0.0, 2000.0]), 0.0, np.array([2000.0, 4000.0]), 1000.0)
    pu = planning_units_from_arrays(["a", "b"], pd.DataFrame({"f": [1.0, 2.0]}), geometry=boxes,
                                    crs="EPSG:6933")
    assert np.allclose(pu.units["area_km2"], [2.0, 2.0])
    assert np.allclose(pu.units["perimeter_km"], [6.0, 6.0])
    with pytest.raises(InputDataError, match="unique"):
        planning_units_from_arrays([1, 1], {"f": [1, 2]})
    with pytest.raises(InputDataError, match="negative"):
        planning_units_from_arrays([1, 2], {"f": [1, -2]})
    with pytest.raises(InputDataError, match="not units"):
        planning_units_from_arrays([1, 2], {"f": [1, 2]},
                                   boundary=pd.DataFrame({"id1": [1], "id2": [9], "length_km": [1.0]}))
    with pytest.raises(InputDataError, match="reserved"):
        planning_units_from_arrays([1, 2], {"area_km2": [1, 2]})


def test_bands_with_different_nodata_keep_their_own_valid_area(tmp_path):
    from optimizer.gap.columns import valid_area

    v = np.stack([_values(), _values()])
    v[1, 0, 0] = -1.0  # one missing cell in the second year only
    path = write_raster(tmp_path / "npp.tif", v, transform=Affine(1000, 0, 0, 0, -1000, 4000),
                        nodata=-1.0)
    with pytest.warns(NodataWarning):
        pu = build_grid([LayerSpec("npp", path, "carbon_uptake", "gC/m2/yr", years=[2000, 2010])],
                        study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    corner = pu.units[(pu.units["row"] == 0) & (pu.units["col"] == 0)].index[0]
    assert pu.units.at[corner, "npp_2000_valid_km2"] == pytest.approx(4.0)
    assert pu.units.at[corner, "npp_2010_valid_km2"] == pytest.approx(3.0)
    # 2000's density is not lowered by 2010's gap; 2010's is over its 3 km² with data
    assert pu.units.at[corner, "npp_2000_density"] == pytest.approx(v[0, :2, :2].sum() / 4)
    assert pu.units.at[corner, "npp_2010_density"] == pytest.approx((v[1, :2, :2].sum() + 1) / 3)
    assert valid_area(pu, "npp_2000").sum() == pytest.approx(16.0)
    assert valid_area(pu, "npp_2010").sum() == pytest.approx(15.0)
    dens = pu.summary().set_index("feature")["density"]
    assert dens["npp_2000"] == pytest.approx(v[0].sum() / 16)
    assert dens["npp_2010"] == pytest.approx((v[1].sum() + 1) / 15)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"amounts": {"f": [1.0, 2.0, 3.0]}}, "3 rows for 2 units"),
    ({"geometry": [None]}, "1 geometries for 2 units"),
    ({"area_km2": [1.0, -1.0]}, "area_km2"),
    ({"boundary": pd.DataFrame({"id1": [1], "id2": [2], "length_km": [np.inf]})}, "finite"),
    ({"extra": {"f": [0, 1]}}, "clashes"),
])
def test_planning_units_from_arrays_refuses_inconsistent_inputs(kwargs, message):
    from optimizer.grid.build import planning_units_from_arrays

    args = {"amounts": {"f": [1.0, 2.0]}, **kwargs}
    with pytest.raises(InputDataError, match=message):
        planning_units_from_arrays([1, 2], **args)


# ---------------------------------------------------------------- early checks

def test_grid_size_is_estimated_and_refused_above_the_limit_before_building():
    from optimizer.grid.build import DEFAULT_MAX_UNITS, check_grid_size

    assert check_grid_size(1000.0, 10.0) == 10
    assert check_grid_size(4e7, 1.0, None) == 40_000_000
    with pytest.raises(InputDataError, match=r"^cells of 1 km give about 40,000,000 planning units over the "
                       r"study area \(40,000,000 km2\), above the limit of 20,000,000; use larger cells "
                       r"\(--cell-km or cell_km= 1.5 gives about 17,777,777\) or raise the limit"):
        check_grid_size(4e7, 1.0, DEFAULT_MAX_UNITS)
    with pytest.raises(InputDataError, match=r"cell_km must be positive; got nan"):
        check_grid_size(100.0, float("nan"))
    from optimizer.cli.parser import DEFAULT_MAX_UNITS as CLI_DEFAULT

    assert CLI_DEFAULT == DEFAULT_MAX_UNITS


def test_build_grid_max_units_counts_square_cells_and_user_polygons():
    with pytest.raises(InputDataError, match=r"cells of 1 km give about 16 .* above the limit of 10;"):
        build_grid([], study_area=(BOX4, ALBERS), cell_km=1, crs=ALBERS, max_units=10)
    assert len(build_grid([], study_area=(BOX4, ALBERS), cell_km=1, crs=ALBERS, max_units=16)) == 16
    units = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
                             crs=ALBERS)
    with pytest.raises(InputDataError, match=r"units: 2 polygons exceed the limit of 1 planning units; "
                       r"merge polygons or raise the limit \(max_units=, --max-units\)"):
        build_grid([], units=units, crs=ALBERS, max_units=1)


def test_a_raster_labelled_lon_lat_but_in_metres_is_a_crs_error(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"),
                        transform=Affine(1000, 0, 500_000, 0, -1000, 4_000_000), crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"layer 'c' \(.*c.tif\): extent \(500000, 3.996e\+06, 504000, 4e\+06\) "
                       r"is not in degrees, .*\(gdal_edit.py -a_srs EPSG:...\)$"):
        open_raster(LayerSpec("c", path, "carbon_stock", "MgC/ha"))
    # 0-360 longitudes are degrees too
    ok = write_raster(tmp_path / "ok.tif", np.ones((4, 4), "float32"),
                      transform=Affine(90, 0, 0, 0, -45, 90), crs="EPSG:4326")
    assert open_raster(LayerSpec("ok", ok, "carbon_stock", "MgC/ha")).bounds == (0, -90, 360, 90)


def test_a_grid_without_features_has_an_empty_summary_with_columns(tmp_path):
    gpd.GeoDataFrame({"category": ["II"]}, geometry=[shapely.box(0, 0, 2000, 2000)],
                     crs=ALBERS).to_file(tmp_path / "pa.gpkg")
    pu = build_grid([LayerSpec("pa", tmp_path / "pa.gpkg", "protected", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    summary = pu.summary()
    assert summary.empty and {"feature", "role", "total", "unit"} <= set(summary.columns)


# ---------------------------------------------------------------- protected areas kept

def test_demo_grid_keeps_the_named_protected_areas_clipped_in_its_crs(demo_grid, tmp_path):
    src = gpd.read_file(DEMO_MANIFEST.parent / "demo" / "protected_areas.gpkg")
    areas = demo_grid.protected_areas
    assert list(areas.columns) == ["name", "category", "geometry"]
    assert areas.crs == demo_grid.units.crs
    # Every area overlaps the country; each one's area is the layer's clipped to it.
    inside = src.to_crs(demo_grid.units.crs)
    clipped = shapely.intersection(np.asarray(inside.geometry.values), demo_grid.study_area)
    keep = shapely.area(clipped) > 0
    assert len(areas) == int(keep.sum()) == 66
    assert areas["name"].tolist() == inside["name"][keep].tolist()
    assert areas["category"].tolist() == inside["category"][keep].tolist()
    assert areas.area.sum() == pytest.approx(shapely.area(clipped).sum(), rel=1e-9)
    assert areas.area.to_numpy() == pytest.approx(shapely.area(clipped[keep]), rel=1e-9)
    back = read_grid(write_grid(demo_grid, tmp_path / "g"))
    assert back.protected_areas.equals(areas) and back.equals(demo_grid)


def test_protected_area_names_explicit_column_default_and_older_grids(tmp_path):
    pas = gpd.GeoDataFrame(
        {"NAME": ["Alpha", None], "label": ["A", "B"], "category": ["np", "nr"]},
        geometry=[shapely.box(0, 2000, 2000, 4000), shapely.box(3000, 0, 9000, 1000)],
        crs=ALBERS)
    pas.to_file(tmp_path / "pa.gpkg")
    pu = build_grid([LayerSpec("pa", tmp_path / "pa.gpkg", "protected", "fraction")],
                    study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    # NAME found in any case; a missing name is the layer name and the feature's number.
    assert pu.protected_areas["name"].tolist() == ["Alpha", "pa 2"]
    assert pu.protected_areas["category"].tolist() == ["np", "nr"]
    assert pu.protected_areas.area.tolist() == pytest.approx([4e6, 1e6 * 1])  # clipped at x=4000
    named = build_grid([LayerSpec("pa", tmp_path / "pa.gpkg", "protected", "fraction",
                                  name_attribute="label")],
                       study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    assert named.protected_areas["name"].tolist() == ["A", "B"]
    with pytest.raises(InputDataError, match=r"no column 'nom'.*set name_attribute"):
        build_grid([LayerSpec("pa", tmp_path / "pa.gpkg", "protected", "fraction",
                              name_attribute="nom")],
                   study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)
    with pytest.raises(InputDataError, match="name_attribute is for protected layers"):
        LayerSpec("sp", tmp_path / "pa.gpkg", "biodiversity", "fraction", name_attribute="NAME")
    # A grid folder from before (no protected_areas.parquet) reads with None.
    out = write_grid(pu, tmp_path / "g")
    (out / "protected_areas.parquet").unlink()
    assert read_grid(out).protected_areas is None
    assert build_small(tmp_path).protected_areas is None


def test_grid_cache_key_changes_with_the_grid_format(monkeypatch):
    import optimizer.grid.planning_units as planning_units
    from optimizer.scenario import Scenario
    from optimizer.scenario.build import grid_hash

    scenario = Scenario.load(DEMO_MANIFEST.parents[1] / "scenarios" / "balanced.toml")
    before = grid_hash(scenario)
    monkeypatch.setattr(planning_units, "FORMAT_VERSION", planning_units.FORMAT_VERSION + 1)
    assert grid_hash(scenario) != before
