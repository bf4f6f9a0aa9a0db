"""The parts of a conservation-planning problem: objective, targets, budgets, locks, penalties.

Small frozen records that a `optimizer.model.problem.Problem` holds and `optimizer.model.compile`
reads; the ``add_*`` methods of `Problem` make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from optimizer.errors import InputDataError

DEFAULT_PA_THRESHOLD = 0.5


@dataclass(frozen=True)
class WeightQuantity:
    """One quantity a planner weighs, and the effective weight of each of its features.

    A mass role (carbon stock, carbon uptake, emissions) is one quantity: the mass of
    its features summed; every other feature is a quantity of its own
    (`optimizer.model.objectives.weights`).

    Attributes
    ----------
    name : str
        The quantity: a role (``carbon_stock``), a layer (``npp``) or a feature.
    weight : float
        Its weight ``W_Q``.
    features : tuple of (feature, weight)
        The effective weight ``w_f`` of each of its features (they sum to ``W_Q``).
    years : str, int or None
        How its layers of several years count (``"mean"``, ``"latest"`` or a year); None
        when it has no layer of several years.
    override : bool
        A feature column named on its own: its weight replaces what groups gave it.
    """

    name: str
    weight: float
    features: tuple[tuple[str, float], ...]
    years: str | int | None = None
    override: bool = False


@dataclass(frozen=True)
class Objective:
    """The objective of a problem.

    Attributes
    ----------
    kind : str
        A key of `optimizer.model.objectives.OBJECTIVES` (``"max_utility"``,
        ``"min_set"``, ``"min_shortfall"``).
    weights : tuple of (feature, weight)
        Max utility: the effective weight ``w_k`` of each feature in ``v_j``. Min
        shortfall: the weight of each target's relative shortfall (features absent
        weigh 1).
    years : str, int or None
        Max utility: how a layer of several years counts (``"mean"``, ``"latest"`` or a
        year); None for kinds whose weights weigh no quantities.
    quantities : tuple of WeightQuantity
        Max utility: the quantities weighed and their features' effective weights.
    """

    kind: str
    weights: tuple[tuple[str, float], ...] = ()
    years: str | int | None = None
    quantities: tuple[WeightQuantity, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Target:
    """A representation target for one feature.

    ``amount`` is the absolute amount to hold (existing protection included), in
    the feature's unit; `relative` records the share it came from (None when the
    target was given as an amount).
    """

    feature: str
    amount: float
    relative: float | None = None


#: Whether the unprotected remainders of existing protected units (locked in as existing
#: protection, `Problem.existing_protection_mask`) spend an area budget: ``"count"`` (they
#: do) or ``"free"`` (they are added without spending it).
REMAINDERS = ("count", "free")


@dataclass(frozen=True)
class AreaBudget:
    """Bounds on the new area (km²) added, in total, in a region or of an ecosystem.

    Attributes
    ----------
    scope : {"total", "region", "ecosystem"}
    name : str
        Region name (scope "region"), land-cover column (scope "ecosystem"), or "total".
    min_km2, max_km2 : float
        Bounds on the new area; ``0`` and ``inf`` when unbounded.
    remainders : {"count", "free"}
        ``"count"``: the unprotected remainders of existing protected units (units at or
        above the problem's ``pa_threshold``, locked in) spend this budget, as any new area;
        ``"free"``: they are added without spending it (the plan's new area is then the
        budget plus the remainders). Units the user locks in always count.
    """

    scope: Literal["total", "region", "ecosystem"]
    name: str
    min_km2: float = 0.0
    max_km2: float = float("inf")
    remainders: Literal["count", "free"] = "count"

    @property
    def label(self) -> str:
        """A short name for messages and row names, e.g. ``region 'Hexi'``."""
        return "total" if self.scope == "total" else f"{self.scope} {self.name!r}"

    @classmethod
    def from_bounds(cls, scope: str, name: str, whole: float, *, max_km2: Any = None,
                    max_share: Any = None, min_km2: Any = None,
                    remainders: str = "count") -> AreaBudget:
        """A budget from a caller's bounds, checked: ``max_share`` is a share of ``whole``
        (the study area, the region's area or the ecosystem's); one-line errors otherwise.

        Examples
        --------
        >>> AreaBudget.from_bounds("region", "Hexi", 5000.0, max_share=0.1).max_km2
        500.0
        """
        where = f"area budget ({scope} {name!r})"
        upper = float("inf")
        if max_km2 is not None:
            upper = finite_number(max_km2, "max_km2")
        elif max_share is not None:
            share = finite_number(max_share, "max_share")
            if not 0.0 <= share <= 1.0:
                raise InputDataError(f"max_share must be a share in [0, 1]; got {share}; write "
                                     "10% as 0.1")
            upper = share * whole
        lower = 0.0 if min_km2 is None else finite_number(min_km2, "min_km2")
        if upper < 0 or lower < 0:
            raise InputDataError(f"{where} bounds must be >= 0; got min_km2={lower}, "
                                 f"max_km2={upper}")
        if lower > upper:
            raise InputDataError(f"{where}: min_km2={lower} exceeds max_km2={upper}; swap or "
                                 "widen them")
        if remainders not in REMAINDERS:
            raise InputDataError(f"{where}: remainders must be one of "
                                 f"{', '.join(map(repr, REMAINDERS))}; got {remainders!r}")
        return cls(scope, name, lower, upper, remainders)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CostBudget:
    """An upper bound on what the plan's new land costs, read from one cost layer's column.

    A unit spends ``c_j (1 - p_j)``: its cost for its unprotected part (the part a plan
    adds), as the area budget counts ``a_j (1 - p_j)``. Locked-in units spend it too
    (`optimizer.model.costs`).

    Attributes
    ----------
    cost : str
        The column of a layer with the ``cost`` role (`optimizer.inputs.roles`).
    max_cost : float
        The most the plan may cost, in ``unit``.
    unit : str
        The column's unit, the total its layer's unit aggregates to (``cost``).
    source_unit : str
        The layer's own unit (``cost/km2``, ``cost/cell``); ``""`` when unknown.
    """

    cost: str
    max_cost: float
    unit: str = "cost"
    source_unit: str = ""

    @property
    def label(self) -> str:
        """A short name for messages and row names, e.g. ``cost 'land_price'``."""
        return f"cost {self.cost!r}"

    @property
    def unit_text(self) -> str:
        """The unit as printed with the budget: ``cost (layer in cost/km2)``."""
        if self.source_unit and self.source_unit != self.unit:
            return f"{self.unit} (layer in {self.source_unit})"
        return self.unit


@dataclass(frozen=True, eq=False)
class Lock:
    """A set of units forced into (``value=1``) or out of (``value=0``) the solution;
    ``source`` names the polygon file of a lock by polygons (None otherwise)."""

    label: str
    value: int
    mask: np.ndarray
    source: str | None = None


@dataclass(frozen=True)
class BoundaryPenalty:
    """Boundary-length penalty ``penalty * boundary(x)``.

    ``boundary(x) = edge_factor * sum_j e_j x_j + sum_(j,k) L_jk |x_j - x_k|`` with
    ``e_j`` the exposed (outer) perimeter of unit j, in km. ``compactness`` and
    ``break_even`` record how a scale-free compactness chose the penalty
    (`optimizer.plan.calibration.add_compactness`): the position in [0, 1] and the
    break-even penalty it multiplies; None when the penalty was given as a number.
    """

    penalty: float
    edge_factor: float = 1.0
    compactness: float | None = None
    break_even: float | None = None


@dataclass(frozen=True, eq=False)
class LinearPenalty:
    """Penalty ``penalty * sum_j amount_j x_j`` on any per-unit layer (as given)."""

    label: str
    penalty: float
    amount: np.ndarray


# ---------------------------------------------------------------- argument checks

def finite_number(value: Any, argument: str) -> float:
    """``value`` as a finite float, else `InputDataError` naming ``argument``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputDataError(f"{argument} must be a number; got {value!r}") from None
    if not np.isfinite(out):
        raise InputDataError(f"{argument} must be finite; got {value!r}")
    return out


def readonly(arr: np.ndarray) -> np.ndarray:
    """``arr`` made read-only (a problem's arrays are shared by its copies)."""
    arr = np.asarray(arr)
    arr.setflags(write=False)
    return arr
