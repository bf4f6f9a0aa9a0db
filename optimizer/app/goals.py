"""Goals at a glance: each feature's share held before and with the plan, against its goal.

Where To Work's goal panel, for carbonpark's features: one bar per feature (grouped as
carbon stock, carbon uptake, biodiversity, land cover), its dark part the share of the
feature's total the existing network holds, its light part what the plan adds, and a
mark at the goal. The shares are `optimizer.plan.results.feature_representation`'s
``share_before`` and ``share_after`` of the plan's problem, so the bars equal that table
and ``representation.csv`` of ``carbonpark solve``. The goal is the feature's
target where the objective has one, else the group's goal share set on the page (default:
the gap analysis target the headline "species at target" counts against).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from optimizer.figures.plots import STATUS_COLOURS, pretty_unit

__all__ = ["GROUPS", "goal_table", "goals_html"]

#: Feature groups of the panel: (role, title), in order.
GROUPS = (("carbon_stock", "Carbon stock"), ("carbon_uptake", "Carbon uptake (NPP, each year)"),
          ("biodiversity", "Biodiversity"), ("land_cover", "Land cover (ecosystems)"))


def goal_table(problem: Any, x: np.ndarray, goals: dict[str, float]) -> pd.DataFrame:
    """Per feature, its shares before and with the plan and its goal.

    Parameters
    ----------
    problem : Problem
    x : numpy.ndarray
        The plan (per unit, 0/1).
    goals : dict
        Goal share (0-1) per role of `GROUPS`, used where the feature has no target.

    Returns
    -------
    pandas.DataFrame
        `feature_representation`'s columns plus ``goal_share`` and ``at_goal``.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
    >>> t = goal_table(p, np.array([1, 0, 0, 1, 1, 0]), {"biodiversity": 0.5})
    >>> t[["feature", "share_before", "share_after", "goal_share", "at_goal"]].round(3)
      feature  share_before  share_after  goal_share  at_goal
    0  carbon         0.345        0.828         NaN    False
    1    sp_a         0.250        0.500         0.5     True
    2    sp_b         0.000        0.500         0.5     True
    """
    from optimizer.plan.results import feature_representation

    rep = feature_representation(problem, np.asarray(x, dtype=float))
    goal = rep["role"].map(goals).astype(float)
    rep["goal_share"] = rep["target_share"].where(rep["target_share"].notna(), goal)
    rep["at_goal"] = (rep["share_after"] >= rep["goal_share"] - 1e-12) & rep["goal_share"].notna()
    return rep


def _bar(label: str, before: float, after: float, goal: float, note: str) -> str:
    b = 100 * float(np.clip(before, 0, 1))
    a = 100 * float(np.clip(after, 0, 1))
    mark = ("" if not np.isfinite(goal) else
            f"<div style='position:absolute;left:{100 * min(goal, 1):.2f}%;top:-3px;bottom:-3px;"
            "border-left:2px solid #222'></div>")
    ok = np.isfinite(goal) and after >= goal - 1e-12
    goal_text = "" if not np.isfinite(goal) else f" · goal {100 * goal:.1f} %{' ✓' if ok else ''}"
    return (
        f"<div class='goal-row' data-feature='{html.escape(label)}' "
        f"data-before='{before:.6f}' data-after='{after:.6f}' style='margin:2px 0 6px 0'>"
        f"<div style='font-size:0.8rem'>{html.escape(label)}: <b>{100 * before:.1f} % → "
        f"{100 * after:.1f} %</b>{goal_text}"
        f"<span style='color:#666'>{html.escape(note)}</span></div>"
        "<div style='position:relative;height:10px;background:#eee;border-radius:2px'>"
        f"<div style='position:absolute;left:0;width:{a:.2f}%;height:100%;"
        f"background:{STATUS_COLOURS['added']};opacity:0.55'></div>"
        f"<div style='position:absolute;left:0;width:{b:.2f}%;height:100%;"
        f"background:{STATUS_COLOURS['existing']}'></div>{mark}</div></div>")


def goals_html(table: pd.DataFrame, role: str) -> str:
    """The bars of the features of ``role`` in ``table`` (`goal_table`), as HTML."""
    rows = table[table["role"] == role]
    out = []
    for r in rows.itertuples(index=False):
        unit = pretty_unit(str(r.unit))
        note = f" (total {r.total:,.4g} {unit})"
        out.append(_bar(str(r.feature), float(r.share_before), float(r.share_after),
                        float(r.goal_share), note))
    legend = (f"<div style='font-size:0.75rem;color:#444;margin-bottom:4px'>"
              f"<span style='background:{STATUS_COLOURS['existing']};padding:0 6px'></span> "
              "held by the existing network · "
              f"<span style='background:{STATUS_COLOURS['added']};opacity:0.55;padding:0 6px'>"
              "</span> added by the plan · │ goal (share of the feature's total)</div>")
    return f"<div data-testid='goal-bars' data-role='{role}'>{legend}{''.join(out)}</div>"
