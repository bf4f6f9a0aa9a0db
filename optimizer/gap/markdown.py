"""Markdown writers: a pipe table of any DataFrame, and the gap analysis summary.

`markdown_table` and `format_value` are the ones a report shares: no dependency on
tabulate, missing values as a dash, long tables cut with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["format_value", "gap_summary_markdown", "markdown_table"]


def format_value(v: Any) -> str:
    """A Markdown table cell: a dash for a missing value, yes/no for a bool, an integer as
    is, a float whole with thousands separators from 1000, to 4 significant digits from
    0.01, in scientific notation below; text with its pipes escaped."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(v)
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        if a == 0:
            return "0"
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 0.01:
            return f"{v:.4g}"
        return f"{v:.3e}"
    return str(v).replace("|", "\\|")


def markdown_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    """A pipe table (no dependency on tabulate); long tables are cut with a note."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(format_value(v) for v in row) + " |"
            for row in df.head(max_rows).itertuples(index=False)]
    if len(df) > max_rows:
        body.append(f"\n({len(df) - max_rows} more rows in the CSV)")
    return "\n".join([head, sep, *body])


def gap_summary_markdown(tables: Mapping[str, pd.DataFrame], findings: Sequence[str],
                         notes: Sequence[str], settings: Mapping[str, Any]) -> str:
    """The Markdown summary of a gap analysis: settings, findings, notes, then every table."""
    s = settings
    out = ["# Gap analysis of the protected-area network", ""]
    out.append(f"Network: {', '.join(s.get('network', []))}; target {s.get('target', 0):.0%}; "
               f"hotspots: top {s.get('top', 0):.0%} of the area, unprotected below "
               f"{s.get('pa_threshold', 0):.0%} cover; typology: {s.get('typology')}.")
    out.append("")
    out.append("Partial protection counts by covered fraction (uniform density inside a "
               "unit); densities are over the area with data.")
    out += ["", "## Findings", ""] + [f"- {f}" for f in findings]
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    for name, df in tables.items():
        out += ["", f"## {name.replace('_', ' ').capitalize()}", "", markdown_table(df)]
    return "\n".join(out) + "\n"
