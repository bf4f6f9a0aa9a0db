"""``carbonpark report``: one self-contained HTML file, the console's numbers, rendered."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import console_rows

from optimizer.cli import main
from optimizer.errors import InputDataError, OutputError
from optimizer.outputs.report import report_html, write_report
from optimizer.outputs.solve_folder import read_solution

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    """Two real solve folders of the demo (40 km), beside a link to data/."""
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "scenarios", root / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (root / "data").symlink_to(ROOT / "data")
    out = {}
    for name in ("balanced", "carbon_first"):
        out[name] = root / "solved" / name
        assert main(["solve", str(root / "scenarios" / f"{name}.toml"), "--out",
                     str(out[name])]) == 0
    return out


@pytest.fixture(scope="module")
def single(plans, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("rep") / "balanced.html"
    write_report([plans["balanced"]], out)
    return out, out.read_text(encoding="utf-8")


def _ratio(pu, col: str, p: np.ndarray) -> float:
    """Density inside protection / study-area density of one layer, by hand."""
    amount = pu.units[col].to_numpy(dtype=float)
    valid = pu.units[f"{col}_valid_km2"].to_numpy(dtype=float)
    return (amount @ p / (valid @ p)) / (amount.sum() / valid.sum())


def test_report_is_one_self_contained_file(single):
    path, text = single
    assert list(path.parent.glob("*.html")) == [path]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "@import" not in text and "url(" not in text
    imgs = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", text)
    assert len(imgs) >= 4 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "<script" not in text


def test_report_shows_the_consoles_numbers(plans, single):
    _, text = single
    sol = read_solution(plans["balanced"])
    s = sol.summary
    assert f"{s['new_km2']:,.0f} km²" in text  # e.g. 219,999 km², as `carbonpark solve`
    stock = s["added"]["carbon_stock_total"]["amount"]
    assert f"{stock:,.0f} MgC" in text and f"{stock * 44.0095 / 12.0107:,.0f} tCO2e" in text
    sp = s["species"]
    assert f"{sp['meeting_target_before']} → {sp['meeting_target_after']} of {sp['features']}" in text
    # Biomass density ratio before -> after, computed here from the grid and the plan.
    before = np.clip(sol.problem.protected_fraction, 0, 1)
    after = before + (1 - before) * sol.x
    rb, ra = _ratio(sol.pu, "biomass", before), _ratio(sol.pu, "biomass", after)
    assert f"{rb:.2f} → {ra:.2f}" in text
    assert f"{rb:.2f} → {ra:.2f}" == (f"{s['gap_closure']['density_ratio']['biomass']['before']:.2f}"
                                      f" → {s['gap_closure']['density_ratio']['biomass']['after']:.2f}")
    # Ecosystem shortfall closed in all: the added units' land cover, by hand.
    lc = [c for c in sol.pu.units.columns if c.startswith("lc_") and c.endswith("_km2")]
    total = sol.pu.units[lc].to_numpy(dtype=float)
    short_b = np.maximum(0.3 * total.sum(0) - before @ total, 0)
    short_a = np.maximum(0.3 * total.sum(0) - after @ total, 0)
    assert f"{(short_b - short_a).sum():,.0f} km²" in text
    for needle in ("Table 1", "Tables 2–3", "gC/m²/yr", "existing network", "added by the plan",
                   s["scenario"]["hash"][:16], s["solver"], s["status_text"],
                   s["versions"]["carbonpark"], "tCO2/km²/yr"):
        assert needle in text, needle
    assert "e+" not in re.sub(r"data:image/png;base64,[^\"]*", "", text)


def test_report_lists_the_parks(plans, single):
    from optimizer.plan.parks import candidate_parks

    _, text = single
    sol = read_solution(plans["balanced"])
    table = candidate_parks(sol.problem, sol.x).table
    assert len(table) > 0
    for r in table.head(20).itertuples():
        row = re.search(rf"<tr><td class=\"t\">P{int(r.rank)}</td><td[^>]*>([\d,]+)</td>", text)
        assert row is not None, r.rank
        assert row.group(1) == f"{r.area_km2:,.0f}"
        assert r.dominant_ecosystem in text


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_chromium(single, tmp_path):
    from PIL import Image

    path, _ = single
    png = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    profile.mkdir()
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--window-size=1280,3000",
                    f"--screenshot={png}", path.as_uri()],
                   check=True, timeout=90, capture_output=True)
    img = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert img.shape == (3000, 1280)
    assert img.std() > 20  # text, tables and maps; a blank page has std 0
    assert (img < 100).mean() > 0.005  # dark ink: text and map outlines


def test_comparison_lists_every_scenario(plans, tmp_path, capsys):
    out = tmp_path / "compare.html"
    assert main(["report", str(plans["balanced"]), str(plans["carbon_first"]),
                 "--out", str(out)]) == 0
    assert "comparison of 2 plans" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "Scenario comparison: 2 plans" in text
    for name in ("balanced", "carbon_first"):
        assert text.count(name) >= 3, name  # table row, map, run
        s = read_solution(plans[name]).summary
        assert f"{s['new_km2']:,.0f}" in text
    assert "new km²" in text and "species ≥ 30% of range" in text


def test_writes_are_atomic_and_never_replace_a_users_file(plans, tmp_path, monkeypatch):
    import optimizer.outputs.report as report

    mine = tmp_path / "notes.html"
    mine.write_text("my notes")
    with pytest.raises(OutputError, match=r"notes\.html: exists and was not written by carbonpark"):
        write_report([plans["balanced"]], mine)
    assert mine.read_text() == "my notes"
    out = tmp_path / "r.html"
    write_report([plans["balanced"]], out)
    first = out.read_text()

    def boom(*a, **k):
        raise RuntimeError("cut short")

    monkeypatch.setattr(report, "report_html", boom)
    with pytest.raises(RuntimeError):
        write_report([plans["balanced"]], out)  # our own report: may be replaced, but failed
    assert out.read_text() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    write_report([plans["balanced"]], mine, overwrite=True)
    assert mine.read_text().startswith("<!DOCTYPE html>")


def test_bad_inputs_are_one_line(plans, tmp_path, capsys):
    with pytest.raises(InputDataError, match="not a `carbonpark solve` folder"):
        report_html([tmp_path])
    with pytest.raises(InputDataError, match=r"no frontier\.csv there"):
        report_html([plans["balanced"]], frontier=tmp_path)
    assert main(["report", str(plans["balanced"]), "--out", str(tmp_path / "r.txt")]) == 2
    err = capsys.readouterr().err
    assert "ending in .html" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(plans["balanced"]), "--out",
                 str(plans["balanced"] / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "is an input of this command" in err and len(err.strip().splitlines()) == 1


# ================================================================ reconciliation (issue 21)

CAP = 60_000  # km² of new area at most in Hexi: a region budget that binds


@pytest.fixture(scope="module")
def capped(tmp_path_factory) -> dict[str, object]:
    """The balanced scenario with a region cap, solved and reported as a planner types it:
    from the study folder, with relative paths; the console of both commands captured."""
    root = tmp_path_factory.mktemp("capped")
    shutil.copytree(ROOT / "scenarios", root / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (root / "data").symlink_to(ROOT / "data")
    here = os.getcwd()
    os.chdir(root)
    try:
        consoles = []
        for argv in (["solve", "scenarios/balanced.toml", "--set",
                      f'area_budgets=[{{region = "Hexi", max_km2 = {CAP}}}]',
                      "--out", "solved/capped"],
                     ["report", "solved/capped", "--out", "capped.html"]):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(argv) == 0
            consoles.append(buf.getvalue())
    finally:
        os.chdir(here)
    return {"root": root, "console": consoles[0], "report_console": consoles[1],
            "summary": json.loads((root / "solved" / "capped" / "summary.json").read_text()),
            "html": (root / "capped.html").read_text(encoding="utf-8"),
            "folder": root / "solved" / "capped"}


def _cards(text: str) -> list[tuple[str, str]]:
    """The report's key-number cards: (value, caption)."""
    return [(html.unescape(v), html.unescape(c)) for v, c in
            re.findall(r'<div class="card"><b>(.*?)</b><span>(.*?)</span></div>', text)]


