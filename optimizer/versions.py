"""The versions of carbonpark and of the stack under it, for outputs' metadata and bug reports.

A plan depends on the solver that found it: HiGHS 1.16.0 answered a warm-started MIP
wrong where 1.15.1 did not. Every output records `versions()`, and
``carbonpark --version`` prints `show_versions()`, as ``pandas.show_versions()`` does.
Python packages are reported from their metadata; the native libraries (GDAL, PROJ,
GEOS) need their bindings imported, which `versions` does.
"""

from __future__ import annotations

import functools
import importlib
import platform
import sys
from importlib import metadata

#: Distributions reported, in the order of the data flow: layers, grid, solvers, outputs.
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "shapely", "geopandas", "pyogrio", "pyproj",
            "rasterio", "exactextract", "highspy", "PyMaxflow", "PuLP", "pydantic", "matplotlib")


def versions(*, loaded_only: bool = False) -> dict[str, str]:
    """carbonpark's version, Python's and each package's in `PACKAGES` ("" when absent).

    Parameters
    ----------
    loaded_only : bool
        Report GDAL, PROJ and GEOS only when this process has loaded their bindings
        (``"not loaded"`` otherwise; see `native_libraries`). Output markers use it: an
        output written without them does not depend on them, and importing rasterio,
        pyproj and shapely to ask would take most of ``carbonpark marxan``'s start-up.

    Examples
    --------
    >>> v = versions()
    >>> v["carbonpark"] != "" and v["highspy"] != ""
    True
    """
    out = {"carbonpark": carbonpark_version(),
           "python": platform.python_version(),
           "platform": f"{sys.platform}-{platform.machine()}"}
    for name in PACKAGES:
        out[name] = _version(name)
    out.update(native_libraries(loaded_only=loaded_only))
    return out


def native_libraries(*, loaded_only: bool = False) -> dict[str, str]:
    """The C/C++ libraries under the Python packages: GDAL (rasterio), PROJ, GEOS.

    These are what read the rasters, transform coordinates and cut geometries; a wheel
    of the same Python version can bundle different ones. With ``loaded_only``, a library
    whose binding this process has not imported is ``"not loaded"`` (nothing is imported).
    """
    found: dict[str, str] = {}
    probes = (("GDAL", "rasterio", "__gdal_version__"), ("PROJ", "pyproj", "proj_version_str"),
              ("GEOS", "shapely", "geos_version_string"))
    for label, module, attribute in probes:
        if loaded_only and module not in sys.modules:
            found[label] = "not loaded"
            continue
        try:
            found[label] = str(getattr(importlib.import_module(module), attribute))
        except (ImportError, AttributeError):
            found[label] = ""
    return found


def show_versions() -> str:
    """`versions()` as aligned text, one package a line.

    Examples
    --------
    >>> print(show_versions().splitlines()[0].split()[0])
    carbonpark
    """
    v = versions()
    width = max(map(len, v))
    return "\n".join(f"{k:<{width}}  {val or '(not installed)'}" for k, val in v.items())


def carbonpark_version() -> str:
    """carbonpark's version: the installed distribution's (pyproject.toml), recorded in outputs.

    ``0+unknown`` for a source tree that was never installed.

    Examples
    --------
    >>> carbonpark_version() != ""
    True
    """
    return _version("carbonpark") or "0+unknown"


@functools.cache  # installed versions do not change while we run
def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""
