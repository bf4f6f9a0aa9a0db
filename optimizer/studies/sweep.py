"""Sweeps: one base scenario run over many parameter values, on local processes or Dask.

A *sweep file* (TOML) names a base scenario file and the parameters to vary, each a
dotted scenario key (``budget.share``, ``weights.carbon``, ``penalties.boundary.penalty``,
``area_budgets[0].max_km2`` ...) with a list of values, combined as a product (every
combination) or zipped (the i-th value of each)::

    schema_version = 1
    base = "balanced.toml"
    combine = "product"
    [parameters]
    "budget.share" = [0.05, 0.10]
    "weights.carbon" = [0, 1]

Every run is a full `Scenario` (validated, hashed). `run_sweep` runs them on local
processes (``workers``), a ``dask.distributed.LocalCluster`` (``scheduler="local"``) or
an existing Dask cluster (``scheduler="tcp://host:8786"``), always through
``submit`` / ``as_completed``: no scheduler or worker protocol of our own. Each worker
process loads the grid once (by its content hash) and reuses it for every run.

Each finished run is one Parquet part ``DIR/runs/<hash>.parquet``, written by the
driver under a temporary (hidden) name and then renamed, so a killed sweep (driver or
worker) loses nothing finished and leaves no half-written part that a reader takes for
a result; re-running the same sweep into ``DIR`` skips the finished hashes.
`read_results` reads the parts as one dataset (``pyarrow.dataset``).

Runs that differ only in their budget, with a max-utility objective in cut form
(``solver.backend = "cut"``, one budget, no targets), are read from the nested path of
one parametric solve (``path = "auto"``; ``"never"`` solves each): the path is solved once
per worker process (`CutSolver` with ``nested_path=True``) and each budget's plan is read
from it with its proven Lagrangian bound (`CutSolver.read_path`: the path's cuts bound the
optimum at any budget). Where that proven gap is above the scenario's ``[solver] gap``, the
run is *polished*: a HiGHS solve warm-started from the path's plan under the scenario's
``time_limit``; the better plan and the tighter bound are kept and the objective is
recomputed from the plan (`optimizer.plan.results.objective_value`). Every run so has a
proven bound and gap, and its status is the solver's word (`optimizer.solvers.SolveStatus`).
A scenario with ``nested_path = true`` asks for the path's plan as it is: no polish, as
its own solve would give.

A run's hash (its part's name) is its scenario's hash *and* how it is solved (`Run.method`:
``solve:<backend>``, `PATH_POLISH` or `PATH_READ`), so a sweep resumed with another
``path`` setting solves those runs again instead of reusing results of the other method;
`read_results` reads only the parts of the sweep's current runs. `format_runs` is the
table the command prints at the end.

``import optimizer.studies.sweep`` imports neither dask nor pydantic; running a sweep on Dask
imports dask.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import itertools
import json
import os
import re
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.atomic import (
    MARKER,
    read_marker,
    write_dir_atomic,
    write_file_atomic,
    write_text_atomic,
)
from optimizer.distributed import dask_client
from optimizer.errors import InfeasibleProblemError, OutputError, ScenarioError, SolverError, did_you_mean
from optimizer.inputs.toml_kinds import check_toml_kind
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.objectives import OBJECTIVES
from optimizer.plan.comparison import plan_name
from optimizer.plan.results import diagnose, objective_value, solve
from optimizer.progress import ProgressArg
from optimizer.scenario import Scenario
from optimizer.scenario.build import grid_hash, solver_options
from optimizer.scenario.inputs import scenario_inputs
from optimizer.solvers import CutSolver, HighsSolver, Solution, SolveStatus
from optimizer.solvers.base import better, relative_gap, tighter_bound
from optimizer.studies.metrics import metric

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.model.problem import Problem
    from optimizer.scenario import Scenario

__all__ = ["PATH_POLISH", "PATH_READ", "Sweep", "format_runs", "read_results", "run_sweep"]

#: Output kind of a sweep folder (its marker, `optimizer.atomic`).
KIND = "sweep"
_SWEEP_KEYS = {"schema_version", "name", "description", "base", "combine", "path",
               "parameters", "set"}
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[(\d+)\])?$")
#: Keys of ``[budget]``: setting one replaces the others (a budget has exactly one).
_BUDGET_KEYS = ("km2", "share", "total_protection")
#: `Run.method` of a run read from the nested path of the cut solver, then polished by a
#: HiGHS solve warm-started from the path's plan when its proven gap is above the scenario's.
PATH_POLISH = "path:cut-nested-path+highs-polish"
#: `Run.method` of a run read from the nested path as it is (its scenario has
#: ``nested_path = true``: the path's plan is what its own solve gives).
PATH_READ = "path:cut-nested-path"


# ============================================================== the sweep file

def set_key(data: dict[str, Any], key: str, value: Any, *, source: str = "sweep") -> None:
    """Set the dotted scenario ``key`` (``a.b``, ``a[0].b``) in ``data`` in place.

    Setting one key of ``budget`` drops the others (a budget has exactly one kind).

    Examples
    --------
    >>> d = {"budget": {"km2": 5.0}, "area_budgets": [{"region": "north", "max_km2": 1.0}]}
    >>> set_key(d, "budget.share", 0.1); set_key(d, "area_budgets[0].max_km2", 2.0)
    >>> d
    {'budget': {'share': 0.1}, 'area_budgets': [{'region': 'north', 'max_km2': 2.0}]}
    """
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        m = _KEY.match(part)
        if m is None:
            raise ScenarioError(f"{source}: parameter {key!r} is not a dotted scenario key; "
                                "write e.g. budget.share or area_budgets[0].max_km2")
        name, index = m.group(1), m.group(3)
        last = i == len(parts) - 1
        if last and index is None:
            if parts[:-1] == ["budget"] and name in _BUDGET_KEYS:
                for other in _BUDGET_KEYS:
                    node.pop(other, None)
            node[name] = value
            return
        if index is None:
            node = node.setdefault(name, {})
        else:
            items = node.get(name)
            if not isinstance(items, list) or int(index) >= len(items):
                n = len(items) if isinstance(items, list) else 0
                raise ScenarioError(f"{source}: parameter {key!r}: the base scenario has {n} "
                                    f"{name} entr{'y' if n == 1 else 'ies'}; index from 0 to "
                                    f"{n - 1}" if n else f"{source}: parameter {key!r}: the "
                                    f"base scenario has no {name}; add one to the base first")
            if last:
                items[int(index)] = value
                return
            node = items[int(index)]
        if not isinstance(node, dict):
            raise ScenarioError(f"{source}: parameter {key!r}: {name} is a value, not a table")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its parameters (dotted key -> value), scenario and method.

    ``hash`` names the run's result (``runs/<hash>.parquet``): the scenario's hash and
    ``method`` (how it is solved: ``solve:<backend>``, `PATH_POLISH` or `PATH_READ`), so
    results of two methods never stand in for each other.
    """

    index: int
    params: dict[str, Any]
    scenario: Scenario
    scenario_hash: str
    method: str

    @property
    def hash(self) -> str:
        """The run's hash: of its scenario's hash and its method."""
        return hashlib.sha256(f"{self.scenario_hash}|{self.method}".encode()).hexdigest()

    @property
    def name(self) -> str:
        """The scenario's name with the run's parameters, e.g. ``balanced (budget.share=0.1)``."""
        return plan_name({"scenario": {"name": self.scenario.name or "run",
                                       "overrides": {k: _text(v) for k, v in self.params.items()}}})


