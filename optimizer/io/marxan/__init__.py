"""Marxan projects in and out: read ``input.dat`` projects, score plans as Marxan does,
write Marxan's output files, read Marxan's own outputs, and write any min-set problem
as a Marxan project.

Every public name is importable from here (``from optimizer.io.marxan import ...``);
the modules, upstream first:

* `tables` - Marxan's delimited text tables, read with checks and written;
* `input_dat` - ``input.dat``: its settings and the BLM (`MARXAN_KEYS`, `NO_BLM_NOTE`);
* `project` - `read_marxan` and `MarxanProject` (``to_problem``);
* `read_outputs` - Marxan's own outputs read back: `read_marxan_solution`,
  `read_marxan_summary` (`SUMMARY_COLUMNS`, `MVBEST_COLUMNS`);
* `score` - Marxan's objective exactly: `marxan_score`, `feature_penalties`, `plan_blm`,
  `compare_with_marxan` (`MARXAN_DELTA`);
* `write_outputs` - `write_marxan_outputs` and `check_marxan_outputs`;
* `export` - `write_marxan_project`: a min-set `Problem` as a Marxan project.
"""

from __future__ import annotations

from optimizer.io.marxan.export import write_marxan_project
from optimizer.io.marxan.input_dat import MARXAN_KEYS, NO_BLM_NOTE
from optimizer.io.marxan.project import MarxanProject, read_marxan
from optimizer.io.marxan.read_outputs import (
    MVBEST_COLUMNS,
    SUMMARY_COLUMNS,
    read_marxan_solution,
    read_marxan_summary,
)
from optimizer.io.marxan.score import (
    MARXAN_DELTA,
    compare_with_marxan,
    feature_penalties,
    marxan_score,
    plan_blm,
)
from optimizer.io.marxan.write_outputs import check_marxan_outputs, write_marxan_outputs

__all__ = [
    "MARXAN_DELTA",
    "MARXAN_KEYS",
    "MVBEST_COLUMNS",
    "NO_BLM_NOTE",
    "SUMMARY_COLUMNS",
    "MarxanProject",
    "check_marxan_outputs",
    "compare_with_marxan",
    "feature_penalties",
    "marxan_score",
    "plan_blm",
    "read_marxan",
    "read_marxan_solution",
    "read_marxan_summary",
    "write_marxan_outputs",
    "write_marxan_project",
]
