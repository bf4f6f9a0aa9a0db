"""A shuffle portfolio: the same problem solved with its units in ``n`` random orders.

prioritizr's ``add_shuffle_portfolio``: each solve sees the model's unit columns in another
random order, so a solver that stops within ``solve_gap`` (or breaks ties by order) may
return another plan each time; identical plans are dropped. Every plan is a plan of the
problem (its objective recomputed from the plan, every row checked) within its own proven
``solve_gap``; nothing makes the plans differ (use `optimizer.studies.portfolio.portfolio`
for plans a stated distance apart). The plans are sorted best first.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.distributed import check_scheduler, map_tasks
from optimizer.errors import InputDataError, SolverError
from optimizer.model.compile import Block, CompiledModel, compile
from optimizer.model.contiguity import check_solved_whole
from optimizer.model.problem import Problem
from optimizer.plan.solving import solve_model
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.studies.portfolio import Portfolio, assemble_portfolio

__all__ = ["permuted", "shuffle_portfolio"]


def permuted(model: CompiledModel, order: np.ndarray) -> CompiledModel:
    """``model`` with its ``x`` columns in ``order`` (``order[i]`` the old column of new
    column ``i``); every other column, every row and the objective unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2))
    >>> q = permuted(m, np.arange(m.n_x)[::-1])
    >>> x = np.array([1, 0, 0, 1, 1, 0.0])
    >>> m.objective_value(m.complete(m.x_cols_of(x))) == q.objective_value(q.complete(q.x_cols_of(x)))
    True
    """
    nx = model.n_x
    order = np.asarray(order, dtype=np.int64)
    if not np.array_equal(np.sort(order), np.arange(nx)):
        raise InputDataError(f"order must be a permutation of the model's {nx:,} x columns")
    cols = np.concatenate([order, np.arange(nx, model.n_cols)])
    new_of_old = np.empty(nx, dtype=np.int64)
    new_of_old[order] = np.arange(nx)
    A = sp.csr_matrix(model.A[:, cols])
    A.sort_indices()
    unit_of_col = model.unit_of_col.copy()
    unit_of_col[:nx] = model.unit_of_col[order]
    edges = new_of_old[model.edge_x_cols] if model.edge_x_cols.size else model.edge_x_cols
    return CompiledModel(
        sense=model.sense, c=model.c[cols], offset=model.offset, A=A,
        row_lower=model.row_lower, row_upper=model.row_upper,
        col_lower=model.col_lower[cols], col_upper=model.col_upper[cols],
        integrality=model.integrality[cols], n_units=model.n_units, unit_of_col=unit_of_col,
        x_fixed=model.x_fixed, unit_ids=model.unit_ids, row_blocks=model.row_blocks,
        col_blocks=tuple(Block(b.kind, b.start, b.stop, b.labels) for b in model.col_blocks),
        edge_x_cols=edges, shortfall_rows=model.shortfall_rows)


def _order(n_x: int, seed: int, k: int) -> np.ndarray:
    """Solve ``k``'s column order: the model's own for the first, else seeded by ``seed + k``."""
    return np.arange(n_x) if k == 0 else np.random.default_rng(seed + k).permutation(n_x)


def _shuffle_solve(k: int, shared: dict[str, Any]) -> tuple[int, np.ndarray, str, float]:
    """Solve ``k`` of the portfolio: ``(k, x columns in the model's order, status, gap)``;
    ``shared``: the model, the seed, the solver and its options (`map_tasks`)."""
    model: CompiledModel = shared["model"]
    sol = solve_model(permuted(model, _order(model.n_x, shared["seed"], k)), shared["solver"],
                      **shared["options"])
    return k, model.x_cols_of(sol.x), sol.status.value, float(sol.gap)


def shuffle_portfolio(problem: Problem, n: int, *, solver: str = "auto", solve_gap: float = 0.0,
                      seed: int = 0, time_limit_per_plan: float | None = None,
                      remove_duplicates: bool = True, workers: int = 1,
                      scheduler: str | None = None, progress: ProgressArg = False
                      ) -> Portfolio:
    """``n`` solves of ``problem``, each with its units in a random order (module docstring).

    Parameters
    ----------
    problem : Problem
    n : int
        Solves (at least 1); fewer plans when some repeat and ``remove_duplicates``.
    solver : str
    solve_gap : float
        Relative gap of each solve.
    seed : int
        Seed of the orders (solve k uses ``seed + k``; the first keeps the model's order).
    time_limit_per_plan : float, optional
    remove_duplicates : bool
    workers : int
        Local processes (forked; 1 = this process), or the workers of a Dask LocalCluster
        with ``scheduler="local"``. The solves are independent; the plans are the same
        whatever the workers (kept in solve order).
    scheduler : str, optional
        ``"local"`` (a Dask LocalCluster) or a Dask scheduler's address (the model is sent
        once per worker).
    progress : bool or callable

    Returns
    -------
    Portfolio
        ``gap`` is ``solve_gap``; ``min_distance`` 1 with duplicates removed, else 0.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> pf = shuffle_portfolio(p, 3)  # one optimum (cells 4 and 5): one plan
    >>> len(pf.table), round(float(pf.table["objective"].iloc[0]) * 290, 6)
    (1, 140.0)
    """
    t0 = time.perf_counter()
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputDataError(f"shuffle portfolio: n must be a whole number of solves, at least "
                             f"1; got {n!r}")
    if not np.isfinite(solve_gap) or solve_gap < 0:
        raise InputDataError(f"shuffle portfolio: solve_gap must be >= 0; got {solve_gap!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputDataError(f"shuffle portfolio: workers must be a whole number of processes, "
                             f"at least 1; got {workers!r}")
    if scheduler is not None:
        scheduler = check_scheduler(scheduler, error=InputDataError)  # before any solve
    check_solved_whole(problem, "shuffle_portfolio()")  # its solves would ignore them
    model = compile(problem)
    options: dict[str, Any] = {"gap": solve_gap}
    if time_limit_per_plan is not None:
        options["time_limit"] = time_limit_per_plan
    if solver == "auto" and (workers > 1 or scheduler is not None):
        options["concurrent"] = False  # the workers already take the cores
    shared = {"model": model, "solver": solver, "options": options, "seed": int(seed)}
    tick, close = progress_ticker(progress, int(n), desc="shuffle portfolio", unit="solve")
    try:
        results = map_tasks(_shuffle_solve, range(int(n)), shared, workers=workers,
                            scheduler=scheduler, error=InputDataError,
                            on_result=lambda r: tick(f"solve {r[0] + 1}"))
    finally:
        close()
    results.sort(key=lambda r: r[0])
    plans_cols: list[np.ndarray] = []
    objectives: list[float] = []
    statuses: list[str] = []
    gaps: list[float] = []
    for k, x_cols, status, gap in results:  # in solve order: the same plans on any workers
        values = model.complete(x_cols)
        if model.max_violation(values) > 1e-6:  # never trust a backend
            raise SolverError(f"shuffle portfolio: solve {k + 1}'s plan breaks a row; "
                              "rerun with solver='highs'")
        if remove_duplicates and any(np.array_equal(x_cols, p) for p in plans_cols):
            continue
        plans_cols.append(x_cols)
        objectives.append(model.objective_value(values))
        statuses.append(status)
        gaps.append(gap)
    best_first = np.argsort(np.asarray(objectives) * (-1.0 if model.sense == "max" else 1.0),
                            kind="stable")
    pick = [int(i) for i in best_first]
    found = len(pick)
    return assemble_portfolio(
        problem, model, [plans_cols[i] for i in pick], [objectives[i] for i in pick],
        [statuses[i] for i in pick], [gaps[i] for i in pick], float(solve_gap),
        1 if remove_duplicates else 0, found == n,
        "" if found == n else f"{n - found:,} of {n:,} solves repeated an earlier plan",
        time.perf_counter() - t0)
