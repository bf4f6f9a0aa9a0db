"""The catalogue of bad inputs: a user's mistake, the one-line error it gets, and nothing lost.

Every case is written as the mistake a user makes at the command line (or in the Python
API), and asserts the exit code, the one-line message, and that no input or unrelated
file changed (the tree is hashed before and after). Grow it with every new command.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def tree_hash(root: Path) -> dict[str, str]:
    """Relative path -> sha256 and mode of every file under ``root`` (folders too, as '<dir>')."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() + f" {p.stat().st_mode:o}"
    return out


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``carbonpark argv``; return the exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *, exit_code: int = 2, contains: str = "") -> str:
    """The command failed with ``exit_code`` and a single ``carbonpark: error:`` line."""
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("carbonpark: warning:")]
    assert code == exit_code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("carbonpark: error: "), err
    assert "internal error" not in lines[0] and "this is a bug" not in lines[0], err
    assert contains in lines[0], err
    return lines[0]


@pytest.fixture
def demo_inputs_unchanged():
    """Fails the test if any file of the shipped demo data changed."""
    before = tree_hash(DEMO)
    yield
    assert tree_hash(DEMO) == before


# ================================================================ outputs never destroy anything
# (cases for issue 10, section 2: grid/gap/marxan outputs, --overwrite, permissions)

# ================================================================ units checked by dimension
# (cases for issue 10, section 3)

def _units_manifest(tmp_path: Path, name: str, layer: str, role: str, unit: str, cell_km: int = 80) -> Path:
    """A one-layer manifest in ``tmp_path`` over the demo country (absolute paths into data/demo)."""
    path = tmp_path / "m.toml"
    path.write_text(f'[grid]\nstudy_area = "{DEMO / "country.gpkg"}"\ncell_km = {cell_km}\n'
                    f'[[layers]]\nname = "{name}"\npath = "{DEMO / layer}"\nrole = "{role}"\n'
                    f'unit = "{unit}"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "layer", "role", "unit", "message"), [
    # the cases: a stock per year, emissions as a stock, NPP as a stock
    ("biomass", "biomass_carbon.tif", "carbon_stock", "gC/m²/yr",
     "layer 'biomass': unit 'gC/m2/yr' (mass per area per time) does not fit role 'carbon_stock', "
     "which takes mass per area or mass per cell; use one of: MgC/ha, kgC/m2, gC/m2, MgC/cell"),
    ("co2", "co2_emissions.tif", "emissions", "MgC/ha",
     "layer 'co2': unit 'MgC/ha' (mass per area) does not fit role 'emissions', which takes mass per "
     "cell per time or mass per area per time; use one of: MgC/ha/yr"),
    ("npp", "npp.tif", "carbon_uptake", "MgC/ha",
     "layer 'npp': unit 'MgC/ha' (mass per area) does not fit role 'carbon_uptake', which takes mass "
     "per area per time or mass per cell per time; use one of: MgC/ha/yr"),
    ("richness", "species_richness.tif", "biodiversity", "MgC/ha",
     "unit 'MgC/ha' (mass per area) does not fit role 'biodiversity'"),
])
def test_a_unit_of_the_wrong_dimension_is_refused_before_any_raster_is_read(
        tmp_path, capsys, demo_inputs_unchanged, name, layer, role, unit, message):
    manifest = _units_manifest(tmp_path, name, layer, role, unit)
    before = tree_hash(tmp_path)
    code, out, err = run_cli(["grid", manifest, "--out", tmp_path / "grid"], capsys)
    assert_one_line_error(code, err, contains=message)
    assert out == "" and tree_hash(tmp_path) == before


def test_a_continuous_raster_declared_as_land_cover_classes_is_refused(tmp_path, capsys,
                                                                       demo_inputs_unchanged):
    manifest = _units_manifest(tmp_path, "lc", "npp.tif", "land_cover", "class", cell_km=150)
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", manifest, "--out", tmp_path / "grid"], capsys)
    line = assert_one_line_error(code, err, contains="layer 'lc' (")
    assert "a land_cover layer of unit 'class' holds continuous values" in line
    assert "reclassify it to integer codes, or declare its real role and unit" in line
    assert tree_hash(tmp_path) == before


