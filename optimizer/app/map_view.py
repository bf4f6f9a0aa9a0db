"""The Plan page's map: deck.gl (pydeck) drawn offline, hover for a unit's values, click to lock.

The map is a deck.gl orthographic view of the grid in its own projected coordinates (km),
with no basemap and nothing fetched from the network (``map_provider=None``): a square
grid is a ``GridCellLayer`` of one cell per unit placed from ``row``/``col``
(`optimizer.app.map_data.cell_origins`), any other grid a ``PolygonLayer`` of its
outlines. A ``TextLayer`` names the regions. The units' data are written once per plan and
layer as JSON by pandas (`MapSpec`: Streamlit sends the spec as it is), so a rerun that
changes nothing else does not pay pydeck's serialisation again.

Clicking a unit (Streamlit's pydeck selection) locks it in or out, or clears its lock,
as the "Click on the map" choice says; in a box mode two clicks give the opposite corners
of a box whose every unit is locked (`box_ids`); the locks live in the
session (`LOCKS_KEY`, with their history for undo) and go into the plan's settings
(`optimizer.studies.interactive.PlanSettings.locked_in_ids`), so the next plan respects
them and the scenario the app saves writes them as ``[[locks.locked_in]] ids = [...]``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pandas as pd

from optimizer.app import map_data
from optimizer.app.ui import Ui

__all__ = [
    "CHANGED_KEY",
    "CLICK_MODES",
    "CORNER_KEY",
    "LOCKS_KEY",
    "MapSpec",
    "apply_click",
    "box_ids",
    "clicked_id",
    "deck_spec",
    "handle_click", "image_spec",
    "lock_ids",
    "map_frame",
    "raster_png",
    "show_lock_table",
    "undo_lock",
]

#: Session key of the map's locks: ``{pu_id: "in" | "out"}`` in the order they were set.
LOCKS_KEY = "map_locks"
#: Session key of the locks' history (each change pushes the locks before it).
HISTORY_KEY = "map_lock_history"
#: What a click on the map does: (lock, whether two clicks give a box's opposite corners).
CLICK_MODES: dict[str, tuple[str | None, bool]] = {
    "Lock in": ("in", False), "Lock out": ("out", False), "Lock in a box": ("in", True),
    "Lock out a box": ("out", True), "Clear the lock": ("clear", False),
    "Clear a box": ("clear", True), "Inspect only": (None, False)}
#: Session key of a box's first corner: (pu_id, mode).
CORNER_KEY = "map_box_corner"
#: Above this many units a square grid's map is one image (a deck.gl ``BitmapLayer`` of one
#: pixel per cell, from ``row``/``col``): the browser draws a national 1 km grid in
#: seconds, but units are not hovered or clicked one by one.
MAX_PICKABLE_UNITS = 250_000


class MapSpec:
    """A deck.gl JSON spec ready for ``st.pydeck_chart``: what it reads of a `pydeck.Deck`
    (``to_json()`` and the tooltip), built once."""

    layers = None  # nothing for Streamlit's pandas-3 workaround to convert

    def __init__(self, spec: str, tooltip: dict[str, Any]) -> None:
        self._spec = spec
        self._tooltip = tooltip

    def to_json(self) -> str:
        return self._spec


def lock_ids(st: Ui) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ``pu_id`` locked in and out on the map, each sorted."""
    locks: dict[int, str] = st.session_state.get(LOCKS_KEY, {})
    return (tuple(sorted(k for k, v in locks.items() if v == "in")),
            tuple(sorted(k for k, v in locks.items() if v == "out")))


#: Session key set when the locks changed in a callback: the page (not only the map's
#: fragment) must run again, to solve the plan of the new locks.
CHANGED_KEY = "map_locks_changed"


def _set_locks(st: Ui, new: dict[int, str]) -> None:
    old = dict(st.session_state.get(LOCKS_KEY, {}))
    if new != old:
        st.session_state.setdefault(HISTORY_KEY, []).append(old)
        st.session_state[LOCKS_KEY] = new
        st.session_state[CHANGED_KEY] = True


