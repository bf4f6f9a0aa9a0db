"""From a scenario to planning units, a `Problem` and a `Solution`.

* `grid_hash` - content hash of the scenario's grid: every file of a grid folder, or
  the manifest, every file it names, the cell size, carbonpark's version and the grid
  format version (`optimizer.grid.planning_units.FORMAT_VERSION`: a cached grid of an older
  layout is rebuilt, not reused).
* `load_grid` - read the grid folder, or build the grid from the manifest once and keep
  it under the cache folder by content hash (written atomically, `optimizer.atomic`).
* `to_problem` - the scenario's `Problem`, built only through the public ``add_*``
  methods (a polygon lock's file through `optimizer.scenario.lock_files`); a value the
  grid rejects (an unknown region, feature or column) is a `ScenarioError` naming the
  file and the table.
* `solve_scenario` - all of the above, then `optimizer.plan.results.solve` with the
  scenario's solver options.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputDataError, ScenarioError
from optimizer.grid import planning_units
from optimizer.grid.build import DEFAULT_MAX_UNITS, PlanningUnits, build_grid, read_grid, write_grid
from optimizer.inputs.layers import GridManifest, LayerSpec, load_manifest
from optimizer.model.connectivity import connectivity_matrix
from optimizer.model.costs import check_cost_budgets, cost_column
from optimizer.model.objectives import OBJECTIVES
from optimizer.model.problem import Problem, problem
from optimizer.plan.calibration import (
    add_compactness,
    calibrate_boundary_penalty,
    compactness_multiple,
    penalty_for_share,
)
from optimizer.scenario.lock_files import check_lock_files, file_digest, lock_shares
from optimizer.scenario.messages import blame_scenario
from optimizer.scenario.zone_tables import describe_zones
from optimizer.versions import carbonpark_version

if TYPE_CHECKING:
    from optimizer.scenario.file import Scenario

def _files_digest(paths: list[Path], root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                out[os.path.relpath(f, root)] = file_digest(f)
    return out


def grid_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's grid content (see the module docstring)."""
    g = scenario.grid
    with blame_scenario(scenario, "grid"):
        if g.path is not None:
            folder = scenario.resolve(g.path)
            if not (folder / "units.parquet").is_file():
                what = (f"is not a carbonpark grid folder (no units.parquet in "
                        f"{folder.absolute()})" if folder.is_dir()
                        else f"does not exist (looked for {folder.absolute()})")
                raise InputDataError(f"path {g.path!r} {what}; build one with `carbonpark "
                                     "grid`, or give manifest = and cell_km =")
            files = [f for f in folder.iterdir() if f.suffix == ".parquet"]
            content: dict[str, Any] = {"grid": _files_digest(files, folder)}
        else:
            manifest = _hashed_manifest(scenario)
            mpath = scenario.resolve(g.manifest or "")
            named = [mpath.parent / f for f in (manifest.grid.study_area, manifest.grid.units) if f]
            named += [mpath.parent / e.path for e in manifest.layers]
            content = {"manifest": manifest.model_dump(mode="json"),
                       "files": _files_digest(named, mpath.parent),
                       "cell_km": _cell_km(scenario, manifest),
                       "carbonpark": carbonpark_version(), "format": planning_units.FORMAT_VERSION}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


#: Manifests read for hashing, by (real path, size, mtime): a sweep of 10,000 runs on one
#: manifest read and checked it (opening every raster) 10,000 times, 37 s before any solve.
_HASHED_MANIFESTS: dict[tuple[str, int, int], GridManifest] = {}


def _hashed_manifest(scenario: Scenario) -> GridManifest:
    """The scenario's manifest for `grid_hash`: read once per process while the file is
    unchanged (the layers' bytes are hashed on every call, by their own memo)."""
    path = scenario.resolve(scenario.grid.manifest or "")
    try:
        st = path.stat()
    except OSError:
        return _manifest(scenario)[0]  # the one-line error for a missing manifest
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHED_MANIFESTS:
        _HASHED_MANIFESTS[key] = _manifest(scenario)[0]
    return _HASHED_MANIFESTS[key]


def _manifest(scenario: Scenario) -> tuple[GridManifest, list[LayerSpec]]:
    path = scenario.resolve(scenario.grid.manifest or "")
    if not path.exists():  # named as resolved: against the scenario's folder, or the cwd (--set)
        raise InputDataError(f"manifest {scenario.grid.manifest!r} does not exist (looked for "
                             f"{path.absolute()}); check the path (in a scenario file it is "
                             "relative to the file's folder; with --set, to the current folder)")
    return load_manifest(path)


