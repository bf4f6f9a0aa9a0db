"""Maps that the gap analysis, the report and the app share: planner-ready by default.

Every map has a legend with one entry per class (a "no data" class for units without
data, always listed), the outline and name of each region (the units dissolved by
``region``), the outline of units protected at 50% or more, a scale bar and a north
arrow (projected grids), and the CRS and cell size written under it. Colours come from
`optimizer.figures.plots` (one colour per zone and per plan status in every figure).

A square grid (``row`` and ``col`` columns) is drawn as a raster placed at its real
coordinates (so outlines, scale and labels line up), without decoding its polygons: the
placement comes from a handful of units' bounds (`optimizer.figures.raster.grid_placement`),
region and park outlines from their code rasters (cell edges where the code changes), names
at a cell of each group, the protected outline as a contour of the protected-share raster.
A national grid of 10 million units is drawn in seconds (``benchmarks/bench_national_map.py``).
Other grids are drawn from their geometry (regions and parks dissolved).
Like `optimizer.figures.plots`, matplotlib is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from optimizer.figures.plots import (
    GAP_COLOURS,
    NO_DATA_COLOUR,
    STATUS_COLOURS,
    TYPE_COLOURS,
    TYPE_LABELS,
    ZONE_COLOURS,
    pretty_unit,
)
from optimizer.figures.raster import (
    GridPlacement,
    code_raster,
    grid_placement,
    label_cells,
    outline_segments,
    rgba_image,
    thinned,
    unit_raster,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "IMPORTANCE_MAP_TEXT",
    "NO_DATA",
    "category_map",
    "hotspot_map",
    "importance_map",
    "parks_map",
    "plan_map",
    "typology_map",
    "unit_raster",
]

#: The legend label of units without data, in every map.
NO_DATA = "no data"
_REGION_LINE = "#4d4d4d"
_CRITERION_NAMES = {"carbon": "carbon stock density", "npp": "NPP density",
                    "biodiversity": "biodiversity value"}
_CRITERION_COLUMNS = {"carbon": "carbon_kgC_m2", "npp": "npp_gC_m2_yr", "biodiversity": "bio_value"}


def _crs_text(geometry: Any, units: pd.DataFrame, place: GridPlacement | None = None) -> str:
    """'CRS: Albers Equal Area (metre); cells 40 km' or a note that there is none."""
    crs = getattr(geometry, "crs", None)
    if crs is None:
        return "no CRS: scale unknown"
    name = crs.name
    if not name or name == "unknown":
        op = getattr(crs, "coordinate_operation", None)
        name = op.method_name if op is not None else "custom projection"
    epsg = crs.to_epsg()
    unit = crs.axis_info[0].unit_name if crs.axis_info else "?"
    text = f"CRS: {name}{f' (EPSG:{epsg})' if epsg else ''}, {unit}"
    if crs.is_projected and "row" in units:
        if place is None:
            place = grid_placement(units, geometry)
        if place is not None:
            side = place.cell_size * crs.axis_info[0].unit_conversion_factor
            text += f"; cells {side / 1000:,.3g} km"
    return text


def _scale_bar(ax: Axes, geometry: Any) -> None:
    """A black-and-white bar of a round length in km, bottom left; a north arrow top right."""
    crs = getattr(geometry, "crs", None)
    if crs is None or not crs.is_projected:
        return
    to_m = crs.axis_info[0].unit_conversion_factor
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width_km = (x1 - x0) * to_m / 1000.0
    target = width_km / 5.0
    k = 10 ** np.floor(np.log10(target))
    nice = max(n * k for n in (1, 2, 5) if n * k <= target)
    length = nice * 1000.0 / to_m
    bx, by, bh = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0), 0.012 * (y1 - y0)
    for i in range(2):
        ax.add_patch(_rect((bx + i * length / 2, by), length / 2, bh,
                           "k" if i == 0 else "w"))
    ax.text(bx + length / 2, by + 2.2 * bh, f"{nice:,.0f} km", ha="center", va="bottom",
            fontsize=8)
    ax.annotate("", xy=(0.96, 0.97), xytext=(0.96, 0.87), xycoords="axes fraction",
                arrowprops={"facecolor": "k", "width": 3, "headwidth": 10, "headlength": 10})
    ax.text(0.96, 0.84, "N", transform=ax.transAxes, ha="center", va="top", fontsize=11,
            fontweight="bold")


def _rect(xy: tuple[float, float], w: float, h: float, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=colour, edgecolor="k", linewidth=0.8, zorder=5)


def _regions(ax: Axes, units: pd.DataFrame, geometry: Any,
             place: GridPlacement | None = None) -> bool:
    """Outline and name each region; False if none. A square grid's from its region-code
    raster (``place`` given), other grids' from the units dissolved by ``region``."""
    if geometry is None or "region" not in units or not units["region"].notna().any():
        return False
    import matplotlib.patheffects as pe

    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    if place is not None:
        codes, names = pd.factorize(units["region"], sort=True)
        _outline(ax, units, codes, place, _REGION_LINE, 1.4, 3)
        present, xs, ys = label_cells(units, codes, len(names), place)
        for c, x, y in zip(present, xs, ys, strict=True):
            ax.text(x, y, str(names[c]), ha="center", va="center", fontsize=8, zorder=6,
                    path_effects=halo, color="#111111")
        return True
    import geopandas as gpd
    from shapely.errors import GEOSException

    gdf = gpd.GeoDataFrame({"region": units["region"].to_numpy()}, geometry=geometry.values,
                           crs=geometry.crs).dropna(subset=["region"])
    try:
        regions = gdf.dissolve(by="region", method="coverage")
    except (ValueError, GEOSException):  # not a clean coverage: the slower general union
        regions = gdf.dissolve(by="region")
    regions.boundary.plot(ax=ax, color=_REGION_LINE, linewidth=1.4, zorder=3)
    for name, geom in zip(regions.index, regions.geometry, strict=True):
        p = geom.representative_point()
        ax.text(p.x, p.y, str(name), ha="center", va="center", fontsize=8, zorder=6,
                path_effects=halo, color="#111111")
    return True


