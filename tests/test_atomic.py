"""optimizer.atomic: outputs are written atomically and never replace what is not ours."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import optimizer
from optimizer import atomic
from optimizer.atomic import (
    MARKER,
    check_output_dir,
    check_output_files,
    claim_files,
    write_dir_atomic,
    write_file_atomic,
    write_text_atomic,
)
from optimizer.errors import OptimizerError, OutputError


def fill_with(**files: str):  # type: ignore[no-untyped-def]
    """A ``fill`` writing ``name=text`` files."""
    def fill(tmp: Path) -> None:
        for name, text in files.items():
            (tmp / name).write_text(text)
    return fill


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): ("<dir>" if p.is_dir() else p.read_text())
            for p in sorted(root.rglob("*"))}


def hidden(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(".")]


@pytest.fixture
def umask():  # type: ignore[no-untyped-def]
    """Set the process umask for one test; restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- the error class

def test_output_error_is_ours_and_an_os_error():
    assert issubclass(OutputError, OptimizerError) and issubclass(OutputError, OSError)
    assert optimizer.OutputError is OutputError
    assert str(OutputError("out: is a file")) == "out: is a file"


# ---------------------------------------------------------------- folders

def test_a_new_folder_is_written_with_a_marker(in_tmp):
    out = write_dir_atomic(Path("a") / "grid", "grid", fill_with(x="1", y="2"))
    assert out == Path("a/grid")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "x", "y"]
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "grid" and marker["files"] == ["x", "y"]
    assert marker["carbonpark"] == optimizer.__version__ and "written_at" in marker
    assert hidden(in_tmp / "a") == []


def test_own_output_of_the_same_kind_is_replaced_whole(in_tmp):
    write_dir_atomic("g", "grid", fill_with(old="1", keep="1"))
    write_dir_atomic("g", "grid", fill_with(keep="2", new="3"))
    assert snapshot(in_tmp / "g").keys() == {MARKER, "keep", "new"}
    assert (in_tmp / "g" / "keep").read_text() == "2"
    assert hidden(in_tmp) == []  # no .g.*.old or .g.*.tmp left behind


def test_an_empty_existing_folder_is_fine(in_tmp):
    (in_tmp / "empty").mkdir()
    assert check_output_dir("empty", "gap") == Path("empty")
    write_dir_atomic("empty", "gap", fill_with(a="1"))
    assert (in_tmp / "empty" / "a").read_text() == "1"


def test_nested_folders_are_recorded_and_replaced(in_tmp):
    def fill(tmp: Path) -> None:
        (tmp / "input").mkdir()
        (tmp / "input" / "pu.dat").write_text("id\n")
        (tmp / "output").mkdir()

    write_dir_atomic("mx", "marxan-project", fill)
    assert json.loads((in_tmp / "mx" / MARKER).read_text())["files"] == ["input", "input/pu.dat",
                                                                           "output"]
    write_dir_atomic("mx", "marxan-project", fill)  # our own: replaced
    (in_tmp / "mx" / "output" / "output_best.csv").write_text("Marxan's")
    with pytest.raises(OutputError, match=r"^mx: holds output/output_best.csv, which carbonpark "
                                          r"did not write; .* --overwrite"):
        write_dir_atomic("mx", "marxan-project", fill)
    assert (in_tmp / "mx" / "output" / "output_best.csv").read_text() == "Marxan's"


@pytest.mark.parametrize("case", ["file", "documents", "other kind", "our output plus a user file"])
def test_what_is_not_our_output_is_refused_unless_overwrite(in_tmp, case):
    target = in_tmp / "out"
    if case == "file":
        target.write_text("my thesis")
        expected = r"^out: is a file, not an output folder; .*--overwrite"
    elif case == "documents":
        target.mkdir()
        (target / "letter.txt").write_text("dear")
        expected = r"^out: the folder is not empty and holds no carbonpark grid output; .*--overwrite"
    elif case == "other kind":
        write_dir_atomic("out", "gap", fill_with(carbon_csv="1"))
        expected = r"^out: holds carbonpark gap output, not grid; .*--overwrite"
    else:
        write_dir_atomic("out", "grid", fill_with(units="1"))
        (target / "notes.txt").write_text("mine")
        expected = r"^out: holds notes.txt, which carbonpark did not write; .*--overwrite"
    before = snapshot(in_tmp)
    with pytest.raises(OutputError, match=expected) as info:
        write_dir_atomic("out", "grid", fill_with(units="2"))
    assert len(str(info.value).splitlines()) == 1
    assert snapshot(in_tmp) == before
    write_dir_atomic("out", "grid", fill_with(units="2"), overwrite=True)
    assert snapshot(target).keys() == {MARKER, "units"}
    assert hidden(in_tmp) == []


