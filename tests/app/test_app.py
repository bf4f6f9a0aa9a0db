"""The Streamlit app, page by page, with `streamlit.testing.v1.AppTest` on the 40 km demo grid.

Every page runs as it does in the app (`optimizer.app.main`, inside
`optimizer.app.common.guarded`, given the ``streamlit`` module as app.py gives it), with the
error paths: a bad folder, a bad or malicious zip, an infeasible budget, an empty selection.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # s: the first run builds the demo grid and the gap analysis


@pytest.fixture(autouse=True)
def _small_demo(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("CARBONPARK_APP_CELL_KM", "40")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.chdir(ROOT)


def _page(name: str) -> AppTest:
    """An AppTest of one page function of the `optimizer.app` package, given Streamlit and
    guarded as in the app (`optimizer.app.main`)."""
    script = (f"import matplotlib\nmatplotlib.use('Agg')\nimport streamlit as st\n"
              f"from optimizer.app.common import guarded\n"
              f"from optimizer.app.{name}_page import {name}_page\nguarded(st, {name}_page)()\n")
    return AppTest.from_string(script, default_timeout=TIMEOUT)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ------------------------------------------------------------------ app.py and Data

def test_app_opens_on_the_data_page() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert not _errors(at)
    assert at.title[0].value == "Data"
    labels = [m.label for m in at.metric]
    assert labels == ["Planning units", "Study area", "Protected today"]
    assert at.metric[0].value == "1,488 units"
    assert at.metric[1].value.endswith("km²")


def test_carbonpark_app_runs_app_py_itself() -> None:
    """`carbonpark app` runs the top-level app.py from a checkout (a wheel ships that file as
    optimizer/app/entry/app.py: tests/test_install.py); it gives `main` the streamlit module."""
    from optimizer.cli.app import APP_SCRIPT

    assert APP_SCRIPT == ROOT / "app.py"
    at = AppTest.from_file(str(APP_SCRIPT), default_timeout=TIMEOUT).run()
    _no_exception(at)
    assert at.title[0].value == "Data" and not _errors(at)


def test_streamlit_has_every_name_the_pages_use() -> None:
    """`optimizer.app.ui.Ui` names the part of Streamlit's API the pages use: the streamlit
    module app.py passes has each of them."""
    import streamlit

    from optimizer.app.ui import Ui

    names = {*Ui.__annotations__, "Page"}
    assert len(names) > 30
    assert [n for n in sorted(names) if not hasattr(streamlit, n)] == []


def test_data_page_maps_every_layer_with_units() -> None:
    at = _page("data").run()
    _no_exception(at)
    layer = at.selectbox(key="data_layer")
    assert "carbon stock: biomass" in layer.options
    for column in ("biomass", "lc_cropland_km2", "co2_2020", "richness"):
        at = layer.set_value(column).run()
        _no_exception(at)
        assert not _errors(at)
        assert at.get("image"), "no map"
        layer = at.selectbox(key="data_layer")
    assert "1,488 planning units" in at.code[0].value


def test_data_page_bad_folder_is_one_message(tmp_path: Path) -> None:
    at = _page("data").run()
    at.radio(key="data_kind").set_value("Grid folder on this computer").run()
    at.text_input(key="grid_path").input(str(tmp_path / "nowhere")).run()
    at = at.button(key="load_folder").click().run()
    _no_exception(at)
    assert any("no such folder" in e for e in _errors(at))
    (tmp_path / "empty").mkdir()
    at.text_input(key="grid_path").input(str(tmp_path / "empty")).run()
    at = at.button(key="load_folder").click().run()
    assert any("not a carbonpark grid" in e for e in _errors(at))
    assert at.metric[0].value == "1,488 units"  # the demo stays in use


def test_unpack_refuses_bad_zips(tmp_path: Path) -> None:
    from optimizer.app.uploads import unpack_grid_zip
    from optimizer.errors import InputDataError

    with pytest.raises(InputDataError, match="not a zip file"):
        unpack_grid_zip(b"not a zip at all", tmp_path / "a", "bad.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.txt", "x")
    with pytest.raises(InputDataError, match="outside its folder"):
        unpack_grid_zip(buf.getvalue(), tmp_path / "b", "evil.zip")
    assert not (tmp_path / "evil.txt").exists()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("grid/units.parquet", b"\0" * (50 * 1024**2))
    with pytest.raises(InputDataError, match="zip bomb"):
        unpack_grid_zip(buf.getvalue(), tmp_path / "c", "bomb.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("grid/readme.txt", "no grid here")
    with pytest.raises(InputDataError, match=r"no units\.parquet"):
        unpack_grid_zip(buf.getvalue(), tmp_path / "d", "empty.zip")


def test_uploaded_grid_zip_loads_and_a_corrupt_one_is_one_message(tmp_path: Path) -> None:
    from optimizer.app.common import _demo_pu
    from optimizer.grid.store import write_grid

    grid = write_grid(_demo_pu(40.0), tmp_path / "grid")
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as zf:
        for f in grid.iterdir():
            zf.write(f, f"grid/{f.name}")
    corrupt = io.BytesIO()
    with zipfile.ZipFile(corrupt, "w") as zf:
        zf.writestr("grid/units.parquet", b"PAR1 this is not parquet")
    script = ("import matplotlib\nmatplotlib.use('Agg')\nimport streamlit as st\n"
              "from optimizer.app.common import show_error\n"
              "from optimizer.app.uploads import unpack_grid_zip\nimport tempfile, pathlib\n"
              "from optimizer.app import common\n"
              "try:\n"
              "    data = st.session_state['upload']\n"
              "    dest = pathlib.Path(tempfile.mkdtemp(dir=st.session_state['tmp']))\n"
              "    folder = unpack_grid_zip(data, dest, 'grid.zip')\n"
              "    src = {'kind': 'folder', 'path': str(folder), 'mtime': common.path_mtime(folder)}\n"
              "    pu = common.load_pu(src)\n"
              "    st.success(f'{len(pu.units):,} units')\n"
              "except Exception as exc:\n"
              "    show_error(st, exc)\n")
    at = AppTest.from_string(script, default_timeout=TIMEOUT)
    # Unpacked under the test's own folder, so the test leaves nothing in the system temp.
    at.session_state["tmp"] = str(tmp_path)
    at.session_state["upload"] = good.getvalue()
    at.run()
    _no_exception(at)
    assert at.success[0].value == "1,488 units"
    at.session_state["upload"] = corrupt.getvalue()
    at.run()
    _no_exception(at)
    assert any("unreadable or incomplete" in e for e in _errors(at))


def test_geographic_grid_is_refused(tmp_path: Path) -> None:
    from optimizer.app.common import check_crs
    from optimizer.errors import CRSError

    class Geo:
        import pyproj

        crs = pyproj.CRS.from_epsg(4326)

    with pytest.raises(CRSError, match="geographic CRS"):
        check_crs(Geo(), "upload.zip")


# ------------------------------------------------------------------ Gaps

def test_gaps_page_shows_findings_maps_and_tables() -> None:
    at = _page("gaps").run()
    _no_exception(at)
    assert not _errors(at)
    assert at.title[0].value == "Gaps of the existing network"
    assert len(at.tabs) == 3
    assert at.dataframe, "no gap tables"
    # Table 1 is a table with readable headers, units once; no monospace dump, no raw names.
    assert not at.code
    table1 = at.dataframe[0].value
    assert list(table1.columns)[:4] == ["layer", "zone", "area (km²)", "total (MgC)"]
    for frame in at.dataframe:
        heads = [str(c) for c in frame.value.columns]
        assert not [h for h in heads if "_" in h], heads


# ------------------------------------------------------------------ Export of a solve folder

def test_export_page_bad_solve_folder_is_one_message(tmp_path: Path) -> None:
    at = _page("export").run()
    _no_exception(at)
    assert any("no plan yet" in e for e in _errors(at))
    at.radio(key="exp_what").set_value("A solve folder (`carbonpark solve`)").run()
    at = at.text_input(key="exp_folder").input(str(tmp_path)).run()
    _no_exception(at)
    assert any("not a `carbonpark solve` folder" in e for e in _errors(at))


def test_frontier_page_bad_folder_is_one_message(tmp_path: Path) -> None:
    at = _page("frontier").run()
    _no_exception(at)
    assert any("no plan yet" in e for e in _errors(at))
    at.radio(key="fr_how").set_value("Load a frontier or sweep folder").run()
    at = at.text_input(key="fr_path").input(str(tmp_path)).run()
    _no_exception(at)
    assert any("no sweep results" in e for e in _errors(at))


def test_environment_variable_sets_the_demo_cell() -> None:
    from optimizer.app.common import demo_cell_km

    assert demo_cell_km() == 40.0
    os.environ["CARBONPARK_APP_CELL_KM"] = "nonsense"
    assert demo_cell_km() == 10.0


# ------------------------------------------------------------------ Plan, Compare, Frontier, Export

def _solved(at: AppTest, budget_pct: float = 10.0) -> AppTest:
    at.slider(key="budget_pct").set_value(budget_pct)
    run = next(b for b in at.button if b.label == "Run the plan")
    return run.click().run()


def test_plan_page_solves_and_moves_with_the_budget() -> None:
    at = _page("plan").run()
    _no_exception(at)
    assert not _errors(at)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["new protected area (km²)",
                          "of which completes existing protected units (km²)",
                          "carbon stock added (MgC)"]
    first = at.metric[0].value
    assert first.replace(",", "").isdigit()
    at = _solved(at, 20.0)
    _no_exception(at)
    assert at.metric[0].value != first
    assert at.metric[0].delta == "20.00% of the land"
    # Tables: readable headers, units once; no raw column names.
    for frame in at.dataframe:
        heads = [str(c) for c in frame.value.columns]
        assert not [h for h in heads if "_" in h], heads
    # The map: one cell per unit, no basemap, in the grid's own coordinates.
    import json

    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    units = next(la for la in deck["layers"] if la["id"] == "units")
    assert len(units["data"]) == 1488 and units["pickable"]
    assert any(la["@@type"] == "BitmapLayer" for la in deck["layers"])  # the colours
    assert deck["views"][0]["@@type"] == "OrthographicView" and not deck.get("mapStyle")
    assert any(c.value.startswith(("nested path", "cut solve")) for c in at.caption)
    # The ecosystem table says which classes the shortfall closed counts, with its definition
    # (the headline card counts the natural classes only; issue 21 §3).
    eco = next(f.value for f in at.dataframe if "ecosystem" in f.value.columns)
    names = set(eco["ecosystem"])
    assert "forest" in names and {"cropland (not counted)", "urban (not counted)"} <= names
    assert any(c.value.startswith("Ecosystem shortfall = for each counted") for c in at.caption)
    toml = at.get("download_button")
    assert toml
    at.text_input(key="save_name").input("twenty").run()
    at = at.button(key="save_plan").click().run()
    assert "twenty" in at.session_state["saved_plans"]


def test_plan_page_infeasible_budget_shows_the_diagnosis() -> None:
    at = _page("plan").run()
    at = _solved(at, 1.0)
    _no_exception(at)
    assert any("locked-in area" in e and "exceeds the budget" in e for e in _errors(at))


def test_saved_scenario_reproduces_the_plan(tmp_path: Path) -> None:
    import numpy as np

    from optimizer.app.common import _demo_pu
    from optimizer.datasets import demo_manifest
    from optimizer.scenario import Scenario, solve_scenario
    from optimizer.studies.interactive import PlanSession, PlanSettings

    pu = _demo_pu(40.0)
    session = PlanSession(pu, grid={"manifest": str(demo_manifest()), "cell_km": 40.0})
    s = PlanSettings(budget_share=0.12, biodiversity=2.0, compactness=0.3)
    r = session.solve(s)
    path = tmp_path / "plan.toml"
    path.write_text(session.scenario(s, name="plan").dumps(), encoding="utf-8")
    sol = solve_scenario(Scenario.load(path), pu)
    assert np.array_equal(np.asarray(sol.x) > 0.5, r.x > 0.5)


def _plans_saved(at: AppTest) -> AppTest:
    at = _solved(_page("plan").run(), 10.0)
    at.text_input(key="save_name").input("ten").run()
    at = at.button(key="save_plan").click().run()
    at.session_state["settings"] = None
    at = _solved(at, 25.0)
    at.text_input(key="save_name").input("twentyfive").run()
    return at.button(key="save_plan").click().run()


def test_compare_page_side_by_side_and_empty_selection() -> None:
    at = _page("compare").run()
    _no_exception(at)
    assert any("Save two or more plans" in i.value for i in at.info)
    plan = _plans_saved(at)
    cmp_ = _page("compare")
    cmp_.session_state["saved_plans"] = plan.session_state["saved_plans"]
    cmp_.run()
    _no_exception(cmp_)
    assert not _errors(cmp_)
    assert len(cmp_.dataframe) == 3  # side by side, gap closure, A vs B
    diff = cmp_.dataframe[2].value
    assert list(diff["where"]) == ["only in A", "only in B", "in both"]
    assert diff.loc[1, "units"] > 0  # 25 % protects units 10 % does not
    assert cmp_.get("image")
    cmp_ = cmp_.multiselect(key="cmp_names").set_value(["ten"]).run()
    assert any("choose two or more plans" in e for e in _errors(cmp_))


def test_frontier_page_computes_and_opens_a_point() -> None:
    plan = _solved(_page("plan").run(), 10.0)
    at = _page("frontier")
    at.session_state["result"] = plan.session_state["result"]
    at.run()
    at.slider(key="fr_points").set_value(3).run()
    at = at.button(key="fr_run").click().run()
    _no_exception(at)
    assert not _errors(at)
    assert len(at.dataframe[0].value) >= 2
    at = at.selectbox(key="fr_point").set_value(1).run()
    _no_exception(at)
    assert at.get("image")


def test_export_page_downloads_the_current_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    from optimizer.outputs.writers import WRITERS, Writer

    plan = _solved(_page("plan").run(), 10.0)
    at = _page("export")
    at.session_state["result"] = plan.session_state["result"]
    at.run()
    _no_exception(at)
    assert not _errors(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert [lab.split(" (")[0] for lab in labels] == ["Shapefile", "GeoPackage", "GeoParquet",
                                                      "HTML report", "Scenario app_plan.toml",
                                                      "export.json", "Everything"]
    assert at.multiselect(key="exp_formats").options == ["Shapefile (zip) (shp)", "GeoPackage (gpkg)",
                                                        "GeoParquet (parquet)", "GeoJSON (geojson)",
                                                        "GeoTIFF (tif)"]

    # A format registered once in `WRITERS` is offered, written and downloadable.
    def write_txt(job, folder):
        (folder / "parks.txt").write_text(f"{len(job.table)} parks\n")
        return ["parks.txt"]

    monkeypatch.setitem(WRITERS, "txt", Writer("txt", "Text", ("parks.txt",), "the number of parks",
                                               write_txt, "text/plain"))
    at.run()
    assert at.multiselect(key="exp_formats").options[-1] == "Text (txt)"
    at = at.multiselect(key="exp_formats").set_value(["txt"]).run()
    _no_exception(at)
    assert not _errors(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert [lab.split(" (")[0] for lab in labels][:2] == ["Text", "HTML report"]
    assert at.session_state["export_files"][1]["txt"].decode().endswith(" parks\n")


# ------------------------------------------------------------------ issue 21: export any saved plan, portable scenarios

def test_export_page_exports_a_saved_plan_by_its_name_with_its_settings(tmp_path: Path) -> None:
    """Save a compact plan as plan_compact, run another plan: Export still offers
    plan_compact, and exports it under that name with its settings (export.json's source,
    its scenario file) whose `carbonpark solve` gives the same units."""
    import json

    import pandas as pd
    import pyogrio

    from optimizer.cli import main

    at = _page("plan").run()
    at.slider(key="plan_compactness").set_value(0.5)
    at = _solved(at, 12.0)
    _no_exception(at)
    compact = at.session_state["result"]
    at.text_input(key="save_name").input("plan_compact").run()
    at = at.button(key="save_plan").click().run()
    at.slider(key="plan_compactness").set_value(0.0)
    at = _solved(at, 20.0)
    assert at.session_state["result"] is not compact

    exp = _page("export")
    exp.session_state["result"] = at.session_state["result"]
    exp.session_state["saved_plans"] = at.session_state["saved_plans"]
    exp.run()
    _no_exception(exp)
    plan = exp.selectbox(key="exp_plan")
    assert plan.options == ["plan_compact", "the current plan (not saved)"]
    assert plan.value == "the current plan (not saved)"
    exp = plan.set_value("plan_compact").run()
    _no_exception(exp)
    assert not _errors(exp)
    labels = [b.proto.label for b in exp.get("download_button")]
    assert "Scenario plan_compact.toml (its settings)" in labels
    files = exp.session_state["export_files"][1]
    meta = json.loads(files["export.json"])
    assert "plan 'plan_compact'" in meta["source"]
    assert "budget 12.0 % of the land" in meta["source"] and "compactness 0.50" in meta["source"]
    assert any("plan_compact" in c.value and "compactness 0.50" in c.value for c in exp.caption)
    # The parks exported are plan_compact's, not the current plan's.
    gpkg = tmp_path / "parks.gpkg"
    gpkg.write_bytes(files["gpkg"])
    parks = pyogrio.read_dataframe(gpkg)
    # The parks hold the plan's new area: the unprotected part of every unit it selects
    # (added units and the locked-in units' remainders), summary.json's new_km2.
    new = compact.problem.unprotected_km2[compact.x > 0.5].sum()
    assert parks["area_km2"].sum() == pytest.approx(new, rel=1e-9)
    assert new == pytest.approx(compact.summary["new_km2"], rel=1e-9)
    # Its scenario, moved to a folder of its own, solves to the same units.
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "plan_compact.toml").write_bytes(files["plan_compact.toml"])
    assert main(["solve", str(folder / "plan_compact.toml"), "--out", str(tmp_path / "out")]) == 0
    solved = pd.read_parquet(tmp_path / "out" / "solution.parquet")
    assert (solved["status"].to_numpy() == "added").sum() == (compact.status == "added").sum()
    assert sorted(p.name for p in folder.iterdir()) == ["plan_compact.toml"]  # no cache beside it


def test_downloaded_scenario_runs_from_any_folder_and_writes_no_cache_beside_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The Plan page's scenario download names its grid by content hash in the user's cache:
    moved to another folder it checks and solves to the app's plan, and nothing is written
    beside it; with the cache gone, the error is one line naming the grid."""
    import json

    from tests.helpers import assert_one_line_error, run_cli

    at = _solved(_page("plan").run(), 10.0)
    _no_exception(at)
    result = at.session_state["result"]
    script = ("import matplotlib\nmatplotlib.use('Agg')\nimport streamlit as st\n"
              "from optimizer.app import common\n"
              "st.code(common.scenario_toml(st, st.session_state['result'].settings, 'my_plan'))\n")
    dl = AppTest.from_string(script, default_timeout=TIMEOUT)
    dl.session_state["result"] = result
    dl.run()
    _no_exception(dl)
    text = dl.code[0].value
    grid = text.split("\n[grid]\n")[1].split("\n[")[0]
    assert grid.startswith("path = ") and "manifest" not in grid
    assert str(ROOT) not in text  # no path of the checkout the app runs from
    moved = tmp_path / "somewhere" / "else"
    moved.mkdir(parents=True)
    (moved / "my_plan.toml").write_text(text, encoding="utf-8")
    code, _, err = run_cli(["scenario", "check", str(moved / "my_plan.toml")], capsys)
    assert code == 0, err
    code, _, err = run_cli(["solve", str(moved / "my_plan.toml"), "--out",
                              str(tmp_path / "solved")], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "solved" / "summary.json").read_text())
    assert summary["new_km2"] == pytest.approx(result.summary["new_km2"], rel=1e-9)
    assert sorted(p.name for p in moved.iterdir()) == ["my_plan.toml"]
    # On a computer without that grid: one line naming it.
    other = tmp_path / "other-cache"
    os.environ["XDG_CACHE_HOME"] = str(other)
    grid_line = next(line for line in text.splitlines() if line.startswith("path = "))
    (moved / "my_plan.toml").write_text(text.replace(grid_line.split('"')[1],
                                                     str(other / "grid-0000")), encoding="utf-8")
    code, _, err = run_cli(["scenario", "check", str(moved / "my_plan.toml")], capsys)
    assert_one_line_error(code, err, contains="grid-0000")