def _text(value: Any) -> str:
    """A parameter value as written in a name: numbers as Python writes them, text as is."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@dataclass
class Sweep:
    """A base scenario and its parameters, expanded into `Run`\\ s (`Sweep.runs`).

    Make one with `Sweep.load` (a sweep file) or `Sweep.from_dict`.
    """

    name: str
    base: Scenario
    parameters: dict[str, list[Any]]
    combine: str = "product"
    path: str = "auto"
    fixed: dict[str, Any] = field(default_factory=dict)
    source: str = "sweep"
    description: str = ""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sweep:
        """Read a sweep file; its ``base`` is relative to the file's folder."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{p}: sweep file not found; check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{p}: cannot read the sweep file ({exc})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{p}: not valid TOML ({exc})") from None
        return cls.from_dict(data, base_dir=p.parent, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                  source: str = "sweep") -> Sweep:
        """A sweep from a mapping (as TOML would give it); see the module docstring."""
        check_toml_kind(data, "sweep", source, ScenarioError)
        unknown = sorted(set(data) - _SWEEP_KEYS)
        if unknown:
            raise ScenarioError(f"{source}: unknown key {unknown[0]!r}"
                                f"{did_you_mean(unknown[0], sorted(_SWEEP_KEYS))}")
        if data.get("schema_version") != 1:
            raise ScenarioError(f"{source}: schema_version must be 1; got "
                                f"{data.get('schema_version')!r}")
        base = data.get("base")
        if isinstance(base, str):
            scenario = Scenario.load(Path(base_dir) / base)
        elif isinstance(base, dict):
            scenario = Scenario.from_dict(base, base=Path(base_dir), source=f"{source} [base]")
        else:
            raise ScenarioError(f"{source}: give base = a scenario file, or a [base] table")
        combine = data.get("combine", "product")
        if combine not in ("product", "zip"):
            raise ScenarioError(f"{source}: combine must be 'product' or 'zip'; got {combine!r}")
        nested = data.get("path", "auto")
        if nested not in ("auto", "never"):
            raise ScenarioError(f"{source}: path must be 'auto' or 'never'; got {nested!r}")
        params = data.get("parameters", {})
        if not isinstance(params, dict) or not params:
            raise ScenarioError(f"{source}: give a [parameters] table of scenario key = [values]")
        for key, values in params.items():
            if not isinstance(values, list) or not values:
                raise ScenarioError(f"{source}: [parameters] {key!r} must be a non-empty list "
                                    f"of values; got {values!r}")
        if combine == "zip" and len({len(v) for v in params.values()}) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in params.items())
            raise ScenarioError(f"{source}: combine = 'zip' needs lists of one length; got {sizes}")
        sweep = cls(name=str(data.get("name", "")), base=scenario, parameters=dict(params),
                    combine=combine, path=nested, fixed=dict(data.get("set", {})),
                    source=source, description=str(data.get("description", "")))
        sweep.runs  # validate every run now: a mistake is named before any work  # noqa: B018
        return sweep

    @property
    def combinations(self) -> list[dict[str, Any]]:
        """The parameters of each run, in order."""
        keys = list(self.parameters)
        values = (itertools.product(*self.parameters.values()) if self.combine == "product"
                  else zip(*self.parameters.values(), strict=True))
        return [dict(zip(keys, v, strict=True)) for v in values]

    @property
    def runs(self) -> list[Run]:
        """Every run (validated scenarios), duplicates (same hash) dropped."""
        if not hasattr(self, "_runs"):

            base = self.base.to_dict()
            for key, value in self.fixed.items():
                set_key(base, key, value, source=f"{self.source} [set]")
            found: list[tuple[dict[str, Any], Scenario, str]] = []
            seen: set[str] = set()
            for params in self.combinations:
                data = copy.deepcopy(base)
                for key, value in params.items():
                    set_key(data, key, value, source=self.source)
                label = ", ".join(f"{k} = {v!r}" for k, v in params.items())
                s = Scenario.from_dict(data, base=self.base.base,
                                       source=f"{self.source} (run {label})")
                h = s.hash
                if h not in seen:
                    seen.add(h)
                    found.append((params, s, h))
            methods = _methods([s for _, s, _ in found], self.path)
            self._runs = [Run(i, params, s, h, method)
                          for i, ((params, s, h), method) in enumerate(zip(found, methods,
                                                                          strict=True))]
        return self._runs

    @property
    def inputs(self) -> list[Path]:
        """Every path the sweep reads: its file, then what its base and each run read
        (`optimizer.scenario.inputs.scenario_inputs`); never written into or over."""
        out = [Path(self.source)] if os.path.isfile(self.source) else []
        seen: set[tuple[object, ...]] = set()
        for s in [self.base, *(r.scenario for r in self.runs)]:
            g = s.grid
            key = (s.source if s is self.base else None, str(s.base), g.path, g.manifest, g.cache)
            if key not in seen:  # runs that share a grid read the same files
                seen.add(key)
                out += scenario_inputs(s)
        return list(dict.fromkeys(out))

    def describe(self) -> str:
        """One line: name, number of runs, parameters."""
        keys = ", ".join(f"{k} ({len(v)})" for k, v in self.parameters.items())
        return (f"Sweep {self.name or self.source!r}: {len(self.runs)} runs, {self.combine} of "
                f"{keys}, base {self.base.source}.")


