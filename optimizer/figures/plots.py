"""Charts that the gap analysis, the report and the app share, and the colours of every figure.

One colour per zone (`ZONE_COLOURS`: whole / national_park / nature_reserve / protected /
unprotected, and any other category by a fixed colour of its name), per plan status
(`STATUS_COLOURS`: existing / added / locked out / free; existing is the protected
zone's colour), per hotspot criterion (`GAP_COLOURS`) and per synergy type
(`TYPE_COLOURS`), so a zone is the same colour in every figure; the unit of each
quantity on its axis, written as the console writes it (gC/m²/yr, kgC/m², km²); masses
on an axis in the prefix their magnitude reads best in (`mass_scale`: TgC, PgC, MtCO2e),
one unit per quantity. Every function takes plain frames and returns a
`matplotlib.figure.Figure`: matplotlib is imported inside the functions and no pyplot state
is used, so ``import optimizer`` never imports matplotlib. Maps are in
`optimizer.figures.maps`; `frontier_chart` draws a trade-off frontier, `curves_chart` the
performance curves of a priority rank or a plan.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.inputs.units import MASSES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CURVE_COLOURS",
    "CURVE_LABELS",
    "GAP_COLOURS",
    "NO_DATA_COLOUR",
    "STATUS_COLOURS",
    "TYPE_COLOURS",
    "TYPE_LABELS",
    "ZONE_COLOURS",
    "curves_chart",
    "frontier_chart",
    "mass_scale",
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


def mass_scale(values: np.ndarray | float, unit: str) -> tuple[float, str]:
    """The divisor and unit a mass reads best in on an axis: the SI prefix of
    `optimizer.inputs.units.MASSES` that puts the largest value between 1 and 1,000.

    Units that are not masses (``pct``, ``km2``) are left as they are (divisor 1). A
    ``tCO2e`` mass takes the prefixes of ``tCO2``.

    Examples
    --------
    >>> mass_scale([2.68e9, 1.94e9], "MgC")
    (1000000000.0, 'PgC')
    >>> mass_scale(2.4e8, "MgC"), mass_scale(3.1e9, "tCO2e"), mass_scale(55.0, "pct")
    ((1000000.0, 'TgC'), (1000000000.0, 'GtCO2e'), (1.0, 'pct'))
    """
    suffix = ""
    base = unit
    if base not in MASSES and base.endswith("e") and base[:-1] in MASSES:
        base, suffix = base[:-1], "e"
    if base not in MASSES:
        return 1.0, unit
    top = float(np.nanmax(np.abs(np.atleast_1d(np.asarray(values, dtype=np.float64))),
                          initial=0.0))
    names = MASSES[base]
    step = 0
    while top >= 1000.0 ** (step + 1) and step < len(names) - 1:
        step += 1
    return 1000.0 ** step, names[step] + suffix


def _axis_unit(unit: str) -> str:
    return "%" if unit == "pct" else pretty_unit(unit)


def frontier_chart(points: pd.DataFrame, a: str, b: str, *, a_title: str, a_unit: str,
                   b_title: str, b_unit: str, a_end: str, b_end: str, title: str,
                   knee: int | None = None, plan: tuple[float, float] | None = None,
                   plan_label: str = "this scenario's plan", note: str = "") -> Figure:
    """A trade-off frontier: metric ``a`` (y) against metric ``b`` (x), both maximised.

    Parameters
    ----------
    points : pandas.DataFrame
        The frontier's points (columns ``a`` and ``b``), from the most-``a`` end.
    a, b : str
        The columns drawn (y and x).
    a_title, b_title : str
        What each metric is, without its unit (e.g. ``carbon stock added``).
    a_unit, b_unit : str
        The unit of each column (``MgC``, ``tCO2e``, ``pct``); a mass is drawn in the prefix
        of its magnitude (`mass_scale`), named once in its axis label.
    a_end, b_end : str
        The names of the two ends (e.g. ``most carbon``, ``most representation``).
    title : str
        The title (with the budget).
    knee : int, optional
        Row of the knee (marked), when the frontier has one to show.
    plan : (float, float), optional
        ``(a, b)`` of the scenario's own plan, marked beside its frontier.
    note : str
        A line under the title (e.g. why there is no trade-off to read).

    Examples
    --------
    >>> pts = pd.DataFrame({"c": [2.6e9, 2.4e9, 1.9e9], "r": [25.0, 54.0, 66.0]})
    >>> fig = frontier_chart(pts, "c", "r", a_title="carbon stock added", a_unit="MgC",
    ...                      b_title="mean representation", b_unit="pct", a_end="most carbon",
    ...                      b_end="most representation", title="Frontier", plan=(2.5e9, 40.0))
    >>> ax = fig.axes[0]
    >>> ax.get_ylabel(), ax.get_xlabel()
    ('carbon stock added (PgC)', 'mean representation (%)')
    >>> [t.get_text() for t in ax.texts], ax.get_legend().get_texts()[-1].get_text()
    (['most carbon', 'most representation'], "this scenario's plan")
    """
    from matplotlib.figure import Figure

    va = points[a].to_numpy(dtype=np.float64)
    vb = points[b].to_numpy(dtype=np.float64)
    both_a = np.append(va, plan[0]) if plan is not None else va
    both_b = np.append(vb, plan[1]) if plan is not None else vb
    fa, ua = mass_scale(both_a, a_unit)
    fb, ub = mass_scale(both_b, b_unit)
    fig = Figure(figsize=(7.2, 4.8))
    ax = fig.add_subplot()
    ax.plot(vb / fb, va / fa, "-o", color="#2c7a4b", label="non-dominated plans")
    if "status" in points:
        short = ~points["status"].isin(["optimal", "within_gap"]).to_numpy()
        if short.any():
            ax.plot(vb[short] / fb, va[short] / fa, "o", color="white", mec="#2c7a4b", ms=6,
                    label="not proven within the gap")
    # The most-a end above its point, the most-b end to its right: never on the knee's label.
    ends = [(0, a_end, (6, 6), "left")]
    if len(va) > 1:
        ends.append((len(va) - 1, b_end, (8, -3), "left"))
    if knee is not None:
        ax.plot(vb[knee] / fb, va[knee] / fa, "s", color="#c0392b", ms=9, label="knee")
        ends.append((knee, "knee", (6, 6), "left"))
    for i, text, offset, ha in ends:
        ax.annotate(text, (vb[i] / fb, va[i] / fa), textcoords="offset points", xytext=offset,
                    ha=ha, fontsize=8)
    if plan is not None:  # named in the legend
        ax.plot([plan[1] / fb], [plan[0] / fa], "*", color="#e7298a", ms=14, label=plan_label)
    ax.margins(x=0.18, y=0.08)  # room for the ends' names inside the axes
    ax.set_xlabel(f"{b_title} ({_axis_unit(ub)})")
    ax.set_ylabel(f"{a_title} ({_axis_unit(ua)})")
    # Plain numbers, no "1e9" offset: the unit (its prefix) is in the label.
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)
    ax.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


#: Colour of each curve of the carbon accounting and of each group's mean, in `curves_chart`.
CURVE_COLOURS = {"carbon_stock_total": GAP_COLOURS["carbon"], "carbon_uptake_latest":
                 GAP_COLOURS["npp"], "emissions_latest": "#7570b3",
                 "mean_biodiversity": GAP_COLOURS["biodiversity"], "mean_carbon": "#a6761d",
                 "mean_ecosystem": "#1f78b4"}
#: Legend label of those curves.
CURVE_LABELS = {"carbon_stock_total": "carbon stock", "carbon_uptake_latest": "NPP (latest year)",
                "emissions_latest": "emissions (latest year)",
                "mean_biodiversity": "biodiversity (mean of features)",
                "mean_carbon": "carbon layers (mean)", "mean_ecosystem": "ecosystems (mean)"}


def curves_chart(curves: pd.DataFrame, *, title: str = "Performance curves",
                 max_features: int = 40) -> Figure:
    """Performance curves: ``held_pct`` of each curve against ``area_pct`` (Zonation's figure).

    Parameters
    ----------
    curves : pandas.DataFrame
        A curves table (`optimizer.plan.curves.CURVE_COLUMNS`). The ``along="rank"`` rows
        are drawn as lines (without them, the ``along="plan"`` rows, as points joined);
        the plan's points (``along="plan"``, past the start) are marked by a dashed
        vertical line, labelled with their share of the study area.
    title : str
        The title.
    max_features : int
        Single features drawn as thin grey lines when there are at most this many (the
        groups' means and the carbon accounting are always drawn).

    Examples
    --------
    >>> c = pd.DataFrame({"along": ["rank"] * 3 + ["plan"] * 2, "curve": "carbon_stock_total",
    ...                   "kind": "quantity", "area_pct": [10.0, 50.0, 100.0, 10.0, 30.0],
    ...                   "held_pct": [20.0, 80.0, 100.0, 20.0, 60.0]})
    >>> ax = curves_chart(c).axes[0]
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('share of the study area protected (%)', ['carbon stock', 'the plan: 30% of the area'])
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 4.8))
    ax = fig.add_subplot()
    along = "rank" if (curves["along"] == "rank").any() else "plan"
    drawn = curves[curves["along"] == along]
    style = "-" if along == "rank" else "-o"
    feats = drawn[drawn["kind"] == "feature"]
    if 0 < feats["curve"].nunique() <= max_features:
        for i, (_, f) in enumerate(feats.groupby("curve", sort=False)):
            ax.plot(f["area_pct"], f["held_pct"], style, color="#bdbdbd", lw=0.7, ms=3,
                    label="single features" if i == 0 else None)
    for name, f in drawn[drawn["kind"] != "feature"].groupby("curve", sort=False):
        key = str(name)
        ax.plot(f["area_pct"], f["held_pct"], style, lw=2.2 if key.startswith("mean_") else 1.8,
                color=CURVE_COLOURS.get(key, zone_colour(key)), ms=4,
                label=CURVE_LABELS.get(key, key))
    if along == "rank":
        plans = curves[(curves["along"] == "plan") & (curves["point"] > 0)] if "point" in curves \
            else curves[curves["along"] == "plan"].iloc[1:]
        for j, pct in enumerate(sorted(set(plans["area_pct"].round(6)))):
            ax.axvline(pct, color=STATUS_COLOURS["added"], ls="--", lw=1.2,
                       label=f"the plan: {pct:.3g}% of the area" if j == 0 else None)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.set_xlabel("share of the study area protected (%)")
    ax.set_ylabel("share of the national total held (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
