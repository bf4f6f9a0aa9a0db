"""Marxan's own outputs read back: `read_marxan_solution` (``_best``, ``_rNNNNN``) and
`read_marxan_summary` (``_sum``), and the column layouts of its ``_sum`` and ``_mv`` files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.io.marxan.tables import numeric_column, read_table

#: Columns of Marxan's ``<scenario>_sum`` file (no probability columns).
SUMMARY_COLUMNS = ("Run_Number", "Score", "Cost", "Planning_Units", "Connectivity",
                   "Connectivity_Total", "Connectivity_In", "Connectivity_Edge", "Connectivity_Out",
                   "Connectivity_In_Fraction", "Penalty", "Shortfall", "Missing_Values", "MPM")

#: Columns of Marxan's ``<scenario>_mvbest`` / ``_mvNNNNN`` files, spelt as ``output.cpp``
#: writes them (two carry a trailing space).
MVBEST_COLUMNS = ("Conservation Feature", "Feature Name", "Target", "Amount Held",
                  "Occurrence Target ", "Occurrences Held", "Separation Target ",
                  "Separation Achieved", "Target Met", "MPM")


def read_marxan_solution(path: str | Path) -> pd.Series:
    """Read a Marxan solution file (``_best``, ``_rNNNNN``; csv, txt or dat).

    Headers ``PUID,SOLUTION`` (any second name) and ``"planning_unit","solution"`` are
    read, as is Marxan's header-less flavour (a selected unit is its id alone).

    Returns
    -------
    pandas.Series
        Index ``pu`` (unit id), values 0/1 (int), name ``solution``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: Marxan solution file not found; give an output_best or "
                             "output_r file")
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: cannot read the solution file ({exc})") from None
    lines = [ln for ln in lines if ln]
    if not lines:
        raise InputDataError(f"{path.name}: the solution file is empty")
    fields = [re.split(r"[,\t; ]+", ln) for ln in lines]
    start = 0
    first = fields[0][0].strip("\"'")
    if not re.fullmatch(r"[-+]?\d+(\.0*)?", first):
        start = 1
    ids, values = [], []
    for n, row in enumerate(fields[start:], start=start + 1):
        row = [f.strip("\"'") for f in row if f != ""]
        try:
            ids.append(int(float(row[0])))
            values.append(int(float(row[1])) if len(row) > 1 else 1)
        except (ValueError, IndexError):
            raise InputDataError(f"{path.name}: line {n} is not 'id,solution' ({lines[n - 1]!r}); "
                                 "give a Marxan solution file") from None
    s = pd.Series(values, index=pd.Index(ids, name="pu"), name="solution", dtype=np.int64)
    if s.index.duplicated().any():
        raise InputDataError(f"{path.name}: unit {s.index[s.index.duplicated()][0]} appears twice")
    if not s.isin((0, 1)).all():
        raise InputDataError(f"{path.name}: solution values must be 0 or 1; got "
                             f"{sorted(set(s.tolist()) - {0, 1})[:5]}")
    return s


def read_marxan_summary(path: str | Path) -> pd.DataFrame:
    """Read a Marxan ``_sum`` file (csv, txt or dat) with its column names unquoted."""
    path = Path(path)
    df = read_table(path, "Marxan summary", "SCENNAME", [])
    canonical = {c.lower(): c for c in SUMMARY_COLUMNS}
    df.columns = [canonical.get(c, c) for c in df.columns]
    missing = [c for c in ("Run_Number", "Score", "Cost") if c not in df.columns]
    if missing:
        raise InputDataError(f"{path.name}: not a Marxan summary file (no {missing} column)")
    for col in df.columns:
        df[col] = numeric_column(df, col, path, default=np.nan)
    df["Run_Number"] = df["Run_Number"].astype(np.int64)
    return df
