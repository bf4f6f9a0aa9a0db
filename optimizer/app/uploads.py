"""Unpack an uploaded zip of a grid folder safely, and remove it when it is no longer used.

Limits, checked on the zip's directory before anything is unpacked and again on the bytes
actually unpacked (a zip's declared sizes can lie): at most `MAX_UNPACKED_BYTES` in all,
at most `MAX_MEMBERS` files and folders, an unpacked size at most `MAX_RATIO` times the
upload's own size, no path out of the folder, no link, exactly one grid folder. An upload is
unpacked in a temporary folder of its own (`UploadFolder`, named ``carbonpark-upload-*``)
that is removed whole when the upload is refused (any error, before or while unpacking or
loading), when another grid replaces it, and when the session ends (the folder object is
garbage collected with the session's state) or the app process exits.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import MutableMapping
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import Any

from optimizer.errors import InputDataError

#: Limits on what an uploaded zip may unpack to.
MAX_UNPACKED_BYTES = 2 * 1024**3     # 2 GiB in all (declared, and actually written)
MAX_MEMBERS = 2_000                  # files and folders
MAX_RATIO = 100                      # unpacked size / size of the uploaded zip, over all members
RATIO_FLOOR = 16 * 1024**2           # the ratio is not checked below 16 MiB unpacked in all

#: Prefix of the temporary folder of each upload (in the system's temporary folder).
UPLOAD_PREFIX = "carbonpark-upload-"

#: Key of the session state holding the `UploadFolder` of the grid in use.
SESSION_KEY = "upload_folder"

_CHUNK = 1 << 20
_FIX = "zip the grid folder written by `carbonpark grid` and upload that"


def _size(n: float) -> str:
    return f"{n / 1024**3:,.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:,.1f} MiB"


def _refuse(name: str, what: str, fix: str = _FIX) -> InputDataError:
    return InputDataError(f"{name}: refused, {what}; {fix}")


def _check_member(info: zipfile.ZipInfo, name: str) -> PurePosixPath:
    rel = PurePosixPath(info.filename.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
        raise _refuse(name, f"the zip holds a path outside its folder ({info.filename!r})")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _refuse(name, f"the zip holds a symbolic link ({info.filename!r})")
    return rel


def _check_declared(infos: list[zipfile.ZipInfo], packed: int, name: str) -> int:
    """Refuse on the zip's directory alone: member count, total size, overall ratio."""
    if len(infos) > MAX_MEMBERS:
        raise _refuse(name, f"{len(infos):,} files in the zip (at most {MAX_MEMBERS:,})")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise _refuse(name, f"it unpacks to {_size(total)} (at most {_size(MAX_UNPACKED_BYTES)})")
    if total > RATIO_FLOOR and total > MAX_RATIO * max(packed, 1):
        raise _refuse(name, f"it unpacks to {total / max(packed, 1):,.0f} times its size "
                      f"({_size(total)} from {_size(packed)}; at most {MAX_RATIO} times): "
                      "a zip bomb?")
    return total


def _grid_folders(infos: list[zipfile.ZipInfo], name: str) -> PurePosixPath:
    """The one folder of the zip holding ``units.parquet`` (``.`` for the zip's root)."""
    folders = sorted({PurePosixPath(i.filename.replace("\\", "/")).parent for i in infos
                      if PurePosixPath(i.filename.replace("\\", "/")).name == "units.parquet"})
    if not folders:
        raise InputDataError(f"{name}: no units.parquet in the zip; {_FIX}")
    if len(folders) > 1:
        shown = ", ".join(f"'{f.as_posix()}/'" if f.parts else "the zip's root" for f in folders[:4])
        more = f" and {len(folders) - 4:,} more" if len(folders) > 4 else ""
        raise _refuse(name, f"it holds {len(folders):,} grid folders ({shown}{more})",
                      "zip one grid folder and upload that")
    return folders[0]


