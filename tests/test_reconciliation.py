"""Numbers that add up: one plan, every place a planner reads it (issue 21, "Checks").

The planner's actions of the issue, as typed: ``carbonpark solve`` a copy of ``balanced``
with 8% of the land, ``carbonpark report`` it and ``carbonpark export`` it in every format.
Each headline (new km², of which completes existing units, carbon stock added, NPP added,
emissions inside, species meeting the target, ecosystem shortfall closed, parks) is then
read in the console, ``summary.json``, the report's HTML and each export format summed
back by an independent reader, and must be the same number (the registry of quantities,
`optimizer.plan.quantities.QUANTITIES`, says how each is written). New km² and carbon stock
are also recomputed by hand from the grid and the plan. The app's metrics are reconciled
with ``summary.json`` in ``tests/app/test_app_e2e.py``.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import EXPORT_READERS, console_rows

from optimizer.cli import main
from optimizer.outputs.solve_folder import read_solution
from optimizer.outputs.writers import WRITERS
from optimizer.plan.quantities import QUANTITIES as Q

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The issue's example, run as a planner runs it (relative paths, one study folder)."""
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(ROOT / "scenarios", root / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    (root / "data").symlink_to(ROOT / "data")
    text = (root / "scenarios" / "balanced.toml").read_text()
    assert "share = 0.10" in text
    (root / "scenarios" / "balanced_8.toml").write_text(
        text.replace('name = "balanced"', 'name = "balanced_8"').replace("share = 0.10",
                                                                        "share = 0.08"))
    here = Path.cwd()
    os.chdir(root)
    consoles = []
    try:
        for argv in (["solve", "scenarios/balanced_8.toml", "--out", "out/p"],
                     ["report", "out/p", "--out", "out/p.html"],
                     ["export", "out/p", "--out", "out/g"]):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(argv) == 0, argv
            consoles.append(buf.getvalue())
    finally:
        os.chdir(here)
    return {"console": consoles[0], "export_console": consoles[2],
            "summary": json.loads((root / "out" / "p" / "summary.json").read_text()),
            "html": html.unescape((root / "out" / "p.html").read_text(encoding="utf-8")),
            "solve": root / "out" / "p", "exports": root / "out" / "g"}


#: The headlines shown as one row of the console table and one number of the report.
ROW_HEADLINES = ("new_km2", "new_km2_in_existing_units", "carbon_stock_added",
                 "carbon_stock_added_co2e", "npp_added", "emissions_inside")


@pytest.mark.parametrize("name", ROW_HEADLINES)
def test_a_headline_is_one_number_in_the_console_the_summary_and_the_report(study, name):
    s, q = study["summary"], Q[name]
    value = q.text(s)
    assert q.value(s) is not None and value not in ("", "-")
    assert console_rows(study["console"])[q.header(q.latest(s)).strip()] == value
    assert f"{value} {q.unit_text}" in study["html"]
    # summary.json defines it, with the unit it is printed in.
    assert s["definitions"][name]["unit"] == q.unit_text and s["definitions"][name]["definition"]


def test_new_area_and_carbon_stock_are_the_plans_by_hand(study):
    s = study["summary"]
    sol = read_solution(study["solve"])
    units = sol.pu.units
    free = (1 - units["pa_fraction"]).to_numpy()
    new = units["area_km2"].to_numpy() * free * sol.x
    stock = [c for c in sol.pu.features.index if sol.pu.features.at[c, "role"] == "carbon_stock"]
    carbon = units[stock].sum(axis=1).to_numpy() * free * sol.x
    assert s["new_km2"] == pytest.approx(float(new.sum()), rel=1e-12)
    assert Q["carbon_stock_added"].value(s) == pytest.approx(float(carbon.sum()), rel=1e-12)
    # The part that completes existing protected units is the locked-in units' remainders.
    existing = np.asarray(sol.status) == "existing"
    assert s["new_km2_in_existing_units"] == pytest.approx(float(new[existing].sum()), rel=1e-12)
    assert 0 < s["new_km2_in_existing_units"] < s["new_km2"]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_export_format_sums_back_to_the_summary(study, fmt):
    """The issue's finding: parks summed in every format fell short of the plan's totals."""
    s = study["summary"]
    assert fmt in EXPORT_READERS, f"add a reader of {fmt} to tests/helpers.EXPORT_READERS"
    for area, mgc in EXPORT_READERS[fmt](study["exports"]):
        assert area == pytest.approx(s["new_km2"], rel=1e-12)
        assert mgc == pytest.approx(Q["carbon_stock_added"].value(s), rel=1e-12)


def test_the_export_states_the_reconciliation_in_the_summarys_numbers(study):
    s = study["summary"]
    rec = json.loads((study["exports"] / "export.json").read_text())["reconciliation"]
    assert rec["new_km2"]["total"] == pytest.approx(s["new_km2"], rel=1e-12)
    assert rec["new_km2"]["completes existing"] == pytest.approx(
        s["new_km2_in_existing_units"], rel=1e-12)
    assert rec["carbon_stock_MgC"]["total"] == pytest.approx(
        Q["carbon_stock_added"].value(s), rel=1e-12)
    # The command says it in words, with the parks' and the remainders' areas adding up.
    line = next(ln for ln in study["export_console"].splitlines() if "completing existing" in ln)
    parts = [float(v.replace(",", "")) for v in re.findall(r"([\d,]+\.?\d*) km²", line)]
    decimals = len(line.split(" km²")[0].rpartition(".")[2]) if "." in line.split(" km²")[0] else 0
    half = 0.5 * 10.0 ** -decimals  # printed to the fewest decimals at which they add up
    assert len(parts) == 3 and parts[0] + parts[1] == pytest.approx(parts[2], abs=2 * half)
    assert parts[2] == pytest.approx(s["new_km2"], abs=half)


def test_parks_in_the_report_are_the_exported_parks(study):
    """The report's parks table and the exports' parks (kind = "park") hold the same area."""
    import pyogrio

    gpkg = pyogrio.read_dataframe(study["exports"] / "parks.gpkg", layer="parks")
    parks = gpkg[gpkg["kind"] == "park"]
    rec = json.loads((study["exports"] / "export.json").read_text())["reconciliation"]
    assert float(parks["area_km2"].sum()) == pytest.approx(rec["new_km2"]["park"], rel=1e-12)
    # Every park's area, as the report writes it, is in the report.
    for km2 in parks["area_km2"]:
        assert f"{km2:,.0f}" in study["html"]


def test_species_meeting_the_target_reads_the_same_everywhere(study):
    s = study["summary"]
    before, after, of = (Q[n].text(s) for n in ("species_met_before", "species_met_after",
                                                "species_features"))
    assert f"{before} -> {after} of {of}" in study["console"]
    assert f"{before} → {after} of {of}" in study["html"]
    # By hand: the species (range layers) with at least 30% of their range protected after.
    sol = read_solution(study["solve"])
    feats, units = sol.pu.features, sol.pu.units
    species = feats.index[(feats["role"] == "biodiversity") & (feats["layer"] == "sp")]
    p = units["pa_fraction"].to_numpy()
    held = units[species].to_numpy().T @ (p + (1 - p) * sol.x) / units[species].sum().to_numpy()
    assert len(species) == s["species"]["features"]
    assert int((held >= 0.3 - 1e-12).sum()) == s["species"]["meeting_target_after"]


def test_ecosystem_shortfall_closed_reads_the_same_everywhere(study):
    s = study["summary"]
    eco = s["gap_closure"]["ecosystems"]
    closed, before, pct = (Q[n].text(s) for n in ("shortfall_closed_km2", "shortfall_before_km2",
                                                  "shortfall_closed_pct"))
    # The console's counted-classes row and the report's, with the definition beside them.
    row = next(ln for ln in study["console"].splitlines() if ln.strip().startswith("counted classes"))
    assert row.split()[2:5] == [before, closed, pct]
    assert closed in study["html"] and eco["definition"].split(";")[0][1:] in study["html"]
    # Only the counted (natural) classes sum to the headline; cropland is not counted.
    counted = [c for c, e in eco["by_class"].items() if e["counted"]]
    assert "cropland" not in counted
    assert sum(eco["by_class"][c]["closed_km2"] for c in counted) == pytest.approx(
        eco["closed_km2"], rel=1e-12)
    assert eco["closed_km2"] < s["new_km2"]


def test_units_the_scenario_locks_in_are_their_own_line_not_existing_protection(study, tmp_path):
    """'of which completes existing protected units' counts existing protection only; units the
    planner locks in (a valley to keep) are their own line, as the exports' kinds are."""
    first = read_solution(study["solve"])
    units = first.pu.units
    free = np.flatnonzero((first.x < 0.5) & (units["pa_fraction"].to_numpy() == 0))[:3]
    ids = [int(i) for i in units["pu_id"].to_numpy()[free]]
    out = tmp_path / "locked"
    buf = io.StringIO()
    here = Path.cwd()
    os.chdir(study["solve"].parents[1])
    try:
        with contextlib.redirect_stdout(buf):
            assert main(["solve", "scenarios/balanced_8.toml", "--set",
                         f'locks.locked_in=[{{ids = {ids}, label = "valley"}}]',
                         "--out", str(out)]) == 0
            assert main(["export", str(out), "--out", str(tmp_path / "g"), "--format",
                         "gpkg"]) == 0
    finally:
        os.chdir(here)
    s = json.loads((out / "summary.json").read_text())
    km2 = units["area_km2"].to_numpy()
    assert s["new_km2_in_locked_in_units"] == pytest.approx(float(km2[free].sum()), rel=1e-12)
    sol = read_solution(out)
    existing = sol.problem.existing_protection_mask()
    remainders = (km2 * (1 - units["pa_fraction"].to_numpy()))[existing & (sol.x > 0.5)]
    assert s["new_km2_in_existing_units"] == pytest.approx(float(remainders.sum()), rel=1e-12)
    rows = console_rows(buf.getvalue())
    assert rows[Q["new_km2_in_locked_in_units"].header()] == Q["new_km2_in_locked_in_units"].text(s)
    rec = json.loads((tmp_path / "g" / "export.json").read_text())["reconciliation"]
    assert rec["new_km2"]["locked in"] == pytest.approx(s["new_km2_in_locked_in_units"], rel=1e-12)
    assert rec["new_km2"]["completes existing"] == pytest.approx(s["new_km2_in_existing_units"],
                                                                 rel=1e-12)
