"""Compile a `ZonedProblem` into a `CompiledModel`: one binary column per (unit, zone).

Columns: ``x`` - one per unit and zone it may take (zone-major: every unit of zone 0,
then zone 1, ...); ``y`` - one per pair of ``x`` columns of two neighbouring units whose
product the boundary terms price, ``y = min(x_a, x_b)`` as without zones; ``s`` - the
problem targets' shortfalls (min shortfall).

Rows: the problem's area and cost budgets (every zone spends them), then each zone's
area budget, the problem's targets (contributed amounts), each zone's targets, one
assignment row ``sum_z x_jz <= 1`` per unit with a column (``= 1`` for a unit that must
be selected), the boundary rows, and two rows per edge that bound the union's products
(``sum_{a,b} y_iajb <= u_i``, ``<= u_j``: valid inequalities that tighten the LP).

The boundary terms (`optimizer.model.zones` states them) are all non-negative rewards of
products in the min form: with ``u_j = sum_z x_jz``,

    |u_i - u_j| = u_i + u_j - 2 sum_{a,b} x_ia x_jb
    |x_iz - x_jz| = x_iz + x_jz - 2 x_iz x_jz

so every product is one ``y`` column pushed up by the objective, as `compile` does for
the boundary without zones: the pairwise weights stay non-negative (the cut form holds
over the ``x`` columns; the assignment rows are relaxed like any row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputDataError
from optimizer.model.compile import Block, CompiledModel, budget_coefficients, compile
from optimizer.model.costs import cost_budget_coefficients
from optimizer.model.objectives import objective_kind
from optimizer.model.zones import ZonedProblem

__all__ = ["ZonedModel", "compile_zones"]


@dataclass(eq=False)
class ZonedModel:
    """A zoned problem's compiled model and what its columns mean.

    Attributes
    ----------
    model : CompiledModel
        ``unit_of_col`` gives each ``x`` column's unit (a unit has one column per zone it
        may take); `CompiledModel.unit_x` is then 1 for a unit selected in any zone.
    zone_of_col : numpy.ndarray
        The zone of each ``x`` column.
    names : tuple of str
        Zone names.
    """

    model: CompiledModel
    zone_of_col: np.ndarray
    names: tuple[str, ...]

    def zone_of_unit(self, values: np.ndarray) -> np.ndarray:
        """Each unit's zone (-1: not selected) from the values of every column."""
        m = self.model
        x = np.round(np.asarray(values)[: m.n_x]) > 0.5
        zone = np.full(m.n_units, -1, dtype=np.int64)
        zone[m.unit_of_col[: m.n_x][x]] = self.zone_of_col[x]
        return zone

    def values_of(self, zone: np.ndarray) -> np.ndarray:
        """Every column's value (``y`` and ``s`` completed) from each unit's zone."""
        m = self.model
        units = m.unit_of_col[: m.n_x]
        x_cols = (np.asarray(zone)[units] == self.zone_of_col).astype(np.float64)
        return m.complete(x_cols)