def _html_table(text: str, section: str) -> list[list[str]]:
    """The rows (header first) of the first table after the heading ``id=section``."""
    start = text.index(f'id="{section}"')
    table = text[text.index("<table>", start):text.index("</table>", start)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c))
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)] for r in rows]


def test_console_summary_and_report_print_the_same_headlines(capped):
    from optimizer.plan.quantities import QUANTITIES as Q

    s, text = capped["summary"], capped["html"]
    console = console_rows(capped["console"])
    sol = read_solution(capped["folder"])
    # New km² and carbon stock added, by hand from the grid and the plan.
    units = sol.pu.units
    new = (units["area_km2"] * (1 - units["pa_fraction"])).to_numpy() * sol.x
    stock = [c for c in sol.pu.features.index if sol.pu.features.at[c, "role"] == "carbon_stock"]
    carbon = float((units[stock].sum(axis=1).to_numpy() * (1 - units["pa_fraction"]) * sol.x).sum())
    assert s["new_km2"] == pytest.approx(float(new.sum()), rel=1e-12)
    assert Q["carbon_stock_added"].value(s) == pytest.approx(carbon, rel=1e-12)
    cards = dict(_cards(text))
    by_caption = {c: v for v, c in cards.items()}
    for name in ("new_km2", "new_km2_in_existing_units", "carbon_stock_added",
                 "carbon_stock_added_co2e", "npp_added", "emissions_inside"):
        q = Q[name]
        value = q.text(s)
        assert value not in ("-", "") and q.value(s) is not None, name
        # The console: the registry's header, the registry's format.
        header = q.header(q.latest(s))
        if name == "new_km2_in_existing_units":
            header = header.strip()
        assert console[header] == value, name
        # The report: the same digits, with the unit.
        assert f"{value} {q.unit_text}" in text, name
    # The cards' own words: each headline once, with its unit.
    assert Q["new_km2"].with_unit(s) in cards
    assert cards[Q["carbon_stock_added"].with_unit(s)].endswith(
        f"({Q['carbon_stock_added_co2e'].with_unit(s)})")
    assert by_caption[f"NPP added, {Q['npp_added'].latest(s)}"] == (
        f"{Q['npp_added'].text(s)} MgC/yr")
    assert by_caption[f"emissions inside, {Q['emissions_inside'].latest(s)}"] == (
        f"{Q['emissions_inside'].text(s)} tCO2/yr")
    # Species meeting targets: console, card and summary agree.
    sp = [Q[n].text(s) for n in ("species_met_before", "species_met_after", "species_features")]
    assert f"{sp[0]} -> {sp[1]} of {sp[2]}" in capped["console"]
    assert f"{sp[0]} → {sp[1]} of {sp[2]}" in cards
    # Every headline is defined in summary.json, with its unit and path.
    defs = s["definitions"]
    for name in ("new_km2", "carbon_stock_added", "npp_added", "emissions_inside",
                 "species_met_after", "region_new_km2"):
        assert defs[name]["definition"] and defs[name]["unit"] == Q[name].unit_text
    assert defs["carbon_stock_added"]["path"] == "added.carbon_stock_total.amount"


