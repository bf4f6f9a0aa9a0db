"""What the LP relaxation proves before the MIP: reduced-cost fixing of 0/1 columns.

For any multipliers ``y`` of the rows (of the right sign), the Lagrangian

    L(y) = min over the column box of  c'x + sum_i y_i (b_i - a_i x)

is a lower bound (in the minimising sense) on every feasible plan, and a plan whose
integer column j leaves the value ``x_j^L`` that minimises its term pays at least
``|d_j|`` more, ``d = c' - A'y`` its reduced cost: ``objective >= L(y) + |d_j|``. So when
``L(y) + |d_j|`` exceeds the objective of a plan we already hold (the incumbent), no
better plan moves column j, and the MIP need not either: it runs on the model with those
columns fixed, and its answer and bound are the whole model's (every plan outside the
restricted model is worse than the incumbent, which lies inside it).

The multipliers come from the LP's primal solution alone (HiGHS's run hands back no
duals): on the rows the LP holds tight, ``y`` solves ``A_TB' y = c'_B`` over the columns
strictly between their bounds (least squares), clipped to each row's sign. At a
non-degenerate LP optimum that is the LP's dual and ``L(y)`` its bound; otherwise ``L(y)``
is smaller and fixes less, but every fixing stays proven, because ``L(y)`` is recomputed
from the ``y`` used, whatever it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from optimizer.model.compile import CompiledModel

__all__ = ["Fixing", "reduced_cost_fixing"]

#: Tolerance (relative to a row's magnitude, absolute for columns) within which the LP's
#: row activity or column value counts as at its bound.
ACTIVE_TOL = 1e-7

#: Fraction of the incumbent's objective kept as a safety margin against round-off: a
#: column is fixed only where ``L(y) + |d_j|`` beats the incumbent by more than this.
MARGIN = 1e-9


#: Largest system (free columns x tight rows) solved densely (Washington: about 400 x 396,
#: milliseconds); a larger one gets `LSQR_ITERATIONS` of sparse least squares, so the
#: multipliers cost well under a second whatever the model (a 25 x 25 boundary grid's
#: 1,500-square dense solve took seconds, during which no stop was heard).
DENSE_ENTRIES = 250_000
LSQR_ITERATIONS = 300


@dataclass(frozen=True)
class Fixing:
    """The columns the LP proves fixed for any plan better than the incumbent.

    Attributes
    ----------
    fixed : numpy.ndarray of bool
        Per column: fixed at ``value``.
    value : numpy.ndarray
        The value of each fixed column (its bound at the Lagrangian's minimum).
    bound : float
        ``L(y)``, in the model's sense (a proven bound, never better than the LP's).
    """

    fixed: np.ndarray
    value: np.ndarray
    bound: float

    @property
    def n_fixed(self) -> int:
        """How many columns are fixed."""
        return int(np.count_nonzero(self.fixed))

    def restrict(self, model: CompiledModel) -> CompiledModel:
        """``model`` with the fixed columns' bounds closed at their values."""
        lo = model.col_lower.copy()
        hi = model.col_upper.copy()
        lo[self.fixed] = self.value[self.fixed]
        hi[self.fixed] = self.value[self.fixed]
        return replace(model, col_lower=lo, col_upper=hi)


