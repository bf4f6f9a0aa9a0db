"""Max utility: the most weighted value under a total area budget.

Each unit's value is ``v_j = sum_k w_k r_kj (1 - p_j) / R_k`` (`Problem.unit_values`): the
weighted shares of every feature's total its unprotected part holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimizer.model.objectives.kind import ObjectiveKind

if TYPE_CHECKING:
    from optimizer.model.problem import Problem


def _unit_objective(problem: Problem) -> np.ndarray:
    return problem.unit_values()


def _evaluate(problem: Problem, x: np.ndarray) -> float:
    return float(problem.unit_values() @ x)


MAX_UTILITY = ObjectiveKind(
    name="max_utility", sense="max", method="add_max_utility_objective",
    summary="most weighted value under the budget", aim="maximises the weighted value",
    printed="weights {weights}", unit_objective=_unit_objective, evaluate=_evaluate,
    needs_budget=True, weights="utility", nested=True,
)
