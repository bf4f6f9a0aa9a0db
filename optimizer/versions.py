"""The versions of carbonpark and of the stack under it, for outputs' metadata and bug reports.

A plan depends on the solver that found it: HiGHS 1.16.0 answered a warm-started MIP
wrong where 1.15.1 did not. Every output records `versions()`, and
``carbonpark --version`` prints `show_versions()`, as ``pandas.show_versions()`` does.
Nothing here imports the packages it reports (their metadata is read), so it stays cheap.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

#: Distributions reported, in the order of the data flow: layers, grid, solvers, outputs.
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "shapely", "geopandas", "pyogrio", "pyproj",
            "rasterio", "exactextract", "highspy", "PyMaxflow", "PuLP", "pydantic", "matplotlib")


def versions() -> dict[str, str]:
    """carbonpark's version, Python's and each package's in `PACKAGES` ("" when absent).

    Examples
    --------
    >>> v = versions()
    >>> v["carbonpark"] != "" and v["highspy"] != ""
    True
    """
    out = {"carbonpark": _version("carbonpark"),
           "python": platform.python_version(),
           "platform": f"{sys.platform}-{platform.machine()}"}
    for name in PACKAGES:
        out[name] = _version(name)
    return out


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


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""
