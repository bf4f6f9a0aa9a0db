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

Every run is a full `Scenario` (validated, hashed; `optimizer.studies.sweep_file`).
`run_sweep` runs them in this process (``workers=1``), on local processes (``workers``),
a ``dask.distributed.LocalCluster`` (``scheduler="local"``) or an existing Dask cluster
(``scheduler="tcp://host:8786"``), always through ``submit`` / ``as_completed``: no
scheduler or worker protocol of our own. Each worker process loads the grid once (by its
content hash) and reuses it for every run (`optimizer.studies.sweep_worker`).

Each run is one Parquet part ``DIR/runs/<hash>.parquet``, written as the run ends,
whatever the number of workers, under a temporary name and then renamed
(`optimizer.studies.sweep_parts`): a killed sweep (driver or worker) loses nothing
finished and leaves no half-written part that a reader takes for a result. Re-running the
same sweep into ``DIR`` checks every part and skips the finished runs; a damaged part is
solved again. Ctrl-C cancels the queued runs, ends the running ones (their workers are
terminated, not waited for) and keeps every finished part; the workers also exit when
their driver dies (`optimizer.distributed.worker_setup`).

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
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.distributed import check_scheduler, dask_client, stop_pool, worker_setup
from optimizer.errors import OptimizerWarning, ScenarioError, SolverError
from optimizer.progress import ProgressArg
from optimizer.studies.sweep_file import Run, Sweep, set_key
from optimizer.studies.sweep_parts import KIND, format_runs, read_results, write_part
from optimizer.studies.sweep_parts import prepare as prepare_folder
from optimizer.studies.sweep_worker import PATH_POLISH, PATH_READ, grid_key, run_one

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND", "PATH_POLISH", "PATH_READ", "Run", "Sweep", "format_runs", "read_results",
           "run_sweep", "set_key"]

#: One run's work: ``(run, record)`` pairs as each run ends.
Results = Iterator[tuple[Run, dict[str, Any]]]


# ============================================================== executors

def _args(run: Run, key: str) -> tuple[Any, ...]:
    return (run.scenario.to_dict(), str(run.scenario.base), key, run.method)


@contextlib.contextmanager
def _in_process(todo: list[Run], keys: dict[str, str]) -> Iterator[Results]:
    """The runs one after the other in this process: Ctrl-C stops the running solve (no
    result) and leaves the rest unrun."""
    yield ((r, run_one(*_args(r, keys[r.hash]))) for r in todo)


def _died(done: int, out: Path) -> SolverError:
    return SolverError(f"sweep: a worker process died (killed, or out of memory) during the "
                       f"sweep; the {done:,} finished runs are kept in {out / 'runs'}: run the "
                       "same command again to resume the rest")


@contextlib.contextmanager
def _local_pool(todo: list[Run], keys: dict[str, str], workers: int,
                out: Path, finished: Callable[[], int]) -> Iterator[Results]:
    """The runs on ``workers`` local processes (spawned; each ignores Ctrl-C and exits
    when this process dies). On Ctrl-C or any error the queued runs are cancelled and the
    workers terminated, never waited for."""
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, max(1, len(todo))), mp_context=ctx,
                               initializer=worker_setup, initargs=(os.getpid(),))

    def results() -> Results:
        futures = {pool.submit(run_one, *_args(r, keys[r.hash])): r for r in todo}
        yield from _as_they_end(futures, as_completed(futures), "BrokenProcessPool",
                                finished, out)

    try:
        yield results()
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _as_they_end(futures: dict[Any, Run], completed: Iterable[Any], died: str,
                 finished: Callable[[], int], out: Path) -> Results:
    """Each run with its record as its future ends; a worker lost (``died``: the executor's
    exception name for it) is one line saying how many finished runs are kept."""
    for fut in completed:
        try:
            rec = fut.result()
        except Exception as exc:
            if type(exc).__name__ == died:
                raise _died(finished(), out) from None
            raise
        yield futures[fut], rec


