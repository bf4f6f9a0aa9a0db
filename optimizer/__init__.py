"""carbonpark: choose new protected areas for carbon and biodiversity.

The import package is ``optimizer``; the data flow is
layers -> grid -> gap / problem -> compile -> solvers -> results -> parks -> export.
"""

from __future__ import annotations

from optimizer.errors import (
    CRSError,
    CRSMismatchError,
    GeometryRepairWarning,
    InfeasibleProblemError,
    InputDataError,
    NodataWarning,
    OptimizerError,
    OptimizerWarning,
    ScenarioError,
    SolverError,
    UnitError,
)
from optimizer.grid import PlanningUnits, build_grid, read_grid
from optimizer.layers import LayerSpec

__version__ = "0.1.0"

__all__ = [
    "CRSError",
    "CRSMismatchError",
    "GeometryRepairWarning",
    "InfeasibleProblemError",
    "InputDataError",
    "LayerSpec",
    "NodataWarning",
    "OptimizerError",
    "OptimizerWarning",
    "PlanningUnits",
    "ScenarioError",
    "SolverError",
    "UnitError",
    "__version__",
    "build_grid",
    "read_grid",
]
