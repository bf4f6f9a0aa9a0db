"""The grid a layer manifest describes: one way from a manifest (TOML) to planning units.

A manifest (`optimizer.inputs.layers.load_manifest`) names the study area or the units'
polygons, the cell size, the CRS and every layer. `build_grid_from_manifest` builds its
grid (``carbonpark grid``, scenario files, the demo); `manifest_inputs` lists every file it
reads, which no command may write over.
"""

from __future__ import annotations

import os
from pathlib import Path

from optimizer.grid.build import DEFAULT_MAX_UNITS, build_grid
from optimizer.grid.planning_units import PlanningUnits
from optimizer.inputs.layers import load_manifest
from optimizer.progress import ProgressArg

__all__ = ["build_grid_from_manifest", "manifest_inputs"]


def build_grid_from_manifest(manifest: str | os.PathLike[str], *, cell_km: float | None = None,
                             progress: ProgressArg = False,
                             max_units: int | None = DEFAULT_MAX_UNITS,
                             check_memory: bool = True) -> PlanningUnits:
    """The planning units a manifest describes, built with `optimizer.grid.build.build_grid`.

    Parameters
    ----------
    manifest : path
        The manifest (TOML); the paths in it are relative to its folder.
    cell_km : float, optional
        The cell size (km), instead of the manifest's.
    progress : bool or callable
        As for `build_grid`.
    max_units : int or None
        As for `build_grid`.
    check_memory : bool
        As for `build_grid`.

    Examples
    --------
    >>> from optimizer.datasets import demo_manifest
    >>> pu = build_grid_from_manifest(demo_manifest(), cell_km=80)  # doctest: +SKIP
    >>> len(pu)  # doctest: +SKIP
    398
    """
    path = Path(manifest)
    spec, layers = load_manifest(path)
    g = spec.grid
    base = path.parent
    return build_grid(
        layers,
        study_area=base / g.study_area if g.study_area else None,
        units=base / g.units if g.units else None,
        id_column=g.id_column,
        cell_km=cell_km if cell_km is not None else g.cell_km,
        crs=g.crs,
        progress=progress,
        max_units=max_units,
        check_memory=check_memory,
    )


def manifest_inputs(manifest: str | os.PathLike[str]) -> list[Path]:
    """The manifest and every file it names: the inputs no command may write over."""
    path = Path(manifest)
    spec, layers = load_manifest(path)
    g = spec.grid
    named = [path.parent / f for f in (g.study_area, g.units) if f]
    return [path, *named, *(Path(s.path) for s in layers)]
