"""``--overwrite`` never replaces what a command reads (issue 22 item 1).

Each case is a user's mistake on a copy of the demo study (``scenarios/`` and ``data/``):
``--out`` set to the layers' folder, a layer, the scenario's folder, the grid cache, a
solve folder the command reads, a grid folder or a folder above inputs. Every one gets exit
code 2, one line naming the input it would harm and the fix, and the study is unchanged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli, tree_hash

ROOT = Path(__file__).resolve().parents[2]
COARSE = ["--set", "grid.cell_km=100"]  # a coarse demo grid keeps the solve fast


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo study with a grid folder (``grids/demo100``), a solve folder of
    each (``out/solve``, ``out/on_grid``) and sweeps of each (``sweeps/``)."""
    from optimizer.cli import main

    root = tmp_path_factory.mktemp("overwrite") / "study"
    for name in ("scenarios", "data"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns(".carbonpark-cache", "__pycache__"))
    assert main(["solve", str(root / "scenarios" / "balanced.toml"), "--out",
                 str(root / "out" / "solve"), *COARSE]) == 0
    cache = root / "scenarios" / ".carbonpark-cache"
    (built,) = cache.iterdir()
    shutil.copytree(built, root / "grids" / "demo100")  # a grid folder for grid.path
    (root / "scenarios" / "on_grid.toml").write_text(
        'schema_version = 1\nname = "on a grid folder"\n[grid]\npath = "../grids/demo100"\n'
        '[budget]\nshare = 0.1\n[weights]\ncarbon = 1\nbiodiversity = 1\n', encoding="utf-8")
    assert main(["solve", str(root / "scenarios" / "on_grid.toml"), "--out",
                 str(root / "out" / "on_grid")]) == 0
    (root / "sweeps").mkdir()
    for name, base in (("sweep.toml", "balanced.toml"), ("sweep_grid.toml", "on_grid.toml")):
        (root / "sweeps" / name).write_text(
            f'schema_version = 1\nbase = "../scenarios/{base}"\n[parameters]\n'
            '"budget.share" = [0.05, 0.1]\n', encoding="utf-8")
    return root


@pytest.fixture
def unchanged(study: Path):  # type: ignore[no-untyped-def]
    """Fails the test if any file of the study changed (inputs, cache, solve folder)."""
    before = tree_hash(study)
    yield study
    assert tree_hash(study) == before


def _refused(argv: list[object], capsys: pytest.CaptureFixture[str], names: str) -> str:
    code, _, err = run_cli([*argv, "--overwrite"], capsys)
    line = assert_one_line_error(code, err, contains=f"study/{names}")  # the input, no ".."
    assert "choose another" in line or "choose an output path outside" in line, line
    return line


def _cache(study: Path) -> Path:
    return study / "scenarios" / ".carbonpark-cache"


@pytest.mark.parametrize(("out", "names"), [
    ("data/demo", "data/demo/country.gpkg"),      # the layers' folder: the issue's case
    ("data/demo/npp.tif", "data/demo/npp.tif"),   # one layer file
    ("data", "data/demo.toml"),                    # above the manifest and the layers
    ("scenarios", "scenarios/balanced.toml"),      # the scenario's folder
    (".", "scenarios/balanced.toml"),              # the study: above every input
    ("scenarios/.carbonpark-cache", "scenarios/.carbonpark-cache"),        # the grid cache
    ("scenarios/.carbonpark-cache/plan", "scenarios/.carbonpark-cache"),   # inside the cache
])
def test_solve_out_an_input_is_refused_even_with_overwrite(unchanged, capsys, out, names):
    study = unchanged
    line = _refused(["solve", study / "scenarios" / "balanced.toml", "--out", study / out,
                     *COARSE], capsys, names)
    assert str(study / out) in line


def test_solve_on_a_grid_folder_out_the_grid_is_refused(unchanged, capsys):
    study = unchanged
    _refused(["solve", study / "scenarios" / "on_grid.toml", "--out",
              study / "grids" / "demo100"], capsys, "grids/demo100")
    _refused(["solve", study / "scenarios" / "on_grid.toml", "--out", study / "grids"],
             capsys, "grids/demo100")


