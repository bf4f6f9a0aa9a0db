"""Other tools' project formats: Marxan projects in and out (`optimizer.io.marxan`)."""

from __future__ import annotations

from optimizer.io.marxan import (
    MarxanProject,
    compare_with_marxan,
    feature_penalties,
    marxan_score,
    read_marxan,
    read_marxan_solution,
    read_marxan_summary,
    write_marxan_outputs,
    write_marxan_project,
)

__all__ = [
    "MarxanProject",
    "compare_with_marxan",
    "feature_penalties",
    "marxan_score",
    "read_marxan",
    "read_marxan_solution",
    "read_marxan_summary",
    "write_marxan_outputs",
    "write_marxan_project",
]