def test_new_area_per_region_reconciles_and_respects_the_region_budget(capped):
    from optimizer.plan.quantities import QUANTITIES as Q

    s, text = capped["summary"], capped["html"]
    sol = read_solution(capped["folder"])
    units = sol.pu.units
    new = pd.Series((units["area_km2"] * (1 - units["pa_fraction"])).to_numpy() * sol.x)
    by_hand = new.groupby(units["region"].astype(str).to_numpy()).sum()
    regions = s["regions"]
    assert set(regions) == set(by_hand.index)
    for name, km2 in by_hand.items():
        assert regions[name]["new_km2"] == pytest.approx(km2, rel=1e-9, abs=1e-6)
    assert sum(r["new_km2"] for r in regions.values()) == pytest.approx(s["new_km2"])
    assert regions["Hexi"]["max_km2"] == CAP and regions["Hexi"]["new_km2"] <= CAP + 1e-6
    assert "max_km2" not in regions["Borun"]
    # The report's table and the console's block print the summary's numbers.
    rows = _html_table(text, "regions")
    head, body = rows[0], {r[0]: r for r in rows[1:]}
    col = head.index(Q["region_new_km2"].header())
    cap = head.index(Q["region_max_km2"].header())
    console = capped["console"]
    for name in regions:
        value = Q["region_new_km2"].text(s, region=name)
        assert body[name][col] == value, name
        assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(value)}\s", console, re.M), name
    assert body["Hexi"][cap] == f"{CAP:,}" and body["Borun"][cap] == "no cap"
    assert body["all"][col] == Q["new_km2"].text(s)


