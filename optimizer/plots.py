"""Figures that the gap analysis, the report and the app share.

One colour per criterion and per synergy type (`GAP_COLOURS`, `TYPE_COLOURS`), the
unit of each quantity on its axis, maps with a legend. Every function takes plain
frames (per-unit values aligned with the grid's units, tidy tables) and returns a
`matplotlib.figure.Figure`: matplotlib is imported inside the functions and no pyplot
state is used (a figure saved as PNG is drawn with Agg), so ``import optimizer`` never
imports matplotlib.

Maps draw a square grid as a raster from its ``row`` and ``col`` columns, with the
outline of units protected at 50% or more; other grids are drawn from their geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GAP_COLOURS",
    "TYPE_COLOURS",
    "category_map",
    "hotspot_map",
    "time_series_chart",
    "typology_map",
    "unit_raster",
    "zone_bar_chart",
]

#: Colour of the unprotected hotspots of each criterion.
GAP_COLOURS = {"carbon": "#d95f02", "npp": "#e6ab02", "biodiversity": "#1b9e77"}
#: Colour of each synergy type.
TYPE_COLOURS = {"synergy": "#7b3294", "carbon": "#d95f02", "biodiversity": "#1b9e77",
                "low": "#d4d4d4", "no_data": "#ffffff"}


def zone_bar_chart(df: pd.DataFrame, value: str, ylabel: str, title: str,
                   hline: float | None = None) -> Figure:
    """Bars of ``value`` per layer, one bar per zone in each group.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy rows with ``layer``, ``zone`` and the ``value`` column (e.g. a carbon
        table's ``share`` or ``density_ratio``), in the order groups and bars show.
    value, ylabel, title : str
        The column drawn, the y-axis label (with its unit) and the title.
    hline : float, optional
        A dashed reference line (e.g. 1.0 for a density ratio).
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
        ax.bar(x + i * width - 0.4 + width / 2, sub[value].to_numpy(dtype=float), width, label=zone)
    if hline is not None:
        ax.axhline(hline, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, layers, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def time_series_chart(series: pd.DataFrame) -> Figure:
    """Density per year and zone, one panel per layer with years.

    Parameters
    ----------
    series : pandas.DataFrame
        A `optimizer.gap.time_series_table` (``layer``, ``year``, ``zone``,
        ``density``, ``density_unit``) with at least one year.
    """
    from matplotlib.figure import Figure

    ts = series
    layers = list(dict.fromkeys(ts.loc[ts["year"].notna(), "layer"]))
    fig = Figure(figsize=(5 * len(layers), 4))
    for i, layer in enumerate(layers, start=1):
        ax = fig.add_subplot(1, len(layers), i)
        sub = ts[(ts["layer"] == layer) & ts["year"].notna()]
        for zone, g in sub.groupby("zone", sort=False):
            ax.plot(g["year"].astype(int), g["density"], marker="o", label=zone)
        ax.set_title(layer)
        ax.set_xlabel("year")
        ax.set_ylabel(f"density ({sub['density_unit'].iloc[0]})")
        ax.legend(fontsize=8)
    return fig


def unit_raster(units: pd.DataFrame, values: np.ndarray) -> np.ndarray | None:
    """Per-unit ``values`` as a 2-D array by the units' ``row`` and ``col`` (NaN where no
    unit), or None when the units have no ``row``/``col`` (not a square grid)."""
    if "row" not in units or "col" not in units:
        return None
    rows, cols = units["row"].to_numpy(), units["col"].to_numpy()
    grid = np.full((int(rows.max()) + 1, int(cols.max()) + 1), np.nan)
    grid[rows, cols] = values
    return grid


def category_map(units: pd.DataFrame, codes: np.ndarray, labels: Sequence[str],
                 colours: Sequence[str], title: str, *, geometry: Any = None) -> Figure:
    """A map of one category per unit, with the outline of units protected at 50% or more.

    Parameters
    ----------
    units : pandas.DataFrame
        Per-unit frame with ``pa_fraction`` (and ``row``, ``col`` on a square grid).
    codes : numpy.ndarray
        Category of each unit, an index into ``labels`` and ``colours``.
    labels, colours : sequence of str
        Legend label and colour of each category; the legend lists those present.
    title : str
    geometry : geopandas.GeoSeries, optional
        Unit geometries, aligned with ``units``: the map of a grid without
        ``row``/``col`` (without either, the map is empty but for its legend).
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(8.5, 6))
    ax = fig.add_subplot()
    cmap = ListedColormap(list(colours))
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))
    raster = unit_raster(units, codes.astype(float))
    pa = units["pa_fraction"].to_numpy()
    if raster is not None:
        ax.imshow(raster, cmap=cmap, norm=norm, interpolation="nearest")
        prot = unit_raster(units, pa)
        if prot is not None and np.nanmax(prot) >= 0.5:
            ax.contour(np.nan_to_num(prot), levels=[0.5], colors="k", linewidths=0.5)
    elif geometry is not None:
        import geopandas as gpd

        gdf = gpd.GeoDataFrame({"_code": codes}, geometry=geometry.values, crs=geometry.crs)
        gdf.plot(ax=ax, column="_code", cmap=cmap, norm=norm, linewidth=0)
        gdf[pa >= 0.5].boundary.plot(ax=ax, color="k", linewidth=0.3)
    ax.set_axis_off()
    ax.set_title(title)
    present = set(np.unique(codes).tolist())
    ax.legend(handles=[Patch(facecolor=c, edgecolor="0.5", label=lab)
                       for k, (lab, c) in enumerate(zip(labels, colours, strict=True))
                       if k in present],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              title="black line: protected ≥ 50%", title_fontsize=7)
    return fig


def hotspot_map(units: pd.DataFrame, *, top: float = 0.1, pa_threshold: float = 0.5,
                geometry: Any = None) -> Figure:
    """A map of the unprotected hotspots: each criterion's alone, two or more, protected.

    Parameters
    ----------
    units : pandas.DataFrame
        Hotspot flags (``gap_carbon``, ``gap_npp``, ``gap_biodiversity``, those there
        are) and ``pa_fraction`` per unit: the ``flags`` of `optimizer.gap.hotspots`.
    top : float
        The hotspots' top share, for the title.
    pa_threshold : float
        Units protected at this fraction or more are drawn as protected.
    geometry : geopandas.GeoSeries, optional
        See `category_map`.
    """
    crit = [c for c in ("carbon", "npp", "biodiversity") if f"gap_{c}" in units]
    n_gaps = sum(units[f"gap_{c}"].to_numpy().astype(int) for c in crit)
    code = np.zeros(len(units), dtype=int)  # 0 other
    code[units["pa_fraction"].to_numpy() >= pa_threshold] = 1
    for k, c in enumerate(crit, start=2):
        code[units[f"gap_{c}"].to_numpy() & (n_gaps == 1)] = k
    code[n_gaps >= 2] = len(crit) + 2
    labels = ["other", "protected", *[f"gap: {c}" for c in crit], "gap: 2+ criteria"]
    colours = ["#f0f0f0", "#9e9e9e", *[GAP_COLOURS[c] for c in crit], "#7b3294"]
    return category_map(units, code, labels, colours, f"Unprotected hotspots (top {top:.0%})",
                        geometry=geometry)


def typology_map(units: pd.DataFrame, types: Sequence[str], *, geometry: Any = None) -> Figure:
    """A map of the carbon x biodiversity synergy type of each unit.

    Parameters
    ----------
    units : pandas.DataFrame
        ``synergy_type`` and ``pa_fraction`` per unit.
    types : sequence of str
        The types in legend order (`optimizer.gap.TYPES`), each with a colour in
        `TYPE_COLOURS`.
    geometry : geopandas.GeoSeries, optional
        See `category_map`.
    """
    code = pd.Categorical(units["synergy_type"], categories=list(types)).codes
    return category_map(units, code, list(types), [TYPE_COLOURS[t] for t in types],
                        "Carbon x biodiversity typology", geometry=geometry)