def apply_click(st: Ui, pu_ids: list[int], mode: str | None,
                refusal: Any = None) -> list[str]:
    """Lock the clicked units ``pu_ids`` in or out, or clear their locks (``mode`` of
    `CLICK_MODES`); one undo step for the whole click. ``refusal(pu_id, lock_in)`` gives
    why a unit cannot be locked (`PlanSession.lock_refusal`): those units are left as they
    are and the messages returned."""
    if mode is None or not pu_ids:
        return []
    new = dict(st.session_state.get(LOCKS_KEY, {}))
    refused = []
    for pid in pu_ids:
        pid = int(pid)
        if mode == "clear":
            new.pop(pid, None)
            continue
        why = refusal(pid, mode == "in") if refusal is not None else None
        if why:
            refused.append(why)
            continue
        new.pop(pid, None)  # re-locking moves it to the end of the table
        new[pid] = mode
    _set_locks(st, new)
    return refused


def box_ids(pu: Any, a: int, b: int) -> list[int]:
    """The ``pu_id`` of every unit in the box whose opposite corners are units ``a`` and
    ``b``: rows and columns between theirs on a square grid, else centres between theirs.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> box_ids(tiny_grid(), 1, 5)  # no row/col: the units whose centres lie between
    [1, 2, 4, 5]
    """
    units = pu.units
    ids = units["pu_id"].to_numpy()
    ka, kb = (int(np.flatnonzero(ids == v)[0]) for v in (a, b))
    if "row" in units and "col" in units:
        u, v = units["row"].to_numpy(), units["col"].to_numpy()
    else:
        c = units.geometry.centroid
        u, v = c.y.to_numpy(), c.x.to_numpy()
    inside = ((u >= min(u[ka], u[kb])) & (u <= max(u[ka], u[kb]))
              & (v >= min(v[ka], v[kb])) & (v <= max(v[ka], v[kb])))
    return [int(i) for i in ids[inside]]


def handle_click(st: Ui, pu: Any, pu_id: int | None, mode_label: str,
                 refusal: Any = None) -> list[str]:
    """A click on unit ``pu_id`` in the mode ``mode_label`` (`CLICK_MODES`): lock, clear, or
    remember a box's first corner and lock the box at its second. Messages for the page."""
    lock, box = CLICK_MODES.get(mode_label, (None, False))
    if pu_id is None or lock is None:
        return []
    if not box:
        st.session_state.pop(CORNER_KEY, None)
        return apply_click(st, [pu_id], lock, refusal)
    corner = st.session_state.pop(CORNER_KEY, None)
    if corner is None or corner[1] != mode_label:
        st.session_state[CORNER_KEY] = (int(pu_id), mode_label)
        return [f"First corner: unit {pu_id}. Click the opposite corner of the box."]
    ids = box_ids(pu, corner[0], int(pu_id))
    refused = apply_click(st, ids, lock, refusal)
    if refused:
        return [f"{len(refused):,} of the box's {len(ids):,} units left as they were, e.g. "
                f"{refused[0]}"]
    return []


def undo_lock(st: Ui) -> bool:
    """Put the locks back as they were before the last change; False if there is none."""
    history = st.session_state.get(HISTORY_KEY, [])
    if not history:
        return False
    st.session_state[LOCKS_KEY] = history.pop()
    st.session_state[CHANGED_KEY] = True
    return True


