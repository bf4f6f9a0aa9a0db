"""Marxan's own outputs read back as pandas objects: `read_marxan_solution` (``_best``,
``_rNNNNN``) and `read_marxan_summary` (``_sum``); the column layouts of its ``_sum`` and
``_mv`` files (`SUMMARY_COLUMNS`, `MVBEST_COLUMNS`, defined in `optimizer.io.marxan.tables`).

``carbonpark marxan`` does not import this module (pandas takes a quarter of a second to
import): scoring reads a solution file with `optimizer.io.marxan.tables.read_solution_file`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.io.marxan.tables import (
    MVBEST_COLUMNS,
    SUMMARY_COLUMNS,
    numeric_column,
    read_solution_file,
    read_table,
)

__all__ = ["MVBEST_COLUMNS", "SUMMARY_COLUMNS", "read_marxan_solution", "read_marxan_summary"]


def read_marxan_solution(path: str | Path) -> pd.Series:
    """Read a Marxan solution file (``_best``, ``_rNNNNN``; csv, txt or dat).

    Headers ``PUID,SOLUTION`` (any second name) and ``"planning_unit","solution"`` are
    read, as is Marxan's header-less flavour (a selected unit is its id alone).

    Returns
    -------
    pandas.Series
        Index ``pu`` (unit id), values 0/1 (int), name ``solution``.
    """
    ids, values = read_solution_file(path)
    return pd.Series(values, index=pd.Index(ids, name="pu"), name="solution", dtype=np.int64)


def read_marxan_summary(path: str | Path) -> pd.DataFrame:
    """Read a Marxan ``_sum`` file (csv, txt or dat) with its column names unquoted."""
    path = Path(path)
    table = read_table(path, "Marxan summary", "SCENNAME", [])
    canonical = {c.lower(): c for c in SUMMARY_COLUMNS}
    names = [canonical.get(c, c) for c in table.columns]
    missing = [c for c in ("Run_Number", "Score", "Cost") if c not in names]
    if missing:
        raise InputDataError(f"{path.name}: not a Marxan summary file (no {missing} column)")
    df = pd.DataFrame({name: numeric_column(table, col, path, default=np.nan)
                       for name, col in zip(names, table.columns, strict=True)})
    df["Run_Number"] = df["Run_Number"].astype(np.int64)
    return df
