"""How an objective's weights resolve to one weight per feature.

A kind's weights (`optimizer.model.objectives.kind.ObjectiveKind.weights`) weigh either
features in each unit's value (``utility``: a group's weight is split among its
features) or each target's shortfall (``targets``: a group's weight goes to each of its
features). Keys are features, roles, layers or groups (`Problem.resolve_features`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from optimizer.errors import InputDataError
from optimizer.inputs.roles import groups
from optimizer.model.objectives.kind import WeightsMode
from optimizer.model.parts import finite_number

if TYPE_CHECKING:
    from optimizer.model.problem import Problem


def utility_weights(problem: Problem, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weights of features in each unit's value: a group's weight split equally among its
    features, a feature named on its own overriding its group.

    Default ``{"carbon": 1, "biodiversity": 1}``, skipping the groups the grid lacks.

    Raises
    ------
    InputDataError
        Not a non-empty mapping, an unknown key, a weight that is not a finite number, or
        every weight 0.
    """
    explicit = weights is not None
    if weights is None:
        weights = {"carbon": 1.0, "biodiversity": 1.0}
    if not isinstance(weights, Mapping) or not weights:
        raise InputDataError(f"weights must be a non-empty mapping of feature or group to "
                             f"weight; got {weights!r}")
    out: dict[str, float] = {}
    singles: dict[str, float] = {}
    for key, w in weights.items():
        w = finite_number(w, f"weights[{key!r}]")
        try:
            cols = problem.resolve_features(key, argument="weights key")
        except InputDataError:
            if explicit or key not in groups():
                raise
            continue
        if len(cols) == 1 and cols[0] == key:
            singles[key] = w
        else:
            for c in cols:
                out[c] = out.get(c, 0.0) + w / len(cols)
    out.update(singles)
    if not any(out.values()):
        raise InputDataError("weights give every feature a weight of 0 (or the grid has no "
                             f"carbon or biodiversity features); got {dict(weights)!r}; "
                             "name the features to weigh")
    return out


def target_weights(problem: Problem, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weights of targets' shortfalls: a group's weight to each of its features (default 1)."""
    resolved: dict[str, float] = {}
    for key, w in (weights or {}).items():
        for f in problem.resolve_features(key, argument="weights key"):
            resolved[f] = finite_number(w, f"weights[{key!r}]")
    return resolved


def resolve_weights(mode: WeightsMode, problem: Problem,
                    weights: Mapping[str, float] | None) -> dict[str, float]:
    """One weight per feature from ``weights`` as a kind of ``mode`` reads them."""
    return (utility_weights if mode == "utility" else target_weights)(problem, weights)
