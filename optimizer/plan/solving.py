"""Solve a problem, or a compiled model, and explain why a problem has no plan.

* `solve` - diagnose, compile, solve with a backend; an infeasible problem
  raises `InfeasibleProblemError` with a message naming the constraint at fault.
* `solve_model` - the solving part of `solve` on a `CompiledModel` alone (a backend by
  name, Ctrl-C, the gap asked recorded, an infeasible answer explained by the caller's
  ``explain``): what ``carbonpark marxan`` runs on a model compiled straight from the
  project's tables (`optimizer.io.marxan.model`), with no `Problem` and no pandas.
* `diagnose` - checks that need no solver (locked-in area over a budget, targets
  out of reach outside locked-out units, minimum areas out of reach); with
  ``after_solve=True`` also what the total budget allows for each target.

No pandas here: `optimizer.plan.results` (the evaluation tables) re-exports `solve` and
`diagnose`.
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import Block, CompiledModel, budget_coefficients, compile
from optimizer.model.connectivity import adjacency
from optimizer.model.contiguity import park_cuts, repair_parks
from optimizer.model.objectives import objective_kind
from optimizer.model.problem import Problem
from optimizer.solvers import get_solver
from optimizer.solvers.base import (
    Solution,
    Solver,
    SolveStatus,
    better,
    proven_status,
    relative_gap,
    stop_on_interrupt,
)

# ============================================================== solve

def solve(problem: Problem, solver: str | Solver = "auto", *, model: CompiledModel | None = None,
          **options: Any) -> Solution:
    """Solve a problem and return its `Solution` (status is data).

    Parameters
    ----------
    problem : Problem
    solver : str or Solver
        ``"auto"`` (default: `optimizer.solvers.auto.choose` picks by the model's
        structure, HiGHS without a boundary penalty, the cut solver and HiGHS at once
        with one on two cores; ``info["auto"]`` says what and why), ``"highs"``,
        ``"cut"`` (graph-cut Lagrangian solver for boundary penalties), ``"pulp"``,
        ``"pulp:<pulp solver>"`` or a solver object.
    model : CompiledModel, optional
        ``compile(problem)``, when the caller has it already: it is not compiled again
        (at national size a compile costs seconds and ~1 GB). It must be the compiled
        form of ``problem``; its shape is checked against the problem.
    **options
        Passed to the solver (e.g. ``time_limit=60``, ``gap=0.001``, ``strategy="mip"``,
        ``concurrent=False`` for ``auto``).

    Returns
    -------
    Solution
        Its ``info["boundary_penalty"]`` is the problem's boundary penalty (0 without
        one), so a plan is scored at the penalty it was solved with (`marxan_score`).

    Raises
    ------
    InfeasibleProblemError
        No plan meets every budget, target and lock; the message names the cause.
    SolverError
        The solver found no plan (e.g. time limit without a solution).

    Examples
    --------
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    >>> sol = solve(p, gap=0.0)
    >>> sol.describe(), sol.objective
    ('optimal (proven gap 0)', 2.0)
    """
    found = diagnose(problem)
    if found:
        raise InfeasibleProblemError("; ".join(found))
    if model is None:
        model = compile(problem)
    elif not isinstance(model, CompiledModel) or model.n_units != problem.n_units or (
            problem.objective is not None
            and model.sense != objective_kind(problem.objective.kind).sense):
        raise InputDataError("solve(): model= must be compile(problem) of this problem; got "
                             + (f"a model of {model.n_units} units ({model.sense})"
                                if isinstance(model, CompiledModel) else type(model).__name__)
                             + f" for a problem of {problem.n_units} units; leave model= out "
                             "to compile here")
    bp = problem.boundary_penalty
    if problem.park_constraint is not None:
        return solve_with_park_cuts(problem, model, solver, **options)
    return solve_model(model, solver, boundary_penalty=bp.penalty if bp is not None else 0.0,
                       explain=lambda: diagnose(problem, after_solve=True)
                       + spatial_causes(problem), **options)


def spatial_causes(problem: Problem) -> list[str]:
    """What the spatial constraints may contribute to a problem with no plan (for `solve`'s
    infeasible message; `diagnose` checks the budgets, targets and locks)."""
    out = []
    nc = problem.neighbour_constraint
    if nc is not None:
        out.append(f"the neighbour constraints (k={nc.k}) may be at fault: every selected unit, "
                   f"existing protection included, needs {nc.k} selected neighbours; lower k "
                   "or raise the budget")
    return out


def solve_with_park_cuts(problem: Problem, model: CompiledModel, solver: str | Solver = "auto",
                         **options: Any) -> Solution:
    """Solve a problem with contiguity or minimum park constraints by row generation
    (`optimizer.model.contiguity`): solve, cut off the plan's offending components, re-solve,
    until the plan breaks none. Every round solves a relaxation, so each round's bound holds;
    the answer is the last round's plan, its gap against the tightest bound. With
    ``time_limit``, the rounds share it. Each round's plan mended by removals
    (`optimizer.model.contiguity.repair_parks`: its other components, its small parks) is an
    incumbent when it holds every row of the model; the solve returns it as soon as the
    bound proves it within the gap, or when the time runs out (``info["park_repaired"]``
    says why). Only without any such plan does an expired limit raise `SolverError` (no
    plan breaking the constraints is ever returned).

    ``info`` gains ``park_cut_rounds`` and ``park_cuts`` (rows added).
    """
    limit = options.pop("time_limit", None)
    started = time.perf_counter()
    bp = problem.boundary_penalty
    free_idx = model.unit_of_col[:model.n_x]
    base = model  # the model without cuts: a repaired plan must hold its rows
    unit_value = np.zeros(model.n_units)
    unit_value[free_idx] = model.c[:model.n_x] * (1.0 if model.sense == "max" else -1.0)
    want_gap = float(options.get("gap", getattr(solver, "gap", 1e-4)))
    best_bound = np.nan
    incumbent: tuple[float, np.ndarray, Solution] | None = None  # a repaired plan
    rounds = cuts = 0

    def from_incumbent(why: str) -> Solution:
        assert incumbent is not None
        obj, x_rep, sol_at = incumbent
        gap = relative_gap(obj, best_bound)
        status = proven_status(SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= want_gap
                               + 1e-12 else SolveStatus.FEASIBLE, gap)
        return dataclasses.replace(
            sol_at, x=x_rep, objective=obj, values=model.complete(model.x_cols_of(x_rep)),
            bound=best_bound, gap=gap, status=status, runtime=time.perf_counter() - started,
            info={**sol_at.info, "park_cut_rounds": rounds, "park_cuts": cuts,
                  "park_repaired": why})

    while True:
        rounds += 1
        left = None if limit is None else limit - (time.perf_counter() - started)
        if left is not None and left <= 0 and rounds > 1:
            if incumbent is not None:  # anytime: the best repaired plan, with its gap
                return from_incumbent(f"time limit after {rounds - 1} rounds")
            raise SolverError(f"no plan meeting the park constraints within time_limit={limit:g}"
                              f" s ({rounds - 1} rounds, {cuts} cuts, bound {best_bound:.6g}); "
                              "raise time_limit")
        opts = options if left is None else {**options, "time_limit": max(left, 0.5)}
        try:
            sol = solve_model(model, solver, boundary_penalty=bp.penalty if bp else 0.0,
                              explain=lambda: diagnose(problem, after_solve=True)
                              + spatial_causes(problem), **opts)
        except InfeasibleProblemError as exc:
            raise InfeasibleProblemError(f"{exc} (with the park constraints: {cuts} cuts after "
                                         f"{rounds - 1} rounds)") from None
        if np.isfinite(sol.bound):
            tighter = min if model.sense == "max" else max
            best_bound = sol.bound if not np.isfinite(best_bound) else tighter(best_bound,
                                                                               sol.bound)
        found = park_cuts(problem, free_idx, sol.x)
        if found is not None:  # mend the plan by removals, then regrow: an incumbent
            x_rep = repair_parks(problem, sol.x, unit_value)
            if x_rep is not None:
                x_rep = grow_plan(base, problem, x_rep, unit_value)
            if x_rep is not None and park_cuts(problem, free_idx, x_rep) is None:
                values = base.complete(base.x_cols_of(x_rep))
                obj = base.objective_value(values)
                if base.max_violation(values) <= 1e-7 and (
                        incumbent is None or better(model, obj, incumbent[0])):
                    incumbent = (obj, x_rep, sol)
            if incumbent is not None and np.isfinite(best_bound) and \
                    relative_gap(incumbent[0], best_bound) <= want_gap + 1e-12:
                return from_incumbent(f"within the gap of the bound after {rounds} rounds")
        if found is None and incumbent is not None and better(model, incumbent[0],
                                                              sol.objective):
            return from_incumbent(f"better than the last round's plan ({rounds} rounds)")
        if found is None:
            gap = relative_gap(sol.objective, best_bound)
            status = proven_status(sol.status, gap) if np.isfinite(gap) else sol.status
            return dataclasses.replace(
                sol, bound=best_bound if np.isfinite(best_bound) else sol.bound,
                gap=gap if np.isfinite(gap) else sol.gap, status=status,
                runtime=time.perf_counter() - started,
                info={**sol.info, "park_cut_rounds": rounds, "park_cuts": cuts})
        rows, lower = found
        model = with_rows(model, rows, lower)
        cuts += rows.shape[0]


def grow_plan(model: CompiledModel, problem: Problem, x: np.ndarray,
              unit_value: np.ndarray) -> np.ndarray:
    """``x`` (per unit, 0/1) grown by free neighbours of its selected units, best
    ``unit_value`` first, while each fits every upper row of ``model``'s structural rows
    (budgets): a mended park plan regains the budget its removals freed without breaking
    contiguity (a neighbour joins a park) or a minimum park size (parks only grow).

    A heuristic for `solve_with_park_cuts`' incumbents: one unit at a time through a heap
    (each step reads one column), at most the units the budget has room for.
    """
    adj = adjacency(problem.pu)
    nx = model.n_x
    cols_of_unit = np.full(model.n_units, -1, dtype=np.int64)
    cols_of_unit[model.unit_of_col[:nx]] = np.arange(nx)
    stop = next((b.start for b in model.row_blocks if b.kind in ("product", "boundary")),
                model.n_rows)
    A = model.A[:stop, :nx].tocsc()
    upper = model.row_upper[:stop]
    x = np.asarray(x, dtype=np.float64).copy()
    act = A @ x[model.unit_of_col[:nx]]
    tol = 1e-9 * np.maximum(np.abs(upper), 1.0)
    on = x > 0.5
    near = np.flatnonzero((adj @ on.astype(np.float64) > 0) & ~on & (cols_of_unit >= 0)
                          & (unit_value > 0))
    heap = [(-float(unit_value[u]), int(u)) for u in near]
    heapq.heapify(heap)
    while heap:
        _, u = heapq.heappop(heap)
        if on[u]:
            continue
        j = int(cols_of_unit[u])
        lo, hi = A.indptr[j], A.indptr[j + 1]
        rows, vals = A.indices[lo:hi], A.data[lo:hi]
        if np.any(act[rows] + vals > upper[rows] + tol[rows]):
            continue
        act[rows] += vals
        on[u] = True
        x[u] = 1.0
        for v in adj.indices[adj.indptr[u]:adj.indptr[u + 1]]:
            if not on[v] and cols_of_unit[v] >= 0 and unit_value[v] > 0:
                heapq.heappush(heap, (-float(unit_value[v]), int(v)))
    return x


def with_rows(model: CompiledModel, rows: sp.csr_matrix, lower: np.ndarray, *,
              upper: np.ndarray | None = None, kind: str = "park",
              labels: tuple[str, ...] = ()) -> CompiledModel:
    """``model`` with rows ``lower <= rows @ x <= upper`` (over its ``x`` columns; ``upper``
    default ``inf``) in block ``kind``, before the ``product`` and boundary rows (extending a
    block of that kind ending there); every block after them moves down. ``labels`` name
    the rows (`CompiledModel.row_names`). The one way rows are added to a compiled model:
    the park cuts here, the frontier's ε rows and the portfolio's no-good rows
    (`optimizer.studies.metrics.with_row`)."""
    m = rows.shape[0]
    at = next((b.start for b in model.row_blocks if b.kind in ("product", "boundary")),
              model.n_rows)
    full = sp.hstack([rows, sp.csr_matrix((m, model.n_cols - model.n_x))], format="csr")
    A = sp.vstack([model.A[:at], full, model.A[at:]], format="csr")
    A.sort_indices()
    blocks = []
    extended = False
    for b in model.row_blocks:
        if b.kind == kind and b.stop == at:
            blocks.append(Block(kind, b.start, b.stop + m, b.labels + labels))
            extended = True
        elif b.start >= at:
            blocks.append(Block(b.kind, b.start + m, b.stop + m, b.labels))
        else:
            blocks.append(b)
    if not extended:
        blocks.append(Block(kind, at, at + m, labels))
        blocks.sort(key=lambda b: b.start)
    return dataclasses.replace(
        model, A=A, row_blocks=tuple(blocks),
        row_lower=np.insert(model.row_lower, at, lower),
        row_upper=np.insert(model.row_upper, at, np.full(m, np.inf) if upper is None
                            else upper))


def solve_model(model: CompiledModel, solver: str | Solver = "auto", *,
                boundary_penalty: float = 0.0,
                explain: Callable[[], list[str]] | None = None, **options: Any) -> Solution:
    """Solve a compiled model: the solving part of `solve`, with no `Problem`.

    Parameters
    ----------
    model : CompiledModel
    solver : str or Solver
        As `solve`'s.
    boundary_penalty : float
        The boundary penalty ``model`` was compiled with, recorded in the solution's
        ``info["boundary_penalty"]`` (`solve` passes its problem's; 0 without one).
    explain : callable, optional
        Called when the backend finds no plan: the causes it returns (e.g.
        ``diagnose(problem, after_solve=True)``) end the `InfeasibleProblemError`'s
        message.
    **options
        Passed to the solver, as `solve`'s.

    Returns
    -------
    Solution

    Raises
    ------
    InfeasibleProblemError
        No plan meets every row; the message ends with ``explain``'s causes.
    SolverError
        The solver found no plan (e.g. time limit without a solution).

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
    >>> sol = solve_model(compile(p), "highs", gap=0.0)
    >>> sol.objective, sol.info["boundary_penalty"]
    (2.0, 0.0)
    """
    if isinstance(solver, str):
        backend = get_solver(solver, **options)
    elif options:
        raise InputDataError("solve(): options go with a solver name; configure a solver "
                             "object directly")
    else:
        backend = solver
    try:
        with stop_on_interrupt():
            sol = backend.solve(model)
    except InfeasibleProblemError as exc:
        causes = explain() if explain is not None else []
        reason = "; ".join(causes) if causes else (
            "no single budget, target or lock is at fault: the targets and budgets cannot "
            "all be met together; relax a target or raise a budget")
        raise InfeasibleProblemError(f"{exc}: {reason}") from None
    requested = getattr(backend, "gap", None)
    if requested is not None and not np.isfinite(sol.requested_gap):
        sol = dataclasses.replace(sol, requested_gap=float(requested))
    return dataclasses.replace(sol, info={**sol.info, "boundary_penalty": boundary_penalty})


# ============================================================== diagnosis

def diagnose(problem: Problem, *, after_solve: bool = False) -> list[str]:
    """Reasons the problem cannot have a plan (empty when none is evident).

    Unreachable targets come worst first (lowest reachable share of the target);
    more than five are summarised in one reason naming the worst five with their
    maximum reachable amounts and counting the rest.

    Parameters
    ----------
    problem : Problem
    after_solve : bool
        Also check each target against the total budget (a fractional
        knapsack bound: the best any plan within the budget could hold).

    Examples
    --------
    >>> from optimizer import problem, diagnose
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_absolute_targets({"sp_b": 3})
    >>> diagnose(p)
    ["feature 'sp_b' can reach at most 2 km2 outside locked-out units; its target is 3 km2"]
    """
    found: list[str] = []
    locked_in, locked_out = problem.locked_masks()
    possible = ~locked_out
    unprotected = 1.0 - problem.protected_fraction
    for b in problem.budgets:
        coef = budget_coefficients(problem, b.scope, b.name, unprotected)
        locked = float(coef[locked_in].sum())
        if locked > b.max_km2 * (1 + 1e-9) + 1e-9:
            where = "" if b.scope == "total" else f" in {b.label}"
            found.append(f"locked-in area{where} {locked:,.1f} km² exceeds the budget of "
                         f"{b.max_km2:,.1f} km²; raise the budget or unlock units")
        reach = float(coef[possible].sum())
        if reach < b.min_km2 * (1 - 1e-9) - 1e-9:
            found.append(f"{b.label} can add at most {reach:,.1f} km² outside locked-out units; "
                         f"its minimum is {b.min_km2:,.1f} km²")
    soft = problem.objective is not None and objective_kind(problem.objective.kind).soft_targets
    if soft or not problem.targets:  # a plan may miss soft targets
        return found
    feats = problem.target_features()
    # One feature at a time: no dense features x units matrix at national size.
    totals, held_before, reachable = (np.zeros(len(feats)) for _ in range(3))
    for k, f in enumerate(feats):
        r = problem.feature_amount(f)
        totals[k] = r.sum()
        held_before[k] = r @ problem.protected_fraction
        reachable[k] = held_before[k] + (r * unprotected)[possible].sum()
    short = [(k, float(r)) for k, (t, r) in enumerate(zip(problem.targets, reachable, strict=True))
             if r < t.amount * (1 - 1e-9) - 1e-12]
    found += _target_reasons(problem, short, totals, "outside locked-out units",
                             "relax these targets or unlock units")
    budget = problem.total_budget()
    if after_solve and not found and budget is not None and np.isfinite(budget.max_km2):
        area = problem.unprotected_km2
        free = possible & ~locked_in
        spent = budget_coefficients(problem, budget.scope, budget.name, unprotected)
        room = budget.max_km2 - float(spent[locked_in].sum())
        short = []
        for k, t in enumerate(problem.targets):
            gain = problem.feature_amount(t.feature) * unprotected
            best = held_before[k] + gain[locked_in].sum() + _knapsack(
                gain[free], area[free], room)
            if best < t.amount * (1 - 1e-9) - 1e-12:
                short.append((k, float(best)))
        found += _target_reasons(problem, short, totals,
                                 f"within the budget of {budget.max_km2:,.1f} km²",
                                 "relax these targets or raise the budget")
    return found


#: Unreachable targets named one by one; past this, the worst are listed and the rest counted.
_MAX_LISTED_TARGETS = 5


def _target_reasons(problem: Problem, short: list[tuple[int, float]], totals: np.ndarray,
                    where: str, fix: str) -> list[str]:
    """Messages for targets that can reach at most ``best`` (pairs of target index, best).

    Worst first (lowest share of its target reachable). A few targets get a sentence
    each; many (e.g. hundreds of species) get one sentence listing the worst few with
    their maximum reachable amounts, and how many more there are.
    """
    targets = problem.targets

    def reach(k: int, best: float) -> str:
        t = targets[k]
        return _amount(problem, t.feature, best, totals[k], t.relative)

    def target(k: int) -> str:
        t = targets[k]
        return _amount(problem, t.feature, t.amount, totals[k], t.relative)

    ratio = np.array([best / targets[k].amount if targets[k].amount > 0 else 1.0 for k, best in short])
    short = [short[i] for i in np.argsort(ratio, kind="stable")]  # worst first
    if len(short) <= _MAX_LISTED_TARGETS:
        return [f"{_label(problem, targets[k].feature)} can reach at most {reach(k, best)} {where}; "
                f"its target is {target(k)}" for k, best in short]
    worst = short[:_MAX_LISTED_TARGETS]
    listed = ", ".join(f"{_label(problem, targets[k].feature)} at most {reach(k, best)} "
                       f"(target {target(k)})" for k, best in worst)
    more = len(short) - len(worst)
    return [f"{len(short)} targets cannot be met {where}; worst: {listed} and {more} more; {fix}"]


def _knapsack(value: np.ndarray, weight: np.ndarray, capacity: float) -> float:
    """Most value a fractional selection of capacity ``capacity`` holds (LP bound)."""
    if capacity <= 0:
        return float(value[weight <= 0].clip(min=0).sum())
    free = weight <= 0
    total = float(value[free].clip(min=0).sum())
    v, w = value[~free], weight[~free]
    order = np.argsort(-v / w)
    v, w = v[order], w[order]
    keep = v > 0
    v, w = v[keep], w[keep]
    cum = np.cumsum(w)
    full = cum <= capacity
    total += float(v[full].sum())
    k = int(full.sum())
    if k < v.size:
        left = capacity - (cum[k - 1] if k else 0.0)
        total += float(v[k] * left / w[k])
    return total


def _label(problem: Problem, feature: str) -> str:
    label = problem.pu.features.loc[feature, "label"] if feature in problem.pu.features.index \
        else ""
    return f"feature {feature!r}" + (f" ({label})" if label and label != feature else "")


def _amount(problem: Problem, feature: str, amount: float, total: float,
            relative: float | None = None) -> str:
    """An amount as a share of the feature's total for relative targets, else with its unit."""
    if relative is not None:
        return f"{amount / total:.1%}" if total > 0 else f"{relative:.1%}"
    unit = problem.pu.features.loc[feature, "unit"] if feature in problem.pu.features.index \
        else ""
    return f"{amount:,.4g} {unit}".strip()


