"""Connectivity penalties: prioritizr's ``add_connectivity_penalties`` and
``add_asym_connectivity_penalties``, and the neighbour constraints of
``add_neighbors_constraints``.

`ConnectivityMethods` holds `add_connectivity_penalty` and `add_neighbours_constraints`,
which `optimizer.model.problem.Problem` inherits (a mixin, as `optimizer.model.locks`).

Mathematical formulation (one zone; prioritizr 8, ``R/add_connectivity_penalties.R`` and
``R/add_asym_connectivity_penalties.R`` and their C++ ``rcpp_apply_*``). Let ``x_i`` be 1
when unit i is in the plan (locked-in units are 1), ``p`` the penalty, ``D`` the data and
``s = +1`` for a min objective, ``-1`` for a max objective. The objective gains
``s * p * E(x)`` with

* symmetric (``symmetric=True``): ``E(x) = -(sum_i D_ii x_i + sum_{i<j} D_ij x_i x_j)``,
  minus the connectivity the plan *keeps*. prioritizr's documentation writes the double
  sum over all ``i, j``; its code applies the lower triangle of the symmetric matrix
  (``Matrix::tril``), so each pair counts once, as here. The diagonal is a weight on the
  unit alone.
* asymmetric (``symmetric=False``, Marxan's asymmetric connectivity, Beger et al. 2010):
  ``E(x) = sum_{i != j} D_ij x_i (1 - x_j) - sum_i D_ii x_i``, the connectivity *lost*
  from selected units to unselected ones. The documentation's formula cancels the diagonal;
  prioritizr's code keeps it as a reward on the unit alone (``-p D_ii x_i``), as here.

Each product ``x_i x_j`` is a pair term of the compiled model
(`optimizer.model.compile.PairTerms`): with ``p D >= 0`` it rewards selecting both ends,
so the objective pushes the linearised ``y_ij`` up and ``y <= x_i, y <= x_j`` suffice
(the boundary penalty's rows; the two merge, and the cut solver keeps working). Negative
values or a negative penalty make a pair term that the objective pushes down; it needs
``y >= x_i + x_j - 1`` (Beyer et al. 2016), which only HiGHS takes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputDataError
from optimizer.model.parts import finite_number

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits
    from optimizer.model.problem import Problem

__all__ = ["ConnectivityMethods", "ConnectivityPenalty", "NeighbourConstraint",
           "adjacency", "connectivity_data", "connectivity_matrix", "neighbour_rows"]

#: Columns of a connectivity table (Marxan's ``bound.dat`` layout).
TABLE_COLUMNS = ("id1", "id2", "boundary")


@dataclass(frozen=True, eq=False)
class ConnectivityPenalty:
    """A connectivity penalty ``s * penalty * E(x)`` (module docstring).

    Attributes
    ----------
    penalty : float
        ``p``; negative values favour plans with little connectivity.
    matrix : scipy.sparse.csr_matrix
        ``D``, units x units in row order (symmetric when ``symmetric``).
    symmetric : bool
    label : str
        Where the data came from (for messages).
    """

    penalty: float
    matrix: sp.csr_matrix
    symmetric: bool = True
    label: str = "matrix"

    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``E(x) = unary @ x + sum_k q_k x_{i_k} x_{j_k}`` over unordered pairs ``i < j``.

        Returns
        -------
        unary, i, j, q : numpy.ndarray

        Examples
        --------
        >>> D = sp.csr_matrix(np.array([[0.0, 2.0], [1.0, 0.5]]))
        >>> [a.tolist() for a in ConnectivityPenalty(1.0, D, symmetric=False).terms()]
        [[2.0, 0.5], [0], [1], [-3.0]]
        """
        m = self.matrix.tocoo()
        diag = self.matrix.diagonal()
        off = m.row != m.col
        r, c, v = m.row[off], m.col[off], m.data[off]
        n = self.matrix.shape[0]
        if self.symmetric:
            low = r < c
            unary = -diag
            i, j, q = r[low], c[low], -v[low]
        else:
            unary = np.bincount(r, v, minlength=n) - diag
            i, j, q = np.minimum(r, c), np.maximum(r, c), -v
            key, inv = np.unique(i.astype(np.int64) * n + j, return_inverse=True)
            q = np.bincount(inv, q, minlength=key.size)
            i, j = key // n, key % n
        return (np.asarray(unary, dtype=np.float64), i.astype(np.int64), j.astype(np.int64),
                np.asarray(q, dtype=np.float64))

    def value(self, x: np.ndarray) -> float:
        """``E(x)`` of a per-unit 0/1 plan: minus the connectivity kept (symmetric) or the
        connectivity lost (asymmetric), each diagonal entry counted as a reward.

        Examples
        --------
        >>> D = sp.csr_matrix(np.array([[0.0, 2.0], [2.0, 0.0]]))
        >>> ConnectivityPenalty(1.0, D).value(np.array([1.0, 1.0]))
        -2.0
        >>> ConnectivityPenalty(1.0, D, symmetric=False).value(np.array([1.0, 0.0]))
        2.0
        """
        x = np.asarray(x, dtype=np.float64)
        unary, i, j, q = self.terms()
        return float(unary @ x + q @ (x[i] * x[j]))

    def kept(self, x: np.ndarray) -> float:
        """The connectivity the plan holds: ``sum_{i,j selected} D_ij`` over ordered pairs
        and the diagonal (each symmetric pair counted once), for summaries."""
        x = np.asarray(x, dtype=np.float64)
        m = self.matrix if not self.symmetric else sp.tril(self.matrix, format="csr")
        return float(x @ (m @ x))


