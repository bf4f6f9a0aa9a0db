"""Solve a problem, evaluate a plan, and explain why a problem has no plan.

* `solve` - diagnose, compile, solve with a backend; an infeasible problem
  raises `InfeasibleProblemError` with a message naming the constraint at fault.
* Evaluation (DataFrames): `feature_representation` (held before/after, target,
  met), `budget_use`, `cost_budget_use`, `boundary_length`, `unit_counts`; `objective_value`
  recomputes a plan's objective from the problem's parts.
* `diagnose` - checks that need no solver (locked-in area over a budget, targets
  out of reach outside locked-out units, minimum areas out of reach); with
  ``after_solve=True`` also what the total budget allows for each target.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.inputs.roles import feature_roles
from optimizer.model.compile import CompiledModel, budget_coefficients, compile
from optimizer.model.costs import cost_budget_coefficients
from optimizer.model.objectives import objective_kind
from optimizer.model.problem import Problem
from optimizer.solvers import get_solver
from optimizer.solvers.base import Solution, Solver, SolveStatus, stop_on_interrupt

__all__ = [
    "Solution",
    "SolveStatus",
    "boundary_length",
    "budget_use",
    "cost_budget_use",
    "diagnose",
    "feature_representation",
    "objective_value",
    "patch_labels",
    "patches",
    "selection",
    "solve",
    "unit_counts",
    "unit_status",
]


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
        causes = diagnose(problem, after_solve=True)
        reason = "; ".join(causes) if causes else (
            "no single budget, target or lock is at fault: the targets and budgets cannot "
            "all be met together; relax a target or raise a budget")
        raise InfeasibleProblemError(f"{exc}: {reason}") from None
    requested = getattr(backend, "gap", None)
    if requested is not None and not np.isfinite(sol.requested_gap):
        sol = dataclasses.replace(sol, requested_gap=float(requested))
    bp = problem.boundary_penalty
    return dataclasses.replace(sol, info={**sol.info,
                                          "boundary_penalty": bp.penalty if bp is not None else 0.0})


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


# ============================================================== evaluation

def selection(problem: Problem, solution: Solution | np.ndarray) -> np.ndarray:
    """The selection array ``x`` (one value per unit) of a plan or an array, checked in length.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2)
    >>> selection(p, [1, 0, 0, 0, 0, 1]).tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    x = solution.x if isinstance(solution, Solution) else np.asarray(solution, dtype=np.float64)
    if x.shape != (problem.n_units,):
        raise InputDataError(f"solution has {x.shape} values; expected ({problem.n_units},), one "
                             "per unit")
    return x


def feature_representation(problem: Problem, solution: Solution | np.ndarray,
                           features: list[str] | None = None) -> pd.DataFrame:
    """How much of each feature is held before and after the plan, against its target.

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``feature``, ``role``, ``unit``, ``total``,
        ``held_before`` (existing protection), ``held_after`` (with the plan),
        ``share_before``, ``share_after``, ``target`` (amount, NaN if none),
        ``target_share`` and ``met``.

    Examples
    --------
    >>> from optimizer import problem, solve, feature_representation
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> rep = feature_representation(p, solve(p))
    >>> print(rep[["feature", "share_before", "share_after"]].round(4).to_string(index=False))
    feature  share_before  share_after
     carbon        0.3448       0.8276
       sp_a        0.2500       0.5000
       sp_b        0.0000       0.5000
    """
    x = selection(problem, solution)
    feats = problem.pu.features
    if features is None:
        features = list(feats.index[feats["role"].isin(feature_roles())])
    amounts = problem.feature_amounts(features)
    p = problem.protected_fraction
    total = amounts.sum(axis=1)
    before = amounts @ p
    after = before + (amounts * (1 - p)) @ x
    targets = {t.feature: t for t in problem.targets}
    target = np.array([targets[f].amount if f in targets else np.nan for f in features])
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame({
            "feature": features,
            "role": feats.loc[features, "role"].to_numpy(),
            "unit": feats.loc[features, "unit"].to_numpy(),
            "total": total,
            "held_before": before,
            "held_after": after,
            "share_before": np.where(total > 0, before / total, np.nan),
            "share_after": np.where(total > 0, after / total, np.nan),
            "target": target,
            "target_share": np.where(total > 0, target / total, np.nan),
        })
    tol = 1e-9 * np.maximum(1.0, np.abs(target))
    df["met"] = pd.array(np.where(np.isnan(target), None, after >= target - tol), dtype="boolean")
    return df


