"""The plan less one unit, for every unit at once: the replacement importance's shortcut.

For each added unit j, the plan without j (every other unit as in the plan) is a plan of
j's re-solve whenever it keeps every row; its objective ``r_j`` then bounds the re-solve's
optimum (``z_j* >= r_j`` for max, ``<=`` for min), and the plan's proven bound ``b0``
bounds it on the other side (leaving a unit out never helps). When ``r_j`` is within the
requested gap of ``b0`` (`optimizer.solvers.base.relative_gap`), the plan without j is
exactly what a re-solve at that gap may return, proven by ``b0``: no re-solve is needed.

All units at once, with sparse arrays (no loop over units): the objective change of leaving
out column j is ``-c_j`` less the boundary terms of j's edges to units in the plan, and the
rows change by column j of the structural rows (the boundary rows hold by construction).
Models with shortfall columns (min shortfall) or structural rows over edge columns are not
repaired (the function returns no feasible unit).
"""

from __future__ import annotations

import numpy as np

from optimizer.model.compile import CompiledModel

__all__ = ["repaired_objectives"]

#: Relative tolerance of a repaired plan's rows (as `CompiledModel.max_violation`'s 1e-6).
_ROW_TOL = 1e-7


def repaired_objectives(model: CompiledModel, x_cols: np.ndarray, cols: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Objective of the plan without each column of ``cols``, and whether that plan keeps
    every row.

    Parameters
    ----------
    model : CompiledModel
    x_cols : numpy.ndarray
        The plan's ``x`` column values (0/1).
    cols : numpy.ndarray
        ``x`` columns the plan holds (1 in ``x_cols``).

    Returns
    -------
    objective, feasible : numpy.ndarray
        Per column of ``cols``: the objective (`CompiledModel.objective_value` of the
        completed plan without it) and whether that plan keeps every row.

    Examples
    --------
    Cells 4 and 5 of the tiny grid (80 and 60 of 290 MgC): without cell 4 the plan holds
    60/290, without cell 5 80/290; both keep the budget.

    >>> import numpy as np
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> m = compile(problem(tiny_grid()).add_max_utility_objective(budget_km2=2,
    ...                                                          weights={"carbon": 1}))
    >>> x = m.x_cols_of(np.array([1, 0, 0, 1, 1, 0.0]))
    >>> obj, ok = repaired_objectives(m, x, np.flatnonzero(x))
    >>> (obj * 290).round(6).tolist(), ok.tolist()
    ([60.0, 80.0], [True, True])
    """
    cols = np.asarray(cols, dtype=np.int64)
    nx = model.n_x
    v0 = model.complete(np.asarray(x_cols, dtype=np.float64))
    z0 = model.objective_value(v0)
    sb, yb = model.block("s", rows=False), model.block("y", rows=False)
    bnd = model.block("boundary")
    ns_rows = bnd.start if bnd.stop > bnd.start else model.n_rows
    struct = model.A[:ns_rows]
    if sb.stop > sb.start or (yb.stop > yb.start and struct[:, yb.start:yb.stop].nnz):
        return np.full(cols.size, np.nan), np.zeros(cols.size, dtype=bool)
    # Objective: -c_j, and each edge (j, k) loses c_y * x_k (y was min(1, x_k)).
    delta = -model.c[cols].astype(np.float64)
    where = np.full(nx, -1, dtype=np.int64)
    where[cols] = np.arange(cols.size)
    if yb.stop > yb.start:
        e = model.edge_x_cols
        cy = model.c[yb.start:yb.stop]
        xv = v0[:nx]
        for a, b in ((0, 1), (1, 0)):
            hit = where[e[:, a]] >= 0
            delta -= np.bincount(where[e[hit, a]], cy[hit] * xv[e[hit, b]], minlength=cols.size)
    objective = z0 + delta
    # Rows: activity less column j; a violation beyond the row's own scale breaks it.
    act = struct @ v0
    scale = model.row_scale()[:ns_rows]
    part = struct[:, :nx][:, cols].tocoo()
    low = model.row_lower[:ns_rows]
    high = model.row_upper[:ns_rows]
    after = act[part.row] - part.data
    bad = ((low[part.row] - after) / scale[part.row] > _ROW_TOL) | \
          ((after - high[part.row]) / scale[part.row] > _ROW_TOL)
    broken = np.zeros(cols.size, dtype=bool)
    np.logical_or.at(broken, part.col, bad)
    # Rows that column j does not touch keep the plan's activity: the plan keeps them.
    return objective, ~broken
