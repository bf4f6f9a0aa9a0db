"""Plan metrics and the rows of the frontier: what `optimizer.studies.frontier` trades off.

A *metric* (`Metric`) is a linear function of the plan over planning units,
``value(x) = constant + coef @ x`` with ``x`` the per-unit 0/1 selection (locked units
included): `carbon_stock_added` (MgC, or tCO2e = MgC x 44.0095/12.0107, of carbon stock newly
protected), `mean_representation` (mean held share of the biodiversity features after the
plan, in percentage points) or the mean representation of any feature or group. `with_row`
adds one row on a metric to a compiled model (the ε row); `pareto_mask` keeps the
non-dominated pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputDataError, did_you_mean
from optimizer.inputs.roles import groups
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.compile import CompiledModel
from optimizer.model.problem import Problem
from optimizer.plan.solving import with_rows

__all__ = ["METRICS", "REL_TOL", "Metric", "metric", "pareto_mask", "with_row"]

#: Metric names `metric` knows besides feature and group names.
METRICS = ("carbon_stock_added", "carbon_stock_added_tCO2e", "mean_representation")

REL_TOL = 1e-9  # relative tolerance when comparing metric values

# ============================================================== metrics

@dataclass(frozen=True, eq=False)
class Metric:
    """A linear function of a plan: ``value(x) = constant + coef @ x``.

    Attributes
    ----------
    name : str
        Short name, e.g. ``carbon_stock_added``.
    unit : str
        Unit of the value, e.g. ``MgC``, ``tCO2e`` or ``pct`` (percentage points).
    coef : numpy.ndarray
        Per planning unit (row order of ``pu.units``): what selecting it adds.
    constant : float
        The value of selecting nothing (e.g. what existing protection already holds).
    label : str
        Axis label, with the unit, e.g. ``"carbon stock added (MgC)"``.
    """

    name: str
    unit: str
    coef: np.ndarray
    constant: float = 0.0
    label: str = ""

    @property
    def column(self) -> str:
        """Column name with the unit, e.g. ``carbon_stock_added_MgC``."""
        return f"{self.name}_{self.unit}" if not self.name.endswith(self.unit) else self.name

    def value(self, x: np.ndarray) -> np.ndarray | float:
        """Value of one plan (per-unit 0/1 vector) or of each row of a (plans x units) array."""
        out = np.asarray(x, dtype=np.float64) @ self.coef + self.constant
        return float(out) if np.ndim(out) == 0 else out


def metric(problem: Problem, name: str | Metric) -> Metric:
    """Build a metric of ``problem``'s plans from its name.

    Parameters
    ----------
    problem : Problem
        Supplies the units, amounts and existing protection.
    name : str or Metric
        ``"carbon_stock_added"`` (MgC of carbon-stock features newly protected:
        ``sum_k sum_j r_kj (1 - p_j) x_j``), ``"carbon_stock_added_tCO2e"`` (the same in
        tCO2e), ``"mean_representation"`` (mean over biodiversity features of the share
        held after the plan, percentage points), or a feature, role, layer or group name
        (the mean representation of its features, ``<name>_representation``). A `Metric`
        is returned as it is.

    Returns
    -------
    Metric

    Raises
    ------
    InputDataError
        An unknown name (the message lists the nearest), or a metric with no features.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid())
    >>> m = metric(p, "carbon_stock_added")
    >>> m.column, m.coef.tolist()  # cell 1 is already protected
    ('carbon_stock_added_MgC', [0.0, 40.0, 10.0, 80.0, 60.0, 0.0])
    >>> r = metric(p, "mean_representation")
    >>> r.column, r.constant  # sp_a holds 1 of 4 km², sp_b 0 of 2
    ('mean_representation_pct', 12.5)
    """
    if isinstance(name, Metric):
        if np.shape(name.coef) != (problem.n_units,):
            raise InputDataError(f"metric {name.name!r} has {np.shape(name.coef)} coefficients; "
                                 f"expected ({problem.n_units},), one per planning unit")
        return name
    if not isinstance(name, str):
        raise InputDataError(f"a metric is a name or a Metric; got {type(name).__name__}")
    feats = problem.pu.features
    unprotected = 1.0 - problem.protected_fraction
    if name in ("carbon_stock_added", "carbon_stock_added_tCO2e"):
        cols = list(feats.index[feats["role"] == "carbon_stock"])
        if not cols:
            raise InputDataError(f"metric {name!r} needs carbon_stock features; this grid has "
                                 f"none (features: {list(feats.index)[:8]})")
        coef = problem.feature_amounts(cols).sum(axis=0) * unprotected
        if name.endswith("tCO2e"):
            return Metric("carbon_stock_added", "tCO2e", coef * CO2_PER_C, 0.0,
                          "carbon stock added (tCO2e)")
        return Metric("carbon_stock_added", "MgC", coef, 0.0, "carbon stock added (MgC)")
    if name == "mean_representation":
        key, out_name = "biodiversity", "mean_representation"
    else:
        key, out_name = name, f"{name}_representation"
    known = [*METRICS, *groups(), *feats.index]
    try:
        cols = problem.resolve_features(key, argument="metric")
    except InputDataError:
        raise InputDataError(f"metric {name!r} is not a metric, feature or group of this grid; "
                             f"metrics: {list(METRICS)}{did_you_mean(name, known)}") from None
    amounts = problem.feature_amounts(cols)
    total = amounts.sum(axis=1)
    ok = total > 0
    if not ok.any():
        raise InputDataError(f"metric {name!r}: its features {cols[:5]} are all zero; "
                             "choose features present in the grid")
    share = amounts[ok] / total[ok, None] * 100.0
    before = float((share @ problem.protected_fraction).mean())
    coef = (share * unprotected).mean(axis=0)
    what = "mean representation" if out_name == "mean_representation" else f"{name} representation"
    return Metric(out_name, "pct", coef, before, f"{what} (% held)")


# ============================================================== the ε row

def with_row(model: CompiledModel, coeffs_x: np.ndarray, lower: float, upper: float = np.inf,
             label: str = "row") -> CompiledModel:
    """A copy of ``model`` with one more row ``lower <= coeffs_x @ x <= upper``.

    The row is inserted before the boundary rows (so `CompiledModel.restrict` keeps it)
    in a block of kind ``epsilon`` (`optimizer.plan.solving.with_rows`); it has no ``y`` or
    ``s`` coefficients.

    Parameters
    ----------
    model : CompiledModel
    coeffs_x : numpy.ndarray
        One coefficient per ``x`` column (free unit), length ``model.n_x``. Fold locked
        units into ``lower``/``upper`` (`Metric` values of locked units are constants).
    lower, upper : float
        Row bounds (``-inf``/``inf`` when absent).
    label : str
        The row's label (its name is ``epsilon_<label>``).

    Returns
    -------
    CompiledModel

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2))
    >>> m2 = with_row(m, [1, 1, 1, 1, 1], 1.0, label="min_units")  # at least one new unit
    >>> m2.n_rows, m2.row_lower.tolist(), m2.row_names()
    (2, [-inf, 1.0], ['budget_total', 'epsilon_min_units'])
    """
    coeffs_x = np.asarray(coeffs_x, dtype=np.float64)
    if coeffs_x.shape != (model.n_x,):
        raise InputDataError(f"coeffs_x has shape {coeffs_x.shape}; expected ({model.n_x},), "
                             "one per x column of the model")
    if not (lower <= upper):
        raise InputDataError(f"lower ({lower}) must not exceed upper ({upper})")
    return with_rows(model, sp.csr_matrix(coeffs_x[None]), np.array([float(lower)]),
                     upper=np.array([float(upper)]), kind="epsilon", labels=(label,))


def pareto_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True for the points no other point dominates (both metrics maximised).

    Equal points (within a relative 1e-9) keep only their first copy.

    Examples
    --------
    >>> pareto_mask(np.array([3, 2, 1, 2, 3.0]), np.array([0, 1, 2, 0.5, 0.0])).tolist()
    [True, True, True, False, False]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ta = REL_TOL * max(1.0, float(np.abs(a).max(initial=0.0)))
    tb = REL_TOL * max(1.0, float(np.abs(b).max(initial=0.0)))
    ge = (a[None, :] >= a[:, None] - ta) & (b[None, :] >= b[:, None] - tb)  # [i, j]: j >= i
    gt = (a[None, :] > a[:, None] + ta) | (b[None, :] > b[:, None] + tb)
    dominated = (ge & gt).any(axis=1)
    same = ge & ~gt
    earlier = np.tril(same, k=-1).any(axis=1)  # an equal point comes first
    return np.asarray(~dominated & ~earlier)