@dataclass(frozen=True)
class NeighbourConstraint:
    """Each selected unit has at least ``k`` selected neighbours (clamped to its number of
    neighbours); locked-in units count as selected and are held to it too (prioritizr's
    ``add_neighbors_constraints(k, clamp = TRUE)``)."""

    k: int


# ============================================================== reading the data

def connectivity_data(pu: PlanningUnits, data: Any, *, symmetric: bool = True) -> tuple[
        sp.csr_matrix, str]:
    """The connectivity matrix (units x units, row order) from a matrix or a table.

    Parameters
    ----------
    pu : PlanningUnits
    data : scipy.sparse matrix, numpy.ndarray, pandas.DataFrame, str or Path
        A square matrix in unit order, or a table (or CSV file) with columns ``id1``,
        ``id2``, ``boundary`` keyed by ``pu_id`` (Marxan's format). A symmetric table may
        list each pair once (it is mirrored) or in both orders (with equal values).
    symmetric : bool
        Whether the data are symmetric; asymmetric data given as symmetric is an error.

    Returns
    -------
    (scipy.sparse.csr_matrix, str)
        The matrix and a label naming the source.
    """
    import pandas as pd

    n = len(pu.units)
    label = "matrix"
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise InputDataError(f"connectivity file {str(path)!r} does not exist; give a CSV "
                                 "with columns id1, id2, boundary")
        try:
            data = pd.read_csv(path)
        except (ValueError, OSError) as exc:
            raise InputDataError(f"connectivity file {str(path)!r} is not a readable CSV "
                                 f"({str(exc).splitlines()[0]}); give columns id1, id2, "
                                 "boundary") from None
        label = path.name
    if isinstance(data, pd.DataFrame):
        if label == "matrix":
            label = "table"
        matrix = _from_table(pu, data, symmetric, label)
    elif sp.issparse(data) or isinstance(data, np.ndarray):
        matrix = sp.csr_matrix(data, dtype=np.float64)
        if matrix.shape != (n, n):
            raise InputDataError(f"connectivity matrix has shape {matrix.shape}; expected "
                                 f"({n}, {n}), one row and column per unit in row order")
        if not np.isfinite(matrix.data).all():
            bad = int((~np.isfinite(matrix.data)).sum())
            raise InputDataError(f"connectivity matrix has {bad} missing or infinite "
                                 "value(s); give finite numbers (0 for no connection)")
    else:
        raise InputDataError("connectivity data must be a scipy.sparse matrix, a numpy array, "
                             "a DataFrame or a CSV path with columns id1, id2, boundary; got "
                             f"{type(data).__name__}")
    matrix.eliminate_zeros()
    matrix.sort_indices()
    if symmetric:
        diff = (matrix - matrix.T).tocoo()
        scale = max(1.0, float(np.abs(matrix.data).max())) if matrix.nnz else 1.0
        off = np.abs(diff.data) > 1e-9 * scale
        if off.any():
            ids = pu.units["pu_id"].to_numpy()
            a, b = int(diff.row[off][0]), int(diff.col[off][0])
            raise InputDataError(
                f"connectivity data ({label}) is asymmetric: {ids[a]}->{ids[b]} is "
                f"{matrix[a, b]:g} but {ids[b]}->{ids[a]} is {matrix[b, a]:g} "
                f"({int(off.sum()) // 2 or 1} pair(s)); pass symmetric=False for directed "
                "connectivity")
    return matrix, label