def test_plan_controls_start_from_the_balanced_scenario_with_its_cropland_red_line() -> None:
    """One default: the Plan page's controls start at scenarios/balanced.toml's settings
    (10% of the land; carbon = 1 is stock and uptake 0.5 each; biodiversity 1; the existing
    network kept; the cropland red line on, in the file and in the app)."""
    import tomllib

    data = tomllib.loads((ROOT / "scenarios" / "balanced.toml").read_text())
    assert {"land_cover": "cropland", "unit_share": 0.5} in data["locks"]["land_cover_out"]
    at = _page("plan").run()
    _no_exception(at)
    state = at.session_state
    assert state["budget_pct"] == 100 * data["budget"]["share"] == 10.0
    assert state["plan_carbon_stock"] == state["plan_carbon_uptake"] == data["weights"]["carbon"] / 2
    assert state["plan_biodiversity"] == data["weights"]["biodiversity"]
    assert state["plan_cropland_out"] is True and state["plan_urban_out"] is False
    assert state["plan_lock_existing"] is True
    assert at.checkbox(key="plan_cropland_out").value is True
    # The plan solved at the start keeps every mostly-cropland unit out.
    result = state["result"]
    units = result.problem.pu.units
    cropland = (units["lc_cropland_km2"] / units["area_km2"]).to_numpy() > 0.5
    assert cropland.sum() > 0 and not (cropland & (result.status == "added")).any()