def map_frame(pu: Any, problem: Any, status: np.ndarray, path: Any,
              locks: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The map's per-unit table of a plan: hover values (`optimizer.app.map_data.hover_values`)
    with the plan status (manual locks told apart) and each unit's rank on the nested path."""
    ids = pu.units["pu_id"].to_numpy()
    locked_in = np.isin(ids, np.asarray(locks[0], dtype=ids.dtype))
    locked_out = np.isin(ids, np.asarray(locks[1], dtype=ids.dtype))
    text = map_data.plan_status(status, locked_in, locked_out)
    return map_data.hover_values(pu, text, map_data.entry_rank(path), problem)


#: The keys of the map's data in the browser: one or two letters, since Streamlit parses the
#: spec with JSON5 (a JavaScript parser, about 0.1 s per MB) on every change of plan or layer.
SHORT_KEYS = {"pu_id": "i", "carbon": "c", "npp": "n", "emissions": "e", "species": "s",
              "land_cover": "l", "region": "g", "protected": "p", "status": "t", "rank": "k",
              "row": "r", "col": "q", "x": "x", "y": "y", "polygon": "pg", "fill": "f"}


def _records(frame: pd.DataFrame) -> str:
    return frame.rename(columns=SHORT_KEYS).to_json(orient="records", double_precision=4)


def deck_spec(pu: Any, frame: pd.DataFrame, unit_of: dict[str, str], layer: str,
              locks: tuple[tuple[int, ...], tuple[int, ...]], *, parks: np.ndarray | None = None,
              extra: dict[str, tuple[np.ndarray, str, str]] | None = None
              ) -> tuple[MapSpec, list[tuple[str, str]], str]:
    """The deck.gl spec of the map coloured by ``layer``: a `MAP_LAYERS` name, ``"parks"``
    (``parks``: each unit's park rank, 0 for none), ``"feature:<column>"`` (a feature's
    density, `optimizer.app.map_data.feature_layers`) or a name of ``extra``: per-unit
    values with their unit and title (the share of saved plans or of a portfolio's plans
    selecting each unit, each unit's importance); its legend and caption."""
    import pydeck as pdk

    units = pu.units
    status = frame["status"].to_numpy()
    if layer == "parks" and parks is not None:
        rgba, legend, caption = _park_colours(parks, status)
    elif extra and layer in extra:
        values, unit, title = extra[layer]
        rgba, legend, caption = map_data.ramp_colours(values, unit, title,
                                                      ("#fff7f3", "#49006a"), "not computed")
    elif layer.startswith("feature:"):
        column = layer.split(":", 1)[1]
        values, unit = map_data.feature_density(pu, column)
        rgba, legend, caption = map_data.ramp_colours(values, unit, f"{column} density")
    else:
        rgba, legend, caption = map_data.layer_colours(layer, frame, status, unit_of)
    data = frame.assign(fill=rgba.tolist())
    square = "row" in units and "col" in units
    layers: list[Any] = []
    if square and len(units) > MAX_PICKABLE_UNITS:
        return image_spec(pu, rgba), legend, caption + " (drawn as an image: hover and click " \
            f"work up to {MAX_PICKABLE_UNITS:,} units)"
    if square:
        x, y, side = map_data.cell_origins(units, units.geometry, getattr(pu, "meta", None))
        row = units["row"].to_numpy(dtype=np.int64)
        col = units["col"].to_numpy(dtype=np.int64)
        data = data.assign(row=row, col=col)
        # The colours are one image of one pixel per cell (exact squares, a few kB); the
        # units are a layer of points on the cells' centres, nearly transparent, for the
        # tooltip and the clicks (a point layer: Streamlit's click selection misses cell
        # layers of 20k+ units in a software-rendered browser). A centre from row and col in
        # the browser, two small integers per unit: x0 + (col + 1/2) side, ytop - (row + 1/2) side.
        png, (left, bottom, right, top) = raster_png(pu, rgba)
        layers.append(pdk.Layer("BitmapLayer", None, id="colours", image="__IMAGE__",
                                bounds=[left, bottom, right, top], pickable=False))
        data = data.drop(columns="fill")
        x0 = float(np.round(np.median(x - col * side), 6))
        ytop = float(np.round(np.median(y + (row + 1) * side), 6))
        k, q = SHORT_KEYS["row"], SHORT_KEYS["col"]
        layers.append(pdk.Layer("ScatterplotLayer", "__UNITS__", id="units", pickable=True,
                                get_position=f"[{x0!r} + ({q} + 0.5) * {side!r}, {ytop!r} - "
                                             f"({k} + 0.5) * {side!r}]",
                                get_radius=side / np.sqrt(2), radius_units="common",
                                get_fill_color=[0, 0, 0, 1], stroked=False))
        image_url = _png_url(png)
        cx, cy = x + side / 2, y + side / 2
        bounds = (float(x.min()), float(x.max() + side), float(y.min()), float(y.max() + side))
    else:
        import shapely

        geom = units.geometry
        rings = [np.round(np.asarray(shapely.get_exterior_ring(g).coords) / 1000.0, 4).tolist()
                 if g is not None and not g.is_empty else [] for g in
                 shapely.get_geometry(geom.values, 0)]
        data = data.assign(polygon=rings)
        layers.append(pdk.Layer("PolygonLayer", "__UNITS__", id="units", pickable=True,
                                stroked=False, get_polygon=SHORT_KEYS["polygon"],
                                get_fill_color=SHORT_KEYS["fill"], auto_highlight=True,
                                highlight_color=[255, 255, 0, 160]))
        c = geom.centroid
        cx, cy = c.x.to_numpy() / 1000.0, c.y.to_numpy() / 1000.0
        side = float(np.sqrt(np.median(units["area_km2"])))
        b = geom.total_bounds / 1000.0
        bounds = (float(b[0]), float(b[2]), float(b[1]), float(b[3]))
    ids = units["pu_id"].to_numpy()
    marks = []
    for kind, chosen in (("in", locks[0]), ("out", locks[1])):
        m = np.isin(ids, np.asarray(chosen, dtype=ids.dtype))
        for px, py in zip(cx[m], cy[m], strict=True):
            marks.append({"x": float(px), "y": float(py), "kind": kind})
    if marks:
        layers.append(pdk.Layer("ScatterplotLayer", marks, id="locks", pickable=False,
                                stroked=True, filled=False, get_position="[x, y]",
                                get_radius=side * 0.7, line_width_min_pixels=2,
                                get_line_color=("kind == 'in' ? "
                                                f"{list(map_data.LOCK_COLOURS['in'])} : "
                                                f"{list(map_data.LOCK_COLOURS['out'])}")))
    if square:
        labels = map_data.region_labels(units, x, y, side)
    else:
        labels = map_data.region_labels(units, cx - side / 2, cy - side / 2, side)
    if len(labels):
        layers.append(pdk.Layer("TextLayer", labels.to_dict("records"), id="regions",
                                get_position="[x, y]", get_text="name", get_size=13,
                                get_color=[20, 20, 20, 230], outline_width=3,
                                outline_color=[255, 255, 255, 230], font_settings={"sdf": True},
                                pickable=False))
    tooltip = {"html": map_data.tooltip_html(data, unit_of, SHORT_KEYS),
               "style": {"fontSize": "12px", "backgroundColor": "#222", "color": "white"}}
    spec = _deck_json(layers, bounds, tooltip, zoom_in=8).replace('"__UNITS__"', _records(data), 1)
    if square:
        spec = spec.replace('"@@=__IMAGE__"', json.dumps(image_url), 1)
    return MapSpec(spec, tooltip), legend, caption


def raster_png(pu: Any, rgba: np.ndarray) -> tuple[bytes, tuple[float, float, float, float]]:
    """Per-unit colours ``rgba`` (n × 4 uint8) of a square grid as a PNG of one pixel per
    cell, north up (transparent where no unit), and its bounds (left, bottom, right, top;
    km): `optimizer.figures.raster.rgba_image` at the grid's `grid_placement` (the grid's
    ``square_grid`` record, else a few whole cells; no unit's geometry decoded).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pu = SimpleNamespace(units=pd.DataFrame({"row": [0, 1], "col": [1, 0]}),
    ...                      meta={"square_grid": {"x0": 0, "y0": 2000, "cell_m": 1000}})
    >>> png, bounds = raster_png(pu, np.array([[255, 0, 0, 255], [0, 0, 255, 255]], np.uint8))
    >>> png[:4], bounds
    (b'\\x89PNG', (0.0, 0.0, 2.0, 2.0))
    """
    import io

    from PIL import Image

    from optimizer.figures.raster import grid_placement, rgba_image

    units = pu.units
    p = grid_placement(units, getattr(units, "geometry", None), meta=getattr(pu, "meta", None))
    if p is None:
        raise ValueError("raster_png: not a square grid (row/col and a placement needed)")
    image = rgba_image(units, rgba, placement=p, north_up=True)
    assert image is not None
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), (p.x0 / 1000.0, p.y0 / 1000.0, p.x1 / 1000.0, p.y1 / 1000.0)


