"""Outputs under faults (issue 22): damaged outputs read back, a full disk, a read-only folder,
and the report's marker.

Each case is the planner's action on a copy of the demo study (a coarse 100 km grid keeps
the solves fast): a solve folder whose ``solution.parquet`` was cut short, an export onto a
full disk, a ``--out`` on a read-only mount. Every one gets exit code 2, one line naming the
file or folder and the fix, and the study is unchanged (`tree_hash`).

The full-disk and read-only cases run twice: on a real tmpfs (``mount -t tmpfs``, which
needs root: skipped with the reason otherwise), and always, with the writer raising what
GDAL, Arrow and libtiff raise on a full disk (copied from the tmpfs runs) or the probe
file refused as a read-only mount refuses it.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, run_cli, tree_hash

import optimizer.atomic as atomic

ROOT = Path(__file__).resolve().parents[2]
COARSE = ["--set", "grid.cell_km=100"]
FORMATS = ("shp", "gpkg", "parquet", "geojson", "tif")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo study with a solve folder (``out/solve``), a frontier
    (``out/frontier``) and a grid folder (``grids/demo100``)."""
    from optimizer.cli import main

    root = tmp_path_factory.mktemp("faults") / "study"
    for name in ("scenarios", "data"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns(".carbonpark-cache", "__pycache__"))
    here = os.getcwd()
    os.chdir(root)  # relative paths, as a planner types them
    try:
        assert main(["solve", "scenarios/balanced.toml", "--out", "out/solve", *COARSE]) == 0
        assert main(["frontier", "scenarios/balanced.toml", "--out", "out/frontier", "--points",
                     "4", *COARSE]) == 0
    finally:
        os.chdir(here)
    (built,) = (root / "scenarios" / ".carbonpark-cache").iterdir()
    shutil.copytree(built, root / "grids" / "demo100")
    return root


