"""carbonpark: choose new protected areas for carbon and biodiversity.

The import package is ``optimizer``; the data flow is
layers -> grid -> gap / problem -> compile -> solvers -> results -> parks -> export.

``import optimizer`` is light: the names below are imported on first use (PEP 562), so
the ``carbonpark`` command and ``import optimizer`` pull in no numpy, pandas, scipy or
rasterio until a function needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
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
    from optimizer.compile import CompiledModel, compile
    from optimizer.grid import (
        PlanningUnits,
        build_grid,
        planning_units_from_arrays,
        read_grid,
        write_grid,
    )
    from optimizer.grid_stream import build_grid_streamed
    from optimizer.layers import LayerSpec
    from optimizer.parks import Parks, candidate_parks
    from optimizer.problem import Problem, problem
    from optimizer.results import diagnose, feature_representation, patches, solve
    from optimizer.solvers import Solution, SolveStatus, get_solver
    from optimizer.versions import show_versions, versions

__version__ = "0.1.0"

#: Public name -> the module that defines it, imported on first use.
_LAZY = {
    "CompiledModel": "optimizer.compile",
    "PlanningUnits": "optimizer.grid",
    "build_grid": "optimizer.grid",
    "build_grid_streamed": "optimizer.grid_stream",
    "planning_units_from_arrays": "optimizer.grid",
    "read_grid": "optimizer.grid",
    "write_grid": "optimizer.grid",
    "LayerSpec": "optimizer.layers",
    "Parks": "optimizer.parks",
    "candidate_parks": "optimizer.parks",
    "Problem": "optimizer.problem",
    "diagnose": "optimizer.results",
    "feature_representation": "optimizer.results",
    "patches": "optimizer.results",
    "solve": "optimizer.results",
    "Solution": "optimizer.solvers",
    "SolveStatus": "optimizer.solvers",
    "get_solver": "optimizer.solvers",
    "show_versions": "optimizer.versions",
    "versions": "optimizer.versions",
}

# `problem` and `compile` are both a submodule and, by the same name, the function that
# module exists for. Python binds a submodule to its package's attribute whenever it
# first imports it (`import optimizer.problem`, or any module's `from optimizer.problem
# import ...`), and `import optimizer.problem as m` and `from optimizer import problem`
# both read that one attribute, so it cannot be the function for one spelling and the
# module for the other. It is the module, made callable: `optimizer.problem(pu)` calls
# `optimizer.problem.problem(pu)`, so `problem(pu).add_*()` reads as it always did, and
# `optimizer.problem.Problem`, `import optimizer.problem as m` and string paths for
# `monkeypatch`/`mock.patch` ("optimizer.problem.Problem") find the module's contents.
_CALLABLE_MODULES = ("problem", "compile")


class _CallableModule(types.ModuleType):
    """A submodule that, called, calls its function of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    """The ``optimizer`` package: makes `problem` and `compile` callable when bound."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE_MODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    if name in _CALLABLE_MODULES:
        importlib.import_module(f"{__name__}.{name}")  # binds it through `_Package`
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
