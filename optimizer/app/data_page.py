"""Data: choose the grid (the demo country, a grid folder or an uploaded zip), map a layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from optimizer.app import common, map_data, state, uploads
from optimizer.app.ui import Ui
from optimizer.errors import InputDataError

#: Sequential classes of the layer map (light to dark).
_CLASS_COLOURS = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837", "#00341c"]


def _density(pu: Any, column: str) -> tuple[np.ndarray, str, str]:
    """Values per unit to map, their unit and a description: the protected share, or the
    layer's amount per km² of the unit as the Plan page's map has it
    (`optimizer.app.map_data.feature_density`)."""
    if column == "pa_fraction":
        return (100 * pu.units["pa_fraction"].to_numpy(dtype=float), "%",
                "share of the unit protected")
    values, unit = map_data.feature_density(pu, column)
    what = {"%": "share of the unit's area", "species": "mean species richness"}.get(
        unit, "amount per km² of the unit")
    return values, unit, what


def layer_map(pu: Any, column: str, label: str) -> Any:
    """A map of one layer in six quantile classes, with its unit in the legend."""
    from optimizer.figures.maps import NO_DATA, category_map
    from optimizer.figures.plots import NO_DATA_COLOUR

    values, unit, what = _density(pu, column)
    finite = np.isfinite(values)
    if not finite.any():
        raise InputDataError(f"layer {label!r}: no unit has a value to map")
    edges = np.unique(np.nanquantile(values[finite], np.linspace(0, 1, 7)))
    how = "classes hold equal numbers of units (sextiles)"
    if len(edges) < 5:  # skewed (e.g. mostly 0): equal intervals instead
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 6)
        how = "classes of equal width"
    k = len(edges) - 1
    codes = np.full(len(values), k, dtype=int)
    codes[finite] = np.clip(np.searchsorted(edges, values[finite], side="right") - 1, 0, k - 1)
    digits = 0 if (edges[-1] - edges[0]) >= 10 else 2
    labels = [f"{edges[i]:,.{digits}f} – {edges[i + 1]:,.{digits}f} {unit}" for i in range(k)]
    picks = np.linspace(0, len(_CLASS_COLOURS) - 1, k).round().astype(int)
    colours = [_CLASS_COLOURS[i] for i in picks]
    return category_map(pu.units, codes, [*labels, NO_DATA], [*colours, NO_DATA_COLOUR],
                        f"{label} ({unit})", geometry=pu.units.geometry,
                        subtitle=f"{what}; {how}")


def _choose_source(st: Ui) -> None:
    kind = st.radio("Grid", ["Demo country", "Grid folder on this computer", "Upload a zipped grid folder"],
                    horizontal=True, key="data_kind")
    if kind == "Demo country":
        cell = common.demo_cell_km()
        st.caption(f"The demo country on {cell:g} km cells (built once per app process).")
        if st.button("Use the demo country", key="use_demo"):
            st.session_state["grid_source"] = {"kind": "demo", "cell_km": cell}
            st.session_state.pop("result", None)
            uploads.keep_upload(st.session_state, None)  # removes an upload it replaces
    elif kind == "Grid folder on this computer":
        path = st.text_input("Grid folder (written by `carbonpark grid`)", key="grid_path")
        if st.button("Load the folder", key="load_folder"):
            folder = Path(path.strip()).expanduser()
            if not path.strip():
                raise InputDataError("grid folder: empty; type the path of a folder written by "
                                     "`carbonpark grid`")
            if not folder.is_dir():
                raise InputDataError(f"{folder}: no such folder; give a folder written by "
                                     "`carbonpark grid`")
            src = {"kind": "folder", "path": str(folder.resolve()),
                   "mtime": common.path_mtime(folder)}
            common.load_pu(src)  # raises on a bad folder before we switch to it
            st.session_state["grid_source"] = src
            st.session_state.pop("result", None)
            uploads.keep_upload(st.session_state, None)  # removes an upload it replaces
    else:
        up = st.file_uploader("Zipped grid folder (.zip, see the size limit)", type=["zip"],
                              key="grid_zip")
        if up is not None and st.button("Load the upload", key="load_zip"):
            upload, folder = uploads.receive_upload(up.getvalue(), up.name)  # refused: removed
            try:
                src = {"kind": "folder", "path": str(folder), "mtime": common.path_mtime(folder),
                       "upload": True}  # unpacked in a temporary folder
                common.load_pu(src)
            except InputDataError as exc:  # named by the upload, not its temporary folder
                upload.remove()
                raise type(exc)(str(exc).replace(str(folder), up.name)) from None
            except BaseException:
                upload.remove()
                raise
            uploads.keep_upload(st.session_state, upload)  # removes the upload it replaces
            st.session_state["grid_source"] = src
            st.session_state.pop("result", None)


def data_page(st: Ui) -> None:
    """Data: the grid in use, an overview map of any layer, the grid summary."""
    from optimizer.grid.printing import grid_text

    st.title("Data")
    try:
        _choose_source(st)
    except Exception as exc:
        common.show_error(st, exc)
    pu, _, _ = common.current(st)
    src = common.grid_source(st)
    where = (f"demo country, {src['cell_km']:g} km cells" if src["kind"] == "demo"
             else src["path"])
    units = pu.units
    area = float(units["area_km2"].sum())
    prot = float((units["pa_fraction"] * units["area_km2"]).sum()) / max(area, 1e-12)
    st.success(f"Grid in use: {where}")
    c1, c2, c3 = st.columns(3)
    c1.metric("Planning units", f"{len(units):,} units")
    c2.metric("Study area", f"{area:,.0f} km²")
    c3.metric("Protected today", f"{100 * prot:.1f} %")

    feats = pu.features
    options: dict[str, str] = {"pa_fraction": "existing protection"}
    for col, row in feats.iterrows():
        year = "" if row["year"] is None or str(row["year"]) in ("<NA>", "nan") else f" {row['year']}"
        named = row["role"] in ("land_cover", "biodiversity") and row["label"]
        name = row["label"] if named else row["layer"]
        options[str(col)] = f"{row['role'].replace('_', ' ')}: {name}{year}"
    state.seed_choice(st, "data_layer", list(options), next(iter(options)))
    choice = st.selectbox("Layer to map", list(options), format_func=options.__getitem__,
                          key="data_layer")
    if choice is None:  # pragma: no cover - a selectbox with options always has a choice
        return
    with st.spinner("Drawing the map…"):
        common.show_fig(st, layer_map(pu, choice, options[choice]))
    with st.expander("Grid summary", expanded=True):
        st.code(grid_text(pu), language=None)
