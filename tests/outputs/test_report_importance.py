"""``carbonpark report --importance``: the report's importance section holds importance.csv's
numbers (its top units, their values, the count), and refuses an importance folder of
another plan, with several plans, or as the report's own folder, writing nothing; the
report's locks table holds summary.json's locks (issue 24 item 6)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, run_cli, tree_hash

ROOT = Path(__file__).resolve().parents[2]


_MIN_SET = """schema_version = 1
name = "min set demo"
[grid]
manifest = "{root}/data/demo.toml"
cell_km = 40
[objective]
kind = "min_set"
[targets]
relative = {{ biodiversity = 0.1 }}
[locks]
existing = true
[[locks.locked_out]]
file = "concessions.gpkg"
min_share = 0.5
[solver]
gap = 1e-3
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The 40 km demo: a max utility plan (2% of the land; replacement and rank importance)
    and a min set plan with a polygon lock-out (Ferrier and rank importance)."""
    import geopandas as gpd

    from optimizer.cli import main
    from optimizer.scenario import Scenario

    root = tmp_path_factory.mktemp("imp_report")
    ms = root / "ms.toml"
    ms.write_text(_MIN_SET.format(root=ROOT).replace('[[locks.locked_out]]\nfile = '
                                                     '"concessions.gpkg"\nmin_share = 0.5\n', ""),
                  encoding="utf-8")
    units = Scenario.load(ms).to_problem().pu.units
    free = units[units["pa_fraction"] < 0.5].iloc[40:46]  # six unprotected cells
    gpd.GeoDataFrame({"name": ["c"] * len(free)}, geometry=free.geometry.values,
                     crs=units.crs).to_file(root / "concessions.gpkg")
    ms.write_text(_MIN_SET.format(root=ROOT), encoding="utf-8")
    assert main(["solve", str(ms), "--out", str(root / "ms")]) == 0
    assert main(["solve", str(ROOT / "scenarios" / "balanced.toml"), "--out", str(root / "mu"),
                 "--set", "budget.share=0.02"]) == 0
    for plan, method in (("mu", "replacement"), ("mu", "rank"), ("ms", "ferrier"),
                         ("ms", "rank")):
        assert main(["importance", str(root / plan), "--out", str(root / f"{plan}_{method}"),
                     "--method", method, "--increments", "4"]) == 0
    return root


def _top_table(text: str) -> pd.DataFrame:
    block = re.search(r'<div id="importance-top">(.*?)</div>', text, re.S).group(1)
    heads = [html.unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", block)]
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
            for r in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>")[1])]
    return pd.DataFrame(rows, columns=heads)


@pytest.mark.parametrize("plan,method", [("mu", "replacement"), ("mu", "rank"),
                                         ("ms", "ferrier"), ("ms", "rank")])
def test_the_reports_importance_numbers_are_importance_csv(study, plan, method, capsys):
    out = study / f"report_{plan}_{method}.html"
    code, _, err = run_cli(["report", study / plan, "--out", out, "--importance",
                            study / f"{plan}_{method}"], capsys)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert '<h2 id="importance">' in text and 'href="#importance"' in text
    table = pd.read_csv(study / f"{plan}_{method}" / "importance.csv")
    shown = table[table["added"] | (table["importance"] != 0)]
    expected = shown.sort_values(["importance", "pu_id"], ascending=[False, True]).head(15)
    got = _top_table(text)
    assert got["pu_id"].astype(int).tolist() == expected["pu_id"].tolist()
    values = [np.inf if v == "no plan without it" else float(v) for v in got["importance"]]
    assert values == pytest.approx(expected["importance"].tolist(), rel=1e-5)
    lede = re.search(r'<p id="importance-lede">(.*?)</p>', text, re.S).group(1)
    assert f"{len(shown):,} units with an importance ({int(table['added'].sum()):,} added" in lede
    if method == "ferrier":
        cols = [c for c in table.columns if c.startswith("ferrier_")]
        assert cols and all(c in got.columns for c in cols[:6])  # the first six shown
        assert [float(v) for v in got[cols[0]]] == pytest.approx(
            expected[cols[0]].tolist(), rel=1e-5, abs=1e-12)
    if method == "rank":
        assert got["rank"].astype(int).tolist() == expected["rank"].tolist()


def test_an_importance_folder_of_another_plan_or_with_several_is_refused(study, tmp_path,
                                                                       capsys):
    (tmp_path / "empty").mkdir()
    before = tree_hash(study), tree_hash(tmp_path)
    code, _, err = run_cli(["report", study / "mu", "--out", tmp_path / "r.html",
                            "--importance", study / "ms_ferrier"], capsys)
    assert_one_line_error(code, err, contains="is of another plan")
    code, _, err = run_cli(["report", study / "ms", study / "mu", "--out",
                            tmp_path / "r.html", "--importance", study / "ms_ferrier"], capsys)
    assert_one_line_error(code, err, contains="give one solve folder with it, not 2")
    code, _, err = run_cli(["report", study / "ms", "--out", study / "ms_ferrier" / "r.html",
                            "--importance", study / "ms_ferrier"], capsys)
    assert_one_line_error(code, err, contains="is an input of this command")
    code, _, err = run_cli(["report", study / "ms", "--out", tmp_path / "r.html",
                            "--importance", tmp_path / "empty"], capsys)
    assert_one_line_error(code, err, contains="no importance.csv there")
    assert (tree_hash(study), tree_hash(tmp_path)) == before


def test_the_report_shows_the_polygon_locks_of_summary_json(study, capsys):
    """Issue 24 item 6: the lock-out file's units and km² in the report are summary.json's."""
    out = study / "report_locks.html"
    code, _, err = run_cli(["report", study / "ms", "--out", out], capsys)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    summary = json.loads((study / "ms" / "summary.json").read_text(encoding="utf-8"))
    [(label, lock)] = summary["locks"].items()
    assert lock["file"] == "concessions.gpkg" and 'href="#locks"' in text
    assert _lock_rows(text)[label] == ["out", "6", f"{lock['km2']:,.0f}", "concessions.gpkg"]
    # The demo's farmland lock-out (no file) in the max utility plan's report, likewise.
    code, _, err = run_cli(["report", study / "mu", "--out", study / "r_mu.html"], capsys)
    assert code == 0, err
    rows = _lock_rows((study / "r_mu.html").read_text(encoding="utf-8"))
    mu = json.loads((study / "mu" / "summary.json").read_text(encoding="utf-8"))["locks"]
    assert mu and set(rows) == set(mu)
    for name, lk in mu.items():
        assert rows[name] == [lk["locked"], f"{lk['units']:,}", f"{lk['km2']:,.0f}", "—"]


def _lock_rows(text: str) -> dict[str, list[str]]:
    block = re.search(r'<div id="locks-table">(.*?)</div>', text, re.S).group(1)
    out = {}
    for r in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>")[1]):
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
        out[cells[0]] = cells[1:]
    return out
