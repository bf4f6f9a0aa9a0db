"""The memory a grid build needs, estimated and checked before any work (issue 22 item 9),
and a Dask scheduler without workers named before any work (issue 22, noticed).

The refusals run the real command in a subprocess under a real address-space limit
(``RLIMIT_AS``, what ``ulimit -v`` sets), as a planner on a small machine or a batch job
would meet it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import DEMO_MANIFEST, ROOT, assert_one_line_error, run_cli

from optimizer.grid.memory import (
    ADDRESS_SPACE_EXTRA,
    BANDED_ADDRESS_SPACE_EXTRA,
    MemoryLimit,
    check_build_memory,
    estimate_build_memory,
    layer_columns,
    memory_limits,
)
from optimizer.inputs.layers import load_manifest

#: The issue's limit: ``ulimit -v 4000000`` (KiB).
LIMIT_4GB = 4_000_000 * 1024
#: A limit where the demo at 1 km fits band by band but not in memory.
LIMIT_6GB = 6_000_000 * 1024


def _carbonpark(args: list[str], *, limit: int | None, timeout: float = 120) -> tuple[int, str, float]:
    """Run ``carbonpark args`` in a subprocess under an address-space limit; code, stderr, seconds."""
    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CARBONPARK_DEBUG", None)
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "optimizer.cli", *map(str, args)], env=env,
                         preexec_fn=cap, capture_output=True, text=True, timeout=timeout)
    return run.returncode, run.stderr, time.monotonic() - t0


def test_half_km_demo_under_4gb_is_refused_before_any_work(tmp_path: Path) -> None:
    """The issue's case: 8.8 million units under ``ulimit -v 4000000`` (was: exit 3 after 19 s,
    "internal error: GEOSException: std::bad_alloc")."""
    out = tmp_path / "grid"
    code, err, seconds = _carbonpark(["grid", DEMO_MANIFEST, "--cell-km", "0.5", "--out", out],
                                     limit=LIMIT_4GB)
    line = assert_one_line_error(code, err, contains="8,799,997 units")
    assert "needs about" in line and "GB of memory to build in memory" in line
    assert "RLIMIT_AS (ulimit -v) of 3.8 GB" in line  # the limit and where it comes from
    assert "--cell-km" in line and "--no-memory-check" in line
    assert "--rows-per-band" in line
    assert seconds < 10, seconds  # refused before building, not after minutes
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing made


def test_refusal_suggests_the_banded_build_when_it_fits(tmp_path: Path) -> None:
    """At 1 km (2.2 million units) in memory needs ~8 GB; band by band fits in 6 GB of address
    space: the message names the exact option and a band size, and that band size fits."""
    out = tmp_path / "grid"
    code, err, seconds = _carbonpark(["grid", DEMO_MANIFEST, "--cell-km", "1", "--out", out],
                                     limit=LIMIT_6GB)
    line = assert_one_line_error(code, err, contains="2,200,000")
    assert "build it band by band (--rows-per-band " in line, line
    rows = int(line.split("--rows-per-band ")[1].split(")")[0])
    assert rows >= 1 and seconds < 10 and not out.exists()
    # The suggested band size fits the same limit (what the command has after its imports).
    _, layers = load_manifest(DEMO_MANIFEST)
    per_row = 2_199_999 / 1_300
    need = estimate_build_memory(2_200_000, layer_columns(layers, banded=True),
                                 band_units=int(rows * per_row))
    assert need + BANDED_ADDRESS_SPACE_EXTRA + ADDRESS_SPACE_EXTRA < LIMIT_6GB - 1.8 * 2**30  # what the command has after its imports


def test_demo_default_grid_builds_under_4gb(tmp_path: Path) -> None:
    """The demo at its default cell size is never refused: it builds under the same limit."""
    out = tmp_path / "grid"
    code, err, _ = _carbonpark(["grid", DEMO_MANIFEST, "--out", out], limit=LIMIT_4GB)
    assert code == 0, err
    assert (out / "units.parquet").is_file()


def test_ordinary_test_grids_pass_the_check_here() -> None:
    """The grids the tests build (the demo at 10 km and larger cells, a few thousand units)
    fit the memory of this machine with room to spare, whatever limit binds."""
    _, layers = load_manifest(DEMO_MANIFEST)
    for units in (398, 22_425, 88_824):
        check_build_memory(units, layers)  # no refusal
    assert all(lim.bytes > 0 for lim in memory_limits())


def test_build_running_out_of_memory_anyway_is_one_line(tmp_path: Path) -> None:
    """``--no-memory-check`` overrides the estimate; running out of memory then is one line
    naming the memory available (was: "internal error: GEOSException: std::bad_alloc")."""
    out = tmp_path / "grid"
    code, err, _ = _carbonpark(["grid", DEMO_MANIFEST, "--cell-km", "0.5", "--out", out,
                                "--no-memory-check"], limit=LIMIT_4GB, timeout=300)
    line = assert_one_line_error(code, err, contains="ran out of memory building the grid")
    assert "RLIMIT_AS (ulimit -v)" in line and "--rows-per-band" in line
    assert not out.exists()


def test_estimate_is_above_a_measured_peak_within_the_stated_error(tmp_path: Path) -> None:
    """A real build (the demo at 5 km, 88,824 units, 81 columns) in a fresh process: its
    peak resident memory above the process's before the build is at most the estimate,
    and the estimate at most 60% above it (docs/guide/national-scale.md)."""
    child = f"""
import json, resource, warnings
warnings.simplefilter("ignore")
from optimizer.grid.manifest import build_grid_from_manifest
from optimizer.grid.build import write_grid
from optimizer.grid.memory import _status
before = _status("VmRSS")
pu = build_grid_from_manifest({str(DEMO_MANIFEST)!r}, cell_km=5)
write_grid(pu, {str(tmp_path / 'grid')!r})
print(json.dumps({{"units": len(pu), "columns": len(pu.units.columns) - 1,
                   "grown": _status("VmHWM") - before}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                         check=True)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["units"] == 88_824 and got["columns"] == 81
    _, layers = load_manifest(DEMO_MANIFEST)
    assert layer_columns(layers) == got["columns"]
    est = estimate_build_memory(got["units"], got["columns"])
    assert got["grown"] <= est <= 1.6 * got["grown"], (got, est)


def test_check_names_the_binding_limit() -> None:
    """The smallest room wins; an address-space limit also holds the threads' reserve."""
    limits = [MemoryLimit(64 * 2**30, "physical"), MemoryLimit(3 * 2**30, "RLIMIT_AS",
                                                                address_space=True)]
    with pytest.raises(Exception, match=r"3.0 GB is available \(RLIMIT_AS\)"):
        check_build_memory(3_000_000, [], area_km2=3e6, cell_km=1, units_per_row=1_000,
                           limits=limits)


def test_scheduler_without_workers_is_named_before_any_work(tmp_path: Path, capsys) -> None:
    """A real scheduler with no workers (was: "cannot write … (No valid workers found)")."""
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "grid"
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        t0 = time.monotonic()
        code, _, err = run_cli(["grid", DEMO_MANIFEST, "--cell-km", "50", "--out", out,
                                "--scheduler", address], capsys)
        seconds = time.monotonic() - t0
    line = assert_one_line_error(code, err, contains=f"the Dask scheduler at {address} has no workers")
    assert "dask worker" in line and "--scheduler local" in line
    assert seconds < 30
    assert not out.exists() and list(tmp_path.iterdir()) == []