def image_spec(pu: Any, rgba: np.ndarray) -> MapSpec:
    """The map of a national grid (`deck_spec` above `MAX_PICKABLE_UNITS`): the per-unit
    colours ``rgba`` as one ``BitmapLayer`` (`raster_png`), no tooltip."""
    import pydeck as pdk

    png, (left, bottom, right, top) = raster_png(pu, rgba)
    layer = pdk.Layer("BitmapLayer", None, id="plan-image", image="__IMAGE__",
                      bounds=[left, bottom, right, top], pickable=False)
    spec = _deck_json([layer], (left, right, bottom, top), None, zoom_in=10)
    return MapSpec(spec.replace('"@@=__IMAGE__"', json.dumps(_png_url(png)), 1), {})


def _png_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _deck_json(layers: list[Any], bounds: tuple[float, float, float, float],
               tooltip: dict[str, Any] | None, zoom_in: float) -> str:
    """The deck.gl JSON of ``layers`` in an orthographic view (y up, no basemap) framing
    ``bounds`` (xmin, xmax, ymin, ymax; km) in about 640 px, zoomable ``zoom_in`` steps in."""
    import pydeck as pdk

    span = max(bounds[1] - bounds[0], bounds[3] - bounds[2], 1e-9)
    zoom = float(np.log2(640.0 / span))
    view = pdk.ViewState(target=[(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, 0],
                         zoom=zoom, min_zoom=zoom - 2, max_zoom=zoom + zoom_in)
    deck = pdk.Deck(layers=layers, views=[pdk.View(type="OrthographicView", controller=True,
                                                   flip_y=False)],
                    initial_view_state=view, map_provider=None, map_style=None,
                    tooltip=tooltip if tooltip is not None else True)
    return str(deck.to_json())


def _park_colours(parks: np.ndarray, status: np.ndarray
                  ) -> tuple[np.ndarray, list[tuple[str, str]], str]:
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
               "#666666"]
    rgba = np.tile(np.array(map_data.hex_rgba("#f0f0f0", 200), dtype=np.uint8), (len(parks), 1))
    existing = status == "existing network"
    rgba[existing] = map_data.hex_rgba(map_data.PLAN_STATUS["existing network"], 200)
    on = parks > 0
    cols = np.array([map_data.hex_rgba(c, 235) for c in palette], dtype=np.uint8)
    rgba[on] = cols[(parks[on] - 1) % len(palette)]
    n = int(parks.max()) if on.any() else 0
    legend = [(f"park {k}", palette[(k - 1) % len(palette)]) for k in range(1, min(n, 8) + 1)]
    if n > 8:
        legend.append((f"… {n} parks in all (colours repeat)", "#ffffff"))
    legend.append(("existing network", map_data.PLAN_STATUS["existing network"]))
    return rgba, legend, "Candidate parks: connected groups of added units, by rank"