# ============================================================== one run (on a worker)

#: Per worker process: planning units by grid hash (loaded once, reused by every task).
_GRIDS: dict[str, Any] = {}
_GRIDS_LOCK = threading.Lock()


def _grid(scenario: Scenario, key: str) -> Any:
    with _GRIDS_LOCK:
        if key not in _GRIDS:
            _GRIDS[key] = scenario.load_grid()
        return _GRIDS[key]


def _grid_key(scenario: Scenario) -> str:
    return grid_hash(scenario)


def _record(problem: Problem, sol: Solution) -> dict[str, Any]:
    """The result columns of one solution (objective and metrics recomputed from its plan)."""
    import numpy as np

    x = np.asarray(sol.x, dtype=np.float64) > 0.5
    locked_in, _ = problem.locked_masks()
    added = x & ~locked_in
    ids = problem.pu.units["pu_id"].to_numpy()[added]
    return {"status": sol.status.value, "objective": float(objective_value(problem, x)),
            "bound": float(sol.bound), "gap": float(sol.gap),
            "requested_gap": float(sol.requested_gap), "solver": sol.solver,
            "strategy": sol.strategy, "runtime": float(sol.runtime),
            "area_km2": float(problem.unprotected_km2[x].sum()),
            "n_added": int(added.sum()),
            "carbon_stock_added": float(metric(problem, "carbon_stock_added").value(x)),
            "mean_representation": float(metric(problem, "mean_representation").value(x)),
            "added_ids": [str(i) for i in ids.tolist()], "message": ""}


