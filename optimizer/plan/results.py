"""Solve a problem, evaluate a plan, and explain why a problem has no plan.

* `solve` and `diagnose` (from `optimizer.plan.solving`, re-exported here): diagnose,
  compile, solve with a backend; an infeasible problem raises `InfeasibleProblemError`
  with a message naming the constraint at fault.
* Evaluation (DataFrames): `feature_representation` (held before/after, target,
  met), `budget_use`, `cost_budget_use`, `boundary_length`, `unit_counts`; `objective_value`
  recomputes a plan's objective from the problem's parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.errors import InputDataError
from optimizer.inputs.roles import feature_roles
from optimizer.model.compile import budget_coefficients
from optimizer.model.costs import cost_budget_coefficients
from optimizer.model.objectives import objective_kind
from optimizer.model.problem import Problem
from optimizer.plan.solving import diagnose, solve
from optimizer.solvers.base import Solution, SolveStatus

__all__ = [
    "Solution",
    "SolveStatus",
    "boundary_length",
    "budget_use",
    "connectivity_summary",
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
    cp = problem.connectivity_penalty
    if cp is not None and cp.penalty != 0:
        value += sign * cp.penalty * cp.value(x)
    return value


def connectivity_summary(problem: Problem, solution: Solution | np.ndarray
                         ) -> dict[str, float | bool]:
    """The plan's connectivity (all 0 without a connectivity penalty): ``penalty``,
    ``symmetric``, ``kept`` (`optimizer.model.connectivity.ConnectivityPenalty.kept`) and
    ``term``, what the penalty adds to the objective (as `objective_value` counts it).

    Examples
    --------
    >>> import numpy as np
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> d = np.zeros((6, 6)); d[1, 2] = d[2, 1] = 2.0
    >>> p = problem(tiny_grid()).add_min_set_objective().add_connectivity_penalty(0.5, d)
    >>> connectivity_summary(p, np.array([1, 1, 1, 0, 0, 0]))
    {'penalty': 0.5, 'symmetric': True, 'kept': 2.0, 'term': -1.0}
    """
    cp = problem.connectivity_penalty
    if cp is None:
        return {"penalty": 0.0, "symmetric": True, "kept": 0.0, "term": 0.0}
    x = selection(problem, solution)
    kind = objective_kind(problem.objective.kind) if problem.objective is not None else None
    sign = -1.0 if kind is not None and kind.sense == "max" else 1.0
    return {"penalty": cp.penalty, "symmetric": cp.symmetric, "kept": cp.kept(x),
            "term": sign * cp.penalty * cp.value(x)}


def unit_status(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Per unit: ``existing`` (locked in), ``added`` (selected, not locked in), ``locked out``
    or ``free`` (neither selected nor locked out)."""
    sel = np.asarray(x) > 0.5
    locked_in, locked_out = problem.locked_masks()
    return np.select([locked_in, sel, locked_out], ["existing", "added", "locked out"], "free")