def _cell_km(scenario: Scenario, manifest: Any) -> float | None:
    return scenario.grid.cell_km if scenario.grid.cell_km is not None else manifest.grid.cell_km


def load_grid(scenario: Scenario, *, progress: bool = False,
              max_units: int | None = None) -> PlanningUnits:
    """The scenario's planning units (see the module docstring).

    ``progress`` and ``max_units`` go to `optimizer.grid.build.build_grid` when the grid is
    built (default: no progress bar, its default unit limit). The polygon locks' files are
    checked first (`optimizer.scenario.lock_files.check_lock_files`): their mistakes cost no
    grid build.
    """
    check_lock_files(scenario)  # the polygon locks' files, before a grid is read or built
    g = scenario.grid
    if g.path is not None:
        grid_hash(scenario)  # the one-line error for a folder that is not a grid
        with blame_scenario(scenario, "grid"):
            return read_grid(scenario.resolve(g.path))
    digest = grid_hash(scenario)
    cache = scenario.resolve(g.cache) / f"grid-{digest[:16]}"
    if (cache / "units.parquet").is_file():
        with blame_scenario(scenario, "grid"):
            return read_grid(cache)
    with blame_scenario(scenario, "grid"):
        manifest, specs = _manifest(scenario)
        base = scenario.resolve(g.manifest or "").parent
        mg = manifest.grid
        pu = build_grid(specs, study_area=base / mg.study_area if mg.study_area else None,
                        units=base / mg.units if mg.units else None, id_column=mg.id_column,
                        cell_km=_cell_km(scenario, manifest), crs=mg.crs, progress=progress,
                        max_units=DEFAULT_MAX_UNITS if max_units is None else max_units)
    write_grid(pu, cache, overwrite=True)
    return pu


def _land_cover_column(p: Problem, name: str) -> str:
    """A land-cover column from its column name or class label (``forest``)."""
    feats = p.pu.features
    lc = feats[feats["role"] == "land_cover"]
    if name in lc.index:
        return name
    hits = lc.index[lc["label"].astype(str) == name]
    return str(hits[0]) if len(hits) == 1 else name  # add_area_budget names the choices


def total_budget_km2(scenario: Scenario, p: Problem) -> tuple[float | None, float | None]:
    """``(budget_km2, budget_share)`` of the scenario's ``[budget]`` on problem ``p``.

    ``total_protection = X`` reads as new km² = max(0, X × land area − Σ pa_fraction × area).
    """
    b = scenario.budget
    if b is None:
        return None, None
    land = p.study_area_km2
    if b.total_protection is not None:
        held = float((p.protected_fraction * p.area_km2).sum())
        if b.total_protection * land <= held:
            raise ScenarioError(f"{scenario.source}: [budget] total_protection = "
                                f"{b.total_protection:g} is at or below today's protection "
                                f"({held / land:.1%} of the land): there is nothing to add; raise "
                                f"it above {held / land:.3f}, or give share or km2 for new area")
        return b.total_protection * land - held, None
    if b.km2 is not None and b.km2 > land:
        raise ScenarioError(f"{scenario.source}: [budget] km2 = {b.km2:g} is more than the whole "
                            f"study area ({land:,.0f} km²); give at most that (or share = 1), in "
                            "km² of new protected area")
    return b.km2, b.share


