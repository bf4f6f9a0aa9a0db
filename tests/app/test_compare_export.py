"""Compare and export every saved plan (issue 25 item 6), with `AppTest` on the 40 km demo.

The plans are solved once per module on the app's own re-solve session
(`optimizer.app.common.plan_session`) and handed to the pages as the Plan page saves them
(``saved_plans``, ``result``). Every number is checked against the plan's ``summary`` (what
its ``summary.json`` holds) and the exported files' totals summed back.
"""

from __future__ import annotations

import io
import json
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # s: the first run builds the demo grid

#: Saved in this order on purpose: neither alphabetical nor by size, one name long enough
#: to wrap under a bar.
LONG = "balanced_fifteen_percent_with_compact_corridors"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three saved plans and a current one, on the 40 km demo (the app's session)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CARBONPARK_APP_CELL_KM", "40")
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    from optimizer.app import common
    from optimizer.studies.interactive import PlanSettings

    src = {"kind": "demo", "cell_km": 40.0}
    pu = common.load_pu(src)
    session = common.plan_session(common.grid_key(src), pu, common.grid_table(src))
    out = {"zeta_twenty": session.solve(PlanSettings(budget_share=0.20)),
           "alpha_ten": session.solve(PlanSettings(budget_share=0.10, compactness=0.5)),
           LONG: session.solve(PlanSettings(budget_share=0.15, biodiversity=3.0)),
           "current": session.solve(PlanSettings(budget_share=0.12, carbon_uptake=0.0))}
    yield out
    mp.undo()


@pytest.fixture(autouse=True)
def _small_demo(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("CARBONPARK_APP_CELL_KM", "40")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.chdir(ROOT)


def _page(name: str, plans: dict[str, Any], *, current: bool = False) -> AppTest:
    script = (f"import matplotlib\nmatplotlib.use('Agg')\nimport streamlit as st\n"
              f"from optimizer.app.common import guarded\n"
              f"from optimizer.app.{name}_page import {name}_page\nguarded(st, {name}_page)()\n")
    at = AppTest.from_string(script, default_timeout=TIMEOUT)
    at.session_state["saved_plans"] = {n: r for n, r in plans.items() if n != "current"}
    if current:
        at.session_state["result"] = plans["current"]
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error]


def _expected(summary: dict[str, Any], name: str) -> Any:
    """What the table holds for a quantity: the summary's value, scaled as written."""
    from optimizer.plan.quantities import QUANTITIES

    q = QUANTITIES[name]
    v = q.value(summary)
    return v if q.kind == "text" else (int(v) if q.kind == "count" else float(v) * q.scale)


def _check_headline_row(row: pd.Series, summary: dict[str, Any]) -> None:
    from optimizer.plan.comparison import HEADLINE, headline_headers

    heads = headline_headers([summary])
    for name in HEADLINE:
        expected = _expected(summary, name)
        got = row[heads[name]]
        # Equal, not close: the table (and plans.csv, read back at full precision) holds the
        # summary's own double.
        assert (float(got) if isinstance(expected, float) else got) == expected, name


# ------------------------------------------------------------------ the library

def test_headline_table_is_each_plans_summary(plans: dict[str, Any]) -> None:
    from optimizer.plan.comparison import HEADLINE, headline_headers, headline_table

    table = headline_table({n: r.summary for n, r in plans.items()})
    assert list(table["plan"]) == list(plans)
    heads = headline_headers([r.summary for r in plans.values()])
    assert list(table.columns) == ["plan", *heads.values()]
    assert len(set(heads.values())) == len(HEADLINE)  # e.g. MgC and tCO2e are two headers
    assert heads["npp_added"] == "NPP added, 2020 (MgC/yr)"
    for (_, row), r in zip(table.iterrows(), plans.values(), strict=True):
        _check_headline_row(row, r.summary)
    # Values are the summary's, not rounded: 20 % of the land is 19.99… %, not 20.
    zeta = table.iloc[0]
    assert zeta["new protected area (km²)"] == plans["zeta_twenty"].summary["new_km2"]
    assert zeta["new share of the land (%)"] == 100 * plans["zeta_twenty"].summary[
        "new_share_of_land"]


def test_wrapped_plan_names_keep_every_character() -> None:
    from optimizer.app.plans_table import LABEL_WIDTH, wrap_label

    # Plan names are file-safe (letters, digits, _ and -): the lines joined are the name.
    for name in (LONG, "a" * 60, "words_and-more-than-twenty-four-characters", "x"):
        lines = wrap_label(name).split("\n")
        assert all(len(line) <= LABEL_WIDTH for line in lines)
        assert "".join(lines) == name
    assert wrap_label(LONG).count("\n") >= 1


# ------------------------------------------------------------------ Compare

def _charts(at: AppTest) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Each Altair chart of the page: its Vega-Lite spec and its data."""
    import pyarrow as pa

    out = []
    for c in at.get("vega_lite_chart"):
        spec = json.loads(c.proto.spec)
        data = pa.ipc.open_stream(c.proto.datasets[0].data.data).read_pandas()
        out.append((spec, data))
    return out


def test_compare_page_every_plan_in_one_table_equal_to_its_summary(plans: dict[str, Any]) -> None:
    from optimizer.app.common import settings_text

    saved = [n for n in plans if n != "current"]
    at = _page("compare", plans).run()
    _ok(at)
    assert at.multiselect(key="cmp_names").value == saved  # every saved plan, by default
    table = at.dataframe[0].value
    assert list(table["plan"]) == saved  # the order saved, not alphabetical
    for (_, row), name in zip(table.iterrows(), saved, strict=True):
        assert row["settings"] == settings_text(plans[name].settings)
        _check_headline_row(row, plans[name].summary)
    assert "budget 10.0 % of the land" in table.loc[1, "settings"]
    assert "compactness 0.50" in table.loc[1, "settings"]
    # Headers carry their unit; no raw column name.
    assert not [h for h in table.columns if "_" in h]
    # The gaps each plan closes: its closure, not rounded.
    closure = at.dataframe[1].value
    assert list(closure["plan"]) == saved
    for (_, row), name in zip(closure.iterrows(), saved, strict=True):
        eco = plans[name].summary["gap_closure"]["ecosystems"]
        assert row["ecosystem shortfall closed (km²)"] == eco["closed_km2"]
        assert row["ecosystems meeting target"] == eco["meeting_target_after"]
    # The A/B difference is kept: a table and a map.
    assert len(at.dataframe) == 3
    assert list(at.dataframe[2].value["where"]) == ["only in A", "only in B", "in both"]
    assert at.get("image")


def test_compare_bar_charts_follow_the_table_with_readable_labels(plans: dict[str, Any]) -> None:
    from optimizer.app.plans_table import wrap_label
    from optimizer.plan.comparison import headline_headers

    at = _page("compare", plans).run()
    _ok(at)
    table = at.dataframe[0].value
    order = list(table["plan"])
    heads = headline_headers([plans[n].summary for n in order])
    charts = _charts(at)
    assert len(charts) == 5  # new km², carbon, species, shortfall closed, hotspots
    titles = {spec["title"]["text"]: (spec, data) for spec, data in charts}
    for spec, data in charts:
        y = spec["encoding"]["y"]
        # Bars top to bottom in the table's row order (never Vega-Lite's alphabetical sort).
        assert y["sort"] == [wrap_label(n) for n in order]
        assert list(dict.fromkeys(data["plan"])) == order
        # Names wrapped into lines, never cut; the unit in the value axis's title.
        assert y["axis"]["labelLimit"] == 0 and "split(" in y["axis"]["labelExpr"]
        assert [lab.replace("\n", "") for lab in dict.fromkeys(data["label"])] == order
        assert spec["encoding"]["x"]["title"].endswith(")")
    assert "\n" in wrap_label(LONG)
    spec, data = titles["New protected area"]
    assert spec["encoding"]["x"]["title"] == "new protected area (km²)"
    assert list(data["value"]) == list(table[heads["new_km2"]])
    spec, data = titles["Carbon stock added"]
    unit = spec["encoding"]["x"]["title"].rsplit("(", 1)[1].rstrip(")")
    scale = {"MgC": 1.0, "GgC": 1e3, "TgC": 1e6, "PgC": 1e9}[unit]
    assert unit == "PgC"  # 2-5 billion MgC read as 2-5 PgC
    assert np.allclose(data["value"] * scale, table[heads["carbon_stock_added"]], rtol=1e-12)
    spec, data = titles["Ecosystem shortfall closed"]
    assert spec["encoding"]["x"]["title"] == "ecosystem shortfall closed (%)"
    assert list(data["value"]) == list(table[heads["shortfall_closed_pct"]])
    spec, data = titles["Species meeting the target (of 36)"]
    assert spec["encoding"]["x"]["title"] == "species (of 36)"
    assert list(data["value"]) == list(table[heads["species_met_after"]])
    spec, data = titles["Unprotected hotspots each plan protects"]
    assert spec["encoding"]["x"]["title"] == "hotspots protected (%)"
    assert "yOffset" in spec["encoding"]  # criteria side by side within each plan

    # A new order chosen above is the table's and the charts' order.
    at = at.multiselect(key="cmp_names").set_value([LONG, "zeta_twenty"]).run()
    _ok(at)
    assert list(at.dataframe[0].value["plan"]) == [LONG, "zeta_twenty"]
    for spec, _ in _charts(at):
        assert spec["encoding"]["y"]["sort"] == [wrap_label(LONG), "zeta_twenty"]


# ------------------------------------------------------------------ Export

#: The formats exported (the files of `test_exported_files_sum_back_to_each_plans_summary`).
FORMATS = ["shp", "gpkg", "parquet", "geojson"]


@pytest.fixture(scope="module")
def every_plan(plans: dict[str, Any]) -> tuple[AppTest, dict[str, bytes]]:
    """The Export page's every plan at once, in `FORMATS` (one export for the module)."""
    from optimizer.app.export_page import EVERY_PLAN

    mp = pytest.MonkeyPatch()  # the autouse fixture is per test; this export is the module's
    mp.chdir(ROOT)
    at = _page("export", plans, current=True)
    at.session_state["save_name"] = "alpha_ten"  # the current plan's name is a saved one's
    at.run()
    at = at.multiselect(key="exp_formats").set_value(FORMATS).run()
    at = at.radio(key="exp_what").set_value(EVERY_PLAN).run()
    _ok(at)
    yield at, at.session_state["export_all"][1]
    mp.undo()


def test_export_every_plan_at_once_named_with_its_settings(
        plans: dict[str, Any], every_plan: tuple[AppTest, dict[str, bytes]]) -> None:
    from optimizer.app.common import settings_text

    at, files = every_plan
    labels = [b.proto.label for b in at.get("download_button")]
    assert [lab.split(" (")[0] for lab in labels] == ["Every plan", "plans.csv",
                                                      "Comparison report"]
    folders = {"zeta_twenty": plans["zeta_twenty"], "alpha_ten": plans["alpha_ten"],
               LONG: plans[LONG], "alpha_ten_current": plans["current"]}
    shown = at.dataframe[0].value
    assert list(shown["plan (its folder)"]) == list(folders)
    assert list(shown["settings"]) == [settings_text(r.settings) for r in folders.values()]
    zf = zipfile.ZipFile(io.BytesIO(files["zip"]))
    names = zf.namelist()
    assert names[:2] == ["plans.csv", "comparison.html"]
    report = zf.read("comparison.html").decode()
    assert zf.read("comparison.html") == files["comparison.html"]
    assert report.startswith("<!DOCTYPE html>") and "scenario comparison" in report
    assert sorted({n.split("/")[0] for n in names if "/" in n}) == sorted(folders)
    csv = pd.read_csv(io.BytesIO(zf.read("plans.csv")), float_precision="round_trip")
    assert zf.read("plans.csv") == files["plans.csv"]
    assert list(csv["plan"]) == list(folders)
    for (_, row), (name, r) in zip(csv.iterrows(), folders.items(), strict=True):
        assert {f"{name}/{f}" for f in ("export.json", "parks.gpkg", "parks.parquet",
                                        "parks.geojson", "parks_shp.zip", f"{name}.toml",
                                        "report.html")
                } <= set(names)
        assert name in report
        # Its settings: in export.json's source, its scenario and plans.csv.
        source = json.loads(zf.read(f"{name}/export.json"))["source"]
        assert f"plan {name!r}" in source and settings_text(r.settings) in source
        scenario = tomllib.loads(zf.read(f"{name}/{name}.toml").decode())
        assert scenario["name"] == name
        assert scenario["budget"]["share"] == r.settings.budget_share
        assert scenario["weights"]["biodiversity"] == r.settings.biodiversity
        assert row["folder"] == f"{name}/" and row["settings"] == settings_text(r.settings)
        assert row["budget (% of the land)"] == pytest.approx(100 * r.settings.budget_share)
        assert row["compactness (0-1)"] == r.settings.compactness
        # Its headline numbers: the plan's summary.
        _check_headline_row(row, r.summary)


def test_exported_files_sum_back_to_each_plans_summary(
        plans: dict[str, Any], every_plan: tuple[AppTest, dict[str, bytes]],
        tmp_path: Path) -> None:
    import geopandas as gpd
    import pyogrio

    _, files = every_plan
    zf = zipfile.ZipFile(io.BytesIO(files["zip"]))
    zf.extractall(tmp_path)
    folders = {"zeta_twenty": plans["zeta_twenty"], "alpha_ten": plans["alpha_ten"],
               LONG: plans[LONG], "alpha_ten_current": plans["current"]}
    new_km2 = set()
    for name, r in folders.items():
        s = r.summary
        folder = tmp_path / name
        # The shapefile's 10-character field names, by full name (its data dictionary).
        fields = pd.read_csv(folder / "parks_fields.csv")
        short = dict(zip(fields["full_name"], fields["short_name"], strict=True))
        readers = {"gpkg": (pyogrio.read_dataframe(folder / "parks.gpkg"), {}),
                   "parquet": (gpd.read_parquet(folder / "parks.parquet"), {}),
                   "geojson": (pyogrio.read_dataframe(folder / "parks.geojson"), {}),
                   "shp": (pyogrio.read_dataframe(f"/vsizip/{folder / 'parks_shp.zip'}"), short)}
        for fmt, (parks, names) in readers.items():
            area = parks[names.get("area_km2", "area_km2")].sum()
            carbon = parks[names.get("carbon_stock_MgC", "carbon_stock_MgC")].sum()
            # Up to the order of the sum (measured: 4e-16), in every format.
            assert area == pytest.approx(s["new_km2"], rel=1e-12), (name, fmt)
            assert carbon == pytest.approx(s["added"]["carbon_stock_total"]["amount"],
                                           rel=1e-12), (name, fmt)
        new_km2.add(round(s["new_km2"]))
    assert len(new_km2) == len(folders)  # four different plans, not one exported four times


def test_export_every_plan_without_a_plan_is_one_message() -> None:
    from optimizer.app.export_page import EVERY_PLAN

    at = _page("export", {}).run()
    at = at.radio(key="exp_what").set_value(EVERY_PLAN).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["no plan yet: run a plan on the Plan page first"]
    assert not at.get("download_button")
