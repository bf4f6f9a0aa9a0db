"""Markdown writers: a pipe table of any DataFrame, and the gap analysis summary.

`markdown_table` and `format_value` are the ones a report shares: no dependency on
tabulate, missing values as a dash, long tables cut with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FIGURE_CAPTIONS", "format_value", "gap_summary_markdown", "markdown_table",
           "percent_columns"]

#: Caption of each gap figure (by file stem), in the order the summary shows them.
FIGURE_CAPTIONS = {
    "shares": "Share of each layer's whole-area total inside each zone (%)",
    "density_ratio": "Density inside each zone ÷ whole-area density (1 = as dense as the "
                     "whole area)",
    "time_series": "Density per year and zone (NPP in gC/m²/yr, emissions in tCO2/km²/yr)",
    "map_hotspots": "Unprotected hotspots",
    "map_typology": "Carbon × biodiversity typology",
}


def format_value(v: Any) -> str:
    """A table cell: a dash for a missing value, yes/no for a bool, whole numbers with
    thousands separators, never scientific notation.

    Floats: whole from 1000 (``12,345``), two decimals from 1 (``1.23``), three
    significant digits below (``0.0123``); text with its pipes escaped.

    Examples
    --------
    >>> format_value(1234567.8), format_value(1.23456), format_value(0.000123456)
    ('1,234,568', '1.23', '0.000123')
    >>> format_value(float("nan")), format_value(True), format_value(12000)
    ('—', 'yes', '12,000')
    """
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        if a == 0:
            return "0"
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 1:
            return f"{v:,.2f}"
        decimals = min(12, int(-np.floor(np.log10(a))) + 2)
        return f"{v:.{decimals}f}"
    return str(v).replace("|", "\\|")


def percent_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every 0-1 share column as a percentage, its header ending in ``(%)``.

    Share columns are those named ``target``, ``pa_fraction`` or holding ``share``;
    a ``metric``/``value``/``unit`` table has its ``fraction`` rows converted.

    Examples
    --------
    >>> percent_columns(pd.DataFrame({"zone": ["a"], "share": [0.25]})).to_dict("records")
    [{'zone': 'a', 'share (%)': 25.0}]
    """
    out = df.copy()
    if {"metric", "value", "unit"} <= set(out.columns):
        frac = out["unit"] == "fraction"
        out["value"] = out["value"].astype(float).where(~frac, 100 * out["value"].astype(float))
        out["unit"] = out["unit"].where(~frac, "%")
        return out
    renames = {}
    for c in out.columns:
        if (c in ("target", "pa_fraction") or "share" in c) and pd.api.types.is_numeric_dtype(
                out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            out[c] = 100 * out[c].astype(float)
            renames[c] = f"{c} (%)"
    return out.rename(columns=renames)


def _is_year_column(name: Any) -> bool:
    return str(name).lower() in ("year", "years") or str(name).lower().endswith("_year")


def format_year(v: Any) -> str:
    """A year as written: no thousands separator (``2020``); a dash when missing.

    Examples
    --------
    >>> format_year(2020.0), format_year(float("nan"))
    ('2020', '—')
    """
    try:
        return "—" if pd.isna(v) else str(int(v))
    except (TypeError, ValueError):
        return format_value(v)


def markdown_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    """A pipe table (no dependency on tabulate); long tables are cut with a note.

    Years (a ``year`` column) are written without separators, every other number by
    `format_value`.

    Examples
    --------
    >>> print(markdown_table(pd.DataFrame({"year": [2000, 2020], "area_km2": [1234.0, 5.0]})))
    | year | area_km2 |
    |---|---|
    | 2000 | 1,234 |
    | 2020 | 5.00 |
    """
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    fmts = [format_year if _is_year_column(c) else format_value for c in df.columns]
    body = ["| " + " | ".join(f(v) for f, v in zip(fmts, row, strict=True)) + " |"
            for row in df.head(max_rows).itertuples(index=False)]
    if len(df) > max_rows:
        body.append(f"\n({len(df) - max_rows:,} more rows in the CSV)")
    return "\n".join([head, sep, *body])


def gap_summary_markdown(tables: Mapping[str, pd.DataFrame], findings: Sequence[str],
                         notes: Sequence[str], settings: Mapping[str, Any],
                         figures: Sequence[str] = ()) -> str:
    """The Markdown summary of a gap analysis: settings, findings, figures, notes, tables.

    Shares are percentages (headers end in ``(%)``), numbers are written in full with
    thousands separators, and each figure file in ``figures`` (PNG stems written beside
    the summary, e.g. ``"shares"``) is embedded as an image with its caption.
    """
    s = settings
    out = ["# Gap analysis of the protected-area network", ""]
    out.append(f"Network: {', '.join(s.get('network', []))}; target {100 * s.get('target', 0):.0f}% "
               f"of each ecosystem's and species' extent; hotspots: units in the top "
               f"{100 * s.get('top', 0):.0f}% of the area by each criterion, unprotected below "
               f"{100 * s.get('pa_threshold', 0):.0f}% cover; typology: {s.get('typology')}.")
    out.append("")
    out.append("Partial protection counts by covered fraction (uniform density inside a "
               "unit); densities are over the area with data. Units: shares in %, areas in "
               "km², carbon stock density in kgC/m², NPP density in gC/m²/yr, emissions "
               "density in tCO2/km²/yr; totals in the unit of their `total_unit` column.")
    out += ["", "## Findings", ""] + [f"- {f}" for f in findings]
    if figures:
        out += ["", "## Figures"]
        for stem in figures:
            caption = FIGURE_CAPTIONS.get(stem, stem.replace("_", " "))
            out += ["", f"![{caption}]({stem}.png)", "", f"*{caption}* (`{stem}.png`)"]
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    for name, df in tables.items():
        out += ["", f"## {name.replace('_', ' ').capitalize()}", "",
                markdown_table(percent_columns(df))]
    return "\n".join(out) + "\n"
