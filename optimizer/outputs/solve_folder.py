"""What ``carbonpark solve`` writes: a plan, its summary, its representation and its gap closure.

* `unit_status` - per unit: ``existing`` (locked in), ``added``, ``locked out`` or ``free``.
* `plan_summary` - the JSON-ready summary: scenario hash and overrides, status, objective,
  bound, gap, runtime, solver and versions, new km², carbon stock / uptake / emissions
  added in their units and in tCO2e (tCO2e = MgC x 44.0095/12.0107), species meeting targets
  before and after, patches, and the gap closure's headline (`optimizer.plan.closure`);
  per region (``regions``) the new km² and carbon stock added against the region budget;
  per cost budget (``costs``, by cost column) what the plan costs against the budget;
  per lock (``locks``, by label) ``in`` or ``out``, the units and km² it locks and, for a
  polygon lock, its ``file``;
  the effective weight of every feature and of every quantity weighed, with the rule
  (`optimizer.model.objectives.weights.weights_summary`); the boundary penalty as
  compactness, absolute penalty and break-even (`optimizer.plan.calibration.boundary_summary`);
  and ``definitions``: the path, label, unit and definition of every quantity
  (`optimizer.plan.quantities.QUANTITIES`).
"New" is what the plan protects that was not protected before: the unprotected part of
every selected unit, added or locked in (a unit 60% inside a reserve and locked in brings
its other 40%, which the budget pays for). It is the budget's own measure, and the one the
sweep and the frontier report.

* `write_solution` - the output folder, atomically (`optimizer.atomic`): ``solution.parquet``
  (``pu_id``, ``x``, ``status``), ``summary.json``, ``representation.csv`` and the gap closure
  tables ``closure_density.csv``, ``closure_ecosystems.csv``, ``closure_species.csv``,
  ``closure_hotspots.csv``; ``scenario.json`` (the scenario as solved, overrides applied,
  with its folder) when a scenario was given; and, when asked (``carbonpark solve
  --curves``), the performance curves ``curves.csv`` and ``curves.png``
  (`optimizer.outputs.curves_files`).
* `read_solution` - a solve folder back as grid, problem and plan (`SolveFolder`), for the
  commands that start from one (``export``, ``report``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.atomic import holds_text, write_dir_atomic
from optimizer.errors import InputDataError
from optimizer.inputs.roles import mass_roles
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.objectives.weights import weights_summary
from optimizer.outputs.curves_files import CURVES_CSV, CURVES_PNG, write_curves
from optimizer.plan.calibration import boundary_summary
from optimizer.plan.closure import GapClosure, gap_closure
from optimizer.plan.curves import CURVE_DEFINITION
from optimizer.plan.quantities import definitions
from optimizer.plan.results import (
    connectivity_summary,
    cost_budget_use,
    feature_representation,
    patches,
    unit_status,
)
from optimizer.plan.zoned import ZonedPlan, zone_areas, zone_representation
from optimizer.scenario import Scenario
from optimizer.scenario.inputs import scenario_inputs
from optimizer.versions import versions

if TYPE_CHECKING:
    from optimizer.model.problem import Problem
    from optimizer.model.zones import ZonedProblem
    from optimizer.scenario import Scenario
    from optimizer.solvers import Solution

__all__ = [
    "OUTPUT_KIND",
    "SolveFolder",
    "plan_summary",
    "read_solution",
    "write_solution",
    "zones_summary",
]

#: The output kind of ``carbonpark solve`` folders (`optimizer.atomic` markers).
OUTPUT_KIND = "solve"
#: A zoned plan's tables (`write_solution`).
ZONES_CSV = "zones.csv"
ZONE_REPRESENTATION_CSV = "zone_representation.csv"

def _num(v: Any) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _added(problem: Problem, x: np.ndarray) -> dict[str, Any]:
    """Carbon stock and uptake added by the plan and emissions inside it, per layer and in total."""
    feats = problem.pu.features
    added_mask = np.asarray(x) > 0.5  # every selected unit's unprotected part (module doc)
    free = 1.0 - problem.protected_fraction
    out: dict[str, Any] = {}
    for role in mass_roles():  # the roles whose totals count carbon or CO2
        cols = list(feats.index[feats["role"] == role])
        if not cols:
            continue
        amounts = problem.feature_amounts(cols)
        add = (amounts * free) @ added_mask.astype(np.float64)
        # Flows over years: the latest year stands for the layer (its total is not summed).
        rows: dict[str, Any] = {}
        for col, a in zip(cols, add, strict=True):
            unit = str(feats.at[col, "unit"])
            row: dict[str, Any] = {"layer": str(feats.at[col, "layer"]), "amount": float(a),
                                   "unit": unit}
            if unit.startswith("MgC"):
                row["tCO2e"] = float(a) * CO2_PER_C
                row["tCO2e_unit"] = "tCO2e" + unit[3:]
            rows[col] = row
        out[role] = rows
    stock = out.get("carbon_stock", {})
    if stock:
        total = float(sum(r["amount"] for r in stock.values()))
        out["carbon_stock_total"] = {"amount": total, "unit": "MgC",
                                     "tCO2e": total * CO2_PER_C, "tCO2e_unit": "tCO2e"}
    return out


def _closure(scenario: Scenario | None, problem: Problem, solution: Solution) -> GapClosure:
    """The gap closure as the scenario's ``[closure]`` asks (the defaults without one)."""
    c = getattr(scenario, "closure", None)
    if c is None:
        return gap_closure(problem.pu, problem, solution)
    return gap_closure(problem.pu, problem, solution, target=c.target, ecosystems=c.ecosystems)