# ================================================================ check early, blame the right side
# (cases for issue 10, section 6)

@pytest.mark.parametrize(("argv", "message"), [
    (["demo", "--budget-share", "1.5"],
     "argument --budget-share: must be a share in (0, 1]; got 1.5; write 5% as --budget-share 0.05"),
    (["demo", "--budget-share", "0"], "argument --budget-share: must be a share in (0, 1]; got 0"),
    (["demo", "--budget-share", "five"], "argument --budget-share: must be a number; got 'five'"),
    (["demo", "--cell-km", "0"], "argument --cell-km: must be > 0; got 0; e.g. --cell-km 10"),
    (["demo", "--cell-km", "inf"], "argument --cell-km: must be finite; got 'inf'"),
    (["demo", "--max-units", "0"], "argument --max-units: must be >= 1; got 0"),
    (["demo", "--bugdet-share", "0.1"],
     "unrecognized arguments: --bugdet-share 0.1; did you mean '--budget-share'?"),
    (["demo", "--cellkm=20"], "unrecognized arguments: --cellkm=20; did you mean '--cell-km'?"),
    (["gird", "data/demo.toml"], "command 'gird' does not exist; use one of: demo, grid, gap, marxan; "
                                 "did you mean 'grid'?"),
    (["gap", "g", "--target", "30"], "argument --target: must be a share in [0, 1]; got 30; "
                                     "write 30% as --target 0.3"),
    (["gap", "g", "--top", "0"], "argument --top: must be a share in (0, 1]; got 0"),
    (["gap", "g", "--pa-threshold", "-0.5"], "argument --pa-threshold: must be a share in (0, 1]"),
    (["gap", "g", "--typology", "kmean"],
     "argument --typology 'kmean' does not exist; use one of: quantile, kmeans; did you mean 'kmeans'?"),
    (["grid", "m.toml", "--out", "g", "--cell-km", "-5"], "argument --cell-km: must be > 0; got -5"),
    (["grid", "m.toml"], "the following arguments are required: --out"),
])
def test_every_argument_is_checked_before_any_work_and_named_as_typed(
        tmp_path, capsys, monkeypatch, demo_inputs_unchanged, argv, message):
    monkeypatch.chdir(tmp_path)
    before = tree_hash(tmp_path)
    code, out, err = run_cli(argv, capsys)
    line = assert_one_line_error(code, err, contains=message)
    assert "max_share" not in line and "cell_km" not in line
    assert out == "" and tree_hash(tmp_path) == before  # nothing built, not even out/demo


def test_a_geotiff_or_a_folder_given_as_manifest(tmp_path, capsys, demo_inputs_unchanged):
    before = tree_hash(tmp_path)
    for given, message in ((DEMO / "npp.tif", "npp.tif: not a TOML manifest (it looks like a raster "
                                              "or vector file); give the .toml manifest"),
                           (DEMO, "demo: is a folder, not a TOML manifest")):
        code, _, err = run_cli(["grid", given, "--out", tmp_path / "grid"], capsys)
        assert_one_line_error(code, err, contains=message)
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize("out", [".", "..", "./"])
def test_grid_out_that_is_the_current_folder_is_refused(tmp_path, capsys, monkeypatch,
                                                        demo_inputs_unchanged, out):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path / "work")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", ROOT / "data" / "demo.toml", "--out", out], capsys)
    assert_one_line_error(code, err, contains=f"argument --out: '{out}' is the current folder")
    assert tree_hash(tmp_path) == before


