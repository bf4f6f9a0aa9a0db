"""The files of a report on disk: the ``--frontier`` folder it reads, the HTML file it writes.

* `check_frontier_folder` - a ``carbonpark frontier`` folder checked before any work: a
  damaged ``frontier.csv`` or ``frontier.png`` (empty, cut short, not CSV or PNG) is one
  line naming the file and the fix.
* `GENERATOR`, `is_report_file`, `check_report_file` - a report is one file and has no
  marker (``carbonpark-output.json``) beside it: the generator tag in its head says it is
  ours, so a new report replaces an earlier one and a user's file only with ``overwrite``
  (`optimizer.atomic.check_output_file`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from optimizer.atomic import check_output_file, read_marker
from optimizer.errors import InputDataError

__all__ = ["GENERATOR", "REPORT_KIND", "check_frontier_folder", "check_report_file",
           "is_report_file"]

#: The kind an earlier carbonpark recorded in the marker it wrote beside a report.
REPORT_KIND = "report"
#: The tag in every report's head that says carbonpark wrote it (`is_report_file`).
GENERATOR = '<meta name="generator" content="carbonpark">'


def check_frontier_folder(folder: str | os.PathLike[str] | None) -> Path | None:
    """The ``--frontier`` folder (None when not given), its files checked before any work.

    ``frontier.csv`` must be a CSV table with a ``point`` column and as many points as
    ``frontier.json`` counts; ``frontier.png``, when there, a whole PNG image.

    Raises
    ------
    InputDataError
        No ``frontier.csv``, or a damaged file: one line naming it and the fix (run
        ``carbonpark frontier`` again).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "frontier.csv").write_text("")
    ...     try:
    ...         check_frontier_folder(tmp)
    ...     except InputDataError as exc:
    ...         print(str(exc).replace(tmp, "fr").split(" (")[0])
    fr/frontier.csv: is empty
    """
    if folder is None:
        return None
    p = Path(folder)
    csv, png = p / "frontier.csv", p / "frontier.png"
    if not csv.is_file():
        raise InputDataError(f"--frontier {p}: no frontier.csv there; give a folder written by "
                             "`carbonpark frontier`")
    fix = f"run `carbonpark frontier` again with --out {p} to rewrite it"
    try:
        table = pd.read_csv(csv)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' EmptyDataError, ParserError
        what = "is empty" if csv.stat().st_size == 0 else "is not a CSV table"
        raise InputDataError(f"{csv}: {what} ({str(exc).strip().splitlines()[0]}); {fix}") from None
    if "point" not in table.columns:
        raise InputDataError(f"{csv}: has no 'point' column (columns: "
                             f"{', '.join(map(str, table.columns))}); {fix}")
    try:  # frontier.json counts the points frontier.csv holds: a cut file has fewer
        meta = json.loads((p / "frontier.json").read_text(encoding="utf-8"))
        expected = int(meta["points_non_dominated"])
    except (OSError, ValueError, KeyError, TypeError):
        expected = None
    if expected is not None and len(table) != expected:
        raise InputDataError(f"{csv}: holds {len(table):,} points where frontier.json counts "
                             f"{expected:,} (truncated?); {fix}")
    if png.is_file():
        data = png.read_bytes()
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in data[-16:]):
            raise InputDataError(f"{png}: is truncated or not a PNG image; {fix}")
    return p


def is_report_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file ``path`` is a report carbonpark wrote (so a new report may replace it).

    It is when its head carries `GENERATOR`, or when an earlier carbonpark's marker
    (``carbonpark-output.json`` of kind ``report``) in its folder lists it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     mine, theirs = Path(tmp, "plan.html"), Path(tmp, "notes.html")
    ...     _ = mine.write_text(f"<html><head>{GENERATOR}</head></html>")
    ...     _ = theirs.write_text("<html><head></head></html>")
    ...     is_report_file(mine), is_report_file(theirs)
    (True, False)
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if GENERATOR.encode("ascii") in head:
        return True
    marker = read_marker(p.parent)
    return marker is not None and marker["kind"] == REPORT_KIND and p.name in marker["files"]


def check_report_file(out_file: str | os.PathLike[str], *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Check, before any work, that a report may be written to ``out_file``.

    A new file, or a report carbonpark wrote (`is_report_file`), or any file with
    ``overwrite``; never an input or a file inside an input folder, and its folder must
    be writable (`optimizer.atomic.check_output_file`).

    Raises
    ------
    InputDataError
        ``out_file`` does not end in ``.html``.
    OutputError
        One line naming ``out_file`` and the fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_report_file(Path(tmp, "plan.html")).name
    'plan.html'
    """
    p = Path(out_file)
    if p.suffix.lower() not in (".html", ".htm"):
        raise InputDataError(f"--out {p}: a report is one HTML file; give a name ending in .html")
    return check_output_file(p, owned=is_report_file, overwrite=overwrite, inputs=inputs)
