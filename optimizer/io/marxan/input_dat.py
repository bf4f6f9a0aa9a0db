"""Marxan's ``input.dat``: its ``KEY value`` lines, numeric settings and the BLM.

Only files with at least one of the keys Marxan v4 reads (`MARXAN_KEYS`) are taken as
an ``input.dat``; the BLM (or CM, its old name) defaults to Marxan's 0 and must be a
number >= 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

from optimizer.errors import InputDataError

_KEY_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\S.*?)\s*$")

#: The keys Marxan v4 reads from input.dat (``readInputOptions`` in ``input.cpp``); a file
#: with none of them is not a Marxan input.dat.
MARXAN_KEYS = frozenset({
    "VERSION", "BLM", "CM", "PROP", "RANDSEED", "NUMITNS", "STARTTEMP", "COOLFAC", "NUMTEMP",
    "NUMREPS", "COSTTHRESH", "THRESHPEN1", "THRESHPEN2", "SCENNAME", "SAVERUN", "SAVEBEST",
    "SAVESUMMARY", "SAVESCEN", "SAVETARGMET", "SAVESUMSOLN", "SAVESPEC", "SAVEPU",
    "SAVEMATRIXPUORDER", "SAVEMATRIXSPORDER", "SAVEPENALTY", "SAVETOTALAREAS", "SAVELOG",
    "SAVESOLUTIONSMATRIX", "SOLUTIONSMATRIXHEADERS", "SAVESNAPSTEPS", "SAVESNAPCHANGES",
    "SAVESNAPFREQUENCY", "SAVEANNEALINGTRACE", "ANNEALINGTRACEROWS", "SAVEITIMPTRACE",
    "ITIMPTRACEROWS", "ASYMMETRICCONNECTIVITY", "CONNECTIVITYIN", "INPUTDIR", "OUTPUTDIR",
    "PUNAME", "SPECNAME", "PUVSPRNAME", "MATRIXSPORDERNAME", "PENALTYNAME", "BOUNDNAME",
    "CONNECTIONNAME", "CONNECTIONFILESNAME", "BLOCKDEFNAME", "BESTFIELDNAME", "RUNMODE",
    "MISSLEVEL", "HEURTYPE", "CLUMPTYPE", "ITIMPTYPE", "VERBOSITY",
})

#: Where input.dat names no BLM (nor CM, its old name), Marxan uses 0 (``cm = 0`` in
#: ``readInputOptions``); the note says so.
NO_BLM_NOTE = "{name} has no BLM; using Marxan's default 0"

#: File suffix of each of Marxan's SAVE* flavours (3 csv, 2 comma txt, 1 tab dat).
SAVE_SUFFIX = {3: ".csv", 2: ".txt", 1: ".dat"}


def parse_input_dat(path: Path) -> dict[str, str]:
    """Every ``KEY value`` line of an input.dat (free text and headings are skipped).

    Raises
    ------
    InputDataError
        The file is empty, binary (a GeoTIFF, ...), or text with none of Marxan's keys
        (a CSV, ...): it is not a Marxan input.dat, and reading on would silently
        give BLM 0 and default file names.
    """
    settings: dict[str, str] = {}
    fix = ("give the project's input.dat (a text file of 'KEY value' lines such as "
           "'PUNAME pu.dat' and 'BLM 1') or its folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read input.dat ({exc.strerror or exc})") from None
    if raw[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        raise InputDataError(f"{path}: is a TIFF/GeoTIFF image, not a Marxan input.dat; {fix}")
    if b"\x00" in raw[:65536]:
        raise InputDataError(f"{path}: is a binary file, not a Marxan input.dat; {fix}")
    text = raw.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise InputDataError(f"{path}: the file is empty, not a Marxan input.dat; {fix}")
    for line in text.splitlines():
        m = _KEY_LINE.match(line.strip())
        if m:
            settings[m.group(1)] = m.group(2)
    if not MARXAN_KEYS & settings.keys():
        raise InputDataError(f"{path}: not a Marxan input.dat (none of Marxan's keys such as "
                             f"PUNAME, SPECNAME, BLM or INPUTDIR is set); {fix}")
    return settings


def settings_blm(settings: Mapping[str, str], path: Path) -> float:
    """BLM of input.dat (else CM, its old name; else Marxan's default 0), checked."""
    key = "BLM" if "BLM" in settings or "CM" not in settings else "CM"
    return check_blm(float_setting(settings, key, 0.0, path), f"{path}: {key}")


def check_blm(value: float, name: str) -> float:
    """``value`` as a BLM: a finite number >= 0, else a one-line error naming ``name``."""
    try:
        blm = float(value)
    except (TypeError, ValueError):
        raise InputDataError(f"{name} must be a number >= 0; got {value!r}") from None
    if not math.isfinite(blm) or blm < 0:
        raise InputDataError(f"{name} must be a number >= 0 (the boundary length modifier; 0 "
                             f"turns the boundary penalty off); got {value!r}")
    return blm


def float_setting(settings: Mapping[str, str], key: str, default: float, path: Path) -> float:
    if key not in settings:
        return default
    try:
        return float(settings[key].split()[0])
    except (ValueError, IndexError):
        raise InputDataError(f"{path.name}: {key} must be a number; got {settings[key]!r}") from None
