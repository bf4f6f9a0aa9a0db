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
one parametric solve (`optimizer.solvers.plan_for_budget`) instead of a solve each
(``path = "auto"``; ``"never"`` solves each).

``import optimizer.studies.sweep`` imports neither dask nor pydantic; running a sweep on Dask
imports dask.
"""

from __future__ import annotations

import contextlib
import copy
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

from optimizer.atomic import MARKER, read_marker, write_dir_atomic, write_file_atomic
from optimizer.distributed import dask_client
from optimizer.errors import InfeasibleProblemError, OutputError, ScenarioError, SolverError, did_you_mean
from optimizer.model.compile import compile
from optimizer.model.objectives import OBJECTIVES
from optimizer.plan.results import diagnose, solve
from optimizer.progress import ProgressArg
from optimizer.scenario import Scenario
from optimizer.scenario.build import grid_hash, solver_options
from optimizer.solvers import plan_for_budget
from optimizer.studies.frontier import metric

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.model.problem import Problem
    from optimizer.scenario import Scenario

__all__ = ["Sweep", "read_results", "run_sweep"]

#: Output kind of a sweep folder (its marker, `optimizer.atomic`).
KIND = "sweep"
_SWEEP_KEYS = {"schema_version", "name", "description", "base", "combine", "path",
               "parameters", "set"}
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[(\d+)\])?$")
#: Keys of ``[budget]``: setting one replaces the others (a budget has exactly one).
_BUDGET_KEYS = ("km2", "share", "total_protection")


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
    """One run of a sweep: its parameters (dotted key -> value) and its scenario."""

    index: int
    params: dict[str, Any]
    scenario: Scenario
    hash: str


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
            runs: list[Run] = []
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
                    runs.append(Run(len(runs), params, s, h))
            self._runs = runs
        return self._runs

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


def _record(problem: Any, x: Any, *, status: str, objective: float, gap: float,
            runtime: float) -> dict[str, Any]:
    """The result columns of one plan (metrics recomputed from ``x``)."""
    import numpy as np


    x = np.asarray(x, dtype=np.float64) > 0.5
    locked_in, _ = problem.locked_masks()
    added = x & ~locked_in
    ids = problem.pu.units["pu_id"].to_numpy()[added]
    return {"status": status, "objective": float(objective), "gap": float(gap),
            "runtime": float(runtime),
            "area_km2": float(problem.unprotected_km2[x].sum()),
            "n_added": int(added.sum()),
            "carbon_stock_added": float(metric(problem, "carbon_stock_added").value(x)),
            "mean_representation": float(metric(problem, "mean_representation").value(x)),
            "added_ids": [str(i) for i in ids.tolist()]}


def _error_record(message: str, status: str = "error") -> dict[str, Any]:
    """A run without a plan: ``infeasible`` (no plan meets the rows) or ``error``."""
    nan = float("nan")
    return {"status": status, "objective": nan, "gap": nan, "runtime": 0.0, "area_km2": nan,
            "n_added": 0, "carbon_stock_added": nan, "mean_representation": nan,
            "added_ids": [], "message": message}


def _solve_one(data: dict[str, Any], base: str, key: str) -> dict[str, Any]:
    """Solve one scenario on a worker (the grid loaded once per process); its record."""

    t0 = time.perf_counter()
    s = Scenario.from_dict(data, base=base)
    pu = _grid(s, key)
    p = s.to_problem(pu)
    try:
        sol = solve(p, s.solver.backend, **solver_options(s))
    except Exception as exc:  # an infeasible run is a result, not the end of the sweep

        status = "infeasible" if isinstance(exc, InfeasibleProblemError) else "error"
        return {**_error_record(f"{type(exc).__name__}: {exc}", status),
                "wall_s": time.perf_counter() - t0}
    rec = _record(p, sol.x, status=sol.status.value, objective=sol.objective, gap=sol.gap,
                  runtime=sol.runtime)
    return {**rec, "message": "", "wall_s": time.perf_counter() - t0}


def _solve_path(datas: list[dict[str, Any]], base: str, key: str) -> list[dict[str, Any]]:
    """Runs that differ only in their budget: one parametric cut solve, then the path."""
    import numpy as np


    t0 = time.perf_counter()
    scenarios = [Scenario.from_dict(d, base=base) for d in datas]
    pu = _grid(scenarios[0], key)
    problems = [s.to_problem(pu) for s in scenarios]
    budgets = [_total_km2(p) for p in problems]
    top = int(np.argmax(budgets))
    sol = solve(problems[top], "cut", **solver_options(scenarios[top]))
    out = []
    for p, km2 in zip(problems, budgets, strict=True):
        found = diagnose(p)
        if found:  # as `solve` would refuse it
            out.append(_error_record(f"InfeasibleProblemError: {'; '.join(found)}",
                                     "infeasible"))
            continue
        x = plan_for_budget(sol, km2, problem=p)
        model = compile(p)
        objective = model.objective_value(model.complete(model.x_cols_of(x)))
        out.append({**_record(p, x, status="path", objective=objective, gap=float("nan"),
                              runtime=sol.runtime / len(problems)), "message": ""})
    wall = time.perf_counter() - t0
    return [{**r, "wall_s": wall / len(out)} for r in out]


def _total_km2(problem: Problem) -> float:
    """The total budget (km²) of a run on the nested path (every one has a [budget])."""
    total = problem.total_budget()
    assert total is not None, "a run on the nested path has a total budget"
    return total.max_km2


def _path_groups(runs: list[Run]) -> list[list[Run]]:
    """Runs grouped for the nested path: same scenario but the budget, in cut form."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        s = r.scenario
        eligible = (s.solver.backend == "cut" and OBJECTIVES[s.objective.kind].nested
                    and not s.area_budgets and s.targets is None
                    and s.budget is not None and s.budget.total_protection is None)
        if not eligible:
            groups[f"single:{r.hash}"] = [r]
            continue
        data = s.to_dict()
        data.pop("budget", None)
        data.pop("name", None)
        groups.setdefault("path:" + json.dumps(data, sort_keys=True), []).append(r)
    return list(groups.values())


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

