"""Gaps: the gap analysis of the existing network (tables, charts, hotspot and typology maps)."""

from __future__ import annotations

from typing import Any

from optimizer.app import common, labels
from optimizer.app.cache import SharedCache
from optimizer.app.ui import Ui

#: Table name -> heading, in the study's order.
_TABLES = {
    "carbon": "Carbon stock inside and outside protection",
    "time_series": "Carbon uptake and emissions over time",
    "growth": "Growth inside vs outside protection",
    "ecosystems": "Ecosystems against the target",
    "species": "Species against the target",
    "regions": "By region",
    "biodiversity": "Biodiversity summary",
    "hotspots": "Unprotected hotspots",
    "hotspots_by_region": "Hotspots by region",
    "typology": "Carbon × biodiversity typology",
}
_FIGURES = {"shares": "Share of each layer inside each zone",
            "density_ratio": "Density inside protection vs the whole area",
            "time_series": "Carbon uptake and emissions over time",
            "map_hotspots": "Unprotected hotspots", "map_typology": "Carbon × biodiversity typology"}


#: The gap analysis' figures as PNG, by grid key, drawn once per process.
FIGURES: SharedCache[dict[str, bytes]] = SharedCache(max_entries=4)


def _figures(key: str, report: Any) -> dict[str, bytes]:
    return FIGURES.get(key, lambda: {name: common.fig_png(fig)
                                     for name, fig in report.figures().items()})


def gaps_page(st: Ui) -> None:
    """Gaps: what the existing network protects and misses."""
    st.title("Gaps of the existing network")
    pu, key, _ = common.current(st)
    with st.spinner("Gap analysis of the existing network (once per grid)…"):
        report = common.gap_report(key, pu)
        figs = _figures(key, report)
    st.subheader("Findings")
    for line in report.findings:
        st.markdown(f"- {line}")
    st.subheader("Headline: carbon stock (Table 1)")
    if "carbon" in report.tables and len(report.tables["carbon"]):
        st.caption("Carbon stock by zone: share of the whole area's total; density ratio = zone "
                   "density / whole-area density (above 1: the zone holds more than its share).")
        carbon = report.tables["carbon"]
        keep = [c for c in ("layer", "zone", "area_km2", "total_MgC", "share", "density_kgC_m2",
                            "density_MgC_ha", "density_ratio") if c in carbon.columns]
        table, cfg = labels.readable(st, carbon[keep])
        st.dataframe(table, hide_index=True, column_config=cfg)
    else:
        st.info(report.headline())
    maps_tab, charts_tab, tables_tab = st.tabs(["Maps", "Charts", "Tables"])
    with maps_tab:
        for name in ("map_hotspots", "map_typology"):
            if name in figs:
                st.image(figs[name], caption=_FIGURES[name], width="stretch")
    with charts_tab:
        for name in ("shares", "density_ratio", "time_series"):
            if name in figs:
                st.image(figs[name], caption=_FIGURES[name], width="stretch")
    with tables_tab:
        st.caption("Units once, in the headers (shares in %); a header's tooltip says what the "
                   "column holds.")
        for name, heading in _TABLES.items():
            if name in report.tables and len(report.tables[name]):
                st.markdown(f"**{heading}**")
                table, cfg = labels.readable(st, report.tables[name])
                st.dataframe(table, hide_index=True, column_config=cfg)
    for note in report.notes:
        st.caption(note)