@pytest.fixture
def in_study(study: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The study as the current folder; fails the test if any file of it changed."""
    monkeypatch.chdir(study)
    before = tree_hash(study)
    yield study
    assert tree_hash(study) == before


@contextlib.contextmanager
def copy_of(study: Path, folder: str) -> Iterator[Path]:
    """A scratch copy ``<folder>-copy`` of one of the study's output folders, removed after."""
    dst = study / f"{folder.replace('/', '-')}-copy"
    shutil.copytree(study / folder, dst)
    try:
        yield dst
    finally:
        shutil.rmtree(dst)


def damage(path: Path, how: str) -> None:
    """Cut ``path`` to half its size, to nothing, or replace it with random bytes."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(np.random.default_rng(0).bytes(500))


def command(cmd: str, folder: Path, out: str) -> list[object]:
    return (["export", folder, "--out", out, "--format", "geojson"] if cmd == "export" else
            ["report", folder, "--out", out + ".html"])


# ================================================================ item 6: damaged outputs

@pytest.mark.parametrize("cmd", ["export", "report"])
@pytest.mark.parametrize("how", ["truncated", "empty", "garbage"])
@pytest.mark.parametrize("name", ["solution.parquet", "summary.json", "scenario.json"])
def test_a_damaged_solve_folder_is_one_line_naming_the_file(in_study, capsys, cmd, how, name):
    with copy_of(in_study, "out/solve") as folder:
        damage(folder / name, how)
        damaged = tree_hash(in_study)
        code, out, err = run_cli(command(cmd, Path(folder.name), "written"), capsys)
        line = assert_one_line_error(code, err, contains=f"{folder.name}/{name}: ")
        # What is wrong, and the fix: the solve to run again, as the planner typed it.
        wrong = {"truncated": ("truncated", "not a Parquet file"), "empty": ("empty",),
                 "garbage": ("not JSON", "not a Parquet file")}[how]
        assert any(w in line for w in wrong), line
        assert line.endswith("solve its scenario again to rewrite it: carbonpark solve "
                             f"scenarios/balanced.toml --set grid.cell_km=100 --out {folder.name}"), line
        assert out == "" and tree_hash(in_study) == damaged  # nothing written, nothing changed


@pytest.mark.parametrize(("name", "change", "words"), [
    ("solution.parquet", lambda t: t.drop(columns=["x"]), "has no column 'x'"),
    ("solution.parquet", lambda t: t.assign(x=t["x"] * 5), "values other than 0 and 1"),
    ("summary.json", lambda s: [s], "holds a JSON list"),
    ("summary.json", lambda s: {k: v for k, v in s.items() if k != "gap_closure"},
     "has no 'gap_closure'"),
    ("summary.json", lambda s: {**s, "gap_closure": 5}, "'gap_closure' is not the table"),
    ("scenario.json", lambda s: {**s, "scenario": 3}, "'scenario' is not a table"),
])
@pytest.mark.parametrize("cmd", ["export", "report"])
def test_a_solve_folder_file_without_what_carbonpark_writes_is_one_line(in_study, capsys, cmd,
                                                                        name, change, words):
    with copy_of(in_study, "out/solve") as folder:
        path = folder / name
        if name.endswith(".parquet"):
            change(pd.read_parquet(path)).to_parquet(path, index=False)
        else:
            path.write_text(json.dumps(change(json.loads(path.read_text()))))
        code, out, err = run_cli(command(cmd, Path(folder.name), "written"), capsys)
        line = assert_one_line_error(code, err, contains=f"{folder.name}/{name}: ")
        assert words in line and "carbonpark solve scenarios/balanced.toml" in line, line
        assert out == "" and not (in_study / "written").exists()


@pytest.mark.parametrize(("name", "how", "words"), [
    ("frontier.csv", "truncated", "holds 2 points where frontier.json counts 4"),
    ("frontier.csv", "empty", "is empty"),
    ("frontier.csv", "garbage", "is not a CSV table"),
    ("frontier.png", "truncated", "is truncated or not a PNG image"),
    ("frontier.png", "empty", "is truncated or not a PNG image"),
])
def test_a_damaged_frontier_folder_is_one_line_naming_the_file(in_study, capsys, name, how, words):
    with copy_of(in_study, "out/frontier") as folder:
        if how == "truncated" and name == "frontier.csv":  # a whole line lost: still a CSV
            lines = (folder / name).read_text().splitlines(keepends=True)
            (folder / name).write_text("".join(lines[:3]))
        else:
            damage(folder / name, how)
        code, out, err = run_cli(["report", "out/solve", "--frontier", folder.name, "--out",
                                  "written.html"], capsys)
        line = assert_one_line_error(code, err, contains=f"{folder.name}/{name}: {words}")
        assert line.endswith(f"run `carbonpark frontier` again with --out {folder.name} to "
                             "rewrite it"), line
        assert out == "" and not (in_study / "written.html").exists()


# ================================================================ item 7: a full disk

@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``where`` (``mount -t tmpfs -o options``); skips when it cannot."""
    where.mkdir(parents=True, exist_ok=True)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a real full or read-only disk needs `mount -t tmpfs`, which needs root")
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        pytest.skip(f"mount -t tmpfs -o {options} failed: {run.stderr.strip()}")
    try:
        yield where
    finally:
        gc.collect()  # a failed writer's file handle lives until its traceback is collected
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(where)], check=True)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs holding one 50,000-byte file: about 14 KiB left, less than any
    export format or report of the demo needs."""
    with tmpfs(tmp_path / "disk", "size=64k") as disk:
        (disk / "fill").write_bytes(b"\0" * 50_000)
        yield disk


def assert_full_disk_error(code: int, err: str, out: str) -> None:
    line = assert_one_line_error(code, err, contains=f"cannot write {out} (No space left on "
                                                     "device); check the free space")
    assert ".tmp" not in line, line


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_onto_a_real_full_disk_is_one_line_and_leaves_nothing(in_study, capsys, full_disk, fmt):
    out = full_disk / "new" / "parks"  # the folder "new" is the command's too
    code, _, err = run_cli(["export", "out/solve", "--out", out, "--format", fmt], capsys)
    assert_full_disk_error(code, err, str(out))
    assert sorted(p.name for p in full_disk.iterdir()) == ["fill"]  # no partial, no temporary


def test_report_onto_a_real_full_disk_leaves_no_html_and_no_marker(in_study, capsys, full_disk):
    out = full_disk / "reports" / "balanced.html"
    code, _, err = run_cli(["report", "out/solve", "--out", out], capsys)
    assert_full_disk_error(code, err, str(out))
    assert sorted(p.name for p in full_disk.iterdir()) == ["fill"]
    (full_disk / "here").mkdir()  # an existing folder: nothing is left in it either
    code, _, err = run_cli(["report", "out/solve", "--out", full_disk / "here" / "b.html"], capsys)
    assert_full_disk_error(code, err, str(full_disk / "here" / "b.html"))
    assert list((full_disk / "here").iterdir()) == []


#: What each format's writer raised on the real full tmpfs above (type and text, copied).
def _feature_error(text: str) -> Exception:
    from pyogrio.errors import FeatureError

    return FeatureError(text)


ENOSPC_RAISED = {
    "gpkg": ("pyogrio.write_dataframe", lambda: _feature_error(
        "Could not add feature to layer at index 0: sqlite3_exec(INSERT INTO gpkg_contents "
        "(table_name,data_type,identifier,description,last_change,srs_id) VALUES ('parks',"
        "'features','parks','...',strftime('%Y-%m-%dT%H:%M:%fZ','now'),100000)) failed: no such "
        "table: gpkg_contents")),
    "geojson": ("pyogrio.write_dataframe", lambda: _feature_error(
        "Could not add feature to layer at index 2: Cannot write feature")),
    "shp": ("pyogrio.write_dataframe", lambda: _feature_error(
        "Could not add feature to layer at index 14: Extending field 16 (extends) from 127 to "
        "131 characters failed")),
    "parquet": ("geopandas.GeoDataFrame.to_parquet", lambda: OSError(
        "[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device")),
    "tif": ("rasterio.io.MemoryFile.read", lambda: OSError(errno.ENOSPC,
                                                           "No space left on device")),
}


class _FullDisk:
    """``os.statvfs`` of a disk with no block free (what the writers' disk says)."""

    f_bsize = f_frsize = 4096
    f_blocks = 16
    f_bfree = f_bavail = 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_when_the_writer_fails_on_a_full_disk_is_one_line(in_study, capsys, monkeypatch,
                                                                  tmp_path, fmt):
    target, make = ENOSPC_RAISED[fmt]

    def raise_(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise make()

    monkeypatch.setattr(target, raise_)
    monkeypatch.setattr(os, "statvfs", lambda path: _FullDisk())
    out = tmp_path / "new" / "parks"
    code, _, err = run_cli(["export", "out/solve", "--out", out, "--format", fmt], capsys)
    assert_full_disk_error(code, err, str(out))
    assert list(tmp_path.iterdir()) == []  # no partial folder, no temporary one


def test_a_library_error_on_a_disk_with_room_stays_a_bug(in_study, capsys, monkeypatch, tmp_path):
    def raise_(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ENOSPC_RAISED["geojson"][1]()

    monkeypatch.setattr("pyogrio.write_dataframe", raise_)
    code, _, err = run_cli(["export", "out/solve", "--out", tmp_path / "p", "--format",
                            "geojson"], capsys)
    assert code == 3 and "internal error: FeatureError" in err  # not blamed on the disk
    assert list(tmp_path.iterdir()) == []


# ================================================================ the report's marker

GENERATOR = '<meta name="generator" content="carbonpark">'


def test_report_writes_no_marker_and_replaces_only_its_own_html(in_study, capsys, monkeypatch,
                                                                tmp_path):
    monkeypatch.chdir(tmp_path)  # `report --out x.html` in the current folder
    solve = in_study / "out" / "solve"
    code, out, _ = run_cli(["report", solve, "--out", "x.html"], capsys)
    assert code == 0 and out.startswith("report: wrote x.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html"]  # no carbonpark-output.json
    assert GENERATOR in (tmp_path / "x.html").read_text(encoding="utf-8")[:1000]
    assert run_cli(["report", solve, "--out", "x.html"], capsys)[0] == 0  # ours: replaced

    (tmp_path / "notes.html").write_text("<html><head></head>my notes</html>")
    code, _, err = run_cli(["report", solve, "--out", "notes.html"], capsys)
    assert_one_line_error(code, err, contains="notes.html: exists and was not written by "
                                              "carbonpark; move it, choose another name, or pass "
                                              "--overwrite")
    assert (tmp_path / "notes.html").read_text() == "<html><head></head>my notes</html>"
    assert run_cli(["report", solve, "--out", "notes.html", "--overwrite"], capsys)[0] == 0
    assert GENERATOR in (tmp_path / "notes.html").read_text(encoding="utf-8")[:1000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.html", "x.html"]


def test_a_report_an_earlier_carbonpark_listed_in_its_marker_is_still_ours(in_study, capsys,
                                                                           tmp_path):
    old = tmp_path / "old.html"
    old.write_text("<!DOCTYPE html><html><head></head><body>an older report</body></html>")
    (tmp_path / atomic.MARKER).write_text(json.dumps({"kind": "report", "files": ["old.html"]}))
    code, _, _ = run_cli(["report", in_study / "out" / "solve", "--out", old], capsys)
    assert code == 0 and GENERATOR in old.read_text(encoding="utf-8")


# ================================================================ write permission first

def _commands(study: Path, out: Path) -> dict[str, list[object]]:
    return {
        "grid": ["grid", "data/demo.toml", "--out", out, "--cell-km", "100"],
        "solve": ["solve", "scenarios/balanced.toml", "--out", out, *COARSE],
        "export": ["export", "out/solve", "--out", out],
        "gap": ["gap", "grids/demo100", "--out", out],
        "report": ["report", "out/solve", "--out", f"{out}.html"],
    }


#: The work each command must not start when its output cannot be written.
WORK = {"grid": "optimizer.grid.manifest.build_grid_from_manifest",
        "solve": "optimizer.plan.results.solve",
        "export": "optimizer.outputs.export.export_solution",
        "gap": "optimizer.grid.build.read_grid",
        "report": "optimizer.outputs.report.report_html"}


def _no_work(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def work(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{name} started its work before checking its output")

    monkeypatch.setattr(WORK[name], work)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A real read-only tmpfs (``mount -t tmpfs -o ro``)."""
    with tmpfs(tmp_path / "ro", "ro,size=64k") as disk:
        yield disk


@pytest.mark.parametrize("name", list(WORK))
def test_a_real_read_only_folder_is_refused_before_any_work(in_study, capsys, monkeypatch,
                                                            read_only, name):
    _no_work(monkeypatch, name)
    out = read_only / "sub" / "out"
    code, stdout, err = run_cli(_commands(in_study, out)[name], capsys)
    line = assert_one_line_error(code, err, contains=f"cannot write into {read_only} (Read-only "
                                                     "file system); choose a folder you can "
                                                     "write to")
    assert line.startswith(f"carbonpark: error: {out}"), line
    assert stdout == "" and list(read_only.iterdir()) == []


@pytest.mark.parametrize("name", list(WORK))
def test_an_unwritable_folder_is_refused_before_any_work(in_study, capsys, monkeypatch, tmp_path,
                                                         name):
    """Always runs: the probe file is refused as a read-only mount (or ACL) refuses it."""
    _no_work(monkeypatch, name)
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(path).startswith(".carbonpark-probe-"):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    out = tmp_path / "out"
    code, stdout, err = run_cli(_commands(in_study, out)[name], capsys)
    shown = f"{out}.html" if name == "report" else out
    assert_one_line_error(code, err, contains=f"{shown}: cannot write into {tmp_path} (Permission "
                                              f"denied); choose a folder you can write to, or "
                                              f"make {tmp_path} writable")
    assert stdout == "" and list(tmp_path.iterdir()) == []