def _error_record(message: str, status: str = "error") -> dict[str, Any]:
    """A run without a plan: ``infeasible`` (no plan meets the rows) or ``error``."""
    nan = float("nan")
    return {"status": status, "objective": nan, "bound": nan, "gap": nan, "requested_gap": nan,
            "solver": "", "strategy": "", "runtime": 0.0, "area_km2": nan, "n_added": 0,
            "carbon_stock_added": nan, "mean_representation": nan, "added_ids": [],
            "message": message}


def _run_one(data: dict[str, Any], base: str, key: str, method: str) -> dict[str, Any]:
    """Solve one run on a worker (the grid loaded once per process); its record."""
    t0 = time.perf_counter()
    s = Scenario.from_dict(data, base=base)
    pu = _grid(s, key)
    p = s.to_problem(pu)
    try:
        if method.startswith("path:"):
            found = diagnose(p)
            if found:  # as `solve` would refuse it
                raise InfeasibleProblemError("; ".join(found))
            sol = _read_path(s, p, key, polish=method == PATH_POLISH)
        else:
            sol = solve(p, s.solver.backend, **solver_options(s))
    except Exception as exc:  # an infeasible run is a result, not the end of the sweep
        status = "infeasible" if isinstance(exc, InfeasibleProblemError) else "error"
        return {**_error_record(f"{type(exc).__name__}: {exc}", status),
                "wall_s": time.perf_counter() - t0}
    return {**_record(p, sol), "wall_s": time.perf_counter() - t0}


