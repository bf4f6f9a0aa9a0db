"""The polygon files a scenario locks units with: ``[[locks.locked_out]] file = "..."``.

* `file_digest` - SHA-256 of a file's bytes, memoised by (real path, size, mtime): what the
  grid cache (`optimizer.scenario.build.grid_hash`) and the lock cache hash.
* `lock_file_paths` - every file the polygon locks read (a Shapefile with its sidecars):
  scenario inputs (`optimizer.scenario.inputs`), never written over.
* `check_lock_files` - each lock file checked before any work
  (`optimizer.grid.overlay.check_polygon_file`): one line naming the scenario, the table,
  the file and the fix.
* `lock_shares` - the share of each unit a lock file covers, kept in the scenario's
  ``grid.cache`` folder by the file's content hash, its layer, the grid's key
  (`optimizer.grid.overlay.grid_key`) and `optimizer.grid.overlay.OVERLAY_VERSION`; written
  atomically; a changed file (or grid) is a new key, computed again. Polygons that cover
  no unit at all warn (`optimizer.grid.overlay.warn_if_uncovered`) from the cache too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.atomic import write_file_atomic
from optimizer.grid.overlay import (
    OVERLAY_VERSION,
    PolygonShares,
    check_polygon_file,
    grid_key,
    polygon_shares,
    warn_if_uncovered,
)
from optimizer.scenario.messages import blame_scenario

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits
    from optimizer.scenario.file import Scenario
    from optimizer.scenario.models import UnitsLock

__all__ = ["check_lock_files", "file_digest", "lock_entries", "lock_file_paths", "lock_shares",
           "locks_digest"]

#: Memo of file digests by (real path, size, mtime): layers are hashed once per process.
_DIGESTS: dict[tuple[str, int, int], str] = {}

#: The files a Shapefile is made of besides the ``.shp`` (read with it, hashed with it).
_SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, computed once per process while it is unchanged."""
    st = path.stat()
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def lock_entries(scenario: Scenario) -> Iterator[tuple[str, UnitsLock]]:
    """``(table, entry)`` of every polygon lock: ``("locks.locked_out[2]", entry)``, and
    of every zone's (``("zones[1].locked_in[1]", entry)``)."""
    for name in ("locked_in", "locked_out"):
        for i, entry in enumerate(getattr(scenario.locks, name), 1):
            if entry.file is not None:
                yield f"locks.{name}[{i}]", entry
    for z, zone in enumerate(scenario.zones, 1):
        for name in ("locked_in", "locked_out"):
            for i, entry in enumerate(getattr(zone, name), 1):
                if entry.file is not None:
                    yield f"zones[{z}].{name}[{i}]", entry


def _files(path: Path) -> list[Path]:
    """The file, and a Shapefile's sidecars that exist."""
    if path.suffix.lower() != ".shp":
        return [path]
    return [path, *(p for p in (path.with_suffix(s) for s in _SHAPEFILE_SIDECARS) if p.exists())]


def lock_file_paths(scenario: Scenario) -> list[Path]:
    """Every file the scenario's polygon locks read, resolved against its folder.

    Examples
    --------
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... grid.path = "grids/demo"
    ... budget.km2 = 2
    ... [[locks.locked_out]]
    ... file = "concessions.gpkg"
    ... ''', base="/study")
    >>> [p.as_posix() for p in lock_file_paths(s)]
    ['/study/concessions.gpkg']
    """
    out: list[Path] = []
    for _, entry in lock_entries(scenario):
        out += _files(scenario.resolve(str(entry.file)))
    return list(dict.fromkeys(out))


def check_lock_files(scenario: Scenario) -> None:
    """Check every polygon lock's file before any work (see the module docstring).

    Raises
    ------
    ScenarioError
        A file missing, unreadable, empty, without a CRS, or without the layer named:
        one line naming the scenario, the table, the file and the fix.
    """
    for table, entry in lock_entries(scenario):
        with blame_scenario(scenario, table):
            check_polygon_file(scenario.resolve(str(entry.file)), layer=entry.layer,
                               name=f"file {entry.file!r}")


def locks_digest(scenario: Scenario) -> str:
    """SHA-256 of every polygon lock file's content ("" without one): part of
    `optimizer.scenario.file.Scenario.hash`, so an edited concession file is a new scenario
    for sweeps and summaries."""
    paths = lock_file_paths(scenario)
    if not paths:
        return ""
    check_lock_files(scenario)  # a missing file: its one-line error, not a traceback
    digests = {os.path.relpath(p, scenario.base): file_digest(p) for p in paths}
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


def _cache_key(scenario: Scenario, entry: UnitsLock, pu: PlanningUnits) -> str:
    path = scenario.resolve(str(entry.file))
    content: dict[str, Any] = {
        "files": {p.suffix.lower(): file_digest(p) for p in _files(path)},
        "layer": entry.layer, "grid": grid_key(pu), "version": OVERLAY_VERSION}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _read_cached(path: Path, n: int) -> np.ndarray | None:
    try:
        share = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # missing, or damaged: computed again
    ok = share.shape == (n,) and share.dtype == np.float64 and bool(np.isfinite(share).all())
    return share if ok else None


def lock_shares(scenario: Scenario, pu: PlanningUnits, entry: UnitsLock) -> PolygonShares:
    """The share of each unit of ``pu`` the lock's file covers, read from the cache or
    computed and kept there (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        The scenario (its folder, its ``grid.cache``).
    pu : PlanningUnits
        The units the problem is built on (part of the cache key).
    entry : UnitsLock
        A ``[[locks.locked_in]]`` or ``[[locks.locked_out]]`` table with a ``file``.
    """
    assert entry.file is not None
    path = scenario.resolve(entry.file)
    check_polygon_file(path, layer=entry.layer, name=f"file {entry.file!r}")
    cache = scenario.resolve(scenario.grid.cache) / f"lock-{_cache_key(scenario, entry, pu)[:16]}.npy"
    share = _read_cached(cache, len(pu))
    if share is not None:
        # On every solve, as when computed (named as messages name the file).
        warn_if_uncovered(PolygonShares(share, f"file {entry.file!r}", entry.layer))
        return PolygonShares(share, entry.file, entry.layer)
    shares = polygon_shares(pu, path, layer=entry.layer, name=f"file {entry.file!r}")
    shares = PolygonShares(shares.share, entry.file, entry.layer)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a name
            np.save(f, np.ascontiguousarray(shares.share, dtype=np.float64))

    cache.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(cache, write)
    return shares
