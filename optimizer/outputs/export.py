"""A plan's candidate parks in the formats GIS opens unchanged (``carbonpark export``).

`export_plan` (or `export_solution` from a ``carbonpark solve`` folder) finds the plan's
candidate parks (`optimizer.plan.parks.candidate_parks`) and writes, into one output folder,
written atomically (`optimizer.atomic.write_dir_atomic`: an earlier export is replaced
only once the new one is complete, and a user's folder never), each format asked for.
The formats are the registry `optimizer.outputs.writers.WRITERS` (by default ``shp``,
``gpkg``, ``parquet``, ``geojson`` and ``tif``; `optimizer.outputs.gis` writes them), and
``export.json``: what was written, the parks' settings, every note (formats skipped and
why, fields cut, what the rank means), the CRS (PROJJSON, named) and the
reconciliation: the features every format holds (the parks and the unprotected
remainders of the existing protected units the plan completes,
`optimizer.outputs.plan_features`) summed by kind, against the plan's new km² and carbon
stock added, in numbers and in words.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from optimizer.atomic import write_dir_atomic
from optimizer.outputs.gis import STATUS_CODES, named_crs
from optimizer.outputs.plan_features import KINDS, PlanFeatures, plan_features
from optimizer.outputs.solve_folder import read_solution, solve_folder_inputs
from optimizer.outputs.writers import WRITERS, ExportJob, parse_formats
from optimizer.plan.parks import candidate_parks
from optimizer.plan.results import unit_status

if TYPE_CHECKING:
    from optimizer.model.problem import Problem
    from optimizer.plan.parks import Parks
    from optimizer.plan.priority_rank import PriorityRank

__all__ = ["OUTPUT_KIND", "ExportResult", "export_plan", "export_solution"]

#: The output kind of ``carbonpark export`` folders (`optimizer.atomic` markers).
OUTPUT_KIND = "export"


@dataclass
class ExportResult:
    """What `export_plan` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The output folder.
    files : list of str
        The files written (relative to ``path``), marker excluded.
    notes : list of str
        Formats skipped and why, fields cut, what the rank means.
    parks : Parks
        The candidate parks exported.
    rank : PriorityRank or None
        The priority rank (None when not computed).
    seconds : dict
        Wall-clock seconds per format (and ``parks``, ``rank``).
    features : PlanFeatures or None
        What every format holds (the parks and what the plan completes) and its totals.
    """

    path: Path
    files: list[str]
    notes: list[str]
    parks: Parks
    rank: PriorityRank | None
    seconds: dict[str, float] = field(default_factory=dict)
    features: PlanFeatures | None = None

    @property
    def reconciliation(self) -> list[str]:
        """The features' totals against the plan's, in words (`PlanFeatures.reconciliation`)."""
        return self.features.reconciliation() if self.features is not None else []


# ---------------------------------------------------------------- the export

def export_plan(problem: Problem, x: np.ndarray, out_dir: str | os.PathLike[str], *,
                formats: str | Sequence[str] = "all", connectivity: str = "rook",
                min_km2: float = 0.0, refill: bool = False, overwrite: bool = False,
                inputs: Iterable[str | os.PathLike[str]] = (),
                source: str = "", zone: np.ndarray | None = None) -> ExportResult:
    """Write the plan's candidate parks in the requested formats into the folder ``out_dir``.

    Parameters
    ----------
    problem : Problem
        The problem solved.
    x : numpy.ndarray
        The plan, 0/1 per unit (``pu.units`` order).
    out_dir : str or PathLike
        A new or empty folder, or an earlier export (else ``overwrite``).
    formats : str or sequence of str
        Names in `optimizer.outputs.writers.WRITERS` (``"shp,gpkg"`` or a list), or ``"all"``
        (`optimizer.outputs.writers.parse_formats`).
    connectivity, min_km2, refill
        Passed to `optimizer.plan.parks.candidate_parks`.
    overwrite : bool
        Replace a folder that is not an earlier export (never an input).
    inputs : iterable of paths
        The command's inputs: never replaced or written into.
    source : str
        Where the plan came from, recorded in ``export.json``.
    zone : numpy.ndarray of str, optional
        A zoned plan's zone per unit ("" when not selected): every feature gets the new
        km² of each zone (`optimizer.outputs.plan_features.plan_features`), and the
        GeoPackage's ``added_units`` layer each unit's ``zone``.

    Returns
    -------
    ExportResult

    Examples
    --------
    >>> import tempfile
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = export_plan(p, solve(p).x, f"{tmp}/out", formats=["gpkg", "geojson"])
    ...     sorted(res.files)
    ['export.json', 'parks.geojson', 'parks.gpkg']
    """
    formats = parse_formats(formats)
    t = time.perf_counter()
    parks = candidate_parks(problem, np.asarray(x), connectivity=connectivity, min_km2=min_km2,
                            refill=refill)
    features = plan_features(problem, parks, x, zone=zone)
    job = ExportJob(problem, parks, unit_status(problem, parks.x), formats,
                    seconds={"parks": time.perf_counter() - t}, features=features, zone=zone)
    for name in formats:
        WRITERS[name].prepare_job(job)
    files: list[str] = []

    def fill(folder: Path) -> None:
        for name in formats:
            t0 = time.perf_counter()
            files.extend(WRITERS[name].write_files(job, folder))
            job.seconds[name] = job.seconds.get(name, 0.0) + time.perf_counter() - t0
        files.append("export.json")
        table = parks.table
        crs = named_crs(problem.pu.crs)
        manifest = {
            "source": source, "formats": list(formats), "files": files, "notes": job.notes,
            "reconciliation": {"text": features.reconciliation(), **features.totals(),
                               "plan": features.plan,
                               "features": {k: int((features.table["kind"] == k).sum())
                                            for k in KINDS}},
            "crs_name": crs.name, "crs": crs.to_json_dict(), "parks": len(table),
            "parks_area_km2": float(table["area_km2"].sum()) if len(table) else 0.0,
            "added_units": int((parks.unit_park > 0).sum()),
            "connectivity": parks.connectivity, "min_km2": float(parks.min_km2),
            "dropped_parks": len(parks.dropped),
            "status_codes": {k: v[0] for k, v in STATUS_CODES.items()},
            "seconds": {k: round(v, 3) for k, v in job.seconds.items()}}
        (folder / "export.json").write_text(json.dumps(manifest, indent=1) + "\n",
                                            encoding="utf-8")

    path = write_dir_atomic(out_dir, OUTPUT_KIND, fill, overwrite=overwrite, inputs=inputs)
    return ExportResult(Path(path), files, job.notes, parks, job.rank, job.seconds, features)


def export_solution(solve_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                    formats: str | Sequence[str] = "all", connectivity: str | None = None,
                    min_km2: float | None = None, refill: bool | None = None,
                    overwrite: bool = False) -> ExportResult:
    """`export_plan` of a ``carbonpark solve`` folder (`optimizer.outputs.solve_folder.read_solution`).

    ``connectivity``, ``min_km2`` and ``refill`` default to the scenario's ``[parks]`` table.

    The solve folder and the scenario's inputs are never replaced or written into.

    Examples
    --------
    >>> import tempfile
    >>> from optimizer.errors import InputDataError
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         export_solution(tmp, f"{tmp}/out")
    ...     except InputDataError as exc:
    ...         print(str(exc).split(": ", 1)[1])
    is not a `carbonpark solve` folder (no solution.parquet, summary.json, scenario.json)
    """
    loaded = read_solution(solve_dir)
    sc = loaded.scenario
    inputs = solve_folder_inputs(solve_dir)  # the folder, its scenario, grid, layers, cache
    pk = sc.parks
    return export_plan(loaded.problem, loaded.x, out_dir, formats=formats,
                       connectivity=pk.connectivity if connectivity is None else connectivity,
                       min_km2=pk.min_km2 if min_km2 is None else min_km2,
                       refill=pk.refill if refill is None else refill, overwrite=overwrite,
                       inputs=inputs, source=str(loaded.path), zone=loaded.zone)
