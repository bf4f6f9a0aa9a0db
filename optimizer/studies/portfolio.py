"""A portfolio of distinct plans within a stated gap of the best, and how often each unit is chosen.

One optimal plan is one of many nearly as good; stakeholders negotiate over the others.
`portfolio` finds them as prioritizr's gap portfolio and Marxan's many runs are read, but
with a guarantee: plan 1 is the problem's best plan; plan k+1 is the best plan at Hamming
distance of at least ``min_distance`` free units from each of plans 1..k (one no-good row
per earlier plan, ``sum_j (1 - 2 v_j) x_j >= d - |v|`` for an earlier plan ``v``); the search
stops after ``n`` plans, or at the first plan further than ``gap`` from the best (that plan
is dropped: every plan kept is within ``gap`` of plan 1's objective, relative to it).

``frequency`` is each unit's share of the portfolio's plans that select it (locked-in units
1, locked-out 0): Marxan's selection frequency (``ssoln``) over distinct plans, each within
the gap. Objectives are recomputed from the plans (never the solver's word); each plan
keeps its own proven gap (``solve_gap``, 0 by default: each plan is then the best at its
distance, and "no further plan within the gap" is proven).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.atomic import write_dir_atomic
from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.contiguity import check_solved_whole
from optimizer.model.problem import Problem
from optimizer.plan.solving import solve, solve_model
from optimizer.progress import ProgressArg, progress_ticker
from optimizer.solvers.base import stop_on_interrupt, stop_requested
from optimizer.studies.metrics import with_row

__all__ = ["OUTPUT_KIND", "Portfolio", "assemble_portfolio", "portfolio"]

#: The kind of output folder `Portfolio.write` writes (`optimizer.atomic`'s marker).
OUTPUT_KIND = "portfolio"


@dataclass(frozen=True, eq=False)
class Portfolio:
    """Distinct plans within a gap of the best (module docstring).

    Attributes
    ----------
    plans : numpy.ndarray
        (plans x units) 0/1 selections, plan 1 first (``pu.units`` order).
    table : pandas.DataFrame
        One row per plan: ``plan`` (1, 2, ...), ``objective`` (recomputed),
        ``gap_to_best_pct`` (how much worse than plan 1, % of ``|objective_1|``; 0 for a
        plan at least as good, which a ``solve_gap`` above 0 allows),
        ``nearest_distance`` (free units differing from the nearest other plan),
        ``new_km2``, ``status`` and ``gap`` (the plan's own proven gap).
    frequency : pandas.DataFrame
        ``pu_id`` and ``frequency`` (share of the plans selecting the unit, 0-1).
    gap, min_distance : float, int
        What was asked.
    complete : bool
        Whether ``n`` plans were found (False: fewer exist within the gap, or the
        time ran out; ``why`` says which).
    why : str
    seconds : float
    interrupted : bool
        True when the user stopped the search (Ctrl-C): the plans before are kept.
    """

    plans: np.ndarray
    table: pd.DataFrame
    frequency: pd.DataFrame
    gap: float
    min_distance: int
    complete: bool
    why: str
    seconds: float
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One paragraph: plans found, spread of objectives, frequency.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
        >>> print(portfolio(p, 3, gap=0.5).summary())  # doctest: +NORMALIZE_WHITESPACE
        3 distinct plans within 50% of the best (each at least 1 unit from the others):
        objectives 0.482759 to 0.344828 (0% to 28.6% below the best); 1 unit in every plan,
        3 in some but not all.
        """
        t = self.table
        freq = self.frequency["frequency"].to_numpy()
        always = int((freq >= 1 - 1e-12).sum())
        some = int(((freq > 1e-12) & (freq < 1 - 1e-12)).sum())
        head = (f"{len(t):,} distinct plans within {100 * self.gap:g}% of the best (each at "
                f"least {self.min_distance:,} unit{'s' if self.min_distance != 1 else ''} from "
                "the others):")
        worst = t["objective"].iloc[int(t["gap_to_best_pct"].to_numpy().argmax())]
        body = (f"objectives {t['objective'].iloc[0]:.6g} to {worst:.6g} "
                f"({t['gap_to_best_pct'].min():.3g}% to {t['gap_to_best_pct'].max():.3g}% "
                f"below the best); {always:,} unit{'' if always == 1 else 's'} in every plan, "
                f"{some:,} in some but not all.")
        tail = "" if self.complete else f" Fewer than asked: {self.why}."
        return f"{head} {body}{tail}"

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
              inputs: list[Path] | None = None) -> Path:
        """Write ``portfolio.csv`` (the plans' table), ``frequency.csv`` (per unit, with one
        0/1 column per plan) and ``portfolio.json`` (the facts), atomically."""

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "portfolio.csv", index=False)
            per_unit = self.frequency.copy()
            for k in range(self.plans.shape[0]):
                per_unit[f"plan_{k + 1}"] = self.plans[k].astype(np.int8)
            per_unit.to_csv(folder / "frequency.csv", index=False)
            facts = {"plans": int(self.plans.shape[0]), "gap": self.gap,
                     "interrupted": self.interrupted,
                     "min_distance": self.min_distance, "complete": self.complete,
                     "why": self.why, "seconds": round(self.seconds, 3), "notes": self.notes,
                     "definition": __doc__.split("\n\n")[1].strip()}
            (folder / "portfolio.json").write_text(json.dumps(facts, indent=2) + "\n",
                                                   encoding="utf-8")

        return write_dir_atomic(out_dir, OUTPUT_KIND, fill, overwrite=overwrite,
                                inputs=inputs or [])