def budget_use(problem: Problem, solution: Solution | np.ndarray) -> pd.DataFrame:
    """New area used in each budget's scope (locked-in units included).

    ``used_km2`` is what the plan spends of the budget
    (`optimizer.model.compile.budget_coefficients`): with ``remainders="free"`` the
    unprotected remainders of existing protected units are left out of it and reported
    in ``remainders_km2`` (the new area they add in the budget's scope, either way).

    Returns
    -------
    pandas.DataFrame
        ``budget``, ``scope``, ``name``, ``min_km2``, ``max_km2``, ``used_km2``,
        ``share_of_max``, ``ok``, ``remainders`` (``"count"`` or ``"free"``) and
        ``remainders_km2``. Without budgets: one row for the total new area.
    """
    x = selection(problem, solution)
    budgets = problem.budgets or ()
    rows = []
    unprotected = 1.0 - problem.protected_fraction
    items = [(b.label, b.scope, b.name, b.min_km2, b.max_km2, b.remainders) for b in budgets] or [
        ("total", "total", "total", 0.0, np.inf, "count")]
    existing = problem.existing_protection_mask()
    for label, scope, name, lo, hi, remainders in items:
        used = float(budget_coefficients(problem, scope, name, unprotected) @ x)
        whole = budget_coefficients(problem, scope, name, unprotected, remainders="count")
        in_remainders = float(whole[existing] @ x[existing])
        tol = 1e-9 * max(1.0, abs(hi) if np.isfinite(hi) else 1.0)
        rows.append({"budget": label, "scope": scope, "name": name, "min_km2": lo,
                     "max_km2": hi, "used_km2": used,
                     "share_of_max": used / hi if np.isfinite(hi) and hi > 0 else np.nan,
                     "ok": bool(lo - tol <= used <= hi + tol), "remainders": remainders,
                     "remainders_km2": in_remainders})
    return pd.DataFrame(rows)


def cost_budget_use(problem: Problem, solution: Solution | np.ndarray) -> pd.DataFrame:
    """What the plan costs against each cost budget (locked-in units included).

    ``used`` is what the plan spends of the budget, ``sum_j c_j (1 - p_j) x_j``
    (`optimizer.model.costs.cost_budget_coefficients`), in the cost layer's ``unit``.

    Returns
    -------
    pandas.DataFrame
        ``budget``, ``cost`` (the column), ``unit``, ``source_unit``, ``max_cost``,
        ``used``, ``share_of_max``, ``ok``; no rows without cost budgets.

    Examples
    --------
    >>> from optimizer import problem, solve
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> pu.units["price"] = [9.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> pu.features.loc["price"] = pu.features.loc["carbon"]
    >>> pu.features.loc["price", ["role", "unit", "source_unit"]] = ["cost", "cost", "cost/cell"]
    >>> p = problem(pu).add_cost_budget(5, cost="price").add_max_utility_objective(
    ...     weights={"carbon": 1})
    >>> cost_budget_use(p, solve(p))[["budget", "max_cost", "used", "ok"]].to_dict("records")
    [{'budget': "cost 'price'", 'max_cost': 5.0, 'used': 4.0, 'ok': True}]
    """
    x = selection(problem, solution)
    rows = []
    for b in problem.cost_budgets:
        used = float(cost_budget_coefficients(problem, b) @ x)
        tol = 1e-9 * max(1.0, abs(b.max_cost))
        rows.append({"budget": b.label, "cost": b.cost, "unit": b.unit,
                     "source_unit": b.source_unit, "max_cost": b.max_cost, "used": used,
                     "share_of_max": used / b.max_cost if b.max_cost > 0 else np.nan,
                     "ok": bool(used <= b.max_cost + tol)})
    return pd.DataFrame(rows, columns=["budget", "cost", "unit", "source_unit", "max_cost",
                                       "used", "share_of_max", "ok"])


def _boundary_km(problem: Problem, x: np.ndarray, edge_factor: float = 1.0) -> float:
    i, j, length = problem.pu.boundary_indices()
    exposed = np.nan_to_num(problem.pu.units["exposed_km"].to_numpy(dtype=np.float64))
    return float(edge_factor * exposed @ x + (length * np.abs(x[i] - x[j])).sum())


def boundary_length(problem: Problem, solution: Solution | np.ndarray) -> pd.DataFrame:
    """Boundary length (km) of the locked-in units alone and of the whole plan.

    Returns
    -------
    pandas.DataFrame
        ``selection`` ("locked in", "plan"), ``units``, ``boundary_km`` and
        ``boundary_per_unit_km`` (lower is more compact).
    """
    x = selection(problem, solution)
    locked_in, _ = problem.locked_masks()
    rows = []
    for name, sel in (("locked in", locked_in.astype(np.float64)), ("plan", x)):
        n = int((sel > 0.5).sum())
        km = _boundary_km(problem, sel)
        rows.append({"selection": name, "units": n, "boundary_km": km,
                     "boundary_per_unit_km": km / n if n else np.nan})
    return pd.DataFrame(rows)


