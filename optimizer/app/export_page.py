"""Export: the current plan (or a solve folder) as Shapefile zip, GeoPackage, GeoParquet, HTML."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from optimizer.app import common
from optimizer.errors import InputDataError

_FILES = [("parks_shp.zip", "Shapefile (zip)", "application/zip"),
          ("parks.gpkg", "GeoPackage", "application/geopackage+sqlite3"),
          ("parks.parquet", "GeoParquet", "application/vnd.apache.parquet")]


def _export_plan(name: str, result: Any) -> dict[str, bytes]:
    from optimizer.outputs.export import export_plan
    from optimizer.outputs.report import report_html
    from optimizer.outputs.solve_folder import SolveFolder

    pu, key, grid = common.current()
    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_plan(result.problem, result.x, Path(tmp) / "export",
                          formats=["shp", "gpkg", "parquet"], source=f"carbonpark app: {name}")
        files = {f: (res.path / f).read_bytes() for f, _, _ in _FILES if (res.path / f).exists()}
    scenario = common.plan_session(key, pu, grid).scenario(result.settings, name=name)
    summary = {**result.summary, "scenario": {**result.summary.get("scenario", {}), "name": name}}
    loaded = SolveFolder(path=Path(name), scenario=scenario, pu=pu, problem=result.problem,
                            x=result.x, status=result.status, summary=summary)
    files["report.html"] = report_html([loaded]).encode("utf-8")
    return files


def _export_folder(folder: Path) -> dict[str, bytes]:
    from optimizer.outputs.export import export_solution
    from optimizer.outputs.report import report_html

    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_solution(folder, Path(tmp) / "export", formats=["shp", "gpkg", "parquet"])
        files = {f: (res.path / f).read_bytes() for f, _, _ in _FILES if (res.path / f).exists()}
    files["report.html"] = report_html([folder]).encode("utf-8")
    return files


def export_page() -> None:
    """Export: GIS files and the HTML report as downloads."""
    st.title("Export")
    what = st.radio("Plan to export", ["The current plan", "A solve folder (`carbonpark solve`)"],
                    horizontal=True, key="exp_what")
    if what == "The current plan":
        result = st.session_state.get("result")
        if result is None:
            raise InputDataError("no plan yet: run a plan on the Plan page first")
        name = common.safe_name(st.text_input("Plan name (file names and report title)",
                                              value="app_plan", key="exp_name"))
        token = (id(result), name)
        cache = st.session_state.get("export_files")
        if cache is None or cache[0] != token:
            with st.spinner("Writing the candidate parks (Shapefile, GeoPackage, GeoParquet) and "
                            "the report…"):
                cache = (token, _export_plan(name, result))
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
        token = (str(folder.resolve()), folder.stat().st_mtime)
        cache = st.session_state.get("export_files")
        if cache is None or cache[0] != token:
            with st.spinner("Writing the candidate parks and the report…"):
                cache = (token, _export_folder(folder))
            st.session_state["export_files"] = cache
    files = cache[1]
    st.caption("Candidate parks: one polygon per park with area (km²), carbon stock (MgC, "
               "tCO2e), uptake (MgC/yr), emissions (tCO2/yr) and more; CRS of the grid.")
    cols = st.columns(4)
    for col, (fname, label, mime) in zip(cols, _FILES, strict=False):
        if fname in files:
            col.download_button(f"{label} ({len(files[fname]) / 1024:,.0f} KB)", files[fname],
                                file_name=f"{name}_{fname}", mime=mime, key=f"dl_{fname}")
    cols[3].download_button(f"HTML report ({len(files['report.html']) / 1024:,.0f} KB)",
                            files["report.html"], file_name=f"{name}_report.html",
                            mime="text/html", key="dl_report")
