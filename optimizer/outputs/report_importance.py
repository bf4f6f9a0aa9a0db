"""The report's importance section: a ``carbonpark importance`` folder of the reported plan,
as its map and a table of its most important units (``carbonpark report --importance``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.figures.maps import importance_map
from optimizer.outputs.report_tables import escape, figure_html, table_html

__all__ = ["IMPORTANCE_TOP", "check_importance_folder", "importance_html"]

#: Rows of the report's table of the most important units.
IMPORTANCE_TOP = 15

#: Columns the table shows beside ``pu_id`` and ``importance``, by method.
_EXTRA = {"replacement": ("importance_pct", "importance_low", "importance_high", "status"),
          "ferrier": (), "rank": ("rank", "increment")}


def check_importance_folder(folder: str | os.PathLike[str] | None) -> Path | None:
    """The ``--importance`` folder (None when not given), checked before any work: it must
    hold ``importance.csv`` (with ``pu_id``, ``added`` and ``importance``) and
    ``importance.json`` (with the ``method``).

    Raises
    ------
    InputDataError
        A file missing or not readable: one line naming it and the fix.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         check_importance_folder(tmp)
    ...     except InputDataError as exc:
    ...         print(str(exc).replace(tmp, "imp").split(";")[0])
    --importance imp: no importance.csv there
    """
    if folder is None:
        return None
    p = Path(folder)
    csv, js = p / "importance.csv", p / "importance.json"
    fix = "give a folder written by `carbonpark importance`"
    if not csv.is_file():
        raise InputDataError(f"--importance {p}: no importance.csv there; {fix}")
    try:
        head = pd.read_csv(csv, nrows=2)
        method = json.loads(js.read_text(encoding="utf-8"))["method"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputDataError(f"--importance {p}: importance.csv or importance.json is "
                             f"unreadable ({str(exc).strip().splitlines()[0]}); run "
                             "`carbonpark importance` again") from None
    missing = {"pu_id", "added", "importance"} - set(head.columns)
    if missing or method not in _EXTRA:
        raise InputDataError(f"--importance {p}: importance.csv lacks {sorted(missing)} or the "
                             f"method {method!r} is unknown; run `carbonpark importance` again")
    return p


def _number(v: Any) -> str:
    v = float(v)
    return "no plan without it" if np.isinf(v) else f"{v:.6g}"


def importance_html(folder: Path, sol: Any) -> str:
    """The section: what the method measures, a map, and the top `IMPORTANCE_TOP` units.

    Parameters
    ----------
    folder : pathlib.Path
        A checked importance folder (`check_importance_folder`).
    sol : SolveFolder
        The reported plan; the folder must be of its grid (the same ``pu_id`` in order).

    Returns
    -------
    str

    Raises
    ------
    InputDataError
        The importance folder is of another grid or plan.
    """
    table = pd.read_csv(folder / "importance.csv")
    facts = json.loads((folder / "importance.json").read_text(encoding="utf-8"))
    method = facts["method"]
    ids = sol.pu.units["pu_id"].to_numpy()
    if len(table) != len(ids) or not np.array_equal(table["pu_id"].to_numpy(), ids):
        raise InputDataError(f"--importance {folder}: its {len(table):,} units are not the "
                             f"plan's {len(ids):,} (another grid or plan); run `carbonpark "
                             f"importance {sol.path}` for this plan")
    value = table["importance"].to_numpy(np.float64)
    added = table["added"].to_numpy(bool)
    if not np.array_equal(added, np.asarray(sol.status) == "added"):
        raise InputDataError(f"--importance {folder}: is of another plan (its added units are "
                             f"not those of {sol.path}); run `carbonpark importance "
                             f"{sol.path}` for this plan")
    shown = added | (value != 0)
    mapped = table["importance_pct"].to_numpy(np.float64) if method == "replacement" else value
    units = sol.pu.units.assign(pa_fraction=sol.problem.protected_fraction)
    fig = importance_map(units, mapped, shown, geometry=sol.pu.units.geometry, method=method)
    order = np.lexsort((table["pu_id"].to_numpy(), -value))  # largest first, inf on top
    top = table.iloc[order][shown[order]].head(IMPORTANCE_TOP)
    cols = ["pu_id", "importance", *[c for c in _EXTRA[method] if c in table]]
    if method == "ferrier":
        cols += [c for c in table.columns if c.startswith("ferrier_")][:6]
    view = top[cols].copy()
    for c in cols:
        if c not in ("pu_id", "status", "rank", "increment"):
            view[c] = view[c].map(_number)
    view["pu_id"] = view["pu_id"].astype(str)
    finite = value[shown & np.isfinite(value)]
    lede = (f"{escape(facts.get('meaning', method))}. {int(shown.sum()):,} units with an "
            f"importance ({int(added.sum()):,} added by the plan)"
            + (f", the largest {finite.max():.6g}" if finite.size else "")
            + (f"; {int(np.isinf(value).sum()):,} with no plan without them"
               if np.isinf(value).any() else "") + ".")
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in facts.get("notes", []))
    return "".join([
        f'<h2 id="importance">Importance of the plan\'s units ({escape(method)})</h2>',
        f'<p id="importance-lede">{lede}</p>',
        figure_html(fig, f"{method} importance of the units (importance.csv of "
                    f"{folder.name}), in thirds.", "importance map"),
        f"<h3>The {len(view)} most important units</h3>",
        f'<div id="importance-top">{table_html(view, text_cols=tuple(cols))}</div>', notes])