def _from_table(pu: PlanningUnits, table: Any, symmetric: bool, label: str) -> sp.csr_matrix:
    import pandas as pd

    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputDataError(f"connectivity table ({label}) lacks column(s) {missing}; it has "
                             f"{list(table.columns)[:8]}; give columns id1, id2, boundary")
    value = pd.to_numeric(table["boundary"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(value).all():
        bad = int((~np.isfinite(value)).sum())
        raise InputDataError(f"connectivity table ({label}) has {bad} missing or non-numeric "
                             "boundary value(s); give a finite number on every row")
    pos = pd.Index(pu.units["pu_id"])
    ia, ib = pos.get_indexer(table["id1"]), pos.get_indexer(table["id2"])
    unknown = (ia < 0) | (ib < 0)
    if unknown.any():
        first = table.loc[unknown, ["id1", "id2"]].to_numpy().ravel()
        ids = [v.item() if hasattr(v, "item") else v for v in first if v not in pos][:3]
        raise InputDataError(f"connectivity table ({label}) names {int(unknown.sum())} row(s) "
                             f"with pu_id not in the grid, e.g. {ids}; use the grid's pu_id "
                             "values")
    n = len(pos)
    key = ia.astype(np.int64) * n + ib
    if np.unique(key).size != key.size:
        raise InputDataError(f"connectivity table ({label}) lists a pair (id1, id2) more than "
                             "once; give each pair one row")
    if symmetric:
        mirror = ib.astype(np.int64) * n + ia
        lone = ~np.isin(mirror, key) & (ia != ib)  # listed one way only: mirror it
        ia, ib = np.concatenate([ia, ib[lone]]), np.concatenate([ib, ia[lone]])
        value = np.concatenate([value, value[lone]])
    return sp.csr_matrix((value, (ia, ib)), shape=(n, n))


def connectivity_matrix(pu: PlanningUnits, conductance: str | Any) -> sp.csr_matrix:
    """prioritizr's ``connectivity_matrix(x, y)``: for units sharing an edge, the edge's
    length (km) times the mean of the two units' conductance; 0 on the diagonal and where a
    unit's conductance is missing (NaN read as 0).

    Parameters
    ----------
    pu : PlanningUnits
    conductance : str or array
        A numeric column of the units (e.g. ``con``, a raster's mean per unit read with the
        grid) or one value per unit in row order.

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric, units x units.

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> m = connectivity_matrix(pu, [1.0, 3.0, 0.0, 1.0, 1.0, 1.0])
    >>> m[0, 1], m[1, 0], m[1, 2], m[0, 2]  # 1 km edges: (1 + 3) / 2, (3 + 0) / 2; no edge
    (np.float64(2.0), np.float64(2.0), np.float64(1.5), np.float64(0.0))
    """
    n = len(pu.units)
    if isinstance(conductance, str):
        if conductance not in pu.units.columns or conductance == "geometry":
            cols = [c for c in pu.units.columns if c != "geometry"]
            raise InputDataError(f"conductance {conductance!r} is not a column of the units; "
                                 f"columns: {cols[:12]}")
        values = np.asarray(pu.units[conductance], dtype=np.float64)
    else:
        values = np.asarray(conductance, dtype=np.float64)
        if values.shape != (n,):
            raise InputDataError(f"conductance has shape {values.shape}; expected ({n},), one "
                                 "value per unit in row order")
    c = np.nan_to_num(values, nan=0.0)
    i, j, length = pu.boundary_indices()
    ok = (i >= 0) & (j >= 0) & (i != j)
    i, j = i[ok], j[ok]
    w = np.asarray(length, dtype=np.float64)[ok] * (c[i] + c[j]) / 2.0
    m = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                      shape=(n, n)).tocsr()
    m.eliminate_zeros()
    return m


# ============================================================== neighbour rows

def neighbour_rows(problem: Problem, k: int, free: np.ndarray, locked_in: np.ndarray
                   ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The rows of `NeighbourConstraint` over the free units' columns.

    For a free unit i with ``k_i = min(k, deg_i)``: ``sum_{j in N(i) free} x_j - k_i x_i >=
    -(locked-in neighbours)``; for a locked-in unit: ``sum_{j in N(i) free} x_j >= k_i -
    (locked-in neighbours)`` (rows that always hold are left out). Neighbours share an edge
    of positive length in the grid's boundary table.

    Returns
    -------
    (rows, lower, units)
        ``rows`` (m x free units), their lower bounds and the unit each row is for.
    """
    n = problem.n_units
    adj = adjacency(problem.pu)
    deg = np.diff(adj.indptr)
    kk = np.minimum(k, deg).astype(np.float64)
    nbr_in = adj @ locked_in.astype(np.float64)
    free_idx = np.flatnonzero(free)
    col = np.full(n, -1, dtype=np.int64)
    col[free_idx] = np.arange(free_idx.size)
    need = kk - nbr_in  # what the free neighbours must make up
    rows_units = np.flatnonzero(free | (locked_in & (need > 0)))
    sub = adj[rows_units][:, free_idx].tocsr()
    is_free = free[rows_units]
    diag = sp.csr_matrix((-kk[rows_units][is_free],
                          (np.flatnonzero(is_free), col[rows_units[is_free]])),
                         shape=sub.shape)
    rows = (sub + diag).tocsr()
    rows.sort_indices()
    lower = np.where(is_free, -nbr_in[rows_units], need[rows_units])
    return rows, lower, rows_units


def adjacency(pu: PlanningUnits) -> sp.csr_matrix:
    """Units x units 0/1 matrix of units sharing an edge of positive length (symmetric)."""
    i, j, length = pu.boundary_indices()
    n = len(pu.units)
    ok = (i >= 0) & (j >= 0) & (length > 0) & (i != j)
    a = sp.coo_matrix((np.ones(int(ok.sum())), (i[ok], j[ok])), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a.sort_indices()
    return a


# ============================================================== problem methods

class ConnectivityMethods:
    """The connectivity methods of `optimizer.model.problem.Problem` (a mixin: ``self`` is
    the problem)."""

    def add_connectivity_penalty(self: Any, penalty: float, data: Any, *,
                                 symmetric: bool = True) -> Problem:
        """Favour plans that keep connectivity between selected units (prioritizr's
        ``add_connectivity_penalties``; ``symmetric=False``: ``add_asym_connectivity_penalties``).

        The objective gains ``s * penalty * E(x)``, ``s = +1`` for min and ``-1`` for max
        objectives; symmetric: ``E = -(sum_i D_ii x_i + sum_{i<j} D_ij x_i x_j)``;
        asymmetric: ``E = sum_{i != j} D_ij x_i (1 - x_j) - sum_i D_ii x_i``
        (`optimizer.model.connectivity`). Locked-in units count as selected.

        Parameters
        ----------
        penalty : float
            Objective units per unit of connectivity (negative: favour little).
        data : scipy.sparse matrix, numpy.ndarray, pandas.DataFrame, str or Path
            Units x units in row order, or a table / CSV ``id1, id2, boundary`` of ``pu_id``
            (`connectivity_data`). The diagonal weighs a unit alone.
        symmetric : bool
            False for directed (asymmetric) connectivity.

        Returns
        -------
        Problem
            With this penalty replacing any earlier connectivity penalty.

        Examples
        --------
        >>> import pandas as pd
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> links = pd.DataFrame({"id1": [2, 3], "id2": [3, 6], "boundary": [1.0, 1.0]})
        >>> p = (problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2})
        ...      .add_connectivity_penalty(1.5, links))
        >>> sol = solve(p)  # sp_b needs 2 and 4; 3 and 6 cost 1 km² each, keep 1.5 each
        >>> pu.units["pu_id"][sol.selected].tolist(), sol.objective  # 4 km² - 2 * 1.5
        ([1, 2, 3, 4, 6], 1.0)
        """
        penalty = finite_number(penalty, "connectivity penalty")
        if not isinstance(symmetric, bool | np.bool_):
            raise InputDataError(f"symmetric must be True or False; got {symmetric!r}")
        matrix, label = connectivity_data(self.pu, data, symmetric=bool(symmetric))
        cp = ConnectivityPenalty(penalty, matrix, bool(symmetric), label)
        return dataclasses.replace(self, connectivity_penalty=cp, _cache=self._cache)

    def add_neighbours_constraints(self: Any, k: int) -> Problem:
        """Every selected unit has at least ``k`` selected neighbours (prioritizr's
        ``add_neighbors_constraints(k)``, clamped: a unit with fewer neighbours needs them
        all). Locked-in units (existing protection included) count as selected neighbours
        and are held to it as well. HiGHS only (linear rows the cut solver does not take).

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2})
        ...      .add_neighbours_constraints(2))
        >>> pu.units["pu_id"][solve(p).selected].tolist()
        [1, 2, 4, 5]
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise InputDataError(f"neighbours k must be a whole number >= 0; got {k!r}")
        nc = NeighbourConstraint(int(k)) if k > 0 else None
        return dataclasses.replace(self, neighbour_constraint=nc, _cache=self._cache)
