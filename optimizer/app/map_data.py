"""What the interactive map draws: each unit's place, colour and values, in their units.

The Plan page's map (`optimizer.app.map_view`) is deck.gl through pydeck, drawn offline in
the grid's own projected coordinates (an orthographic view in km: no basemap, no tiles,
the same equal-area picture as the report's figures). This module computes what it needs
from the grid and a plan, with numpy and no Streamlit or pydeck:

* `cell_origins`: each unit's lower-left corner and the cell size, from ``row``/``col``
  and the bounds of two units (never every unit's geometry), for a square grid;
* `hover_values`: per unit, what the hover tooltip shows (`HOVER_FIELDS`: carbon stock,
  NPP and emissions per km² in the study's density units, species ranges, land cover,
  region, protected share, the plan status and the unit's priority rank on the plan's
  nested path: the order in which units enter the plan as the budget grows);
* `MAP_LAYERS`: the layers a planner can colour the map by, each with its legend in its
  unit (`layer_colours`).

Densities are written in the units the gap analysis uses (`optimizer.gap.columns.density_unit`:
kgC/m² for carbon stock, gC/m²/yr for NPP, tCO2/km²/yr for emissions), so a tooltip and
the Gaps page read alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.figures.plots import NO_DATA_COLOUR, STATUS_COLOURS, pretty_unit
from optimizer.figures.raster import grid_placement
from optimizer.gap.columns import density_unit

__all__ = [
    "HOVER_FIELDS",
    "LOCK_COLOURS",
    "MAP_LAYERS",
    "PLAN_STATUS",
    "MapLayer",
    "cell_origins",
    "hex_rgba",
    "hover_values",
    "layer_colours",
    "plan_status",
    "ramp_colours", "region_labels",
]

#: The plan statuses the map shows, in the legend's order, with their colours: the
#: existing network, units the planner locked in or out on the map, the plan's new units,
#: units a red line keeps out, and the rest.
PLAN_STATUS = {"existing network": STATUS_COLOURS["existing"],
               "locked in on the map": "#1b7837",
               "added by the plan": STATUS_COLOURS["added"],
               "locked out on the map": "#542788",
               "locked out (red line)": STATUS_COLOURS["locked out"],
               "not selected": STATUS_COLOURS["free"]}
#: Outline colours of the manual locks (drawn over any layer).
LOCK_COLOURS = {"in": (27, 120, 55, 255), "out": (84, 39, 136, 255)}


def hex_rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``"#e7298a"`` as ``(231, 41, 138, alpha)``.

    Examples
    --------
    >>> hex_rgba("#e7298a", 200)
    (231, 41, 138, 200)
    """
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), int(alpha)