@pytest.mark.parametrize(("out", "names"), [
    ("data/demo", "data/demo/country.gpkg"),      # the case
    ("data", "data/demo.toml"),
    ("scenarios", "scenarios/.carbonpark-cache"),  # the cache of the scenario it names
    ("scenarios/.carbonpark-cache", "scenarios/.carbonpark-cache"),
    ("out/solve", "out/solve"),                    # the solve folder itself
    ("out/solve/parks", "out/solve"),              # inside the solve folder
    ("out", "out/solve"),                          # above it
])
def test_export_out_an_input_of_its_solve_folder_is_refused(unchanged, capsys, out, names):
    study = unchanged
    line = _refused(["export", study / "out" / "solve", "--out", study / out, "--format",
                     "geojson"], capsys, names)
    assert str(study / out) in line


@pytest.mark.parametrize(("out", "names"), [
    ("out/solve/report.html", "out/solve"),                        # inside the solve folder
    ("scenarios/.carbonpark-cache/report.html", "scenarios/.carbonpark-cache"),  # inside the grid cache
    ("grids/demo100/report.html", "grids/demo100"),                  # inside a grid folder it reads
])
def test_report_into_an_input_folder_is_refused(unchanged, capsys, out, names):
    study = unchanged
    solves = [study / "out" / "solve"]
    if out.startswith("grids"):  # a plan solved on the grid folder
        solves = [study / "out" / "on_grid"]
    _refused(["report", *solves, "--out", study / out], capsys, names)


@pytest.mark.parametrize(("sweep", "out", "names"), [
    ("sweep.toml", "scenarios", "scenarios/balanced.toml"),       # the base scenario's folder
    ("sweep.toml", "sweeps", "sweeps/sweep.toml"),             # the sweep file's folder
    ("sweep.toml", "data/demo", "data/demo/country.gpkg"),  # the base's layers
    ("sweep.toml", "scenarios/.carbonpark-cache", "scenarios/.carbonpark-cache"),
    ("sweep_grid.toml", "grids/demo100", "grids/demo100"),    # the base's grid folder
    ("sweep_grid.toml", "grids", "grids/demo100"),
])
def test_sweep_out_an_input_is_refused(unchanged, capsys, sweep, out, names):
    study = unchanged
    line = _refused(["sweep", study / "sweeps" / sweep, "--out", study / out, "--workers", "1",
                     "--no-progress"], capsys, names)
    assert str(study / out) in line


@pytest.mark.parametrize(("out", "names"), [
    ("data/demo", "data/demo/country.gpkg"),
    ("scenarios/.carbonpark-cache", "scenarios/.carbonpark-cache"),
    ("scenarios", "scenarios/balanced.toml"),
])
def test_frontier_out_an_input_is_refused(unchanged, capsys, out, names):
    study = unchanged
    _refused(["frontier", study / "scenarios" / "balanced.toml", "--out", study / out,
              *COARSE], capsys, names)


def test_solve_out_a_new_folder_beside_the_inputs_still_works(study, capsys):
    """The guard refuses inputs only: a new folder next to them is written."""
    before = tree_hash(study / "data")
    out = study / "data" / "plans" / "balanced"
    code, _, err = run_cli(["solve", study / "scenarios" / "balanced.toml", "--out", out,
                            *COARSE, "--overwrite"], capsys)
    assert code == 0, err
    assert (out / "solution.parquet").is_file()
    shutil.rmtree(study / "data" / "plans")
    assert tree_hash(study / "data") == before


def test_the_python_api_guards_the_same_inputs(unchanged):
    """`export_solution` and `run_sweep` called from Python refuse what the commands refuse."""
    from optimizer.errors import OutputError
    from optimizer.outputs.export import export_solution
    from optimizer.studies.sweep import Sweep, run_sweep

    study = unchanged
    with pytest.raises(OutputError, match=r"data/demo: holds the input .*study/data/demo/country"):
        export_solution(study / "out" / "solve", study / "data" / "demo", formats=["geojson"],
                        overwrite=True)
    sweep = Sweep.load(study / "sweeps" / "sweep_grid.toml")
    with pytest.raises(OutputError, match=r"grids: holds the input .*study/grids/demo100"):
        run_sweep(sweep, study / "grids", workers=1, progress=False, overwrite=True)
