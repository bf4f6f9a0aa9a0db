"""One run of a sweep, on its worker: the grid and the nested path loaded once per process.

`run_one` is what `optimizer.studies.sweep.run_sweep` submits (to a local process, a Dask
worker, or this process): it builds the run's problem, solves it (`solve_methods` chose
how: its own solve, or a budget read from the nested path its group shares, polished by a
warm-started HiGHS solve where the path's proven gap is above the scenario's) and returns
the run's record, the columns of its part. A run that cannot be solved (infeasible, or a
setting that makes no problem on the grid) is a record too, with its reason, never the end
of the sweep. A solve stopped by Ctrl-C is no result: `run_one` raises `KeyboardInterrupt`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from optimizer.errors import InfeasibleProblemError, InputDataError, ScenarioError, SolverError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.contiguity import check_solved_whole
from optimizer.model.objectives import OBJECTIVES
from optimizer.plan.results import diagnose, objective_value, solve
from optimizer.plan.zoned import solve_zones
from optimizer.scenario import Scenario
from optimizer.scenario.build import grid_hash, solver_options
from optimizer.scenario.zone_tables import refuse_zones
from optimizer.solvers import CutSolver, HighsSolver, Solution, SolveStatus
from optimizer.solvers.base import better, relative_gap, tighter_bound
from optimizer.studies.metrics import metric

if TYPE_CHECKING:
    from optimizer.model.problem import Problem

__all__ = ["PATH_POLISH", "PATH_READ", "error_record", "grid_key", "run_one", "solve_methods"]

#: `Run.method` of a run read from the nested path of the cut solver, then polished by a
#: HiGHS solve warm-started from the path's plan when its proven gap is above the scenario's.
PATH_POLISH = "path:cut-nested-path+highs-polish"
#: `Run.method` of a run read from the nested path as it is (its scenario has
#: ``nested_path = true``: the path's plan is what its own solve gives).
PATH_READ = "path:cut-nested-path"


#: Per worker process: planning units by grid hash (loaded once, reused by every task).
_GRIDS: dict[str, Any] = {}
_GRIDS_LOCK = threading.Lock()


def _grid(scenario: Scenario, key: str) -> Any:
    with _GRIDS_LOCK:
        if key not in _GRIDS:
            _GRIDS[key] = scenario.load_grid()
        return _GRIDS[key]


def grid_key(scenario: Scenario) -> str:
    """The key a worker keeps a scenario's grid under: its content hash."""
    return grid_hash(scenario)


def _record(problem: Problem, sol: Solution, objective: float | None = None) -> dict[str, Any]:
    """The result columns of one solution (objective and metrics recomputed from its plan;
    a zoned plan's ``objective`` is given, recomputed from its zones by `solve_zones`)."""
    import numpy as np

    x = np.asarray(sol.x, dtype=np.float64) > 0.5
    locked_in, _ = problem.locked_masks()
    added = x & ~locked_in
    ids = problem.pu.units["pu_id"].to_numpy()[added]
    if objective is None:
        objective = objective_value(problem, x)
    return {"status": sol.status.value, "objective": float(objective),
            "bound": float(sol.bound), "gap": float(sol.gap),
            "requested_gap": float(sol.requested_gap), "solver": sol.solver,
            "strategy": sol.strategy, "solver_choice": sol.info.get("auto", ""),
            "runtime": float(sol.runtime), "area_km2": float(problem.unprotected_km2[x].sum()),
            "n_added": int(added.sum()),
            "carbon_stock_added": _metric(problem, "carbon_stock_added", x),
            "mean_representation": _metric(problem, "mean_representation", x),
            "added_ids": [str(i) for i in ids.tolist()], "message": ""}


def _metric(problem: Problem, name: str, x: Any) -> float:
    """A plan metric; NaN where the grid has none of its features (no carbon layer, say)."""
    try:
        m = metric(problem, name)
    except InputDataError:
        return float("nan")
    return float(m.value(x))


def error_record(message: str, status: str = "error") -> dict[str, Any]:
    """A run without a plan: ``infeasible`` (no plan meets its settings) or ``error``.

    Examples
    --------
    >>> error_record("no plan", "infeasible")["status"]
    'infeasible'
    """
    nan = float("nan")
    return {"status": status, "objective": nan, "bound": nan, "gap": nan, "requested_gap": nan,
            "solver": "", "strategy": "", "solver_choice": "", "runtime": 0.0, "area_km2": nan, "n_added": 0,
            "carbon_stock_added": nan, "mean_representation": nan, "added_ids": [],
            "message": message}


def run_one(data: dict[str, Any], base: str, key: str, method: str) -> dict[str, Any]:
    """Solve one run on a worker (the grid loaded once per process); its record.

    An infeasible run, or one whose settings make no problem on the grid (a total
    protection at or below today's, say), is a record of status ``infeasible`` with the
    reason; any other failure of the run is status ``error``. A solve stopped by Ctrl-C
    raises `KeyboardInterrupt`: an interrupted run is not finished.
    """
    t0 = time.perf_counter()
    s = Scenario.from_dict(data, base=base)
    pu = _grid(s, key)
    objective: float | None = None
    try:
        p = s.to_problem(pu)
        if s.zones:  # a zoned run: solved with its zones, as `carbonpark solve` does
            if method.startswith("path:"):
                refuse_zones(s, f"the sweep method {method!r} (one selection per budget)")
            opts = solver_options(s)
            if s.solver.backend == "auto":
                opts["concurrent"] = False
            zoned = solve_zones(s.to_zoned_problem(pu, p), s.solver.backend, **opts)
            sol, objective = zoned.solution, zoned.objective
        elif method.startswith("path:"):
            found = diagnose(p)
            if found:  # as `solve` would refuse it
                raise InfeasibleProblemError("; ".join(found))
            sol = _read_path(s, p, key, polish=method == PATH_POLISH)
        else:
            opts = solver_options(s)
            if s.solver.backend == "auto":  # the sweep's runs use the cores already
                opts["concurrent"] = False
            sol = solve(p, s.solver.backend, **opts)
    except Exception as exc:  # an infeasible run is a result, not the end of the sweep
        infeasible = isinstance(exc, InfeasibleProblemError | ScenarioError)
        return {**error_record(_reason(exc), "infeasible" if infeasible else "error"),
                "wall_s": time.perf_counter() - t0}
    if sol.status is SolveStatus.INTERRUPTED:
        raise KeyboardInterrupt  # Ctrl-C in this process: the run did not finish
    return {**_record(p, sol, objective), "wall_s": time.perf_counter() - t0}


