"""carbonpark: choose new protected areas for carbon and biodiversity.

The import package is ``optimizer``; its subpackages are the pipeline's stages, in the order
data flows through them: inputs -> grid -> gap / model -> solvers -> plan -> io -> scenario
-> outputs -> studies -> cli / app (docs/design.md; import-linter keeps each importing only
from the stages before it).

``import optimizer`` is light: the names below are imported on first use (PEP 562), so
the ``carbonpark`` command and ``import optimizer`` pull in no numpy, pandas, scipy or
rasterio until a function needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time, `__getattr__` below
    from optimizer.grid.build import (
        PlanningUnits,
        build_grid,
        planning_units_from_arrays,
        read_grid,
        write_grid,
    )
    from optimizer.grid.stream import build_grid_streamed
    from optimizer.inputs.layers import LayerSpec
    from optimizer.model.compile import CompiledModel, compile
    from optimizer.model.problem import Problem, problem
    from optimizer.plan.parks import Parks, candidate_parks
    from optimizer.plan.results import diagnose, feature_representation, patches, solve
    from optimizer.solvers import Solution, SolveStatus, get_solver
    from optimizer.versions import show_versions, versions


#: Public name -> the module that defines it, imported on first use.
_LAZY = {
    "CompiledModel": "optimizer.model.compile",
    "PlanningUnits": "optimizer.grid.build",
    "build_grid": "optimizer.grid.build",
    "build_grid_streamed": "optimizer.grid.stream",
    "planning_units_from_arrays": "optimizer.grid.build",
    "read_grid": "optimizer.grid.build",
    "write_grid": "optimizer.grid.build",
    "LayerSpec": "optimizer.inputs.layers",
    "Parks": "optimizer.plan.parks",
    "candidate_parks": "optimizer.plan.parks",
    "Problem": "optimizer.model.problem",
    "problem": "optimizer.model.problem",
    "compile": "optimizer.model.compile",
    "diagnose": "optimizer.plan.results",
    "feature_representation": "optimizer.plan.results",
    "patches": "optimizer.plan.results",
    "solve": "optimizer.plan.results",
    "Solution": "optimizer.solvers",
    "SolveStatus": "optimizer.solvers",
    "get_solver": "optimizer.solvers",
    "show_versions": "optimizer.versions",
    "versions": "optimizer.versions",
}

def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    if name == "__version__":  # the installed distribution's (pyproject.toml), read on demand
        from optimizer.versions import carbonpark_version

        globals()[name] = carbonpark_version()
        return globals()[name]
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once: later look-ups do not come here
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "Parks",
    "PlanningUnits",
    "Problem",
    "ScenarioError",
    "Solution",
    "SolveStatus",
    "SolverError",
    "UnitError",
    "__version__",
    "build_grid",
    "build_grid_streamed",
    "candidate_parks",
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