def test_a_foreign_or_broken_marker_is_not_ours(in_tmp):
    (in_tmp / "out").mkdir()
    (in_tmp / "out" / MARKER).write_text("{not json")
    with pytest.raises(OutputError, match="holds no carbonpark grid output"):
        check_output_dir("out", "grid")


@pytest.mark.parametrize("overwrite", [False, True])
def test_inputs_are_never_replaced_or_written_into(in_tmp, overwrite):
    data = in_tmp / "data"
    (data / "layers").mkdir(parents=True)
    layer = data / "layers" / "carbon.tif"
    layer.write_text("raster")
    before = snapshot(in_tmp)
    for out, inputs, what in [
        ("data/layers/carbon.tif", [layer], "is an input of this command"),
        ("data", [layer], "holds the input"),
        ("data/layers", [layer], "holds the input"),
        ("data/layers/new", [data / "layers"], "lies inside the input"),
    ]:
        with pytest.raises(OutputError, match=rf"^{out}: {what}.*--overwrite never replaces an input"):
            write_dir_atomic(out, "grid", fill_with(a="1"), overwrite=overwrite, inputs=inputs)
    assert snapshot(in_tmp) == before
    # a symlink to an input is the input
    (in_tmp / "link").symlink_to(layer)
    with pytest.raises(OutputError, match=r"^link: is an input"):
        check_output_dir("link", "grid", overwrite=overwrite, inputs=[layer])


@pytest.mark.parametrize("overwrite", [False, True])
def test_the_current_home_and_root_folders_are_never_replaced(in_tmp, monkeypatch, overwrite):
    (in_tmp / "work").mkdir()
    (in_tmp / "work" / "notes.txt").write_text("x")
    monkeypatch.chdir(in_tmp / "work")
    for out in (".", "..", str(in_tmp)):
        with pytest.raises(OutputError, match=rf"^{out}: is the current folder or a folder above it"):
            check_output_dir(out, "grid", overwrite=overwrite)
    monkeypatch.setenv("HOME", str(in_tmp / "work" / "home"))
    (in_tmp / "work" / "home").mkdir()
    with pytest.raises(OutputError, match=r"^home: is the home folder"):
        write_dir_atomic("home", "grid", fill_with(a="1"), overwrite=overwrite)
    with pytest.raises(OutputError, match=r"^/: is the root folder"):
        check_output_dir("/", "grid", overwrite=overwrite)
    assert (in_tmp / "work" / "notes.txt").read_text() == "x"


def test_a_file_where_a_parent_folder_should_be_is_refused(in_tmp):
    (in_tmp / "report.pdf").write_text("pdf")
    with pytest.raises(OutputError, match=r"^report.pdf/grid: report.pdf is a file, not a folder"):
        check_output_dir("report.pdf/grid", "grid", overwrite=True)


def test_a_failing_fill_leaves_the_old_output_and_no_temporary_folder(in_tmp):
    write_dir_atomic("g", "grid", fill_with(units="old"))
    before = snapshot(in_tmp)

    def fill(tmp: Path) -> None:
        (tmp / "units").write_text("half")
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        write_dir_atomic("g", "grid", fill)
    assert snapshot(in_tmp) == before and hidden(in_tmp) == []


def test_a_write_error_names_the_users_path_not_the_temporary_one(in_tmp):
    write_dir_atomic("g", "grid", fill_with(units="old"))
    before = snapshot(in_tmp)

    def fill(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "units.parquet"))

    with pytest.raises(OutputError) as info:
        write_dir_atomic("g", "grid", fill)
    msg = str(info.value)
    assert msg.startswith("cannot write g/units.parquet (No space left on device); ")
    assert ".tmp" not in msg and len(msg.splitlines()) == 1
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert snapshot(in_tmp) == before and hidden(in_tmp) == []

    def fill_text(tmp: Path) -> None:  # a library error quoting the temporary path
        raise OSError(f"Failed to open local file '{os.path.abspath(tmp)}/units.parquet'")

    with pytest.raises(OutputError, match=r"^cannot write g \(Failed to open local file 'g/units"):
        write_dir_atomic("g", "grid", fill_text)


