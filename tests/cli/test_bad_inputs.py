"""The catalogue of bad inputs: a user's mistake, the one-line error it gets, and nothing lost.

Every case is written as the mistake a user makes at the command line (or in the Python
API), and asserts the exit code, the one-line message, and that no input or unrelated
file changed (the tree is hashed before and after). Grow it with every new command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli, tree_hash

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"





@pytest.fixture
def demo_inputs_unchanged():
    """Fails the test if any file of the shipped demo data changed."""
    before = tree_hash(DEMO)
    yield
    assert tree_hash(DEMO) == before


# ================================================================ outputs never destroy anything
# (cases for issue 10, section 2: grid/gap/marxan outputs, --overwrite, permissions)

MANIFEST = ROOT / "data" / "demo.toml"
COARSE = ["--cell-km", "100"]  # a coarse demo grid keeps these cases fast


def documents(folder: Path) -> Path:
    """A folder of a user's documents (the kind of folder that must never be replaced)."""
    (folder / "letters").mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"chapter 1")
    (folder / "letters" / "bank.txt").write_text("dear bank")
    return folder


@pytest.fixture(scope="module")
def coarse_grid(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The demo grid on 100 km cells, written once as a carbonpark grid folder."""
    from optimizer.grid.build import write_grid
    from optimizer.grid.manifest import build_grid_from_manifest

    pu = build_grid_from_manifest(MANIFEST, cell_km=100, progress=False)
    return write_grid(pu, tmp_path_factory.mktemp("outputs") / "grid")


def copy_grid(grid: Path, where: Path) -> Path:
    import shutil

    return Path(shutil.copytree(grid, where))


def tiny_marxan(folder: Path) -> Path:
    """A 4-unit Marxan project whose OUTPUTDIR already holds Marxan's own output_best.csv."""
    inp = folder / "input"
    inp.mkdir(parents=True)
    (inp / "pu.dat").write_text("id,cost,status\n1,1,0\n2,2,0\n3,1,0\n4,3,0\n")
    (inp / "spec.dat").write_text("id,target,spf,name\n1,2,10,a\n")
    (inp / "puvspr.dat").write_text("species,pu,amount\n1,1,1\n1,2,2\n1,3,1\n1,4,2\n")
    (folder / "input.dat").write_text("BLM 0\nINPUTDIR input\nPUNAME pu.dat\nSPECNAME spec.dat\n"
                                      "PUVSPRNAME puvspr.dat\nSCENNAME output\nSAVEBEST 3\n"
                                      "OUTPUTDIR output\n")
    (folder / "output").mkdir()
    (folder / "output" / "output_best.csv").write_text("PUID,SOLUTION\n1,1\n2,0\n3,1\n4,0\n")
    return folder / "input.dat"


def test_grid_out_a_folder_of_documents_is_refused(tmp_path, capsys, demo_inputs_unchanged):
    docs = documents(tmp_path / "docs")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", MANIFEST, "--out", docs, *COARSE], capsys)
    line = assert_one_line_error(code, err, contains=f"{docs}: the folder is not empty")
    assert "pass --overwrite" in line
    assert tree_hash(tmp_path) == before


def test_the_error_names_the_path_as_typed(tmp_path, capsys, monkeypatch):
    documents(tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", MANIFEST, "--out", "docs", *COARSE], capsys)
    assert_one_line_error(code, err, contains="carbonpark: error: docs: ")
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize(("out", "what"), [(DEMO, "holds the input"),
                                           (DEMO.parent, "holds the input"),
                                           (MANIFEST, "is an input of this command"),
                                           (DEMO / "npp.tif", "is an input of this command")])
def test_grid_out_an_input_is_refused_even_with_overwrite(capsys, demo_inputs_unchanged, out, what,
                                                          overwrite):
    before = tree_hash(DEMO.parent)
    code, _, err = run_cli(["grid", MANIFEST, "--out", out, *COARSE, *overwrite], capsys)
    line = assert_one_line_error(code, err, contains=f"{out}: {what}")
    assert "--overwrite never replaces an input" in line
    assert tree_hash(DEMO.parent) == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_demo_out_its_own_data_is_refused_even_with_overwrite(capsys, demo_inputs_unchanged, overwrite):
    before = tree_hash(DEMO.parent)
    code, _, err = run_cli(["demo", "--out", DEMO, *COARSE, *overwrite], capsys)
    line = assert_one_line_error(code, err, contains=f"{DEMO / 'grid'}: lies inside the input {DEMO}")
    assert "--overwrite never replaces an input" in line
    assert tree_hash(DEMO.parent) == before


def test_grid_out_an_existing_file_is_refused_then_replaced_with_overwrite(tmp_path, capsys):
    target = tmp_path / "results.csv"
    target.write_text("my results\n")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["grid", MANIFEST, "--out", target, *COARSE], capsys)
    assert_one_line_error(code, err, contains=f"{target}: is a file, not an output folder")
    assert tree_hash(tmp_path) == before  # in particular no hidden .results.csv.old-PID
    code, _, err = run_cli(["grid", MANIFEST, "--out", target, *COARSE, "--overwrite"], capsys)
    assert code == 0, err
    assert (target / "units.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_grid_out_the_current_folder_is_refused(tmp_path, capsys, monkeypatch, overwrite):
    documents(tmp_path)
    monkeypatch.chdir(tmp_path / "letters")
    before = tree_hash(tmp_path)
    for out in (".", ".."):
        code, _, err = run_cli(["grid", MANIFEST, "--out", out, *COARSE, *overwrite], capsys)
        assert_one_line_error(code, err, contains=f"{out}: is the current folder or a folder above it")
    assert tree_hash(tmp_path) == before


def test_a_bad_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import optimizer.grid.manifest as grid_manifest
    import optimizer.plan.results as results

    def no_work(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(grid_manifest, "build_grid_from_manifest", no_work)
    monkeypatch.setattr(results, "solve", no_work)
    docs = documents(tmp_path / "docs")
    code, _, err = run_cli(["grid", MANIFEST, "--out", docs], capsys)
    assert_one_line_error(code, err, contains=f"{docs}: the folder is not empty")
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "mine.txt").write_text("x")
    code, _, err = run_cli(["demo", "--out", tmp_path], capsys)
    assert_one_line_error(code, err, contains=f"{tmp_path / 'grid'}: the folder is not empty")
    project = tiny_marxan(tmp_path / "mx")
    code, _, err = run_cli(["marxan", project], capsys)
    assert_one_line_error(code, err, contains="output_best.csv: exists and was not written")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_gap_out_its_own_grid_is_refused(tmp_path, capsys, coarse_grid, overwrite):
    grid = copy_grid(coarse_grid, tmp_path / "grid")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["gap", grid, "--out", grid, *overwrite], capsys)
    assert_one_line_error(code, err, contains=f"{grid}: is an input of this command")
    code, _, err = run_cli(["gap", grid, "--out", grid / "gap", *overwrite], capsys)
    assert_one_line_error(code, err, contains=f"{grid / 'gap'}: lies inside the input {grid}")
    assert tree_hash(tmp_path) == before


def test_gap_out_another_grid_is_refused_unless_overwrite(tmp_path, capsys, coarse_grid, umask022):
    grid = copy_grid(coarse_grid, tmp_path / "grid")
    other = copy_grid(coarse_grid, tmp_path / "other")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["gap", grid, "--out", other], capsys)
    assert_one_line_error(code, err, contains=f"{other}: holds carbonpark grid output, not gap")
    assert tree_hash(tmp_path) == before
    code, _, err = run_cli(["gap", grid, "--out", other, "--overwrite"], capsys)
    assert code == 0, err
    assert (other / "carbon.csv").exists() and not (other / "boundary.parquet").exists()
    # gap's own earlier output is replaced without --overwrite, and the grid is untouched
    code, _, err = run_cli(["gap", grid, "--out", other], capsys)
    assert code == 0, err
    assert {k: v for k, v in tree_hash(tmp_path).items() if k.startswith("grid")} == \
        {k: v for k, v in before.items() if k.startswith("grid")}
    # the files have the permissions of any file the user creates (umask 022), not 0600
    modes = {p.name: p.stat().st_mode & 0o777 for p in other.iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_grid_files_get_the_users_permissions(tmp_path, capsys, umask077):
    code, _, err = run_cli(["grid", MANIFEST, "--out", tmp_path / "g", *COARSE], capsys)
    assert code == 0, err
    modes = {p.stat().st_mode & 0o777 for p in (tmp_path / "g").iterdir()}
    assert modes == {0o600} and ((tmp_path / "g").stat().st_mode & 0o777) == 0o700


def test_marxan_does_not_overwrite_marxans_own_output_best(tmp_path, capsys, umask022):
    project = tiny_marxan(tmp_path / "mx")
    best = tmp_path / "mx" / "output" / "output_best.csv"
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["marxan", project], capsys)
    line = assert_one_line_error(code, err, contains=f"{best}: exists and was not written by carbonpark")
    assert "pass --overwrite" in line
    assert tree_hash(tmp_path) == before
    # the file Marxan wrote, given to compare with, is an input: never replaced
    code, _, err = run_cli(["marxan", project, "--compare", best, "--overwrite"], capsys)
    assert_one_line_error(code, err, contains=f"{best}: is an input of this command")
    assert tree_hash(tmp_path) == before
    # --overwrite replaces it; then it is ours, and a re-run needs no --overwrite
    code, _, err = run_cli(["marxan", project, "--overwrite"], capsys)
    assert code == 0, err
    assert best.read_text().startswith("PUID,SOLUTION\n") and (best.stat().st_mode & 0o777) == 0o644
    code, _, err = run_cli(["marxan", project], capsys)
    assert code == 0, err
    after = tree_hash(tmp_path)
    assert {k: after[k] for k in before if "input" in k} == {k: before[k] for k in before if "input" in k}


