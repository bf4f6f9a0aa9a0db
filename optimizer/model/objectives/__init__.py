"""The registry of objective kinds: `OBJECTIVES`, one module per kind.

Each kind (`ObjectiveKind`) states its sense, whether it needs a budget and targets,
what its weights weigh, and the functions that make its terms; every place that depends
on the kind (compile, results, ``print(problem)``, the scenario schema, calibration, the
frontier, the priority rank, the sweep, Marxan export) reads it from here. Adding a kind
is a module like `optimizer.model.objectives.min_set` and one entry below.

Examples
--------
>>> from optimizer.model.objectives import OBJECTIVES
>>> [(k.name, k.sense, k.needs_budget, k.needs_targets) for k in OBJECTIVES.values()]
[('max_utility', 'max', True, False), ('min_set', 'min', False, True), ('min_shortfall', 'min', True, True)]
"""

from __future__ import annotations

from optimizer.errors import InputDataError, did_you_mean
from optimizer.model.objectives.kind import ObjectiveKind, listed
from optimizer.model.objectives.max_utility import MAX_UTILITY
from optimizer.model.objectives.min_set import MIN_SET
from optimizer.model.objectives.min_shortfall import MIN_SHORTFALL

__all__ = ["OBJECTIVES", "ObjectiveKind", "listed", "objective_kind"]

#: Every objective kind, by name, in the order they are listed.
OBJECTIVES: dict[str, ObjectiveKind] = {k.name: k for k in (MAX_UTILITY, MIN_SET, MIN_SHORTFALL)}


def objective_kind(name: str) -> ObjectiveKind:
    """The registered kind called ``name``.

    Raises
    ------
    InputDataError
        ``name`` is not a registered kind; the message lists them.

    Examples
    --------
    >>> objective_kind("min_set").aim
    'minimises cost'
    """
    if name not in OBJECTIVES:
        raise InputDataError(f"objective kind {name!r} is unknown; use one of: "
                             f"{', '.join(OBJECTIVES)}{did_you_mean(str(name), OBJECTIVES)}")
    return OBJECTIVES[name]
