"""Contiguity and minimum park size as constraints, enforced by row generation.

`ParkConstraint` records them on a `Problem` (`ContiguityMethods.add_contiguity_constraints`,
`ContiguityMethods.add_min_park_constraints`); `optimizer.plan.solving.solve` enforces them:
solve the model without them, find the connected components of the plan
(`scipy.sparse.csgraph`), add a row excluding each offending component as it stands
(`park_cuts`), solve again, until the plan has none. Every round solves a
relaxation of the constrained problem, so every round's bound stays valid: the plan of the
last round is feasible and its proven gap is measured against the tightest bound.

* **Minimum park size** (``min_km2``): a park is a connected group of *added* units (units
  the plan selects that are not locked in), as `optimizer.plan.parks.candidate_parks` draws
  them (rook adjacency: a shared edge), its area their new area ``(1 - p_j) a_j``. For a
  park S under ``min_km2`` with free neighbours ``N(S)``, and each unit i of S:
  ``x_i <= sum_{j in N(S)} x_j`` (a park holding i lies within S, so it is too small, or
  leaves S through N(S)). This is stronger than excluding S as it stands,
  ``sum_{i in S} (1 - x_i) + sum_{j in N(S)} x_j >= 1``, which it implies; that one alone
  took 637 rounds on a 3 x 4 grid.
* **Contiguity**: every selected unit, locked-in units (existing protection) included, is
  in one connected component. For a component S of the plan, a unit i of S and a unit j of
  the largest component L (locked-in ones preferred: they are constants), every layer C of
  units at one graph distance from S (or from L), nearer than the other, separates i from
  j, so ``x_i + x_j - 1 <= sum_{c in C} x_c`` (vertex-separator cuts; ``C = N(S)`` is the
  first layer). Limitation, measured (``benchmarks/bench_connectivity.py``): where the
  best plan without contiguity is two distant blobs, many corridors tie and the rounds
  multiply (a 24 x 24 grid: no contiguous plan after 100 rounds in 60 s); the solve then
  ends with a one-line `SolverError`, never with a plan that breaks the constraint.

Why row generation: prioritizr's ``add_contiguity_constraints`` uses a single-commodity
flow formulation (Önal and Briers 2006): a flow variable per directed edge and a root
choice, ~3 edges' worth of columns and rows whatever the plan; minimum park size needs a
flow per park and has no compact exact form. The cuts above are exact (a plan breaking a
constraint is cut off, a plan meeting them never is), add rows only where plans break them,
keep every intermediate bound valid, and reuse the model and solvers as they are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.connectivity import adjacency
from optimizer.model.parts import finite_number

if TYPE_CHECKING:
    from optimizer.model.problem import Problem

__all__ = ["ContiguityMethods", "ParkConstraint", "check_solved_whole", "park_cuts",
           "park_violations"]


@dataclass(frozen=True)
class ParkConstraint:
    """Contiguity of the whole plan and a minimum area (km²) per park of added units."""

    contiguous: bool = False
    min_km2: float = 0.0


def _components(adj: sp.csr_matrix, mask: np.ndarray) -> tuple[int, np.ndarray]:
    """Components of the units in ``mask``: their count and each unit's label (-1 outside)."""
    # start-up: csgraph (and scipy.sparse.linalg) stay out of `carbonpark marxan`'s imports
    from scipy.sparse.csgraph import connected_components

    idx = np.flatnonzero(mask)
    labels = np.full(mask.size, -1, dtype=np.int64)
    if idx.size == 0:
        return 0, labels
    k, lab = connected_components(adj[idx][:, idx], directed=False)
    labels[idx] = lab
    return int(k), labels


def park_violations(problem: Problem, x: np.ndarray) -> dict[str, Any]:
    """What a per-unit 0/1 plan breaks: ``components`` (of all selected units; contiguity
    wants 1) and ``small_parks`` (parks of added units under ``min_km2``)."""
    pc = problem.park_constraint or ParkConstraint()
    sel = np.asarray(x) > 0.5
    locked_in, _ = problem.locked_masks()
    adj = adjacency(problem.pu)
    k_all, _ = _components(adj, sel)
    k, lab = _components(adj, sel & ~locked_in)
    area = np.bincount(lab[lab >= 0], problem.unprotected_km2[lab >= 0], minlength=k)
    return {"components": k_all, "small_parks": int((area < pc.min_km2 - 1e-9).sum())}


def check_solved_whole(problem: Problem, where: str) -> None:
    """Raise when ``problem`` has park constraints and ``where`` solves its compiled model
    without `optimizer.plan.solving.solve` (which alone runs the row generation).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_contiguity_constraints()
    >>> check_solved_whole(p, "frontier()")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: frontier() does not enforce contiguity or a minimum ...
    """
    if problem.park_constraint is not None:
        raise InputDataError(f"{where} does not enforce contiguity or a minimum park size (only "
                             "solve() does, by row generation); remove them ([constraints] "
                             f"contiguous, min_park_km2) for {where}")