def to_problem(scenario: Scenario, pu: PlanningUnits) -> Problem:
    """The scenario's `Problem` on ``pu``, through the public ``add_*`` methods only."""
    s = scenario
    check_lock_files(s)  # the polygon files, before any work
    with blame_scenario(s, ""):
        p = problem(pu)
    with blame_scenario(s, "locks"):
        p = p.add_existing_protection(s.locks.pa_threshold if s.locks.existing else None)
    km2, share = total_budget_km2(s, p)
    if s.budget is not None and s.budget.cost is not None:  # before the objective: it may
        with blame_scenario(s, "budget"):                   # be the objective's only budget
            column = cost_column(p.pu, str(s.budget.cost_layer), argument="cost_layer")
            p = p.add_cost_budget(s.budget.cost, cost=column)
    weights = dict(s.weights) or None
    utility = OBJECTIVES[s.objective.kind].weights == "utility"
    years = s.objective.years if utility else None
    where = "objective" if isinstance(years, int) else "weights" if s.weights else "budget"
    with blame_scenario(s, where):
        p = p.add_objective(s.objective.kind, km2, budget_share=share, weights=weights,
                            years=years)
    total = p.total_budget()
    if s.budget is not None and total is not None and total.remainders != s.budget.remainders:
        with blame_scenario(s, "budget"):  # the same budget, its remainders free (or counted)
            p = p.add_area_budget(max_km2=total.max_km2, min_km2=total.min_km2,
                                  remainders=s.budget.remainders)
    if s.targets is not None:
        with blame_scenario(s, "targets"):
            if s.targets.relative is not None:
                p = p.add_relative_targets(s.targets.relative)
            if s.targets.absolute:
                p = p.add_absolute_targets(s.targets.absolute)
    for i, ab in enumerate(s.area_budgets, 1):
        with blame_scenario(s, f"area_budgets[{i}]"):
            p = p.add_area_budget(
                region=ab.region, max_km2=ab.max_km2, max_share=ab.max_share, min_km2=ab.min_km2,
                land_cover=None if ab.land_cover is None else _land_cover_column(p, ab.land_cover))
    for name, entries in (("locked_in", s.locks.locked_in), ("locked_out", s.locks.locked_out)):
        for i, lk in enumerate(entries, 1):
            with blame_scenario(s, f"locks.{name}[{i}]"):
                add = p.add_locked_in if name == "locked_in" else p.add_locked_out
                if lk.file is not None:  # a polygon file: its cover of each unit, cached
                    p = add(shares=lock_shares(s, pu, lk), min_share=lk.min_share,
                            label=lk.label)
                else:
                    p = add(column=lk.column, ids=lk.ids, label=lk.label)
    for i, lc in enumerate(s.locks.land_cover_out, 1):
        with blame_scenario(s, f"locks.land_cover_out[{i}]"):
            p = p.add_locked_out_land_cover(lc.land_cover, lc.unit_share)
    for i, above in enumerate(s.locks.above, 1):
        with blame_scenario(s, f"locks.above[{i}]"):
            p = p.add_locked_out_above(above.column, above.threshold, per_km2=above.per_km2)
    for i, lp in enumerate(s.penalties.linear, 1):
        with blame_scenario(s, f"penalties.linear[{i}]"):
            p = p.add_linear_penalty(lp.column, lp.penalty)
    ct = s.penalties.connectivity
    if ct is not None:
        with blame_scenario(s, "penalties.connectivity"):
            data = (s.resolve(ct.file) if ct.file is not None
                    else connectivity_matrix(p.pu, str(ct.conductance)))
            p = p.add_connectivity_penalty(ct.penalty, data, symmetric=ct.symmetric)
    cs = s.constraints
    with blame_scenario(s, "constraints"):
        if cs.neighbours:
            p = p.add_neighbours_constraints(cs.neighbours)
        if cs.contiguous:
            p = p.add_contiguity_constraints()
        if cs.min_park_km2:
            p = p.add_min_park_constraints(cs.min_park_km2)
    bt = s.penalties.boundary
    if bt is not None:  # last: a calibration solves the problem without it
        with blame_scenario(s, "penalties.boundary"):
            p = (add_compactness(p, bt.compactness, bt.edge_factor)
                 if bt.compactness is not None
                 else p.add_boundary_penalty(boundary_penalty(s, p), bt.edge_factor))
    with blame_scenario(s, "locks"):
        p.locked_masks()  # a unit both locked in and out: named now, not at solve time
    with blame_scenario(s, "budget"):  # a cost layer without values, or over budget: now too
        check_cost_budgets(p)
    return p


def boundary_penalty(scenario: Scenario, base: Problem) -> float:
    """The ``[penalties.boundary]`` penalty: as given, from the compactness, or found by
    solving ``base``.

    ``compactness`` multiplies the break-even penalty of ``base``
    (`optimizer.plan.calibration.add_compactness`, no solve).

    ``share`` solves for the penalty at which the boundary term is that share of the
    objective (`optimizer.plan.calibration.penalty_for_share`); ``calibrate = "cohon"`` takes
    the knee of the trade-off (`optimizer.plan.calibration.calibrate_boundary_penalty`). Both
    use the scenario's solver, gap and time limit, and are solved again on every call.
    """
    bp = scenario.penalties.boundary
    assert bp is not None
    if bp.penalty is not None:
        return bp.penalty
    if bp.compactness is not None:
        penalty = add_compactness(base, bp.compactness, bp.edge_factor).boundary_penalty
        assert penalty is not None
        return penalty.penalty
    sv = scenario.solver
    if bp.share is not None:
        return penalty_for_share(base, bp.share, solver=sv.backend, gap=sv.gap,
                                 time_limit=sv.time_limit, edge_factor=bp.edge_factor).penalty
    assert bp.calibrate is not None  # the table holds exactly one of penalty, share, calibrate
    return calibrate_boundary_penalty(base, method=bp.calibrate, curve=False, solver=sv.backend,
                                      gap=sv.gap, time_limit=sv.time_limit,
                                      edge_factor=bp.edge_factor).penalty


