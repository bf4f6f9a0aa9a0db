"""Marxan's plan and ours side by side: `compare_with_marxan`, both scored by
`optimizer.io.marxan.score.marxan_score` at one BLM, as a `pandas.DataFrame`.

Apart from `optimizer.io.marxan.score` so that scoring needs no pandas (``carbonpark
marxan`` imports this module only with ``--compare``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.io.marxan.project import MarxanProject
from optimizer.io.marxan.score import marxan_score, plan_blm, plan_selection
from optimizer.model.problem import Problem


def compare_with_marxan(project: MarxanProject, marxan_solution: Any, our_solution: Any, *,
                        blm: float | None = None, problem: Problem | None = None) -> pd.DataFrame:
    """Marxan's plan and ours on the same files, both scored by `marxan_score` at one BLM.

    Parameters
    ----------
    project : MarxanProject
    marxan_solution, our_solution : path, Series, Solution or array
        E.g. Marxan's ``output_best.csv`` and our `Solution`.
    blm : float, optional
        Boundary length modifier. Default: the BLM our plan was solved with (see
        `plan_blm`), else the BLM of input.dat.
    problem : Problem, optional
        The problem our plan was solved from.

    Returns
    -------
    pandas.DataFrame
        Index: ``score``, ``cost``, ``boundary``, ``penalty``, ``shortfall``,
        ``targets_met``, ``missing_values``, ``mpm``, ``units``; columns ``marxan``,
        ``carbonpark``, ``difference`` (carbonpark - marxan).
    """
    rows = ["score", "cost", "boundary", "penalty", "shortfall", "targets_met",
            "missing_values", "mpm", "units"]
    blm = plan_blm(project, our_solution, blm, problem=problem)
    theirs = marxan_score(project, plan_selection(project, marxan_solution, "Marxan's plan"), blm)
    ours = marxan_score(project, plan_selection(project, our_solution, "our plan"), blm)
    df = pd.DataFrame({"marxan": [float(theirs[r]) for r in rows],
                       "carbonpark": [float(ours[r]) for r in rows]}, index=pd.Index(rows,
                                                                                     name="metric"))
    df["difference"] = df["carbonpark"] - df["marxan"]
    return df
