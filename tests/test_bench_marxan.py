"""Tests of benchmarks/bench_marxan.py: the Marxan grid projects it writes read back exactly
through our Marxan reader, and ``--quick`` prints its table (no timings are asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optimizer.io.marxan import read_marxan

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_marxan.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_marxan", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_grid_project_reads_back_exactly(tmp_path):
    bench = _bench()
    side = 7
    arrays = bench.grid_project(side, seed=5, n_features=4)
    paths = bench.write_project(arrays, tmp_path, (0.0, 1.0))
    p = read_marxan(paths[1.0])
    assert p.blm == 1.0 and read_marxan(paths[0.0]).blm == 0.0
    assert p.notes == []
    assert p.n_units == side * side == 49
    # Units, costs and locks, value for value (written in full, read back exactly).
    assert p.pu["id"].tolist() == list(range(1, 50))
    np.testing.assert_array_equal(p.pu["cost"], arrays["cost"])
    locked = p.pu["status"] == 2
    np.testing.assert_array_equal(locked, arrays["status"] == 2)
    assert locked.sum() == 5  # 10% of 49, rounded
    assert set(p.pu["status"]) == {0, 2}
    # Amounts: every (feature, unit) value, and each feature's total summed from the arrays.
    np.testing.assert_array_equal(p.amount_matrix().toarray(), arrays["amount"])
    totals = [sum(float(v) for v in row) for row in arrays["amount"]]
    np.testing.assert_allclose(p.spec["total"], totals, rtol=1e-12)
    np.testing.assert_allclose(p.targets(), [0.3 * t for t in totals], rtol=1e-12)
    assert all((row > 0).mean() < 0.5 for row in arrays["amount"])  # features are patchy
    # Boundary: unit squares of side 1. Shared edges 2 * 7 * 6 = 84, rim edges 4 * 7 = 28,
    # and every unit's perimeter (its exposed sides + its shared edges) is 4.
    fixed, i, j, length = p.boundary_arrays()
    assert len(length) == 84 and length.sum() == 84.0
    assert fixed.sum() == 28.0
    assert set(np.abs(i - j)) == {1, side}
    perimeter = fixed + np.bincount(i, length, minlength=49) + np.bincount(j, length, minlength=49)
    np.testing.assert_array_equal(perimeter, np.full(49, 4.0))
    assert fixed[0] == 2.0 and fixed[side + 1] == 0.0  # a corner; an inner unit
    # The same seed writes the same project.
    again = bench.grid_project(side, seed=5, n_features=4)
    np.testing.assert_array_equal(again["amount"], arrays["amount"])


def test_quick_prints_its_table(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--folder", str(tmp_path),
                          "--out", str(tmp_path / "table.csv")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    head = next(k for k, line in enumerate(lines) if line.startswith("units "))
    columns = lines[head].split()
    for col in ("BLM", "score@0.5s", "gap@0.5s", "score@1s", "gap@1s", "peak", "MB"):
        assert col in columns, lines[head]
    rows = [line.split() for line in lines[head + 1:head + 3]]
    assert [r[:2] for r in rows] == [["2,500", "0"], ["2,500", "1"]], run.stdout
    # Each score@T is a number or "no plan", each gap a percentage, 0, "-" or "no bound"
    # (a plan without a proven bound: the greedy first plan when HiGHS brought none).
    for r in rows:
        assert all(w[0].isdigit() or w in ("no", "plan", "bound", "-", "0")
                   or w.startswith((">", "<")) for w in r[2:]), r
    assert (tmp_path / "grid50" / "input_blm1.dat").exists()
    assert (tmp_path / "table.csv").read_text().startswith("units,BLM,first plan s,")


def test_status_line_gives_the_proven_gap():
    parse = _bench().parse_status
    line = "targets met: 20/20; status {}"
    assert parse(line.format("optimal (proven gap 0)")) == ("optimal", 0.0)
    status, gap = parse(line.format("feasible, not proven within the requested gap of 0.1% "
                                    "(proven gap 0.725%)"))
    assert status == "feasible" and gap == pytest.approx(0.00725)  # not 0: "0.725%" begins with a 0
    assert parse(line.format("within_gap (proven gap 0.050%, within the requested gap of "
                             "0.1%)"))[1] == pytest.approx(0.0005)
    assert parse(line.format("within_gap (proven gap < 0.001%, within the requested gap of "
                             "0.1%)"))[1] == 1e-5