def legend_html(legend: list[tuple[str, str]], caption: str) -> str:
    """The legend of a map as a row of colour swatches with their labels."""
    items = "".join(
        f"<span style='display:inline-flex;align-items:center;margin-right:14px'>"
        f"<span style='width:14px;height:14px;background:{c};border:1px solid #999;"
        f"display:inline-block;margin-right:5px'></span>{label}</span>" for label, c in legend)
    return (f"<div data-testid='map-legend' style='font-size:0.85rem'><b>{caption}</b><br/>"
            f"{items}</div>")


def parse_ids(text: str) -> list[int]:
    """Unit ids as a planner types them: numbers and ranges, by commas or spaces.

    Examples
    --------
    >>> parse_ids("12, 15-17 20")
    [12, 15, 16, 17, 20]
    >>> parse_ids("12, x")
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: unit ids: 'x' is not a number or a range like 15-17
    """
    from optimizer.errors import InputDataError

    out: list[int] = []
    for part in text.replace(",", " ").split():
        a, dash, b = part.partition("-")
        try:
            lo, hi = int(a), int(b) if dash else int(a)
        except ValueError:
            raise InputDataError(f"unit ids: {part!r} is not a number or a range like "
                                 "15-17") from None
        if hi < lo or hi - lo > 100_000:
            raise InputDataError(f"unit ids: the range {part!r} is empty or over 100,000 units")
        out.extend(range(lo, hi + 1))
    return out


