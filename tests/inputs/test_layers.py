"""Bad input gets a one-line error naming the input and the fix; units convert correctly."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from helpers import ALBERS, DEMO_MANIFEST, assert_one_line_error, run_cli, write_raster

from optimizer import LayerSpec, build_grid
from optimizer.cli import main
from optimizer.errors import (
    CRSError,
    InputDataError,
    OptimizerError,
    UnitError,
)
from optimizer.inputs.layers import load_manifest
from optimizer.inputs.units import CO2_PER_C, format_total, get_unit

BOX4 = shapely.box(0, 0, 4000, 4000)
T = Affine(1000, 0, 0, 0, -1000, 4000)


def _grid(spec: LayerSpec):
    return build_grid([spec], study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)


# ---------------------------------------------------------------- units

@pytest.mark.parametrize(("name", "value", "area_km2", "total", "unit"), [
    ("MgC/ha", 10, 1, 1000, "MgC"),           # 10 MgC/ha over 100 ha
    ("tC/ha", 10, 1, 1000, "MgC"),
    ("kgC/m2", 1.4, 1, 1400, "MgC"),          # 1.4 kg/m2 = 1,400 Mg/km2
    ("gC/m2/yr", 350, 2, 700, "MgC/yr"),      # 350 g/m2/yr = 350 Mg/km2/yr
    ("kgC/m2/yr", 0.35, 2, 700, "MgC/yr"),
])
def test_density_units_integrate_to_stated_totals(name, value, area_km2, total, unit):
    u = get_unit(name)
    assert u.kind == "density" and u.total_unit == unit
    assert value * area_km2 * u.factor == pytest.approx(total)
    assert u.density_from_total(total, area_km2) == pytest.approx(value)


def test_carbon_per_cell_emissions_convert_to_co2():
    u = get_unit("TgC/cell/yr")
    assert u.total_unit == "tCO2/yr"
    assert u.factor == pytest.approx(1e6 * 44.0095 / 12.0107)
    assert pytest.approx(3.664, rel=1e-3) == CO2_PER_C


def test_unknown_unit_lists_the_accepted_ones():
    with pytest.raises(UnitError, match=r"layer 'x': unknown unit 'Mg/acre'; use one of: MgC/ha"):
        get_unit("Mg/acre", layer="x")
    assert get_unit(" mgc/HA ").name == "MgC/ha"


def test_unit_that_does_not_fit_the_role():
    with pytest.raises(UnitError, match=r"unit 'class' \(class\) does not fit role 'carbon_stock', which "
                       r"takes mass per area or mass per cell; use one of: MgC/ha, kgC/m2, gC/m2, MgC/cell$"):
        LayerSpec("c", "c.tif", "carbon_stock", "class")


@pytest.mark.parametrize(("role", "unit", "dimension", "accepted"), [
    # the three: a stock per year, emissions as a stock, NPP as a stock
    ("carbon_stock", "gC/m²/yr", "mass per area per time", "mass per area or mass per cell"),
    ("emissions", "MgC/ha", "mass per area", "mass per cell per time or mass per area per time"),
    ("carbon_uptake", "MgC/ha", "mass per area", "mass per area per time or mass per cell per time"),
    ("carbon_stock", "tCO2/cell/yr", "mass per cell per time", "mass per area or mass per cell"),
    ("biodiversity", "MgC/ha", "mass per area", "count per cell or area per cell"),
    ("cost", "count/cell", "count per cell", "cost per area or cost per cell"),
    ("region", "fraction", "fraction", "class"),
])
def test_a_unit_of_another_dimension_names_layer_unit_role_and_accepted_units(role, unit, dimension,
                                                                              accepted):
    from optimizer.inputs.units import role_units

    with pytest.raises(UnitError) as info:
        LayerSpec("x", "x.tif", role, unit)
    msg = str(info.value)
    assert msg.startswith(f"layer 'x': unit '{get_unit(unit).name}' ({dimension}) does not fit role "
                          f"'{role}', which takes {accepted}")
    assert msg.endswith(f"use one of: {', '.join(role_units(role))}") and "\n" not in msg


@pytest.mark.parametrize(("role", "unit", "total_unit"), [
    ("carbon_stock", "MgC/ha", "MgC"), ("carbon_stock", "MgC/cell", "MgC"),
    ("carbon_uptake", "gC/m2/yr", "MgC/yr"), ("carbon_uptake", "MgC/cell/yr", "MgC/yr"),
    ("carbon_uptake", "tCO2/ha/yr", "MgC/yr"),
    ("emissions", "tCO2/cell/yr", "tCO2/yr"), ("emissions", "TgC/cell/yr", "tCO2/yr"),
    ("emissions", "MgC/ha/yr", "tCO2/yr"), ("emissions", "tCO2/km2/yr", "tCO2/yr"),
    ("biodiversity", "fraction", "km2"), ("cost", "cost/ha", "cost"),
])
def test_every_accepted_unit_totals_in_the_roles_one_unit(role, unit, total_unit):
    assert LayerSpec("x", "x.tif", role, unit).total_unit == total_unit


def test_totals_follow_the_role_carbon_per_area_per_year_emissions_come_out_in_tco2(tmp_path):
    path = write_raster(tmp_path / "e.tif", np.full((4, 4), 2.0, "float32"), transform=T)
    pu = _grid(LayerSpec("e", path, "emissions", "MgC/ha/yr"))
    f = pu.features.loc["e"]
    assert (f["unit"], f["source_unit"]) == ("tCO2/yr", "MgC/ha/yr")
    # 2 MgC/ha/yr over 16 km2 = 3,200 MgC/yr = 3,200 x 44.0095/12.0107 tCO2/yr
    assert pu.units["e"].sum() == pytest.approx(3200 * CO2_PER_C)
    row = pu.summary().set_index("feature").loc["e"]
    assert (row["unit"], row["density_unit"]) == ("tCO2/yr", "MgC/ha/yr")
    assert row["density"] == pytest.approx(2.0)
    assert np.allclose(pu.units["e_density"], 2.0)


def test_demo_manifest_units_all_fit_their_roles():
    _, specs = load_manifest(DEMO_MANIFEST)
    assert {s.name: s.total_unit for s in specs if s.role in ("carbon_stock", "carbon_uptake",
                                                                "emissions")} == {
        "biomass": "MgC", "soc": "MgC", "npp": "MgC/yr", "co2": "tCO2/yr"}


@pytest.mark.parametrize("role", ["land_cover", "region"])
def test_a_continuous_raster_declared_as_classes_is_refused(tmp_path, role):
    data = np.linspace(0.5, 80.25, 16, dtype="float32").reshape(4, 4)
    path = write_raster(tmp_path / "lc.tif", data, transform=T)
    with pytest.raises(InputDataError, match=rf"layer 'lc' \(.*lc.tif\): a {role} layer of unit 'class' "
                       r"holds continuous values \(e.g. 0.5\), not class codes; reclassify"):
        _grid(LayerSpec("lc", path, role, "class"))


def test_whole_class_codes_stored_as_floats_are_accepted(tmp_path):
    data = np.array([[1, 1, 2, 2]] * 4, dtype="float32")
    path = write_raster(tmp_path / "lc.tif", data, transform=T)
    pu = _grid(LayerSpec("lc", path, "land_cover", "class"))
    assert pu.units[["lc_class_1_km2", "lc_class_2_km2"]].to_numpy().sum() == pytest.approx(16)


def test_a_mistyped_role_or_unit_gets_the_nearest_names():
    with pytest.raises(InputDataError, match=r"unknown role 'carbon_stok'; .*; did you mean 'carbon_stock' or"):
        LayerSpec("c", "c.tif", "carbon_stok", "MgC/ha")
    with pytest.raises(UnitError, match=r"unknown unit 'MgC/hectare'; .*did you mean 'MgC/ha"):
        LayerSpec("c", "c.tif", "carbon_stock", "MgC/hectare")


def test_format_total_picks_readable_prefixes():
    assert format_total(2.53e9, "MgC") == "2.53 PgC"
    assert format_total(7.2e8, "MgC/yr") == "720 TgC/yr"
    assert format_total(2.7e9, "tCO2/yr") == "2.7 GtCO2/yr"
    assert format_total(12.5, "km2") == "12.5 km2"


# ---------------------------------------------------------------- layer specs

def test_unknown_role():
    with pytest.raises(InputDataError, match="unknown role 'carbon'; use one of: carbon_stock"):
        LayerSpec("c", "c.tif", "carbon", "MgC/ha")


def test_bad_layer_name():
    with pytest.raises(InputDataError, match="layer name 'bio mass' is not usable"):
        LayerSpec("bio mass", "c.tif", "carbon_stock", "MgC/ha")


def test_duplicate_layer_names(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=T)
    spec = LayerSpec("c", path, "carbon_stock", "MgC/ha")
    with pytest.raises(InputDataError, match=r"layer names must be unique; repeated: \['c'\]"):
        build_grid([spec, spec], study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)


# ---------------------------------------------------------------- bad rasters

def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match=r"nope\.tif: file not found; check the path"):
        _grid(LayerSpec("c", tmp_path / "nope.tif", "carbon_stock", "MgC/ha"))


def test_unreadable_file(tmp_path):
    bad = tmp_path / "corrupt.tif"
    bad.write_bytes(b"II*\x00 this is not a tiff at all")
    with pytest.raises(InputDataError, match=r"corrupt\.tif: cannot be read .*valid, complete raster"):
        _grid(LayerSpec("c", bad, "carbon_stock", "MgC/ha"))


def test_raster_without_crs(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=T, crs=None)
    with pytest.raises(CRSError, match=r"layer 'c' .*raster has no CRS; assign one"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha"))


def test_layer_outside_the_study_area(tmp_path):
    far = Affine(1000, 0, 9_000_000, 0, -1000, 9_000_000)
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=far)
    with pytest.raises(InputDataError, match=r"layer 'c' .*does not overlap the study area.*check the file's CRS"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha"))


def test_all_nodata_layer(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.full((4, 4), -9999, "float32"), transform=T,
                        nodata=-9999)
    with pytest.raises(InputDataError, match=r"layer 'c' .*all cells over the study area are nodata"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha"))


def test_negative_carbon_stock(tmp_path):
    data = np.ones((4, 4), "float32")
    data[2, 1] = -5
    path = write_raster(tmp_path / "c.tif", data, transform=T)
    with pytest.raises(InputDataError, match=r"layer 'c' .*negative values \(min -5 MgC/ha\) in a carbon_stock layer"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha"))


def test_fill_value_without_nodata_is_caught_and_override_fixes_it(tmp_path):
    data = np.ones((4, 4), "float32")
    data[0, 0] = -9999
    path = write_raster(tmp_path / "c.tif", data, transform=T)
    with pytest.raises(InputDataError, match=r"no nodata value is set but the raster holds -9999.*LayerSpec\(nodata=-9999\)"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha"))
    with pytest.warns(Warning, match="no data"):
        pu = _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha", nodata=-9999))
    assert pu.units["c"].sum() == pytest.approx(15 * 100)


def test_bands_out_of_range(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=T)
    with pytest.raises(InputDataError, match=r"bands \[3\] out of range; the file has 1 band"):
        _grid(LayerSpec("c", path, "carbon_stock", "MgC/ha", bands=(3,)))


def test_years_must_match_bands():
    with pytest.raises(InputDataError, match="2 bands but 1 years"):
        LayerSpec("n", "n.tif", "carbon_uptake", "gC/m2/yr", bands=(1, 2), years=(2000,))


def test_grid_crs_must_be_equal_area(tmp_path):
    path = write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=T)
    with pytest.raises(CRSError, match="does not preserve area; planning units need an equal-area CRS"):
        build_grid([LayerSpec("c", path, "carbon_stock", "MgC/ha")],
                   study_area=(BOX4, ALBERS), cell_km=2, crs=3857)


def test_square_cells_need_a_study_area():
    with pytest.raises(InputDataError, match="needs a study_area outline"):
        build_grid([])


def test_errors_are_also_value_errors():
    assert issubclass(InputDataError, ValueError) and issubclass(InputDataError, OptimizerError)


# ---------------------------------------------------------------- bad vectors

def test_vector_without_crs(tmp_path):
    gdf = gpd.GeoDataFrame({"category": ["a"]}, geometry=[shapely.box(0, 0, 10, 10)])
    gdf.to_file(tmp_path / "pa.shp")
    with pytest.raises(CRSError, match=r"pa\.shp.*vector file has no CRS; write a \.prj"):
        _grid(LayerSpec("pa", tmp_path / "pa.shp", "protected", "fraction"))


def test_species_layer_needs_its_name_column(tmp_path):
    gdf = gpd.GeoDataFrame({"taxon": ["a"]}, geometry=[shapely.box(0, 0, 1000, 1000)], crs=ALBERS)
    gdf.to_file(tmp_path / "sp.gpkg")
    with pytest.raises(InputDataError, match=r"no column 'species'; available: \['taxon'\]; set LayerSpec\(attribute=...\)"):
        _grid(LayerSpec("sp", tmp_path / "sp.gpkg", "biodiversity", "fraction"))


# ---------------------------------------------------------------- manifests and CLI

def test_demo_manifest_loads():
    manifest, specs = load_manifest(DEMO_MANIFEST)
    assert manifest.grid.cell_km == 10
    assert [s.role for s in specs][:4] == ["carbon_stock", "carbon_stock", "carbon_uptake",
                                           "emissions"]
    assert all(s.path.exists() for s in specs)


def test_manifest_unknown_key(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[grid]\ncell_size = 5\n[[layers]]\nname="c"\npath="c.tif"\nrole="carbon_stock"\nunit="MgC/ha"\n')
    with pytest.raises(InputDataError, match=r"m\.toml: grid\.cell_size: Extra inputs are not permitted"):
        load_manifest(bad)


def test_cli_grid_builds_and_bad_input_is_one_line(tmp_path, capsys):
    assert main(["grid", str(DEMO_MANIFEST), "--out", str(tmp_path / "g"), "--cell-km", "50"]) == 0
    out = capsys.readouterr().out
    assert "planning units:" in out and "biomass" in out and "wrote" in out
    assert (tmp_path / "g" / "units.parquet").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[layers]]\nname="c"\npath="nope.tif"\nrole="carbon_stock"\nunit="MgC/acre"\n')
    assert main(["grid", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("carbonpark: error: layer 'c': unknown unit")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- remaining error paths

def test_cell_size_must_be_positive():
    with pytest.raises(InputDataError, match="cell_km must be positive; got -1"):
        build_grid([], study_area=(BOX4, ALBERS), cell_km=-1, crs=ALBERS)


def test_user_units_id_column_missing_or_duplicated():
    units = gpd.GeoDataFrame({"uid": [1, 1]}, geometry=[shapely.box(0, 0, 1000, 1000),
                                                        shapely.box(1000, 0, 2000, 1000)], crs=ALBERS)
    with pytest.raises(InputDataError, match=r"units: no id column 'pu'; available: \['uid'\]"):
        build_grid([], units=units, id_column="pu", crs=ALBERS)
    with pytest.raises(InputDataError, match="units: id column 'uid' has duplicate ids"):
        build_grid([], units=units, id_column="uid", crs=ALBERS)


def test_units_outside_the_study_area():
    units = gpd.GeoDataFrame(geometry=[shapely.box(9e6, 9e6, 9.001e6, 9.001e6)], crs=ALBERS)
    with pytest.raises(InputDataError, match="no planning units: the units do not overlap the study area"):
        build_grid([], units=units, study_area=(BOX4, ALBERS), crs=ALBERS)


def test_two_layers_producing_one_column(tmp_path):
    one = write_raster(tmp_path / "a.tif", np.ones((4, 4), "float32"), transform=T)
    two = write_raster(tmp_path / "b.tif", np.ones((4, 4), "float32"), transform=T,
                       descriptions=["2000"])
    with pytest.raises(InputDataError, match="two layers produce the column 'c_2000'; give the layers distinct names"):
        build_grid([LayerSpec("c_2000", one, "carbon_stock", "MgC/ha"),
                    LayerSpec("c", two, "carbon_uptake", "gC/m2/yr")],
                   study_area=(BOX4, ALBERS), cell_km=2, crs=ALBERS)


def test_a_vector_cannot_be_a_cost_layer(tmp_path):
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs=ALBERS).to_file(tmp_path / "c.gpkg")
    with pytest.raises(InputDataError, match="a vector cannot be a cost layer; give a raster"):
        _grid(LayerSpec("cost", tmp_path / "c.gpkg", "cost", "cost/km2"))


def test_manifest_invalid_toml_and_version(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[grid\n")
    with pytest.raises(InputDataError, match=r"m\.toml: not valid TOML"):
        load_manifest(bad)
    bad.write_text('schema_version = 2\n[[layers]]\nname="c"\npath="c.tif"\nrole="carbon_stock"\nunit="MgC/ha"\n')
    with pytest.raises(InputDataError, match="schema_version 2 is not supported; use 1"):
        load_manifest(bad)
    with pytest.raises(InputDataError, match="manifest not found"):
        load_manifest(tmp_path / "none.toml")


def test_corrupt_grid_files(tmp_path):
    from optimizer.grid.build import read_grid, write_grid

    pu = _grid(LayerSpec("c", write_raster(tmp_path / "c.tif", np.ones((4, 4), "float32"), transform=T),
                         "carbon_stock", "MgC/ha"))
    out = write_grid(pu, tmp_path / "g")
    (out / "boundary.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputDataError, match=r"grid files are unreadable or incomplete.*rebuild the grid"):
        read_grid(out)


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"II*\x00\x08\x00\x00\x00\xd0\xff", "layers.tif",
     r"layers.tif: not a TOML manifest \(it looks like a raster or vector file\); give the .toml manifest"),
    (b"\x89PNG\r\n\x1a\n\xff\xfe", "layers.toml", r"layers.toml: not a TOML manifest \(it looks like a binary"),
    (b"name = ", "layers.toml", r"layers.toml: not valid TOML \("),
])
def test_a_file_that_is_not_a_toml_manifest(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputDataError, match=message):
        load_manifest(path)
    with pytest.raises(InputDataError, match=r"is a folder, not a TOML manifest"):
        load_manifest(tmp_path)


# ---------------------------------------------------------------- natural land-cover classes

def _demo_manifest_with(tmp_path, natural: str, layer: str = "lc") -> Path:
    """The demo manifest with ``natural = ...`` on one layer, its paths made absolute."""
    text = DEMO_MANIFEST.read_text(encoding="utf-8").replace(
        'path = "demo/', f'path = "{DEMO_MANIFEST.parent}/demo/').replace(
        'study_area = "demo/', f'study_area = "{DEMO_MANIFEST.parent}/demo/')
    lines = [ln for ln in text.splitlines() if not ln.startswith("natural =")]
    at = lines.index(f'name = "{layer}"')
    lines.insert(at + 1, f"natural = {natural}")
    path = tmp_path / "demo.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_demo_marks_its_natural_classes_and_the_grid_records_them(demo_grid):
    # Issue 21 §3: the gap closure counts natural ecosystems; the manifest says which.
    lc = next(s for s in demo_grid.meta["layers"] if s["role"] == "land_cover")
    assert lc["natural"] == ["forest", "grassland", "wetland", "bare"]
    labels = set(demo_grid.features.loc[demo_grid.features["role"] == "land_cover", "label"])
    assert set(lc["natural"]) <= labels


def test_a_natural_class_the_land_cover_does_not_have_is_a_one_line_error(tmp_path, capsys):
    manifest = _demo_manifest_with(tmp_path, '["Forest", "forrest"]')
    code, _, err = run_cli(["grid", manifest, "--out", tmp_path / "g", "--cell-km", "80"], capsys)
    line = assert_one_line_error(code, err, contains="layer 'lc': natural class 'forrest'")
    assert "its classes: forest, grassland, cropland, wetland, bare, urban, water" in line
    assert "did you mean 'forest'" in line and not (tmp_path / "g").exists()
    spec = load_manifest(_demo_manifest_with(tmp_path, '["Forest", "bare"]'))[1]
    assert next(s for s in spec if s.name == "lc").natural == ("forest", "bare")


def test_natural_on_a_layer_that_is_not_land_cover_is_refused(tmp_path):
    with pytest.raises(InputDataError, match="layer 'biomass': natural marks land-cover classes"):
        load_manifest(_demo_manifest_with(tmp_path, '["forest"]', layer="biomass"))