def row_multipliers(model: CompiledModel, lp_values: np.ndarray) -> np.ndarray | None:
    """Row multipliers of the minimising form from an LP optimum's primal values.

    ``y_i >= 0`` where row i holds at its lower bound only, ``<= 0`` at its upper bound
    only, free on an equality, 0 where the row is slack. None when the model has no rows.
    """
    if model.n_rows == 0:
        return None
    sign = 1.0 if model.sense == "min" else -1.0
    c = sign * np.asarray(model.c, dtype=np.float64)
    x = np.asarray(lp_values, dtype=np.float64)
    act = model.A @ x
    scale = model.row_scale()
    at_lo = np.isfinite(model.row_lower) & (np.abs(act - model.row_lower) <= ACTIVE_TOL * scale)
    at_hi = np.isfinite(model.row_upper) & (np.abs(act - model.row_upper) <= ACTIVE_TOL * scale)
    tight = np.flatnonzero(at_lo | at_hi)
    free = np.flatnonzero((x > model.col_lower + ACTIVE_TOL) & (x < model.col_upper - ACTIVE_TOL))
    y = np.zeros(model.n_rows)
    if tight.size and free.size:
        sub = model.A[tight][:, free].T.tocsr()  # free x tight: sub @ y_T = c_free
        rhs = c[free]
        if sub.shape[0] * sub.shape[1] <= DENSE_ENTRIES:
            y_t = np.linalg.lstsq(sub.toarray(), rhs, rcond=None)[0]
        else:  # a bounded effort: a poor y proves less, never something false
            # scipy.sparse.linalg (0.1 s to import) only for large systems: start-up,
            # issue 23 item 6
            import scipy.sparse.linalg as spla

            y_t = spla.lsqr(sp.csr_matrix(sub), rhs, atol=1e-10, btol=1e-10,
                            iter_lim=LSQR_ITERATIONS)[0]
        y[tight] = y_t
    only_lo = at_lo & ~at_hi
    only_hi = at_hi & ~at_lo
    y[only_lo] = np.maximum(y[only_lo], 0.0)
    y[only_hi] = np.minimum(y[only_hi], 0.0)
    y[~(at_lo | at_hi)] = 0.0
    return y


def reduced_cost_fixing(model: CompiledModel, lp_values: np.ndarray,
                        incumbent: float) -> Fixing | None:
    """The integer columns no plan better than ``incumbent`` can move (see the module).

    Parameters
    ----------
    model : CompiledModel
    lp_values : numpy.ndarray
        Every column's value at the LP relaxation's optimum.
    incumbent : float
        The objective of a feasible plan (in the model's sense, offset included).

    Returns
    -------
    Fixing or None
        None when no proven bound comes from the LP's values (no rows, or an unbounded
        column the multipliers price the wrong way).

    Examples
    --------
    The tiny grid's min set at 30% targets: the LP's bound is 0.8 km², the best plan
    takes 2 units, and every unit's reduced cost (at most 1 km²) is below the 1.2 km²
    between them, so nothing is fixed; the bound is the LP's, proven again from ``y``.

    >>> import numpy as np
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.solvers.highs_process import new_highs, pass_model
    >>> m = compile(problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.3))
    >>> h = new_highs()
    >>> _ = h.setOptionValue("output_flag", False), h.setOptionValue("solve_relaxation", True)
    >>> pass_model(h, m)
    >>> _ = h.run()
    >>> fixing = reduced_cost_fixing(m, np.array(h.getSolution().col_value), incumbent=2.0)
    >>> round(fixing.bound, 6), fixing.n_fixed
    (0.8, 0)
    """
    y = row_multipliers(model, lp_values)
    if y is None:
        return None
    sign = 1.0 if model.sense == "min" else -1.0
    c = sign * np.asarray(model.c, dtype=np.float64)
    d = c - model.A.T @ y
    rhs = np.where(y > 0, model.row_lower, np.where(y < 0, model.row_upper, 0.0))
    lo, hi = model.col_lower, model.col_upper
    at_hi = d < 0  # the Lagrangian's minimum puts a negative reduced cost at the upper bound
    at = np.where(at_hi, hi, lo)
    if not np.all(np.isfinite(at[d != 0])) or not np.all(np.isfinite(rhs[y != 0])):
        return None
    term = np.where(d != 0, d * np.where(np.isfinite(at), at, 0.0), 0.0)
    lagrangian = float(np.sum(rhs[y != 0] * y[y != 0]) + np.sum(term)) + sign * model.offset
    z = sign * incumbent
    slack = z - lagrangian
    if not np.isfinite(lagrangian) or slack < 0:
        return None  # round-off beyond the incumbent: nothing proven
    integer = model.integrality.astype(bool) & np.isfinite(lo) & np.isfinite(hi)
    fixed = integer & (np.abs(d) > slack + MARGIN * max(1.0, abs(z)))
    return Fixing(fixed, at, sign * lagrangian)
