"""``carbonpark export``: every format read back with pyogrio/rasterio AND GDAL's own tools.

One real solve of the demo country (40 km, nbs_balanced: boundary penalty, cut solver,
cropland locked out, targets) is exported once per module; every check recomputes what
it compares from the solve folder and the grid, not from the export.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import rasterio
import shapely
from helpers import EXPORT_READERS, gdal

from optimizer.cli import main
from optimizer.errors import InputDataError, OutputError
from optimizer.outputs.export import export_plan, export_solution
from optimizer.outputs.gis import SHAPEFILE_FIELDS, STATUS_CODES, shapefile_field_map
from optimizer.outputs.solve_folder import read_solution
from optimizer.outputs.writers import WRITERS, Writer, parse_formats

ROOT = Path(__file__).resolve().parents[2]
SHP_PARTS = {"parks.shp", "parks.shx", "parks.dbf", "parks.prj", "parks.cpg"}


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    """A real `carbonpark solve` folder of the demo country at 40 km."""
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "scenarios", root / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (root / "data").symlink_to(ROOT / "data")
    out = root / "solve"
    assert main(["solve", str(root / "scenarios" / "nbs_balanced.toml"), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def loaded(solved):
    return read_solution(solved)


@pytest.fixture(scope="module")
def exported(solved, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "all"
    return export_solution(solved, out)


def added_mask(loaded) -> np.ndarray:
    """Units the plan adds (selected, not locked in): the parks' units at min_km2 = 0."""
    return (loaded.x > 0) & (loaded.status == "added")


def test_every_format_is_written_with_its_manifest(exported):
    files = {p.name for p in exported.path.iterdir()}
    assert files == {"parks_shp.zip", "parks_fields.csv", "parks.gpkg", "parks.parquet",
                     "parks.geojson", "selection.tif", "selection.tif.aux.xml",
                     "plan_amounts.tif", "priority_rank.tif", "export.json",
                     "carbonpark-output.json"}
    manifest = json.loads((exported.path / "export.json").read_text())
    assert manifest["formats"] == list(WRITERS) and manifest["parks"] == len(exported.parks.table)
    assert any("computed without the scenario's 3 target(s)" in n for n in manifest["notes"])


def park_units(loaded, geom) -> np.ndarray:
    """Added units whose interior point lies in ``geom`` (found from the geometry alone)."""
    pts = shapely.point_on_surface(loaded.pu.units.geometry.to_numpy())
    return added_mask(loaded) & shapely.contains(geom, pts)


def test_parks_cover_exactly_the_added_units(exported, loaded):
    area = loaded.pu.units["area_km2"].to_numpy()
    new = loaded.problem.unprotected_km2  # area_km2 of a park: its new (unprotected) area
    table = exported.parks.table
    assert np.array_equal(exported.parks.unit_park > 0, added_mask(loaded))
    assert table["area_km2"].sum() == pytest.approx(new[added_mask(loaded)].sum(), rel=1e-6)
    assert table.geometry.area.sum() / 1e6 == pytest.approx(area[added_mask(loaded)].sum(),
                                                             rel=1e-6)


