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
    """

    scope: Literal["total", "region", "ecosystem"]
    name: str
    min_km2: float = 0.0
    max_km2: float = float("inf")

    @property
    def label(self) -> str:
        """A short name for messages and row names, e.g. ``region 'Hexi'``."""
        return "total" if self.scope == "total" else f"{self.scope} {self.name!r}"


@dataclass(frozen=True, eq=False)
class Lock:
    """A set of units forced into (``value=1``) or out of (``value=0``) the solution."""

    label: str
    value: int
    mask: np.ndarray


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