def solver_options(scenario: Scenario) -> dict[str, Any]:
    """The keyword options of `optimizer.plan.results.solve` from ``[solver]``."""
    sv = scenario.solver
    opts: dict[str, Any] = {"gap": sv.gap}
    if sv.time_limit is not None:
        opts["time_limit"] = sv.time_limit
    if sv.threads is not None:
        opts["threads"] = sv.threads
    if sv.nested_path:
        opts["nested_path"] = True
    return opts


def describe(scenario: Scenario, pu: PlanningUnits | None = None) -> str:
    """One paragraph: the question, grid, objective, budget, weights, targets, locks, solver."""
    s = scenario
    g = s.grid
    grid = (f"grid folder {g.path}" if g.path is not None else
            f"grid built from {g.manifest}" + (f" at {g.cell_km:g} km" if g.cell_km else ""))
    parts = [f"Scenario {s.name or s.source!r}" + (f": {s.description.strip()}"
                                                   if s.description else "") + ".",
             f"On the {grid}, objective {OBJECTIVES[s.objective.kind].label}"]
    b = s.budget
    if b is not None and b.km2 is None and b.share is None and b.total_protection is None:
        parts[-1] += ", budget: no area budget"
    elif b is not None:
        if b.total_protection is not None:
            text = f"bring total protection to {b.total_protection:.0%} of the land"
            if pu is not None:
                text += f" ({total_budget_km2(s, problem(pu))[0]:,.0f} km² new)"
        else:
            text = f"{b.km2:,.0f} km² new" if b.km2 is not None else f"{b.share:.1%} of the land new"
        if b.remainders == "free":
            text += " (remainders of existing protected units on top, free)"
        parts[-1] += f", budget: {text}"
    if b is not None and b.cost is not None:
        parts[-1] += f", cost at most {b.cost:,.6g} (layer {b.cost_layer})"
    parts[-1] += "."
    if s.weights:
        parts.append("Weights " + ", ".join(f"{k} = {v:g}" for k, v in s.weights.items()) + ".")
    if s.objective.years != "mean":
        parts.append(f"Layers of several years count by years = {s.objective.years!r}.")
    if s.targets is not None:
        t = s.targets
        rel = (f"{t.relative:.0%} of each weighted feature" if isinstance(t.relative, float)
               else ", ".join(f"{k} {v:.0%}" for k, v in (t.relative or {}).items()))
        parts.append("Targets: " + "; ".join(x for x in (rel, ", ".join(
            f"{k} {v:g}" for k, v in (t.absolute or {}).items())) if x) + ".")
    n_locks = (len(s.locks.locked_in) + len(s.locks.locked_out) + len(s.locks.land_cover_out)
               + len(s.locks.above))
    extras = [f"{len(s.area_budgets)} area budget(s)" if s.area_budgets else "",
              f"{n_locks} lock(s)" if n_locks else "",
              _boundary_words(s.penalties.boundary) if s.penalties.boundary else "",
              f"{len(s.penalties.linear)} linear penalt(ies)" if s.penalties.linear else ""]
    if any(extras):
        parts.append("With " + ", ".join(x for x in extras if x) + ".")
    if s.zones:
        parts.append(describe_zones(s))
    sv = s.solver
    parts.append(f"Solver {sv.backend}, gap {sv.gap:g}"
                 + (f", time limit {sv.time_limit:g} s" if sv.time_limit else "")
                 + (f", {sv.threads} threads" if sv.threads else "") + ".")
    return " ".join(parts)


def _boundary_words(bp: Any) -> str:
    if bp.compactness is not None:
        return (f"compactness {bp.compactness:g} ({compactness_multiple(bp.compactness):.3g} × "
                "the break-even boundary penalty)")
    if bp.penalty is not None:
        return f"a boundary penalty of {bp.penalty:g} per km"
    if bp.share is not None:
        return f"a boundary penalty calibrated so the boundary is {bp.share:g} of the objective"
    return "a boundary penalty calibrated by Cohon's method (the trade-off's knee)"