def _worse(sense: str, value: float, best: float) -> float:
    """How much worse ``value`` is than ``best``, relative to ``|best|`` (0 when better)."""
    d = (best - value) if sense == "max" else (value - best)
    return max(d, 0.0) / max(abs(best), 1e-300)


def portfolio(
    problem: Problem,
    n: int,
    *,
    gap: float = 0.02,
    min_distance: int = 1,
    solver: str = "auto",
    solve_gap: float = 0.0,
    time_limit_per_plan: float | None = None,
    progress: ProgressArg = False,
) -> Portfolio:
    """Up to ``n`` distinct plans within ``gap`` of the best (see the module docstring).

    Parameters
    ----------
    problem : Problem
    n : int
        Plans wanted (at least 1).
    gap : float
        Largest relative distance of a kept plan's objective from plan 1's (0.02 = 2%).
    min_distance : int
        Least number of free units in which every two plans differ (Hamming distance).
    solver : str
        Backend of every solve.
    solve_gap : float
        Relative gap of each solve (0: each plan the best at its distance).
    time_limit_per_plan : float, optional
        Seconds per solve; a solve without a plan in time ends the portfolio.
    progress : bool or callable
        A progress bar (True) or ``progress(fraction, stage)``.

    Returns
    -------
    Portfolio

    Raises
    ------
    InputDataError
        ``n`` below 1, ``gap`` negative or ``min_distance`` below 1.
    InfeasibleProblemError
        The problem has no plan.

    Examples
    --------
    Two cells for the most carbon: cells 4 and 5 hold 140 of 290 MgC; the next best
    distinct plans hold 120 (cells 2 and 4) and 100 (cells 2 and 5):

    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> pf = portfolio(p, 3, gap=0.5)
    >>> (pf.table["objective"] * 290).round(6).tolist(), pf.table["gap_to_best_pct"].round(1).tolist()
    ([140.0, 120.0, 100.0], [0.0, 14.3, 28.6])
    >>> pf.frequency["frequency"].round(3).tolist()  # cell 1 is locked in (existing)
    [1.0, 0.667, 0.0, 0.667, 0.667, 0.0]
    """
    t0 = time.perf_counter()
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputDataError(f"portfolio: n must be a whole number of plans, at least 1; got {n!r}")
    if not np.isfinite(gap) or gap < 0:
        raise InputDataError(f"portfolio: gap must be a share of the best objective, >= 0 "
                             f"(0.02 = 2%); got {gap!r}")
    if isinstance(min_distance, bool) or not isinstance(min_distance, int | np.integer) \
            or min_distance < 1:
        raise InputDataError(f"portfolio: min_distance must be a whole number of units, at "
                             f"least 1; got {min_distance!r}")
    check_solved_whole(problem, "portfolio()")  # its solves would ignore them
    model = compile(problem)
    options: dict[str, Any] = {"gap": solve_gap}
    if time_limit_per_plan is not None:
        options["time_limit"] = time_limit_per_plan
    tick, close = progress_ticker(progress, int(n), desc="portfolio", unit="plan")
    try:
        with stop_on_interrupt():  # Ctrl-C: the plans found so far are kept
            first = solve(problem, solver, model=model, **options)
            plans_cols = [model.x_cols_of(first.x)]
            objectives = [model.objective_value(model.complete(plans_cols[0]))]
            statuses, gaps = [first.status.value], [float(first.gap)]
            tick("plan 1")
            complete, why = (False, "stopped (Ctrl-C) at plan 1") if stop_requested() else \
                _more_plans(model, plans_cols, objectives, statuses, gaps, n, gap,
                            min_distance, solver, options, tick)
            interrupted = stop_requested()
    finally:
        close()
    pf = assemble_portfolio(problem, model, plans_cols, objectives, statuses, gaps, gap,
                            min_distance, complete, why, time.perf_counter() - t0)
    return dataclasses.replace(pf, interrupted=interrupted)


