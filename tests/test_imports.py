"""`import optimizer` and `carbonpark --help` stay light; every public name imports as before.

The heavy stack (numpy, pandas, scipy, rasterio, geopandas, highspy, ...) is imported by
the functions that need it, never by the package root or the command's parser. Each check
runs in a fresh interpreter: this test process has long since imported all of it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import optimizer

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "rasterio", "geopandas", "highspy", "shapely", "pyproj", "dask",
         "pyarrow", "matplotlib")


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (the repository first on the path); its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(ROOT / "tests"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def heavy_imported_after(code: str) -> list[str]:
    """The heavy packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    out = run_python(f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    return out.splitlines()[-1].split()


def test_import_optimizer_imports_no_heavy_package():
    assert heavy_imported_after("import optimizer") == []


def test_carbonpark_help_imports_no_heavy_package():
    # `--version` is left out: it reports GDAL, PROJ and GEOS, which only their bindings know.
    code = """
import contextlib, io, runpy, sys
_CMDS = ("demo", "grid", "gap", "marxan", "scenario", "solve", "frontier", "sweep", "export",
         "report")
for argv in (["--help"], *([c, "--help"] for c in _CMDS)):
    sys.argv = ["carbonpark", *argv]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        runpy.run_module("optimizer.cli", run_name="__main__", alter_sys=True)
"""
    assert heavy_imported_after(code) == []


def test_every_public_name_imports_as_before():
    namespace: dict[str, object] = {}
    exec("from optimizer import *", namespace)
    assert set(optimizer.__all__) <= set(namespace) and set(optimizer.__all__) <= set(dir(optimizer))
    from optimizer.grid.build import build_grid
    from optimizer.plan.results import solve
    from optimizer.solvers import SolveStatus

    assert optimizer.build_grid is build_grid and optimizer.solve is solve
    assert optimizer.SolveStatus is SolveStatus
    with pytest.raises(AttributeError, match="module 'optimizer' has no attribute 'solvee'"):
        optimizer.solvee  # noqa: B018


# `optimizer.problem` and `optimizer.compile` are the functions, whatever was imported first:
# their modules live in `optimizer.model`, so no submodule shadows them any more.
_USE = """
import optimizer
from optimizer import compile, problem
from optimizer.model.compile import CompiledModel
from optimizer.model.problem import Problem
from optimizer.datasets import tiny_grid

p = problem(tiny_grid()).add_max_utility_objective(2.0)
assert isinstance(p, Problem) and isinstance(compile(p), CompiledModel)
assert optimizer.problem is problem and optimizer.compile is compile
assert callable(problem) and not isinstance(problem, type(optimizer))
print("ok")
"""


@pytest.mark.parametrize("first", [
    "import optimizer.model.problem, optimizer.model.compile",  # the modules first
    "from optimizer import problem, compile",  # the root's names first
    "import optimizer.plan.results",  # a module that imports them itself
])
def test_problem_and_compile_are_functions_whatever_is_imported_first(first):
    assert run_python(f"import optimizer\n{first}\n{_USE}").strip() == "ok"


def _library_modules() -> list[tuple[Path, str]]:
    """(file, its top package) for every module of the library: the root's modules are their own."""
    root = ROOT / "optimizer"
    return [(f, f.relative_to(root).parts[0].removesuffix(".py")) for f in sorted(root.rglob("*.py"))]


def _imports(tree: ast.AST) -> list[tuple[ast.ImportFrom, bool]]:
    """Every ``from optimizer... import`` with whether it runs at import time (module level,
    not under ``if TYPE_CHECKING``)."""
    out: list[tuple[ast.ImportFrom, bool]] = []

    def walk(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("optimizer"):
                out.append((child, top))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for type checkers only
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                walk(child, False)
            else:
                walk(child, top)

    walk(tree, True)
    return out


def test_no_private_name_is_imported_across_packages():
    leaks = [f"{f.relative_to(ROOT)}: {node.module}.{a.name}"
             for f, package in _library_modules()
             for node, _ in _imports(ast.parse(f.read_text(encoding="utf-8")))
             if node.level == 0 and node.module.split(".")[1] != package
             for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert leaks == [], "make the shared piece public where it belongs"


def test_the_library_imports_its_own_modules_at_the_top_of_files():
    # Lazy imports stay only at the edges: the package root (PEP 562, so `import optimizer`
    # stays light), the command line and the app; in the library they hide the dependency
    # floors import-linter checks (docs/design.md).
    edges = {"__init__", "cli", "app"}
    hidden = [f"{f.relative_to(ROOT)}:{node.lineno}: {node.module}"
              for f, package in _library_modules() if package not in edges
              for node, top in _imports(ast.parse(f.read_text(encoding="utf-8"))) if not top]
    assert hidden == []
