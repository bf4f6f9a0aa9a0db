"""Export: any plan of the session (current or saved, by name) or a solve folder.

The formats offered are the registry `optimizer.outputs.writers.WRITERS`; each format's
main file (its first) is a download, with the HTML report. A plan of the session comes
with its settings: ``export.json`` (whose ``source`` names the plan and its settings),
its scenario ``<name>.toml`` (`optimizer.app.common.scenario_toml`: ``carbonpark solve``
of it, from any folder, gives the plan again) and a zip of everything.

Every plan of the session at once (`EVERY_PLAN`): one zip with a folder per plan, named by
the plan, holding what a single plan's zip holds, and ``plans.csv``: one row per plan, its
settings (in words and one column each) and its headline numbers, each the value of its
``summary.json`` (`optimizer.app.plans_table.plans_table`), and ``comparison.html``, the
HTML report comparing them.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.app import common, state
from optimizer.app.plans_table import plans_table
from optimizer.app.ui import Ui
from optimizer.errors import InputDataError
from optimizer.outputs.writers import WRITERS

#: The formats picked when the page opens (those of them the registry has).
DEFAULT_FORMATS = ("shp", "gpkg", "parquet")

#: The first choice of the page: the plans of this browser session.
SESSION_PLANS = "A plan of this session (current or saved)"
#: The second choice: every plan of the session at once (`every_plan`).
EVERY_PLAN = "Every plan of this session at once (saved and current)"
#: The current plan when it is not saved.
CURRENT = "the current plan (not saved)"


def _plans(st: Ui) -> dict[str, Any]:
    """The plans to export, by name: the saved ones, and the current one unless saved."""
    plans = dict(common.saved_plans(st))
    result = st.session_state.get("result")
    if result is not None and not any(r is result for r in plans.values()):
        plans[CURRENT] = result
    return plans


def _choose_plan(st: Ui) -> tuple[str, Any]:
    """The plan to export and its name: a saved plan by its name, the current one named here."""
    plans = _plans(st)
    if not plans:
        raise InputDataError("no plan yet: run a plan on the Plan page first")
    result = st.session_state.get("result")
    current = next((n for n, r in plans.items() if r is result), next(iter(plans)))
    state.seed_choice(st, "exp_plan", list(plans), current)
    choice = st.selectbox("Plan", list(plans), key="exp_plan",
                          help="Save a plan on the Plan page (Save for Compare) to export it "
                               "later by its name")
    if choice == CURRENT:
        state.seed(st, "exp_name", st.session_state.get("save_name", "app_plan"))
        name = common.safe_name(st.text_input("Plan name (file names and report title)",
                                              key="exp_name"))
    else:
        name = common.safe_name(str(choice))
    return name, plans[str(choice)]


def _main_files(path: Path, formats: Sequence[str]) -> dict[str, bytes]:
    """Each format's main file written under ``path``, by format name."""
    main = {name: path / WRITERS[name].files[0] for name in formats}
    return {name: f.read_bytes() for name, f in main.items() if f.is_file()}


def _plan_folder(st: Ui, name: str, result: Any, formats: Sequence[str]
                 ) -> tuple[dict[str, bytes], dict[str, bytes], Any]:
    """The plan ``result`` exported as ``name``: (every file of its folder by its path in a
    zip, ``<name>/<file>``; each format's main file by format name; the plan as a loaded
    solve folder, `optimizer.outputs.solve_folder.SolveFolder`, for reports).

    The folder holds each format's files, ``export.json`` (its source names the plan and
    its settings), the scenario ``<name>.toml`` that reproduces it and the HTML report."""
    from optimizer.outputs.export import export_plan
    from optimizer.outputs.report import report_html
    from optimizer.outputs.solve_folder import SolveFolder

    pu, key, grid = common.current(st)
    toml = common.scenario_toml(st, result.settings, name)
    scenario = common.plan_session(key, pu, grid).scenario(result.settings, name=name)
    summary = {**result.summary, "scenario": {**result.summary.get("scenario", {}), "name": name}}
    loaded = SolveFolder(path=Path(name), scenario=scenario, pu=pu, problem=result.problem,
                         x=result.x, status=result.status, summary=summary)
    # report_html takes loaded plans too; its annotation names only paths.
    report = report_html([loaded]).encode("utf-8")  # type: ignore[list-item]
    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_plan(result.problem, result.x, Path(tmp) / "export", formats=formats,
                          source=f"carbonpark app: plan {name!r} ({common.settings_text(result.settings)}); "
                                 f"its scenario: {name}.toml")
        main = _main_files(res.path, formats)
        folder = {f"{name}/{f}": (res.path / f).read_bytes() for f in sorted(res.files)}
    folder[f"{name}/{name}.toml"] = toml.encode("utf-8")
    folder[f"{name}/report.html"] = report
    return folder, main, loaded


