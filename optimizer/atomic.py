"""The one way carbonpark writes a file or a folder: a temporary name beside it, then a rename.

A reader never sees a half-written output and a failed write leaves the old output as it
was. Every output folder holds a small marker, ``carbonpark-output.json`` (kind, carbonpark
version, the entries written, when), so a command can tell its own earlier output from
anything else:

* a folder output (`write_dir_atomic`: a grid, a gap report, a Marxan project) replaces
  only a folder holding our marker of the same kind and nothing we did not write; an
  existing empty folder is fine;
* files written into a shared folder (`claim_files`, then `write_file_atomic`; Marxan's
  OUTPUTDIR, next to Marxan's own files) replace only files the marker lists.

Anything else is refused with a one-line `OutputError` naming the path as given and the
fix, unless ``overwrite=True`` (``--overwrite``). Never replaced or written into, not even
with ``overwrite``: a command's inputs (or a folder holding one or inside one), the current
folder or a folder above it, the home folder and the root.

New files are created with mode ``0o666``, so the system applies the umask (and any default
ACL) as for any file the user creates; ``mkstemp`` would make them ``0600``.

The checks run before any work, and include writing itself: a probe file is created and
removed in the folder the output will be written in (or its nearest existing parent), so a
read-only folder is one line at once, not after the grid is built or the plan solved. A
write that fails on a full disk is one line too, ``cannot write <path> (No space left on
device)``, whatever library wrote (GDAL reports a full disk as "Could not add feature"): a
library's error on a disk with (almost) no free space left is reported as the full disk it
is, and nothing of the failed output is left (no temporary file or folder, no folder the
write created, no marker listing a file that was never written).

A single file that is the whole output (a report) needs no marker: `write_output_file`
replaces it only when its ``owned`` check recognises the file as ours.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from optimizer.errors import OptimizerError, OutputError
from optimizer.versions import versions

#: Name of the marker file in every output folder.
MARKER = "carbonpark-output.json"

_NEVER = "--overwrite never replaces an input"


def check_output_dir(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                     inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Check that a folder output of ``kind`` may be written at ``path``, before any work.

    Allowed: a new path, an empty folder, our own earlier output of the same kind (our
    marker, nothing else in it); anything but the protected paths with ``overwrite``. The
    folder it is written in (``path``'s nearest existing parent) must be writable: a probe
    file is created there and removed (`check_writable`).

    Parameters
    ----------
    path : str or PathLike
        The output folder, as the user gave it (messages name it so).
    kind : str
        The kind of output, e.g. ``"grid"`` or ``"gap"``.
    overwrite : bool
        Replace a file or folder that is not our own output of this kind.
    inputs : iterable of paths
        The command's inputs; an output that is one, holds one or lies inside one is refused.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        One line naming ``path``, what is there (or the folder that cannot be written) and
        the fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_dir(f"{tmp}/new/grid", "grid").name
    'grid'
    """
    p = Path(path)
    _refuse_protected(p, inputs, replaced=True)
    _refuse_file_parent(p)
    # The folder is written beside its target and renamed: its parent must be writable.
    check_writable(p, _existing_folder(p.parents))
    # One look (a stat) says what is at ``p``: between two looks another writer's swap may
    # move its folder aside and put the next one in place.
    try:
        is_dir = stat.S_ISDIR(os.stat(p).st_mode)
    except FileNotFoundError:
        if not os.path.islink(p):
            return p
        is_dir = False  # a link to nothing: not an output folder
    if not is_dir:
        if overwrite:
            return p
        raise OutputError(f"{p}: is a file, not an output folder; choose an empty or new folder, "
                          "or pass --overwrite to replace the file")
    entries = _entries(p)
    if not entries or overwrite:
        return p
    marker = read_marker(p)
    for _ in range(20):  # entries and marker of one folder: another writer may swap it
        again = _entries(p) if os.path.isdir(p) else set()
        if again == entries and (marker is not None or MARKER not in again):
            break
        entries, marker = again, read_marker(p)
    if not entries:
        return p
    if marker is None:
        raise OutputError(f"{p}: the folder is not empty and holds no carbonpark {kind} output; "
                          "choose an empty or new folder, or pass --overwrite to replace it")
    if marker["kind"] != kind:
        raise OutputError(f"{p}: holds carbonpark {marker['kind']} output, not {kind}; choose "
                          "another folder, or pass --overwrite to replace it")
    owned = set(marker["files"])
    # Folders the marker says grow (a sweep's runs/ parts) are ours with what is in them.
    grown = marker.get("grows")
    grows: list[str] = grown if isinstance(grown, list) else []
    prefixes = tuple(f"{g}/" for g in grows)
    foreign = sorted(e for e in entries - owned - {MARKER} if not e.startswith(prefixes))
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise OutputError(f"{p}: holds {', '.join(foreign[:3])}{more}, which carbonpark did not "
                          "write; move them elsewhere, or pass --overwrite to replace the folder")
    return p