def test_a_grid_too_large_is_refused_from_its_estimate_before_building(tmp_path, capsys,
                                                                       demo_inputs_unchanged):
    before = tree_hash(tmp_path)
    code, out, err = run_cli(["grid", ROOT / "data" / "demo.toml", "--out", tmp_path / "g",
                              "--cell-km", "0.2"], capsys)
    line = assert_one_line_error(code, err, contains="cells of 0.2 km give about 5")
    assert "above the limit of 20,000,000; use larger cells (--cell-km or cell_km= 0.35 gives about" in line
    assert "raise the limit (--max-units or max_units=)" in line
    assert out == "" and tree_hash(tmp_path) == before
    # the limit is the user's to raise (or lower)
    code, _, err = run_cli(["grid", ROOT / "data" / "demo.toml", "--out", tmp_path / "g",
                            "--cell-km", "100", "--max-units", "50"], capsys)
    assert_one_line_error(code, err, contains="above the limit of 50;")
    assert tree_hash(tmp_path) == before


def test_a_vector_layer_labelled_lon_lat_but_in_metres_is_a_crs_error(tmp_path, capsys,
                                                                        demo_inputs_unchanged):
    import geopandas as gpd

    pa = gpd.read_file(DEMO / "protected_areas.gpkg").to_crs(3857).set_crs(4326, allow_override=True)
    pa.to_file(tmp_path / "pa.gpkg")
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[grid]\nstudy_area = "{DEMO / "country.gpkg"}"\ncell_km = 150\n[[layers]]\n'
                        'name = "pa"\npath = "pa.gpkg"\nrole = "protected"\nunit = "fraction"\n')
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", manifest, "--out", tmp_path / "g"], capsys)
    line = assert_one_line_error(code, err, contains="layer 'pa' (")
    assert "is not in degrees, but the file says its CRS is the geographic 'WGS 84'" in line
    assert "set the file's true CRS (ogr2ogr -a_srs EPSG:...)" in line
    assert tree_hash(tmp_path) == before


def test_a_vector_layer_in_another_projected_crs_is_reprojected(tmp_path, capsys, demo_inputs_unchanged):
    import geopandas as gpd

    gpd.read_file(DEMO / "protected_areas.gpkg").to_crs(32648).to_file(tmp_path / "pa.gpkg")
    gpd.read_file(DEMO / "country.gpkg").to_crs(3857).to_file(tmp_path / "country.gpkg")
    manifest = tmp_path / "m.toml"
    manifest.write_text('[grid]\nstudy_area = "country.gpkg"\ncell_km = 150\n[[layers]]\nname = "pa"\n'
                        'path = "pa.gpkg"\nrole = "protected"\nunit = "fraction"\n')
    code, out, err = run_cli(["grid", manifest, "--out", tmp_path / "g"], capsys)
    assert code == 0, err
    assert "protected 11." in out  # the same share as in the demo's own CRS


def test_a_vector_layer_outside_the_study_area_is_refused(tmp_path, capsys, demo_inputs_unchanged):
    import geopandas as gpd
    import shapely

    far = gpd.GeoDataFrame({"category": ["II"]}, geometry=[shapely.box(-60, -40, -59, -39)], crs=4326)
    far.to_file(tmp_path / "pa.gpkg")
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[grid]\nstudy_area = "{DEMO / "country.gpkg"}"\ncell_km = 150\n[[layers]]\n'
                        'name = "pa"\npath = "pa.gpkg"\nrole = "protected"\nunit = "fraction"\n')
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", manifest, "--out", tmp_path / "g"], capsys)
    assert_one_line_error(code, err, contains="layer 'pa' (")
    assert "does not overlap the study area (layer bounds (-60.0, -40.0, -59.0, -39.0) in WGS 84); " \
           "check the file's CRS and extent" in err
    assert tree_hash(tmp_path) == before


# ================================================================ marxan scores and the marxan command
# (cases for issue 10, sections 4 and 7)

# ================================================================ solvers: interrupts, limits, backends
# (cases for issue 10, sections 1, 5 and 7)