def _zip(entries: dict[str, bytes]) -> bytes:
    """``entries`` (path in the zip -> bytes) as one zip, in their order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries.items():
            zf.writestr(arcname, data)
    return buf.getvalue()


def _export_plan(st: Ui, name: str, result: Any, formats: Sequence[str]) -> dict[str, bytes]:
    """The plan ``result`` exported as ``name``: each format's main file, ``export.json``
    (its source names the plan and its settings), the scenario ``<name>.toml`` that
    reproduces it, the HTML report, and all of them in one zip (`_plan_folder`)."""
    folder, files, _ = _plan_folder(st, name, result, formats)
    files["export.json"] = folder[f"{name}/export.json"]
    files[f"{name}.toml"] = folder[f"{name}/{name}.toml"]
    files["report.html"] = folder[f"{name}/report.html"]
    files["zip"] = _zip(folder)
    return files


def every_plan(st: Ui) -> dict[str, Any]:
    """Every plan of the session by the name its folder gets: the saved plans by their
    names, then the current plan unless saved, named as on this page (``exp_name``, else
    the Plan page's scenario name; ``_current`` added when a saved plan has that name)."""
    plans = _plans(st)
    out = {common.safe_name(n): r for n, r in plans.items() if n != CURRENT}
    if CURRENT in plans:
        name = common.safe_name(st.session_state.get("exp_name")
                                or st.session_state.get("save_name") or "app_plan")
        base, k = name, 1
        while name in out:
            name = f"{base}_current" if k == 1 else f"{base}_current{k}"
            k += 1
        out[name] = plans[CURRENT]
    return out


def _export_every_plan(st: Ui, plans: dict[str, Any], formats: Sequence[str]
                       ) -> dict[str, bytes]:
    """Every plan of ``plans`` in one zip, each in its own folder named by the plan
    (`_plan_folder`), with ``plans.csv``: one row per plan, its settings and headline
    numbers (`optimizer.app.plans_table.plans_table`), and, for two plans or more,
    ``comparison.html``: the HTML report comparing them. Returns ``zip``, ``plans.csv``
    and ``comparison.html`` (empty for one plan)."""
    from optimizer.outputs.report import report_html

    entries: dict[str, bytes] = {}
    loaded = []
    for name, result in plans.items():
        folder, _, plan = _plan_folder(st, name, result, formats)
        entries.update(folder)
        loaded.append(plan)
    table = plans_table(plans, settings_detail=True)
    table.insert(1, "folder", [f"{name}/" for name in plans])
    csv = table.to_csv(index=False).encode("utf-8")
    front = {"plans.csv": csv}
    html = report_html(loaded).encode("utf-8") if len(loaded) > 1 else b""
    if html:
        front["comparison.html"] = html
    return {"zip": _zip({**front, **entries}), "plans.csv": csv, "comparison.html": html}


def _every_plan_page(st: Ui, formats: Sequence[str]) -> None:
    """Every plan of the session at once: the table of plans, one zip and ``plans.csv``."""
    plans = every_plan(st)
    if not plans:
        raise InputDataError("no plan yet: run a plan on the Plan page first")
    token = (tuple((n, id(r)) for n, r in plans.items()), tuple(formats))
    cache = st.session_state.get("export_all")
    if cache is None or cache[0] != token:
        with st.spinner(f"Writing {len(plans)} plans: their candidate parks, scenarios and "
                        "reports…"):
            cache = (token, _export_every_plan(st, plans, formats))
        st.session_state["export_all"] = cache
    files = cache[1]
    st.caption(f"{len(plans)} plans, each in a folder of the zip named by the plan: its files "
               f"({', '.join(WRITERS[f].label for f in formats)}), export.json (whose source "
               "names the plan and its settings), its scenario <name>.toml and its report; "
               "plans.csv: one row per plan, its settings and headline numbers; "
               "comparison.html: the report comparing them.")
    st.dataframe(pd.DataFrame({"plan (its folder)": list(plans),
                               "settings": [common.settings_text(r.settings)
                                            for r in plans.values()]}), hide_index=True)
    c1, c2, c3 = st.columns(3)
    c1.download_button(f"Every plan ({len(files['zip']) / 1024:,.0f} KB zip)", files["zip"],
                       file_name="carbonpark_plans.zip", mime="application/zip",
                       key="dl_all_zip", help="one folder per plan, plans.csv and the "
                                              "comparison report")
    c2.download_button("plans.csv", files["plans.csv"], file_name="carbonpark_plans.csv",
                       mime="text/csv", key="dl_all_csv",
                       help="one row per plan: its settings and headline numbers")
    if files["comparison.html"]:
        c3.download_button(f"Comparison report ({len(files['comparison.html']) / 1024:,.0f} KB)",
                           files["comparison.html"], file_name="carbonpark_comparison.html",
                           mime="text/html", key="dl_all_report")


def _export_folder(folder: Path, formats: Sequence[str]) -> dict[str, bytes]:
    from optimizer.outputs.export import export_solution
    from optimizer.outputs.report import report_html

    with tempfile.TemporaryDirectory(prefix="carbonpark-export-") as tmp:
        res = export_solution(folder, Path(tmp) / "export", formats=formats)
        files = _main_files(res.path, formats)
    files["report.html"] = report_html([folder]).encode("utf-8")
    return files


def export_page(st: Ui) -> None:
    """Export: GIS files and the HTML report as downloads."""
    st.title("Export")
    what = st.radio("Plan to export", [SESSION_PLANS, EVERY_PLAN,
                                       "A solve folder (`carbonpark solve`)"],
                    horizontal=True, key="exp_what")
    state.seed(st, "exp_formats", [n for n in DEFAULT_FORMATS if n in WRITERS])
    picked = st.multiselect(
        "Formats", list(WRITERS),
        format_func=lambda n: f"{WRITERS[n].label} ({n})", key="exp_formats",
        help="; ".join(f"{w.label}: {w.description}" for w in WRITERS.values()))
    formats = tuple(n for n in WRITERS if n in picked)  # the registry's order
    if not formats:
        st.info("Pick at least one format.")
        return
    if what == EVERY_PLAN:
        _every_plan_page(st, formats)
        return
    if what == SESSION_PLANS:
        name, result = _choose_plan(st)
        token: tuple[Any, ...] = (id(result), name, formats)
        cache = st.session_state.get("export_files")
        if cache is None or cache[0] != token:
            with st.spinner(f"Writing {name}: the candidate parks, its scenario and the report…"):
                cache = (token, _export_plan(st, name, result, formats))
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
    if what == SESSION_PLANS:
        st.caption(f"**{name}**: {common.settings_text(result.settings)}")
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
    if what == SESSION_PLANS:
        c1, c2, c3 = st.columns(3)
        c1.download_button(f"Scenario {name}.toml (its settings)", files[f"{name}.toml"],
                           file_name=f"{name}.toml", mime="application/toml", key="dl_scenario",
                           help="`carbonpark solve` of this file, from any folder, gives the plan "
                                "again")
        c2.download_button("export.json (what was written, from which plan)", files["export.json"],
                           file_name=f"{name}_export.json", mime="application/json",
                           key="dl_export_json")
        c3.download_button(f"Everything ({len(files['zip']) / 1024:,.0f} KB zip)", files["zip"],
                           file_name=f"{name}_export.zip", mime="application/zip", key="dl_zip",
                           help="every file of the export, export.json, the scenario and the report")
