"""Gap analysis of an existing protected-area network over planning units.

The public names of the analysis; see `optimizer.gap.analysis` for what each table holds.
"""

from optimizer.gap.analysis import (
    TYPES,
    GapReport,
    Zones,
    biodiversity_summary,
    carbon_table,
    ecosystem_table,
    format_carbon_table,
    gap_analysis,
    growth_table,
    hotspots,
    region_table,
    species_table,
    synergy_typology,
    time_series_table,
    unit_values,
    zone_totals,
    zones,
)

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