def test_shapefile_zip_reads_back_in_pyogrio_and_ogrinfo(exported, loaded):
    z = exported.path / "parks_shp.zip"
    with zipfile.ZipFile(z) as zf:
        assert set(zf.namelist()) == SHP_PARTS | {"parks_fields.csv"}
        assert zf.read("parks.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        assert zf.read("parks_fields.csv") == (exported.path / "parks_fields.csv").read_bytes()
    table = exported.parks.table
    every = pyogrio.read_dataframe(f"/vsizip/{z}/parks.shp")
    shp = every[every["kind"] == "park"]
    assert len(shp) == len(table) > 0
    assert pyproj.CRS(shp.crs).equals(loaded.pu.crs, ignore_axis_order=True)
    units = loaded.pu.units
    area = units["area_km2"].to_numpy()[added_mask(loaded)].sum()
    assert shp.geometry.area.sum() / 1e6 == pytest.approx(area, rel=1e-6)
    new = loaded.problem.unprotected_km2
    assert shp["area_km2"].sum() == pytest.approx(new[added_mask(loaded)].sum(), rel=1e-6)
    # Attribute values of park 1, recomputed from the grid over the units its polygon holds.
    p1 = shp[shp["park_id"] == 1].iloc[0]
    inside = park_units(loaded, p1.geometry)
    feats = loaded.pu.features
    stock = list(feats.index[feats["role"] == "carbon_stock"])
    free = 1 - units["pa_fraction"].to_numpy()
    carbon = float((units[stock].to_numpy().sum(axis=1) * free)[inside].sum())
    assert p1["c_stk_MgC"] == pytest.approx(carbon, rel=1e-9)
    assert p1["c_stk_tCO2"] == pytest.approx(carbon * 44.0095 / 12.0107, rel=1e-9)
    assert p1["n_units"] == inside.sum() and p1["area_km2"] == pytest.approx(new[inside].sum())
    info = gdal("ogrinfo", "-ro", "-so", "-al", f"/vsizip/{z}")
    assert f"Feature Count: {len(every)}" in info
    assert 'METHOD["Albers Equal Area"' in info
    features = exported.features.table
    for short in shapefile_field_map([c for c in features.columns if c != "geometry"]).values():
        assert f"\n{short}: " in info


def test_field_map_and_data_dictionary_agree(exported):
    from optimizer.plan.parks import PARK_COLUMNS

    d = pd.read_csv(exported.path / "parks_fields.csv", keep_default_na=False)
    z = exported.path / "parks_shp.zip"
    fields = [c for c in pyogrio.read_info(f"/vsizip/{z}/parks.shp")["fields"]]
    assert list(d["short_name"]) == fields
    # Whatever columns the parks table holds, plus the export's kind; value per 10,000 km².
    parks_columns = [c for c in exported.parks.table.columns if c != "geometry"]
    columns = [c for c in exported.features.table.columns if c != "geometry"]
    assert columns[:2] == ["park_id", "kind"]
    assert set(columns) - {"kind"} == set(parks_columns) - {"value_per_km2"} | {
        "value_per_10000km2"}
    assert list(d["full_name"]) == columns
    assert all(len(s) <= 10 for s in fields) and len({s.lower() for s in fields}) == len(fields)
    own = {"kind", "park_id", "rank", "biodiversity_value", "value_per_10000km2"}
    for row in d.itertuples():
        assert row.meaning, row.full_name  # every field is described
        if row.full_name not in own:
            assert (row.unit, row.meaning) == tuple(PARK_COLUMNS[row.full_name])
        assert SHAPEFILE_FIELDS.get(row.full_name, row.short_name) == row.short_name
    units = dict(zip(d["full_name"], d["unit"], strict=True))
    assert units["biodiversity_value"] == "% summed over species"
    assert units["value_per_10000km2"] == "% per 10,000 km²"


def test_field_map_makes_unknown_long_names_unique():
    cols = ["species_richness_a", "park_id", "species_richness_b", "SPECIES_R01", "short"]
    assert shapefile_field_map(cols) == {  # unique ignoring case, as DBF compares them
        "park_id": "park_id", "species_richness_a": "species_01",
        "species_richness_b": "species_02", "SPECIES_R01": "SPECIES_03", "short": "short"}


def test_geopackage_layers_and_qgis_style(exported, loaded):
    from optimizer.figures.plots import TYPE_COLOURS
    from optimizer.gap.ranking import TYPES

    g = exported.path / "parks.gpkg"
    layers = dict(pyogrio.list_layers(g))
    assert list(layers) == ["parks", "added_units", "existing_network", "study_area",
                            "layer_styles"]
    every = pyogrio.read_dataframe(g, layer="parks")
    assert list(every.columns) == list(exported.features.table.columns)
    parks = every[every["kind"] == "park"]
    assert len(parks) == len(exported.parks.table)
    units = loaded.pu.units
    added = pyogrio.read_dataframe(g, layer="added_units")
    in_parks = added[added["kind"] == "park"]
    assert sorted(in_parks["pu_id"]) == sorted(units["pu_id"][added_mask(loaded)])
    assert in_parks["area_km2"].sum() == pytest.approx(parks.geometry.area.sum() / 1e6, rel=1e-6)
    assert np.all(in_parks["priority_rank"] > 0)
    # The completing features hold the existing units whose remainder the plan adds.
    completing = (loaded.status == "existing") & (loaded.problem.unprotected_km2 > 0)
    assert sorted(added.loc[added["kind"] == "completes existing", "pu_id"]) == sorted(
        units["pu_id"][completing])
    study = pyogrio.read_dataframe(g, layer="study_area")
    assert study.geometry.area.sum() / 1e6 == pytest.approx(units["area_km2"].sum(), rel=1e-6)
    net = pyogrio.read_dataframe(g, layer="existing_network")
    assert len(net) > 0 and pyproj.CRS(net.crs).equals(loaded.pu.crs, ignore_axis_order=True)
    pas = loaded.pu.protected_areas
    assert pas is not None and len(net) == len(pas)  # the grid's own protected areas
    assert net.geometry.area.sum() == pytest.approx(pas.geometry.area.sum(), rel=1e-9)
    info = gdal("ogrinfo", "-ro", "-so", str(g), "parks")
    assert f"Feature Count: {len(every)}" in info and "Geometry Column = geom" in info
    styles = pyogrio.read_dataframe(g, layer="layer_styles")
    row = styles[styles["f_table_name"] == "parks"].iloc[0]
    assert row["f_geometry_column"] == "geom" and bool(row["useAsDefault"])
    qml = ET.fromstring(row["styleQML"].split("\n", 1)[1])
    renderer = qml.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == """CASE WHEN "kind" = 'park' THEN "typology" ELSE "kind" END"""
    cats = [c.get("value") for c in renderer.iter("category")]
    assert cats == [*TYPES, "completes existing", "locked in"]
    fills = [o.get("value") for o in renderer.iter("Option") if o.get("name") == "color"]
    want = [",".join(str(int(TYPE_COLOURS[t][k:k + 2], 16)) for k in (1, 3, 5)) + ",255"
            for t in TYPES]
    assert fills[:len(TYPES)] == want
    ET.fromstring(row["styleSLD"])  # well-formed
    sql = gdal("ogrinfo", "-ro", "-q", str(g), "-sql",
               "SELECT f_table_name, useAsDefault FROM layer_styles WHERE f_table_name='parks'")
    assert "f_table_name (String) = parks" in sql


def test_geoparquet_is_1_1_with_bbox_covering(exported, loaded):
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = exported.path / "parks.parquet"
    schema = pq.read_schema(path)
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    col = geo["columns"][geo["primary_column"]]
    assert col["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert "bbox" in schema.names
    back = gpd.read_parquet(path)
    assert len(back) == len(exported.features.table)
    assert (back["kind"] == "park").sum() == len(exported.parks.table)
    assert pyproj.CRS(back.crs).equals(loaded.pu.crs, ignore_axis_order=True)
    bbox = pq.read_table(path, columns=["bbox"]).column("bbox").to_pylist()[0]
    assert bbox["xmin"] == pytest.approx(back.geometry.iloc[0].bounds[0])


def test_geojson_is_rfc7946(exported):
    path = exported.path / "parks.geojson"
    doc = json.loads(path.read_text())
    assert "crs" not in doc  # RFC 7946: WGS 84 lon/lat implied
    parks = pyogrio.read_dataframe(path)
    assert pyproj.CRS(parks.crs).to_epsg() == 4326 and len(parks) == len(exported.features.table)
    xy = shapely.get_coordinates(parks.geometry.to_numpy())
    assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
    # The demo country lies at 20-45 N, 90-115 E: lon first, not lat.
    assert xy[:, 0].min() > 90 and xy[:, 0].max() < 115 and xy[:, 1].min() > 20
    rings = shapely.get_exterior_ring(shapely.get_parts(parks.geometry.to_numpy()))
    assert shapely.is_ccw(rings).all()  # right-hand rule: exteriors counter-clockwise
    expected = exported.features.table.to_crs(4326).total_bounds
    assert np.allclose(parks.total_bounds, expected, atol=1e-6)
    info = gdal("ogrinfo", "-ro", "-so", "-al", str(path))
    assert f"Feature Count: {len(parks)}" in info and 'ID["EPSG",4326]' in info


def test_selection_tif_codes_each_unit(exported, loaded):
    sq = loaded.pu.meta["square_grid"]
    path = exported.path / "selection.tif"
    info = json.loads(gdal("gdalinfo", "-json", str(path)))
    assert info["size"] == [sq["ncols"], sq["nrows"]]
    assert info["geoTransform"] == [sq["x0"], sq["cell_m"], 0.0, sq["y0"], 0.0, -sq["cell_m"]]
    band = info["bands"][0]
    assert band["type"] == "Byte" and band["noDataValue"] == 0 and "colorTable" in band
    assert 'Albers' in info["coordinateSystem"]["wkt"]
    text = gdal("gdalinfo", str(path))
    assert "Categories:" in text and "2: added" in text
    with rasterio.open(path) as src:
        data = src.read(1)
    rows, cols = loaded.pu.units["row"].to_numpy(), loaded.pu.units["col"].to_numpy()
    codes = data[rows, cols]
    for name, (code, _) in STATUS_CODES.items():
        assert np.array_equal(codes == code, loaded.status == name), name
    assert (data > 0).sum() == len(loaded.pu.units)


def test_priority_rank_tif(exported, loaded):
    path = exported.path / "priority_rank.tif"
    info = json.loads(gdal("gdalinfo", "-json", str(path)))
    assert [b["type"] for b in info["bands"]] == ["Float32", "Float32"]
    assert "nested" in info["metadata"][""]["meaning"]
    with rasterio.open(path) as src:
        rank, entry = src.read()
    units = loaded.pu.units
    r = rank[units["row"], units["col"]]
    e = entry[units["row"], units["col"]]
    ok = np.isfinite(r)
    assert sorted(r[ok].astype(int)) == list(range(1, ok.sum() + 1))  # 1..n, each once
    order = np.argsort(r[ok])
    assert (np.diff(e[ok][order]) >= 0).all()  # entry budgets grow with the rank
    locked_in, _ = loaded.problem.locked_masks()
    assert not ok[locked_in].any()
    first = np.flatnonzero(ok)[order[0]]
    new = loaded.problem.unprotected_km2
    assert e[first] == pytest.approx(new[locked_in].sum() + new[first], rel=1e-6)


def test_priority_rank_without_penalty_is_value_per_km2(loaded):
    from optimizer import problem
    from optimizer.plan.priority_rank import priority_rank

    p = problem(loaded.pu).add_max_utility_objective(budget_share=0.1,
                                                     weights={"carbon": 1, "biodiversity": 1})
    pr, note = priority_rank(p)
    assert "computed without" not in note
    ratio = p.unit_values() / np.where(p.unprotected_km2 > 0, p.unprotected_km2, np.nan)
    free = (pr.rank > 0) & (ratio > 0)
    by_rank = np.flatnonzero(free)[np.argsort(pr.rank[free])]
    assert (np.diff(ratio[by_rank]) <= 1e-12).all()  # the rank orders by value per km2


def test_min_set_has_no_rank(loaded):
    from optimizer import problem
    from optimizer.plan.priority_rank import priority_rank

    pr, why = priority_rank(problem(loaded.pu).add_relative_targets(0.1).add_min_set_objective())
    assert pr is None and why == ("no priority rank: the nested path ranks max-utility problems, "
                                  "this one's objective is min_set")


def test_a_failed_export_leaves_the_earlier_one_intact(solved, tmp_path, monkeypatch):
    import optimizer.outputs.gis as gis

    out = tmp_path / "exp"
    export_solution(solved, out, formats=["shp", "gpkg", "geojson"])
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(gis, "write_geojson", boom)  # after the shapefile and the gpkg
    with pytest.raises(RuntimeError, match="disk gone"):
        export_solution(solved, out, formats=["shp", "gpkg", "geojson"])
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["exp"]  # no temporary folder left


def test_a_users_folder_and_the_inputs_are_never_replaced(solved, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match=r"mine: the folder is not empty and holds no carbonpark "
                                          r"export output; choose an empty or new folder"):
        export_solution(solved, user, formats=["geojson"])
    assert (user / "notes.txt").read_text() == "keep"
    with pytest.raises(OutputError, match="is an input of this command"):
        export_solution(solved, solved, formats=["geojson"], overwrite=True)
    with pytest.raises(OutputError, match="lies inside the input"):
        export_solution(solved, solved / "exports", formats=["geojson"], overwrite=True)


def test_non_square_units_skip_the_tifs_with_a_note(tmp_path):
    from optimizer import problem, solve
    from optimizer.datasets import tiny_grid

    pu = tiny_grid()
    pu.meta["square_grid"] = None
    p = problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    res = export_plan(p, solve(p).x, tmp_path / "o", formats=["tif"])
    assert res.files == ["export.json"]
    assert res.notes == ["tif: skipped, the planning units are not a square grid"]


def test_parse_formats():
    assert parse_formats("all") == tuple(WRITERS) and parse_formats("tif, shp") == ("shp", "tif")
    with pytest.raises(InputDataError, match=r"--format: unknown format 'gpgk'; did you mean "
                                             r"'gpkg'\?; choose from shp, gpkg"):
        parse_formats("shp,gpgk")


def test_cli_export(solved, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["export", str(solved), "--out", str(out), "--format", "geojson,shp",
                 "--min-km2", "5000"])
    text = capsys.readouterr().out
    assert code == 0 and "candidate parks" in text and "under 5000 km²" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "carbonpark-output.json", "export.json", "parks.geojson", "parks_fields.csv",
        "parks_shp.zip"]
    parks = pyogrio.read_dataframe(out / "parks.geojson")
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["min_km2"] == 5000 and manifest["dropped_parks"] > 0
    kept = parks[parks["kind"] == "park"]
    assert len(kept) > 0 and (kept["area_km2"] >= 5000).all()
    # What the export holds against the plan solved, in words: the dropped parks are named.
    summary = json.loads((solved / "summary.json").read_text())
    dropped = manifest["reconciliation"]["plan"]["dropped_new_km2"]
    assert dropped > 0 and manifest["reconciliation"]["new_km2"]["total"] == pytest.approx(
        summary["new_km2"] - dropped, rel=1e-12)
    assert f"the plan solved adds {summary['new_km2']:,.2f} km²: parks under min_km2" in text
    code = main(["export", str(solved), "--out", str(tmp_path / "x"), "--format", "kml"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unknown format 'kml'" in err


def test_a_writer_registered_once_is_everywhere(solved, tmp_path, monkeypatch, capsys):
    """One `WRITERS` entry: `carbonpark export` lists and accepts it, `export_plan` calls it."""
    from optimizer.cli import build_parser

    calls = []

    def write_csv(job, folder):
        calls.append(job.formats)
        job.table.drop(columns=job.table.geometry.name).to_csv(folder / "parks.csv", index=False)
        return ["parks.csv"]

    monkeypatch.setitem(WRITERS, "csv", Writer("csv", "CSV table", ("parks.csv",),
                                               "the parks' table without geometry", write_csv,
                                               "text/csv"))
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    help_text = sub.choices["export"].format_help()
    assert "csv" in help_text and "the parks' table without geometry" in help_text
    assert "any of: shp, gpkg, parquet, geojson, tif, csv" in " ".join(help_text.split())
    assert parse_formats("csv,shp") == ("shp", "csv")
    out = tmp_path / "csv"
    assert main(["export", str(solved), "--out", str(out), "--format", "csv"]) == 0
    assert calls == [("csv",)] and "wrote parks.csv, export.json" in capsys.readouterr().out
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["formats"] == ["csv"] and len(pd.read_csv(out / "parks.csv")) == manifest["parks"]


# ---------------------------------------------------------------- every format adds up (issue 21)

def test_every_format_sums_back_to_the_plan(solved, exported, loaded):
    """Summing any format's features gives summary.json's new km² and carbon stock added: the
    parks and the remainders of the existing protected units the plan completes."""
    summary = json.loads((solved / "summary.json").read_text())
    new_km2 = summary["new_km2"]
    carbon = summary["added"]["carbon_stock_total"]["amount"]
    assert summary["new_km2_in_existing_units"] > 0  # the demo's plan completes existing units
    missing = set(WRITERS) - set(EXPORT_READERS)
    assert not missing, f"add a reader of {missing} to tests/helpers.EXPORT_READERS: every format must sum back"
    for name in WRITERS:
        for area, mgc in EXPORT_READERS[name](exported.path):
            # ogrinfo prints 15 significant digits; the others read the stored doubles.
            assert area == pytest.approx(new_km2, rel=1e-12), name
            assert mgc == pytest.approx(carbon, rel=1e-12), name
    manifest = json.loads((exported.path / "export.json").read_text())
    rec = manifest["reconciliation"]
    assert rec["new_km2"]["total"] == pytest.approx(new_km2, rel=1e-12)
    assert rec["new_km2"]["completes existing"] == pytest.approx(
        summary["new_km2_in_existing_units"], rel=1e-12)
    assert rec["carbon_stock_MgC"]["total"] == pytest.approx(carbon, rel=1e-12)
    assert rec["new_km2"]["park"] == pytest.approx(exported.parks.table["area_km2"].sum())
    assert rec["text"][0].startswith("parks ") and "completing existing protected units" in (
        rec["text"][0]) and rec["text"][0].endswith("km², the plan's new protected area (new_km2)")


def test_the_plan_raster_sums_back_to_the_plan(solved, exported, loaded):
    """selection.tif's plan cells (added and existing) hold the plan's new km², and
    plan_amounts.tif's area band is 0 outside them."""
    summary = json.loads((solved / "summary.json").read_text())
    units = loaded.pu.units
    rows, cols = units["row"].to_numpy(), units["col"].to_numpy()
    with rasterio.open(exported.path / "selection.tif") as src:
        codes = src.read(1)[rows, cols]
    in_plan = np.isin(codes, [STATUS_CODES["added"][0], STATUS_CODES["existing"][0]])
    free_km2 = units["area_km2"].to_numpy() * (1 - units["pa_fraction"].to_numpy())
    assert free_km2[in_plan].sum() == pytest.approx(summary["new_km2"], rel=1e-12)
    with rasterio.open(exported.path / "plan_amounts.tif") as src:
        new = src.read(1)[rows, cols]
    assert np.all(new[~in_plan] == 0) and np.allclose(new[in_plan], free_km2[in_plan])
    info = json.loads(gdal("gdalinfo", "-json", str(exported.path / "plan_amounts.tif")))
    assert [b["description"] for b in info["bands"]] == [
        "new protected area the plan adds in the cell (km2)",
        "carbon stock the plan adds in the cell (MgC)"]


def test_the_export_command_states_the_reconciliation(solved, tmp_path, capsys):
    out = tmp_path / "said"
    assert main(["export", str(solved), "--out", str(out), "--format", "geojson"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((solved / "summary.json").read_text())
    line = next(x for x in text.splitlines() if x.strip().startswith("parks ") and "km²" in x)
    numbers = [float(v.replace(",", "")) for v in re.findall(r"([\d,]+(?:\.\d+)?) km²", line)]
    parks, completing, total = numbers
    assert parks + completing == pytest.approx(total, abs=10 ** -3)  # the printed sum holds
    assert total == pytest.approx(summary["new_km2"], abs=0.5)
    assert completing == pytest.approx(summary["new_km2_in_existing_units"], abs=0.5)
    assert "add up to the plan" in text


def test_crs_is_named_and_one_form(exported, loaded):
    """A named CRS in every file (not "unknown"), and export.json's CRS always PROJJSON."""
    g = exported.path / "parks.gpkg"
    info = gdal("ogrinfo", "-ro", "-so", str(g), "parks")
    name = re.search(r'PROJCRS\["([^"]+)"', info).group(1)
    assert name.startswith("WGS 84 / Albers Equal Area (lat_1=") and "unknown" not in info[:400]
    srs = gdal("ogrinfo", "-ro", "-q", str(g), "-sql",
               "SELECT srs_name FROM gpkg_spatial_ref_sys WHERE srs_id > 0")
    assert f"srs_name (String) = {name}" in srs
    for tif in ("selection.tif", "plan_amounts.tif", "priority_rank.tif"):
        wkt = json.loads(gdal("gdalinfo", "-json", str(exported.path / tif)))[
            "coordinateSystem"]["wkt"]
        assert wkt.startswith(f'PROJCRS["{name}"'), tif
    manifest = json.loads((exported.path / "export.json").read_text())
    assert manifest["crs_name"] == name and manifest["crs"]["type"] == "ProjectedCRS"
    named = pyproj.CRS.from_json_dict(manifest["crs"])  # the same projection, named
    pts = ([-4e5, 0.0, 8e5], [-6e5, 0.0, 7e5])
    to_ll = [pyproj.Transformer.from_crs(c, 4326, always_xy=True) for c in (named, loaded.pu.crs)]
    np.testing.assert_allclose(to_ll[0].transform(*pts), to_ll[1].transform(*pts), atol=1e-9)


def test_crs_of_a_proj4_grid_is_projjson_too(tmp_path):
    from optimizer import problem, solve
    from optimizer.datasets import tiny_grid

    pu = tiny_grid()
    pu.units = pu.units.set_crs("+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 "
                                "+units=m +no_defs", allow_override=True)
    p = problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    res = export_plan(p, solve(p).x, tmp_path / "o", formats=["geojson"])
    manifest = json.loads((res.path / "export.json").read_text())
    assert manifest["crs"]["type"] == "ProjectedCRS"
    assert manifest["crs_name"] == "WGS 84 / Albers Equal Area (lat_1=25 lat_2=47 lat_0=0 lon_0=105)"


def test_geopackage_describes_every_field_in_words(exported):
    """gpkg_data_columns holds an alias and a description of every field of every layer, from
    the data dictionary; QGIS labels are words; bio_value and the value per area readable."""
    from optimizer.figures.plots import TYPE_LABELS

    g = exported.path / "parks.gpkg"
    rows = gdal("ogrinfo", "-ro", "-q", str(g), "-sql",
                "SELECT table_name, column_name, name, description FROM gpkg_data_columns")
    docs: dict[tuple[str, str], tuple[str, str]] = {}
    for block in rows.split("OGRFeature(SELECT)")[1:]:
        v = dict(re.findall(r"^\s+(\w+) \(String\) = (.*)$", block, re.M))
        docs[v["table_name"], v["column_name"]] = (v["name"], v["description"])
    ext = gdal("ogrinfo", "-ro", "-q", str(g), "-sql",
               "SELECT extension_name FROM gpkg_extensions WHERE table_name='gpkg_data_columns'")
    assert "gpkg_schema" in ext
    for layer in ("parks", "added_units", "existing_network", "study_area"):
        fields = pyogrio.read_info(g, layer=layer)["fields"]
        for f in fields:
            alias, desc = docs[layer, f]
            assert alias and desc and alias != f, (layer, f)
        aliases = [docs[layer, f][0] for f in fields]
        assert len(set(aliases)) == len(aliases)
    assert docs["parks", "area_km2"] == ("New protected area (km²)", docs["parks", "area_km2"][1])
    assert "(unit: km²)" in docs["parks", "area_km2"][1]
    bio_alias, bio_desc = docs["parks", "biodiversity_value"]
    assert "summed over species" in bio_alias and "(unit: % summed over species)" in bio_desc
    assert "value_per_km2" not in pyogrio.read_info(g, layer="parks")["fields"]
    parks = pyogrio.read_dataframe(g, layer="parks")
    value = parks.loc[parks["kind"] == "park", "value_per_10000km2"]
    assert 0.01 < value.median() < 1000  # readable, not 2e-06
    assert docs["parks", "kind"][1].startswith("what the feature is: 'park'")
    styles = pyogrio.read_dataframe(g, layer="layer_styles")
    qml = ET.fromstring(styles.loc[styles["f_table_name"] == "parks", "styleQML"].iloc[0]
                        .split("\n", 1)[1])
    labels = {c.get("value"): c.get("label") for c in qml.iter("category")}
    assert labels["synergy"] == TYPE_LABELS["synergy"] and labels["no_data"] == "no data"
    assert all("_" not in label for label in labels.values())
    assert labels["completes existing"].startswith("completes existing protected units")


def test_new_park_columns_flow_to_every_format_with_their_dictionary_entry(tmp_path,
                                                                          monkeypatch):
    """A column the parks table gains (e.g. a sliver flag) reaches every vector format, with
    its unit and meaning from PARK_COLUMNS in parks_fields.csv and gpkg_data_columns."""
    import optimizer.outputs.export as export_module
    import optimizer.outputs.plan_features as features_module
    from optimizer import problem, solve
    from optimizer.datasets import tiny_grid
    from optimizer.plan.parks import PARK_COLUMNS, candidate_parks

    def with_sliver(*args, **kwargs):
        parks = candidate_parks(*args, **kwargs)
        parks.table["one_cell_sliver"] = parks.table["n_units"] == 1
        return parks

    monkeypatch.setattr(export_module, "candidate_parks", with_sliver)
    monkeypatch.setattr(features_module, "candidate_parks", with_sliver)
    monkeypatch.setitem(PARK_COLUMNS, "one_cell_sliver", ("", "True for a park of one unit"))
    pu = tiny_grid()
    pu.units.loc[0, "pa_fraction"] = 0.7  # cell 1 locked in with 0.3 km² still unprotected
    p = problem(pu).add_max_utility_objective(budget_km2=2.3, weights={"carbon": 1})
    res = export_plan(p, solve(p).x, tmp_path / "o", formats=["shp", "gpkg", "geojson"])
    d = pd.read_csv(res.path / "parks_fields.csv", keep_default_na=False).set_index("full_name")
    assert d.loc["one_cell_sliver", "meaning"] == "True for a park of one unit"
    gpkg = pyogrio.read_dataframe(res.path / "parks.gpkg", layer="parks")
    assert "one_cell_sliver" in gpkg.columns
    assert "one_cell_sliver" in pyogrio.read_dataframe(res.path / "parks.geojson").columns
    desc = gdal("ogrinfo", "-ro", "-q", str(res.path / "parks.gpkg"), "-sql",
                "SELECT name, description FROM gpkg_data_columns WHERE column_name = "
                "'one_cell_sliver'")
    assert "name (String) = One cell sliver" in desc
    assert "description (String) = True for a park of one unit" in desc
    # The tiny plan: the parks' 2 km² plus cell 1's 0.3 km² remainder.
    assert gpkg["area_km2"].sum() == pytest.approx(2.3, abs=1e-12)
    assert list(gpkg["kind"]) == ["park", "completes existing"]


def test_units_the_scenario_locks_in_are_their_own_kind(tmp_path):
    """Units a lock forces in (not protected yet) add new area too: kind 'locked in'."""
    from optimizer import problem, solve
    from optimizer.datasets import tiny_grid

    pu = tiny_grid()
    pu.units.loc[0, "pa_fraction"] = 0.7  # cell 1: existing protection, 0.3 km² remainder
    p = (problem(pu).add_max_utility_objective(budget_km2=2.3, weights={"carbon": 1})
         .add_locked_in(ids=[3], label="village forest"))
    sol = solve(p)
    res = export_plan(p, sol.x, tmp_path / "o", formats=["geojson"])
    doc = json.loads((res.path / "parks.geojson").read_text())
    by_kind: dict[str, float] = {}
    for f in doc["features"]:
        by_kind[f["properties"]["kind"]] = (by_kind.get(f["properties"]["kind"], 0.0)
                                            + f["properties"]["area_km2"])
    assert by_kind["locked in"] == pytest.approx(1.0) and by_kind["completes existing"] == (
        pytest.approx(0.3))
    assert sum(by_kind.values()) == pytest.approx(p.unprotected_km2 @ (sol.x > 0.5), abs=1e-12)
    assert "units locked in by the scenario 1" in res.reconciliation[0]
