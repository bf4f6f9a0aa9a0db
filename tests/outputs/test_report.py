"""``carbonpark report``: one self-contained HTML file, the console's numbers, rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

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