def park_cuts(problem: Problem, free_idx: np.ndarray, x: np.ndarray
              ) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """Rows (over the ``x`` columns: the units ``free_idx``, in order) cutting off the plan
    ``x`` (per unit, 0/1) where it breaks the problem's `ParkConstraint`, and their lower
    bounds; None when it breaks none.

    Raises
    ------
    InfeasibleProblemError
        Locked-in units that no free unit can connect (contiguity).
    """
    pc = problem.park_constraint
    if pc is None:
        return None
    n = problem.n_units
    sel = np.asarray(x) > 0.5
    locked_in, locked_out = problem.locked_masks()
    free = ~(locked_in | locked_out)
    adj = adjacency(problem.pu)
    blocks: list[sp.csr_matrix] = []
    lowers: list[np.ndarray] = []
    if pc.min_km2 > 0:
        k, lab = _components(adj, sel & free)
        area = np.bincount(lab[lab >= 0], problem.unprotected_km2[lab >= 0], minlength=k)
        small = np.flatnonzero(area < pc.min_km2 - 1e-9)
        if small.size:
            member = _membership(lab, small, n)  # small parks x units
            near = ((member @ adj) > 0).multiply(free[None, :]).multiply(~sel[None, :])
            units = member.tocoo()  # one row per unit i of a small park: N(S) - x_i >= 0
            grow = sp.csr_matrix(near, dtype=np.float64)[units.row] - sp.csr_matrix(
                (np.ones(units.col.size), (np.arange(units.col.size), units.col)),
                shape=(units.col.size, n))
            blocks.append(sp.csr_matrix(grow)[:, free_idx])
            lowers.append(np.zeros(units.col.size))
    if pc.contiguous:
        k, lab = _components(adj, sel)
        if k > 1:
            cut, low = _separator_cuts(problem, adj, sel, free, locked_in, lab, k)
            blocks.append(cut[:, free_idx])
            lowers.append(low)
    if not blocks:
        return None
    rows_all = sp.vstack(blocks, format="csr")
    rows_all.eliminate_zeros()
    return rows_all, np.concatenate(lowers)


def repair_parks(problem: Problem, x: np.ndarray, unit_value: np.ndarray) -> np.ndarray | None:
    """A plan that meets the park constraints, from ``x`` by removing added units: for
    contiguity, every component but the one holding the locked-in units (or, without any,
    the one of most ``unit_value``); for a minimum park size, every park of added units
    smaller than it (but the largest, when all are: the caller regrows it and checks).
    None when removals cannot mend it (locked-in units apart).

    A heuristic incumbent for `optimizer.plan.solving.solve_with_park_cuts` (anytime: a
    plan however early the time runs out); the caller checks the model's rows and keeps the
    plan only if it holds them (removing units can break a target or a minimum area).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_contiguity_constraints()
    >>> repair_parks(p, np.array([1, 0, 1, 0, 0, 1.0]), np.ones(6)).tolist()  # 1 apart
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    pc = problem.park_constraint
    sel = np.asarray(x) > 0.5
    if pc is None:
        return sel.astype(np.float64)
    locked_in, locked_out = problem.locked_masks()
    free = ~(locked_in | locked_out)
    adj = adjacency(problem.pu)
    if pc.contiguous:
        k, lab = _components(adj, sel)
        if k > 1:
            held = np.unique(lab[sel & locked_in])
            if held.size > 1:
                return None
            if held.size == 1:
                keep = int(held[0])
            else:
                on = lab >= 0
                keep = int(np.argmax(np.bincount(lab[on], unit_value[on], minlength=k)))
            sel = sel & (lab == keep)
    if pc.min_km2 > 0:
        k, lab = _components(adj, sel & free)
        if k:
            on = lab >= 0
            area = np.bincount(lab[on], problem.unprotected_km2[on], minlength=k)
            small = area < pc.min_km2 - 1e-9
            if small.all():  # keep the largest to regrow (the caller's `grow_plan`)
                small[int(np.argmax(area))] = False
            drop = on & small[np.maximum(lab, 0)]
            sel = sel & ~drop
            # Dropping a park may cut the kept component apart.
            if pc.contiguous and drop.any() and _components(adj, sel)[0] > 1:
                return None
    return sel.astype(np.float64)


def _separator_cuts(problem: Problem, adj: sp.csr_matrix, sel: np.ndarray, free: np.ndarray,
                    locked_in: np.ndarray, lab: np.ndarray, k: int
                    ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Contiguity cuts ``x(C) - x_i - x_j >= -1`` (locked ends as constants) for each component
    S but the largest, L: i of S, j of L, and every layer ``C`` of the units at one graph
    distance from S (or from L) nearer than the other, with no selected unit. Each layer
    separates i from j, so each cut holds for every connected plan; the layers cut off many
    corridors at once (one separator per round took 136 rounds on a 24 x 24 grid)."""
    from scipy.sparse.csgraph import dijkstra  # start-up, as `_components`

    n = sel.size
    size = np.bincount(lab[lab >= 0], minlength=k)
    main = int(np.argmax(size))
    rep = _representatives(lab, k, locked_in)
    j = int(rep[main])
    rows: list[np.ndarray] = []
    ends: list[tuple[int, int]] = []
    for c in range(k):
        if c == main:
            continue
        i = int(rep[c])
        for src, dst in ((c, main), (main, c)):
            dist = dijkstra(adj, directed=False, unweighted=True, min_only=True,
                                 indices=np.flatnonzero(lab == src))
            reach = dist[lab == dst].min()
            if not np.isfinite(reach):  # never connected: x_i + x_j <= 1
                rows.append(np.zeros(0, dtype=np.int64))
                ends.append((i, j))
                break
            for d in range(1, int(reach)):
                units = np.flatnonzero(dist == d)
                if not sel[units].any():
                    rows.append(units[free[units]])
                    ends.append((i, j))
    if not rows:
        return sp.csr_matrix((0, n)), np.zeros(0)
    m = len(rows)
    ii = np.array([e[0] for e in ends])
    jj = np.array([e[1] for e in ends])
    const = locked_in[ii].astype(np.float64) + locked_in[jj]
    stuck = np.array([r.size == 0 for r in rows]) & (const == 2)
    if stuck.any():
        ids = problem.pu.units["pu_id"].to_numpy()
        raise InfeasibleProblemError(
            f"contiguity: locked-in units {ids[ii[stuck][0]]} and {ids[jj[0]]} cannot be "
            "connected (no free unit between their components); drop the contiguity "
            "constraint or unlock units between them")
    r_sep = np.repeat(np.arange(m), [r.size for r in rows])
    c_sep = np.concatenate(rows)
    fi, fj = ~locked_in[ii], ~locked_in[jj]
    r = np.concatenate([r_sep, np.flatnonzero(fi), np.flatnonzero(fj)])
    col = np.concatenate([c_sep, ii[fi], jj[fj]])
    val = np.concatenate([np.ones(c_sep.size), -np.ones(int(fi.sum()) + int(fj.sum()))])
    return sp.csr_matrix((val, (r, col)), shape=(m, n)), const - 1.0