#: Per worker process: the nested path of each group of runs that differ only in their
#: budget (solved once, read by every run of the group on the process).
_PATHS: dict[str, Any] = {}
_PATHS_LOCK = threading.Lock()


def _but_budget(scenario: Scenario) -> str:
    """What the runs of one nested path share: the scenario but its budget and name."""
    data = scenario.to_dict()
    for k in ("budget", "name", "description"):
        data.pop(k, None)
    return json.dumps(data, sort_keys=True, default=str)


def _path_key(scenario: Scenario, grid_key: str) -> str:
    return hashlib.sha256(f"{grid_key}|{_but_budget(scenario)}".encode()).hexdigest()


def _read_path(s: Scenario, p: Problem, grid_key: str, *, polish: bool) -> Solution:
    """The run's plan read from its group's nested path, with the path's proven bound;
    polished (`_polish`) when that gap is above the scenario's."""
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
            path = solve(p, "cut", **opts).budget_path
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


def _methods(scenarios: list[Scenario], path: str) -> list[str]:
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
                    and s.budget is not None and s.budget.total_protection is None)
        if eligible:
            groups.setdefault(_but_budget(s), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            for i in members:
                methods[i] = PATH_READ if scenarios[i].solver.nested_path else PATH_POLISH
    return methods


# ============================================================== executors

@contextlib.contextmanager
def _executor(workers: int, scheduler: str | None) -> Iterator[tuple[Any, Callable, str]]:
    """``(submit, as_completed, dashboard)`` of local processes or a Dask client."""
    if scheduler is None:
        if workers <= 1:
            from concurrent.futures import Future

            def submit(fn: Callable, *args: Any) -> Future:
                f: Future = Future()
                try:
                    f.set_result(fn(*args))
                except BaseException as exc:
                    f.set_exception(exc)
                return f

            yield submit, lambda fs: iter(list(fs)), ""
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            yield pool.submit, as_completed, ""
        return

    with dask_client(scheduler, workers, error=ScenarioError) as client:
        from dask.distributed import as_completed as dask_as_completed

        yield client.submit, dask_as_completed, client.dashboard_link


# ============================================================== the output folder

def _read_spec(out: Path) -> dict[str, Any] | None:
    """``sweep.json`` of a sweep folder (None when absent or unreadable)."""
    try:
        spec = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) and isinstance(spec.get("runs"), list) else None


def _check_same_sweep(out: Path, spec: dict[str, Any]) -> None:
    """Resume only the same sweep (the same scenarios): another one's parts would mix in.

    The same scenarios solved by another method (``path``) are the same sweep: those
    runs have other hashes, so they are solved again, not reused.
    """
    old = _read_spec(out)
    if old is None:
        return  # no readable spec (an older folder): its parts are checked by hash anyway
    try:  # folders before run methods: their run hash was the scenario's hash
        old_scenarios = [r.get("scenario_hash", r["hash"]) for r in old["runs"]]
    except (KeyError, TypeError, AttributeError):
        return
    if old_scenarios != [r["scenario_hash"] for r in spec["runs"]]:
        raise OutputError(f"{out}: holds another sweep ({old.get('name')!r}, "
                          f"{len(old_scenarios)} runs), not this one ({spec['name']!r}, "
                          f"{len(spec['runs'])} runs); choose another --out, or pass "
                          "--overwrite to replace it")