def write_dir_atomic(path: str | os.PathLike[str], kind: str, fill: Callable[[Path], Any], *,
                     overwrite: bool = False, inputs: Iterable[str | os.PathLike[str]] = (),
                     grows: Iterable[str] = ()) -> Path:
    """Write a folder output: ``fill`` a temporary sibling folder, mark it, swap it into place.

    The old output is moved aside only once the new folder is complete, and removed only
    once the new one is in place; on any failure the temporary folder is removed and the
    old output is left as it was.

    Parameters
    ----------
    path, kind, overwrite, inputs
        As for `check_output_dir`, which is called first.
    fill : callable
        ``fill(folder)`` writes the output's files into ``folder``.
    grows : iterable of str
        Sub-folders the command keeps adding its own files to after this write (a
        sweep's ``runs``): recorded in the marker, so their contents count as ours.

    Returns ``path``. Raises `OutputError` for a refusal (see `check_output_dir`) or a
    failed write; the message names ``path`` or the file under it, never the temporary
    folder.
    """
    p = check_output_dir(path, kind, overwrite=overwrite, inputs=inputs)
    tmp: Path | None = None
    made: list[Path] = []
    try:
        made = _make_parents(p)
        tmp = _new_temp(p, directory=True)
        fill(tmp)
        entries = sorted(_entries(tmp))
        (tmp / MARKER).write_text(_marker_text(kind, entries, list(grows)), encoding="utf-8")
        for root, _, names in os.walk(tmp):
            for name in names:
                _fsync(os.path.join(root, name))
        # Again: another command (a second solve into the same --out) or the user may have
        # put something at ``path`` while this one worked; the same rules hold for it.
        check_output_dir(path, kind, overwrite=overwrite, inputs=inputs)
        _swap(tmp, p)
    except BaseException as exc:
        err = _failure(p, exc, tmp)  # before the temporary folder frees its space
        if tmp is not None:
            _remove(tmp)
        _remove_made(made)
        if err is not None:
            raise err from exc
        raise
    _fsync(p.parent)
    return p


