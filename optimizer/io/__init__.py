"""Other tools' project formats: Marxan projects in and out (`optimizer.io.marxan`) and
prioritizr-style raster or polygon planning units (`optimizer.io.prioritizr`).

The prioritizr names, and the Marxan names that return pandas objects, are imported on
first use (PEP 562): they need the grid builder (rasterio's raster reading, geopandas,
scipy.ndimage) or pandas, which ``carbonpark marxan`` does not, and its start-up is part of
its time limit (issue 23 item 6).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimizer.io.marxan import (
    MarxanProject,
    feature_penalties,
    marxan_score,
    read_marxan,
    write_marxan_outputs,
    write_marxan_project,
)

if TYPE_CHECKING:  # what type checkers see; at run time, `__getattr__` below
    from optimizer.io.marxan import (
        compare_with_marxan,
        read_marxan_solution,
        read_marxan_summary,
    )
    from optimizer.io.prioritizr import (
        polygon_planning_units,
        prioritizr_problem,
        raster_planning_units,
    )

#: The names imported on first use, and their module.
_LAZY = {**{name: "optimizer.io.prioritizr"
            for name in ("polygon_planning_units", "prioritizr_problem", "raster_planning_units")},
         **{name: "optimizer.io.marxan"
            for name in ("compare_with_marxan", "read_marxan_solution", "read_marxan_summary")}}

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


def __getattr__(name: str) -> Any:
    """Import a prioritizr name's module on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once: later look-ups do not come here
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
