"""Marxan projects in and out: read ``input.dat`` projects, score plans as Marxan does,
write Marxan's output files, read Marxan's own outputs, and write any min-set problem
as a Marxan project (`optimizer.io.marxan.project`)."""

from __future__ import annotations

from optimizer.io.marxan.project import (
    MARXAN_DELTA,
    MARXAN_KEYS,
    MVBEST_COLUMNS,
    NO_BLM_NOTE,
    SUMMARY_COLUMNS,
    MarxanProject,
    check_marxan_outputs,
    compare_with_marxan,
    feature_penalties,
    marxan_score,
    plan_blm,
    read_marxan,
    read_marxan_solution,
    read_marxan_summary,
    write_marxan_outputs,
    write_marxan_project,
)

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
