"""Marxan's outputs written from our plans: `write_marxan_outputs`, and
`check_marxan_outputs` to check the folder before solving.

Output files follow ``output.cpp``: ``SAVE*`` 3 writes ``.csv`` with ``PUID,SOLUTION``
solution headers, 2 writes comma-separated ``.txt`` with ``"planning_unit","solution"``,
1 writes tab-separated ``.dat``. Every file is written to a temporary file in the same
folder and renamed into place, and recorded in the folder's ``carbonpark-output.json``: a
later run replaces the files listed there, never one it did not write (Marxan's own
``output_best.csv``, say) unless ``overwrite=True``, and never an input of the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.atomic import check_output_files, claim_files, write_text_atomic
from optimizer.errors import InputDataError
from optimizer.io.marxan.input_dat import SAVE_SUFFIX
from optimizer.io.marxan.project import MarxanProject
from optimizer.io.marxan.score import evaluate_plan, plan_blm, plan_selection
from optimizer.io.marxan.tables import SUMMARY_COLUMNS, Table, is_series, table_text


def _atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    return write_text_atomic(path, text, newline="\n")


def _solution_text(ids: np.ndarray, x: np.ndarray, fmt: int) -> str:
    sel = x.astype(np.int64)
    if fmt == 3:
        return table_text(Table({"PUID": ids, "SOLUTION": sel}), ",", quote_header=False)
    if fmt == 2:
        return table_text(Table({"planning_unit": ids, "solution": sel}), ",",
                          quote_header=True)
    # Marxan's plain flavour: no header, a selected unit is its id alone.
    return "".join(f"{i}\n" if s else f"{i},0\n" for i, s in zip(ids.tolist(), sel.tolist(),
                                                                     strict=True))


def _output_names(n_plans: int, scenario: str, save_format: int) -> list[str]:
    """The files `write_marxan_outputs` writes for ``n_plans`` plans."""
    ext = SAVE_SUFFIX[save_format]
    tags = [f"{t}{k:05d}" for k in range(1, n_plans + 1) for t in ("r", "mv")]
    return [f"{scenario}_{tag}{ext}" for tag in [*tags, "best", "mvbest", "sum", "ssoln"]]


def _project_inputs(project: MarxanProject) -> list[Path]:
    return [project.path, *(f for f in project.files.values() if f is not None)]


def check_marxan_outputs(project: MarxanProject, out_dir: str | Path, *, n_plans: int = 1,
                         scenario: str = "output", save_format: int = 3, overwrite: bool = False,
                         inputs: Sequence[str | Path] = ()) -> Path:
    """Check, before solving, that `write_marxan_outputs` may write its files to ``out_dir``.

    Parameters
    ----------
    project : MarxanProject
        Its input files are never replaced.
    out_dir : str or Path
    n_plans, scenario, save_format
        As the later `write_marxan_outputs` call will write them.
    overwrite : bool
        Replace files carbonpark did not write (e.g. Marxan's own outputs).
    inputs : sequence of paths
        More files never to replace (e.g. a Marxan solution to compare with).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    OutputError
        A file to write exists and was not written by carbonpark, or is an input; the
        message names it.
    """
    if save_format not in SAVE_SUFFIX:
        raise InputDataError(f"save_format must be 3 (csv), 2 (txt) or 1 (dat); got {save_format!r}")
    return check_output_files(out_dir, "marxan-outputs", _output_names(n_plans, scenario, save_format),
                              overwrite=overwrite, inputs=[*_project_inputs(project), *inputs])


def write_marxan_outputs(project: MarxanProject, solutions: Any, out_dir: str | Path, *,
                         scenario: str = "output", blm: float | None = None,
                         save_format: int = 3, overwrite: bool = False) -> dict[str, Path]:
    """Write plans in Marxan's output layout.

    Files: ``<scenario>_r00001`` ... (one per plan), ``_mv00001`` ... (features per plan),
    ``_best`` and ``_mvbest`` (the plan with the lowest Marxan score), ``_sum`` (one
    row per plan, Marxan's summary columns) and ``_ssoln`` (how often each unit is
    selected). Each file is written atomically.

    Parameters
    ----------
    project : MarxanProject
    solutions : Solution, array, or a sequence of them
        One or more plans (0/1 per unit in pu.dat order).
    out_dir : str or Path
    scenario : str
        File name prefix (Marxan's SCENNAME).
    blm : float, optional
        Boundary length modifier for the scores. Default: the BLM the plans were solved
        with (a `Solution` from `optimizer.plan.results.solve` carries it), else the BLM of
        input.dat; an explicit ``blm`` that disagrees raises (see `plan_blm`).
    save_format : {3, 2, 1}
        Marxan's SAVE* flavour: 3 ``.csv``, 2 comma-separated ``.txt``, 1 tab-separated ``.dat``.
    overwrite : bool
        Replace files of these names that carbonpark did not write (by default only files
        listed in the folder's ``carbonpark-output.json`` are replaced). The project's
        input files are never replaced.

    Returns
    -------
    dict of str to Path
        ``best``, ``mvbest``, ``sum``, ``ssoln``, ``r00001``, ``mv00001``, ...

    Raises
    ------
    OutputError
        A file to write exists and was not written by carbonpark (see ``overwrite``), is
        one of the project's inputs, or writing failed.
    """
    if save_format not in SAVE_SUFFIX:
        raise InputDataError(f"save_format must be 3 (csv), 2 (txt) or 1 (dat); got {save_format!r}")
    if (is_series(solutions) or hasattr(solutions, "x")
            or (isinstance(solutions, np.ndarray) and solutions.ndim == 1)):
        solutions = [solutions]
    plans = [plan_selection(project, s, f"plan {k + 1}") for k, s in enumerate(solutions)]
    if not plans:
        raise InputDataError("write_marxan_outputs needs at least one plan")
    blm = plan_blm(project, solutions, blm)
    out = claim_files(out_dir, "marxan-outputs", _output_names(len(plans), scenario, save_format),
                      overwrite=overwrite, inputs=_project_inputs(project))
    ext = SAVE_SUFFIX[save_format]
    delim = "," if save_format > 1 else "\t"
    ids = project.pu["id"]
    written: dict[str, Path] = {}
    rows, scores, mvs = [], [], []
    for k, x in enumerate(plans, start=1):
        s, mv = evaluate_plan(project, x, blm)
        scores.append(s["score"])
        mvs.append(mv)
        rows.append({"Run_Number": k, "Score": s["score"], "Cost": s["cost"],
                     "Planning_Units": s["units"], "Connectivity": s["boundary"],
                     "Connectivity_Total": s["connectivity_total"],
                     "Connectivity_In": s["connectivity_in"],
                     "Connectivity_Edge": s["connectivity_edge"],
                     "Connectivity_Out": s["connectivity_out"],
                     "Connectivity_In_Fraction": s["connectivity_in_fraction"],
                     "Penalty": s["penalty"], "Shortfall": s["shortfall"],
                     "Missing_Values": s["missing_values"], "MPM": s["mpm"]})
        tag = f"r{k:05d}"
        written[tag] = _atomic_write(out / f"{scenario}_{tag}{ext}",
                                     _solution_text(ids, x, save_format))
        written[f"mv{k:05d}"] = _atomic_write(out / f"{scenario}_mv{k:05d}{ext}",
                                              table_text(mv, delim, quote_header=True))
    best = int(np.argmin(scores))  # Marxan keeps the first run with the lowest score
    written["best"] = _atomic_write(out / f"{scenario}_best{ext}",
                                    _solution_text(ids, plans[best], save_format))
    written["mvbest"] = _atomic_write(out / f"{scenario}_mvbest{ext}",
                                      table_text(mvs[best], delim, quote_header=True))
    summary = Table({c: [row[c] for row in rows] for c in SUMMARY_COLUMNS})
    written["sum"] = _atomic_write(out / f"{scenario}_sum{ext}",
                                   table_text(summary, delim, quote_header=True))
    counts = np.sum(plans, axis=0).astype(np.int64)
    ssoln = Table({"planning_unit": ids[::-1], "number": counts[::-1]})  # Marxan: reversed
    written["ssoln"] = _atomic_write(out / f"{scenario}_ssoln{ext}",
                                     table_text(ssoln, delim, quote_header=True,
                                                 header=save_format > 1))
    return written
