"""Compile a `Problem` into solver-neutral arrays: ``compile(problem) -> CompiledModel``.

The model is ``optimise c @ v + offset`` subject to ``row_lower <= A @ v <= row_upper``
and ``col_lower <= v <= col_upper``, with ``integrality`` marking the binary unit
columns. Columns come in three blocks, in this order:

* ``x`` - one binary column per *free* unit (not locked in or out); locked units
  are constants folded into the offset and the row bounds;
* ``y`` - one continuous column per boundary edge between two free units, the
  linearised product ``y_jk = min(x_j, x_k)`` (rows ``y_jk - x_j <= 0`` and
  ``y_jk - x_k <= 0``; the objective pushes ``y`` up);
* ``s`` - one continuous shortfall column per target, for kinds whose targets are soft
  (min shortfall; `optimizer.model.objectives.ObjectiveKind.shortfall_cost`).

Rows: area budgets, cost budgets (`optimizer.model.costs`), then targets, then the two
boundary rows per ``y`` column.
Every term is built with numpy/scipy.sparse in one pass, with no Python loop over
units or edges (loops run over budgets and targets only). No solver is imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputDataError, SolverError
from optimizer.model.connectivity import neighbour_rows
from optimizer.model.costs import check_cost_budgets, cost_budget_coefficients
from optimizer.model.objectives import OBJECTIVES, listed, objective_kind
from optimizer.model.problem import Problem

RowKind = Literal["budget", "target", "boundary"]
ColKind = Literal["x", "y", "s"]


@dataclass(frozen=True)
class Block:
    """A contiguous range of rows or columns of one kind.

    ``labels`` names each row of small blocks (budgets, targets); large blocks
    (units, edges) are named from `CompiledModel.unit_ids` on demand.
    """

    kind: str
    start: int
    stop: int
    labels: tuple[str, ...] = ()


@dataclass(eq=False)
class CompiledModel:
    """A problem as arrays, ready for any solver.

    Attributes
    ----------
    sense : {"min", "max"}
    c : numpy.ndarray
        Objective coefficient of each column.
    offset : float
        Objective constant (locked units, fixed boundary terms).
    A : scipy.sparse.csr_matrix
        Constraint matrix (rows x columns).
    row_lower, row_upper, col_lower, col_upper : numpy.ndarray
        Bounds; ``-inf``/``inf`` when absent.
    integrality : numpy.ndarray of bool
        True for integer (binary) columns.
    n_units : int
        Number of planning units.
    unit_of_col : numpy.ndarray
        Unit (row position in ``pu.units``) of each ``x`` column; -1 for others.
    x_fixed : numpy.ndarray
        Per unit: 1.0 locked in, 0.0 locked out, NaN free.
    unit_ids : numpy.ndarray
        ``pu_id`` of each unit (for names).
    row_blocks, col_blocks : tuple of Block
    edge_x_cols : numpy.ndarray
        ``(n_y, 2)``: the ``x`` columns each ``y`` column links.
    shortfall_rows : numpy.ndarray
        Row of the target each ``s`` column belongs to.
    product_x_cols : numpy.ndarray
        ``(n_z, 2)``: the ``x`` columns each ``z`` column links (``z >= x_i + x_j - 1``;
        pair terms the objective pushes down, `optimizer.model.connectivity`).
    """

    sense: Literal["min", "max"]
    c: np.ndarray
    offset: float
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    n_units: int
    unit_of_col: np.ndarray
    x_fixed: np.ndarray
    unit_ids: np.ndarray
    row_blocks: tuple[Block, ...]
    col_blocks: tuple[Block, ...]
    edge_x_cols: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    shortfall_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    product_x_cols: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    # ---------------------------------------------------------- shape
    @property
    def n_cols(self) -> int:
        """Number of columns."""
        return int(self.c.size)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.row_lower.size)

    @property
    def n_x(self) -> int:
        """Number of unit (``x``) columns; they come first (the ``x`` block's end)."""
        return self.block("x", rows=False).stop

    def block(self, kind: str, *, rows: bool = True) -> Block:
        """The row (or column) block of ``kind``; an empty block when absent."""
        for b in self.row_blocks if rows else self.col_blocks:
            if b.kind == kind:
                return b
        return Block(kind, 0, 0)

    # ---------------------------------------------------------- values
    def complete(self, x_cols: np.ndarray) -> np.ndarray:
        """Full column vector from values of the ``x`` columns.

        ``y`` takes ``min(x_j, x_k)`` and ``s`` the shortfall of its target, the
        best values for a fixed ``x``.
        """
        x_cols = np.asarray(x_cols, dtype=np.float64)
        v = np.zeros(self.n_cols)
        v[: self.n_x] = x_cols
        yb = self.block("y", rows=False)
        if yb.stop > yb.start:
            v[yb.start:yb.stop] = np.minimum(x_cols[self.edge_x_cols[:, 0]],
                                             x_cols[self.edge_x_cols[:, 1]])
        sb = self.block("s", rows=False)
        if sb.stop > sb.start:
            activity = self.A[self.shortfall_rows] @ v  # s is still 0 here
            short = self.row_lower[self.shortfall_rows] - activity
            v[sb.start:sb.stop] = np.clip(short, 0.0, self.col_upper[sb.start:sb.stop])
        zb = self.block("z", rows=False)
        if zb.stop > zb.start:
            v[zb.start:zb.stop] = np.maximum(x_cols[self.product_x_cols[:, 0]]
                                             + x_cols[self.product_x_cols[:, 1]] - 1.0, 0.0)
        return v

    def objective_value(self, values: np.ndarray) -> float:
        """``c @ values + offset``."""
        return float(self.c @ values + self.offset)

    def row_scale(self) -> np.ndarray:
        """Each row's magnitude: the larger finite bound in absolute value, at least 1."""
        lo = np.where(np.isfinite(self.row_lower), np.abs(self.row_lower), 0.0)
        hi = np.where(np.isfinite(self.row_upper), np.abs(self.row_upper), 0.0)
        return np.maximum(np.maximum(lo, hi), 1.0)

    def max_violation(self, values: np.ndarray) -> float:
        """Largest violation of a row or column bound by ``values`` (0 when feasible).

        A row's violation is relative to its own magnitude (`row_scale`): a budget of
        200,000 km² and a representation row of 0.4 are held to the same relative
        tolerance, so neither lends its scale to the other.
        """
        worst = 0.0
        if self.n_rows:
            act = self.A @ values
            scale = self.row_scale()
            worst = max(worst, float(np.max((self.row_lower - act) / scale, initial=0.0)),
                        float(np.max((act - self.row_upper) / scale, initial=0.0)))
        if self.n_cols:
            worst = max(worst, float(np.max(self.col_lower - values, initial=0.0)),
                        float(np.max(values - self.col_upper, initial=0.0)))
        return worst

    def unit_x(self, values: np.ndarray | None) -> np.ndarray:
        """Per-unit 0/1 selection (locked units included) from column values.

        A unit with several ``x`` columns (one per zone, `optimizer.model.zones_compile`)
        is selected when any of them is 1.
        """
        x = np.nan_to_num(self.x_fixed, nan=0.0)
        if values is not None and self.n_x:
            free = self.unit_of_col[: self.n_x]
            on = np.round(np.asarray(values)[: self.n_x])
            x[free] = 0.0
            np.maximum.at(x, free, on)
        return x

    def x_cols_of(self, unit_x: np.ndarray) -> np.ndarray:
        """Values of the ``x`` columns from a per-unit selection."""
        return np.asarray(unit_x, dtype=np.float64)[self.unit_of_col[: self.n_x]]

    # ---------------------------------------------------------- sub-models
    def restrict(self, keep: np.ndarray, x_cols: np.ndarray) -> CompiledModel:
        """The model with only the ``x`` columns ``keep`` free; the others fixed at ``x_cols``.

        Fixed columns fold into the offset, the row bounds and the kept columns'
        objective (boundary edges to a fixed unit), as `compile` does for locks.

        Parameters
        ----------
        keep : numpy.ndarray
            Positions of the ``x`` columns left free (any order; sorted here).
        x_cols : numpy.ndarray
            Values of every ``x`` column; those outside ``keep`` are fixed at them.

        Returns
        -------
        CompiledModel
            A model of the kept columns (their ``y`` and ``s`` columns and rows) whose
            objective equals this model's for every completion of ``x_cols``.
        """
        if self.block("z", rows=False).stop:
            raise SolverError("this model has pair terms that reward keeping units apart (a "
                              "negative connectivity penalty or value), which sub-models do "
                              "not carry; solve it whole with solver='highs'")
        nx = self.n_x
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        is_kept = np.zeros(nx, dtype=bool)
        is_kept[keep] = True
        fixed = ~is_kept
        v = np.asarray(x_cols, dtype=np.float64)
        newcol = np.full(nx, -1, dtype=np.int64)
        newcol[keep] = np.arange(keep.size)
        c_x = self.c[:nx]
        offset = self.offset + float(c_x[fixed] @ v[fixed])
        cx = c_x[keep].copy()
        yb = self.block("y", rows=False)
        cy = self.c[yb.start:yb.stop]
        e = self.edge_x_cols
        ki, kj = is_kept[e[:, 0]], is_kept[e[:, 1]]
        both = ki & kj
        only_i, only_j = ki & ~kj, kj & ~ki
        cx += np.bincount(newcol[e[only_i, 0]], cy[only_i] * v[e[only_i, 1]], minlength=keep.size)
        cx += np.bincount(newcol[e[only_j, 1]], cy[only_j] * v[e[only_j, 0]], minlength=keep.size)
        neither = ~ki & ~kj
        offset += float(cy[neither] @ np.minimum(v[e[neither, 0]], v[e[neither, 1]]))
        edges = np.column_stack([newcol[e[both, 0]], newcol[e[both, 1]]])
        ny = edges.shape[0]
        bnd = self.block("boundary")
        ns_rows = bnd.start if bnd.stop > bnd.start else self.n_rows  # structural rows
        struct = self.A[:ns_rows]
        const = struct[:, :nx] @ np.where(fixed, v, 0.0)
        sb = self.block("s", rows=False)
        ns = sb.stop - sb.start
        nk = keep.size
        n_cols = nk + ny + ns
        s_part = struct[:, sb.start:sb.stop] if ns else sp.csr_matrix((ns_rows, 0))
        top = sp.hstack([struct[:, :nx][:, keep], sp.csr_matrix((ns_rows, ny)), s_part], format="csr")
        A = sp.vstack([top, _boundary_rows(edges, nk, n_cols)], format="csr") if ny else top
        A.sort_indices()
        unit_of_col = np.full(n_cols, -1, dtype=np.int64)
        unit_of_col[:nk] = self.unit_of_col[keep]
        x_fixed = self.x_fixed.copy()
        x_fixed[self.unit_of_col[:nx][fixed]] = v[fixed]
        struct_blocks = tuple(b for b in self.row_blocks if b.kind != "boundary")
        row_blocks = (*struct_blocks, Block("boundary", ns_rows, ns_rows + 2 * ny)) if ny else \
            struct_blocks
        col_blocks = tuple(b for b in (Block("x", 0, nk), Block("y", nk, nk + ny),
                                       Block("s", nk + ny, n_cols, sb.labels))
                           if b.stop > b.start)
        return CompiledModel(
            sense=self.sense, c=np.concatenate([cx, cy[both], self.c[sb.start:sb.stop]]),
            offset=offset, A=A,
            row_lower=np.concatenate([self.row_lower[:ns_rows] - const, np.full(2 * ny, -np.inf)]),
            row_upper=np.concatenate([self.row_upper[:ns_rows] - const, np.zeros(2 * ny)]),
            col_lower=np.zeros(n_cols),
            col_upper=np.concatenate([np.ones(nk + ny), self.col_upper[sb.start:sb.stop]]),
            integrality=np.arange(n_cols) < nk, n_units=self.n_units, unit_of_col=unit_of_col,
            x_fixed=x_fixed, unit_ids=self.unit_ids, row_blocks=row_blocks, col_blocks=col_blocks,
            edge_x_cols=edges, shortfall_rows=self.shortfall_rows.copy(),
        )

    # ---------------------------------------------------------- names
    def row_names(self) -> list[str]:
        """One name per row (built on demand; boundary rows name their two units)."""
        names: list[str] = []
        for b in self.row_blocks:
            if b.kind == "boundary":
                ids = self._edge_ids()
                names += [f"bnd_{a}_{z}_{s}" for a, z in ids for s in ("a", "b")]
            elif b.kind == "product":
                names += [f"prod_{a}_{z}" for a, z in self._edge_ids(self.product_x_cols)]
            else:
                names += [_safe(f"{b.kind}_{lab}") for lab in b.labels]
        return names

    def col_names(self) -> list[str]:
        """One name per column: ``x_<pu_id>``, ``y_<id>_<id>``, ``s_<feature>``."""
        names: list[str] = []
        for b in self.col_blocks:
            if b.kind == "x":
                names += [_safe(f"x_{u}") for u in self.unit_ids[self.unit_of_col[b.start:b.stop]]]
            elif b.kind == "y":
                names += [f"y_{a}_{z}" for a, z in self._edge_ids()]
            elif b.kind == "z":
                names += [f"z_{a}_{z}" for a, z in self._edge_ids(self.product_x_cols)]
            else:
                names += [_safe(f"s_{lab}") for lab in b.labels]
        return names

    def _edge_ids(self, cols: np.ndarray | None = None) -> list[tuple[str, str]]:
        units = self.unit_of_col[self.edge_x_cols if cols is None else cols]
        ids = self.unit_ids[units] if units.size else np.zeros((0, 2))
        return [(_safe(str(a)), _safe(str(z))) for a, z in ids]


def _boundary_rows(edges: np.ndarray, y_start: int, n_cols: int) -> sp.csr_matrix:
    """Rows ``y_e - x_i <= 0`` and ``y_e - x_j <= 0`` of each edge, ``y`` columns from ``y_start``."""
    ny = edges.shape[0]
    y_col = y_start + np.arange(ny)
    r = np.repeat(np.arange(2 * ny), 2)
    cols = np.empty(4 * ny, dtype=np.int64)
    cols[0::4] = y_col
    cols[1::4] = edges[:, 0]
    cols[2::4] = y_col
    cols[3::4] = edges[:, 1]
    data = np.tile([1.0, -1.0], 2 * ny)
    return sp.csr_matrix((data, (r, cols)), shape=(2 * ny, n_cols))


def _index_dtype(*maxima: int) -> type:
    """int32 when every index and offset fits it, else int64 (scipy's own rule)."""
    return np.int32 if max(maxima, default=0) < np.iinfo(np.int32).max else np.int64


def _assemble(rows_nz: list[tuple[np.ndarray, np.ndarray]], nb: int, ns: int, s_start: int,
              edges: np.ndarray, y_start: int, n_cols: int) -> sp.csr_matrix:
    """The constraint matrix as CSR, built straight from its parts (no stacking copies).

    Parameters
    ----------
    rows_nz : list of (columns, values)
        The structural rows' nonzeros among the ``x`` columns (sorted columns).
    nb : int
        Number of budget rows (the first rows); the target rows follow.
    ns : int
        Shortfall columns (from ``s_start``), one per target row, coefficient 1.
    edges : numpy.ndarray
        ``(ny, 2)`` ``x`` columns of each boundary edge; its rows ``-x_i + y_e <= 0`` and
        ``-x_j + y_e <= 0`` follow, ``y`` columns from ``y_start``.
    n_cols : int

    Returns
    -------
    scipy.sparse.csr_matrix
        Sorted indices, int32 when they fit.
    """
    ny = edges.shape[0]
    n_struct = len(rows_nz)
    counts = np.array([nz.size for nz, _ in rows_nz], dtype=np.int64)
    if ns:
        counts[nb:nb + ns] += 1
    nnz = int(counts.sum()) + 4 * ny
    idx = _index_dtype(nnz, n_cols)
    indptr = np.empty(n_struct + 2 * ny + 1, dtype=idx)
    indptr[0] = 0
    np.cumsum(counts, out=indptr[1:n_struct + 1])
    base = int(counts.sum())
    indptr[n_struct + 1:] = base + 2 * np.arange(1, 2 * ny + 1, dtype=idx)
    indices = np.empty(nnz, dtype=idx)
    data = np.empty(nnz)
    for r, (nz, val) in enumerate(rows_nz):
        s0 = int(indptr[r])
        indices[s0:s0 + nz.size] = nz
        data[s0:s0 + nz.size] = val
        if ns and nb <= r < nb + ns:  # the target's shortfall column comes last (sorted)
            indices[s0 + nz.size] = s_start + r - nb
            data[s0 + nz.size] = 1.0
    if ny:
        # Row 2e: -x_i + y_e; row 2e+1: -x_j + y_e (x columns precede y columns: sorted).
        bi = indices[base:].reshape(2 * ny, 2)
        y_col = np.arange(y_start, y_start + ny, dtype=idx)
        bi[0::2, 0] = edges[:, 0]
        bi[1::2, 0] = edges[:, 1]
        bi[0::2, 1] = y_col
        bi[1::2, 1] = y_col
        bd = data[base:].reshape(2 * ny, 2)
        bd[:, 0] = -1.0
        bd[:, 1] = 1.0
    A = sp.csr_matrix((data, indices, indptr), shape=(n_struct + 2 * ny, n_cols), copy=False)
    A.has_sorted_indices = True
    return A


def _safe(name: str) -> str:
    """A name legal in LP and MPS files (letters, digits, ``_``, ``.``)."""
    return re.sub(r"[^0-9A-Za-z_.]", "_", name)


# ============================================================== compile

def compile(problem: Problem) -> CompiledModel:
    """Turn a problem into arrays (objective, sparse constraints, bounds, integrality).

    Parameters
    ----------
    problem : Problem
        With an objective (and targets for min set / min shortfall).

    Returns
    -------
    CompiledModel

    Raises
    ------
    InputDataError
        The problem lacks an objective or the targets or budget it needs, or a
        unit is both locked in and out.

    Examples
    --------
    >>> from optimizer import compile, problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> m = compile(p)  # cell 1 is locked in, so 5 columns; one budget row
    >>> m.sense, m.n_cols, m.n_rows, m.row_upper.tolist()
    ('max', 5, 1, [2.0])
    >>> m.c.round(4).tolist()  # each cell's share of the 290 MgC
    [0.1379, 0.0345, 0.2759, 0.2069, 0.0]
    """
    if not isinstance(problem, Problem):
        raise InputDataError(f"compile() takes a Problem (from optimizer.model.problem.problem); got "
                             f"{type(problem).__name__}")
    obj = problem.objective
    if obj is None:
        raise InputDataError("the problem has no objective; call "
                             f"{listed([f'{k.method}()' for k in OBJECTIVES.values()])} first")
    kind = objective_kind(obj.kind)
    if kind.needs_targets and not problem.targets:
        raise InputDataError(f"the {obj.kind} objective needs targets; call "
                             "add_relative_targets() or add_absolute_targets() first")
    if kind.needs_budget and not problem.cost_budgets:
        total = problem.total_budget()
        if total is None or not np.isfinite(total.max_km2):
            raise InputDataError(f"the {obj.kind} objective needs a total area budget or a cost "
                                 "budget; pass budget_km2= or budget_share= to its "
                                 "add_*_objective method, or call add_cost_budget()")
    check_cost_budgets(problem)

    n = problem.n_units
    locked_in, locked_out = problem.locked_masks()
    unprotected = 1.0 - problem.protected_fraction
    sense = kind.sense
    # Penalties lower a max objective and raise a min objective.
    penalty_sign = -1.0 if sense == "max" else 1.0

    unit_obj = np.zeros(n)
    unit_obj += kind.unit_objective(problem)
    for lp in problem.linear_penalties:
        unit_obj += penalty_sign * lp.penalty * lp.amount

    boundary = None
    bp = problem.boundary_penalty
    if bp is not None and bp.penalty > 0:
        i, j, length = problem.pu.boundary_indices()
        if (i < 0).any() or (j < 0).any():
            raise InputDataError("the boundary table names pu_id values missing from the units; "
                                 "rebuild the grid")
        boundary = BoundaryTerms(i, j, length,
                                 np.nan_to_num(problem._column_cached("exposed_km"), nan=0.0),
                                 penalty_sign * bp.penalty, bp.edge_factor)

    budget_rows: list[Row] = []
    for b in problem.budgets:
        coef = budget_coefficients(problem, b.scope, b.name, unprotected)
        const = float(coef[locked_in].sum())
        budget_rows.append(Row(b.scope if b.scope == "total" else f"{b.scope}_{b.name}", coef,
                               b.min_km2 - const if b.min_km2 > 0 else -np.inf,
                               b.max_km2 - const))
    for cb in problem.cost_budgets:  # upper rows in the cost layer's unit, after the area rows
        coef = cost_budget_coefficients(problem, cb)
        budget_rows.append(Row(f"cost_{cb.cost}", coef, -np.inf,
                               cb.max_cost - float(coef[locked_in].sum())))
    target_rows: list[Row] = []
    for t in problem.targets:
        r = problem.feature_amount(t.feature)  # one feature at a time: no dense matrix
        coef = r * unprotected
        const = float((r * problem.protected_fraction).sum() + coef[locked_in].sum())
        target_rows.append(Row(t.feature, coef, t.amount - const, np.inf))
    shortfall = kind.shortfall_cost(problem) if kind.soft_targets and target_rows and \
        kind.shortfall_cost is not None else None
    pairs = None
    cp = problem.connectivity_penalty
    if cp is not None and cp.penalty != 0:
        unary, pi, pj, q = cp.terms()
        unit_obj += penalty_sign * cp.penalty * unary
        pairs = PairTerms(pi, pj, penalty_sign * cp.penalty * q)
    unit_ids = problem.pu.units["pu_id"].to_numpy()
    extra = None
    if problem.neighbour_constraint is not None:
        rows, low, units = neighbour_rows(problem, problem.neighbour_constraint.k,
                                          ~(locked_in | locked_out), locked_in)
        extra = SparseRows("neighbours", rows, low, np.full(low.size, np.inf),
                           tuple(str(u) for u in unit_ids[units]))
    return compile_parts(sense, unit_obj, locked_in, locked_out, unit_ids, boundary=boundary,
                         budget_rows=budget_rows, target_rows=target_rows,
                         soft_targets=kind.soft_targets, shortfall_cost=shortfall,
                         pairs=pairs, sparse_rows=extra)


@dataclass(frozen=True)
class BoundaryTerms:
    """A boundary penalty's terms in cut form, for `compile_parts`.

    Attributes
    ----------
    i, j : numpy.ndarray
        The two units (positions) of each shared edge.
    length : numpy.ndarray
        Each edge's length.
    exposed : numpy.ndarray
        Each unit's exposed (outer) length.
    penalty : float
        The penalty per unit of length, signed: positive raises a min objective,
        negative lowers a max objective.
    edge_factor : float
        Weight of the exposed lengths.
    """

    i: np.ndarray
    j: np.ndarray
    length: np.ndarray
    exposed: np.ndarray
    penalty: float
    edge_factor: float = 1.0


@dataclass(frozen=True)
class PairTerms:
    """Products ``q_k x_{i_k} x_{j_k}`` of the objective (connectivity), for `compile_parts`:
    units ``i``, ``j`` (positions) and the signed coefficient ``q`` in the objective's sense."""

    i: np.ndarray
    j: np.ndarray
    q: np.ndarray


@dataclass(frozen=True)
class SparseRows:
    """A block of rows over the free units' ``x`` columns (``lower <= rows @ x <= upper``),
    bounds net of locked units, for `compile_parts` (neighbour constraints)."""

    kind: str
    rows: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """A structural row for `compile_parts`: ``lower <= coef @ x <= upper`` over every unit,
    the bounds net of what locked-in units (and existing protection) already hold."""

    label: str
    coef: np.ndarray
    lower: float
    upper: float


def compile_parts(sense: Literal["min", "max"], unit_obj: np.ndarray, locked_in: np.ndarray,
                  locked_out: np.ndarray, unit_ids: np.ndarray, *,
                  boundary: BoundaryTerms | None = None, budget_rows: Sequence[Row] = (),
                  target_rows: Sequence[Row] = (), soft_targets: bool = False,
                  shortfall_cost: np.ndarray | None = None, pairs: PairTerms | None = None,
                  sparse_rows: SparseRows | None = None) -> CompiledModel:
    """A `CompiledModel` from its parts: what `compile` does once the problem is read.

    `compile` calls it on a `Problem`; `optimizer.io.marxan.model.marxan_model` calls it
    on a Marxan project's tables (no `Problem`, no pandas), so both give the same arrays.

    Parameters
    ----------
    sense : {"min", "max"}
    unit_obj : numpy.ndarray
        Each unit's objective coefficient (modified in place by the boundary terms).
    locked_in, locked_out : numpy.ndarray of bool
        Units fixed at 1 and at 0: constants, not columns.
    unit_ids : numpy.ndarray
        Each unit's id (for names).
    boundary : BoundaryTerms, optional
        The boundary penalty in cut form (None: no penalty).
    budget_rows, target_rows : sequence of Row
        Area budgets, then targets, in the order of the model's rows.
    soft_targets : bool
        One shortfall column per target row (min shortfall), priced ``shortfall_cost``.
    shortfall_cost : numpy.ndarray, optional
        The shortfall columns' objective (soft targets only).
    pairs : PairTerms, optional
        Products of two units in the objective; merged with the boundary's pairs. A pair the
        objective pushes up (a reward for both) is a ``y`` column; one it pushes down gets a
        ``z`` column and the row ``z - x_i - x_j >= -1`` (block ``product``).
    sparse_rows : SparseRows, optional
        Rows over the ``x`` columns after the targets (block ``sparse_rows.kind``).

    Returns
    -------
    CompiledModel
    """
    n = unit_obj.size
    free = ~(locked_in | locked_out)
    free_idx = np.flatnonzero(free)
    nx = free_idx.size
    col_of_unit: np.ndarray = np.full(n, -1, dtype=_index_dtype(n))  # int32 edge columns below 2^31
    col_of_unit[free_idx] = np.arange(nx)
    fixed_value = locked_in.astype(np.float64)  # value of locked units (0 for free, unused)
    offset = 0.0

    # ---------------- boundary: cut form, locked units as constants
    edge_cols = np.zeros((0, 2), dtype=np.int64)
    y_cost = np.zeros(0)
    if boundary is not None:
        i, j, length = boundary.i, boundary.j, boundary.length
        lam = boundary.penalty
        unit_obj += lam * boundary.edge_factor * boundary.exposed
        fi, fj = free[i], free[j]
        both = fi & fj
        # One end free: L |f - x| = f L + (1 - 2 f) L x for the fixed end's value f.
        only_i, only_j = fi & ~fj, fj & ~fi
        f_j, f_i = fixed_value[j[only_i]], fixed_value[i[only_j]]
        unit_obj += lam * np.bincount(i[only_i], (1 - 2 * f_j) * length[only_i], minlength=n)
        unit_obj += lam * np.bincount(j[only_j], (1 - 2 * f_i) * length[only_j], minlength=n)
        offset += lam * float((f_j * length[only_i]).sum() + (f_i * length[only_j]).sum())
        neither = ~fi & ~fj
        offset += lam * float((np.abs(fixed_value[i[neither]] - fixed_value[j[neither]])
                               * length[neither]).sum())
        # Both free: L (x_j + x_k - 2 y_jk).
        lb = length[both]
        unit_obj += lam * (np.bincount(i[both], lb, minlength=n)
                           + np.bincount(j[both], lb, minlength=n))
        edge_cols = np.column_stack([col_of_unit[i[both]], col_of_unit[j[both]]])
        y_cost = -2.0 * lam * lb
    z_cols = np.zeros((0, 2), dtype=np.int64)
    z_cost = np.zeros(0)
    if pairs is not None and pairs.q.size:
        edge_cols, y_cost, z_cols, z_cost, add = _merge_pairs(
            pairs, free, fixed_value, col_of_unit, edge_cols, y_cost, sense)
        unit_obj += add[0]
        offset += add[1]
    offset += float(unit_obj[locked_in].sum())
    ny = edge_cols.shape[0]
    n_z = z_cols.shape[0]

    # ---------------- structural rows: budgets and targets, one sparse row at a time
    rows_nz: list[tuple[np.ndarray, np.ndarray]] = []  # (x columns, coefficients) per row
    for row in (*budget_rows, *target_rows):
        on_free = row.coef[free_idx]
        nz = np.flatnonzero(on_free)
        rows_nz.append((nz, on_free[nz]))
    lower = [row.lower for row in (*budget_rows, *target_rows)]
    upper = [row.upper for row in (*budget_rows, *target_rows)]
    budget_labels = [row.label for row in budget_rows]
    target_feats = [row.label for row in target_rows]
    n_struct = len(rows_nz)
    n_targets = len(target_feats)

    ns = n_targets if soft_targets else 0
    n_cols = nx + ny + ns + n_z
    nb = len(budget_labels)
    A = _assemble(rows_nz, nb, ns, nx + ny, edge_cols, nx, n_cols)
    row_lower = np.concatenate([np.array(lower, dtype=np.float64), np.full(2 * ny, -np.inf)])
    row_upper = np.concatenate([np.array(upper, dtype=np.float64), np.zeros(2 * ny)])
    n_sparse = 0 if sparse_rows is None else sparse_rows.rows.shape[0]
    if n_sparse or n_z:  # after the targets, before the boundary rows
        assert sparse_rows is not None or not n_sparse
        middle = [] if sparse_rows is None else [
            sp.hstack([sparse_rows.rows, sp.csr_matrix((n_sparse, n_cols - nx))], format="csr")]
        if n_z:
            z_col = np.arange(nx + ny + ns, n_cols)
            middle.append(sp.csr_matrix(
                (np.tile([-1.0, -1.0, 1.0], n_z),
                 (np.repeat(np.arange(n_z), 3), np.column_stack([z_cols, z_col]).ravel())),
                shape=(n_z, n_cols)))
        A = sp.vstack([A[:n_struct], *middle, A[n_struct:]], format="csr")
        A.sort_indices()
        lows = [] if sparse_rows is None else [sparse_rows.lower]
        ups = [] if sparse_rows is None else [sparse_rows.upper]
        row_lower = np.concatenate([row_lower[:n_struct], *lows, np.full(n_z, -1.0),
                                    row_lower[n_struct:]])
        row_upper = np.concatenate([row_upper[:n_struct], *ups, np.full(n_z, np.inf),
                                    row_upper[n_struct:]])

    # ---------------- objective and columns
    c = np.concatenate([unit_obj[free_idx], y_cost, np.zeros(ns), z_cost])
    col_lower = np.zeros(n_cols)
    col_upper = np.ones(n_cols)
    if ns and shortfall_cost is not None:
        target_lower = np.array(lower[len(budget_labels):])
        col_upper[nx + ny:nx + ny + ns] = np.maximum(target_lower, 0.0)
        c[nx + ny:nx + ny + ns] = shortfall_cost
    integrality = np.zeros(n_cols, dtype=bool)
    integrality[:nx] = True
    unit_of_col: np.ndarray = np.full(n_cols, -1, dtype=_index_dtype(n_cols, n))
    unit_of_col[:nx] = free_idx

    mid = n_struct + n_sparse + n_z
    row_blocks = tuple(b for b in (
        Block("budget", 0, nb, tuple(budget_labels)),
        Block("target", nb, n_struct, tuple(target_feats)),
        Block(sparse_rows.kind if sparse_rows is not None else "sparse", n_struct,
              n_struct + n_sparse, sparse_rows.labels if sparse_rows is not None else ()),
        Block("product", n_struct + n_sparse, mid),
        Block("boundary", mid, mid + 2 * ny),
    ) if b.stop > b.start)
    col_blocks = tuple(b for b in (
        Block("x", 0, nx),
        Block("y", nx, nx + ny),
        Block("s", nx + ny, nx + ny + ns, tuple(target_feats) if ns else ()),
        Block("z", nx + ny + ns, n_cols),
    ) if b.stop > b.start)
    x_fixed = np.where(locked_in, 1.0, np.where(locked_out, 0.0, np.nan))
    return CompiledModel(
        sense=sense, c=c, offset=offset, A=A, row_lower=row_lower, row_upper=row_upper,
        col_lower=col_lower, col_upper=col_upper, integrality=integrality, n_units=n,
        unit_of_col=unit_of_col, x_fixed=x_fixed, unit_ids=unit_ids, row_blocks=row_blocks,
        col_blocks=col_blocks, edge_x_cols=edge_cols,
        shortfall_rows=np.arange(nb, n_struct) if ns else np.zeros(0, dtype=np.int64),
        product_x_cols=z_cols,
    )


def _merge_pairs(pairs: PairTerms, free: np.ndarray, fixed_value: np.ndarray,
                 col_of_unit: np.ndarray, edge_cols: np.ndarray, y_cost: np.ndarray,
                 sense: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                      tuple[np.ndarray, float]]:
    """Pair terms merged with the boundary's ``y`` pairs: (``y`` pairs, their cost, ``z``
    pairs, their cost, (unit objective to add, offset to add)). A locked end is a constant."""
    n = free.size
    i, j, q = pairs.i, pairs.j, pairs.q
    fi, fj = free[i], free[j]
    oi, oj, neither = fi & ~fj, fj & ~fi, ~fi & ~fj
    unit = (np.bincount(i[oi], q[oi] * fixed_value[j[oi]], minlength=n)
            + np.bincount(j[oj], q[oj] * fixed_value[i[oj]], minlength=n))
    offset = float((q[neither] * fixed_value[i[neither]] * fixed_value[j[neither]]).sum())
    both = fi & fj
    a = np.concatenate([edge_cols[:, 0], col_of_unit[i[both]]]).astype(np.int64)
    b = np.concatenate([edge_cols[:, 1], col_of_unit[j[both]]]).astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    nx = int(free.sum())
    key, inv = np.unique(lo * nx + hi, return_inverse=True)
    cost = np.bincount(inv, np.concatenate([y_cost, q[both]]), minlength=key.size)
    cols = np.column_stack([key // nx, key % nx]).astype(np.int64)
    up = cost <= 0 if sense == "min" else cost >= 0  # the objective pushes y up (or is idle)
    return cols[up], cost[up], cols[~up], cost[~up], (unit, offset)


def budget_coefficients(problem: Problem, scope: str, name: str,
                        unprotected: np.ndarray | None = None, *,
                        remainders: str | None = None) -> np.ndarray:
    """New area (km²) each unit spends of a budget: ``total``, a ``region`` by name, or an
    ecosystem (land-cover column ``name``); ``unprotected`` is each unit's unprotected share
    (default ``1 - problem.protected_fraction``); ``remainders`` (``"count"`` or
    ``"free"``) overrides the budget's own setting.

    The one measure of a budget: the compiled rows, `optimizer.plan.results.budget_use`,
    `optimizer.plan.results.diagnose` and the parks' refill all use it. When the problem's
    budget of this scope and name has ``remainders="free"``
    (`optimizer.model.parts.AreaBudget`), the units locked in as existing protection spend
    nothing of it.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> budget_coefficients(p, "total", "total").tolist()  # cell 1 is wholly protected
    [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    >>> budget_coefficients(p, "region", "south").tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    """
    if unprotected is None:
        unprotected = 1.0 - problem.protected_fraction
    if scope == "total":
        coef = problem.area_km2 * unprotected
    elif scope == "region":
        in_region = problem.pu.units["region"].astype(str).to_numpy() == name
        coef = problem.area_km2 * unprotected * in_region
    else:
        coef = np.nan_to_num(problem._column_cached(name), nan=0.0) * unprotected
    if remainders is None:
        budget = next((b for b in problem.budgets if (b.scope, b.name) == (scope, name)), None)
        remainders = budget.remainders if budget is not None else "count"
    if remainders == "free":
        coef = np.where(problem.existing_protection_mask(), 0.0, coef)
    return coef
