"""Marxan's delimited text tables: reading them with checks, and writing them.

Marxan reads comma-, tab-, semicolon- or space-separated tables with a header row
(``pu.dat``, ``spec.dat``, ``puvspr.dat``, ``bound.dat``, its own ``_sum`` files). Here
they are read as text with lower-case, unquoted header names into a `Table` (numpy
columns, no pandas: ``carbonpark marxan`` starts in a fraction of a second), and every
column that must be numeric is checked with a one-line error naming the file, line and
value. `read_solution_file` reads Marxan's solution files (``_best``, ``_rNNNNN``).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

#: Columns of Marxan's ``<scenario>_sum`` file (no probability columns).
SUMMARY_COLUMNS = ("Run_Number", "Score", "Cost", "Planning_Units", "Connectivity",
                   "Connectivity_Total", "Connectivity_In", "Connectivity_Edge", "Connectivity_Out",
                   "Connectivity_In_Fraction", "Penalty", "Shortfall", "Missing_Values", "MPM")

#: Columns of Marxan's ``<scenario>_mvbest`` / ``_mvNNNNN`` files, spelt as ``output.cpp``
#: writes them (two carry a trailing space).
MVBEST_COLUMNS = ("Conservation Feature", "Feature Name", "Target", "Amount Held",
                  "Occurrence Target ", "Occurrences Held", "Separation Target ",
                  "Separation Achieved", "Target Met", "MPM")


class Table:
    """Named columns of equal length, each a numpy array (a light stand-in for a DataFrame).

    The tables of a `optimizer.io.marxan.MarxanProject` (``pu``, ``spec``, ``puvspr``,
    ``bound``) and the per-feature table of a Marxan score are `Table`s: ``table["cost"]``
    is a numpy array, ``len(table)`` the number of rows, ``table.columns`` the names in
    order; `to_pandas` gives a DataFrame.

    Examples
    --------
    >>> t = Table({"id": np.array([1, 2]), "cost": np.array([0.5, 2.0])})
    >>> len(t), t.columns, t["cost"].sum()
    (2, ['id', 'cost'], np.float64(2.5))
    >>> "status" in t
    False
    """

    def __init__(self, columns: Mapping[str, Any] | None = None) -> None:
        self._columns: dict[str, np.ndarray] = {}
        #: The table as text, for messages, when `read_table` parsed its columns as numbers.
        self._text: Callable[[], Table] | None = None
        for name, values in (columns or {}).items():
            self[name] = values

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __setitem__(self, name: str, values: Any) -> None:
        arr = np.asarray(values)
        if arr.ndim == 0 and self._columns:  # one value for every row
            arr = np.full(len(self), arr)
        if arr.ndim != 1:
            raise ValueError(f"column {name!r} must be one-dimensional; got shape {arr.shape}")
        if self._columns and arr.size != len(self):
            raise ValueError(f"column {name!r} has {arr.size} values for {len(self)} rows")
        self._columns[name] = arr

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return next(iter(self._columns.values())).size if self._columns else 0

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self.columns)})"

    def take(self, rows: np.ndarray) -> Table:
        """The rows ``rows`` (positions or a boolean mask) of every column."""
        return Table({name: values[rows] for name, values in self._columns.items()})

    def to_pandas(self) -> pd.DataFrame:
        """The table as a `pandas.DataFrame`."""
        import pandas as pd  # for people only: reading and solving need no pandas (start-up)

        return pd.DataFrame(dict(self._columns))


def is_series(x: Any) -> bool:
    """Whether ``x`` is a `pandas.Series` (a plan by unit id), told without importing pandas."""
    return type(x).__name__ == "Series" and type(x).__module__.startswith("pandas")


# ============================================================== reading

def sniff_sep(first_line: str) -> str:
    """Delimiter of a Marxan table from its header line (Marxan accepts several);
    ``" "`` stands for any run of spaces and tabs."""
    for sep in (",", "\t", ";"):
        if sep in first_line:
            return sep
    return " "


def _rows(lines: list[str], sep: str) -> list[list[str]]:
    """Non-blank ``lines`` split at ``sep`` (``" "``: any whitespace), quotes (``"``)
    removed, spaces after a delimiter skipped."""
    if sep == " ":
        if not any('"' in line for line in lines):
            return [line.split() for line in lines]
        lines = [re.sub(r"\s+", " ", line.strip()) for line in lines]
    return list(csv.reader(lines, delimiter=sep, quotechar='"', skipinitialspace=True,
                           strict=False))


def _numbers(lines: list[str], sep: str, width: int) -> np.ndarray | None:
    """The data lines as a ``(rows, width)`` float64 array when every field is a number
    (numpy's C parser: a tenth of the time of splitting and converting text); else None."""
    if not lines:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a short row or a stray field: the text path says
            values = np.loadtxt(lines, dtype=np.float64, delimiter=None if sep == " " else sep,
                                comments=None, quotechar='"', ndmin=2)
    except (ValueError, UserWarning):
        return None
    return values if values.shape == (len(lines), width) else None


def read_table(path: Path, what: str, key: str, required: Sequence[str]) -> Table:
    """Read one Marxan table with lower-case, unquoted header names.

    Columns are text (numpy object arrays), or float64 when every field of the table is
    a number; `numeric_column` takes either and `cell_text` gives a field as written.
    """
    if not path.is_file():
        raise InputDataError(f"{path}: {what} file not found (named by {key} in input.dat); "
                             "fix the name in input.dat or add the file")
    fix = "save it as comma- or tab-separated text with a header row"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: cannot read the {what} file ({str(exc).splitlines()[0]}); "
                             f"{fix}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    del text
    if not lines:
        raise InputDataError(f"{path}: cannot read the {what} file (No columns to parse from "
                             f"file); {fix}")
    sep = sniff_sep(lines[0])
    header = _rows(lines[:1], sep)[0]
    names = [str(c).strip().strip("\"'").strip().lower() for c in header]
    width = len(header)
    numbers = _numbers(lines[1:], sep, width)

    def text_columns() -> list[np.ndarray]:
        """The columns as text (object arrays), every row padded or cut to the header."""
        body = _rows(lines[1:], sep)
        for n, row in enumerate(body):
            if len(row) > width:
                if any(v.strip() for v in row[width:]):
                    raise InputDataError(f"{path}: cannot read the {what} file (line {n + 2} "
                                         f"has {len(row)} fields, the header {width}); {fix}")
                del row[width:]  # trailing delimiters carry nothing
            elif len(row) < width:
                row.extend([""] * (width - len(row)))
        if not body:
            return [np.zeros(0, dtype=object) for _ in range(width)]
        return [np.array(values, dtype=object) for values in zip(*body, strict=True)]

    columns = ([np.ascontiguousarray(numbers[:, k]) for k in range(width)]
               if numbers is not None else text_columns())
    table = Table()
    kept: list[str] = []
    position: dict[str, int] = {}  # each column's place in the file
    for k, (name, col) in enumerate(zip(names, columns, strict=True)):
        if not name:  # an unnamed column (a trailing delimiter) that carries nothing
            if col.dtype == object and all(v == "" for v in col.tolist()):
                continue
            name = f"unnamed: {k}"
        kept.append(name)
        if name not in table:
            table[name] = col
            position[name] = k
    missing = [c for c in required if c not in kept]
    if missing:
        raise InputDataError(f"{path.name}: the {what} file lacks column(s) {missing} (header: "
                             f"{kept}); Marxan needs the header names {list(required)}")
    dup = sorted({c for c in kept if kept.count(c) > 1}, key=kept.index)
    if dup:
        raise InputDataError(f"{path.name}: column(s) {dup} appear twice in the header; keep one")
    if numbers is not None:

        def as_text() -> Table:
            """The table as written, for messages and labels (`text_column`)."""
            text = text_columns()
            return Table({name: text[k] for name, k in position.items()})

        table._text = as_text
    return table


def text_column(table: Table, col: str) -> np.ndarray:
    """A column of ``table`` as written in its file (labels such as spec.dat's ``name``)."""
    values = table[col]
    if values.dtype != object and table._text is not None:
        return table._text()[col]
    return values


def cell_text(table: Table, col: str, row: int) -> str:
    """The field of ``table`` at ``row`` as written in its file (for messages)."""
    return str(text_column(table, col)[row])


def _to_float(text: np.ndarray) -> np.ndarray:
    """Text to float64, NaN where a value is not a number (numpy's parser, then Python's
    for the values it refuses)."""
    try:
        return text.astype(np.float64)
    except ValueError:
        out = np.empty(text.size)
        for k, v in enumerate(text.tolist()):
            try:
                out[k] = float(v) if "_" not in v else np.nan
            except ValueError:
                out[k] = np.nan
        return out


def numeric_column(table: Table, col: str, path: Path, *, default: float | None = None,
                   integer: bool = False, minimum: float | None = None) -> np.ndarray:
    """A column as float64, with a one-line error naming the file, line and value."""
    if col not in table:
        if default is None:
            raise InputDataError(f"{path.name}: column {col!r} is missing; add it")
        return np.full(len(table), float(default))
    given = table[col]
    if given.dtype.kind == "f":  # read as numbers: no field is empty
        values = given.astype(np.float64, copy=True)
        empty = np.zeros(values.size, dtype=bool)
    else:
        raw = np.array([str(v).strip() for v in given.tolist()], dtype=object)
        empty = raw == ""
        values = _to_float(np.where(empty, "0", raw).astype(str)) if raw.size else np.zeros(0)
        values[empty] = np.nan
    bad = (np.isnan(values) & ~empty) | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the non-numeric value "
                             f"{cell_text(table, col, i)!r} on line {i + 2}; use plain numbers")
    if empty.any():
        if default is None:
            i = int(np.flatnonzero(empty)[0])
            raise InputDataError(f"{path.name}: column {col!r} is empty on line {i + 2}; "
                                 "give a value")
        values[empty] = default
    if integer and (values != np.round(values)).any():
        i = int(np.flatnonzero(values != np.round(values))[0])
        raise InputDataError(f"{path.name}: column {col!r} must hold whole-number ids; got "
                             f"{cell_text(table, col, i)!r} on line {i + 2}")
    if minimum is not None and (values < minimum).any():
        i = int(np.flatnonzero(values < minimum)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the negative value "
                             f"{cell_text(table, col, i)!r} on line {i + 2}; values must be >= "
                             f"{minimum:g}")
    return values


def first_repeat(keys: np.ndarray) -> int | None:
    """Position of the first value of ``keys`` seen before (None when all are unique)."""
    if keys.size == 0:
        return None
    _, first = np.unique(keys, return_index=True)
    if first.size == keys.size:
        return None
    repeat = np.ones(keys.size, dtype=bool)
    repeat[first] = False
    return int(np.flatnonzero(repeat)[0])


def read_ids(table: Table, col: str, path: Path, *, unique: bool) -> np.ndarray:
    """A column of whole-number ids as int64 (``unique``: each once), checked as `numeric_column`."""
    ids = numeric_column(table, col, path, integer=True).astype(np.int64)
    if unique:
        i = first_repeat(ids)
        if i is not None:
            raise InputDataError(f"{path.name}: id {ids[i]} appears more than once (line {i + 2}); "
                                 "ids must be unique")
    return ids


def positions(reference: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of ``ids`` in the unique ``reference`` ids; -1 where absent."""
    order = np.argsort(reference, kind="stable")
    ranked = reference[order]
    at = np.searchsorted(ranked, ids)
    at_ok = np.minimum(at, max(ranked.size - 1, 0))
    found = (at < ranked.size) & (ranked[at_ok] == ids) if ranked.size else np.zeros(ids.size, bool)
    return np.where(found, order[at_ok] if ranked.size else -1, -1)


def lookup_ids(reference: np.ndarray, ids: np.ndarray, path: Path, col: str,
               other: str) -> np.ndarray:
    """Positions of ``ids`` in ``reference`` (the ids of ``other``), every one known."""
    pos = positions(reference, ids)
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        bad = ids[pos < 0]
        _, first = np.unique(bad, return_index=True)
        unknown = bad[np.sort(first)][:5].tolist()
        raise InputDataError(f"{path.name}: column {col!r} names id(s) {unknown} (first on line "
                             f"{i + 2}) that are not in {other}; fix the ids or add them to {other}")
    return pos


def read_solution_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A Marxan solution file (``_best``, ``_rNNNNN``; csv, txt or dat) as ``(ids, values)``.

    Headers ``PUID,SOLUTION`` (any second name) and ``"planning_unit","solution"`` are
    read, as is Marxan's header-less flavour (a selected unit is its id alone). Ids are
    unique and values 0 or 1 (int64 both), in file order.
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
    id_arr = np.array(ids, dtype=np.int64)
    val_arr = np.array(values, dtype=np.int64)
    i = first_repeat(id_arr)
    if i is not None:
        raise InputDataError(f"{path.name}: unit {id_arr[i]} appears twice")
    if not np.isin(val_arr, (0, 1)).all():
        raise InputDataError(f"{path.name}: solution values must be 0 or 1; got "
                             f"{sorted(set(val_arr.tolist()) - {0, 1})[:5]}")
    return id_arr, val_arr


# ============================================================== writing

def _cell(value: Any) -> Any:
    """One value as `pandas.DataFrame.to_csv` writes it (NaN as an empty field)."""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    return value


def table_text(table: Table, delim: str, *, quote_header: bool, header: bool = True) -> str:
    """``table`` as delimited text: an optional header (names quoted or not), then one
    line per row; fields holding the delimiter or a quote are quoted."""
    head = ""
    if header:
        names = [f'"{c}"' if quote_header else str(c) for c in table.columns]
        head = delim.join(names) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delim, quotechar='"', lineterminator="\n",
                        quoting=csv.QUOTE_MINIMAL)
    columns = [[_cell(v) for v in table[c].tolist()] for c in table.columns]
    writer.writerows(zip(*columns, strict=True))
    return head + out.getvalue()
