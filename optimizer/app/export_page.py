"""Export: the current plan (or a solve folder) in the formats picked, and the HTML report.

The formats offered are the registry `optimizer.outputs.writers.WRITERS`; each format's
main file (its first) is a download.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from optimizer.app import common
from optimizer.errors import InputDataError
from optimizer.outputs.writers import WRITERS

#: The formats picked when the page opens (those of them the registry has).
DEFAULT_FORMATS = ("shp", "gpkg", "parquet")


def _main_files(path: Path, formats: Sequence[str]) -> dict[str, bytes]:
    """Each format's main file written under ``path``, by format name."""
    main = {name: path / WRITERS[name].files[0] for name in formats}
    return {name: f.read_bytes() for name, f in main.items() if f.is_file()}


def _export_plan(name: str, result: Any, formats: Sequence[str]) -> dict[str, bytes]:
    from optimizer.outputs.export import export_plan
    from optimizer.outputs.report import report_html
    from optimizer.outputs.solve_folder import SolveFolder

    pu, key, grid = common.current()
    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_plan(result.problem, result.x, Path(tmp) / "export", formats=formats,
                          source=f"carbonpark app: {name}")
        files = _main_files(res.path, formats)
    scenario = common.plan_session(key, pu, grid).scenario(result.settings, name=name)
    summary = {**result.summary, "scenario": {**result.summary.get("scenario", {}), "name": name}}
    loaded = SolveFolder(path=Path(name), scenario=scenario, pu=pu, problem=result.problem,
                            x=result.x, status=result.status, summary=summary)
    # report_html takes loaded plans too; its annotation names only paths.
    files["report.html"] = report_html([loaded]).encode("utf-8")  # type: ignore[list-item]
    return files


def _export_folder(folder: Path, formats: Sequence[str]) -> dict[str, bytes]:
    from optimizer.outputs.export import export_solution
    from optimizer.outputs.report import report_html

    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_solution(folder, Path(tmp) / "export", formats=formats)
        files = _main_files(res.path, formats)
    files["report.html"] = report_html([folder]).encode("utf-8")
    return files


def export_page() -> None:
    """Export: GIS files and the HTML report as downloads."""
    st.title("Export")
    what = st.radio("Plan to export", ["The current plan", "A solve folder (`carbonpark solve`)"],
                    horizontal=True, key="exp_what")
    picked = st.multiselect(
        "Formats", list(WRITERS), default=[n for n in DEFAULT_FORMATS if n in WRITERS],
        format_func=lambda n: f"{WRITERS[n].label} ({n})", key="exp_formats",
        help="; ".join(f"{w.label}: {w.description}" for w in WRITERS.values()))
    formats = tuple(n for n in WRITERS if n in picked)  # the registry's order
    if not formats:
        st.info("Pick at least one format.")
        return
    if what == "The current plan":
        result = st.session_state.get("result")
        if result is None:
            raise InputDataError("no plan yet: run a plan on the Plan page first")
        name = common.safe_name(st.text_input("Plan name (file names and report title)",
                                              value="app_plan", key="exp_name"))
        token: tuple[Any, ...] = (id(result), name, formats)
        cache = st.session_state.get("export_files")
        if cache is None or cache[0] != token:
            with st.spinner("Writing the candidate parks and the report…"):
                cache = (token, _export_plan(name, result, formats))
            st.session_state["export_files"] = cache
    else:
        path = st.text_input("Solve folder", key="exp_folder")
        if not path.strip():
            st.info("Type the path of a folder written by `carbonpark solve`.")
            return
        folder = Path(path.strip()).expanduser()
        if not folder.is_dir():
            raise InputDataError(f"{folder}: no such folder; give a folder written by "
                                 "`carbonpark solve`")
        name = common.safe_name(folder.name)
        token = (str(folder.resolve()), folder.stat().st_mtime, formats)
        cache = st.session_state.get("export_files")
        if cache is None or cache[0] != token:
            with st.spinner("Writing the candidate parks and the report…"):
                cache = (token, _export_folder(folder, formats))
            st.session_state["export_files"] = cache
    files = cache[1]
    st.caption("Candidate parks: one polygon per park with area (km²), carbon stock (MgC, "
               "tCO2e), uptake (MgC/yr), emissions (tCO2/yr) and more; CRS of the grid.")
    offered = [n for n in formats if n in files]
    cols = st.columns(len(offered) + 1)
    for col, fmt in zip(cols, offered, strict=False):
        w = WRITERS[fmt]
        col.download_button(f"{w.label} ({len(files[fmt]) / 1024:,.0f} KB)", files[fmt],
                            file_name=f"{name}_{w.files[0]}", mime=w.media_type,
                            key=f"dl_{w.files[0]}", help=w.description)
    cols[-1].download_button(f"HTML report ({len(files['report.html']) / 1024:,.0f} KB)",
                            files["report.html"], file_name=f"{name}_report.html",
                            mime="text/html", key="dl_report")