def test_marxan_out_an_input_file_is_refused(tmp_path, capsys):
    project = tiny_marxan(tmp_path / "mx")
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["marxan", project, "--out", project, "--overwrite"], capsys)
    assert_one_line_error(code, err, contains=f"{project}: is an input of this command")
    assert tree_hash(tmp_path) == before


def test_demo_default_output_is_rerunnable(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, _, err = run_cli(["demo", "--cell-km", "150", "--budget-share", "0.05"], capsys)
        assert code == 0, err
    assert (tmp_path / "out" / "demo" / "grid" / "units.parquet").exists()
    assert [p.name for p in (tmp_path / "out" / "demo").iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def umask022():  # type: ignore[no-untyped-def]
    """The common umask 022 for one test."""
    import os

    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def umask077():  # type: ignore[no-untyped-def]
    """A private umask 077 for one test."""
    import os

    old = os.umask(0o077)
    yield
    os.umask(old)

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
    (["gird", "data/demo.toml"], "command 'gird' does not exist; use one of: demo, grid, gap, marxan, scenario, "
                                 "solve, frontier, sweep, importance, portfolio, export, report, app; did you mean 'grid'?"),
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

def _slow_marxan_project(folder: Path) -> Path:
    """A 900-unit min-set project with a strong boundary penalty: minutes to prove at gap 0."""
    from helpers import box_grid

    from optimizer.io.marxan import write_marxan_project
    from optimizer.model.problem import problem

    p = (problem(box_grid(30, 30, seed=1, n_species=10)).add_min_set_objective()
         .add_relative_targets(0.3).add_boundary_penalty(0.3))
    return write_marxan_project(p, folder, blm=0.3)


def test_ctrl_c_during_a_marxan_solve_writes_the_best_plan_and_exits_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    input_dat = _slow_marxan_project(tmp_path / "project")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "optimizer.cli", "marxan", str(input_dat), "--out", str(out),
         "--gap", "0", "--time-limit", "300", "--blm", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # As from a terminal, even when this test runs in a process that ignores SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the solve has started
        if line.startswith("solving with "):
            break
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    # Stopped by Ctrl-C, well before its 300 s limit (benchmarks/bench_limits.py times the stop).
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "terminate called" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("carbonpark: interrupted: the best plan found "
                                                   "so far (proven gap "), err
    assert "status interrupted: the best plan found so far" in rest
    best = out / "output_best.csv"
    assert best.exists() and len(best.read_text().splitlines()) == 901


def test_an_unknown_solver_or_option_is_one_line_naming_the_nearest(capsys):
    from optimizer.errors import InputDataError
    from optimizer.solvers import get_solver

    with pytest.raises(InputDataError, match=r"^solver 'hihgs' is unknown; use 'highs'"):
        get_solver("hihgs")
    with pytest.raises(InputDataError, match=r"^gap must be a relative gap in \[0, 1\); got 5"):
        get_solver("highs", gap=5)
    with pytest.raises(InputDataError, match=r"^time_limit must be a positive number of seconds"):
        get_solver("cut", time_limit=-1)
    code, _, err = run_cli(["marxan", "x/input.dat", "--solver", "gurobi"], capsys)
    assert_one_line_error(code, err, contains="--solver")


# ==== scenarios
# (`carbonpark scenario check` with bad files: exit 2, one line, nothing written or changed)

_SCENARIO_HEAD = 'schema_version = 1\n[grid]\nmanifest = "{manifest}"\ncell_km = 150\n'


@pytest.mark.parametrize(("body", "message"), [
    ("[budget]\nshar = 0.1", "[budget] unknown key 'shar'; did you mean 'share'?"),
    ("[budget]\nshare = '10%'", "[budget] share: expected a number; got '10%'"),
    ("[budget]\nshare = 0.1\n[objective]\nkind = 'maxutility'", "did you mean 'max_utility'?"),
    ("[budget]\nshare = 0.1\n[solver]\nbackend = 'gurobi'", "[solver] backend: expected highs"),
    ("[budget]\nshare = 0.1\n[weights]\nbiodiversty = 1", "[weights] weights key 'biodiversty'"),
    ("[budget]\nshare = 0.1\n[[area_budgets]]\nregion = 'Hex'\nmax_km2 = 1",
     "[area_budgets[1]] region 'Hex' is not a region of this grid"),
    ("[budget]\nshare = 0.1\n[[locks.land_cover_out]]\nland_cover = 'crop land'",
     "[locks.land_cover_out[1]] land_cover 'crop land'"),
    ("[budget]\nshare = 0.1\n[[locks.locked_out]]\nfile = 'concessions.gpkg'",
     "[locks.locked_out[1]] file 'concessions.gpkg': file not found; check the path"),
    ("[budget]\nshare = 0.1\n[[locks.locked_in]]\nfile = 'plans.gpkg'\nmin_share = 2",
     "[locks.locked_in[1]] min_share: must be <= 1"),
    ("[budget\n", "not valid TOML"),
])
def test_scenario_check_of_a_bad_file_is_one_line(tmp_path, capsys, body, message):
    # The bad keys are found before any grid is built: the cache folder appears only for
    # values that need the grid (region, land cover, weights keys).
    path = tmp_path / "bad.toml"
    path.write_text(_SCENARIO_HEAD.format(manifest=MANIFEST.as_posix()) + body)
    before = tree_hash(tmp_path)
    demo_before = tree_hash(DEMO)
    code, out, err = run_cli(["scenario", "check", path], capsys)
    line = assert_one_line_error(code, err, contains=message)
    assert str(path) in line and out == ""
    after = {k: v for k, v in tree_hash(tmp_path).items() if not k.startswith(".carbonpark-cache")}
    assert after == before and tree_hash(DEMO) == demo_before
    if "[locks.locked_" in message:  # a lock file's mistake costs no grid build
        assert not (tmp_path / ".carbonpark-cache").exists()


def test_scenario_check_of_a_missing_file_a_folder_or_a_grid_that_is_not_one(tmp_path, capsys):
    code, _, err = run_cli(["scenario", "check", tmp_path / "nope.toml"], capsys)
    assert_one_line_error(code, err, contains="scenario file not found")
    code, _, err = run_cli(["scenario", "check", tmp_path], capsys)
    assert_one_line_error(code, err, contains="is a folder, not a scenario file")
    (tmp_path / "docs").mkdir()
    (tmp_path / "s.toml").write_text('schema_version = 1\n[grid]\npath = "docs"\n[budget]\nkm2 = 1\n')
    before = tree_hash(tmp_path)
    code, _, err = run_cli(["scenario", "check", tmp_path / "s.toml"], capsys)
    assert_one_line_error(code, err, contains="[grid] path 'docs' is not a carbonpark grid folder")
    assert tree_hash(tmp_path) == before
    code, _, err = run_cli(["scenario", "chek", tmp_path / "s.toml"], capsys)
    assert_one_line_error(code, err, contains="did you mean 'check'")


def test_scenario_check_and_schema_of_good_input(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(_SCENARIO_HEAD.format(manifest=MANIFEST.as_posix())
                    + "[budget]\ntotal_protection = 0.3\n")
    with pytest.warns(Warning):
        code, out, err = run_cli(["scenario", "check", path], capsys)
    assert code == 0, err
    assert "bring total protection to 30% of the land" in out and "├─objective" in out
    code, out, _ = run_cli(["scenario", "schema"], capsys)
    assert code == 0 and "[budget]" in out and "total_protection" in out


# ================================================================ solve and frontier commands

@pytest.fixture
def scenario_copy(tmp_path, monkeypatch):
    """The shipped scenarios in a scratch folder beside a link to data/ (the working folder)."""
    import shutil

    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _scenario_tree(root: Path) -> dict[str, str]:
    # The grid cache beside the scenarios is the command's own (built once, by content hash).
    return {k: v for k, v in tree_hash(root / "scenarios").items() if ".carbonpark-cache" not in k}


@pytest.mark.parametrize(("argv", "message"), [
    (["solve", "missing.toml", "--out", "o"], "missing.toml: scenario file not found; check the path"),
    (["solve", "scenarios/balanced.toml", "--out", "o", "--set", "budget.shar=0.1"],
     "[budget] unknown key 'shar'; did you mean 'share'?"),
    (["solve", "scenarios/balanced.toml", "--out", "scenarios"],
     "scenarios: holds the input scenarios/balanced.toml; choose another output path"),
    (["frontier", "scenarios/balanced.toml", "--out", "o", "--points", "1"],
     "argument --points: must be >= 2; got 1"),
    (["frontier", "scenarios/balanced.toml", "--out", "o", "--points", "many"],
     "argument --points: must be a whole number; got 'many'"),
    (["frontier", "scenarios/balanced.toml", "--out", "o", "--time-limit-per-point", "0"],
     "argument --time-limit-per-point: must be > 0; got 0; e.g. --time-limit-per-point 10"),
    (["sweep", "scenarios/sweep_budget_weight.toml", "--out", "o", "--workers", "0"],
     "argument --workers: must be >= 1; got 0"),
    (["frontier", "scenarios/balanced.toml", "--out", "o", "--points", "3", "--metric-a",
      "carbn_stock_added"], "did you mean 'carbon_stock_added'"),
])
def test_solve_and_frontier_mistakes_get_one_line_and_change_nothing(scenario_copy, capsys, argv,
                                                                     message):
    before = _scenario_tree(scenario_copy)
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, contains=message)
    assert _scenario_tree(scenario_copy) == before
    assert not (scenario_copy / "o").exists()