def unpack_grid_zip(data: bytes, dest: Path, name: str = "upload") -> Path:
    """Unpack ``data`` (a zip) into ``dest`` and return the grid folder in it.

    The grid folder is the one holding ``units.parquet``: the zip's root or a folder in it;
    a zip with more than one is refused. ``dest`` must be new or empty: the upload owns it,
    and it is removed whole when the upload is refused.

    Raises
    ------
    InputDataError
        Not a zip, a member outside the folder, a link, too many members, too many bytes
        declared or unpacked, too high a ratio, no or several grid folders, a damaged zip
        (one line naming the upload, what was wrong and the fix). Nothing is left in
        ``dest``, which is removed.

    Examples
    --------
    >>> import io, tempfile, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as zf:
    ...     zf.writestr("a/units.parquet", b"x"); zf.writestr("b/units.parquet", b"x")
    >>> dest = Path(tempfile.mkdtemp()) / "up"
    >>> try:
    ...     unpack_grid_zip(buf.getvalue(), dest, "two.zip")
    ... except InputDataError as exc:
    ...     print(exc)
    two.zip: refused, it holds 2 grid folders ('a/', 'b/'); zip one grid folder and upload that
    >>> dest.exists()
    False
    """
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest}: not empty; unpack an upload into a folder of its own")
    try:
        return _unpack(data, dest, name)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _unpack(data: bytes, dest: Path, name: str) -> Path:
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputDataError(f"{name}: not a zip file; {_FIX}") from None
    with zf:
        infos = zf.infolist()
        rels = [_check_member(info, name) for info in infos]
        declared = _check_declared(infos, len(data), name)
        grid = _grid_folders(infos, name)
        budget = min(MAX_UNPACKED_BYTES, declared)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written = 0
        for info, rel in zip(infos, rels, strict=True):
            target = (root / rel).resolve()
            if root != target and root not in target.parents:
                raise _refuse(name, f"{info.filename!r} points outside the folder")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            member = 0
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        member += len(chunk)
                        written += len(chunk)
                        if written > budget or member > info.file_size:
                            raise _refuse(name, f"it unpacks to more than it declares (over "
                                          f"{_size(budget)} at {info.filename!r}): a zip bomb?")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise InputDataError(f"{name}: the zip is damaged ({exc}); zip the grid folder "
                                     "again and upload that") from None
            except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown method
                raise _refuse(name, f"{info.filename!r} cannot be unpacked ({exc})",
                              "zip the grid folder again without a password, with the "
                              "standard compression (deflate)") from None
            except OSError as exc:
                raise InputDataError(f"{name}: could not unpack it into the temporary folder "
                                     f"({exc.strerror or exc}); free some disk space or open "
                                     "the grid folder by its path instead") from None
    return root / grid


class UploadFolder:
    """The temporary folder of one upload, removed by `remove`, when the object is garbage
    collected (the session holding it ended) or when the process exits.

    Parameters
    ----------
    parent : Path, optional
        Where to create it (default: the system's temporary folder).

    Examples
    --------
    >>> up = UploadFolder()
    >>> up.path.name.startswith(UPLOAD_PREFIX), up.path.is_dir()
    (True, True)
    >>> up.remove()
    >>> up.path.exists()
    False
    """

    def __init__(self, parent: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=parent))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), ignore_errors=True)

    def remove(self) -> None:
        """Remove the folder and everything in it (again: nothing)."""
        self._finalizer()


def receive_upload(data: bytes, name: str, *, parent: Path | None = None) -> tuple[UploadFolder, Path]:
    """Unpack an uploaded zip into a new `UploadFolder`; return it and the grid folder in it.

    Raises
    ------
    InputDataError
        As `unpack_grid_zip`; the upload's folder is removed first.

    Examples
    --------
    >>> try:
    ...     receive_upload(b"not a zip", "bad.zip")
    ... except InputDataError as exc:
    ...     print(exc)
    bad.zip: not a zip file; zip the grid folder written by `carbonpark grid` and upload that
    """
    up = UploadFolder(parent)
    try:
        return up, unpack_grid_zip(data, up.path, name)
    except BaseException:
        up.remove()
        raise


def keep_upload(session: MutableMapping[Any, Any], upload: UploadFolder | None) -> None:
    """Make ``upload`` the session's upload in use (``None``: no upload in use), removing
    the folder of the one it replaces.

    Examples
    --------
    >>> session: dict = {}
    >>> first, second = UploadFolder(), UploadFolder()
    >>> keep_upload(session, first); keep_upload(session, second)
    >>> first.path.exists(), second.path.exists()
    (False, True)
    >>> keep_upload(session, None)
    >>> second.path.exists()
    False
    """
    old = session.get(SESSION_KEY)
    if upload is None:
        session.pop(SESSION_KEY, None)
    else:
        session[SESSION_KEY] = upload
    if isinstance(old, UploadFolder) and old is not upload:
        old.remove()
