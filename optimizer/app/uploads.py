"""Unpack an uploaded zip of a grid folder safely: no path traversal, no links, no zip bombs."""

from __future__ import annotations

import stat
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

from optimizer.errors import InputDataError

#: Limits on what an uploaded zip may unpack to.
MAX_UNPACKED_BYTES = 2 * 1024**3     # 2 GiB in all
MAX_MEMBERS = 2_000                  # files and folders
MAX_RATIO = 200                      # unpacked / packed size of any one member


def _check_member(info: zipfile.ZipInfo, name: str) -> PurePosixPath:
    rel = PurePosixPath(info.filename.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
        raise InputDataError(f"{name}: refused, the zip holds a path outside its folder "
                             f"({info.filename!r})")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InputDataError(f"{name}: refused, the zip holds a symbolic link ({info.filename!r})")
    if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1024**2:
        raise InputDataError(f"{name}: refused, {info.filename!r} unpacks to "
                             f"{info.file_size / info.compress_size:,.0f} times its packed size "
                             "(a zip bomb?)")
    return rel


def unpack_grid_zip(data: bytes, dest: Path, name: str = "upload") -> Path:
    """Unpack ``data`` (a zip) into ``dest`` and return the grid folder in it.

    The grid folder is the one holding ``units.parquet``: the zip's root or a single
    folder in it.

    Raises
    ------
    InputDataError
        Not a zip, a member outside the folder, a link, too many or too large members,
        or no ``units.parquet`` inside (one line naming the upload and the fix).
    """
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputDataError(f"{name}: not a zip file; zip the grid folder written by "
                             "`carbonpark grid` and upload that") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputDataError(f"{name}: refused, {len(infos):,} files in the zip (at most "
                                 f"{MAX_MEMBERS:,})")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            raise InputDataError(f"{name}: refused, it unpacks to {total / 1024**3:,.1f} GiB (at "
                                 f"most {MAX_UNPACKED_BYTES / 1024**3:.0f} GiB)")
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written = 0
        for info in infos:
            rel = _check_member(info, name)
            target = (root / rel).resolve()
            if root != target and root not in target.parents:
                raise InputDataError(f"{name}: refused, {info.filename!r} points outside the folder")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_UNPACKED_BYTES or written > total + 1:
                            raise InputDataError(f"{name}: refused, it unpacks to more than it "
                                                 "declares (a zip bomb?)")
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputDataError(f"{name}: the zip is damaged ({exc}); zip the grid folder "
                                     "again") from None
    found = sorted(p.parent for p in root.rglob("units.parquet") if len(p.relative_to(root).parts) <= 2)
    if not found:
        raise InputDataError(f"{name}: no units.parquet in the zip; upload a zipped grid folder "
                             "written by `carbonpark grid`")
    return found[0]