def _outline(ax: Axes, units: pd.DataFrame, codes: np.ndarray, place: GridPlacement,
             colour: str, width: float, zorder: int) -> None:
    """The outlines of the groups ``codes`` (-1: none) of a square grid, along cell edges."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    segments = outline_segments(code_raster(units, codes), place)
    if not len(segments):
        return
    # One compound path (move to, line to per edge), not a path object per edge.
    kinds = np.tile(np.array([Path.MOVETO, Path.LINETO], dtype=Path.code_type), len(segments))
    path = Path(segments.reshape(-1, 2), kinds)
    # add_artist: inside the raster's extent, so no data limits to update (add_patch would
    # measure every edge in Python).
    ax.add_artist(PathPatch(path, fill=False, edgecolor=colour, linewidth=width, zorder=zorder,
                            capstyle="projecting"))


def category_map(units: pd.DataFrame, codes: np.ndarray, labels: Sequence[str],
                 colours: Sequence[str], title: str, *, geometry: Any = None,
                 subtitle: str = "", pa_threshold: float = 0.5, outline_protected: bool = True,
                 always: Sequence[str] = (NO_DATA,)) -> Figure:
    """A planner-ready map of one category per unit (see the module docstring).

    Parameters
    ----------
    units : pandas.DataFrame
        Per-unit frame with ``pa_fraction`` (and ``row``, ``col`` on a square grid,
        ``region`` for region outlines and names).
    codes : numpy.ndarray
        Category of each unit, an index into ``labels`` and ``colours``.
    labels, colours : sequence of str
        Legend label and colour of each category; the legend lists those present (with
        their unit counts) and those in ``always``.
    title : str
    geometry : geopandas.GeoSeries, optional
        Unit geometries aligned with ``units``: real coordinates, region outlines,
        scale bar and CRS; needed for a grid without ``row``/``col``.
    subtitle : str
        A line under the title saying what the classes mean.
    pa_threshold : float
        Units protected at this fraction or more are outlined in black.
    outline_protected : bool
        Draw that outline.
    always : sequence of str
        Labels listed in the legend even when no unit has them (default "no data").

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0, 1], "col": [0, 1, 0], "pa_fraction": [1.0, 0, 0]})
    >>> fig = category_map(units, np.array([0, 1, 2]), ["a", "b", NO_DATA],
    ...                    ["#000000", "#ffffff", "#bdbdbd"], "Test")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][2]
    'no data (1 unit)'
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = Figure(figsize=(9.5, 6.4))
    ax = fig.add_subplot()
    cmap = ListedColormap(list(colours))
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))
    codes = np.asarray(codes)
    pa = units["pa_fraction"].to_numpy()
    square = "row" in units and "col" in units
    place = grid_placement(units, geometry) if square else None
    if square:
        extent = place.extent if place is not None else None
        origin: Literal["upper", "lower"] = place.origin if place is not None else "upper"
        drawn, values, protected, shape = units, codes, pa, None
        if place is not None:  # a national grid: every s-th cell (what the pixels sample)
            drawn, keep, small = thinned(units, place)
            if keep is not None:
                values, protected = codes[keep], pa[keep]
                extent, shape = small.extent, (small.nrows, small.ncols)
        image = rgba_image(drawn, values, list(colours), shape=shape)
        assert image is not None  # a square grid
        ax.imshow(image, interpolation="nearest", extent=extent, origin=origin)
        prot = unit_raster(drawn, protected, fill=0.0, shape=shape)
        if (outline_protected and prot is not None and min(prot.shape) >= 2
                and np.nanmax(prot) >= pa_threshold):
            ax.contour(np.nan_to_num(prot, copy=False), levels=[pa_threshold], colors="k",
                       linewidths=0.6, extent=extent, origin=origin)
    elif geometry is not None:
        import geopandas as gpd

        gdf = gpd.GeoDataFrame({"_code": codes}, geometry=geometry.values, crs=geometry.crs)
        gdf.plot(ax=ax, column="_code", cmap=cmap, norm=norm, linewidth=0)
        if outline_protected:
            gdf[pa >= pa_threshold].boundary.plot(ax=ax, color="k", linewidth=0.4)
    ax.set_aspect("equal")
    has_regions = _regions(ax, units, geometry, place)
    _scale_bar(ax, geometry)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for side in ax.spines.values():
        side.set_color("0.7")
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=11)
    ax.text(1.0, -0.015, _crs_text(geometry, units, place), transform=ax.transAxes, ha="right",
            va="top", fontsize=7, color="0.3")
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    handles: list[Any] = [
        Patch(facecolor=c, edgecolor="0.5",
              label=f"{lab} ({counts[k]:,} unit{'s' if counts[k] != 1 else ''})")
        for k, (lab, c) in enumerate(zip(labels, colours, strict=True))
        if counts[k] > 0 or lab in always]
    if outline_protected:
        handles.append(Line2D([], [], color="k", lw=0.8,
                              label=f"existing protection ≥ {pa_threshold:.0%} of a unit"))
    if has_regions:
        handles.append(Line2D([], [], color=_REGION_LINE, lw=1.8, label="region boundary (named)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    fig.subplots_adjust(left=0.02, right=0.68, top=0.9, bottom=0.05)
    return fig


def _missing(units: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Units without a value in any of ``columns`` (those present)."""
    out = np.zeros(len(units), dtype=bool)
    for c in columns:
        if c in units:
            out |= ~np.isfinite(units[c].to_numpy(dtype=float))
    return out


def hotspot_map(units: pd.DataFrame, *, top: float = 0.1, pa_threshold: float = 0.5,
                geometry: Any = None, value_units: Mapping[str, str] | None = None) -> Figure:
    """A map of the unprotected hotspots: each criterion's alone, two or more, protected.

    Parameters
    ----------
    units : pandas.DataFrame
        Hotspot flags (``gap_carbon``, ``gap_npp``, ``gap_biodiversity``, those there
        are), their values and ``pa_fraction`` per unit: the ``flags`` of
        `optimizer.gap.hotspots`.
    top : float
        The hotspots' top share of the area, for the legend.
    pa_threshold : float
        Units protected at this fraction or more are drawn as protected.
    geometry : geopandas.GeoSeries, optional
        See `category_map`.
    value_units : mapping, optional
        Unit of each value column (``units.attrs["units"]`` of `unit_values`).

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0, 1], "col": [0, 1, 0], "pa_fraction": [1.0, 0, 0],
    ...                       "carbon_kgC_m2": [5.0, 9.0, np.nan],
    ...                       "gap_carbon": [False, True, False]})
    >>> fig = hotspot_map(units)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1:3]
    ['unprotected top 10% of the area by carbon stock density (1 unit)', 'no data (1 unit)']
    """
    value_units = dict(value_units or units.attrs.get("units", {}))
    crit = [c for c in ("carbon", "npp", "biodiversity") if f"gap_{c}" in units]
    n_gaps = sum((units[f"gap_{c}"].to_numpy().astype(int) for c in crit),
                 np.zeros(len(units), dtype=int))
    pa = units["pa_fraction"].to_numpy()
    labels = ["protected (existing network)", "not a hotspot, unprotected",
              *[f"unprotected top {top:.0%} of the area by {_CRITERION_NAMES[c]}" for c in crit],
              "unprotected hotspot of 2+ criteria", NO_DATA]
    colours = [ZONE_COLOURS["protected"], "#f0f0f0", *[GAP_COLOURS[c] for c in crit], "#7b3294",
               NO_DATA_COLOUR]
    code = np.ones(len(units), dtype=int)
    code[_missing(units, [_CRITERION_COLUMNS[c] for c in crit])] = len(labels) - 1
    code[pa >= pa_threshold] = 0
    for k, c in enumerate(crit, start=2):
        code[units[f"gap_{c}"].to_numpy(dtype=bool) & (n_gaps == 1)] = k
    code[n_gaps >= 2] = len(crit) + 2
    parts = []
    for c in crit:
        unit = value_units.get(_CRITERION_COLUMNS[c])
        parts.append(f"{_CRITERION_NAMES[c]}{f' ({pretty_unit(unit)})' if unit else ''}")
    subtitle = (f"hotspot = unit in the top {top:.0%} of the area by " + ", ".join(parts)
                + f"; unprotected = below {pa_threshold:.0%} covered")
    return category_map(units, code, labels, colours, "Unprotected carbon and biodiversity "
                        "hotspots", geometry=geometry, subtitle=_wrap(subtitle),
                        pa_threshold=pa_threshold)


def _wrap(text: str, width: int = 95) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def typology_map(units: pd.DataFrame, types: Sequence[str], *, geometry: Any = None,
                 subtitle: str = "") -> Figure:
    """A map of the carbon x biodiversity synergy type of each unit.

    Parameters
    ----------
    units : pandas.DataFrame
        ``synergy_type`` and ``pa_fraction`` per unit.
    types : sequence of str
        The types in legend order (`optimizer.gap.TYPES`), each with a colour in
        `optimizer.figures.plots.TYPE_COLOURS` (``no_data`` is labelled "no data").
    geometry : geopandas.GeoSeries, optional
        See `category_map`.
    subtitle : str
        How the types were drawn (e.g. upper tercile of carbon density and richness).

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0], "col": [0, 1], "pa_fraction": [0.0, 0.0],
    ...                       "synergy_type": ["synergy", "no_data"]})
    >>> fig = typology_map(units, ["synergy", "carbon", "biodiversity", "low", "no_data"])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1]
    'no data (1 unit)'
    """
    code = pd.Categorical(units["synergy_type"], categories=list(types)).codes
    labels = [TYPE_LABELS.get(t, t) for t in types]
    return category_map(units, code, labels, [TYPE_COLOURS[t] for t in types],
                        "Carbon × biodiversity typology", geometry=geometry, subtitle=subtitle)


def _codes(values: Sequence[str] | np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """The index of each value in ``keys`` (-1 when absent), as ``pd.Categorical(values,
    categories=keys).codes`` but a vectorised comparison per key (a numpy ``str`` array is
    not turned into a Python object per unit).

    Examples
    --------
    >>> _codes(np.array(["b", "a", "c"]), ["a", "b"]).tolist()
    [1, 0, -1]
    """
    arr = np.asarray(values)
    code = np.full(arr.shape, -1, dtype=np.int8)
    for k, key in enumerate(keys):
        code[arr == key] = k
    return code


def plan_map(units: pd.DataFrame, status: Sequence[str] | np.ndarray, *, geometry: Any = None,
             title: str = "The plan: existing network and added units") -> Figure:
    """A map of a plan: each unit existing, added, locked out or free (`STATUS_COLOURS`).

    Parameters
    ----------
    units : pandas.DataFrame
        ``pa_fraction`` per unit (``row``, ``col``, ``region`` as for `category_map`).
    status : sequence of str
        Per unit: ``existing``, ``added``, ``locked out`` or ``free``
        (`optimizer.outputs.solve_folder.unit_status`).
    geometry : geopandas.GeoSeries, optional
        See `category_map`.
    title : str

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0], "col": [0, 1], "pa_fraction": [1.0, 0.0]})
    >>> fig = plan_map(units, ["existing", "added"])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
    ['existing protected area (1 unit)', 'added by the plan (1 unit)']
    """
    keys = ["existing", "added", "locked out", "free"]
    labels = ["existing protected area", "added by the plan", "locked out (not available)",
              "not selected"]
    code = _codes(status, keys)
    return category_map(units, code, labels, [STATUS_COLOURS[k] for k in keys], title,
                        geometry=geometry, always=())


#: Title, unit and subtitle of `importance_map` for each importance method.
IMPORTANCE_MAP_TEXT = {
    "replacement": ("How much each added unit matters (replacement importance)", "%",
                    "% of the plan's objective lost when the unit is left out"),
    "ferrier": ("Ferrier irreplaceability of the plan's units", "",
                "Ferrier irreplaceability summed over the target features"),
    "rank": ("Rank importance of the added units", "",
             "rank / increments: 1 = enters at the first budget increment"),
}


def importance_map(units: pd.DataFrame, importance_pct: np.ndarray, added: np.ndarray, *,
                   geometry: Any = None, title: str | None = None,
                   method: str = "replacement") -> Figure:
    """A map of importance (`optimizer.studies.importance`): the added units in thirds of
    their importance (replacement: % of the plan's objective lost without the unit; Ferrier
    or rank: the ``importance`` column), those no plan can do without, and the rest of the
    grid.

    Parameters
    ----------
    units : pandas.DataFrame
        As for `category_map`.
    importance_pct : numpy.ndarray
        Per unit: the importance in % of the objective (``inf``: no plan without the unit),
        or another method's importance.
    added : numpy.ndarray
        Per unit: whether the plan added it (the units drawn in thirds).
    geometry : geopandas.GeoSeries, optional
    title : str, optional
        Default the method's (`IMPORTANCE_MAP_TEXT`).
    method : {"replacement", "ferrier", "rank"}

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0, 0, 0], "col": [0, 1, 2, 3], "pa_fraction": [0.0] * 4})
    >>> fig = importance_map(units, np.array([0.0, 0.1, 2.0, np.inf]),
    ...                      np.array([False, True, True, True]))
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:3]
    ['not added by the plan (1 unit)', 'lowest third: up to 0.1% (1 unit)', 'top third: up to 2% (1 unit)']
    """
    pct = np.asarray(importance_pct, dtype=np.float64)
    added = np.asarray(added, dtype=bool)
    finite = added & np.isfinite(pct)
    code = np.zeros(pct.size, dtype=np.int64)
    edges = np.quantile(pct[finite], [1 / 3, 2 / 3]) if finite.any() else np.array([0.0, 0.0])
    code[finite] = 1 + np.searchsorted(edges, pct[finite], side="left")
    code[added & ~np.isfinite(pct)] = 4
    tops = [float(pct[finite & (code == k)].max()) if (finite & (code == k)).any() else 0.0
            for k in (1, 2, 3)]
    head, unit, subtitle = IMPORTANCE_MAP_TEXT[method]
    labels = ["not added by the plan", f"lowest third: up to {tops[0]:.3g}{unit}",
              f"middle third: up to {tops[1]:.3g}{unit}", f"top third: up to {tops[2]:.3g}{unit}",
              "no plan without it"]
    colours = ["#eeeeee", "#fdd49e", "#fc8d59", "#b30000", "#3f007d"]
    return category_map(units, code, labels, colours, title or head, geometry=geometry,
                        always=(), subtitle=subtitle)


def parks_map(units: pd.DataFrame, unit_park: np.ndarray, status: Sequence[str] | np.ndarray, *,
              geometry: Any = None, label_top: int = 15,
              title: str = "Candidate parks (numbered by rank)") -> Figure:
    """A map of the candidate parks, each outlined and numbered by rank, on the existing network.

    Parameters
    ----------
    units : pandas.DataFrame
        ``pa_fraction`` per unit (``row``, ``col``, ``region`` as for `category_map`).
    unit_park : numpy.ndarray
        Park id of each unit, 0 for none (``Parks.unit_park``; ids are ranks).
    status : sequence of str
        Per-unit plan status (existing units are drawn in the protected colour).
    geometry : geopandas.GeoSeries, optional
        Unit geometries: park outlines and numbers need them.
    label_top : int
        Number the best ``label_top`` parks.
    title : str

    Examples
    --------
    >>> units = pd.DataFrame({"row": [0, 0], "col": [0, 1], "pa_fraction": [1.0, 0.0]})
    >>> fig = parks_map(units, np.array([0, 1]), ["existing", "added"])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
    ['existing protected area (1 unit)', 'candidate park (1 unit)']
    """
    park = np.asarray(unit_park)
    status_of = np.asarray(status)  # str or object: compared without a Python object per unit
    code = np.full(len(units), 2)
    code[status_of == "existing"] = 0
    code[park > 0] = 1
    labels = ["existing protected area", "candidate park", "not in a park"]
    colours = [STATUS_COLOURS["existing"], STATUS_COLOURS["added"], STATUS_COLOURS["free"]]
    fig = category_map(units, code, labels, colours, title, geometry=geometry, always=())
    if geometry is not None and (park > 0).any():
        import matplotlib.patheffects as pe

        ax = fig.axes[0]
        halo = [pe.withStroke(linewidth=2.5, foreground="white")]
        place = (grid_placement(units, geometry) if "row" in units and "col" in units
                 else None)
        if place is not None:  # a square grid: outlines from the park raster, no polygon
            _outline(ax, units, park - 1, place, "#67001f", 0.9, 4)
            ids, xs, ys = label_cells(units, park - 1, int(park.max()), place)
            pts = [(pid + 1, x, y) for pid, x, y in zip(ids[:label_top], xs[:label_top],
                                                         ys[:label_top], strict=True)]
        else:
            import geopandas as gpd
            from shapely.errors import GEOSException

            gdf = gpd.GeoDataFrame({"park": park}, geometry=geometry.values, crs=geometry.crs)
            gdf = gdf[gdf["park"] > 0]
            try:
                parks = gdf.dissolve(by="park", method="coverage")
            except (ValueError, GEOSException):  # not a clean coverage: the general union
                parks = gdf.dissolve(by="park")
            parks.boundary.plot(ax=ax, color="#67001f", linewidth=0.9, zorder=4)
            pts = []
            for pid, geom in zip(parks.index[:label_top], parks.geometry[:label_top],
                                 strict=True):
                p = geom.representative_point()
                pts.append((pid, p.x, p.y))
        for pid, x, y in pts:
            ax.text(x, y, f"P{pid}", ha="center", va="center", fontsize=8, zorder=7,
                    fontweight="bold", color="#67001f", path_effects=halo)
        ax.set_xlabel("")
        ax.set_ylabel("")
    return fig
