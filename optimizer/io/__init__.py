"""Other tools' project formats: Marxan projects in and out (`optimizer.io.marxan`) and
prioritizr-style raster or polygon planning units (`optimizer.io.prioritizr`)."""

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
from optimizer.io.prioritizr import (
    polygon_planning_units,
    prioritizr_problem,
    raster_planning_units,
)

__all__ = [
    "MarxanProject",
    "compare_with_marxan",
    "feature_penalties",
    "marxan_score",
    "polygon_planning_units",
    "prioritizr_problem",
    "raster_planning_units",
    "read_marxan",
    "read_marxan_solution",
    "read_marxan_summary",
    "write_marxan_outputs",
    "write_marxan_project",
]
