"""The whole gap analysis: every table the grid has inputs for, in one `GapReport`.

`gap_analysis` runs the study's tables (`optimizer.gap.tables`) over the zones of a
network (`optimizer.gap.zoning`), the unprotected hotspots and the synergy typology
(`optimizer.gap.ranking`), and collects them in a `GapReport` with one-line findings
(the density ratio of each layer inside protection, growth inside vs outside, species
and ecosystems below target, where the hotspots lie). `GapReport.write` writes CSVs,
per-unit values, a Markdown summary (`optimizer.gap.markdown`) and PNG figures
(`optimizer.figures.plots`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.atomic import write_dir_atomic
from optimizer.errors import InputDataError
from optimizer.figures import maps, plots
from optimizer.gap.columns import check_pu, check_share, features_of
from optimizer.gap.markdown import gap_summary_markdown
from optimizer.gap.ranking import TYPES, hotspots, plain, synergy_typology, unit_values
from optimizer.gap.tables import (
    biodiversity_summary,
    carbon_table,
    ecosystem_table,
    format_carbon_table,
    growth_table,
    region_table,
    richness_column,
    species_table,
    time_series_table,
)
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, zones
from optimizer.grid.build import PlanningUnits

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = ["GapReport", "gap_analysis"]


# ============================================================== report

@dataclass
class GapReport:
    """All tables of a gap analysis, with export to CSV, Markdown and PNG.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        Tidy tables by name: ``carbon``, ``time_series``, ``growth``, ``ecosystems``,
        ``regions``, ``species``, ``biodiversity``, ``hotspots``,
        ``hotspots_by_region``, ``typology`` (those the grid has inputs for).
    units : pandas.DataFrame
        Per-unit values, hotspot flags and ``synergy_type``, aligned with the grid's
        units (the map layer without geometry).
    findings : list of str
        One-line findings (the density ratio of each layer inside protection ...).
    notes : list of str
        What was skipped and why.
    settings : dict
        The arguments of the analysis.
    geometry : geopandas.GeoSeries, optional
        Unit geometries, for `map_layer` and maps of non-square grids.
    """

    tables: dict[str, pd.DataFrame]
    units: pd.DataFrame
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None

    def headline(self) -> str:
        """The carbon table (Table 1 style) as text, or a note when there is none."""
        if "carbon" in self.tables:
            return format_carbon_table(self.tables["carbon"])
        return "no carbon_stock layer: no carbon table"

    def map_layer(self) -> gpd.GeoDataFrame:
        """Per-unit values, flags and types with the unit geometries (for GIS or maps)."""
        import geopandas as gpd

        if self.geometry is None:
            raise InputDataError("this GapReport holds no geometry; run gap_analysis on a grid")
        return gpd.GeoDataFrame(self.units.copy(), geometry=self.geometry.values,
                                crs=self.geometry.crs)

    def to_markdown(self, figures: Sequence[str] = ()) -> str:
        """A Markdown summary: findings, the ``figures`` (PNG stems beside it), every table."""
        return gap_summary_markdown(self.tables, self.findings, self.notes, self.settings,
                                    figures)

    def figures(self) -> dict[str, Figure]:
        """Figures by file stem: shares, density ratios, time series, maps."""
        figs: dict[str, Figure] = {}
        ind = _indicator_rows(self.tables)
        if len(ind):
            sh = ind.assign(share=100 * ind["share"])
            figs["shares"] = plots.zone_bar_chart(sh, "share", "share of whole-area total (%)",
                                                  "Share of each layer inside each zone")
            figs["density_ratio"] = plots.zone_bar_chart(
                ind, "density_ratio", "zone density / whole-area density",
                "Density inside vs whole area", hline=1.0)
        ts = self.tables.get("time_series")
        if ts is not None and len(ts) and ts["year"].notna().any():
            figs["time_series"] = plots.time_series_chart(ts)
        if "gap_any" in self.units:
            figs["map_hotspots"] = maps.hotspot_map(
                self.units, top=self.settings.get("top", 0.1),
                pa_threshold=float(self.settings.get("pa_threshold", 0.5)), geometry=self.geometry,
                value_units=self.settings.get("value_units"))
        if "synergy_type" in self.units:
            figs["map_typology"] = maps.typology_map(self.units, TYPES, geometry=self.geometry,
                                                     subtitle=typology_subtitle(self.settings))
        return figs

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write every table as CSV, ``summary.md``, per-unit values and PNG figures.

        Files: ``<table>.csv`` per table, ``units.parquet`` (per-unit values, hotspot
        flags and synergy type, keyed by ``pu_id``: join it to the grid for a map),
        ``gap_units.csv`` (the unprotected hotspot units), ``summary.md`` and
        ``shares.png``, ``density_ratio.png``, ``time_series.png``,
        ``map_hotspots.png``, ``map_typology.png`` (those the data allow), and the
        output marker ``carbonpark-output.json``.

        The folder is written beside ``out_dir`` and renamed into place, so a reader
        never sees a half-written report and a failed write leaves the old one intact.

        Parameters
        ----------
        out_dir : str or Path
            The report folder: new, empty, or a gap report written earlier by carbonpark.
        overwrite : bool
            Replace whatever is at ``out_dir`` (a file, a folder of other things).

        Returns
        -------
        list of pathlib.Path
            The files written.

        Raises
        ------
        OutputError
            ``out_dir`` is taken by something that is not a carbonpark gap report (and
            ``overwrite`` is False), or writing failed.
        """
        names: list[str] = []

        def fill(tmp: Path) -> None:
            def text(name: str, content: str) -> None:
                (tmp / name).write_text(content, encoding="utf-8", newline="")
                names.append(name)

            for name, df in self.tables.items():
                text(f"{name}.csv", df.to_csv(index=False))
            # Per-unit values as Parquet (a CSV of a million units takes seconds to write);
            # the gap units alone, the table a planner reads, as CSV.
            frame = self.units.copy()
            frame.attrs = {}  # attrs of nested dicts are not Parquet metadata
            frame.to_parquet(tmp / "units.parquet", index=False)
            names.append("units.parquet")
            if "gap_any" in self.units:
                gaps = self.units[self.units["gap_any"].to_numpy()]
                text("gap_units.csv", gaps.to_csv(index=False))
            stems = []
            for name, fig in self.figures().items():
                fig.savefig(tmp / f"{name}.png", format="png", dpi=110, bbox_inches="tight")
                names.append(f"{name}.png")
                stems.append(name)
            text("summary.md", self.to_markdown(stems))

        out = write_dir_atomic(out_dir, "gap", fill, overwrite=overwrite)
        return [out / name for name in names]