def _regions(problem: Problem, selected: np.ndarray) -> dict[str, Any]:
    """Per region (the grid's ``region`` column): new km², carbon stock added and the
    scenario's region budget (``min_km2``, ``max_km2``; absent when none)."""
    units = problem.pu.units
    if "region" not in units.columns:
        return {}
    region = units["region"].to_numpy(dtype=object)
    known = ~pd.isna(region)
    names = sorted({str(r) for r in region[known]})
    if not names:
        return {}
    region = np.where(known, region, "").astype(str)
    feats = problem.pu.features
    stock_cols = list(feats.index[feats["role"] == "carbon_stock"])
    free = 1.0 - problem.protected_fraction
    stock = (problem.feature_amounts(stock_cols).sum(axis=0) * free if stock_cols
             else np.zeros(problem.n_units))
    budgets = {b.name: b for b in problem.budgets if b.scope == "region"}
    new = problem.unprotected_km2 * selected
    out: dict[str, Any] = {}
    for name in names:
        here = region == name
        row: dict[str, Any] = {"new_km2": float(new[here].sum()),
                               "carbon_stock_added_MgC": float((stock * selected)[here].sum())}
        b = budgets.get(name)
        if b is not None:
            if np.isfinite(b.max_km2):
                row["max_km2"] = float(b.max_km2)
            if b.min_km2 > 0:
                row["min_km2"] = float(b.min_km2)
        out[name] = row
    return out


def _costs(problem: Problem, solution: Solution) -> dict[str, Any]:
    """Per cost budget (by its cost column): the plan's cost (``spent``), the budget
    (``max``), the column's ``unit`` and its layer's ``source_unit``; empty without one."""
    use = cost_budget_use(problem, solution)
    return {str(r.cost): {"spent": float(r.used), "max": float(r.max_cost), "unit": str(r.unit),
                          "source_unit": str(r.source_unit)} for r in use.itertuples()}


def _locks(problem: Problem) -> dict[str, dict[str, Any]]:
    """Per lock of the problem (existing protection apart), by its label (a repeated label
    numbered ``label (2)``): ``in`` or ``out``, how many units it locks and their area
    (existing protection stays in: a lock-out over it does not count there) and, for a
    polygon lock, its ``file`` (else None)."""
    existing = problem.existing_protection_mask()
    out: dict[str, dict[str, Any]] = {}
    for lock in problem.locks:
        mask = lock.mask if lock.value else lock.mask & ~existing
        key, k = lock.label, 1
        while key in out:
            k += 1
            key = f"{lock.label} ({k})"
        out[key] = {"locked": "in" if lock.value else "out",
                    "units": int(np.count_nonzero(mask)),
                    "km2": float(problem.area_km2[mask].sum()), "file": lock.source}
    return out