def _reason(exc: Exception) -> str:
    """The message of a run's failure, without the scenario's stand-in source name."""
    text = str(exc)
    for prefix in ("scenario: ", "scenario [base]: "):
        text = text.removeprefix(prefix)
    return text if isinstance(exc, InfeasibleProblemError | ScenarioError) else (
        f"{type(exc).__name__}: {text}")

#: Per worker process: the nested path of each group of runs that differ only in their
#: budget (solved once, read by every run of the group on the process).
_PATHS: dict[str, Any] = {}
_PATHS_LOCK = threading.Lock()


def but_budget(scenario: Scenario) -> str:
    """What the runs of one nested path share: the scenario but its budget and name."""
    data = scenario.to_dict()
    for k in ("budget", "name", "description"):
        data.pop(k, None)
    return json.dumps(data, sort_keys=True, default=str)


def _path_key(scenario: Scenario, grid_key: str) -> str:
    return hashlib.sha256(f"{grid_key}|{but_budget(scenario)}".encode()).hexdigest()


def _read_path(s: Scenario, p: Problem, grid_key: str, *, polish: bool) -> Solution:
    """The run's plan read from its group's nested path, with the path's proven bound;
    polished (`_polish`) when that gap is above the scenario's."""
    check_solved_whole(p, "a sweep's path method")  # the path would ignore them
    model = compile(p)
    # The model's objective and locks in the key too: a path holds only for the same
    # objective (a penalty derived from the problem, e.g. compactness, is in ``c``).
    fingerprint = hashlib.sha256(model.c.tobytes() + model.x_fixed.tobytes()).hexdigest()
    key = f"{_path_key(s, grid_key)}:{fingerprint}"
    sv = s.solver
    with _PATHS_LOCK:
        if key not in _PATHS:
            opts: dict[str, Any] = {"gap": sv.gap, "nested_path": True}
            if sv.time_limit is not None:
                opts["time_limit"] = sv.time_limit
            found = solve(p, "cut", **opts)
            if found.status is SolveStatus.INTERRUPTED:  # a part of the path: never kept
                raise KeyboardInterrupt
            path = found.budget_path
            if len(_PATHS) >= 8:  # a few groups per process are plenty
                _PATHS.pop(next(iter(_PATHS)))
            _PATHS[key] = path
        path = _PATHS[key]
    read = dataclasses.replace(CutSolver(gap=sv.gap).read_path(model, path), requested_gap=sv.gap)
    if not polish or read.gap <= sv.gap + 1e-12:
        return read
    return _polish(p, model, read, s)


def _polish(p: Problem, model: CompiledModel, read: Solution, s: Scenario) -> Solution:
    """A HiGHS solve of the run warm-started from the path's plan (the scenario's gap,
    time limit and threads): the better plan, the tighter of the two proven bounds."""
    import numpy as np

    sv = s.solver
    highs = HighsSolver(gap=sv.gap, time_limit=sv.time_limit, threads=sv.threads)
    try:
        mip = highs.solve(model, warm_start=read.values, bound=read.bound)
    except (InfeasibleProblemError, SolverError) as exc:  # the path's plan stands, as read
        return dataclasses.replace(read, info={**read.info, "polish": f"no plan: {exc}"})
    best = mip if better(model, mip.objective, read.objective) else read
    objective = objective_value(p, best.x)
    bound = tighter_bound(model, read.bound, mip.bound)
    if abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):  # round-off
        bound = objective
    gap = relative_gap(objective, bound)
    status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= sv.gap + 1e-12
              else SolveStatus.INTERRUPTED if mip.status is SolveStatus.INTERRUPTED
              else SolveStatus.FEASIBLE)
    return dataclasses.replace(
        best, status=status, objective=objective, bound=bound, gap=gap,
        runtime=read.runtime + mip.runtime, solver=f"{read.solver}+{mip.solver}",
        strategy=f"{read.strategy}+highs-polish({mip.strategy})", requested_gap=sv.gap,
        info={**read.info, "polish_seconds": round(mip.runtime, 3),
              "polish_objective": mip.objective, "path_objective": read.objective,
              "path_bound": read.bound})


def solve_methods(scenarios: list[Scenario], path: str) -> list[str]:
    """How each run is solved: from a nested path its group shares (``path = "auto"``:
    runs that differ only in their budget, with a max-utility objective in cut form), else
    by its own solve."""
    methods = [f"solve:{s.solver.backend}" for s in scenarios]
    if path != "auto":
        return methods
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scenarios):
        eligible = (s.solver.backend == "cut" and OBJECTIVES[s.objective.kind].nested
                    and not s.area_budgets and s.targets is None
                    and s.budget is not None and s.budget.total_protection is None
                    and s.budget.cost is None)  # a cost row beside the area: no nested path
        if eligible:
            groups.setdefault(but_budget(s), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            for i in members:
                methods[i] = PATH_READ if scenarios[i].solver.nested_path else PATH_POLISH
    return methods