@contextlib.contextmanager
def _dask(todo: list[Run], keys: dict[str, str], workers: int, scheduler: str,
          out: Path, finished: Callable[[], int], progress: ProgressArg) -> Iterator[Results]:
    """The runs on a Dask LocalCluster (``"local"``) or the cluster at an address. On
    Ctrl-C or an error the client closes at once (a LocalCluster and its workers with it)."""
    with dask_client(scheduler, workers, error=ScenarioError) as client:
        from dask.distributed import as_completed as dask_as_completed

        if client.dashboard_link and progress:
            print(f"carbonpark: Dask dashboard at {client.dashboard_link}", file=sys.stderr)

        futures: dict[Any, Run] = {}

        def results() -> Results:
            for r in todo:
                futures[client.submit(run_one, *_args(r, keys[r.hash]), pure=False)] = r
            yield from _as_they_end(futures, dask_as_completed(list(futures)), "KilledWorker",
                                    finished, out)

        try:
            yield results()
        except BaseException:
            if scheduler != "local":  # a cluster not ours: stop our runs on it, leave it up
                with contextlib.suppress(Exception):
                    client.cancel(list(futures), force=True)
            raise


@contextlib.contextmanager
def _no_interrupt() -> Iterator[None]:
    """Ctrl-C waits for the end of the block (a part being written is written whole, so a
    finished run is kept), then raises `KeyboardInterrupt`."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


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
    """Run every unfinished run of a sweep; one Parquet part per run, written as it ends.

    Parameters
    ----------
    sweep : Sweep or path
        A sweep, or a sweep file to `Sweep.load`.
    out_dir : path
        The sweep folder: ``runs/`` (one part per run), ``sweep.json``, the marker. An
        earlier sweep folder is resumed: its parts are checked, the finished runs skipped
        and the runs of damaged parts solved again (an `OptimizerWarning` names them).
    workers : int, optional
        Local processes (default: the number of CPUs; 1 runs in this process), or the
        workers of ``scheduler="local"``.
    scheduler : {None, "local", "tcp://host:port"}
        None: local processes; ``"local"``: a ``dask.distributed.LocalCluster`` of
        ``workers`` processes; an address: an existing Dask scheduler (its workers must
        read the scenario's grid at the same paths). Checked before the folder is made.
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
        had finished (reused, not solved again). ``df.attrs["redone"]``: the runs whose
        damaged parts were solved again.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C: the queued runs are cancelled, the running ones ended (their workers
        terminated); every finished run is kept as its part, for a resume.
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep.load(sweep)
    if scheduler is not None:  # before the folder is made: a wrong address leaves nothing
        scheduler = check_scheduler(scheduler, error=ScenarioError)
        if scheduler != "local":  # nor does a scheduler without workers
            with dask_client(scheduler, error=ScenarioError):
                pass
    out = Path(out_dir)
    workers = workers or os.cpu_count() or 1
    resume = prepare_folder(out, sweep, overwrite)
    if resume.damaged:
        names = ", ".join(f"{k} ({v})" for k, v in list(resume.damaged.items())[:3])
        more = f" and {len(resume.damaged) - 3:,} more" if len(resume.damaged) > 3 else ""
        warnings.warn(f"{out / 'runs'}: {len(resume.damaged):,} damaged part"
                      f"{'s' if len(resume.damaged) != 1 else ''} removed, their runs solved "
                      f"again: {names}{more}", OptimizerWarning, stacklevel=2)
    done_hashes = resume.done
    todo = [r for r in sweep.runs if r.hash not in done_hashes]
    total = len(sweep.runs)
    done = total - len(todo)
    # Load each grid here once first: a cache miss is built once, not by every worker at once.
    keys: dict[str, str] = {}
    for r in todo:
        k = grid_key(r.scenario)
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
    finished = lambda: done  # noqa: E731
    executor: contextlib.AbstractContextManager[Results]
    if scheduler is not None:
        executor = _dask(todo, keys, workers, scheduler, out, finished, progress)
    elif workers <= 1 or len(todo) <= 1:
        executor = _in_process(todo, keys)
    else:
        executor = _local_pool(todo, keys, workers, out, finished)
    try:
        with executor as results:
            for run, rec in results:
                with _no_interrupt():
                    write_part(out, run, rec)
                done += 1
                if report:
                    report(done, total)
    except KeyboardInterrupt:
        if progress is True:
            print(file=sys.stderr)  # end the bar's line
        raise
    df = read_results(out)
    if len(df):
        df["resumed"] = df["hash"].isin(done_hashes)
    df.attrs["redone"] = len(resume.damaged)
    return df