def test_a_failed_swap_puts_the_old_output_back(in_tmp, monkeypatch):
    write_dir_atomic("g", "grid", fill_with(units="old"))
    before = snapshot(in_tmp)
    real_rename = os.rename
    calls = []

    def rename(src, dst):  # type: ignore[no-untyped-def]
        calls.append((src, dst))
        if len(calls) == 1:  # the new folder into place (the old one was moved aside)
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError, match=r"^cannot write g \(Input/output error\)"):
        write_dir_atomic("g", "grid", fill_with(units="new"))
    monkeypatch.setattr(os, "rename", real_rename)
    assert snapshot(in_tmp) == before and hidden(in_tmp) == []


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755),
                                                             (0o077, 0o600, 0o700),
                                                             (0o002, 0o664, 0o775)])
def test_outputs_get_the_users_permissions(in_tmp, umask, mask, file_mode, dir_mode):
    umask(mask)
    out = write_dir_atomic("g", "grid", fill_with(units="1"))
    assert (out.stat().st_mode & 0o777) == dir_mode
    assert {(p.stat().st_mode & 0o777) for p in out.iterdir()} == {file_mode}
    one = write_text_atomic(Path("one.csv"), "a,b\n")
    assert (one.stat().st_mode & 0o777) == file_mode
    claim_files("mx", "marxan-outputs", ["output_best.csv"])
    assert ((in_tmp / "mx" / MARKER).stat().st_mode & 0o777) == file_mode


# ---------------------------------------------------------------- single files

