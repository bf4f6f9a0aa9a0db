"""Min shortfall: the least weighted relative shortfall of targets under a total area budget.

The objective is ``sum_k w_k s_k / t_k``, ``s_k`` how much feature k falls short of its
target ``t_k`` (weights default to 1); targets are soft: a plan may miss them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimizer.model.objectives.kind import ObjectiveKind, target_shortfalls

if TYPE_CHECKING:
    from optimizer.model.problem import Problem


def _unit_objective(problem: Problem) -> np.ndarray:
    return np.zeros(problem.n_units)


def _weights(problem: Problem) -> np.ndarray:
    assert problem.objective is not None
    weights = dict(problem.objective.weights)
    return np.array([weights.get(t.feature, 1.0) for t in problem.targets], dtype=np.float64)


def _shortfall_cost(problem: Problem) -> np.ndarray:
    """``w_k / t_k`` per target (0 for a target of 0)."""
    tamount = np.array([t.amount for t in problem.targets], dtype=np.float64)
    return np.divide(_weights(problem), tamount, out=np.zeros(tamount.size), where=tamount > 0)


def _evaluate(problem: Problem, x: np.ndarray) -> float:
    short, target = target_shortfalls(problem, x)
    return float(np.sum(np.divide(_weights(problem) * short, target, out=np.zeros_like(target),
                                  where=target > 0)))


MIN_SHORTFALL = ObjectiveKind(
    name="min_shortfall", sense="min", method="add_min_shortfall_objective",
    summary="least weighted target shortfall under the budget",
    aim="minimises the weighted shortfall of targets", printed="weights {weights}",
    unit_objective=_unit_objective, evaluate=_evaluate, needs_budget=True, needs_targets=True,
    weights="targets", shortfall_cost=_shortfall_cost,
)