def patch_labels(problem: Problem, solution: Solution | np.ndarray) -> np.ndarray:
    """Connected patch of each selected unit (units sharing an edge are connected).

    Returns
    -------
    numpy.ndarray
        Per unit: the patch number (0 = largest patch by area, then by decreasing
        area), -1 for units not in the plan.
    """
    from scipy.sparse.csgraph import connected_components

    sel = selection(problem, solution) > 0.5
    i, j, _ = problem.pu.boundary_indices()
    both = sel[i] & sel[j]
    n = problem.n_units
    graph = sp.coo_matrix((np.ones(int(both.sum())), (i[both], j[both])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    labels = np.full(n, -1, dtype=np.int64)
    if not sel.any():
        return labels
    uniq, inverse = np.unique(comp[sel], return_inverse=True)
    area = np.bincount(inverse, problem.area_km2[sel], minlength=uniq.size)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(-area, kind="stable")] = np.arange(uniq.size)
    labels[sel] = rank[inverse]
    return labels


def patches(problem: Problem, solution: Solution | np.ndarray) -> pd.DataFrame:
    """One row per connected patch of the plan, largest first.

    Returns
    -------
    pandas.DataFrame
        ``patch``, ``units``, ``area_km2``, ``new_area_km2`` (the unprotected part the
        plan adds) and ``new_units`` (units that are not locked in).

    Examples
    --------
    >>> from optimizer import problem, solve, patches
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> patches(p, solve(p))[["units", "area_km2", "new_area_km2"]].to_dict("records")
    [{'units': 3, 'area_km2': 3.0, 'new_area_km2': 2.0}]
    """
    labels = patch_labels(problem, solution)
    sel = labels >= 0
    k = int(labels.max()) + 1 if sel.any() else 0
    locked_in, _ = problem.locked_masks()
    lab = labels[sel]
    return pd.DataFrame({
        "patch": np.arange(k),
        "units": np.bincount(lab, minlength=k),
        "area_km2": np.bincount(lab, problem.area_km2[sel], minlength=k),
        "new_area_km2": np.bincount(lab, problem.unprotected_km2[sel] * ~locked_in[sel], minlength=k),
        "new_units": np.bincount(lab, (~locked_in[sel]).astype(np.float64), minlength=k).astype(int),
    })


def unit_counts(problem: Problem, solution: Solution | np.ndarray) -> pd.DataFrame:
    """Units and area by status: protected, locked in, added, locked out, not selected.

    Returns
    -------
    pandas.DataFrame
        ``status``, ``units``, ``area_km2``, ``new_area_km2`` (unprotected part).
    """
    x = selection(problem, solution) > 0.5
    locked_in, locked_out = problem.locked_masks()
    existing = problem.existing_protection_mask()
    groups = {
        "already protected (locked in)": existing,
        "locked in": locked_in & ~existing,
        "added": x & ~locked_in,
        "locked out": locked_out,
        "not selected": ~x & ~locked_out,
    }
    area, new = problem.area_km2, problem.unprotected_km2
    rows = [{"status": k, "units": int(m.sum()), "area_km2": float(area[m].sum()),
             "new_area_km2": float(new[m].sum())} for k, m in groups.items()]
    return pd.DataFrame(rows)


def objective_value(problem: Problem, solution: Solution | np.ndarray) -> float:
    """The objective of a plan, recomputed from the problem's parts (not the compiled model):
    its kind's term (`optimizer.model.objectives.ObjectiveKind.evaluate`) plus penalties."""
    x = selection(problem, solution)
    if problem.objective is None:
        raise InputDataError("the problem has no objective; add one before evaluating")
    kind = objective_kind(problem.objective.kind)
    sign = -1.0 if kind.sense == "max" else 1.0
    value = kind.evaluate(problem, x)
    for lp in problem.linear_penalties:
        value += sign * lp.penalty * float(lp.amount @ x)
    bp = problem.boundary_penalty
    if bp is not None and bp.penalty > 0:
        value += sign * bp.penalty * _boundary_km(problem, x, bp.edge_factor)
    return value


def unit_status(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Per unit: ``existing`` (locked in), ``added`` (selected, not locked in), ``locked out``
    or ``free`` (neither selected nor locked out)."""
    sel = np.asarray(x) > 0.5
    locked_in, locked_out = problem.locked_masks()
    return np.select([locked_in, sel, locked_out], ["existing", "added", "locked out"], "free")
