"""Ferrier irreplaceability of the units of a min-set plan (Ferrier, Pressey & Barrett 2000).

The scores follow prioritizr's ``eval_ferrier_importance`` (its C++ ``rcpp_ferrier_score``,
the version that uses the normal distribution's tail, ``1 - pnorm``) term for term. For a
feature k with target ``t`` and amounts ``r_j`` over all ``n`` units, a plan of ``m``
selected units, and a selected unit j holding ``a = r_j > 0``:

* ``S' = (S - a) n/(n-1)`` and ``Q' = (Q - a²) n/(n-1)``, with ``S = Σ r`` and ``Q = Σ r²``;
  ``μ = S'/n`` and ``σ = sqrt(Q' - S'²/n²)``;
* ``adj(N, M) = sqrt(N - M)/M`` if ``M > N/2`` else ``sqrt(M)/M``;
* ``P(τ, M) = 1 - Φ((τ - μ)/(σ adj(n-1, M)))`` (``Φ`` the standard normal CDF), or, when
  ``σ adj < 1e-11``, ``0`` if ``μ < τ`` and ``1`` otherwise;
* ``rx_removed = 0`` if ``S' - a < t``, else ``P(t/(m-1), m-1)``;
* ``rx_included = 1`` if ``a >= t``, else ``P((t-a)/(m-1), m-1)``;
* ``rx_excluded = 0`` if ``S' - a < t``, else ``P(t/m, m)``;
* with ``w_in = m/n`` and ``w_out = 1 - w_in``: the score is 0 if ``rx_included +
  rx_excluded = 0``; otherwise, ``rx_included`` raised to 1 when it is 0 (``a > 0``),
  ``(rx_included - rx_removed) w_in / (rx_included w_in + rx_excluded w_out)``.

(``S' - a`` subtracts ``a`` twice, as prioritizr does.) A unit's total is the sum over
features; a unit holding none of a feature scores 0 for it. A unit that alone holds all of
a feature whose target needs it scores 1 for that feature.

Existing protection: a unit ``p_j`` protected adds ``r_kj (1 - p_j)`` (the amount the
plan can still gain from it), and the target is what remains after existing protection,
``max(t_k - Σ_j r_kj p_j, 0)``: both as the min set objective counts them. ``n`` is every
planning unit, ``m`` every unit the plan holds (locked-in units included), as prioritizr
takes them from its problem and solution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from optimizer.errors import InputDataError
from optimizer.model.problem import Problem

__all__ = ["FERRIER_PREFIX", "ferrier_scores"]

#: Prefix of the per-feature columns of a Ferrier table (``ferrier_<feature>``).
FERRIER_PREFIX = "ferrier_"

_EPS = 1.0e-15  # prioritizr's approx_equal and "holds some" tolerance
_SD_EPS = 1.0e-11  # its degenerate-spread threshold


def _adj(n: float, m: float) -> float:
    """prioritizr's adjusted portfolio size."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(n - m) / m) if m > n / 2.0 else float(np.sqrt(m) / m)


def _tail(tau: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``1 - Φ((τ - μ)/sd)``, or the step ``μ >= τ`` where the spread is degenerate."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (tau - mean) / sd
        smooth = 1.0 - ndtr(z)
    return np.where(sd < _SD_EPS, (mean >= tau).astype(np.float64), smooth)


def ferrier_scores(problem: Problem, x: np.ndarray) -> pd.DataFrame:
    """Ferrier irreplaceability of each unit of plan ``x``, per target feature and in total.

    Parameters
    ----------
    problem : Problem
        A min set problem (its targets are the features scored).
    x : numpy.ndarray
        0/1 per unit: the plan.

    Returns
    -------
    pandas.DataFrame
        One row per unit (``pu.units`` order): ``importance`` (the total) and one
        ``ferrier_<feature>`` column per target; 0 for units the plan does not hold.

    Raises
    ------
    InputDataError
        The objective is not min set, there are no targets, or a target feature has
        negative amounts.

    Examples
    --------
    Cells 2 and 4 alone hold ``sp_b``, 1 km² each, and its target of 2 needs both:

    >>> import numpy as np
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_min_set_objective().add_absolute_targets({"sp_b": 2})
    >>> s = ferrier_scores(p, np.array([1, 1, 0, 1, 0, 0.0]))
    >>> s.columns.tolist(), s["importance"].round(4).tolist()
    (['importance', 'ferrier_sp_b'], [0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    """
    kind = problem.objective.kind if problem.objective is not None else "none"
    if kind != "min_set":
        raise InputDataError(f"importance method 'ferrier' needs the min set objective; this "
                             f"problem's objective is {kind!r}: use method='replacement' or "
                             "'rank'")
    if not problem.targets:
        raise InputDataError("importance method 'ferrier' scores the targets' features; this "
                             "problem has none: add targets or use method='replacement'")
    feats = problem.target_features()
    p = problem.protected_fraction
    amounts = problem.feature_amounts(feats)  # features x units, whole units
    before = amounts @ p
    r = amounts * (1.0 - p)  # what each unit can still add
    if (r < 0).any():
        bad = feats[int(np.flatnonzero((r < 0).any(axis=1))[0])]
        raise InputDataError(f"importance method 'ferrier' needs amounts >= 0; target feature "
                             f"{bad!r} has negative amounts: use method='replacement'")
    target = np.maximum(np.array([t.amount for t in problem.targets]) - before, 0.0)
    sel = np.asarray(x, dtype=np.float64) > 0.5
    n, m = float(problem.n_units), float(sel.sum())
    out = np.zeros((len(feats), problem.n_units))
    if m > 0 and n > 1:
        mult = n / (n - 1.0)
        w_in = m / n
        w_out = 1.0 - w_in
        adj_m1, adj_m = _adj(n - 1.0, m - 1.0), _adj(n - 1.0, m)
        k, j = np.nonzero((r > 0) & sel[None, :])  # prioritizr's sparse entries
        a = r[k, j]
        t = target[k]
        s_all, q_all = r.sum(axis=1)[k], (r * r).sum(axis=1)[k]
        s1 = (s_all - a) * mult
        q1 = (q_all - a * a) * mult
        mean = s1 / n
        sd = np.sqrt(np.maximum(q1 - (s1 * s1 / n) / n, 0.0))
        short = (s1 - a) < t
        with np.errstate(divide="ignore", invalid="ignore"):
            removed = np.where(short, 0.0, _tail(t / (m - 1.0), mean, sd * adj_m1))
            included = np.where(a >= t, 1.0, _tail((t - a) / (m - 1.0), mean, sd * adj_m1))
            excluded = np.where(short, 0.0, _tail(t / m, mean, sd * adj_m))
            none = np.abs(included + excluded) < _EPS  # checked before the raise below
            included = np.where((np.abs(included) < _EPS) & (a > _EPS), 1.0, included)
            score = ((included - removed) * w_in) / (included * w_in + excluded * w_out)
        score = np.where(none | (np.abs(included + excluded) < _EPS), 0.0, score)
        out[k, j] = score
    table = pd.DataFrame({"importance": out.sum(axis=0)})
    for i, f in enumerate(feats):
        table[f"{FERRIER_PREFIX}{f}"] = out[i]
    return table
