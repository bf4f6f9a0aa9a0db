"""One kind of objective: its facts and the terms that differ from kind to kind.

An `ObjectiveKind` says what a kind optimises (its sense, what it needs and takes) and
holds the functions that make its terms: the per-unit objective coefficients and the
shortfall costs that `optimizer.model.compile.compile` writes, and its value for a plan,
recomputed from the problem's parts by `optimizer.plan.results.objective_value`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from optimizer.model.problem import Problem

#: What the weights of a kind weigh (`optimizer.model.objectives.weights`).
WeightsMode = Literal["utility", "targets"]


@dataclass(frozen=True)
class ObjectiveKind:
    """One kind of objective (a value of `optimizer.model.objectives.OBJECTIVES`).

    Attributes
    ----------
    name : str
        The kind as a problem and a scenario name it (``objective.kind = "min_set"``).
    sense : {"min", "max"}
        Penalties raise a min objective and lower a max one.
    method : str
        The `Problem` method that adds it (``add_min_set_objective``), for messages.
    summary : str
        What it optimises, for the scenario reference (``least cost meeting the targets``).
    aim : str
        What it optimises as a clause of a message (``minimises cost``).
    printed : str
        Its line in ``print(problem)`` after its label: a template that may use
        ``{weights}`` (the weights, grouped) and ``{cost}`` (what the cost is).
    unit_objective : callable
        ``f(problem) -> array``: the objective coefficient of each unit's decision
        (its unprotected part), before penalties.
    evaluate : callable
        ``f(problem, x) -> float``: the objective of a per-unit 0/1 plan ``x``, before
        penalties, from the problem's parts (not the compiled model).
    needs_budget : bool
        It needs a budget: a total area budget (its method takes ``budget_km2`` /
        ``budget_share``) or a cost budget (`optimizer.model.costs`).
    needs_targets : bool
        It needs targets.
    weights : {"utility", "targets"} or None
        What its weights weigh: features in each unit's value (``utility``, see
        `Problem.unit_values`), or each target's shortfall (``targets``); None when it
        takes no weights.
    shortfall_cost : callable or None
        ``f(problem) -> array``: the cost of a unit of shortfall of each target. When
        given, targets are soft: each has a shortfall column in the compiled model, and a
        plan that misses one is feasible. None: targets are constraints.
    nested : bool
        Plans for growing budgets nest: it maximises fixed per-unit values under the total
        budget alone, so the cut solver's nested path, the priority rank, the frontier and
        the sweep's budget paths apply to it.
    """

    name: str
    sense: Literal["min", "max"]
    method: str
    summary: str
    aim: str
    printed: str
    unit_objective: Callable[[Problem], np.ndarray]
    evaluate: Callable[[Problem, np.ndarray], float]
    needs_budget: bool = False
    needs_targets: bool = False
    weights: WeightsMode | None = None
    shortfall_cost: Callable[[Problem], np.ndarray] | None = None
    nested: bool = False

    @property
    def label(self) -> str:
        """The name in words (``"min set"``)."""
        return self.name.replace("_", " ")

    @property
    def soft_targets(self) -> bool:
        """Whether a plan may miss targets (at the cost `shortfall_cost`)."""
        return self.shortfall_cost is not None


def listed(words: Sequence[str], conjunction: str = "or") -> str:
    """``"a, b or c"``: words listed for a message.

    Examples
    --------
    >>> listed(["a", "b", "c"]), listed(["a", "b"], "and"), listed(["a"])
    ('a, b or c', 'a and b', 'a')
    """
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def held_after(problem: Problem, features: Sequence[str], x: np.ndarray) -> np.ndarray:
    """Amount of each feature held with plan ``x``, existing protection included."""
    amounts = problem.feature_amounts(features)
    p = problem.protected_fraction
    before = amounts @ p
    return before + (amounts * (1 - p)) @ x


def target_shortfalls(problem: Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(shortfall, target)`` of each target with plan ``x``: how much is missing, and the amount."""
    target = np.array([t.amount for t in problem.targets], dtype=np.float64)
    short = np.clip(target - held_after(problem, problem.target_features(), x), 0.0, None)
    return short, target