def compile_zones(zp: ZonedProblem) -> ZonedModel:
    """Turn a zoned problem into arrays for any solver (see the module docstring).

    Raises
    ------
    InputDataError
        What `compile` raises for the problem without zones (no objective, no targets or
        budget it needs, conflicting locks).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.zones import Zone, zoned_problem
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> zm = compile_zones(zoned_problem(p, [Zone("core"), Zone("general", {"carbon": 0.5})]))
    >>> zm.model.n_x, zm.model.n_rows  # 6 units x 2 zones; 1 budget + 6 assignment rows
    (12, 7)
    >>> zm.model.c[[1, 7]].round(4).tolist()  # cell 2 in core, and in general (half)
    [0.1379, 0.069]
    """
    p = zp.problem
    compile(p)  # the problem's own checks (objective, targets, budget, locks), once
    obj = p.objective
    assert obj is not None
    kind = objective_kind(obj.kind)
    sense = kind.sense
    penalty_sign = -1.0 if sense == "max" else 1.0
    n, k = p.n_units, zp.k
    unprotected = 1.0 - p.protected_fraction
    protected = p.protected_fraction

    # ---------------- columns: (zone, unit) pairs allowed, zone-major
    zone_idx, unit_idx = np.nonzero(zp.allowed)
    nx = unit_idx.size
    col_of = np.full((k, n), -1, dtype=np.int64)
    col_of[zone_idx, unit_idx] = np.arange(nx)

    # ---------------- objective per column
    amounts = {f: p.feature_amount(f) for f in zp.features}
    if obj.kind not in ("max_utility", "min_set", "min_shortfall"):
        raise InputDataError(f"zones take the max_utility, min_set and min_shortfall "
                             f"objectives; this problem's is {obj.kind!r}")
    cz = zp.zone_values()[zone_idx, unit_idx]
    for lp in p.linear_penalties:
        cz += penalty_sign * lp.penalty * lp.amount[unit_idx]

    # ---------------- boundary terms: unary parts, and the products as y columns
    bp = p.boundary_penalty
    lam = bp.penalty if bp is not None else 0.0
    ef = bp.edge_factor if bp is not None else 1.0
    w_zone = np.array([z.boundary_penalty for z in zp.zones], dtype=np.float64)
    pairs_a: list[np.ndarray] = []
    pairs_b: list[np.ndarray] = []
    pair_edge: list[np.ndarray] = []  # the grid edge of each product
    pair_w: list[np.ndarray] = []  # min-form reward of each product (positive)
    if lam > 0 or (w_zone > 0).any():
        i, j, length = p.pu.boundary_indices()
        exposed = np.nan_to_num(p._column_cached("exposed_km"), nan=0.0)
        # Unary: each column pays (lambda + w_z) for its unit's edges and exposed length.
        edge_len = np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
        cz += penalty_sign * (lam + w_zone[zone_idx]) * (edge_len + ef * exposed)[unit_idx]
        for a in range(k):
            for b in range(k):
                weight = 2.0 * (lam + (w_zone[a] if a == b else 0.0))
                if weight <= 0:
                    continue
                ca, cb = col_of[a, i], col_of[b, j]
                ok = (ca >= 0) & (cb >= 0)
                pairs_a.append(ca[ok])
                pairs_b.append(cb[ok])
                pair_edge.append(np.flatnonzero(ok))
                pair_w.append(weight * length[ok])
    edges = (np.column_stack([np.concatenate(pairs_a), np.concatenate(pairs_b)])
             if pairs_a else np.zeros((0, 2), dtype=np.int64))
    y_reward = np.concatenate(pair_w) if pair_w else np.zeros(0)
    ny = edges.shape[0]
    # Valid inequalities of the union's products (with lambda > 0, every pair of zones has
    # one): a unit is in one zone, so sum_{a,b} x_ia x_jb = u_i u_j <= u_i and <= u_j.
    # Without them the LP sets x = 1/k in every zone and claims k² times the reward
    # (7% proven gap after 20 s on the demo at 40 km; they come after the boundary rows,
    # so the greedy and the rounding, which read the rows before, never see them).
    y_edge = np.concatenate(pair_edge) if pair_edge and lam > 0 else np.zeros(0, dtype=np.int64)

    # ---------------- rows over the x columns
    row_cols: list[np.ndarray] = []
    row_vals: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []
    budget_labels: list[str] = []

    def add_row(coef_cols: np.ndarray, lo: float, hi: float) -> None:
        nz = np.flatnonzero(coef_cols)
        row_cols.append(nz)
        row_vals.append(coef_cols[nz])
        lower.append(lo)
        upper.append(hi)

    for bud in p.budgets:
        coef = budget_coefficients(p, bud.scope, bud.name, unprotected)
        add_row(coef[unit_idx], bud.min_km2 if bud.min_km2 > 0 else -np.inf, bud.max_km2)
        budget_labels.append(bud.scope if bud.scope == "total" else f"{bud.scope}_{bud.name}")
    for cb in p.cost_budgets:
        add_row(cost_budget_coefficients(p, cb)[unit_idx], -np.inf, cb.max_cost)
        budget_labels.append(f"cost_{cb.cost}")
    area_new = budget_coefficients(p, "total", "total", unprotected, remainders="count")
    for zi, z in enumerate(zp.zones):
        if z.min_km2 > 0 or np.isfinite(z.max_km2):
            add_row(np.where(zone_idx == zi, area_new[unit_idx], 0.0),
                    z.min_km2 if z.min_km2 > 0 else -np.inf, z.max_km2)
            budget_labels.append(f"zone_{z.name}")
    nb = len(lower)
    target_labels: list[str] = []
    for t in p.targets:
        share = zp.contribution[zone_idx, zp.features.index(t.feature)]
        coef = (amounts[t.feature] * unprotected)[unit_idx] * share
        add_row(coef, t.amount - float((amounts[t.feature] * protected).sum()), np.inf)
        target_labels.append(t.feature)
    n_soft = len(target_labels) if kind.soft_targets else 0
    for zi, f, amount in zp.zone_targets:
        coef = np.where(zone_idx == zi, (amounts[f] * unprotected)[unit_idx] * zp.factor(zi, f),
                        0.0)
        add_row(coef, amount, np.inf)
        target_labels.append(f"{zp.zones[zi].name}_{f}")
    n_struct = len(lower)
    # Assignment rows: one per unit with a column.
    units_with = np.flatnonzero(zp.allowed.any(axis=0))
    row_of_unit = np.full(n, -1, dtype=np.int64)
    row_of_unit[units_with] = np.arange(units_with.size)
    na = units_with.size

    # ---------------- assemble
    ns = n_soft
    n_cols = nx + ny + ns
    r_idx = [np.full(c.size, r, dtype=np.int64) for r, c in enumerate(row_cols)]
    parts_r = [*r_idx, n_struct + row_of_unit[unit_idx]]
    parts_c = [*row_cols, np.arange(nx)]
    parts_v = [*row_vals, np.ones(nx)]
    if ns:  # each soft target's shortfall column, coefficient 1
        parts_r.append(nb + np.arange(ns))
        parts_c.append(nx + ny + np.arange(ns))
        parts_v.append(np.ones(ns))
    if ny:  # y - x_a <= 0 and y - x_b <= 0
        base = n_struct + na
        y_col = nx + np.arange(ny)
        parts_r += [base + 2 * np.arange(ny), base + 2 * np.arange(ny),
                    base + 2 * np.arange(ny) + 1, base + 2 * np.arange(ny) + 1]
        parts_c += [y_col, edges[:, 0], y_col, edges[:, 1]]
        parts_v += [np.ones(ny), -np.ones(ny), np.ones(ny), -np.ones(ny)]
    n_cut = 0
    if y_edge.size:
        i_e, j_e, _ = p.pu.boundary_indices()
        used_edges, cut_row = np.unique(y_edge, return_inverse=True)
        n_e = used_edges.size
        base = n_struct + na + 2 * ny
        for side, ends in ((0, i_e), (1, j_e)):  # row per edge and end: sum y - u_end <= 0
            rows = base + 2 * cut_row + side
            parts_r.append(rows)
            parts_c.append(nx + np.arange(ny))
            parts_v.append(np.ones(ny))
            cols = col_of[:, ends[used_edges]]  # (k, n_e): the end unit's columns
            has = cols >= 0
            parts_r.append(np.broadcast_to(base + 2 * np.arange(n_e) + side, cols.shape)[has])
            parts_c.append(cols[has])
            parts_v.append(-np.ones(int(has.sum())))
        n_cut = 2 * n_e
    n_rows = n_struct + na + 2 * ny + n_cut
    A = sp.csr_matrix((np.concatenate(parts_v), (np.concatenate(parts_r),
                                                 np.concatenate(parts_c))),
                      shape=(n_rows, n_cols))
    A.sum_duplicates()
    A.sort_indices()
    must = zp.must_select[units_with].astype(np.float64)
    row_lower = np.concatenate([np.array(lower, dtype=np.float64), must,
                                np.full(2 * ny + n_cut, -np.inf)])
    row_upper = np.concatenate([np.array(upper, dtype=np.float64), np.ones(na),
                                np.zeros(2 * ny + n_cut)])

    c = np.concatenate([cz, -penalty_sign * y_reward, np.zeros(ns)])
    col_upper = np.ones(n_cols)
    if ns:
        assert kind.shortfall_cost is not None
        col_upper[nx + ny:] = np.maximum(np.array(lower[nb:nb + ns]), 0.0)
        c[nx + ny:] = kind.shortfall_cost(p)
    unit_of_col = np.full(n_cols, -1, dtype=np.int64)
    unit_of_col[:nx] = unit_idx
    x_fixed = np.where(zp.allowed.any(axis=0), np.nan, 0.0)
    row_blocks = tuple(b for b in (
        Block("budget", 0, nb, tuple(budget_labels)),
        Block("target", nb, n_struct, tuple(target_labels)),
        Block("zone", n_struct, n_struct + na),
        Block("boundary", n_struct + na, n_struct + na + 2 * ny),
        Block("zone_edge", n_struct + na + 2 * ny, n_rows),
    ) if b.stop > b.start)
    col_blocks = tuple(b for b in (
        Block("x", 0, nx), Block("y", nx, nx + ny),
        Block("s", nx + ny, n_cols, tuple(target_labels[:ns])),
    ) if b.stop > b.start)
    model = CompiledModel(
        sense=sense, c=c, offset=0.0, A=A, row_lower=row_lower, row_upper=row_upper,
        col_lower=np.zeros(n_cols), col_upper=col_upper,
        integrality=np.arange(n_cols) < nx, n_units=n, unit_of_col=unit_of_col,
        x_fixed=x_fixed, unit_ids=p.pu.units["pu_id"].to_numpy(), row_blocks=row_blocks,
        col_blocks=col_blocks, edge_x_cols=edges,
        shortfall_rows=np.arange(nb, nb + ns) if ns else np.zeros(0, dtype=np.int64),
    )
    return ZonedModel(model, zone_idx.astype(np.int64), zp.names)
