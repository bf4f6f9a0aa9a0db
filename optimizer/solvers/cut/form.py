"""The cut form of a compiled model: unit terms plus non-negative pairwise terms.

With ``y_jk = min(x_j, x_k)`` the compiled objective ``c_x x + c_y y`` equals
``sigma * (u x + sum_e w_e |x_j - x_k|)`` plus a constant (``sigma = +1`` for min and
``-1`` for max sense, ``w_e = -sigma c_y / 2``, ``u = sigma (c_x + c_y/2 on both ends)``).
When every ``w_e >= 0`` minimising ``u x + w |dx|`` is an s-t minimum cut.
`has_cut_form` is the test ``auto`` uses to pick the cut solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.errors import SolverError
from optimizer.model.compile import CompiledModel

#: ``auto`` uses the cut solver only up to this many relaxed rows (budget sides
#: and targets); beyond it the multiplier search needs too many cuts to beat HiGHS.
AUTO_MAX_RELAXED_ROWS = 64


# ============================================================== cut form

@dataclass(frozen=True)
class CutForm:
    """The model's unit and boundary terms as ``sigma * (u x + sum_e w_e |x_i - x_j|) + offset``.

    Attributes
    ----------
    unary : numpy.ndarray
        ``u``, min-form cost of selecting each ``x`` column.
    ei, ej : numpy.ndarray
        ``x`` columns of each pairwise term.
    w : numpy.ndarray
        Non-negative pairwise weights (boundary length times penalty).
    sigma : float
        +1 for a min model, -1 for a max model.
    """

    unary: np.ndarray
    ei: np.ndarray
    ej: np.ndarray
    w: np.ndarray
    sigma: float

    @property
    def n(self) -> int:
        """Number of ``x`` columns."""
        return int(self.unary.size)

    def value(self, x: np.ndarray) -> float:
        """Min-form value ``u x + sum_e w_e |x_i - x_j|`` of a 0/1 vector.

        A 0/1 ``x`` takes the cut edges as booleans (``x_i != x_j``): the float form
        allocates four edge-sized float arrays per call, and that call is the Lagrangian
        search's hot spot (on the demo at 10 km, 33k edges: 2.0 ms -> 0.23 ms a call; it
        took 5.3 of a frontier's 11.5 s). Any other ``x`` takes the float form.

        Examples
        --------
        >>> f = CutForm(np.array([1.0, -2.0, 0.5]), np.array([0, 1]), np.array([1, 2]),
        ...             np.array([3.0, 4.0]), 1.0)
        >>> f.value(np.array([1.0, 0.0, 0.0])), f.value(np.array([0.5, 0.0, 0.0]))
        (4.0, 2.0)
        """
        on = x != 0
        if np.count_nonzero(x[on] != 1):  # not 0/1
            return float(self.unary @ x + self.w @ np.abs(x[self.ei] - x[self.ej]))
        return float(self.unary[on].sum() + self.w[on[self.ei] != on[self.ej]].sum())

    def gain_on(self, x: np.ndarray) -> np.ndarray:
        """Min-form change of switching each column on (for columns now off)."""
        return self.unary + self._pair(1.0 - 2.0 * x)

    def _pair(self, v: np.ndarray) -> np.ndarray:
        return (np.bincount(self.ei, self.w * v[self.ej], minlength=self.n)
                + np.bincount(self.ej, self.w * v[self.ei], minlength=self.n))


def cut_form(model: CompiledModel) -> CutForm:
    """Derive the cut form of a compiled model, checking that it holds.

    Raises
    ------
    SolverError
        A pairwise weight is negative (the objective rewards boundary), so the
        objective is not a cut function; use the HiGHS solver instead.
    """
    spatial = spatial_reason(model)
    if spatial:
        raise SolverError(f"cut solver: {spatial}; use solver='highs'")
    nx = model.n_x
    sigma = 1.0 if model.sense == "min" else -1.0
    yb = model.block("y", rows=False)
    cy = model.c[yb.start:yb.stop]
    e = model.edge_x_cols
    bad = _negative_weights(model)
    if bad:
        raise SolverError(f"cut solver: {bad} boundary edge(s) have a negative pairwise weight "
                          "(the objective rewards boundary), so the model has no cut form; use "
                          "solver='highs'")
    w = np.maximum(-sigma * cy / 2.0, 0.0)
    unary = sigma * model.c[:nx].astype(np.float64)
    ei, ej = np.ascontiguousarray(e[:, 0]), np.ascontiguousarray(e[:, 1])
    if cy.size:
        half = sigma * cy / 2.0
        unary += np.bincount(ei, half, minlength=nx)
        unary += np.bincount(ej, half, minlength=nx)
    return CutForm(unary, ei, ej, w, sigma)


def _negative_weights(model: CompiledModel) -> int:
    """Number of boundary edges whose pairwise weight is negative beyond round-off (0 when
    the model has the cut form): the test of `cut_form`, without building the form."""
    sigma = 1.0 if model.sense == "min" else -1.0
    yb = model.block("y", rows=False)
    w = -sigma * model.c[yb.start:yb.stop]  # twice the weights
    if w.size == 0 or float(w.min()) >= 0:
        return 0
    return int((w < -1e-12 * max(1.0, float(np.abs(w).max()))).sum())


def has_cut_form(model: CompiledModel) -> tuple[bool, str]:
    """Whether ``auto`` should pick the cut solver, and why (or why not)."""
    yb = model.block("y", rows=False)
    if model.n_x == 0:
        return False, "no free units"
    if yb.stop <= yb.start:
        return False, "no boundary edges between free units (no boundary penalty)"
    spatial = spatial_reason(model)
    if spatial:
        return False, spatial
    extra = set(b.kind for b in model.col_blocks) - {"x", "y", "s"}
    if extra:
        return False, f"columns of kind {sorted(extra)} that the cut form does not know"
    bad = _negative_weights(model)
    if bad:
        return False, (f"cut solver: {bad} boundary edge(s) have a negative pairwise weight "
                       "(the objective rewards boundary), so the model has no cut form; use "
                       "solver='highs'")
    n_rel = n_relaxed(model)
    if n_rel > AUTO_MAX_RELAXED_ROWS:
        return False, f"{n_rel} relaxed rows (more than {AUTO_MAX_RELAXED_ROWS})"
    return True, "cut form holds"


def spatial_reason(model: CompiledModel) -> str:
    """Why the model has no cut form because of connectivity parts (``""`` when it has none):
    pair terms the objective pushes down (``z`` columns) or neighbour rows."""
    zb = model.block("z", rows=False)
    if zb.stop > zb.start:
        return (f"{zb.stop - zb.start} connectivity pair term(s) reward keeping units apart "
                "(negative values or penalty) and need the row z >= x_i + x_j - 1, so the "
                "model has no cut form")
    nb = model.block("neighbours")
    if nb.stop > nb.start:
        return "neighbour constraints are rows the cut form does not relax"
    pb = model.block("park")
    if pb.stop > pb.start:
        return "park constraints (contiguity, minimum park size) are rows the cut form does not relax"
    return ""


def n_struct(model: CompiledModel) -> int:
    """Number of structural rows (budgets and targets): the rows before the boundary rows."""
    bnd = model.block("boundary")
    return bnd.start if bnd.stop > bnd.start else model.n_rows


def n_relaxed(model: CompiledModel) -> int:
    """How many structural row bounds the cut form relaxes with multipliers (finite sides)."""
    ns = n_struct(model)
    return int(np.isfinite(model.row_lower[:ns]).sum() + np.isfinite(model.row_upper[:ns]).sum())