def _more_plans(model: CompiledModel, plans_cols: list[np.ndarray], objectives: list[float],
                statuses: list[str], gaps: list[float], n: int, gap: float, min_distance: int,
                solver: str, options: dict[str, Any], tick: Callable[[str], None]
                ) -> tuple[bool, str]:
    """Plans 2..n appended to the lists: whether all n were found, and why not."""
    current = model
    while len(plans_cols) < n:
        v = plans_cols[-1]
        current = with_row(current, 1.0 - 2.0 * v, float(min_distance - v.sum()),
                           label=f"distinct_from_plan_{len(plans_cols)}")
        try:
            sol = solve_model(current, solver, **options)
        except InfeasibleProblemError:
            return False, (f"no other plan is {min_distance:,} units or more from the "
                           f"{len(plans_cols):,} found")
        if stop_requested():  # Ctrl-C: that solve's plan is not proven; keep those before
            return False, f"stopped (Ctrl-C) after {len(plans_cols):,} plans"
        x = current.x_cols_of(sol.x)
        obj = model.objective_value(model.complete(x))
        if _worse(model.sense, obj, objectives[0]) > gap + 1e-12:
            proven = _worse(model.sense, float(sol.bound), objectives[0]) > gap + 1e-12
            return False, (f"the best plan distinct from the {len(plans_cols):,} found is "
                           f"{100 * _worse(model.sense, obj, objectives[0]):.3g}% from the best, "
                           "past the gap" + ("" if proven else
                                             " (not proven: its own bound is within the gap; "
                                             "lower solve_gap)"))
        plans_cols.append(x)
        objectives.append(obj)
        statuses.append(sol.status.value)
        gaps.append(float(sol.gap))
        tick(f"plan {len(plans_cols)}")
    return True, ""


def assemble_portfolio(problem: Problem, model: CompiledModel, plans_cols: list[np.ndarray],
                       objectives: list[float], statuses: list[str], gaps: list[float],
                       gap: float, min_distance: int, complete: bool, why: str,
                       seconds: float) -> Portfolio:
    """The `Portfolio` of plans given by their ``x`` columns (plan 1 the reference of
    ``gap_to_best_pct``): tables, frequency and nearest distances."""
    cols = np.vstack(plans_cols)
    plans = np.vstack([model.unit_x(model.complete(c)) for c in plans_cols])
    diff = (cols[:, None, :] != cols[None, :, :]).sum(axis=2)  # plans x plans
    np.fill_diagonal(diff, np.iinfo(np.int64).max)
    nearest = diff.min(axis=1) if len(plans_cols) > 1 else np.array([0])
    best = objectives[0]
    table = pd.DataFrame({
        "plan": np.arange(1, len(plans_cols) + 1),
        "objective": objectives,
        "gap_to_best_pct": [100 * _worse(model.sense, z, best) for z in objectives],
        "nearest_distance": nearest.astype(np.int64),
        "new_km2": plans @ problem.unprotected_km2,
        "status": statuses, "gap": gaps})
    frequency = pd.DataFrame({"pu_id": np.asarray(model.unit_ids),
                              "frequency": plans.mean(axis=0)})
    return Portfolio(plans, table, frequency, gap, int(min_distance), complete, why, seconds)
