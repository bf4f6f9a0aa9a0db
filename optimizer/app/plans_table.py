"""Every plan of the session in one table, named with its settings: Compare and Export.

One row per plan, in the order given: its name, its settings in words
(`optimizer.app.common.settings_text`) and, for the export's ``plans.csv``, one column per
setting; then the headline numbers of `optimizer.plan.comparison.headline_table` (each
the value its ``summary.json`` holds, labelled with its unit by
`optimizer.plan.quantities.QUANTITIES`). The bar charts of the Compare page draw columns
of this table, their bars in its row order (`bar_chart`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from optimizer.app import common
from optimizer.plan.comparison import HEADLINE, headline_headers, headline_table
from optimizer.plan.quantities import QUANTITIES

__all__ = ["LABEL_WIDTH", "SETTINGS", "bar_chart", "number_formats", "plans_table",
           "settings_columns", "wrap_label"]

#: The settings columns of ``plans.csv``: header -> (`PlanSettings` field, scale).
SETTINGS: dict[str, tuple[str, float]] = {
    "budget (% of the land)": ("budget_share", 100.0),
    "weight: carbon stock": ("carbon_stock", 1.0),
    "weight: carbon uptake": ("carbon_uptake", 1.0),
    "weight: biodiversity": ("biodiversity", 1.0),
    "emissions penalty": ("emissions_penalty", 1.0),
    "compactness (0-1)": ("compactness", 1.0),
    "existing network kept": ("lock_existing", 1.0),
    "cropland locked out": ("cropland_out", 1.0),
    "urban land locked out": ("urban_out", 1.0),
}

#: Characters per line of a plan's name under a bar (longer names wrap, never cut).
LABEL_WIDTH = 24


def settings_columns(settings: Any) -> dict[str, Any]:
    """The settings of a plan (`optimizer.studies.interactive.PlanSettings`) as columns.

    Examples
    --------
    >>> from optimizer.studies.interactive import PlanSettings
    >>> c = settings_columns(PlanSettings(budget_share=0.125, compactness=0.5))
    >>> c["budget (% of the land)"], c["compactness (0-1)"], c["cropland locked out"]
    (12.5, 0.5, True)
    """
    out: dict[str, Any] = {}
    for head, (field, scale) in SETTINGS.items():
        v = getattr(settings, field)
        out[head] = bool(v) if isinstance(v, bool) else float(v) * scale
    return out


def plans_table(plans: Mapping[str, Any], *, settings_detail: bool = False) -> pd.DataFrame:
    """One row per plan (name -> `optimizer.studies.interactive.PlanResult`), in order.

    Columns: ``plan``, ``settings`` (in words), with ``settings_detail`` one column per
    setting (`SETTINGS`), then the headline numbers (`optimizer.plan.comparison.HEADLINE`,
    headed by label and unit): each the plan's ``summary`` value, not rounded.
    """
    table = headline_table({name: r.summary for name, r in plans.items()})
    front = pd.DataFrame({"settings": [common.settings_text(r.settings)
                                       for r in plans.values()]})
    if settings_detail:
        detail = pd.DataFrame([settings_columns(r.settings) for r in plans.values()])
        front = pd.concat([front, detail], axis=1)
    return pd.concat([table[["plan"]], front, table.drop(columns="plan")], axis=1)


def number_formats(summaries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Header -> a Streamlit ``NumberColumn`` format for each headline number: the spec
    `QUANTITIES` writes it with (thousands separators, its decimals).

    Examples
    --------
    >>> f = number_formats([{}])
    >>> f["new protected area (km²)"], f["new share of the land (%)"], f["units added"]
    ('%,.0f', '%.2f', '%,d')
    """
    out = {}
    for name, head in headline_headers(summaries, HEADLINE).items():
        q = QUANTITIES[name]
        if q.kind == "count":
            out[head] = "%,d"
        elif q.kind == "number":
            out[head] = f"%{q.spec}"
    return out


def wrap_label(name: str, width: int = LABEL_WIDTH) -> str:
    """A plan's name in lines of at most ``width`` characters (``\\n`` between them), cut
    at spaces, underscores or hyphens where it can: no character but a space at a line's
    end is left out.

    Examples
    --------
    >>> wrap_label("balanced_budget_fifteen_percent_compact", 16)
    'balanced_budget_\\nfifteen_percent_\\ncompact'
    >>> wrap_label("short")
    'short'
    """
    spaced = name.replace("_", "_\0").replace("-", "-\0").replace(" ", " \0")
    parts = [p for p in spaced.split("\0") if p]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.extend(textwrap.wrap(part, width, drop_whitespace=False,
                                       break_on_hyphens=False) or [part])
    return "\n".join(line.rstrip() or line for line in lines)


def bar_chart(values: pd.DataFrame, title: str, axis_title: str, *, number: str = ",.0f",
              series: str | None = None) -> Any:
    """Horizontal bars of ``values`` (columns ``plan``, ``value``, optionally ``series``
    and ``settings``): one bar per plan in the frame's row order (top to bottom), the plan
    names wrapped under `LABEL_WIDTH` characters and never cut, the unit in
    ``axis_title``; with ``series``, one bar per series beside each other, coloured.

    An Altair chart (the app shows it with ``st.altair_chart``).
    """
    import altair as alt  # lazy: Altair comes with Streamlit, the app's extra

    df = values.copy()
    df["label"] = [wrap_label(str(p)) for p in df["plan"]]
    order = list(dict.fromkeys(df["label"]))
    tooltip = [alt.Tooltip("plan:N", title="plan"),
               alt.Tooltip("value:Q", title=axis_title, format=number)]
    if "settings" in df:
        tooltip.append(alt.Tooltip("settings:N", title="settings"))
    lines = max((str(lab).count("\n") + 1 for lab in df["label"]), default=1)
    # Each plan's band holds its label's lines; the title and the value axis take ~90 px.
    per_plan = max(40, 18 * lines + 10, 24 * (1 if series is None else df[series].nunique()))
    encoding: dict[str, Any] = dict(
        y=alt.Y("label:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=0, labelOverlap=False, labelFontSize=12,
                              labelExpr="split(datum.label, '\\n')")),
        x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=number)),
        tooltip=tooltip)
    if series is not None:
        tooltip.insert(1, alt.Tooltip(f"{series}:N", title=series))
        encoding["yOffset"] = alt.YOffset(f"{series}:N")
        encoding["color"] = alt.Color(f"{series}:N", title=None,
                                      legend=alt.Legend(orient="bottom", labelLimit=0))
    else:
        encoding["color"] = alt.value("#2c7a4b")
    height = len(order) * per_plan + 90
    return (alt.Chart(df, title=alt.Title(title, anchor="start"))
            .mark_bar().encode(**encoding).properties(height=height))