def test_downloaded_scenario_of_an_uploaded_grid_outlives_the_upload(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A grid uploaded as a zip is unpacked in a temporary folder: the scenario downloaded
    from it names the grid by content hash in the user's cache, so it still checks once the
    temporary folder is gone."""
    import shutil

    from optimizer.app.common import _demo_pu, path_mtime
    from optimizer.grid.store import write_grid
    from tests.helpers import run_cli

    upload = write_grid(_demo_pu(40.0), tmp_path / "carbonpark-upload-x" / "grid")
    src = {"kind": "folder", "path": str(upload), "mtime": path_mtime(upload), "upload": True}
    script = ("import streamlit as st\nfrom optimizer.app import common\n"
              "from optimizer.studies.interactive import PlanSettings\n"
              "st.code(common.scenario_toml(st, PlanSettings(budget_share=0.1), 'up'))\n")
    at = AppTest.from_string(script, default_timeout=TIMEOUT)
    at.session_state["grid_source"] = src
    at.run()
    _no_exception(at)
    text = at.code[0].value
    assert "a grid uploaded to the app as a zip" in text and str(upload) not in text
    shutil.rmtree(tmp_path / "carbonpark-upload-x")
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "up.toml").write_text(text, encoding="utf-8")
    code, out, err = run_cli(["scenario", "check", str(tmp_path / "moved" / "up.toml")], capsys)
    assert code == 0, err
    assert "1,488" in out
