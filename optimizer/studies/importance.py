"""Importance of each unit of a plan: what the objective loses when the unit is left out.

Three methods (``method=``): ``"replacement"`` (below), ``"ferrier"`` (Ferrier
irreplaceability of a min set plan, `optimizer.studies.importance_ferrier`) and ``"rank"``
(the budget increment at which a unit enters, `optimizer.studies.importance_rank`).

*Replacement importance* (prioritizr's ``eval_replacement_importance``, the "gold
standard"): for every added unit j of a plan, the problem is solved again with j locked
out (every other budget, target, lock and penalty kept), and j's importance is how much
worse the best plan without it is:

* ``importance`` = ``z_j - z0`` for a min objective (``z0 - z_j`` for max), where ``z0`` is
  the plan's objective and ``z_j`` that of the re-solve's plan, both recomputed from the
  plans (never the solver's word), in the objective's own unit;
* ``importance_low`` and ``importance_high`` bound the true loss ``z_j* - z*`` (``z*`` and
  ``z_j*`` the optima) from the proven bounds: for min, ``[b_j - z0, z_j - b0]`` (``b0`` and
  ``b_j`` the bounds of the plan and of the re-solve), never below 0 (leaving a unit out
  never helps). At gap 0 all three are equal: the exact replacement cost;
* ``importance_pct``: ``importance`` as a percentage of ``|z0|``;
* a unit whose absence leaves no plan (a target only it can meet) has ``inf``.

Units not added by the plan (free, locked in or out) have importance 0 and are not
re-solved: leaving out a unit the plan does not hold changes no optimum. Each re-solve
runs on the compiled model with the unit's column fixed at 0 (`CompiledModel.restrict`:
no recompile), on ``workers`` local processes (forked, so the model is not copied; each
ignores Ctrl-C, which stops the whole computation and keeps nothing), with a progress bar.

A re-solve that finds a plan better than the plan itself (possible when the plan is
not optimal) proves the plan was not optimal: `Importance.notes` says by how much, and
that unit's importance is 0.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.atomic import write_dir_atomic
from optimizer.distributed import check_scheduler, map_tasks
from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.contiguity import check_solved_whole
from optimizer.model.problem import Problem
from optimizer.plan.solving import solve, solve_model
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.solvers.base import Solution, stop_on_interrupt, stop_requested
from optimizer.studies import importance_ferrier, importance_rank
from optimizer.studies.importance_ferrier import FERRIER_PREFIX, ferrier_scores
from optimizer.studies.importance_rank import rank_increments
from optimizer.studies.importance_repair import repaired_objectives

__all__ = ["FERRIER_PREFIX", "IMPORTANCE_COLUMNS", "METHODS", "METHOD_MEANINGS", "OUTPUT_KIND",
           "Importance", "importance"]

#: The kind of output folder `Importance.write` writes (`optimizer.atomic`'s marker).
OUTPUT_KIND = "importance"

#: Importance methods `importance` knows.
METHODS = ("replacement", "ferrier", "rank")

#: What each method's ``importance`` column holds (for maps, reports and the json).
METHOD_MEANINGS = {
    "replacement": "loss of the objective without the unit (the objective's unit)",
    "ferrier": "Ferrier irreplaceability, summed over the target features (0-1 each)",
    "rank": "rank of the budget increment at which the unit enters, over the number of "
            "increments (1 first, 0 never)",
}

#: Columns of `Importance.table` (replacement), in order; ``ferrier`` has ``pu_id``,
#: ``added``, ``importance`` and one ``ferrier_<feature>`` per target; ``rank`` has ``pu_id``,
#: ``added``, ``importance``, ``rank`` and ``increment``.
IMPORTANCE_COLUMNS = ("pu_id", "added", "importance", "importance_low", "importance_high",
                      "importance_pct", "status", "gap", "seconds")

#: Relative tolerance under which a re-solve's plan counts as no better than the plan.
_BETTER_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Importance:
    """Per-unit importance of a plan (module docstring).

    Attributes
    ----------
    method : str
    table : pandas.DataFrame
        One row per planning unit (``pu.units`` order), columns `IMPORTANCE_COLUMNS`:
        ``pu_id``; ``added`` (the plan added it); ``importance``, ``importance_low``,
        ``importance_high`` (in the objective's unit; 0 for units not added; ``inf``
        where no plan exists without the unit); ``importance_pct`` (of ``|objective|``);
        ``status`` and ``gap`` of the unit's re-solve (empty and NaN where none ran);
        ``seconds`` of it.
    objective, bound : float
        The plan's objective (recomputed) and its proven bound.
    sense : str
        ``"min"`` or ``"max"``: the objective's sense (importance is a loss either way).
    gap : float
        The relative gap each re-solve was asked for.
    seconds : float
        Wall-clock seconds of the whole computation.
    notes : list of str
    steps : pandas.DataFrame, optional
        Rank importance: one row per budget increment (`importance_rank.RankResult`).
    """

    method: str
    table: pd.DataFrame
    objective: float
    bound: float
    sense: str
    gap: float
    seconds: float
    notes: list[str] = field(default_factory=list)
    steps: pd.DataFrame | None = None

    def summary(self) -> str:
        """One paragraph: how many units, the spread, the exactness.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
        >>> print(importance(p, gap=0.0).summary())  # doctest: +NORMALIZE_WHITESPACE
        replacement importance of 2 added units (objective 0.482759, max, each re-solve at
        gap 0): 0 units of importance 0; the largest 0.137931 (28.6% of the objective), the
        median 0.103448; exact (gap 0) for all 2.
        """
        if self.method == "ferrier":
            held = self.table[self.table["importance"] > 0]
            ones = int((self.table["importance"] >= 1.0 - 1e-9).sum())
            return (f"ferrier importance of the plan's units (objective {self.objective:.6g}, "
                    f"min set): {len(held):,} units score above 0, {ones:,} at least 1; the "
                    f"largest {self.table['importance'].max():.4g}.")
        if self.method == "rank":
            steps = self.steps if self.steps is not None else pd.DataFrame()
            n = len(steps)
            ranked = int((self.table["importance"] > 0).sum())
            skipped = int(steps["status"].isin(["infeasible"]).sum()) if n else 0
            return (f"rank importance of {int(self.table['added'].sum()):,} added units over "
                    f"{n} budget increments (each at gap {self.gap:g}): {ranked:,} ranked, "
                    f"{int(self.table['added'].sum()) - ranked:,} never taken"
                    + (f", {skipped} increments with no plan" if skipped else "") + ".")
        t = self.table[self.table["added"]]
        finite = t["importance"][np.isfinite(t["importance"])]
        exact = int(((t["importance_high"] - t["importance_low"]).abs() <= 1e-9
                     * max(1.0, abs(self.objective))).sum())
        parts = [f"{self.method} importance of {len(t):,} added units (objective "
                 f"{self.objective:.6g}, {self.sense}, each re-solve at gap {self.gap:g}):"]
        inf = int(np.isinf(t["importance"]).sum())
        if inf:
            parts.append(f"{inf:,} units with no plan without them;")
        if len(finite):
            parts.append(f"{int((finite <= 0).sum()):,} units of importance 0;")
            if (finite > 0).any():
                top = float(t["importance_pct"][np.isfinite(t["importance_pct"])].max())
                parts.append(f"the largest {finite.max():.6g} ({top:.3g}% of the objective), "
                             f"the median {finite.median():.6g};")
        else:
            parts.append("0 units of importance 0;")
        parts.append(f"exact (gap 0) for {exact:,} of {len(t):,}." if exact < len(t)
                     else f"exact (gap 0) for all {len(t):,}.")
        return " ".join(parts)

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
              inputs: list[Path] | None = None,
              extra: Callable[[Path], None] | None = None) -> Path:
        """Write ``importance.csv`` (the table) and ``importance.json`` (the facts) atomically;
        ``extra(folder)`` may add files to the same folder (the CLI's ``importance.tif``)."""

        def fill(folder: Path) -> None:
            if extra is not None:
                extra(folder)
            self.table.to_csv(folder / "importance.csv", index=False)
            facts: dict[str, Any] = {
                "method": self.method, "meaning": METHOD_MEANINGS[self.method],
                "objective": self.objective, "bound": self.bound, "sense": self.sense,
                "gap": self.gap if math.isfinite(self.gap) else None,
                "seconds": round(self.seconds, 3),
                "added_units": int(self.table["added"].sum()), "notes": self.notes,
                "definition": _DEFINITIONS[self.method]}
            if self.steps is not None:
                facts["increments"] = json.loads(self.steps.to_json(orient="records"))
            (folder / "importance.json").write_text(json.dumps(facts, indent=2) + "\n",
                                                    encoding="utf-8")

        return write_dir_atomic(out_dir, OUTPUT_KIND, fill, overwrite=overwrite,
                                inputs=inputs or [])


# ============================================================== the re-solves

def _resolve(col: int, shared: dict[str, Any]) -> tuple[int, float, float, str, float, float]:
    """Re-solve without ``x`` column ``col``: ``(col, objective, bound, status, gap, s)``;
    objective and bound ``inf`` (min sense; ``-inf`` max) when no plan exists. ``shared``:
    the model, the plan's ``x`` columns, the solver and its options (`map_tasks`)."""
    model: CompiledModel = shared["model"]
    x_cols: np.ndarray = shared["x_cols"]
    t = time.perf_counter()
    keep = np.delete(np.arange(model.n_x), col)
    v = x_cols.copy()
    v[col] = 0.0
    sub = model.restrict(keep, v)
    worst = math.inf if model.sense == "min" else -math.inf
    try:
        sol = solve_model(sub, shared["solver"], **shared["options"])
    except InfeasibleProblemError:
        return col, worst, worst, "infeasible", 0.0, time.perf_counter() - t
    values = sub.complete(sub.x_cols_of(sol.x))
    objective = sub.objective_value(values)  # recomputed from the plan
    return (col, objective, float(sol.bound), sol.status.value, float(sol.gap),
            time.perf_counter() - t)


def importance(
    problem: Problem,
    plan: Solution | np.ndarray | None = None,
    *,
    method: str = "replacement",
    solver: str = "auto",
    gap: float = 0.0,
    time_limit_per_unit: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressArg = False,
    increments: int = 10,
    prune: bool = True,
    units: Any = None,
) -> Importance:
    """Importance of each unit a plan adds (see the module docstring).

    Parameters
    ----------
    problem : Problem
    plan : Solution or numpy.ndarray, optional
        The plan (a `Solution` of ``problem``, or 0/1 per unit); None solves ``problem``
        first with the same ``solver`` and ``gap``. A plain array has no proven bound:
        the bounds then take the plan's objective as the optimum.
    method : {"replacement", "ferrier", "rank"}
        ``ferrier`` needs the min set objective (no re-solve: a closed form);
        ``rank`` solves ``increments`` problems, one after the other.
    solver : str
        Backend of every re-solve (`optimizer.solve`'s names; ``auto`` runs without its
        concurrent second solver when ``workers > 1``).
    gap : float
        Relative gap of every re-solve (0: exact replacement costs).
    time_limit_per_unit : float, optional
        Seconds per re-solve; a re-solve stopped by it keeps its plan and bound (the
        unit's ``importance_low``/``importance_high`` say how far apart they are).
    workers : int
        Local processes (forked; 1 = this process), or the workers of a Dask LocalCluster
        with ``scheduler="local"``.
    scheduler : str, optional
        ``"local"`` (a Dask LocalCluster) or a Dask scheduler's address
        (``tcp://host:8786``): the re-solves run there, the model sent once to each worker.
    progress : bool or callable
        A progress bar (True) or ``progress(fraction, stage)``.
    increments : int
        Rank importance: the number of budget increments (prioritizr's ``n``).
    prune : bool
        Replacement: skip the re-solve of a unit whose plan-without-it keeps every row and
        is within ``gap`` of the plan's proven bound (`importance_repair`: that plan is
        what the re-solve may return, proven by the plan's bound; status ``repaired``).
        Needs a `Solution` plan (a proven bound).
    units : sequence of pu_id, optional
        Replacement: the importance of these added units only (the others get 0 and no
        status); default every added unit.

    Returns
    -------
    Importance

    Raises
    ------
    InputDataError
        An unknown method, ``ferrier`` on another objective than min set, ``workers < 1``,
        ``increments < 1``, or a plan that does not fit the problem.
    InfeasibleProblemError
        ``plan`` is None and the problem has no plan.

    Examples
    --------
    Two cells of 1 km² for the most carbon stock: cells 4 and 5 (80 and 60 MgC of 290, so
    the objective is 140/290). Without cell 4 the best plan takes cells 5 and 2 (100 MgC),
    without cell 5 cells 4 and 2 (120 MgC):

    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> imp = importance(p, gap=0.0)
    >>> added = imp.table[imp.table["added"]]
    >>> added["pu_id"].tolist(), (added["importance"] * 290).round(6).tolist()
    ([4, 5], [40.0, 20.0])
    >>> added["importance_pct"].round(1).tolist()  # of the objective: 40/140 and 20/140
    [28.6, 14.3]
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise InputDataError(f"importance method must be one of {', '.join(METHODS)}; "
                             f"got {method!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputDataError(f"workers must be a whole number of processes, at least 1; "
                             f"got {workers!r}")
    if isinstance(increments, bool) or not isinstance(increments, int) or increments < 1:
        raise InputDataError(f"increments must be a whole number of budget steps, at least 1; "
                             f"got {increments!r}")
    kind = problem.objective.kind if problem.objective is not None else "none"
    if method == "ferrier" and kind != "min_set":
        raise InputDataError(f"importance method 'ferrier' needs the min set objective; this "
                             f"problem's objective is {kind!r}: use method='replacement' or "
                             "'rank'")
    check_solved_whole(problem, "importance()")  # its solves would ignore them
    model = compile(problem)
    options: dict[str, Any] = {"gap": gap}
    if time_limit_per_unit is not None:
        options["time_limit"] = time_limit_per_unit
    if solver == "auto" and (workers > 1 or scheduler is not None):
        options["concurrent"] = False  # the workers already take the cores
    if plan is None:
        plan = solve(problem, solver, model=model, **options)
    if isinstance(plan, Solution):
        x, bound = np.asarray(plan.x, dtype=np.float64), float(plan.bound)
    else:
        x, bound = np.asarray(plan, dtype=np.float64), math.nan
    proven = bool(np.isfinite(bound))
    if x.shape != (problem.n_units,) or not np.isin(x, (0.0, 1.0)).all():
        raise InputDataError(f"importance: the plan must hold 0 or 1 for each of the "
                             f"problem's {problem.n_units:,} units; got shape {x.shape}")
    x_cols = model.x_cols_of(x)
    z0 = model.objective_value(model.complete(x_cols))
    if model.max_violation(model.complete(x_cols)) > 1e-6:
        raise InputDataError("importance: the plan breaks a budget, target or lock of the "
                             "problem; pass a plan solved from this problem")
    if not np.isfinite(bound):
        bound = z0
    added = np.zeros(problem.n_units, dtype=bool)
    added[model.unit_of_col[:model.n_x][x_cols > 0.5]] = True
    if method == "ferrier":
        scores = ferrier_scores(problem, x)
        table = pd.concat([pd.DataFrame({"pu_id": np.asarray(model.unit_ids), "added": added}),
                           scores], axis=1)
        return Importance("ferrier", table, z0, bound, model.sense, math.nan,
                          time.perf_counter() - t0)
    if method == "rank":
        res = rank_increments(problem, x, increments, solver=solver, options=options,
                              progress=progress)
        rank = np.where(res.increment > 0, increments + 1 - res.increment, 0)
        table = pd.DataFrame({"pu_id": np.asarray(model.unit_ids), "added": added,
                              "importance": rank / increments, "rank": rank,
                              "increment": res.increment})
        notes = [f"increments spend {res.spend}; each solves the {res.objective_kind} "
                 "objective"]
        skipped = res.steps["increment"][res.steps["status"] == "infeasible"].tolist()
        if skipped:
            notes.append(f"increments {skipped} have no plan within their budget and the "
                         "plan's other constraints: no unit enters there")
        never = int((added & (res.increment == 0)).sum())
        if never:
            notes.append(f"{never:,} added units enter at no increment (the whole budget's "
                         "best plan does without them): rank 0")
        return Importance("rank", table, z0, bound, model.sense, gap,
                          time.perf_counter() - t0, notes, res.steps)
    cols = np.flatnonzero(x_cols > 0.5)
    if units is not None:
        wanted = np.isin(np.asarray(model.unit_ids)[model.unit_of_col[cols]], np.asarray(units))
        cols = cols[wanted]
    if scheduler is not None:
        scheduler = check_scheduler(scheduler, error=InputDataError)  # before any re-solve
    done: list[tuple[int, float, float, str, float, float]] = []
    notes = []
    if prune and proven and cols.size:
        r, ok = repaired_objectives(model, x_cols, cols)
        rel = np.abs(bound - r) / np.maximum(np.abs(r), 1e-9)
        skip = ok & (rel <= gap + 1e-15)
        k = int(skip.sum())
        done = list(zip(cols[skip].tolist(), r[skip].tolist(), [bound] * k, ["repaired"] * k,
                        rel[skip].tolist(), [0.0] * k, strict=True))
        if skip.any():
            notes.append(f"{int(skip.sum()):,} of {cols.size:,} units needed no re-solve: the "
                         f"plan without each keeps every row and is within the gap of "
                         f"{gap:g} of the plan's proven bound (status 'repaired')")
        cols = cols[~skip]
    results = _run(model, x_cols, cols, solver, options, workers, scheduler, progress)
    imp = _assemble(problem, model, x, x_cols, z0, bound, gap, done + results, t0)
    imp.notes[:0] = notes
    return imp


_DEFINITIONS = {
    "replacement": __doc__.split("\n\n")[2].strip(),
    "ferrier": (importance_ferrier.__doc__ or "").split("\n\n")[0].strip(),
    "rank": (importance_rank.__doc__ or "").split("\n\n")[1].strip(),
}


def _run(model: CompiledModel, x_cols: np.ndarray, cols: np.ndarray, solver: str,
         options: dict[str, Any], workers: int, scheduler: str | None, progress: ProgressArg
         ) -> list[tuple[int, float, float, str, float, float]]:
    shared = {"model": model, "x_cols": x_cols, "solver": solver, "options": options}
    tick, close = progress_ticker(progress, int(cols.size), desc="importance", unit="unit")

    def heard(res: tuple[int, float, float, str, float, float]) -> None:
        tick(f"unit {int(model.unit_ids[model.unit_of_col[res[0]]])}")

    def heard_here(res: tuple[int, float, float, str, float, float]) -> None:
        # Ctrl-C stops the running re-solve (the solver keeps its plan) and then the whole
        # computation: a table of some units only would rank them wrongly.
        if stop_requested():
            raise KeyboardInterrupt
        heard(res)

    try:
        if scheduler is None and (workers == 1 or cols.size <= 1):
            with stop_on_interrupt():
                return map_tasks(_resolve, cols.tolist(), shared, on_result=heard_here)
        return map_tasks(_resolve, cols.tolist(), shared, workers=workers, scheduler=scheduler,
                         error=InputDataError, on_result=heard)
    finally:
        close()


def _assemble(problem: Problem, model: CompiledModel, x: np.ndarray, x_cols: np.ndarray,
              z0: float, b0: float, gap: float,
              results: list[tuple[int, float, float, str, float, float]],
              t0: float) -> Importance:
    n = problem.n_units
    imp, low, high = np.zeros(n), np.zeros(n), np.zeros(n)
    status = np.full(n, "", dtype=object)
    gaps, secs = np.full(n, np.nan), np.full(n, np.nan)
    sign = 1.0 if model.sense == "min" else -1.0
    notes: list[str] = []
    if results:
        cols, zj, bj, st, g, s = (np.asarray(v) for v in zip(*results, strict=True))
        u = model.unit_of_col[cols.astype(np.int64)]
        zj, bj = zj.astype(np.float64), bj.astype(np.float64)
        status[u], gaps[u], secs[u] = st, g, s
        ok = np.isfinite(zj)  # else no plan without the unit: infinitely important
        with np.errstate(invalid="ignore"):  # inf - inf where there is no plan: replaced
            loss = np.where(ok, sign * (zj - z0), np.inf)
            imp[u] = np.maximum(loss, 0.0)
            high[u] = np.where(ok, np.maximum(sign * (zj - b0), imp[u]), np.inf)
            low[u] = np.where(ok, np.minimum(np.maximum(sign * (bj - z0), 0.0), imp[u]), np.inf)
        better = ok & (loss < -_BETTER_TOL * max(1.0, abs(z0)))
        if better.any():
            best = zj[better][np.argmin(sign * zj[better])]
            notes.append(f"a re-solve found a plan {abs(best - z0):.6g} better than the plan "
                         f"({best:.10g} against {z0:.10g}): the plan was not optimal; "
                         "solve it again with a smaller gap")
    done = np.isfinite(imp) & ~np.isnan(gaps)
    with np.errstate(invalid="ignore"):  # inf - inf of infinitely important units: not loose
        loose = done & (high - low > imp)
    if loose.any():  # the gap, not the unit, decides these values
        notes.append(f"for {int(loose.sum()):,} of {int(done.sum()):,} units the proven bounds "
                     "are wider than the importance itself (importance_low to importance_high): "
                     f"the gap of {gap:g} hides their order; rerun with a smaller gap to rank them")
    scale = max(abs(z0), 1e-300)
    pct = np.where(np.isfinite(imp), 100.0 * imp / scale, np.inf)
    table = pd.DataFrame({"pu_id": np.asarray(model.unit_ids), "added": x > 0.5, "importance": imp,
                          "importance_low": low, "importance_high": high,
                          "importance_pct": pct, "status": status, "gap": gaps,
                          "seconds": secs})
    # Locked-in units are in the plan but were never free: not "added", importance 0.
    table.loc[~np.isin(np.arange(n), model.unit_of_col[:model.n_x][x_cols > 0.5]), "added"] = False
    return Importance("replacement", table, z0, b0, model.sense, gap,
                      time.perf_counter() - t0, notes)