def lock_typed(st: Ui, pu: Any, mode: str, refusal: Any = None) -> list[str]:
    """Lock (``"in"``, ``"out"``) or clear the units whose ids are typed in ``map_ids``, one
    undo step; messages for the page (unknown ids, refusals)."""
    try:
        ids = parse_ids(str(st.session_state.get("map_ids", "")))
    except Exception as exc:  # a typing mistake: one line
        return [str(exc)]
    known = set(pu.units["pu_id"].to_numpy().tolist())
    unknown = [i for i in ids if i not in known]
    done = apply_click(st, [i for i in ids if i in known], mode, refusal)
    if unknown:
        done.insert(0, f"{len(unknown):,} id(s) not in this grid, e.g. {unknown[:3]}")
    return done


def show_lock_table(st: Ui, pu: Any, refusal: Any = None) -> None:
    """The table of the units locked on the map, with undo, clear and locks by typed ids
    (the id each unit's tooltip shows)."""
    locks: dict[int, str] = st.session_state.get(LOCKS_KEY, {})
    t1, t2, t3, t4 = st.columns([3, 1, 1, 1])
    t1.text_input("Or lock units by id (as the tooltip shows them: 12, 15-17)", key="map_ids")
    for col, label, mode in ((t2, "Lock in", "in"), (t3, "Lock out", "out"),
                             (t4, "Clear", "clear")):
        def typed(mode: str = mode) -> None:
            st.session_state["map_refused"] = lock_typed(st, pu, mode, refusal)

        col.button(label, key=f"map_ids_{mode}", on_click=typed)
    c1, c2, c3 = st.columns([1, 1, 3])
    history = st.session_state.get(HISTORY_KEY, [])
    c1.button("Undo", key="map_undo", on_click=undo_lock, args=(st,), disabled=not history,
              help="Put the locks back as they were before the last click")
    c2.button("Clear all", key="map_clear", on_click=_set_locks, args=(st, {}),
              disabled=not locks, help="Remove every lock set on the map")
    if not locks:
        c3.caption("No unit locked on the map yet: choose **Lock in** or **Lock out** and "
                   "click a unit, or a box mode and click two opposite corners.")
        return
    units = pu.units.set_index("pu_id")
    ids = list(locks)
    region = next((c for c in ("region", "province") if c in units), None)
    table = pd.DataFrame({"unit (pu_id)": ids,
                          "lock": ["in" if locks[i] == "in" else "out" for i in ids],
                          "area (km²)": units.loc[ids, "area_km2"].round(1).to_numpy()})
    if region:
        table["region"] = units.loc[ids, region].astype(str).to_numpy()
    n_in = sum(v == "in" for v in locks.values())
    c3.caption(f"{n_in:,} unit(s) locked in and {len(locks) - n_in:,} locked out on the map; "
               "they are part of the plan's settings and of the scenario you download.")
    st.dataframe(table, hide_index=True, key="map_lock_table")


def clicked_id(event: Any) -> int | None:
    """The ``pu_id`` of the unit a pydeck selection event picked (layer ``units``), if any."""
    ids = selection_ids(event)
    return ids[-1] if ids else None


def selection_ids(event: Any) -> list[int]:
    """The ``pu_id`` of the units a pydeck selection event picked (layer ``units``)."""
    try:
        objects = event["selection"]["objects"].get("units", [])
    except (KeyError, TypeError, AttributeError):
        return []
    key = SHORT_KEYS["pu_id"]
    return [int(o[key]) for o in objects if isinstance(o, dict) and key in o]

