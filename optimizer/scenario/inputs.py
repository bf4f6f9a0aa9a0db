"""What a scenario reads: the paths no command may write into or over, even with ``--overwrite``.

`scenario_inputs` is the one list every command that reads a scenario passes to
`optimizer.atomic` as its ``inputs`` (``solve``, ``frontier``, ``sweep`` for its base and
every run, ``export`` and ``report`` for the scenario a solve folder names): an output that
is one of them, holds one, or lies inside one is refused before any work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.errors import OptimizerError
from optimizer.grid.manifest import manifest_inputs
from optimizer.scenario.lock_files import lock_file_paths

if TYPE_CHECKING:
    from optimizer.scenario.file import Scenario


def scenario_inputs(scenario: Scenario) -> list[Path]:
    """Every path ``scenario`` reads.

    The scenario file (when it was read from one), then its grid: the grid folder
    (``grid.path``), or the manifest (``grid.manifest``), every file the manifest names
    (study area, units, each layer) and the grid cache folder (``grid.cache``); then the
    polygon files of ``[[locks.locked_in]]`` and ``[[locks.locked_out]]`` (a Shapefile with
    its sidecars) and, with any, the cache folder their shares are kept in.

    A manifest that cannot be read counts as itself alone: its one-line error comes when
    the grid is built.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario; relative paths are resolved against its folder.

    Returns
    -------
    list of pathlib.Path
        The paths, files and folders alike, without repeats.

    Examples
    --------
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "grids/demo"
    ... budget.km2 = 2
    ... weights.carbon = 1
    ... ''', base="/study")
    >>> [p.as_posix() for p in scenario_inputs(s)]
    ['/study/grids/demo']
    """
    out: list[Path] = []
    if os.path.isfile(scenario.source):
        out.append(Path(scenario.source))
    g = scenario.grid
    if g.path:
        out.append(scenario.resolve(g.path))
    if g.manifest:
        manifest = scenario.resolve(g.manifest)
        try:
            out += manifest_inputs(manifest)
        except (OptimizerError, OSError):
            out.append(manifest)
        out.append(scenario.resolve(g.cache))
    locks = lock_file_paths(scenario)
    if locks:
        out += [*locks, scenario.resolve(g.cache)]
    return list(dict.fromkeys(out))