# ============================================================== figures

def typology_subtitle(settings: Mapping[str, Any]) -> str:
    """How the typology's classes were drawn, for the map's subtitle."""
    if settings.get("typology") == "kmeans":
        return "k-means (k = 4) on standardised carbon density and biodiversity value"
    q = float(settings.get("quantile", 2 / 3))
    return (f"high = at or above the {q:.0%} area-weighted quantile of carbon stock density "
            "(kgC/m²) and of biodiversity value")


def _indicator_rows(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Carbon layers + latest year of each time-series layer, zones other than whole."""
    parts = []
    if "carbon" in tables:
        parts.append(tables["carbon"][["layer", "zone", "share", "density_ratio"]])
    ts = tables.get("time_series")
    if ts is not None and len(ts):
        last = ts[ts["year"].isna() | (ts["year"] == ts.groupby("layer")["year"].transform("max"))]
        last = last.assign(layer=[f"{lay} {y}" if pd.notna(y) else lay
                                  for lay, y in zip(last["layer"], last["year"], strict=True)])
        parts.append(last[["layer", "zone", "share", "density_ratio"]])
    if not parts:
        return pd.DataFrame(columns=["layer", "zone", "share", "density_ratio"])
    df = pd.concat(parts, ignore_index=True)
    return df[df["zone"] != WHOLE]


# ============================================================== the whole analysis

def _findings(tables: dict[str, pd.DataFrame]) -> list[str]:
    out = []
    carbon = tables.get("carbon")
    if carbon is not None:
        for _, r in carbon[carbon["zone"] == PROTECTED].iterrows():
            out.append(f"{r['layer']} density inside protection is {r['density_ratio']:.2f}x the "
                       f"whole area ({r['share']:.1%} of its stock on {r['area_share']:.1%} of the "
                       "land)")
    ts = tables.get("time_series")
    if ts is not None and len(ts):
        for layer, g in ts.groupby("layer", sort=False):
            last = g[g["year"] == g["year"].max()] if g["year"].notna().any() else g
            r = last[last["zone"] == PROTECTED].iloc[0]
            when = f" in {int(r['year'])}" if pd.notna(r["year"]) else ""
            out.append(f"{layer} density inside protection{when} is {r['density_ratio']:.2f}x the "
                       f"whole area ({r['share']:.1%} of the total)")
    growth = tables.get("growth")
    if growth is not None and len(growth):
        span = growth[growth["span"]]
        for layer, g in span.groupby("layer", sort=False):
            gi = g[g["zone"] == PROTECTED]
            go = g[g["zone"] == UNPROTECTED]
            if len(gi) and len(go):
                a, b = gi.iloc[0], go.iloc[0]
                out.append(f"{layer} {a['start_year']}–{a['end_year']}: "
                           f"{a['annual_rate_pct']:+.2f}%/yr inside protection vs "
                           f"{b['annual_rate_pct']:+.2f}%/yr outside")
    sp = tables.get("species")
    if sp is not None and len(sp):
        out.append(f"{int(sp['meets_target'].sum())} of {len(sp)} species features have at least "
                   f"{float(sp['target'].iloc[0]):.0%} of their range protected")
    eco = tables.get("ecosystems")
    if eco is not None and len(eco):
        short = eco[~eco["meets_target"]].sort_values("shortfall_km2", ascending=False)
        if len(short):
            out.append("ecosystems below target: " + ", ".join(
                f"{r['ecosystem']} ({r['share_protected']:.1%}, short {r['shortfall_km2']:,.0f} km²)"
                for _, r in short.iterrows()))
    hs, hr = tables.get("hotspots"), tables.get("hotspots_by_region")
    if hs is not None and len(hs):
        for _, r in hs[hs["criterion"] != "any"].iterrows():
            where = ""
            if hr is not None and len(hr):
                sub = hr[hr["criterion"] == r["criterion"]].head(2)
                if len(sub):
                    where = "; mostly in " + " and ".join(
                        f"{x['region']} ({x['share_of_gap_area']:.0%})" for _, x in sub.iterrows())
            out.append(f"{r['gap_area_km2']:,.0f} km² of top {r['criterion']} units lie outside "
                       f"protection ({int(r['gap_units']):,} units{where})")
    return out


def gap_analysis(
    pu: PlanningUnits,
    *,
    network: str | Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    combine: Mapping[str, Sequence[str]] | None = None,
    target: float = 0.3,
    top: float = 0.1,
    pa_threshold: float = 0.5,
    typology: str = "quantile",
    quantile: float = 2 / 3,
    bio_value: str = "auto",
    total_unit: str | None = None,
    seed: int = 0,
) -> GapReport:
    """Run every gap table the grid has inputs for and collect them in a `GapReport`.

    Parameters
    ----------
    pu : PlanningUnits
        Grid with a protected layer.
    network, categories
        The protected network and the categories reported (see `zones`).
    combine : mapping, optional
        Combined carbon stocks (see `carbon_table`; default "ecosystem" = all).
    target : float
        Target protected share for ecosystems and species (default 0.3).
    top : float
        Hotspot share (default 0.1 = top 10% of the area).
    pa_threshold : float
        Protected fraction below which a unit counts as unprotected (default 0.5).
    typology : {"quantile", "kmeans"}
    quantile : float
        Threshold quantile of the quantile typology (default 2/3: upper tercile).
    bio_value : {"auto", "richness", "rarity"}
        See `unit_values`.
    total_unit : str, optional
        Unit of carbon stock totals (MgC ... PgC; default chosen to be readable).
    seed : int
        Seed of k-means.

    Returns
    -------
    GapReport

    Raises
    ------
    InputDataError
        Any bad argument (named in the message), or a grid without a protected layer.

    Examples
    --------
    >>> from optimizer.datasets import demo_grid
    >>> from optimizer.gap import gap_analysis
    >>> report = gap_analysis(demo_grid(80))  # the demo country on 80 km cells
    >>> t = report.tables["carbon"].set_index(["layer", "zone"])
    >>> round(float(t.loc[("biomass", "protected"), "share"]), 4)  # of the biomass carbon
    0.0739
    """
    pu = check_pu(pu)
    target = check_share("target", target)
    top = check_share("top", top, open_low=True)
    pa_threshold = check_share("pa_threshold", pa_threshold, open_low=True)
    quantile = check_share("quantile", quantile, open_low=True, open_high=True)
    if typology not in ("quantile", "kmeans"):
        raise InputDataError(f"typology must be 'quantile' or 'kmeans'; got {typology!r}")
    z = zones(pu, network=network, categories=categories)
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    has_stock = not features_of(pu, "carbon_stock").empty
    if has_stock:
        tables["carbon"] = carbon_table(pu, combine=combine, total_unit=total_unit, zones_=z)
    else:
        notes.append("no carbon_stock layer: carbon table, typology and carbon columns skipped")
    ts = time_series_table(pu, zones_=z)
    if len(ts):
        tables["time_series"] = ts
        growth = growth_table(ts)
        if len(growth):
            tables["growth"] = growth
    else:
        notes.append("no carbon_uptake or emissions layer: no time series")
    if not features_of(pu, "land_cover").empty:
        tables["ecosystems"] = ecosystem_table(pu, target=target, zones_=z)
    else:
        notes.append("no land_cover layer: no ecosystem representation table")
    if "region" in pu.units.columns and pu.units["region"].notna().any():
        tables["regions"] = region_table(pu, zones_=z)
    else:
        notes.append("no region layer: no per-region table")
    species = species_table(pu, target=target, zones_=z)
    if len(species):
        tables["species"] = species
    if len(species) or richness_column(pu) is not None:
        tables["biodiversity"] = biodiversity_summary(pu, species, target=target, zones_=z)
    else:
        notes.append("no biodiversity layer: no species table")
    values = unit_values(pu, bio_value=bio_value)
    # The hotspot flags follow the analysis' network, not always the grid's union.
    # (The grid's column itself when that is what the zones use: shared, not copied.)
    grid_pa = pu.units["pa_fraction"] if "pa_fraction" in pu.units.columns else None
    values["pa_fraction"] = (plain(grid_pa) if grid_pa is not None and grid_pa.dtype == float
                             and np.shares_memory(z.protected, grid_pa.to_numpy())
                             else z.protected)
    hs, flags, by_region = hotspots(pu, top=top, pa_threshold=pa_threshold, values=values)
    if len(hs):
        tables["hotspots"] = hs
        tables["hotspots_by_region"] = by_region
    if "carbon_kgC_m2" in values and "bio_value" in values:
        typ, types = synergy_typology(pu, method=typology, quantile=quantile, values=values,
                                      seed=seed, zones_=z)
        tables["typology"] = typ
        flags["synergy_type"] = types.array
    else:
        notes.append("typology needs carbon_stock and biodiversity layers: skipped")
    for c in ("row", "col", "region"):
        if c in pu.units.columns:  # the grid's column itself (copy-on-write): no copy
            flags[c] = plain(pu.units[c])
    settings = {"network": list(z.network), "categories": [n for n, k in zip(z.names, z.kinds,
                                                                                strict=True)
                                                            if k == "category"],
                "target": target, "top": top, "pa_threshold": pa_threshold, "typology": typology,
                "quantile": quantile, "bio_value": bio_value, "seed": seed,
                "value_units": flags.attrs.get("units", {}),
                "value_sources": flags.attrs.get("sources", {})}
    return GapReport(tables=tables, units=flags, findings=_findings(tables), notes=notes,
                     settings=settings, geometry=pu.units.geometry)
