"""`import optimizer` and `carbonpark --help` stay light, `carbonpark marxan` imports no pandas
nor the GIS stack (issue 23 item 6); every public name imports as before.

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


#: What ``carbonpark marxan`` must not import on an easy project (issue 23 item 6: from process
#: start to a written plan in < 0.5 s; pandas alone takes a quarter of a second to import).
MARXAN_UNNEEDED = ("pandas", "pyarrow", "rasterio", "pyproj", "geopandas", "shapely", "matplotlib",
                   "pydantic", "dask", "pulp", "scipy.sparse.linalg", "scipy.sparse.csgraph")


def _marxan_project(folder: Path) -> Path:
    """A 3 x 3 Marxan project (comma, tab and space tables, quoted names)."""
    inp = folder / "input"
    inp.mkdir(parents=True)
    (inp / "pu.dat").write_text("id,cost,status\n" + "".join(f"{u},{1 + u % 3},0\n"
                                                              for u in range(1, 10)))
    (inp / "spec.dat").write_text('id\tprop\tspf\tname\n1\t0.5\t10\t"a b"\n2\t0.3\t10\tc\n')
    (inp / "puvspr.dat").write_text("species pu amount\n" + "".join(
        f"{k} {u} {1 + (u * k) % 4}\n" for u in range(1, 10) for k in (1, 2)))
    (inp / "bound.dat").write_text("id1,id2,boundary\n" + "".join(
        f"{u},{u + 1},1\n" for u in range(1, 10) if u % 3))
    (folder / "input.dat").write_text("BLM 0\nINPUTDIR input\nPUNAME pu.dat\nSPECNAME spec.dat\n"
                                      "PUVSPRNAME puvspr.dat\nBOUNDNAME bound.dat\n")
    return folder / "input.dat"


def unneeded_imported_by(argv: list[str]) -> list[str]:
    """The modules of `MARXAN_UNNEEDED` in ``sys.modules`` after ``carbonpark <argv>`` ran (and
    wrote its plan) in a fresh interpreter."""
    code = f"""
import contextlib, io, sys
from optimizer.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main({argv!r})
assert code == 0 and "wrote 6 Marxan files" in out.getvalue(), out.getvalue()
print(' '.join(m for m in {MARXAN_UNNEEDED!r} if m in sys.modules))
"""
    return run_python(code).splitlines()[-1].split()


@pytest.mark.parametrize("options", [[], ["--blm", "1", "--solver", "highs"]])
def test_carbonpark_marxan_imports_no_pandas_nor_the_gis_stack(tmp_path, options):
    project = _marxan_project(tmp_path / "project")
    argv = ["marxan", str(project), "--out", str(tmp_path / "out"), "--gap", "0.01", *options]
    assert unneeded_imported_by(argv) == []
    assert (tmp_path / "out" / "output_best.csv").is_file()
    # The check sees them when they are imported: --compare prints a pandas table.
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("PUID,SOLUTION\n" + "".join(f"{u},1\n" for u in range(1, 10)))
    assert "pandas" in unneeded_imported_by([*argv, "--compare", str(theirs), "--overwrite"])


def test_an_output_marker_names_only_the_native_libraries_the_process_loaded():
    # Asking GDAL's version imports rasterio (a tenth of a second): markers do not.
    code = ("import sys\nfrom optimizer.versions import versions\n"
            "v = versions(loaded_only=True)\nprint(v['GDAL'], v['PROJ'], v['GEOS'])\n"
            "print('rasterio' in sys.modules, 'pyproj' in sys.modules)\nimport shapely\n"
            "print(versions(loaded_only=True)['GEOS'] == versions()['GEOS'] != 'not loaded')")
    assert run_python(code).splitlines()[-3:] == ["not loaded not loaded not loaded",
                                                   "False False", "True"]


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


# ------------------------------------------------------------------ no app framework in the library

def _streamlit_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, code) of every import of ``streamlit`` in ``tree``, wherever it is: ``import``
    and ``from ... import`` (at the top, in a function, under any ``if``), the calls
    ``importlib.import_module("streamlit...")`` and ``__import__("streamlit...")``, and
    ``sys.modules["streamlit"]`` / ``sys.modules.get("streamlit")``."""

    def named(node: ast.AST | None) -> bool:
        return (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.split(".")[0] == "streamlit")

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hit = any(a.name.split(".")[0] == "streamlit" for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            hit = node.level == 0 and (node.module or "").split(".")[0] == "streamlit"
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            modules_get = name == "get" and "modules" in ast.unparse(func)
            hit = (name in ("import_module", "__import__") or modules_get) and any(
                named(a) for a in [*node.args[:1], *(k.value for k in node.keywords if k.arg == "name")])
        elif isinstance(node, ast.Subscript):
            hit = "modules" in ast.unparse(node.value) and named(node.slice)
        else:
            continue
        if hit:
            found.append((getattr(node, "lineno", 0), ast.unparse(node)))
    return found


def test_no_file_of_the_library_imports_streamlit():
    """The library, the app's pages included, never imports the app framework: the pages are
    given the ``streamlit`` module by the top-level app.py, the one file that imports it."""
    imports = [f"{f.relative_to(ROOT)}:{line}: {code}"
               for f, _ in _library_modules()
               for line, code in _streamlit_imports(ast.parse(f.read_text(encoding="utf-8")))]
    assert imports == [], "give the page the Streamlit module as `st` (optimizer.app.ui.Ui)"
    # The check sees every way of importing it, and app.py does import it.
    tricks = ("import streamlit as st\nfrom streamlit.testing.v1 import AppTest\n"
              "def f():\n    import streamlit.components.v1\n"
              "    importlib.import_module('streamlit')\n    __import__('streamlit.runtime')\n"
              "    return sys.modules['streamlit'], sys.modules.get('streamlit')\n"
              "from .streamlit import x\nimport streamlit_extras_not\n")
    assert [line for line, _ in _streamlit_imports(ast.parse(tricks))] == [1, 2, 4, 5, 6, 7, 7]
    assert _streamlit_imports(ast.parse((ROOT / "app.py").read_text(encoding="utf-8")))


def test_importing_every_module_of_the_app_imports_no_streamlit():
    code = ("import pkgutil, importlib, sys, optimizer.app\n"
            "for m in pkgutil.walk_packages(optimizer.app.__path__, 'optimizer.app.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n")
    assert run_python(code).splitlines()[-1] == "[]"
