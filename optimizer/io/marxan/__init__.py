"""Marxan projects in and out: read ``input.dat`` projects, compile and score them as
Marxan does, write Marxan's output files, read Marxan's own outputs, and write any
min-set problem as a Marxan project.

Every public name is importable from here (``from optimizer.io.marxan import ...``);
the modules, upstream first:

* `tables` - Marxan's delimited text tables, read with checks into a `Table` (numpy
  columns) and written; Marxan's solution files read (`SUMMARY_COLUMNS`, `MVBEST_COLUMNS`);
* `input_dat` - ``input.dat``: its settings and the BLM (`MARXAN_KEYS`, `NO_BLM_NOTE`);
* `project` - `read_marxan` and `MarxanProject` (``to_problem``);
* `model` - `marxan_model`: ``compile(project.to_problem(blm))`` from the tables alone;
* `read_outputs` - Marxan's own outputs read back as pandas objects:
  `read_marxan_solution`, `read_marxan_summary`;
* `score` - Marxan's objective exactly: `marxan_score`, `feature_penalties`, `plan_blm`
  (`MARXAN_DELTA`);
* `compare` - `compare_with_marxan`: Marxan's plan and ours side by side (a DataFrame);
* `write_outputs` - `write_marxan_outputs` and `check_marxan_outputs`;
* `export` - `write_marxan_project`: a min-set `Problem` as a Marxan project.

Reading, compiling, scoring and writing need no pandas (``carbonpark marxan`` starts in
a fraction of a second, issue 23 item 6): the names of `read_outputs` and `compare`,
which return pandas objects, are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimizer.io.marxan.export import write_marxan_project
from optimizer.io.marxan.input_dat import MARXAN_KEYS, NO_BLM_NOTE
from optimizer.io.marxan.model import marxan_model
from optimizer.io.marxan.project import MarxanProject, read_marxan
from optimizer.io.marxan.score import MARXAN_DELTA, feature_penalties, marxan_score, plan_blm
from optimizer.io.marxan.tables import MVBEST_COLUMNS, SUMMARY_COLUMNS, Table
from optimizer.io.marxan.write_outputs import check_marxan_outputs, write_marxan_outputs

if TYPE_CHECKING:  # what type checkers see; at run time, `__getattr__` below
    from optimizer.io.marxan.compare import compare_with_marxan
    from optimizer.io.marxan.read_outputs import read_marxan_solution, read_marxan_summary

#: The names imported on first use (they import pandas), and their module.
LAZY_NAMES = {"compare_with_marxan": "optimizer.io.marxan.compare",
              "read_marxan_solution": "optimizer.io.marxan.read_outputs",
              "read_marxan_summary": "optimizer.io.marxan.read_outputs"}

__all__ = [
    "MARXAN_DELTA",
    "MARXAN_KEYS",
    "MVBEST_COLUMNS",
    "NO_BLM_NOTE",
    "SUMMARY_COLUMNS",
    "MarxanProject",
    "Table",
    "check_marxan_outputs",
    "compare_with_marxan",
    "feature_penalties",
    "marxan_model",
    "marxan_score",
    "plan_blm",
    "read_marxan",
    "read_marxan_solution",
    "read_marxan_summary",
    "write_marxan_outputs",
    "write_marxan_project",
]


def __getattr__(name: str) -> Any:
    """Import a pandas-returning name's module on first use (PEP 562)."""
    if name in LAZY_NAMES:
        value = getattr(importlib.import_module(LAZY_NAMES[name]), name)
        globals()[name] = value  # once: later look-ups do not come here
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