def plan_summary(scenario: Scenario | None, problem: Problem, solution: Solution,
                 closure: GapClosure | None = None, *,
                 overrides: Mapping[str, Any] | None = None,
                 seconds: float | None = None) -> dict[str, Any]:
    """The summary of a plan as a JSON-ready dict (see the module docstring).

    Parameters
    ----------
    scenario : Scenario or None
        The scenario solved (its hash and name), overrides applied.
    problem, solution
        The problem and its solution.
    closure : GapClosure, optional
        The plan's gap closure (computed when not given, as the scenario's ``[closure]`` asks).
    overrides : mapping, optional
        The ``--set`` overrides applied to the scenario, recorded as given.
    seconds : float, optional
        Wall-clock seconds of the whole command.
    """

    x = solution.x
    status = unit_status(problem, x)
    selected = np.asarray(x) > 0.5
    closure = closure if closure is not None else _closure(scenario, problem, solution)
    rep = feature_representation(problem, solution)
    targeted = rep[rep["target"].notna()]
    pt = patches(problem, solution)
    new_km2 = float(problem.unprotected_km2[selected].sum())
    # "existing" units are every locked-in unit: split the remainders of existing protection
    # from the units the scenario locks in (the exports' kinds "completes existing", "locked in").
    existing = problem.existing_protection_mask()
    locked = selected & (status == "existing")
    in_existing = float(problem.unprotected_km2[locked & existing].sum())
    in_locked_in = float(problem.unprotected_km2[locked & ~existing].sum())
    return {
        "scenario": {"name": getattr(scenario, "name", "") or "",
                     "source": getattr(scenario, "source", ""),
                     "hash": scenario.hash if scenario is not None else None,
                     "overrides": dict(overrides or {})},
        "status": str(solution.status.value), "status_text": solution.describe(),
        "objective": _num(solution.objective), "bound": _num(solution.bound),
        "gap": _num(solution.gap), "runtime_s": float(solution.runtime),
        "seconds_total": seconds,
        "solver": solution.solver, "solver_version": solution.solver_version,
        "strategy": solution.strategy,
        # What `auto` chose and why: the line `carbonpark solve` prints ("" for a named backend).
        "solver_choice": solution.info.get("auto", ""), "versions": versions(),
        "units": {s: int((status == s).sum()) for s in ("existing", "added", "locked out", "free")},
        "study_area_km2": float(problem.study_area_km2),
        "new_km2": new_km2,
        "new_km2_in_existing_units": in_existing,
        "new_km2_in_locked_in_units": in_locked_in,
        "new_share_of_land": new_km2 / float(problem.study_area_km2),
        "added": _added(problem, x),
        "targets": {"features": len(targeted),
                    "met_before": int((targeted["held_before"] >= targeted["target"]
                                       - 1e-9 * targeted["target"].abs().clip(lower=1)).sum()),
                    "met_after": int(targeted["met"].sum())},
        "species": closure.summary()["species"],
        "patches": {"count": len(pt),
                    "largest_km2": float(pt["area_km2"].max()) if len(pt) else 0.0,
                    "new_km2_in_largest": float(pt["new_area_km2"].iloc[0]) if len(pt) else 0.0},
        "gap_closure": closure.summary(),
        # The weights as the objective used them, per feature and per quantity (issue 21 §1).
        **weights_summary(problem),
        "boundary": boundary_summary(problem),
        # Per region: new km² and carbon stock added against each region budget.
        "regions": _regions(problem, selected),
        # Per cost budget: what the plan costs against it, in the cost layer's unit.
        "costs": _costs(problem, solution),
        # The connectivity penalty's term and the connectivity the plan keeps (0: none).
        "connectivity": connectivity_summary(problem, solution),
        # Per lock: the units it locks in or out (a polygon lock names its file).
        "locks": _locks(problem),
        # Every headline's path, label, unit and one-sentence definition (plan.quantities).
        "definitions": definitions(),
    }


def zones_summary(zp: ZonedProblem, plan: ZonedPlan) -> dict[str, Any]:
    """``summary.json``'s ``zones``: per zone its units, new km², perimeter (km) and the
    amount of each feature the objective or a target uses that its units hold
    (contributed: `optimizer.plan.zoned.zone_representation`).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets({"sp_a": 0.5})
    >>> zp = zoned_problem(p, [Zone("core"), Zone("general", default_contribution=0.5)])
    >>> zs = zones_summary(zp, np.array([0, 0, 1, -1, -1, -1]))
    >>> zs["core"]["units"], zs["general"]["new_km2"], list(zs["general"]["held"])
    (2, 1.0, ['sp_a'])
    """
    areas = zone_areas(zp, plan)
    rep = zone_representation(zp, plan)
    return {name: {"units": int(areas.loc[name, "units"]),
                   "new_km2": float(areas.loc[name, "new_km2"]),
                   "perimeter_km": float(areas.loc[name, "perimeter_km"]),
                   "held": {str(f): float(rep.loc[f, f"held_{name}"]) for f in rep.index}}
            for name in zp.names}


