"""A carbon layer declared in the wrong unit (issue 22, "Weak"): the demo's soil carbon, in
MgC/ha, declared as kgC/m2 (ten times too large) gives the country ten times its carbon; the
grid build now warns, naming the layer, the density and the declared unit."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from helpers import run_cli

from optimizer.errors import UnitPlausibilityWarning
from optimizer.grid.manifest import build_grid_from_manifest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def misdeclared(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data" / "demo", tmp_path / "demo")
    text = (ROOT / "data" / "demo.toml").read_text()
    soc = 'path = "demo/soil_carbon_vulnerable.tif"\nrole = "carbon_stock"\nunit = "MgC/ha"'
    assert soc in text
    manifest = tmp_path / "demo.toml"
    manifest.write_text(text.replace(soc, soc.replace('"MgC/ha"', '"kgC/m2"')))
    return manifest


def test_a_stock_declared_ten_times_too_large_warns_naming_the_layer(misdeclared, tmp_path, capsys):
    # The CLI prints it as "carbonpark: warning: <message>" (pytest records it instead).
    with pytest.warns(UnitPlausibilityWarning) as seen:
        code, _, _ = run_cli(["grid", misdeclared, "--cell-km", "40", "--out", tmp_path / "g"],
                             capsys)
    assert code == 0  # a warning, not a refusal: the planner may know better
    line = str(next(w.message for w in seen if w.category is UnitPlausibilityWarning))
    assert line.startswith("layer 'soc': a carbon stock density of 1,248 MgC/ha")
    assert "above the 1,000 MgC/ha real products reach" in line and "(kgC/m2)" in line


def test_the_demo_as_declared_does_not_warn_and_the_banded_build_warns_too(
        misdeclared, tmp_path, capsys):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build_grid_from_manifest(ROOT / "data" / "demo.toml", cell_km=40)
    assert not [w for w in seen if issubclass(w.category, UnitPlausibilityWarning)]
    with pytest.warns(UnitPlausibilityWarning, match="layer 'soc': a carbon stock density of"):
        code, _, _ = run_cli(["grid", misdeclared, "--cell-km", "40", "--rows-per-band", "8",
                              "--out", tmp_path / "banded"], capsys)
    assert code == 0