def _check_same_sweep(out: Path, spec: dict[str, Any]) -> None:
    """Resume only the same sweep: another one's parts would mix into the results."""
    try:
        old = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
        old_hashes = [r["hash"] for r in old["runs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return  # no readable spec (an older folder): its parts are checked by hash anyway
    if old_hashes != [r["hash"] for r in spec["runs"]]:
        raise OutputError(f"{out}: holds another sweep ({old.get('name')!r}, {len(old_hashes)} "
                          f"runs), not this one ({spec['name']!r}, {len(spec['runs'])} runs); "
                          "choose another --out, or pass --overwrite to replace it")


def _prepare(out: Path, sweep: Sweep, overwrite: bool) -> set[str]:
    """Create or reuse the sweep folder; the hashes already finished."""

    spec = {"name": sweep.name, "runs": [{"index": r.index, "hash": r.hash, "params": r.params}
                                         for r in sweep.runs]}
    marker = read_marker(out) if out.is_dir() else None
    if marker is not None and marker.get("kind") == KIND and not overwrite:
        _check_same_sweep(out, spec)
        runs = out / "runs"
        runs.mkdir(exist_ok=True)
        for tmp in runs.glob(".*.tmp"):  # parts a killed sweep was writing: never results
            with contextlib.suppress(OSError):
                tmp.unlink()
        return {p.stem for p in runs.glob("*.parquet")}

    def fill(folder: Path) -> None:
        (folder / "runs").mkdir()
        (folder / "sweep.json").write_text(json.dumps(spec, indent=1, default=str) + "\n",
                                           encoding="utf-8")

    inputs = [sweep.source] if sweep.source != "sweep" else []
    write_dir_atomic(out, KIND, fill, overwrite=overwrite, inputs=inputs, grows=["runs"])
    assert (out / MARKER).is_file()
    return set()


_COLUMNS = (("status", "string"), ("objective", "float64"), ("gap", "float64"),
            ("runtime", "float64"), ("area_km2", "float64"), ("n_added", "int64"),
            ("carbon_stock_added", "float64"), ("mean_representation", "float64"),
            ("message", "string"), ("wall_s", "float64"))


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
    for name, kind in _COLUMNS:
        cols[name] = (rec[name], getattr(pa, kind)())
    cols["added_ids"] = (list(rec["added_ids"]), pa.list_(pa.string()))
    table = pa.table({k: pa.array([v], type=t) for k, (v, t) in cols.items()})
    write_file_atomic(out / "runs" / f"{run.hash}.parquet", lambda tmp: pq.write_table(table, tmp))


def read_results(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The finished runs of a sweep folder, one row each, sorted by run index.

    Reads ``DIR/runs/*.parquet`` as one ``pyarrow.dataset`` (hidden temporary files of
    a killed sweep are ignored). Columns: ``run``, ``hash``, ``param.<key>`` per
    parameter, ``params`` (JSON), ``status``, ``objective``, ``gap``, ``runtime``,
    ``area_km2``, ``n_added``, ``carbon_stock_added``, ``mean_representation``,
    ``added_ids``, ``message``, ``wall_s``.
    """
    import pandas as pd
    import pyarrow.dataset as ds

    runs = Path(out_dir) / "runs"
    if not runs.is_dir():
        raise OutputError(f"{out_dir}: no sweep results (no runs/ folder); run carbonpark sweep")
    files = sorted(str(p) for p in runs.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    table = ds.dataset(files, format="parquet").to_table()
    return table.to_pandas().sort_values("run", ignore_index=True)


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
        `read_results` of ``out_dir``.
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
    groups = _path_groups(todo) if sweep.path == "auto" else [[r] for r in todo]
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
    with _executor(workers, scheduler) as (submit, as_completed, dashboard):
        if dashboard and progress:
            print(f"carbonpark: Dask dashboard at {dashboard}", file=sys.stderr)
        futures: dict[Any, list[Run]] = {}
        for g in groups:
            base, key = str(g[0].scenario.base), keys[g[0].hash]
            if len(g) == 1:
                fut = submit(_solve_one, g[0].scenario.to_dict(), base, key)
            else:
                fut = submit(_solve_path, [r.scenario.to_dict() for r in g], base, key)
            futures[fut] = g
        for fut in as_completed(list(futures)):
            g = futures[fut]
            try:
                recs = fut.result()
            except Exception as exc:
                if type(exc).__name__ not in ("BrokenProcessPool", "KilledWorker"):
                    raise
                raise SolverError(
                    f"sweep: a worker process died (killed, or out of memory) during the "
                    f"sweep; the {done} finished runs are kept in {out / 'runs'}: run the same "
                    "command again to resume the rest") from None
            for run, rec in zip(g, [recs] if len(g) == 1 else recs, strict=True):
                _write_part(out, run, rec)
                done += 1
                if report:
                    report(done, total)
    return read_results(out)
