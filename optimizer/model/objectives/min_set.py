"""Min set: the least cost of added units meeting every target."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimizer.model.objectives.kind import ObjectiveKind

if TYPE_CHECKING:
    from optimizer.model.problem import Problem


def _unit_objective(problem: Problem) -> np.ndarray:
    return problem.cost


def _evaluate(problem: Problem, x: np.ndarray) -> float:
    return float(problem.cost @ x)


MIN_SET = ObjectiveKind(
    name="min_set", sense="min", method="add_min_set_objective",
    summary="least cost meeting the targets", aim="minimises cost", printed="least {cost}",
    unit_objective=_unit_objective, evaluate=_evaluate, needs_targets=True,
)
