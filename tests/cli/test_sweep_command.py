"""``carbonpark sweep``: the table of runs at the end, and what was resumed."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import box_grid, run_cli

from optimizer.studies.sweep import read_results


def _sweep_file(tmp_path: Path) -> Path:
    from optimizer import write_grid

    write_grid(box_grid(6, 6, seed=2, n_species=3), tmp_path / "grid")
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nname = "small"\n[grid]\npath = "grid"\n[budget]\nshare = 0.2\n'
        '[weights]\ncarbon = 1\nbiodiversity = 1\n[penalties.boundary]\npenalty = 0.01\n'
        '[solver]\nbackend = "cut"\ngap = 1e-3\n', encoding="utf-8")
    f = tmp_path / "sweep.toml"
    f.write_text('schema_version = 1\nbase = "base.toml"\n[parameters]\n'
                 '"budget.share" = [0.1, 0.2, 0.3]\n', encoding="utf-8")
    return f


def test_sweep_prints_a_table_of_runs_and_how_many_were_resumed(tmp_path, capsys):
    f, out = _sweep_file(tmp_path), tmp_path / "out"
    code, text, _ = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"], capsys)
    assert code == 0
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("run "))
    assert re.split(r"\s{2,}", lines[head].strip()) == [
        "run", "name", "new km²", "objective", "status", "proven gap", "seconds", "how"]
    df = read_results(out)
    for (_, r), line in zip(df.iterrows(), lines[head + 1: head + 4], strict=True):
        # Each row: the run, its name with its parameter, its new km², objective, status, gap.
        assert line.split()[0] == str(r["run"])
        assert f"small (budget.share={r['param.budget.share']})" in line
        assert f"{r['area_km2']:,.0f}" in line and f"{r['objective']:.6g}" in line
        assert r["status"] in line and r["status"] != "path"
        assert (f"{r['gap']:.3%}" if r["gap"] > 0 else " 0 ") in line
        assert "nested path" in line
    assert "proven gap: |bound - objective| / |objective|" in text
    assert "3 of 3 runs" in text and "0 resumed" in text and "3 solved (3 read from the nested path" in text
    # Again: every run resumed, none solved.
    code, text, _ = run_cli(["sweep", f, "--out", out, "--workers", "1", "--no-progress"], capsys)
    assert code == 0 and "3 resumed" in text and "0 solved" in text
    rows = [line for line in text.splitlines() if "small (budget.share=" in line]
    assert len(rows) == 3 and all("resumed: nested path" in line for line in rows)
