"""A Marxan project compiled straight from its tables: `marxan_model`.

``carbonpark marxan`` solves ``compile(project.to_problem(blm))``; building that
`optimizer.model.problem.Problem` needs `optimizer.grid.planning_units.PlanningUnits`, a
GeoDataFrame: pandas, geopandas and shapely, most of a second to import for a problem
that solves in a tenth of one. `marxan_model` gives the same `CompiledModel`, array for
array (`optimizer.model.compile.compile_parts` builds both), from the project's numpy
tables; `marxan_penalty` is the boundary penalty its plans carry and
`unreachable_targets` flags the targets `optimizer.plan.solving.diagnose` would refuse
(the caller then builds the `Problem` for its message).
"""

from __future__ import annotations

import numpy as np

from optimizer.errors import InputDataError
from optimizer.io.marxan.input_dat import check_blm
from optimizer.io.marxan.project import MarxanProject
from optimizer.model.compile import BoundaryTerms, CompiledModel, Row, compile_parts
from optimizer.model.objectives import objective_kind


def marxan_penalty(project: MarxanProject, blm: float | None = None) -> float:
    """The boundary penalty of ``project.to_problem(blm)``: ``blm`` (default: BLM of
    input.dat) when it is > 0 and the project has boundary rows, else 0."""
    blm = project.blm if blm is None else check_blm(blm, "blm")
    return blm if blm > 0 and len(project.bound) else 0.0


def _target_rows(project: MarxanProject, locked_in: np.ndarray) -> list[Row]:
    """The target rows of ``project.to_problem()``: features with ``prop > 0`` first (a
    share of the feature's total), then the others (``target`` as an amount), each group
    in spec.dat order, as `optimizer.model.problem.Problem` orders them."""
    spec = project.spec
    matrix = project.amount_matrix()
    prop = np.asarray(spec["prop"], dtype=np.float64)
    rows: list[Row] = []
    for relative in (True, False):
        for k in np.flatnonzero((prop > 0) == relative):
            r = matrix[k].toarray().ravel()  # one feature at a time, as compile reads it
            share = float(prop[k])
            if relative and not 0.0 <= share <= 1.0:
                raise InputDataError(f"relative target for {spec['column'][k]!r} must be a share "
                                     f"in [0, 1]; got {share}; write 30% as 0.3")
            amount = share * float(r.sum()) if relative else float(spec["target"][k])
            coef = r * 1.0  # nothing of a Marxan unit is protected already
            const = float((r * 0.0).sum() + coef[locked_in].sum())
            rows.append(Row(str(spec["column"][k]), coef, amount - const, np.inf))
    return rows


def marxan_model(project: MarxanProject, blm: float | None = None) -> CompiledModel:
    """``compile(project.to_problem(blm))``, built from the project's tables alone.

    The same arrays, in the same order, as the `Problem` path (tested on every example
    project and the real ones): cost per unit, status 2 locked in and status 3 locked
    out, Marxan's targets, and the boundary penalty ``blm`` with ``edge_factor=1``; no
    `PlanningUnits`, no `Problem`, no pandas.

    Parameters
    ----------
    project : MarxanProject
    blm : float, optional
        Boundary length modifier (default: BLM of input.dat).

    Returns
    -------
    CompiledModel

    Raises
    ------
    InputDataError
        As `MarxanProject.to_problem`: ``blm`` is negative, the project uses what a
        min-set problem cannot express, or a ``prop`` is above 1.
    """
    blm = project.blm if blm is None else check_blm(blm, "blm")
    project.check_expressible()
    status = np.asarray(project.pu["status"])
    locked_in, locked_out = status == 2, status == 3
    n = project.n_units
    unit_obj = np.zeros(n)
    unit_obj += np.asarray(project.pu["cost"], dtype=np.float64)
    boundary = None
    penalty = marxan_penalty(project, blm)
    if penalty > 0:
        fixed, i, j, length = project.boundary_arrays()
        ids = np.asarray(project.pu["id"])
        a, b = np.minimum(i, j), np.maximum(i, j)
        order = np.lexsort((b, a))  # as PlanningUnits keeps its boundary: by unit pair
        a, b, length = a[order], b[order], length[order]
        swap = ids[a] > ids[b]  # each pair from its lower id
        i, j = np.where(swap, b, a), np.where(swap, a, b)
        boundary = BoundaryTerms(i, j, length, fixed, penalty, 1.0)
    kind = objective_kind("min_set")
    return compile_parts(kind.sense, unit_obj, locked_in, locked_out, np.asarray(project.pu["id"]),
                         boundary=boundary, target_rows=_target_rows(project, locked_in))


def unreachable_targets(project: MarxanProject) -> np.ndarray:
    """Features (spec order) whose target may be out of reach outside status-3 units: those
    `optimizer.plan.solving.diagnose` may refuse (a slightly wider net: the diagnosis of
    ``project.to_problem()`` decides and words the message)."""
    matrix = project.amount_matrix()
    possible = np.asarray(project.pu["status"]) != 3
    reach = np.asarray(matrix[:, possible].sum(axis=1)).ravel()
    prop = np.asarray(project.spec["prop"], dtype=np.float64)
    total = np.asarray(matrix.sum(axis=1)).ravel()
    amount = np.where(prop > 0, prop * total, np.asarray(project.spec["target"], dtype=np.float64))
    # diagnose's test, reach < amount (1 - 1e-9) - 1e-12, widened by far more than rounding
    return reach < amount * (1 - 1e-9 + 1e-10) - 1e-12 + 1e-12 * np.abs(amount)
