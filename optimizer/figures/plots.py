"""Charts that the gap analysis, the report and the app share, and the colours of every figure.

One colour per zone (`ZONE_COLOURS`: whole / national_park / nature_reserve / protected /
unprotected, and any other category by a fixed colour of its name), per plan status
(`STATUS_COLOURS`: existing / added / locked out / free; existing is the protected
zone's colour), per hotspot criterion (`GAP_COLOURS`) and per synergy type
(`TYPE_COLOURS`), so a zone is the same colour in every figure; the unit of each
quantity on its axis, written as the console writes it (gC/m²/yr, kgC/m², km²). Every
function takes plain frames and returns a `matplotlib.figure.Figure`: matplotlib is
imported inside the functions and no pyplot state is used, so ``import optimizer`` never
imports matplotlib. Maps are in `optimizer.figures.maps`.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GAP_COLOURS",
    "NO_DATA_COLOUR",
    "STATUS_COLOURS",
    "TYPE_COLOURS",
    "TYPE_LABELS",
    "ZONE_COLOURS",
    "pretty_unit",
    "time_series_chart",
    "zone_bar_chart",
    "zone_colour",
]

#: Colour of each zone of a gap analysis, in every chart and map.
ZONE_COLOURS = {"whole": "#525252", "national_park": "#00441b", "nature_reserve": "#5aae61",
                "protected": "#2166ac", "unprotected": "#f4a582"}
#: Colour of each unit status of a plan (existing = the protected zone's colour).
STATUS_COLOURS = {"existing": ZONE_COLOURS["protected"], "added": "#e7298a",
                  "locked out": "#8c510a", "free": "#f0f0f0"}
#: Colour of units without data, in every map (a "no data" legend entry).
NO_DATA_COLOUR = "#bdbdbd"
#: Colour of the unprotected hotspots of each criterion.
GAP_COLOURS = {"carbon": "#d95f02", "npp": "#e6ab02", "biodiversity": "#1b9e77"}
#: Colour of each synergy type.
TYPE_COLOURS = {"synergy": "#7b3294", "carbon": "#d95f02", "biodiversity": "#1b9e77",
                "low": "#f0f0f0", "no_data": NO_DATA_COLOUR}
#: Legend label of each synergy type.
TYPE_LABELS = {"synergy": "synergy: high carbon and biodiversity",
               "carbon": "carbon-dominant (carbon park candidates)",
               "biodiversity": "biodiversity-dominant", "low": "low carbon and biodiversity",
               "no_data": "no data"}
_OTHER = ["#8073ac", "#b35806", "#35978f", "#c51b7d", "#7f3b08", "#01665e", "#762a83"]


def zone_colour(zone: str) -> str:
    """The colour of a zone in every figure: `ZONE_COLOURS`, else fixed by its name.

    Examples
    --------
    >>> zone_colour("protected")
    '#2166ac'
    >>> zone_colour("biosphere_reserve") == zone_colour("biosphere_reserve")
    True
    """
    if zone in ZONE_COLOURS:
        return ZONE_COLOURS[zone]
    return _OTHER[zlib.crc32(str(zone).encode()) % len(_OTHER)]


def pretty_unit(unit: str) -> str:
    """A unit as the console writes it: ``m2`` -> ``m²``, ``km2`` -> ``km²``.

    Examples
    --------
    >>> pretty_unit("gC/m2/yr"), pretty_unit("tCO2/km2/yr")
    ('gC/m²/yr', 'tCO2/km²/yr')
    """
    out = []
    for part in str(unit).split("/"):
        out.append(part[:-1] + "²" if part in ("m2", "km2", "ha2") else part)
    return "/".join(out)


def zone_bar_chart(df: pd.DataFrame, value: str, ylabel: str, title: str,
                   hline: float | None = None) -> Figure:
    """Bars of ``value`` per layer, one bar per zone in each group, coloured by `zone_colour`.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy rows with ``layer``, ``zone`` and the ``value`` column (e.g. a carbon
        table's ``share`` or ``density_ratio``), in the order groups and bars show.
    value, ylabel, title : str
        The column drawn, the y-axis label (with its unit) and the title.
    hline : float, optional
        A dashed reference line (e.g. 1.0 for a density ratio).

    Examples
    --------
    >>> df = pd.DataFrame({"layer": ["biomass", "biomass"], "zone": ["protected", "unprotected"],
    ...                    "share": [8.0, 92.0]})
    >>> fig = zone_bar_chart(df, "share", "share of whole-area total (%)", "Shares")
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'protected'
    """
    from matplotlib.figure import Figure

    zones_ = list(dict.fromkeys(df["zone"]))
    layers = list(dict.fromkeys(df["layer"]))
    fig = Figure(figsize=(max(6, 1.2 * len(layers) * max(1, len(zones_)) ** 0.5 + 3), 4))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(zones_))
    x = np.arange(len(layers))
    for i, zone in enumerate(zones_):
        sub = df[df["zone"] == zone].set_index("layer").reindex(layers)
        ax.bar(x + i * width - 0.4 + width / 2, sub[value].to_numpy(dtype=float), width,
               label=zone, color=zone_colour(zone))
    if hline is not None:
        ax.axhline(hline, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, layers, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def time_series_chart(series: pd.DataFrame) -> Figure:
    """Density per year and zone, one panel per layer with years, coloured by `zone_colour`.

    Parameters
    ----------
    series : pandas.DataFrame
        A `optimizer.gap.time_series_table` (``layer``, ``year``, ``zone``,
        ``density``, ``density_unit``) with at least one year.

    Examples
    --------
    >>> ts = pd.DataFrame({"layer": "npp", "year": [2000, 2020], "zone": "whole",
    ...                    "density": [300.0, 330.0], "density_unit": "gC/m2/yr"})
    >>> time_series_chart(ts).axes[0].get_ylabel()
    'NPP density (gC/m²/yr)'
    """
    from matplotlib.figure import Figure

    ts = series
    layers = list(dict.fromkeys(ts.loc[ts["year"].notna(), "layer"]))
    fig = Figure(figsize=(5 * len(layers), 4))
    for i, layer in enumerate(layers, start=1):
        ax = fig.add_subplot(1, len(layers), i)
        sub = ts[(ts["layer"] == layer) & ts["year"].notna()]
        for zone, g in sub.groupby("zone", sort=False):
            ax.plot(g["year"].astype(int), g["density"], marker="o", label=zone,
                    color=zone_colour(str(zone)))
        ax.set_title(layer)
        ax.set_xlabel("year")
        name = "NPP" if str(layer).lower() == "npp" else str(layer)
        ax.set_ylabel(f"{name} density ({pretty_unit(sub['density_unit'].iloc[0])})")
        ax.legend(fontsize=8)
    return fig
