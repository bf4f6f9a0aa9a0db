"""carbonpark: choose new protected areas for carbon and biodiversity.

The import package is ``optimizer``; the data flow is
layers -> grid -> gap / problem -> compile -> solvers -> results -> parks -> export.
"""

from __future__ import annotations

from optimizer.compile import CompiledModel, compile
from optimizer.errors import (
    CRSError,
    CRSMismatchError,
    CRSWarning,
    GeometryRepairWarning,
    InfeasibleProblemError,
    InputDataError,
    NodataWarning,
    OptimizerError,
    OptimizerWarning,
    OutputError,
    ScenarioError,
    SolverError,
    UnitError,
)
from optimizer.grid import (
    PlanningUnits,
    build_grid,
    planning_units_from_arrays,
    read_grid,
    write_grid,
)
from optimizer.layers import LayerSpec
from optimizer.problem import Problem, problem
from optimizer.results import diagnose, feature_representation, patches, solve
from optimizer.solvers import Solution, SolveStatus, get_solver
from optimizer.versions import show_versions, versions

__version__ = "0.1.0"

__all__ = [
    "CRSError",
    "CRSMismatchError",
    "CRSWarning",
    "CompiledModel",
    "GeometryRepairWarning",
    "InfeasibleProblemError",
    "InputDataError",
    "LayerSpec",
    "NodataWarning",
    "OptimizerError",
    "OptimizerWarning",
    "OutputError",
    "PlanningUnits",
    "Problem",
    "ScenarioError",
    "Solution",
    "SolveStatus",
    "SolverError",
    "UnitError",
    "__version__",
    "build_grid",
    "compile",
    "diagnose",
    "feature_representation",
    "get_solver",
    "patches",
    "planning_units_from_arrays",
    "problem",
    "read_grid",
    "show_versions",
    "solve",
    "versions",
    "write_grid",
]