def _membership(lab: np.ndarray, comps: np.ndarray, n: int) -> sp.csr_matrix:
    """Components ``comps`` x units, 1 where the unit is in the component."""
    pos = np.full(int(lab.max()) + 1, -1, dtype=np.int64)
    pos[comps] = np.arange(comps.size)
    units = np.flatnonzero(lab >= 0)
    units = units[pos[lab[units]] >= 0]
    return sp.csr_matrix((np.ones(units.size), (pos[lab[units]], units)),
                         shape=(comps.size, n))


def _representatives(lab: np.ndarray, k: int, locked_in: np.ndarray) -> np.ndarray:
    """One unit per component: a locked-in one when it has any, else its first unit."""
    units = np.flatnonzero(lab >= 0)
    order = np.lexsort((units, ~locked_in[units], lab[units]))
    first = np.unique(lab[units][order], return_index=True)[1]
    rep = np.empty(k, dtype=np.int64)
    rep[lab[units][order][first]] = units[order][first]
    return rep


class ContiguityMethods:
    """The park constraints of `optimizer.model.problem.Problem` (a mixin)."""

    def add_contiguity_constraints(self: Any) -> Problem:
        """All selected units, locked-in units (existing protection) included, form one
        connected park (rook adjacency). Enforced exactly by `optimizer.plan.solving.solve`
        with row generation (`optimizer.model.contiguity`); HiGHS.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = problem(pu).add_max_utility_objective(2, weights={"sp_a": 1, "carbon": 1})
        >>> pu.units["pu_id"][solve(p).selected].tolist()  # three parts: 1 is protected
        [1, 3, 5]
        >>> pu.units["pu_id"][solve(p.add_contiguity_constraints()).selected].tolist()
        [1, 4, 5]
        """
        old = self.park_constraint or ParkConstraint()
        pc = dataclasses.replace(old, contiguous=True)
        return dataclasses.replace(self, park_constraint=pc, _cache=self._cache)

    def add_min_park_constraints(self: Any, min_km2: float) -> Problem:
        """Every park (connected group of added units, as `optimizer.plan.parks` draws them)
        holds at least ``min_km2`` of new area. Enforced exactly by row generation in
        `optimizer.plan.solving.solve` (`optimizer.model.contiguity`); HiGHS. Unlike
        `optimizer.plan.parks.candidate_parks`'s ``min_km2``, which drops small parks after
        the solve, this constrains the plan.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
        ...      .add_min_park_constraints(2))
        >>> pu.units["pu_id"][solve(p).selected].tolist()
        [1, 4, 5]
        """
        value = finite_number(min_km2, "min_park_km2")
        if value < 0:
            raise InputDataError(f"min_park_km2 must be >= 0 (km²); got {min_km2!r}")
        old = self.park_constraint or ParkConstraint()
        pc = dataclasses.replace(old, min_km2=value)
        return dataclasses.replace(self, park_constraint=pc, _cache=self._cache)