def check_output_files(directory: str | os.PathLike[str], kind: str, names: Iterable[str], *,
                       overwrite: bool = False,
                       inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Check that files ``names`` of ``kind`` may be written into a folder shared with others.

    A file may be replaced when our marker in ``directory`` lists it (an earlier output of
    ours), or with ``overwrite``; an input, a folder in its place or a file under an input
    folder never. ``directory`` (or its nearest existing parent) must be writable
    (`check_writable`).

    Returns
    -------
    pathlib.Path
        ``directory``.

    Raises
    ------
    OutputError
        One line naming the file (as ``directory/name``) and the fix.
    """
    d = Path(directory)
    inputs = list(inputs)
    _refuse_protected(d, inputs, replaced=False)
    _refuse_file_parent(d)
    if os.path.lexists(d) and not d.is_dir():
        raise OutputError(f"{d}: is a file, not a folder; choose a folder for the output files")
    owned: set[str] = set()
    if os.path.lexists(d / MARKER):
        marker = read_marker(d)
        if marker is None and not overwrite:
            raise OutputError(f"{d / MARKER}: exists and is not a carbonpark marker; move it, "
                              "choose another folder, or pass --overwrite to replace it")
        if marker is not None and marker["kind"] != kind and not overwrite:
            raise OutputError(f"{d}: holds carbonpark {marker['kind']} output, not {kind}; "
                              "choose another folder, or pass --overwrite")
        if marker is not None and marker["kind"] == kind:
            owned = set(marker["files"])
    for name in names:
        target = d / name
        _refuse_protected(target, inputs, replaced=False)
        if not os.path.lexists(target):
            continue
        if target.is_dir():
            raise OutputError(f"{target}: is a folder, not an output file; choose another folder")
        if name not in owned and not overwrite:
            raise OutputError(f"{target}: exists and was not written by carbonpark; move it, "
                              "choose another folder, or pass --overwrite to replace it")
    check_writable(d, _existing_folder([d, *d.parents]))
    return d


def claim_files(directory: str | os.PathLike[str], kind: str, names: Iterable[str], *,
                overwrite: bool = False, inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """`check_output_files`, then create ``directory`` and record ``names`` in its marker.

    Call it before writing the files (with `write_file_atomic`): a run cut short leaves
    files the marker already lists, which the next run may replace. A file whose write
    fails is taken off the marker again (`write_file_atomic`), and listed files that no
    longer exist are dropped at the next claim: the marker lists only what we wrote.
    """
    names = list(names)
    d = check_output_files(directory, kind, names, overwrite=overwrite, inputs=inputs)
    marker = read_marker(d) if d.is_dir() else None
    # Earlier claims stand only for files that exist: a write that failed claims nothing.
    prior = ({f for f in marker["files"] if os.path.lexists(d / f)}
             if marker is not None and marker["kind"] == kind else set())
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(d, exc) from exc
    write_text_atomic(d / MARKER, _marker_text(kind, sorted(prior | set(names))))
    return d


def write_file_atomic(path: str | os.PathLike[str], writer: Callable[[Path], Any]) -> Path:
    """Write one file: ``writer(tmp)`` writes a temporary file beside ``path``, then rename.

    The temporary file is created with mode ``0o666`` less the umask, flushed to disk
    (``fsync``) and renamed over ``path`` (``os.replace``). It checks no ownership: use it
    inside a folder from `claim_files` or `write_dir_atomic`.

    Raises
    ------
    OutputError
        Writing failed (a full disk too, whatever library wrote: see the module); the
        message names ``path``, never the temporary file. A marker of ``path``'s folder
        that lists ``path`` while it does not exist is updated to drop it.
    """
    p = Path(path)
    tmp: Path | None = None
    try:
        tmp = _new_temp(p, directory=False)
        writer(tmp)
        _fsync(tmp)
        os.replace(tmp, p)
    except BaseException as exc:
        err = _failure(p, exc, tmp)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _unclaim(p)
        if err is not None:
            raise err from exc
        raise
    _fsync(p.parent)
    return p


def write_text_atomic(path: str | os.PathLike[str], text: str, *, newline: str = "\n") -> Path:
    """`write_file_atomic` of UTF-8 ``text`` (``newline`` as for `open`)."""
    def writer(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)

    return write_file_atomic(path, writer)


def check_output_file(path: str | os.PathLike[str], *, owned: Callable[[Path], bool],
                      overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Check that a single-file output (no marker beside it) may be written at ``path``.

    Allowed: a new file, a file ``owned(path)`` recognises as ours (an earlier output of
    the same kind), anything else with ``overwrite``; never an input, a file inside an
    input folder, or a folder. The folder the file goes in (or its nearest existing
    parent) must be writable (`check_writable`).

    Parameters
    ----------
    path : str or PathLike
        The file, as the user gave it (messages name it so).
    owned : callable
        ``owned(path) -> bool``: whether the existing file is our own earlier output
        (a report carries carbonpark's ``generator`` tag).
    overwrite : bool
        Replace a file that is not ours.
    inputs : iterable of paths
        The command's inputs.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        One line naming ``path`` (or the folder that cannot be written) and the fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "notes.html").write_text("my notes")
    ...     try:
    ...         check_output_file(Path(tmp, "notes.html"), owned=lambda p: False)
    ...     except OutputError as exc:
    ...         print(str(exc).split(": ", 1)[1])
    exists and was not written by carbonpark; move it, choose another name, or pass --overwrite to replace it
    """
    p = Path(path)
    inputs = list(inputs)
    _refuse_protected(p.parent, inputs, replaced=False)
    _refuse_protected(p, inputs, replaced=False)
    _refuse_file_parent(p)
    if os.path.lexists(p):
        if p.is_dir():
            raise OutputError(f"{p}: is a folder, not an output file; give a file name")
        if not overwrite and not owned(p):
            raise OutputError(f"{p}: exists and was not written by carbonpark; move it, choose "
                              "another name, or pass --overwrite to replace it")
    check_writable(p, _existing_folder(p.parents))
    return p


def write_output_file(path: str | os.PathLike[str], writer: Callable[[Path], Any], *,
                      owned: Callable[[Path], bool], overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write a single-file output: `check_output_file`, then `write_file_atomic`.

    Its folder is created when new (and removed again if the write fails); no marker is
    written: ``owned`` tells our file from a user's next time.

    Returns ``path``; raises `OutputError` as `check_output_file` and `write_file_atomic`.
    """
    p = check_output_file(path, owned=owned, overwrite=overwrite, inputs=inputs)
    made: list[Path] = []
    try:
        made = _make_parents(p)
        write_file_atomic(p, writer)
    except BaseException as exc:
        _remove_made(made)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _write_error(p, exc) from exc
        raise
    return p


def check_writable(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> None:
    """Check that files can be created in ``folder`` (for the output ``path``), before any work.

    A hidden probe file is created in ``folder`` and removed at once: this sees what
    permission bits do not (a read-only mount, an access list, a full inode table, root
    on a read-only file system).

    Raises
    ------
    OutputError
        One line naming ``path``, the folder and the fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_writable(f"{tmp}/out", tmp)
    """
    folder = Path(folder)
    probe = folder / f".carbonpark-probe-{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        shown = folder if str(folder) != "." else Path(os.getcwd())
        err = OutputError(f"{path}: cannot write into {shown} ({reason}); choose a folder you "
                          f"can write to, or make {shown} writable")
        err.errno = exc.errno
        raise err from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


# ---------------------------------------------------------------- helpers

def _existing_folder(candidates: Iterable[Path]) -> Path:
    """The first of ``candidates`` (a path's parents, nearest first) that exists."""
    last = Path(".")
    for c in candidates:
        if os.path.isdir(c):
            return c
        last = c
    return last


def _make_parents(p: Path) -> list[Path]:
    """Create ``p``'s missing parent folders; those created, deepest first."""
    missing = [q for q in p.parents if not os.path.lexists(q)]
    made = []
    for q in reversed(missing):
        try:
            os.mkdir(q, 0o777)
        except FileExistsError:  # made meanwhile by someone else: theirs
            continue
        made.append(q)
    return made[::-1]


def _remove_made(made: list[Path]) -> None:
    """Remove the folders `_make_parents` created (deepest first), if still empty."""
    for q in made:
        with contextlib.suppress(OSError):
            os.rmdir(q)


#: What libraries say when the disk is full (GDAL, SQLite, Arrow, the C library).
_FULL_WORDS = ("no space left on device", "disk is full", "disk full", "enospc",
               "not enough space")
#: Free bytes below which a library's failed write is taken for a full disk.
_FULL_BYTES = 8 * 2**20


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether ``exc``, raised while writing in ``folder``, is a full disk.

    Its text or errno (or that of an exception it chains) says so, or the disk holding
    ``folder`` has less than 8 MiB left for us (GDAL drivers often lose the errno: a
    GeoPackage on a full disk fails with "Could not add feature ... no such table").
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if getattr(seen, "errno", None) == errno.ENOSPC:
            return True
        if any(w in str(seen).lower() for w in _FULL_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or no statvfs (Windows)
        return False
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return (st.f_bfree if root else st.f_bavail) * st.f_frsize < _FULL_BYTES


def _failure(p: Path, exc: BaseException, tmp: Path | None) -> OutputError | None:
    """The `OutputError` a failed write of ``p`` becomes, or None to re-raise ``exc``."""
    if isinstance(exc, OutputError):
        return None
    if isinstance(exc, OSError):
        return _write_error(p, exc, tmp)
    if isinstance(exc, Exception) and not isinstance(exc, OptimizerError) and _disk_full(
            exc, tmp if tmp is not None and os.path.isdir(tmp) else _existing_folder(p.parents)):
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return _write_error(p, full, tmp)
    return None


def _unclaim(p: Path) -> None:
    """Drop ``p`` from its folder's marker when the marker lists it and it does not exist."""
    if os.path.lexists(p):
        return
    marker = read_marker(p.parent)
    if marker is None or p.name not in marker["files"]:
        return
    files = [f for f in marker["files"] if f != p.name]
    with contextlib.suppress(OSError):
        write_text_atomic(p.parent / MARKER, _marker_text(marker["kind"], files,
                                                          marker.get("grows") or None))

def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.path.abspath(path))


def _refuse_protected(p: Path, inputs: Iterable[str | os.PathLike[str]], *, replaced: bool) -> None:
    """Refuse (whatever ``overwrite``) an input; if ``replaced``, also cwd, home and root."""
    real = _real(p)
    if replaced:
        if real == os.path.dirname(real):
            raise OutputError(f"{p}: is the root folder; choose a new folder for the output")
        try:
            home = _real(Path.home())
        except (RuntimeError, KeyError):  # no HOME and no password entry
            home = None
        if real == home:
            raise OutputError(f"{p}: is the home folder; choose a new folder for the output")
        try:
            cwd = _real(os.getcwd())
        except OSError:  # the current folder was deleted
            cwd = None
        if cwd is not None and (cwd == real or cwd.startswith(real + os.sep)):
            raise OutputError(f"{p}: is the current folder or a folder above it; an output folder "
                              "is replaced as a whole: choose a new folder for the output")
    for inp in inputs:
        r = _real(inp)
        if r == real:
            raise OutputError(f"{p}: is an input of this command; choose another output path "
                              f"({_NEVER})")
        if replaced and r.startswith(real + os.sep):
            raise OutputError(f"{p}: holds the input {_shown(inp)}; choose another output path "
                              f"({_NEVER})")
        if real.startswith(r + os.sep):
            raise OutputError(f"{p}: lies inside the input {_shown(inp)}; choose an output path "
                              f"outside the inputs ({_NEVER})")


def _shown(path: str | os.PathLike[str]) -> str:
    """An input as messages name it: as given, or without ``..`` (relative to the current
    folder when under it) when given with one (``scenarios/../data/demo.toml``)."""
    if os.pardir not in Path(path).parts:
        return os.fspath(path)
    real = _real(path)
    try:
        rel = os.path.relpath(real)
    except ValueError:  # another drive (Windows)
        return real
    return real if rel.startswith(os.pardir) else rel


def _refuse_file_parent(p: Path) -> None:
    for parent in p.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise OutputError(f"{p}: {parent} is a file, not a folder; choose another output path")
            return


def _entries(root: Path) -> set[str]:
    """Relative POSIX paths of every file and folder under ``root``."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(os.path.relpath(dirpath, root))
        out.update((rel / name).as_posix() for name in dirnames + filenames)
    return out


def read_marker(folder: Path) -> dict[str, Any] | None:
    """Our marker in ``folder`` (kind and files), or None when absent or not ours."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("kind"), str)
            or not isinstance(data.get("files"), list)):
        return None
    return data


def holds_text(folder: str | os.PathLike[str]) -> str:
    """What a folder given to the wrong command holds, for its message: ``"; it holds
    carbonpark sweep output"``, or ``""`` when no carbonpark marker says.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_dir_atomic(f"{tmp}/s", "sweep", lambda d: None)
    ...     holds_text(f"{tmp}/s"), holds_text(tmp)
    ('; it holds carbonpark sweep output', '')
    """
    marker = read_marker(Path(folder)) if os.path.isdir(folder) else None
    return f"; it holds carbonpark {marker['kind']} output" if marker else ""


def _marker_text(kind: str, files: list[str], grows: list[str] | None = None) -> str:
    stack = versions(loaded_only=True)  # the native libraries this output used, if any
    data: dict[str, Any] = {"kind": kind, "carbonpark": stack["carbonpark"],
                            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                            "files": files, "versions": stack}
    if grows:
        data["grows"] = grows
    return json.dumps(data, indent=1) + "\n"


def _new_temp(p: Path, *, directory: bool) -> Path:
    """A new hidden file or folder beside ``p``, created with mode 0o666 / 0o777 less the umask."""
    for _ in range(100):
        tmp = p.parent / f".{p.name}.{secrets.token_hex(4)}.tmp"
        try:
            if directory:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {p}")  # pragma: no cover


def _swap(tmp: Path, p: Path) -> None:
    """Move ``tmp`` to ``p``; what was at ``p`` is moved aside first and removed last.

    Two writers of one output may swap at the same moment: the one whose move finds the
    path taken or gone again tries again, so the last complete output wins whole.
    """
    for attempt in range(20):
        if not os.path.lexists(p):
            try:
                os.rename(tmp, p)  # fails on a folder another writer just put there
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == 19:
                    raise
                continue
        old = p.parent / f".{p.name}.{secrets.token_hex(4)}.old"
        try:
            os.replace(p, old)
        except FileNotFoundError:  # another writer moved it aside first
            continue
        try:
            os.rename(tmp, p)
        except BaseException as exc:
            # Put back what was there unless another writer's output took its place.
            with contextlib.suppress(OSError):
                os.rename(old, p)
            if os.path.lexists(old):
                _remove(old)
            taken = isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST)
            if not taken or attempt == 19:
                raise
            continue
        _remove(old)
        return


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _fsync(path: str | os.PathLike[str]) -> None:
    """Flush a file (or a folder's entries) to disk; best effort for folders."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if os.path.isdir(path):
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not os.path.isdir(path):
            raise
    finally:
        os.close(fd)


def _write_error(p: Path, exc: OSError, tmp: Path | None = None) -> OutputError:
    """An `OutputError` for a failed write to ``p``, naming no temporary path."""
    where = p
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC or "no space left on device" in reason.lower():
        reason = os.strerror(errno.ENOSPC)  # one wording, whichever library failed
    if tmp is not None:
        name = exc.filename if isinstance(exc.filename, str) else None
        for form in (os.path.abspath(tmp), os.fspath(tmp)):
            if name is not None and name.startswith(form + os.sep):
                where = p / os.path.relpath(name, form)
            reason = reason.replace(form, os.fspath(p))
    reason = " ".join(reason.split())
    err = OutputError(f"cannot write {where} ({reason}); check the free space and permissions, or "
                      "choose another folder")
    err.errno = exc.errno
    return err
