"""Small examples to try carbonpark on: a grid small enough to solve by hand, and the demo country.

`tiny_grid` is six 1 km cells whose plans can be worked out on paper; the
docstrings' Examples use it, so they run in a fraction of a second. `demo_grid`
builds the embedded demo country (``data/demo``) at a given cell size, once per
process and size. `example_files` finds the demo data and the example scenarios, in
a source checkout or shipped inside the installed package.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.errors import InputDataError
from optimizer.grid.build import build_grid, planning_units_from_arrays
from optimizer.inputs.layers import load_manifest

if TYPE_CHECKING:
    from optimizer.grid.build import PlanningUnits

#: The folder of an installed package that holds the demo data and the example scenarios.
EXAMPLES = "examples"

#: An equal-area CRS in metres (the tiny grid's cells are 1 km boxes in it).
TINY_CRS = "EPSG:6933"


def tiny_grid() -> PlanningUnits:
    """Six 1 km² cells in two rows (1 2 3 above 4 5 6), with carbon, two species and one
    protected cell.

    ========  ======  =====  =====  ===========
    ``pu_id`` carbon  sp_a   sp_b   pa_fraction
    ========  ======  =====  =====  ===========
    1         100     1      0      1.0
    2         40      0      1      0
    3         10      1      0      0
    4         80      0      1      0
    5         60      1      0      0
    6         0       1      0      0
    ========  ======  =====  =====  ===========

    Neighbours share 1 km edges; the outer edges are exposed. Cells 1-3 are region
    ``north``, 4-6 ``south``. By hand: the cheapest plan holding 2 km² of ``sp_b`` adds
    cells 2 and 4 (cost 2 km²); the most carbon for 2 km² of new land is cells 4 and 5
    (140 of the 290 MgC, utility 0.4828).

    Examples
    --------
    >>> pu = tiny_grid()
    >>> len(pu), float(pu.units["area_km2"].sum())
    (6, 6.0)
    >>> pu.units["carbon"].tolist()
    [100.0, 40.0, 10.0, 80.0, 60.0, 0.0]
    >>> from optimizer import problem, solve
    >>> sol = solve(problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1}))
    >>> pu.units["pu_id"][sol.selected].tolist(), round(sol.objective, 4)
    ([1, 4, 5], 0.4828)
    """
    import numpy as np
    import pandas as pd
    import shapely


    ids = np.arange(1, 7)
    rows, cols = np.divmod(ids - 1, 3)
    geometry = shapely.box(cols * 1000.0, -(rows + 1) * 1000.0, (cols + 1) * 1000.0,
                           -rows * 1000.0)
    pairs = [(1, 2), (2, 3), (4, 5), (5, 6), (1, 4), (2, 5), (3, 6)]
    exposed = {1: 2.0, 2: 1.0, 3: 2.0, 4: 2.0, 5: 1.0, 6: 2.0}
    boundary = pd.DataFrame(
        [(a, b, 1.0) for a, b in pairs] + [(i, i, e) for i, e in exposed.items()],
        columns=["id1", "id2", "length_km"])
    amounts = {"carbon": [100.0, 40.0, 10.0, 80.0, 60.0, 0.0],
               "sp_a": [1.0, 0.0, 1.0, 0.0, 1.0, 1.0],
               "sp_b": [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]}
    info = pd.DataFrame({"role": ["carbon_stock", "biodiversity", "biodiversity"],
                         "unit": ["MgC/cell", "km2/cell", "km2/cell"]}, index=list(amounts))
    return planning_units_from_arrays(
        ids, amounts, area_km2=np.ones(6), geometry=geometry, crs=TINY_CRS, boundary=boundary,
        pa_fraction=[1.0, 0, 0, 0, 0, 0], region=["north"] * 3 + ["south"] * 3,
        feature_info=info, kind="example")


@dataclass(frozen=True)
class ExampleFiles:
    """Where the demo country's data and the example scenarios are (`example_files`).

    Attributes
    ----------
    manifest : pathlib.Path
        The demo country's layer manifest, ``demo.toml`` (its layers in ``demo/`` beside it).
    scenarios : pathlib.Path
        The folder of the example scenarios (``*.toml``; they name the manifest as
        ``../data/demo.toml``).
    installed : bool
        True when they ship inside the installed package, False in a source checkout.
    """

    manifest: Path
    scenarios: Path
    installed: bool

    @property
    def grid_cache(self) -> Path | None:
        """Where grids built from the example scenarios are kept: None, the scenarios' own
        ``.carbonpark-cache`` (a checkout), or the user's cache folder when installed (an
        installed package's folder is not written to)."""
        if not self.installed:
            return None
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "carbonpark"


def example_files() -> ExampleFiles:
    """The demo country and the example scenarios, installed or in a source checkout.

    A wheel ships the repository's ``data/demo.toml``, ``data/demo/`` and ``scenarios/`` as
    ``optimizer/examples/data/`` and ``optimizer/examples/scenarios/`` (pyproject.toml's
    ``package-dir``); a source checkout has them beside the package.

    Raises
    ------
    InputDataError
        Neither is there (one line naming both places).

    Examples
    --------
    >>> files = example_files()
    >>> files.manifest.name, (files.manifest.parent / "demo").is_dir()
    ('demo.toml', True)
    >>> (files.scenarios / "balanced.toml").is_file()
    True
    """
    package = Path(__file__).resolve().parent
    for base, installed in ((package / EXAMPLES, True), (package.parent, False)):
        manifest, scenarios = base / "data" / "demo.toml", base / "scenarios"
        if manifest.is_file() and scenarios.is_dir():
            return ExampleFiles(manifest, scenarios, installed)
    raise InputDataError(f"the demo data is missing: neither {package / EXAMPLES}/data/demo.toml "
                         f"(installed) nor {package.parent}/data/demo.toml (a source checkout) "
                         "exists; reinstall carbonpark or use a full checkout of its repository")


def demo_manifest() -> Path:
    """The demo country's layer manifest, ``demo.toml`` (`example_files`).

    Raises
    ------
    InputDataError
        The demo data is not there.
    """
    return example_files().manifest


@functools.lru_cache(maxsize=4)
def demo_grid(cell_km: float = 40.0) -> PlanningUnits:
    """The demo country (``data/demo``) on ``cell_km`` cells, built once per process and size.

    Examples
    --------
    >>> pu = demo_grid(80)  # doctest: +SKIP
    >>> len(pu)  # doctest: +SKIP
    398
    """

    path = demo_manifest()
    manifest, specs = load_manifest(path)
    outline = manifest.grid.study_area
    return build_grid(specs, study_area=path.parent / outline if outline else None,
                      cell_km=cell_km, crs=manifest.grid.crs)