def cell_origins(units: pd.DataFrame, geometry: Any, meta: dict[str, Any] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Each unit's lower-left corner (x, y, in km of the grid's CRS) and the cell side
    (km) of a square grid, from ``row``/``col`` and the grid's placement
    (`optimizer.figures.raster.grid_placement`: the grid's ``square_grid`` record in
    ``meta``, else the bounds of a few whole cells; never every unit's geometry).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoSeries([shapely.box(0, 1000, 1000, 2000), shapely.box(1000, 0, 2000, 1000)])
    >>> u = pd.DataFrame({"row": [0, 1], "col": [0, 1], "area_km2": [1.0, 1.0]})
    >>> x, y, side = cell_origins(u, g)
    >>> x.tolist(), y.tolist(), side
    ([0.0, 1.0], [1.0, 0.0], 1.0)
    >>> cell_origins(u, None, {"square_grid": {"x0": 0, "y0": 2000, "cell_m": 1000}})[1].tolist()
    [1.0, 0.0]
    """
    p = grid_placement(units, geometry, meta=meta)
    if p is None:
        raise ValueError("cell_origins: not a square grid (row/col and a placement needed)")
    row = units["row"].to_numpy(dtype=np.int64)
    col = units["col"].to_numpy(dtype=np.int64)
    lower = p.row_edge(row + 1) if p.origin == "upper" else p.row_edge(row)
    return (p.x0 + col * p.cell_w) / 1000.0, lower / 1000.0, p.cell_w / 1000.0


def plan_status(status: np.ndarray, locked_in: np.ndarray, locked_out: np.ndarray) -> np.ndarray:
    """Per unit, its `PLAN_STATUS` label from `optimizer.plan.results.unit_status` and the
    masks of the units locked in and out on the map.

    Examples
    --------
    >>> plan_status(np.array(["existing", "existing", "added", "free"]),
    ...             np.array([False, True, False, False]), np.array([False, False, False, True]))
    array(['existing network', 'locked in on the map', 'added by the plan',
           'locked out on the map'], dtype='<U21')
    """
    status = np.asarray(status)
    return np.select([locked_in, locked_out, status == "existing", status == "added",
                      status == "locked out"],
                     ["locked in on the map", "locked out on the map", "existing network",
                      "added by the plan", "locked out (red line)"], "not selected")


def _density(pu: Any, role: str, latest: bool) -> tuple[np.ndarray, str] | None:
    """Per-unit density of the features of ``role`` (the latest year's if ``latest``; a
    missing amount counted as 0) and its unit (`feature_density`)."""
    feats = pu.features
    f = feats[feats["role"] == role]
    if f.empty:
        return None
    if latest and "year" in f and f["year"].notna().any():
        f = f[f["year"] == f["year"].max()]
    return feature_density(pu, list(f.index), missing=0.0)


@dataclass(frozen=True)
class HoverField:
    """One line of the hover tooltip: its key in the map's data, label and unit."""

    key: str
    label: str
    unit: str = ""


#: The tooltip's lines, in order (a line whose values the grid lacks is left out).
HOVER_FIELDS = (HoverField("carbon", "carbon stock"), HoverField("npp", "NPP"),
                HoverField("emissions", "emissions"), HoverField("species", "species ranges"),
                HoverField("land_cover", "land cover"), HoverField("region", "region"),
                HoverField("protected", "protected", "% of the unit"),
                HoverField("status", "status"),
                HoverField("rank", "priority rank", "(1 = first to enter the plan)"))


def _sig(values: np.ndarray, digits: int = 3) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits (a short JSON)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(v) & (v != 0), np.floor(np.log10(np.abs(v))), 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(v * scale) / scale


def hover_values(pu: Any, status_text: np.ndarray, rank: np.ndarray | None,
                 problem: Any = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per unit, the tooltip's values (`HOVER_FIELDS`), and each field's unit.

    Parameters
    ----------
    pu : PlanningUnits
    status_text : numpy.ndarray
        Per unit, its `PLAN_STATUS` label.
    rank : numpy.ndarray, optional
        Per unit, its rank on the plan's nested path (`entry_rank`; NaN off the path).
    problem : Problem, optional
        The protected share as the problem sees it (else ``pa_fraction``).

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``pu_id`` and the fields the grid has; the unit of each field.
    """
    units = pu.units
    out: dict[str, Any] = {"pu_id": units["pu_id"].to_numpy()}
    unit_of: dict[str, str] = {}
    for key, role, latest in (("carbon", "carbon_stock", False), ("npp", "carbon_uptake", True),
                              ("emissions", "emissions", True)):
        d = _density(pu, role, latest)
        if d is not None:
            out[key], unit_of[key] = _sig(d[0]), d[1]
    sp = [c for c in pu.features.index if c.startswith("sp_") and c in units]
    if sp:
        out["species"] = (units[sp].fillna(0).to_numpy() > 0).sum(axis=1)
        unit_of["species"] = f"of {len(sp)}"
    if "lc_major" in units:
        out["land_cover"] = units["lc_major"].fillna("no data").astype(str).to_numpy()
    for col in ("region", "province"):
        if col in units and units[col].notna().any():
            out["region"] = units[col].fillna("").astype(str).to_numpy()
            break
    pa = problem.protected_fraction if problem is not None else units["pa_fraction"].to_numpy()
    out["protected"] = np.round(100 * np.clip(np.asarray(pa, dtype=float), 0, 1), 1)
    unit_of["protected"] = "% of the unit"
    out["status"] = np.asarray(status_text)
    if rank is not None:
        r = np.asarray(rank, dtype=float)
        out["rank"] = np.where(np.isfinite(r), np.nan_to_num(r).astype(np.int64).astype(object),
                               "fixed (locked)")
        unit_of["rank"] = ""
        unit_of["rank:label"] = (f"priority rank (of {int(np.isfinite(r).sum()):,}; 1 enters the "
                                 "plan first)")
    return pd.DataFrame(out), unit_of


def tooltip_html(fields: pd.DataFrame, unit_of: dict[str, str],
                 keys: dict[str, str] | None = None) -> str:
    """The deck.gl tooltip template of the fields in ``fields`` (``{key}`` placeholders,
    each key as ``keys`` renames it in the map's data).

    Examples
    --------
    >>> tooltip_html(pd.DataFrame(columns=["pu_id", "carbon"]), {"carbon": "kgC/m²"})
    '<b>unit {pu_id}</b><br/>carbon stock: {carbon} kgC/m²'
    >>> tooltip_html(pd.DataFrame(columns=["pu_id"]), {}, {"pu_id": "i"})
    '<b>unit {i}</b>'
    """
    keys = keys or {}
    lines = [f"<b>unit {{{keys.get('pu_id', 'pu_id')}}}</b>"]
    for f in HOVER_FIELDS:
        if f.key in fields:
            unit = unit_of.get(f.key, f.unit)
            label = unit_of.get(f"{f.key}:label", f.label)
            lines.append(f"{label}: {{{keys.get(f.key, f.key)}}}{' ' + unit if unit else ''}")
    return "<br/>".join(lines)


def entry_rank(path: Any) -> np.ndarray | None:
    """Per unit, its rank on the plan's nested path (`BudgetPath.unit_rank` + 1: 1 enters
    first, as the budget grows); NaN for units off the path (locked in or out).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> entry_rank(SimpleNamespace(unit_rank=np.array([1, 0, -1]))).tolist()
    [2.0, 1.0, nan]
    """
    if path is None:
        return None
    rank = np.asarray(path.unit_rank, dtype=float)
    return np.where(rank >= 0, rank + 1, np.nan)


def region_labels(units: pd.DataFrame, x: np.ndarray, y: np.ndarray, side: float
                  ) -> pd.DataFrame:
    """One label per region at the unit nearest its centre of mass (a point inside it).

    Examples
    --------
    >>> u = pd.DataFrame({"region": ["A", "A", "B"]})
    >>> region_labels(u, np.array([0.0, 1, 5]), np.array([0.0, 0, 0]), 1.0).to_dict("records")
    [{'name': 'A', 'x': 0.5, 'y': 0.5}, {'name': 'B', 'x': 5.5, 'y': 0.5}]
    """
    col = next((c for c in ("region", "province") if c in units and units[c].notna().any()), None)
    if col is None:
        return pd.DataFrame(columns=["name", "x", "y"])
    names = units[col].astype("string").fillna("").to_numpy()
    rows = []
    frame = pd.DataFrame({"n": names, "x": x, "y": y})
    for name, g in frame[frame["n"] != ""].groupby("n", sort=True):
        cx, cy = g["x"].mean(), g["y"].mean()
        k = int(np.argmin((g["x"].to_numpy() - cx) ** 2 + (g["y"].to_numpy() - cy) ** 2))
        rows.append({"name": str(name), "x": float(g["x"].iloc[k] + side / 2),
                     "y": float(g["y"].iloc[k] + side / 2)})
    return pd.DataFrame(rows, columns=["name", "x", "y"])


# ------------------------------------------------------------------ colour layers

@dataclass(frozen=True)
class MapLayer:
    """A layer the map can be coloured by: its title, the hover field (or per-unit values)
    it shows and the ramp's colours (low -> high); ``status`` colours by `PLAN_STATUS`."""

    title: str
    field: str | None
    ramp: tuple[str, str] = ("#f7fcf5", "#00441b")


#: The layers of the map's "Colour by" choice, by name (the plan first).
MAP_LAYERS: dict[str, MapLayer] = {
    "plan": MapLayer("The plan (status of each unit)", None),
    "carbon": MapLayer("Carbon stock density", "carbon", ("#fff7ec", "#7f2704")),
    "npp": MapLayer("NPP density (latest year)", "npp", ("#ffffe5", "#004529")),
    "emissions": MapLayer("Emissions density (latest year)", "emissions", ("#fff5f0", "#67000d")),
    "species": MapLayer("Species ranges in the unit", "species", ("#f7fbff", "#08306b")),
    "protected": MapLayer("Existing protection (share of each unit)", "protected",
                          ("#f7f7f7", "#1f78b4")),
    "rank": MapLayer("Priority rank on the plan's nested path", "rank",
                     ("#49006a", "#fde0dd")),
}


def _ramp(values: np.ndarray, ramp: tuple[str, str]) -> tuple[np.ndarray, float, float]:
    """RGBA per value on a linear two-colour ramp between the 2nd and 98th percentiles
    (NaN: the no-data colour), and the ramp's two ends."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    lo, hi = (np.percentile(v[ok], [2, 98]) if ok.any() else (0.0, 1.0))
    hi = hi if hi > lo else lo + 1.0
    t = np.clip((np.where(ok, v, lo) - lo) / (hi - lo), 0, 1)[:, None]
    a = np.array(hex_rgba(ramp[0], 220), dtype=float)
    b = np.array(hex_rgba(ramp[1], 220), dtype=float)
    rgba = np.rint(a + t * (b - a)).astype(np.uint8)
    rgba[~ok] = hex_rgba(NO_DATA_COLOUR, 220)
    return rgba, float(lo), float(hi)


def layer_colours(name: str, hover: pd.DataFrame, status_text: np.ndarray,
                  unit_of: dict[str, str]) -> tuple[np.ndarray, list[tuple[str, str]], str]:
    """RGBA (uint8, n × 4) of each unit for `MAP_LAYERS` ``name``, the legend as
    ``(label, colour)`` pairs and the legend's caption with the unit.

    Examples
    --------
    >>> h = pd.DataFrame({"pu_id": [1, 2], "carbon": [1.0, 3.0]})
    >>> rgba, legend, caption = layer_colours("carbon", h, np.array(["not selected"] * 2),
    ...                                       {"carbon": "kgC/m²"})
    >>> rgba.shape, legend[0][0], caption
    ((2, 4), '1.04 kgC/m²', 'Carbon stock density (kgC/m²)')
    """
    layer = MAP_LAYERS[name]
    if layer.field is None:
        codes = {k: np.array(hex_rgba(c, 230), dtype=np.uint8) for k, c in PLAN_STATUS.items()}
        rgba = np.empty((len(status_text), 4), dtype=np.uint8)
        present = []
        for k, c in codes.items():
            m = status_text == k
            rgba[m] = c
            if m.any():
                present.append((f"{k} ({int(m.sum()):,} units)", PLAN_STATUS[k]))
        return rgba, present, layer.title
    values = pd.to_numeric(pd.Series(hover[layer.field]), errors="coerce").to_numpy(dtype=float)
    return ramp_colours(values, unit_of.get(layer.field, ""), layer.title, layer.ramp,
                        "no data" if layer.field != "rank" else "locked (off the path)")


#: The roles whose every feature can colour the map (per km², in the gap analysis's units).
FEATURE_ROLES = ("carbon_stock", "carbon_uptake", "emissions", "biodiversity", "land_cover")


def feature_layers(pu: Any) -> dict[str, str]:
    """Every feature of the grid as a map layer: ``"feature:<column>"`` -> its title.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> feature_layers(tiny_grid())["feature:carbon"]
    'carbon (carbon_stock, per km²)'
    """
    feats = pu.features
    keep = feats[feats["role"].isin(FEATURE_ROLES)]
    return {f"feature:{c}": f"{c} ({r}, per km²)" for c, r in zip(keep.index, keep["role"],
                                                                   strict=True)}


def ramp_colours(values: np.ndarray, unit: str, title: str,
                 ramp: tuple[str, str] = ("#f7fcf5", "#00441b"), missing: str = "no data"
                 ) -> tuple[np.ndarray, list[tuple[str, str]], str]:
    """RGBA of per-unit ``values`` on a two-colour ramp, its legend and caption (`layer_colours`
    for values of one's own: a feature's density, a share of saved plans).

    Examples
    --------
    >>> rgba, legend, caption = ramp_colours(np.array([0.0, 1.0]), "%", "Frequency")
    >>> legend[0][0], caption
    ('0.02 %', 'Frequency (%)')
    """
    values = np.asarray(values, dtype=float)
    rgba, lo, hi = _ramp(values, ramp)
    fmt: Callable[[float], str] = lambda v: f"{v:,.3g} {unit}".strip()  # noqa: E731
    legend = [(fmt(lo), ramp[0]), (fmt((lo + hi) / 2), _mid(ramp)), (fmt(hi), ramp[1])]
    if not np.isfinite(values).all():
        legend.append((missing, NO_DATA_COLOUR))
    return rgba, legend, f"{title} ({unit})" if unit else title


def feature_density(pu: Any, columns: str | list[str], missing: float | None = None
                    ) -> tuple[np.ndarray, str]:
    """Per unit, the amount of feature ``columns`` (summed when several, all of one unit)
    per km² of the unit, and its unit: a share of the unit (%) for areas (km²), species for
    richness (species·km²), else the gap analysis's density unit
    (`optimizer.gap.columns.density_unit`: kgC/m², gC/m²/yr, tCO2/km²/yr). NaN where the
    amount is missing (``missing`` counts it as that value instead) or the unit has no area.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> values, unit = feature_density(tiny_grid(), "carbon")
    >>> values.tolist()[:3], unit  # 100 MgC on 1 km² = 0.1 kgC/m²
    ([0.1, 0.04, 0.01], 'kgC/m²')
    >>> feature_density(tiny_grid(), "sp_a")[1]  # a range's area: a share of the unit
    '%'
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    units = pu.units
    unit = str(pu.features.loc[cols[0], "unit"])
    amount = sum(units[c].to_numpy(dtype=float) if missing is None
                 else units[c].fillna(missing).to_numpy(dtype=float) for c in cols)
    if unit == "km2":
        divisor, dunit = 0.01, "%"
    elif unit == "species*km2":
        divisor, dunit = 1.0, "species"
    else:
        divisor, dunit = density_unit(unit)
    area = units["area_km2"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(area > 0, amount / np.maximum(area, 1e-300) / divisor, np.nan)
    return values, pretty_unit(dunit)


def _mid(ramp: tuple[str, str]) -> str:
    a, b = np.array(hex_rgba(ramp[0])[:3]), np.array(hex_rgba(ramp[1])[:3])
    m = np.rint((a + b) / 2).astype(int)
    return "#" + "".join(f"{v:02x}" for v in m)
