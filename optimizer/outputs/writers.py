"""The export formats: one registry, `WRITERS`, read by `export_plan`, ``carbonpark export`` and the app.

Each `Writer` knows its format's name (``--format``), the files it writes, a one-line
description and the function that writes them; ``carbonpark export --format`` lists and
accepts exactly the registry's formats, in its order, and the app's Export page offers
them. Adding a format is one entry here (its function may live anywhere)::

    WRITERS["csv"] = Writer("csv", "CSV table", ("parks.csv",), "the parks' table, no geometry",
                            write=lambda job, folder: ...)

A writer is called as ``write(job, folder)`` with the `ExportJob` (the problem, the parks,
the notes, and ``job.features``: the parks and the remainders of existing protected units
the plan completes, whose sums are the plan's totals) and the folder being filled, and
returns the names of the files it wrote. A
writer with ``prepare`` has it called before any format is written (``tif`` computes the
priority rank there, so the GeoPackage's ``added_units`` layer carries it too).

The functions are named by ``"module:function"`` strings and imported when a format is
written: this module stays light, so ``carbonpark --help`` lists the formats without
importing numpy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputDataError, did_you_mean

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np

    from optimizer.model.problem import Problem
    from optimizer.outputs.plan_features import PlanFeatures
    from optimizer.plan.parks import Parks
    from optimizer.plan.priority_rank import PriorityRank

__all__ = ["WRITERS", "ExportJob", "Writer", "parse_formats"]


@dataclass
class ExportJob:
    """What every writer of one export shares.

    Attributes
    ----------
    problem : Problem
        The problem solved.
    parks : Parks
        The plan's candidate parks (`optimizer.plan.parks.candidate_parks`).
    status : numpy.ndarray
        Each unit's status (`optimizer.plan.results.unit_status` of the parks' plan).
    formats : tuple of str
        The formats being written, in `WRITERS` order.
    notes : list of str
        Formats skipped and why, fields cut: writers append to it (``export.json`` keeps it).
    seconds : dict
        Wall-clock seconds per step; a ``prepare`` may add its own.
    rank : PriorityRank or None
        The priority rank, when a writer's ``prepare`` computed it.
    features : PlanFeatures or None
        What every format holds: the parks and the remainders of the existing protected
        units the plan completes (`optimizer.outputs.plan_features.plan_features`); their
        totals are the plan's. `export_plan` computes it before any format is written.
    zone : numpy.ndarray or None
        A zoned plan's zone name per unit ("" when not selected); None without zones.
    """

    problem: Problem
    parks: Parks
    status: np.ndarray
    formats: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    rank: PriorityRank | None = None
    features: PlanFeatures | None = None
    zone: np.ndarray | None = None

    @property
    def table(self) -> gpd.GeoDataFrame:
        """The parks' table (one polygon per park; `features` adds what they complete)."""
        return self.parks.table


#: ``write(job, folder) -> files written`` (names relative to ``folder``).
WriteFunction = Callable[[ExportJob, Path], list[str]]
#: ``prepare(job)``: work before any format is written.
PrepareFunction = Callable[[ExportJob], None]


def _function(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    """The function itself, or the one a ``"module:function"`` string names (imported now)."""
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Writer:
    """One export format.

    Attributes
    ----------
    name : str
        The format's name in ``--format`` and ``export.json`` (lowercase).
    label : str
        Its name for people (the app's buttons and options).
    files : tuple of str
        The files it may write, the main one first (the one the app offers to download).
    description : str
        One line: what the files are.
    write : callable or str
        ``write(job, folder) -> list of file names written``, or ``"module:function"``.
    media_type : str
        The media (MIME) type of the main file.
    prepare : callable or str, optional
        ``prepare(job)``, run before any format is written.

    Examples
    --------
    >>> w = Writer("txt", "Text", ("parks.txt",), "one line per park",
    ...            write=lambda job, folder: [])
    >>> w.write_files(None, Path("."))
    []
    """

    name: str
    label: str
    files: tuple[str, ...]
    description: str
    write: WriteFunction | str
    media_type: str = "application/octet-stream"
    prepare: PrepareFunction | str | None = None

    def write_files(self, job: ExportJob, folder: Path) -> list[str]:
        """Write this format into ``folder``; the names of the files written."""
        return list(_function(self.write)(job, folder))

    def prepare_job(self, job: ExportJob) -> None:
        """Run ``prepare`` (if any) before any format is written."""
        if self.prepare is not None:
            _function(self.prepare)(job)


_GIS = "optimizer.outputs.gis"

#: The formats, in the order they are written and listed: name -> `Writer`.
WRITERS: dict[str, Writer] = {w.name: w for w in (
    Writer("shp", "Shapefile (zip)", ("parks_shp.zip", "parks_fields.csv"),
           "ESRI Shapefile zipped with its data dictionary (fields of at most 10 characters; "
           "text cut to 254 bytes)", f"{_GIS}:shp_files", "application/zip"),
    Writer("gpkg", "GeoPackage", ("parks.gpkg",),
           "GeoPackage: the parks and what they complete, their units, the existing network "
           "and the study area, with QGIS styles and field descriptions", f"{_GIS}:gpkg_files",
           "application/geopackage+sqlite3"),
    Writer("parquet", "GeoParquet", ("parks.parquet",),
           "GeoParquet 1.1 with a bbox covering column", f"{_GIS}:parquet_files",
           "application/vnd.apache.parquet"),
    Writer("geojson", "GeoJSON", ("parks.geojson",),
           "RFC 7946 GeoJSON in longitude/latitude (EPSG:4326)", f"{_GIS}:geojson_files",
           "application/geo+json"),
    Writer("tif", "GeoTIFF", ("selection.tif", "selection.tif.aux.xml", "plan_amounts.tif",
                              "priority_rank.tif"),
           "square grids only: GeoTIFFs of each unit's status, of the new km² and carbon the "
           "plan adds per cell, and of the priority rank",
           f"{_GIS}:tif_files", "image/tiff", prepare=f"{_GIS}:prepare_rank"),
)}


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """Formats from ``"shp,gpkg"`` (or a list), in `WRITERS` order; ``"all"`` is every one.

    Raises
    ------
    InputDataError
        An unknown format (one line naming it and the formats known).

    Examples
    --------
    >>> parse_formats("geojson,shp")
    ('shp', 'geojson')
    >>> parse_formats("all") == tuple(WRITERS)
    True
    """
    known = tuple(WRITERS)
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text)]
    items = [t for t in items if t]
    if not items or "all" in items:
        return known
    bad = [t for t in items if t not in WRITERS]
    if bad:
        raise InputDataError(f"--format: unknown format {bad[0]!r}{did_you_mean(bad[0], known)}; "
                             f"choose from {', '.join(known)} (comma-separated) or all")
    return tuple(f for f in known if f in items)
