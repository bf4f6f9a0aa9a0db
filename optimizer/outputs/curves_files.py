"""Performance curves on disk: ``curves.csv`` and ``curves.png`` of a solve folder, and the
report's section.

``carbonpark solve --curves`` computes a plan's curves (`optimizer.plan.curves.curves_for_plan`:
along its priority rank when the problem has one, else the plan's own point) and
`write_curves` puts them into the solve folder being written: ``curves.csv`` (long, one row
per point and curve, columns `optimizer.plan.curves.CURVE_COLUMNS`: ``area_pct``,
``protected_km2``, ``held`` in the row's ``unit``, ``held_pct`` ...) and ``curves.png``
(`optimizer.figures.plots.curves_chart`, the plan's share marked). The HTML report shows
the figure, with the curves' one-line definition, for every solve folder that holds them
(`curves_html`).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from optimizer.figures.plots import curves_chart
from optimizer.outputs.report_tables import fig_uri
from optimizer.plan.curves import CURVE_COLUMNS, CURVE_DEFINITION

__all__ = ["CURVES_CSV", "CURVES_PNG", "curves_html", "read_curves", "write_curves"]

#: The files of a solve folder's curves.
CURVES_CSV, CURVES_PNG = "curves.csv", "curves.png"


def write_curves(curves: pd.DataFrame, folder: Path, *, note: str = "") -> list[str]:
    """Write ``curves.csv`` and ``curves.png`` into ``folder`` (a folder being written
    atomically, `optimizer.atomic`); the names of the files written.

    Examples
    --------
    >>> import tempfile
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.plan.curves import plan_curves
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = write_curves(plan_curves(tiny_grid(), np.ones(6)), Path(tmp))
    ...     files, len(read_curves(tmp))
    (['curves.csv', 'curves.png'], 12)
    """
    curves[list(CURVE_COLUMNS)].to_csv(folder / CURVES_CSV, index=False)
    title = "Performance curves" + (" along the priority rank" if (curves["along"] == "rank")
                                     .any() else " of the plan")
    fig = curves_chart(curves, title=title)
    fig.savefig(folder / CURVES_PNG, dpi=120)
    return [CURVES_CSV, CURVES_PNG]


def read_curves(solve_dir: str | Path) -> pd.DataFrame | None:
    """A solve folder's ``curves.csv`` (None when it has none)."""
    path = Path(solve_dir) / CURVES_CSV
    return pd.read_csv(path) if path.is_file() else None


def curves_html(solve_dir: str | Path) -> str:
    """The report's section on the curves of a solve folder ('' when it has none).

    The figure is drawn again from ``curves.csv`` (a PNG ``data:`` URI: nothing outside the
    page), under the one-line definition of a curve.
    """
    curves = read_curves(solve_dir)
    if curves is None or curves.empty:
        return ""
    along = (curves["along"] == "rank").any()
    fig = curves_chart(curves, title="Performance curves" + (" along the priority rank"
                                                               if along else " of the plan"))
    uri = fig_uri(fig)
    caption = (CURVE_DEFINITION[0].upper() + CURVE_DEFINITION[1:]
               + ("; the dashed line is this plan's share" if along else
                  "; without a priority rank (see summary.json's curves note), the plan's "
                  "point alone") + " (curves.csv holds every point).")
    return ('<h2 id="curves">Performance curves</h2>'
            f'<figure><img alt="performance curves" src="{uri}"><figcaption>'
            f"{html.escape(caption)}</figcaption></figure>")
