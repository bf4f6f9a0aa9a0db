"""Planner-ready figures: units on axes, 'no data' in legends, one colour per zone, summary.md."""

from __future__ import annotations

import re

import matplotlib.colors as mcolors
import pytest

from optimizer.datasets import demo_grid
from optimizer.figures.plots import STATUS_COLOURS, ZONE_COLOURS, zone_colour
from optimizer.gap import gap_analysis


@pytest.fixture(scope="module")
def report():
    return gap_analysis(demo_grid(80))


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_npp_axis_is_in_g_per_m2_per_year_as_the_console(report):
    ts = report.tables["time_series"]
    npp = ts[(ts["layer"] == "npp") & (ts["zone"] == "whole") & (ts["year"] == 2020)].iloc[0]
    assert npp["density_unit"] == "gC/m2/yr"
    # MgC/yr over km² with data is gC/m²/yr: 1 MgC/km² = 1e6 g / 1e6 m².
    assert npp["density"] == pytest.approx(npp["amount"] / demo_grid(80).units[
        "npp_valid_km2"].sum())
    assert 100 < npp["density"] < 2000  # a plausible NPP density in gC/m²/yr
    fig = report.figures()["time_series"]
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "NPP density (gC/m²/yr)" in labels
    assert not any("kgC/m2/yr" in lab or "kgC/m²/yr" in lab for lab in labels)


def test_maps_have_no_data_class_regions_scale_and_say_top_of_what(report):
    figs = report.figures()
    for name in ("map_hotspots", "map_typology"):
        legend = _legend(figs[name])
        assert any(t.startswith("no data (") for t in legend), name
        assert "region boundary (named)" in legend, name
        texts = [t.get_text() for t in figs[name].axes[0].texts]
        assert "N" in texts and any(t.endswith(" km") for t in texts), name
        assert any(t.startswith("CRS: Albers Equal Area") for t in texts), name
        regions = set(report.units["region"].dropna())
        assert regions <= set(texts), name  # every region named on the map
    hot = _legend(figs["map_hotspots"])
    assert any("top 10% of the area by carbon stock density" in t for t in hot)
    title = figs["map_hotspots"].axes[0].get_title()
    assert "carbon stock density (kgC/m²)" in title and "NPP density" in title


def test_every_zone_has_one_colour_in_every_figure(report):
    figs = report.figures()
    seen: dict[str, set[str]] = {}
    for name in ("shares", "density_ratio"):
        for patch, label in zip(figs[name].axes[0].get_legend().get_patches(),
                                _legend(figs[name]), strict=True):
            seen.setdefault(label, set()).add(mcolors.to_hex(patch.get_facecolor()))
    for ax in figs["time_series"].axes:
        for line in ax.get_lines():
            seen.setdefault(line.get_label(), set()).add(mcolors.to_hex(line.get_color()))
    assert {"national_park", "nature_reserve", "protected", "unprotected"} <= set(seen)
    for zone, colours in seen.items():
        assert colours == {zone_colour(zone)}, zone
    protected = next(t for t in _legend(figs["map_hotspots"]) if t.startswith("protected"))
    i = _legend(figs["map_hotspots"]).index(protected)
    patch = figs["map_hotspots"].axes[0].get_legend().get_patches()[i]
    assert mcolors.to_hex(patch.get_facecolor()) == ZONE_COLOURS["protected"]
    assert STATUS_COLOURS["existing"] == ZONE_COLOURS["protected"]


def test_summary_md_uses_percentages_full_numbers_and_shows_the_figures(report, tmp_path):
    report.write(tmp_path / "gap")
    md = (tmp_path / "gap" / "summary.md").read_text(encoding="utf-8")
    assert not re.search(r"\de[+-]\d", md)  # no scientific notation
    for stem in ("shares", "density_ratio", "time_series", "map_hotspots", "map_typology"):
        assert f"]({stem}.png)" in md and (tmp_path / "gap" / f"{stem}.png").exists()
    assert "| share (%) |" in md and "| area_share (%) |" in md
    carbon = report.tables["carbon"]
    bio = carbon[(carbon["layer"] == "biomass") & (carbon["zone"] == "protected")].iloc[0]
    assert f"| {100 * bio['share']:.2f} |" in md  # share as a percentage, 2 decimals
    assert f"{bio['area_km2']:,.0f}" in md  # whole km² with thousands separators
    assert "target 30%" in md and "0.3" not in md.split("## Findings")[0]
