"""Gap analysis of an existing protected-area network over planning units.

Given `PlanningUnits` with a protected layer, the package produces the tables of a
protected-area carbon assessment for any region, network and layer set. One module a
concern, each importing only the ones before it:

* `optimizer.gap.columns`: the grid columns read (argument checks, features by role,
  areas with data) and readable units (MgC -> PgC, kgC/m2);
* `optimizer.gap.zoning`: the zones (whole, protected categories, protected,
  unprotected) as fractions of each unit (`zones`, `Zones`), and totals per zone
  (`zone_totals`);
* `optimizer.gap.tables`: the study's tables (`carbon_table`, `time_series_table`,
  `growth_table`, `ecosystem_table`, `region_table`, `species_table`,
  `biodiversity_summary`);
* `optimizer.gap.ranking`: per-unit values (`unit_values`), unprotected hotspots
  (`hotspots`) and the carbon x biodiversity synergy typology (`synergy_typology`);
* `optimizer.gap.markdown`: Markdown tables and the summary;
* `optimizer.gap.analysis`: all of it at once (`gap_analysis`) in a `GapReport`,
  which writes CSVs, a Markdown summary and PNG figures (`optimizer.figures.plots`).

The names below are the public API; import them from ``optimizer.gap``.
"""

from optimizer.gap.analysis import GapReport, gap_analysis
from optimizer.gap.ranking import TYPES, hotspots, synergy_typology, unit_values
from optimizer.gap.tables import (
    biodiversity_summary,
    carbon_table,
    ecosystem_table,
    format_carbon_table,
    growth_table,
    region_table,
    species_table,
    time_series_table,
)
from optimizer.gap.zoning import Zones, zone_totals, zones

__all__ = [
    "TYPES",
    "GapReport",
    "Zones",
    "biodiversity_summary",
    "carbon_table",
    "ecosystem_table",
    "format_carbon_table",
    "gap_analysis",
    "growth_table",
    "hotspots",
    "region_table",
    "species_table",
    "synergy_typology",
    "time_series_table",
    "unit_values",
    "zone_totals",
    "zones",
]