def _prepare(out: Path, sweep: Sweep, overwrite: bool) -> set[str]:
    """Create or reuse the sweep folder; the hashes of this sweep's runs already finished."""
    spec = {"name": sweep.name,
            "runs": [{"index": r.index, "hash": r.hash, "scenario_hash": r.scenario_hash,
                      "method": r.method, "params": r.params} for r in sweep.runs]}
    text = json.dumps(spec, indent=1, default=str) + "\n"
    marker = read_marker(out) if out.is_dir() else None
    if marker is not None and marker.get("kind") == KIND and not overwrite:
        _check_same_sweep(out, spec)
        runs = out / "runs"
        runs.mkdir(exist_ok=True)
        for tmp in runs.glob(".*.tmp"):  # parts a killed sweep was writing: never results
            with contextlib.suppress(OSError):
                tmp.unlink()
        if _read_spec(out) != json.loads(text):  # the runs' methods changed: this spec now
            write_text_atomic(out / "sweep.json", text)
        return {p.stem for p in runs.glob("*.parquet")} & {r.hash for r in sweep.runs}

    def fill(folder: Path) -> None:
        (folder / "runs").mkdir()
        (folder / "sweep.json").write_text(text, encoding="utf-8")

    write_dir_atomic(out, KIND, fill, overwrite=overwrite, inputs=sweep.inputs, grows=["runs"])
    assert (out / MARKER).is_file()
    return set()


_COLUMNS = (("name", "string"), ("scenario_hash", "string"), ("method", "string"),
            ("status", "string"), ("objective", "float64"), ("bound", "float64"),
            ("gap", "float64"), ("requested_gap", "float64"), ("solver", "string"),
            ("strategy", "string"), ("runtime", "float64"), ("area_km2", "float64"),
            ("n_added", "int64"), ("carbon_stock_added", "float64"),
            ("mean_representation", "float64"), ("message", "string"), ("wall_s", "float64"))


def _param_value(value: Any) -> tuple[Any, str]:
    """A parameter as a column: numbers as float64, anything else as JSON text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), "float64"
    return json.dumps(value, sort_keys=True, default=str), "string"


def _write_part(out: Path, run: Run, rec: dict[str, Any]) -> None:
    """Write one run's row as ``runs/<hash>.parquet`` (temporary name, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq


    cols: dict[str, tuple[Any, Any]] = {"run": (run.index, pa.int64()),
                                         "hash": (run.hash, pa.string())}
    for k, v in run.params.items():
        value, kind = _param_value(v)
        cols[f"param.{k}"] = (value, getattr(pa, kind)())
    cols["params"] = (json.dumps(run.params, sort_keys=True, default=str), pa.string())
    rec = {**rec, "name": run.name, "scenario_hash": run.scenario_hash, "method": run.method}
    for name, kind in _COLUMNS:
        cols[name] = (rec[name], getattr(pa, kind)())
    cols["added_ids"] = (list(rec["added_ids"]), pa.list_(pa.string()))
    table = pa.table({k: pa.array([v], type=t) for k, (v, t) in cols.items()})
    write_file_atomic(out / "runs" / f"{run.hash}.parquet", lambda tmp: pq.write_table(table, tmp))