def write_solution(solution: Solution, problem: Problem, out_dir: str | os.PathLike[str], *,
                   scenario: Scenario | None = None, closure: GapClosure | None = None,
                   overrides: Mapping[str, Any] | None = None, seconds: float | None = None,
                   overwrite: bool = False, inputs: Iterable[str | os.PathLike[str]] = (),
                   curves: tuple[pd.DataFrame, str] | None = None,
                   zoned: tuple[ZonedProblem, ZonedPlan] | None = None) -> dict[str, Any]:
    """Write a plan's outputs into the folder ``out_dir`` atomically; returns the summary.

    Parameters
    ----------
    solution, problem
        The plan and the problem it solves.
    out_dir : str or PathLike
        A new or empty folder, or an earlier ``solve`` output (else ``overwrite``).
    scenario, closure, overrides, seconds
        See `plan_summary`; the scenario is needed to read the folder back.
    overwrite : bool
        Replace a folder that is not an earlier ``solve`` output (never an input).
    inputs : iterable of paths
        The command's inputs (scenario file, grid): never replaced or written into.
    curves : (pandas.DataFrame, str), optional
        The plan's performance curves and their note
        (`optimizer.plan.curves.curves_for_plan`): written as ``curves.csv`` and
        ``curves.png`` (`optimizer.outputs.curves_files`), the note and the definition in
        ``summary.json``'s ``curves``.
    zoned : (ZonedProblem, ZonedPlan), optional
        A plan with management zones (`optimizer.plan.zoned.solve_zones`):
        ``solution.parquet`` gets each unit's ``zone`` ("" when not selected),
        ``summary.json`` a ``zones`` table (`zones_summary`), and ``zones.csv`` (units,
        new km² and perimeter per zone) and ``zone_representation.csv`` (each feature's
        amount held per zone) are written.

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    closure = closure if closure is not None else _closure(scenario, problem, solution)
    summary = plan_summary(scenario, problem, solution, closure, overrides=overrides,
                           seconds=seconds)
    if curves is not None:
        summary["curves"] = {"files": [CURVES_CSV, CURVES_PNG], "note": curves[1],
                             "definition": CURVE_DEFINITION}
    if zoned is not None:
        summary["zones"] = zones_summary(*zoned)
    x = (solution.x > 0.5).astype(np.int8)
    table = pd.DataFrame({"pu_id": problem.pu.units["pu_id"].to_numpy(), "x": x,
                          "status": unit_status(problem, x)})
    if zoned is not None:
        table["zone"] = zoned[1].zone_names().astype(str)

    record = None
    if scenario is not None:  # what read_solution needs to rebuild the problem
        record = {"base": str(Path(scenario.base).resolve()), "source": scenario.source,
                  "hash": summary["scenario"]["hash"], "scenario": scenario.to_dict(),
                  "boundary_penalty": solution.info.get("boundary_penalty")}

    def fill(folder: Path) -> None:
        table.to_parquet(folder / "solution.parquet", index=False)
        if record is not None:
            (folder / "scenario.json").write_text(json.dumps(record, indent=1, default=str)
                                                  + "\n", encoding="utf-8")
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                             encoding="utf-8")
        feature_representation(problem, solution).to_csv(folder / "representation.csv",
                                                         index=False)
        closure.density.to_csv(folder / "closure_density.csv", index=False)
        closure.ecosystems.to_csv(folder / "closure_ecosystems.csv", index=False)
        closure.species.to_csv(folder / "closure_species.csv", index=False)
        closure.hotspots.to_csv(folder / "closure_hotspots.csv", index=False)
        if curves is not None:
            write_curves(curves[0], folder)
        if zoned is not None:
            zone_areas(*zoned).to_csv(folder / ZONES_CSV)
            zone_representation(*zoned).to_csv(folder / ZONE_REPRESENTATION_CSV)

    write_dir_atomic(out_dir, OUTPUT_KIND, fill, overwrite=overwrite, inputs=inputs)
    return summary


@dataclass
class SolveFolder:
    """A ``carbonpark solve`` folder read back (`read_solution`).

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    scenario : Scenario
        The scenario as solved (overrides applied; a calibrated boundary penalty fixed
        at the value the solve used).
    pu : PlanningUnits
        Its grid (read from the grid folder or the cache; built if neither has it).
    problem : Problem
        ``scenario.to_problem(pu)``.
    x : numpy.ndarray
        The plan: 0/1 per planning unit, in ``pu.units`` row order.
    status : numpy.ndarray
        ``existing`` / ``added`` / ``locked out`` / ``free`` per unit (`unit_status`).
    summary : dict
        ``summary.json``.
    zone : numpy.ndarray or None
        A zoned plan's zone name per unit ("" when not selected); None without zones.
    """

    path: Path
    scenario: Scenario
    pu: Any
    problem: Problem
    x: np.ndarray
    status: np.ndarray
    summary: dict[str, Any]
    zone: np.ndarray | None = None


#: What `read_solution` needs of ``summary.json`` (what ``report`` and ``export`` read).
_SUMMARY_KEYS = ("status", "new_km2", "gap_closure")
#: Its tables (JSON objects wherever present).
_SUMMARY_TABLES = ("scenario", "units", "added", "targets", "species", "patches", "gap_closure",
                   "boundary", "regions", "definitions", "zones")
#: What it needs of ``scenario.json``.
_SCENARIO_KEYS = ("base", "scenario")


def _again(p: Path, source: str | None) -> str:
    """The fix of a damaged file of the solve folder ``p``: solve its scenario again.

    ``source`` is the scenario as the solve recorded it (``"a.toml with --set k=v"``).
    """
    if not source:
        return f"solve its scenario again to rewrite it: carbonpark solve SCENARIO --out {p}"
    path, _, sets = source.partition(" with --set ")
    command = " ".join([path, *(f"--set {kv}" for kv in sets.split())])
    return f"solve its scenario again to rewrite it: carbonpark solve {command} --out {p}"


def _read_json(path: Path, keys: Sequence[str], fix: Callable[[], str]) -> dict[str, Any]:
    """A JSON object of a solve folder, with ``keys``; one line naming the file if not."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read ({exc.strerror or exc}); check its "
                             "permissions") from None
    if not text.strip():
        raise InputDataError(f"{path}: is empty (a write cut short?); {fix()}")
    try:
        data = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        what = "truncated" if text.lstrip()[:1] in (b"{", b"[") else "not JSON"
        raise InputDataError(f"{path}: is {what} ({exc}); {fix()}") from None
    if not isinstance(data, dict):
        raise InputDataError(f"{path}: holds a JSON {type(data).__name__}, not the object "
                             f"carbonpark writes; {fix()}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputDataError(f"{path}: has no {', '.join(repr(k) for k in missing)}; {fix()}")
    return data


def _read_plan_table(path: Path, fix: str) -> pd.DataFrame:
    """``solution.parquet``: a Parquet table with ``pu_id`` and 0/1 ``x``; one line if not."""
    try:
        size = path.stat().st_size
        table = pd.read_parquet(path)
    except OSError as exc:
        if getattr(exc, "errno", None) is not None:
            raise InputDataError(f"{path}: cannot be read ({exc.strerror or exc}); check its "
                                 "permissions") from None
        raise InputDataError(f"{path}: is truncated or not a Parquet file "
                             f"({_first_line(exc)}); {fix}") from None
    except Exception as exc:  # pyarrow's ArrowInvalid and kin: a damaged file
        what = "is empty" if size == 0 else "is truncated or not a Parquet file"
        raise InputDataError(f"{path}: {what} ({_first_line(exc)}); {fix}") from None
    missing = [c for c in ("pu_id", "x") if c not in table.columns]
    if missing:
        raise InputDataError(f"{path}: has no column {', '.join(repr(c) for c in missing)} "
                             f"(columns: {', '.join(map(str, table.columns)) or 'none'}); {fix}")
    x = pd.to_numeric(table["x"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isin(x, (0.0, 1.0)).all():
        raise InputDataError(f"{path}: column 'x' holds values other than 0 and 1 (the plan "
                             f"selects a unit or not); {fix}")
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line.split(". Either the file", 1)[0]  # Arrow's advice is ours to give


def read_solution(solve_dir: str | os.PathLike[str]) -> SolveFolder:
    """Read a ``carbonpark solve`` folder back: scenario, grid, problem and plan.

    The scenario is rebuilt from ``scenario.json`` and must hash as it did when solved
    (same scenario, same grid content); the plan's units must be the grid's units. Each
    file is checked as it is read: a file that is empty, truncated, not JSON or Parquet,
    or without what carbonpark writes in it is one line naming the file and the fix
    (solve the folder's scenario again), before the grid is read.

    Raises
    ------
    InputDataError
        Not a solve folder, written without a scenario, a damaged file, or the scenario
        or its grid changed since (one line naming the folder or file and the fix).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("solution.parquet", "summary.json", "scenario.json"):
    ...         _ = Path(tmp, name).write_text("")
    ...     try:
    ...         read_solution(tmp)
    ...     except InputDataError as exc:
    ...         print(str(exc).replace(tmp, "out").split("; ")[0])
    out/scenario.json: is empty (a write cut short?)
    """
    p = Path(solve_dir)
    need = [p / "solution.parquet", p / "summary.json", p / "scenario.json"]
    missing = [f.name for f in need if not f.is_file()]
    if missing:
        what = ("was written without a scenario (solve it with `carbonpark solve`)"
                if missing == ["scenario.json"] else
                f"is not a `carbonpark solve` folder (no {', '.join(missing)}){holds_text(p)}")
        raise InputDataError(f"{p}: {what}")
    source: list[str] = []  # the scenario, once a file names it: the fix's words

    def fix() -> str:
        return _again(p, source[0] if source else None)

    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
        text = (p / "summary.json").read_text(encoding="utf-8")
        name = json.loads(text)["scenario"]["source"]
        if isinstance(name, str) and name:
            source.append(name)
    record = _read_json(p / "scenario.json", _SCENARIO_KEYS, fix)
    if isinstance(record.get("source"), str) and record["source"]:
        source[:] = [record["source"]]
    summary = _read_json(p / "summary.json", _SUMMARY_KEYS, fix)
    bad = [k for k in _SUMMARY_TABLES if k in summary and summary[k] is not None
           and not isinstance(summary[k], dict)]
    if bad:
        raise InputDataError(f"{p / 'summary.json'}: its {bad[0]!r} is not the table carbonpark "
                             f"writes; {fix()}")
    table = _read_plan_table(p / "solution.parquet", fix())
    data, base = record["scenario"], record["base"]
    if not isinstance(data, dict) or not isinstance(base, str):
        raise InputDataError(f"{p / 'scenario.json'}: its 'scenario' is not a table or its "
                             f"'base' not a folder; {fix()}")
    source_text = str(record.get("source", p))
    try:
        scenario = Scenario.from_dict(data, base=base, source=source_text)
    except InputDataError as exc:
        raise InputDataError(f"{p / 'scenario.json'}: the scenario it holds is invalid ({exc}); "
                             f"{fix()}") from None
    if record.get("hash") and scenario.hash != record["hash"]:
        raise InputDataError(f"{p}: its scenario or grid changed since it was solved (hash "
                             f"{scenario.hash[:12]}, was {record['hash'][:12]}); solve it again")
    bp = data.get("penalties", {}).get("boundary")
    if (bp and bp.get("penalty") is None and bp.get("compactness") is None
            and record.get("boundary_penalty") is not None):
        # The calibrated value the solve used: no re-calibration, the same problem.
        bp = {k: v for k, v in bp.items() if k not in ("share", "calibrate")}
        bp["penalty"] = float(record["boundary_penalty"])
        data = {**data, "penalties": {**data["penalties"], "boundary": bp}}
        scenario = Scenario.from_dict(data, base=base, source=source_text)
    pu = scenario.load_grid()
    problem = scenario.to_problem(pu)
    ids = pu.units["pu_id"].to_numpy()
    if len(table) != len(ids) or not np.array_equal(table["pu_id"].to_numpy(), ids):
        raise InputDataError(f"{p / 'solution.parquet'}: does not list the grid's {len(ids):,} "
                             f"units in order; {fix()}")
    x = table["x"].to_numpy().astype(np.int8)
    zone = table["zone"].to_numpy().astype(str) if "zone" in table.columns else None
    return SolveFolder(p, scenario, pu, problem, x, unit_status(problem, x), summary, zone)


def solve_folder_inputs(solve_dir: str | os.PathLike[str]) -> list[Path]:
    """What reading ``solve_dir`` back reads: the folder and everything its scenario reads.

    The scenario is rebuilt from ``scenario.json`` without reading its grid
    (`optimizer.scenario.inputs.scenario_inputs`); a folder without a readable
    ``scenario.json`` counts as itself alone (`read_solution` says what is wrong).
    """
    p = Path(solve_dir)
    try:
        record = json.loads((p / "scenario.json").read_text(encoding="utf-8"))
        scenario = Scenario.from_dict(record["scenario"], base=record["base"],
                                      source=str(record.get("source", p)))
    except (OSError, ValueError, KeyError, TypeError):
        return [p]
    return [p, *scenario_inputs(scenario)]
