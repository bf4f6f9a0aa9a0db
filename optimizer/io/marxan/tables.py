"""Marxan's delimited text tables: reading them with checks, and writing them.

Marxan reads comma-, tab-, semicolon- or space-separated tables with a header row
(``pu.dat``, ``spec.dat``, ``puvspr.dat``, ``bound.dat``, its own ``_sum`` files). Here
they are read as text with lower-case, unquoted header names, and every column that
must be numeric is checked with a one-line error naming the file, line and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError


def sniff_sep(first_line: str) -> str:
    """Delimiter of a Marxan table from its header line (Marxan accepts several)."""
    for sep in (",", "\t", ";"):
        if sep in first_line:
            return sep
    return r"\s+"


def read_table(path: Path, what: str, key: str, required: Sequence[str]) -> pd.DataFrame:
    """Read one Marxan table as text columns with lower-case, unquoted header names."""
    if not path.is_file():
        raise InputDataError(f"{path}: {what} file not found (named by {key} in input.dat); "
                             "fix the name in input.dat or add the file")
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
        sep = sniff_sep(first)
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="utf-8-sig", quotechar='"')
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputDataError(f"{path}: cannot read the {what} file ({str(exc).splitlines()[0]}); "
                             "save it as comma- or tab-separated text with a header row") from None
    cols = [str(c).strip().strip("\"'").strip().lower() for c in df.columns]
    df.columns = cols
    # Trailing delimiters make empty unnamed columns; they carry nothing.
    keep = [c for c in cols if c and not (c.startswith("unnamed:") and (df[c] == "").all())]
    df = df[keep]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputDataError(f"{path.name}: the {what} file lacks column(s) {missing} (header: "
                             f"{list(df.columns)}); Marxan needs the header names {list(required)}")
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()].tolist()
        raise InputDataError(f"{path.name}: column(s) {dup} appear twice in the header; keep one")
    return df


def numeric_column(df: pd.DataFrame, col: str, path: Path, *, default: float | None = None,
             integer: bool = False, minimum: float | None = None) -> np.ndarray:
    """A column as float64, with a one-line error naming the file, line and value."""
    if col not in df.columns:
        if default is None:
            raise InputDataError(f"{path.name}: column {col!r} is missing; add it")
        return np.full(len(df), float(default))
    raw = df[col].astype(str).str.strip()
    empty = raw == ""
    values = pd.to_numeric(raw.where(~empty, None), errors="coerce").to_numpy(dtype=np.float64,
                                                                              copy=True)
    bad = (np.isnan(values) & ~empty.to_numpy()) | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the non-numeric value "
                             f"{df[col].iloc[i]!r} on line {i + 2}; use plain numbers")
    if empty.any():
        if default is None:
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise InputDataError(f"{path.name}: column {col!r} is empty on line {i + 2}; "
                                 "give a value")
        values[empty.to_numpy()] = default
    if integer and (values != np.round(values)).any():
        i = int(np.flatnonzero(values != np.round(values))[0])
        raise InputDataError(f"{path.name}: column {col!r} must hold whole-number ids; got "
                             f"{df[col].iloc[i]!r} on line {i + 2}")
    if minimum is not None and (values < minimum).any():
        i = int(np.flatnonzero(values < minimum)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the negative value "
                             f"{df[col].iloc[i]!r} on line {i + 2}; values must be >= {minimum:g}")
    return values


def read_ids(df: pd.DataFrame, col: str, path: Path, *, unique: bool) -> np.ndarray:
    ids = numeric_column(df, col, path, integer=True).astype(np.int64)
    if unique:
        dup = pd.Series(ids).duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise InputDataError(f"{path.name}: id {ids[i]} appears more than once (line {i + 2}); "
                                 "ids must be unique")
    return ids


def lookup_ids(index: pd.Index, ids: np.ndarray, path: Path, col: str, other: str) -> np.ndarray:
    pos = index.get_indexer(ids)
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        unknown = pd.unique(ids[pos < 0])[:5].tolist()
        raise InputDataError(f"{path.name}: column {col!r} names id(s) {unknown} (first on line "
                             f"{i + 2}) that are not in {other}; fix the ids or add them to {other}")
    return pos



def table_text(df: pd.DataFrame, delim: str, *, quote_header: bool, header: bool = True) -> str:
    head = ""
    if header:
        names = [f'"{c}"' if quote_header else str(c) for c in df.columns]
        head = delim.join(names) + "\n"
    body = df.to_csv(sep=delim, header=False, index=False, lineterminator="\n")
    return head + body