def read_results(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The finished runs of a sweep folder, one row each, sorted by run index.

    Reads the parts ``DIR/runs/<hash>.parquet`` of the sweep's runs (``sweep.json``) as
    one ``pyarrow.dataset``; hidden temporary files of a killed sweep, and parts of the
    same scenarios solved by another method before a resume, are not read. Columns:
    ``run``, ``hash`` (of the scenario and the method), ``param.<key>`` per parameter,
    ``params`` (JSON), ``name`` (the scenario's name and the parameters),
    ``scenario_hash``, ``method`` (`Run.method`), ``status`` (`SolveStatus`:
    ``optimal`` only at proven gap 0, ``within_gap``, ``feasible``, ... or
    ``infeasible``/``error`` without a plan), ``objective`` (recomputed from the plan),
    ``bound`` (proven), ``gap`` (proven relative gap ``|bound - objective| /
    |objective|``), ``requested_gap`` (the scenario's), ``solver``, ``strategy`` (what
    ran), ``runtime`` (solver seconds), ``area_km2`` (new km²: the unprotected area of the
    selected units), ``n_added``, ``carbon_stock_added`` (MgC), ``mean_representation``
    (% held), ``added_ids``, ``message``, ``wall_s`` (seconds of the run on its worker).
    """
    import pandas as pd
    import pyarrow.dataset as ds

    out = Path(out_dir)
    runs = out / "runs"
    if not runs.is_dir():
        raise OutputError(f"{out_dir}: no sweep results (no runs/ folder); run carbonpark sweep")
    spec = _read_spec(out)
    wanted = None if spec is None else {str(r.get("hash")) for r in spec["runs"]
                                        if isinstance(r, dict)}
    files = sorted(str(p) for p in runs.glob("*.parquet") if wanted is None or p.stem in wanted)
    if not files:
        return pd.DataFrame()
    table = ds.dataset(files, format="parquet").to_table()
    return table.to_pandas().sort_values("run", ignore_index=True)


def format_runs(df: pd.DataFrame) -> str:
    """The table of a sweep's runs a planner reads at the end, with the definitions.

    One row per run: its number, name (the scenario and the run's parameters), new km²,
    objective, status (`SolveStatus` words), proven gap, seconds and how it was solved
    (``resumed: ...`` for a run finished by an earlier call, when ``df`` has `run_sweep`'s
    ``resumed`` column).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"run": [0], "name": ["balanced (budget.share=0.1)"],
    ...                    "area_km2": [220000.0], "objective": [0.59437], "status": ["within_gap"],
    ...                    "gap": [0.00083], "wall_s": [1.25], "method": ["solve:highs"],
    ...                    "strategy": ["lp-round+mip"], "resumed": [False]})
    >>> print(*format_runs(df).splitlines()[:2], sep="\\n")
    run  name                         new km²  objective  status      proven gap  seconds  how
      0  balanced (budget.share=0.1)  220,000    0.59437  within_gap      0.083%      1.2  solve highs
    """
    import pandas as pd

    def how(r: pd.Series) -> str:
        method = str(r.get("method", ""))
        text = method.replace(":", " ", 1)
        if method.startswith("path:"):
            text = ("nested path + HiGHS polish" if "highs" in str(r.get("strategy", ""))
                    else "nested path")
        return f"resumed: {text}" if bool(r.get("resumed", False)) else text

    def gap(v: float) -> str:
        return "-" if pd.isna(v) else "0" if v == 0 else f"{v:.3%}"

    cols = {
        "run": [str(int(v)) for v in df["run"]],
        "name": [str(v) for v in df["name"]],
        "new km²": [("-" if pd.isna(v) else f"{v:,.0f}") for v in df["area_km2"]],
        "objective": [("-" if pd.isna(v) else f"{v:.6g}") for v in df["objective"]],
        "status": [str(v) for v in df["status"]],
        "proven gap": [gap(v) for v in df["gap"]],
        "seconds": [f"{v:,.1f}" for v in df["wall_s"]],
        "how": [how(r) for _, r in df.iterrows()],
    }
    right = {"run", "new km²", "objective", "proven gap", "seconds"}
    width = {k: max([len(k), *map(len, v)]) for k, v in cols.items()}

    def line(cells: dict[str, str]) -> str:
        return "  ".join(c.rjust(width[k]) if k in right else c.ljust(width[k])
                         for k, c in cells.items()).rstrip()

    lines = [line({k: k for k in cols})]
    lines += [line({k: v[i] for k, v in cols.items()}) for i in range(len(df))]
    lines.append("objective: the scenario's objective, recomputed from the plan; seconds: "
                 "wall-clock of the run on its worker;")
    lines.append("proven gap: |bound - objective| / |objective|, the bound proven by the "
                 "solver (the nested path's Lagrangian bound, or the polish MIP's).")
    return "\n".join(lines)


# ============================================================== running

def _progress_bar(done: int, total: int, t0: float, stream: Any) -> None:
    elapsed = time.perf_counter() - t0
    eta = elapsed / done * (total - done) if done else float("nan")
    width = 30
    filled = int(width * done / total) if total else width
    eta_text = f"ETA {eta:.0f} s" if done else "ETA -"
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} runs, {elapsed:.0f} s, "
          f"{eta_text}", end="" if done < total else "\n", file=stream, flush=True)


def run_sweep(sweep: Sweep | str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
              workers: int | None = None, scheduler: str | None = None,
              progress: ProgressArg = False, overwrite: bool = False
              ) -> pd.DataFrame:
    """Run every unfinished run of a sweep; one Parquet part per finished run.

    Parameters
    ----------
    sweep : Sweep or path
        A sweep, or a sweep file to `Sweep.load`.
    out_dir : path
        The sweep folder: ``runs/`` (one part per run), ``sweep.json``, the marker. An
        earlier sweep folder is resumed (finished hashes skipped).
    workers : int, optional
        Local processes (default: the number of CPUs; 1 runs in this process), or the
        workers of ``scheduler="local"``.
    scheduler : {None, "local", "tcp://host:port"}
        None: local processes; ``"local"``: a ``dask.distributed.LocalCluster`` of
        ``workers`` processes; an address: an existing Dask scheduler (its workers must
        read the scenario's grid at the same paths).
    progress : bool or callable
        Print a progress bar (runs done / total, ETA) on stderr, or call
        ``progress(fraction, stage)`` (`optimizer.progress`) at the start and after each
        run, the stage reading ``"12/20 runs"``.
    overwrite : bool
        Replace ``out_dir`` even when it is not an earlier sweep folder.

    Returns
    -------
    pandas.DataFrame
        `read_results` of ``out_dir``, and ``resumed``: True for the runs an earlier call
        had finished (reused, not solved again).
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep.load(sweep)
    out = Path(out_dir)
    workers = workers or os.cpu_count() or 1
    done_hashes = _prepare(out, sweep, overwrite)
    todo = [r for r in sweep.runs if r.hash not in done_hashes]
    total = len(sweep.runs)
    done = total - len(todo)
    # Load each grid here once first: a cache miss is built once, not by every worker at once.
    keys: dict[str, str] = {}
    for r in todo:
        k = _grid_key(r.scenario)
        if k not in keys.values():
            r.scenario.load_grid()
        keys[r.hash] = k
    t0 = time.perf_counter()
    report: Callable[[int, int], None] | None
    if callable(progress):
        callback = progress
        report = lambda d, n: callback(d / n if n else 1.0, f"{d}/{n} runs")  # noqa: E731
    elif progress:
        report = lambda d, n: _progress_bar(d, n, t0, sys.stderr)  # noqa: E731
    else:
        report = None
    if report:
        report(done, total)
    # Runs of one nested path first, together: each worker process solves a path once.
    todo.sort(key=lambda r: (not r.method.startswith("path:"), r.index))
    with _executor(workers, scheduler) as (submit, as_completed, dashboard):
        if dashboard and progress:
            print(f"carbonpark: Dask dashboard at {dashboard}", file=sys.stderr)
        futures: dict[Any, Run] = {}
        for r in todo:
            fut = submit(_run_one, r.scenario.to_dict(), str(r.scenario.base), keys[r.hash],
                         r.method)
            futures[fut] = r
        for fut in as_completed(list(futures)):
            run = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:
                if type(exc).__name__ not in ("BrokenProcessPool", "KilledWorker"):
                    raise
                raise SolverError(
                    f"sweep: a worker process died (killed, or out of memory) during the "
                    f"sweep; the {done} finished runs are kept in {out / 'runs'}: run the same "
                    "command again to resume the rest") from None
            _write_part(out, run, rec)
            done += 1
            if report:
                report(done, total)
    df = read_results(out)
    if len(df):
        df["resumed"] = df["hash"].isin(done_hashes)
    return df