def test_write_file_atomic_replaces_in_one_step_and_cleans_up(in_tmp):
    path = write_file_atomic(Path("a.csv"), lambda tmp: tmp.write_text("one"))
    assert path.read_text() == "one"
    write_text_atomic(path, "two\n")
    assert path.read_text() == "two\n"

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(errno.EACCES, "Permission denied", str(tmp))

    with pytest.raises(OutputError, match=r"^cannot write a.csv \(Permission denied\)"):
        write_file_atomic(path, broken)
    with pytest.raises(KeyboardInterrupt):
        write_file_atomic(path, lambda tmp: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert path.read_text() == "two\n"
    assert sorted(p.name for p in in_tmp.iterdir()) == ["a.csv"]


# ---------------------------------------------------------------- files in a shared folder

def test_claim_files_replaces_only_files_we_wrote(in_tmp):
    out = Path("proj/output")
    out.mkdir(parents=True)
    (out / "output_best.csv").write_text("Marxan's")  # written by Marxan itself
    claim_files(out, "marxan-outputs", ["mine_best.csv"])
    write_text_atomic(out / "mine_best.csv", "ours")
    claim_files(out, "marxan-outputs", ["mine_best.csv", "mine_sum.csv"])  # ours: fine
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "marxan-outputs" and marker["files"] == ["mine_best.csv", "mine_sum.csv"]
    with pytest.raises(OutputError, match=r"^proj/output/output_best.csv: exists and was not written "
                                          r"by carbonpark; .*--overwrite"):
        claim_files(out, "marxan-outputs", ["output_best.csv"])
    assert (out / "output_best.csv").read_text() == "Marxan's"
    claim_files(out, "marxan-outputs", ["output_best.csv"], overwrite=True)
    assert "output_best.csv" in json.loads((out / MARKER).read_text())["files"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_claim_files_refusals(in_tmp, overwrite):
    (in_tmp / "proj" / "input").mkdir(parents=True)
    pu = in_tmp / "proj" / "input" / "pu.dat"
    pu.write_text("id\n")
    (in_tmp / "proj" / "out").mkdir()
    (in_tmp / "proj" / "out" / "sub_best.csv").mkdir()
    (in_tmp / "afile").write_text("x")
    before = snapshot(in_tmp)
    cases = [
        ("proj/input", ["pu.dat"], [pu], r"^proj/input/pu.dat: is an input of this command"),
        ("proj/input/pu.dat", ["a.csv"], [pu], r"^proj/input/pu.dat: is an input"),
        ("proj/out", ["sub_best.csv"], [], r"^proj/out/sub_best.csv: is a folder"),
        ("afile", ["a.csv"], [], r"^afile: is a file, not a folder"),
    ]
    for directory, names, inputs, expected in cases:
        with pytest.raises(OutputError, match=expected):
            claim_files(directory, "marxan-outputs", names, overwrite=overwrite, inputs=inputs)
    assert snapshot(in_tmp) == before
    # Writing new files beside the inputs is fine.
    assert check_output_files("proj/input", "marxan-outputs", ["output_best.csv"], inputs=[pu])


def test_claim_files_respects_another_kind_and_a_foreign_marker(in_tmp):
    write_dir_atomic("g", "grid", fill_with(units="1"))
    with pytest.raises(OutputError, match=r"^g: holds carbonpark grid output, not marxan-outputs"):
        claim_files("g", "marxan-outputs", ["output_best.csv"])
    (in_tmp / "o").mkdir()
    (in_tmp / "o" / MARKER).write_text("a user's file")
    with pytest.raises(OutputError, match=rf"^o/{MARKER}: exists and is not a carbonpark marker"):
        claim_files("o", "marxan-outputs", ["output_best.csv"])
    assert (in_tmp / "o" / MARKER).read_text() == "a user's file"


def test_module_imports_only_the_standard_library_errors_and_versions():
    import ast

    tree = ast.parse(Path(atomic.__file__).read_text())
    roots = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    froms = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    # optimizer.versions reads package metadata with the standard library only.
    assert {m for m in froms if m and m.startswith("optimizer")} == {"optimizer.errors",
                                                                     "optimizer.versions"}
    import sys

    assert roots - {"optimizer", "__future__"} <= set(sys.stdlib_module_names)


def test_write_grid_never_replaces_the_layers_it_was_built_from(tmp_path, demo_grid):
    from helpers import DEMO_MANIFEST

    from optimizer.grid.build import write_grid

    demo = DEMO_MANIFEST.parent / "demo"
    before = {p.name: p.read_bytes() for p in demo.iterdir()}
    with pytest.raises(OutputError, match=rf"^{demo}: holds the input .*--overwrite never replaces"):
        write_grid(demo_grid, demo, overwrite=True)
    assert {p.name: p.read_bytes() for p in demo.iterdir()} == before


# ---------------------------------------------------------------- faults (issue 22)

class _NoFreeBlock:
    """``os.statvfs`` of a full disk."""

    f_bsize = f_frsize = 4096
    f_blocks = 16
    f_bfree = f_bavail = 0


def test_a_folder_that_cannot_be_written_is_refused_before_any_work(in_tmp, monkeypatch):
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(path).startswith(".carbonpark-probe-"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, flags, *args, **kwargs)

    (in_tmp / "ro").mkdir()
    monkeypatch.setattr(os, "open", refusing)
    for call in (lambda: check_output_dir("ro/new/grid", "grid"),
                 lambda: check_output_files("ro/mx", "marxan-outputs", ["a.csv"]),
                 lambda: atomic.check_output_file(Path("ro/r.html"), owned=lambda p: True)):
        with pytest.raises(OutputError, match=r"^ro/\S+: cannot write into ro \(Read-only file "
                                              r"system\); choose a folder you can write to, or "
                                              r"make ro writable$") as info:
            call()
        assert info.value.errno == errno.EROFS
    monkeypatch.undo()
    assert snapshot(in_tmp) == {"ro": "<dir>"}  # no probe left, nothing created


def test_a_library_error_on_a_full_disk_is_the_full_disk(in_tmp, monkeypatch):
    write_dir_atomic("g", "grid", fill_with(units="old"))
    before = snapshot(in_tmp)

    def fill(tmp: Path) -> None:  # GDAL's GeoJSON driver on a full disk: no errno
        (tmp / "parks.geojson").write_text("{half")
        raise RuntimeError("Could not add feature to layer at index 2: Cannot write feature")

    monkeypatch.setattr(os, "statvfs", lambda path: _NoFreeBlock())
    for out in ("g", "new/deeper/g"):
        with pytest.raises(OutputError) as info:
            write_dir_atomic(out, "grid", fill)
        assert str(info.value) == (f"cannot write {out} (No space left on device); check the free "
                                   "space and permissions, or choose another folder")
        assert info.value.errno == errno.ENOSPC
        assert snapshot(in_tmp) == before and hidden(in_tmp) == []  # "new/" removed too
    monkeypatch.undo()  # a disk with room: the same error is a bug of ours, raised as is
    with pytest.raises(RuntimeError, match="Could not add feature"):
        write_dir_atomic("g", "grid", fill)
    assert snapshot(in_tmp) == before


def test_a_claimed_file_whose_write_failed_is_taken_off_the_marker(in_tmp):
    claim_files("mx", "marxan-outputs", ["a.csv"])
    write_text_atomic(Path("mx/a.csv"), "ours")
    claim_files("mx", "marxan-outputs", ["b.csv"])

    def full(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"^cannot write mx/b.csv \(No space left on device\)"):
        write_file_atomic(Path("mx/b.csv"), full)
    assert json.loads((in_tmp / "mx" / MARKER).read_text())["files"] == ["a.csv"]
    # A user's b.csv put there later is not ours: refused without --overwrite.
    (in_tmp / "mx" / "b.csv").write_text("the user's")
    with pytest.raises(OutputError, match=r"^mx/b.csv: exists and was not written by carbonpark"):
        claim_files("mx", "marxan-outputs", ["b.csv"])


def test_a_single_file_output_has_no_marker_and_replaces_only_its_own(in_tmp):
    def owned(p: Path) -> bool:
        return p.read_text().startswith("ours")

    def writer(text: str):  # type: ignore[no-untyped-def]
        return lambda tmp: tmp.write_text(text)

    atomic.write_output_file(Path("sub/r.html"), writer("ours 1"), owned=owned)
    atomic.write_output_file(Path("sub/r.html"), writer("ours 2"), owned=owned)
    assert snapshot(in_tmp) == {"sub": "<dir>", "sub/r.html": "ours 2"}  # no marker
    (in_tmp / "mine.html").write_text("my notes")
    with pytest.raises(OutputError, match=r"^mine.html: exists and was not written by carbonpark"):
        atomic.write_output_file(Path("mine.html"), writer("ours"), owned=owned)
    atomic.write_output_file(Path("mine.html"), writer("ours"), owned=owned, overwrite=True)
    with pytest.raises(OutputError, match=r"^sub: is a folder, not an output file"):
        atomic.check_output_file(Path("sub"), owned=owned, overwrite=True)

    def full(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"^cannot write new/x.html \(No space left on device\)"):
        atomic.write_output_file(Path("new/x.html"), full, owned=owned)
    assert not (in_tmp / "new").exists() and hidden(in_tmp) == []


# ---------------------------------------------------------------- two writers of one output

def test_a_folder_put_at_the_output_while_a_command_works_is_not_replaced(in_tmp):
    """The output is checked again before the swap: a folder someone made meanwhile (here
    inside ``fill``) is refused as at the start; before, it was replaced without a word."""
    def fill(tmp: Path) -> None:
        (tmp / "a.txt").write_text("ours")
        (in_tmp / "out").mkdir()
        (in_tmp / "out" / "notes.txt").write_text("the user's")

    with pytest.raises(OutputError, match="out"):
        write_dir_atomic("out", "test", fill)
    assert snapshot(in_tmp) == {"out": "<dir>", "out/notes.txt": "the user's"}


def test_two_writers_of_one_output_leave_one_of_them_whole():
    """Two commands writing the same output at once (two solves into one --out): each swap
    that finds the path taken or gone tries again, so the folder is one writer's, whole;
    no writer fails and nothing is left beside it."""
    import subprocess
    import sys
    import tempfile

    script = (
        "import sys, time\nfrom pathlib import Path\nfrom optimizer.atomic import write_dir_atomic\n"
        "me = sys.argv[1]\nstart = float(sys.argv[2])\n"
        "while time.time() < start: pass\n"
        "for i in range(150):\n"
        "    def fill(tmp, i=i):\n"
        "        for k in range(5):\n"
        "            (tmp / f'f{k}.txt').write_text(f'{me} {i}')\n"
        "    write_dir_atomic('out', 'test', fill)\n")
    with tempfile.TemporaryDirectory() as d:
        import time
        start = f"{time.time() + 2.0}"
        procs = [subprocess.Popen([sys.executable, "-c", script, who, start], cwd=d,
                                  stderr=subprocess.PIPE, text=True) for who in ("a", "b")]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], errors
        texts = {(Path(d) / "out" / f"f{k}.txt").read_text() for k in range(5)}
        assert len(texts) == 1  # one writer's run, whole
        assert sorted(os.listdir(d)) == ["out"]


def test_a_link_to_nothing_at_an_output_folder_is_refused_as_not_a_folder(tmp_path):
    # One stat decides what is there; a dangling link is neither missing nor a folder.
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match=r"out: is a file, not an output folder"):
        atomic.check_output_dir(tmp_path / "out", "test")
    assert atomic.check_output_dir(tmp_path / "out", "test", overwrite=True) == tmp_path / "out"
