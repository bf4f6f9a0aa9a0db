"""Memory a grid build needs, estimated before it starts, and the memory this process may use.

A build that runs out of memory fails late (after minutes of work) and badly (a GEOS
``std::bad_alloc``, a ``MemoryError``, or the kernel's OOM killer). `check_build_memory`
refuses such a build before any work, in one line naming the estimate, the memory
available and where that limit comes from, with the banded build and a cell size that
would fit.

The model (peak resident memory of the build above what the process holds before it),
calibrated on the demo country (``benchmarks/bench_grid.py --memory``; the figures are in
``docs/guide/national-scale.md``):

* in memory (`optimizer.grid.build.build_grid`, then `write_grid`): every unit at once,
  ``FIXED_BYTES + units x (BYTES_PER_UNIT + columns x BYTES_PER_UNIT_COLUMN)``;
* banded (`optimizer.grid.stream.build_grid_streamed`): one band of units at a time in
  each process that runs bands, plus what the driver keeps of every unit while it joins
  the bands (``ASSEMBLY_BYTES_PER_UNIT``); a LocalCluster's workers each hold a band.

``columns`` is the number of per-unit columns the layers give (`layer_columns`: raster
bands, land-cover classes, species, protected categories), read from the layers'
metadata without reading their data.

The memory available (`available_memory`) is the smallest of: the physical memory the
system can still give (``MemAvailable`` of ``/proc/meminfo``), the address-space and data
limits of this process (``RLIMIT_AS``, ``ulimit -v``; ``RLIMIT_DATA``, ``ulimit -d``) less
what it already maps, and its cgroup's limit (``memory.max``, a container's) less what the
cgroup already uses.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from optimizer.errors import InputDataError
from optimizer.inputs.layers import LayerSpec, open_raster
from optimizer.inputs.units import get_unit

__all__ = [
    "ADDRESS_SPACE_EXTRA",
    "ASSEMBLY_BYTES_PER_UNIT",
    "BANDED_ADDRESS_SPACE_EXTRA",
    "BANDED_FIXED_BYTES",
    "BYTES_PER_UNIT",
    "BYTES_PER_UNIT_COLUMN",
    "FIXED_BYTES",
    "MemoryLimit",
    "available_memory",
    "check_build_memory",
    "estimate_build_memory",
    "format_bytes",
    "layer_columns",
    "memory_limits",
]

#: Peak memory of a build beyond its units: libraries' buffers, vector layers read and
#: dissolved, raster windows, libraries imported on first use (measured on the demo: 55-300 MB).
FIXED_BYTES = 320 * 2**20
#: The same for a banded build, whose driver also keeps the prepared vector layers while a
#: band is built (measured: 0.3-0.4 GB).
BANDED_FIXED_BYTES = 384 * 2**20
#: Memory per unit whatever the layers: its polygon (GEOS and WKB), ids, rows, columns,
#: areas, perimeters, boundary pairs, coverage weights (measured: 975 B).
BYTES_PER_UNIT = 1_000
#: Memory per unit and per column: a float64 column is built, put in a frame and written
#: (measured: 33 B, about four copies of 8 B).
BYTES_PER_UNIT_COLUMN = 33
#: What a limit of address space (``RLIMIT_AS``, ``RLIMIT_DATA``) must hold beyond the
#: resident estimate: new threads' stacks and allocator arenas, reserved but not used
#: (measured: the address space grows 0-50 MB more than resident memory during a build,
#: the libraries' own reservations being in use before it starts).
ADDRESS_SPACE_EXTRA = 128 * 2**20
#: What a banded build needs beyond that under a limit of address space: the join maps
#: Arrow's memory pools far beyond what it keeps resident (measured: the demo at 1 km,
#: 2.2 million units, ran out of 3.8 GB of address space while 1.3 GB was resident).
BANDED_ADDRESS_SPACE_EXTRA = 1536 * 2**20
#: What a banded build's driver holds per unit of the whole grid while joining the bands
#: (ids, row keys, columns read back for the totals; measured: 187 B).
ASSEMBLY_BYTES_PER_UNIT = 200
#: Per-unit columns every grid has: pu_id, row, col, area, perimeter, exposed edge,
#: protected fraction, region.
BASE_COLUMNS = 8
#: Classes assumed for a class raster that names none (its values are not read).
DEFAULT_CLASSES = 16


def format_bytes(n: float) -> str:
    """``n`` bytes in GB (MB below 1 GB), as messages print them.

    Examples
    --------
    >>> format_bytes(3.5 * 2**30), format_bytes(300 * 2**20)
    ('3.5 GB', '300 MB')
    """
    if n >= 2**30:
        return f"{n / 2**30:,.1f} GB"
    return f"{n / 2**20:,.0f} MB"


@dataclass(frozen=True)
class MemoryLimit:
    """The memory this process may still take, and where that limit comes from.

    Attributes
    ----------
    bytes : int
        Bytes it may still allocate.
    source : str
        The limit that binds, for a message: e.g. ``"RLIMIT_AS (ulimit -v) of 3.8 GB,
        0.6 GB of it in use"``.
    address_space : bool
        True when the binding limit counts address space (``RLIMIT_AS``), not resident memory.
    """

    bytes: int
    source: str
    address_space: bool = False


def _meminfo(key: str) -> int | None:
    """A ``/proc/meminfo`` field in bytes; None without it."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _status(key: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmSize``, ``VmData``, ``VmRSS``); 0 without it."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _cgroup_limit() -> tuple[int, int] | None:
    """``(limit, in use)`` of this process's cgroup (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``) when it sets one; None otherwise."""
    root = Path(os.environ.get("CARBONPARK_CGROUP_ROOT", "/sys/fs/cgroup"))
    rel = ""
    try:
        for line in Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[0] == "0":  # cgroup v2
                rel = parts[2].lstrip("/")
    except OSError:
        pass
    for folder in ([root / rel] if rel else []) + [root]:
        for limit_name, used_name in (("memory.max", "memory.current"),
                                      ("memory/memory.limit_in_bytes",
                                       "memory/memory.usage_in_bytes")):
            try:
                text = (folder / limit_name).read_text(encoding="ascii").strip()
            except OSError:
                continue
            if not text.isdigit() or int(text) >= 2**60:  # "max", or v1's "no limit"
                return None
            try:
                used = int((folder / used_name).read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                used = 0
            return int(text), used
    return None


def available_memory() -> MemoryLimit:
    """The memory this process may still take: the smallest of `memory_limits`.

    Returns
    -------
    MemoryLimit

    Examples
    --------
    >>> limit = available_memory()
    >>> limit.bytes > 0 and isinstance(limit.source, str)
    True
    """
    return min(memory_limits(), key=lambda m: m.bytes)


def memory_limits() -> list[MemoryLimit]:
    """Every limit on the memory this process may still take: the system's available
    memory, its address-space and data limits and its cgroup's limit, less what is in use.

    Returns
    -------
    list of MemoryLimit
        At least one (``"no limit known"`` when none is).
    """
    found: list[MemoryLimit] = []
    avail = _meminfo("MemAvailable")
    if avail is None:
        try:
            import psutil  # an optional package: only where /proc is missing

            avail = int(psutil.virtual_memory().available)
        except Exception:
            avail = None
    if avail is not None:
        found.append(MemoryLimit(avail, f"{format_bytes(avail)} of physical memory available "
                                        "(MemAvailable)"))
    for name, what, use_key in ((resource.RLIMIT_AS, "RLIMIT_AS (ulimit -v)", "VmSize"),
                                (resource.RLIMIT_DATA, "RLIMIT_DATA (ulimit -d)", "VmData")):
        soft = resource.getrlimit(name)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            used = _status(use_key)
            found.append(MemoryLimit(max(soft - used, 0),
                                     f"{what} of {format_bytes(soft)}, {format_bytes(used)} of it "
                                     "in use", address_space=True))
    cg = _cgroup_limit()
    if cg is not None:
        limit, used = cg
        found.append(MemoryLimit(max(limit - used, 0), f"cgroup memory.max of "
                                 f"{format_bytes(limit)}, {format_bytes(used)} of it in use"))
    return found or [MemoryLimit(2**62, "no limit known")]


def _vector_groups(spec: LayerSpec) -> int:
    """Distinct values of a vector layer's attribute (its features when it has none), read
    without geometries."""
    import pyogrio

    attr = spec.attribute or {"protected": "category", "biodiversity": "species"}.get(spec.role)
    try:
        if attr is not None:
            df = pyogrio.read_dataframe(spec.path, layer=spec.layer, columns=[attr],
                                        read_geometry=False)
            if attr in df.columns:
                return max(int(df[attr].nunique(dropna=False)), 1)
        return max(int(pyogrio.read_info(spec.path, layer=spec.layer)["features"]), 1)
    except Exception:  # unreadable here: the build names the file; count it as one
        return 1


def layer_columns(layers: Sequence[LayerSpec], *, banded: bool = False) -> int:
    """Per-unit columns a grid of these layers has, from the layers' metadata: raster
    bands and classes, vector attributes' values (their data is not read).

    Parameters
    ----------
    layers : sequence of LayerSpec
        The layers.
    banded : bool
        A band of a banded build, which keeps each band's valid area of a raster of
        several bands.

    Examples
    --------
    >>> from optimizer.datasets import demo_manifest
    >>> from optimizer.inputs.layers import load_manifest
    >>> _, layers = load_manifest(demo_manifest())
    >>> layer_columns(layers)  # the demo's grid: 81 columns and the geometry
    81
    """
    n = BASE_COLUMNS
    for spec in layers:
        if spec.is_vector:
            groups = _vector_groups(spec) if spec.role in ("biodiversity", "land_cover",
                                                          "protected") else 0
            if spec.role == "protected":
                n += groups + (spec.name != "pa")  # "pa" is pa_fraction itself
            else:
                n += groups if groups else 1
            continue
        try:
            info = open_raster(spec)
            kind = get_unit(spec.unit).kind
        except Exception:  # the build names the file; count one column
            n += 1
            continue
        bands = len(info.bands)
        if kind == "class":
            classes = len(spec.classes or info.classes) or DEFAULT_CLASSES
            n += 1 if spec.role == "region" else classes + 1  # + the majority class
        else:  # amount (and density) per band, the valid area (per band in a band)
            n += bands * (1 if kind == "per_cell" else 2) + 1 + (bands if banded and bands > 1
                                                                  else 0)
    return n


def estimate_build_memory(units: int, columns: int, *, band_units: int | None = None,
                          band_processes: int = 1) -> int:
    """Peak memory (bytes, above what the process holds before) of building ``units`` units
    with ``columns`` per-unit columns.

    Parameters
    ----------
    units : int
        Planning units of the whole grid.
    columns : int
        Per-unit columns (`layer_columns`).
    band_units : int, optional
        A banded build's units per band; None for a build in memory.
    band_processes : int
        Processes of this machine that each hold a band at once (a LocalCluster's workers;
        1: the bands run in this process).

    Examples
    --------
    >>> gb = estimate_build_memory(8_800_000, 82) / 2**30
    >>> round(gb, 1)
    30.7
    >>> round(estimate_build_memory(8_800_000, 82, band_units=100_000) / 2**30, 1)
    2.4
    """
    per_unit = BYTES_PER_UNIT + columns * BYTES_PER_UNIT_COLUMN
    if band_units is None:
        return FIXED_BYTES + units * per_unit
    band = min(band_units, units)
    return (BANDED_FIXED_BYTES + units * ASSEMBLY_BYTES_PER_UNIT
            + max(band_processes, 1) * band * per_unit)


def _nice_up(x: float) -> float:
    """``x`` rounded up to a plain number (1, 1.5, 2, 2.5, 3, 4, 5, ... x 10^k)."""
    if x <= 0:
        return x
    scale = 10 ** math.floor(math.log10(x))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * scale >= x * (1 - 1e-12):
            return step * scale
    return 10 * scale


def check_build_memory(units: int, layers: Sequence[LayerSpec], *, area_km2: float | None = None,
                       cell_km: float | None = None, band_units: int | None = None,
                       units_per_row: float | None = None, band_processes: int = 1,
                       limits: Sequence[MemoryLimit] | None = None) -> int:
    """Refuse, before any work, a build whose estimated memory exceeds what is available.

    Parameters
    ----------
    units : int
        Planning units the build will make (an estimate for square cells).
    layers : sequence of LayerSpec
        The layers (their per-unit columns count).
    area_km2, cell_km : float, optional
        The study area and cell size, to suggest a cell size that fits.
    band_units : int, optional
        A banded build's units per band; None for a build in memory.
    units_per_row : float, optional
        Units per grid row, to suggest a ``--rows-per-band`` that fits.
    band_processes : int
        Processes of this machine that each hold a band at once (0: none, the bands run
        on other machines).
    limits : sequence of MemoryLimit, optional
        The limits on memory; default `memory_limits`. A limit of address space must also
        hold `ADDRESS_SPACE_EXTRA`.

    Returns
    -------
    int
        The estimate in bytes (resident memory).

    Raises
    ------
    InputDataError
        One line: the estimate, the memory available and its source, and the fixes (the
        banded build, a cell size that fits, ``--no-memory-check``).

    Examples
    --------
    >>> check_build_memory(1_000, [], limits=[MemoryLimit(2**30, "a test")]) < 2**30
    True
    >>> check_build_memory(8_800_000, [], area_km2=2_200_000, cell_km=0.5, units_per_row=3_000,
    ...                    limits=[MemoryLimit(3 * 2**30, "a test")])
    Traceback (most recent call last):
    optimizer.errors.InputDataError: a grid of about 8,800,000 units of 0.5 km cells with 8 \
columns needs about 10.7 GB of memory to build in memory; 3.0 GB is available (a test); \
build it band by band (--rows-per-band 33); use larger cells (--cell-km 1 gives about \
2,200,000 units); or pass --no-memory-check if you know more memory is free
    """
    limits = list(limits) if limits is not None else memory_limits()

    def reserve(lim: MemoryLimit, banded: bool) -> int:
        """Address space a limit of it must hold beyond the resident estimate."""
        if not lim.address_space:
            return 0
        return ADDRESS_SPACE_EXTRA + (BANDED_ADDRESS_SPACE_EXTRA if banded else 0)

    def short(need: int) -> tuple[int, MemoryLimit]:
        """The limit with the least room left for ``need``, and that room."""
        rooms = [(lim.bytes - need - reserve(lim, band_units is not None), lim)
                 for lim in limits]
        room, lim = min(rooms, key=lambda r: r[0])
        return room, lim

    quick = estimate_build_memory(units, BASE_COLUMNS + 64 * len(layers), band_units=band_units,
                                  band_processes=band_processes)
    if short(2 * quick)[0] >= 0:
        return quick  # far from every limit: no need to count the columns
    columns = layer_columns(layers, banded=band_units is not None)
    need = estimate_build_memory(units, columns, band_units=band_units,
                                 band_processes=band_processes)
    room, limit = short(need)
    if room >= 0:
        return need
    avail = limit.bytes - reserve(limit, band_units is not None)
    budget = avail - (FIXED_BYTES if band_units is None else BANDED_FIXED_BYTES)
    band_avail = limit.bytes - reserve(limit, True)
    per_unit = BYTES_PER_UNIT + columns * BYTES_PER_UNIT_COLUMN
    fixes: list[str] = []
    if units_per_row:  # the largest band (at most the default's) that fits, with a margin
        banded = layer_columns(layers, banded=True) if band_units is None else columns
        band_room = ((0.9 * band_avail - BANDED_FIXED_BYTES - units * ASSEMBLY_BYTES_PER_UNIT)
                     / ((BYTES_PER_UNIT + banded * BYTES_PER_UNIT_COLUMN)
                        * max(band_processes, 1)))
        rows = int(min(band_room, band_units or 100_000) / units_per_row)
        if band_room >= 1_000 and rows >= 1 and band_units is None:
            fixes.append(f"build it band by band (--rows-per-band {rows})")
        elif band_room >= 1_000 and rows >= 1:
            fixes.append(f"use smaller bands (--rows-per-band {rows}"
                         + (" or fewer --workers)" if band_processes > 1 else ")"))
        elif band_units is None:
            joined = estimate_build_memory(units, banded, band_units=1_000, band_processes=1)
            joined += reserve(limit, True)
            fixes.append(f"band by band (--rows-per-band) it would still need about "
                         f"{format_bytes(joined)} to join the bands"
                         + (", too close to the limit" if joined <= limit.bytes else ""))
    mode = "in memory" if band_units is None else (
        f"band by band ({min(band_units, units):,} units a band"
        + (f", {band_processes} bands at once)" if band_processes > 1 else ")"))
    if area_km2 and cell_km and budget > 0:
        fit_units = budget / (per_unit if band_units is None else ASSEMBLY_BYTES_PER_UNIT)
        cell = _nice_up(max(math.sqrt(area_km2 / fit_units), cell_km * 1.0001))
        fixes.append(f"use larger cells (--cell-km {cell:g} gives about "
                     f"{int(area_km2 / cell**2):,} units)")
    fixes.append("or pass --no-memory-check if you know more memory is free")
    cells = f" of {cell_km:g} km cells" if cell_km else ""
    need += reserve(limit, band_units is not None)  # a limit of address space: so is the need
    raise InputDataError(
        f"a grid of about {units:,} units{cells} with {columns} columns needs about "
        f"{format_bytes(need)} of memory to build {mode}; "
        f"{format_bytes(max(limit.bytes, 0))} is available ({limit.source}); " + "; ".join(fixes))