def test_the_run_table_states_the_scenarios_settings(capped):
    rows = dict((r[0], r[1]) for r in _html_table(capped["html"], "meta")[1:])
    sol = read_solution(capped["folder"])
    budget = sol.problem.total_budget()
    assert rows["budget (new area)"] == f"share 0.1; remainders count; {budget.max_km2:,.0f} km²"
    assert rows["region budget: Hexi"] == f"at most {CAP:,} km²"
    weights = rows["effective weight per feature"]
    for feature, w in sol.problem.objective.weights:
        assert f"{feature} {w:.6g}" in weights
    assert rows["locked in as existing protection"].startswith("units at least 50% protected")


def test_parks_table_shows_emissions_inside_per_park_and_flags_slivers(capped):
    from optimizer.plan.parks import candidate_parks

    s, text = capped["summary"], capped["html"]
    sol = read_solution(capped["folder"])
    parks = candidate_parks(sol.problem, sol.x).table
    rows = _html_table(text, "parks")
    head = rows[0]
    year = s["added"]["emissions"] and list(s["added"]["emissions"])[-1][-4:]
    col = head.index(f"emissions inside {year} (tCO2/yr)")
    flag = head.index("sliver")
    for r, park in zip(rows[1:], parks.head(20).itertuples(), strict=True):
        assert r[0] == f"P{park.rank}"
        assert r[col] == f"{park.emissions_tCO2_per_yr:,.0f}"
        assert r[flag] == ("sliver" if park.sliver else "")
    assert parks["sliver"].any() and not parks["sliver"].all()  # edge cells at 40 km
    assert 'Grey "no data" units' in text


def test_outputs_name_the_scenario_as_the_planner_typed_it(capped):
    root = str(capped["root"])
    assert capped["summary"]["scenario"]["source"].startswith("scenarios/balanced.toml")
    for text in (capped["html"], capped["console"], capped["report_console"]):
        assert root not in text and str(ROOT) not in text
    # The Run section's solve table names the file as typed.
    start = capped["html"].index("<h3>Solve</h3>")
    assert "<td class=\"t\">scenarios/balanced.toml" in capped["html"][start:]


def test_report_shows_the_performance_curves_when_the_folder_has_them(plans, single, tmp_path):
    from optimizer.plan.curves import CURVE_DEFINITION

    # Without --curves: no section, no link.
    assert 'id="curves"' not in single[1] and 'href="#curves"' not in single[1]
    solved = tmp_path / "with_curves"
    assert main(["solve", str(plans["balanced"].parents[1] / "scenarios" / "balanced.toml"),
                 "--out", str(solved), "--curves"]) == 0
    text = report_html([solved])
    assert 'href="#curves"' in text
    section = text[text.index('<h2 id="curves">Performance curves</h2>'):]
    section = section[:section.index("</figure>")]
    img = re.search(r'<img alt="performance curves" src="([^"]*)"', section)
    assert img and img.group(1).startswith("data:image/png;base64,")
    caption = html.unescape(re.search(r"<figcaption>(.*?)</figcaption>", section).group(1))
    assert caption.startswith(CURVE_DEFINITION[0].upper() + CURVE_DEFINITION[1:])
    assert "the dashed line is this plan's share" in caption
    assert text.index('id="curves"') < text.index('id="meta"')
