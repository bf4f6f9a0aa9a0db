"""Readable headers for every table the app shows, from one place.

A table column is shown by its label and its unit once (``shortfall closed (km²)``, never
``shortfall_closed_km2`` nor ``carbon_stock_MgC (MgC)``), with its meaning as the header's
tooltip; shares stored as 0-1 are shown in %, amounts with thousands separators, years
without. The plan's headline numbers are `optimizer.plan.quantities.QUANTITIES` (the Plan
page's metric cards read them there); the columns of the candidate parks come with their
unit and meaning from `optimizer.plan.parks.PARK_COLUMNS`; the columns of the gap and gap
closure tables are `COLUMNS`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.app.ui import Ui

__all__ = ["COLUMNS", "column_header", "readable"]

#: Column -> (label, unit, how it is written, meaning). How: "amount" (thousands
#: separators), "share" (a 0-1 share written in %), "pct" (already in %), "ratio",
#: "density", "count", "year", "text".
COLUMNS: dict[str, tuple[str, str, str, str]] = {
    # the gap closure of a plan (optimizer.plan.closure)
    "criterion": ("hotspots of", "", "text", "what the hotspots are the top units of"),
    "gap_units": ("unprotected hotspot units", "", "count",
                  "hotspot units of the existing network's gap (less than half protected)"),
    "gap_unprotected_km2": ("unprotected hotspot area", "km²", "amount",
                            "the unprotected area of those hotspot units"),
    "protected_by_plan_km2": ("protected by the plan", "km²", "amount",
                              "the part of that area the plan protects"),
    "share_protected_by_plan": ("share protected by the plan", "%", "share",
                                "protected by the plan / unprotected hotspot area"),
    "ecosystem": ("ecosystem", "", "text", "the land-cover class"),
    "feature": ("column", "", "text", "the grid's column of the layer"),
    "target": ("target", "%", "share", "the share of the total to protect"),
    "protected_before_km2": ("protected before", "km²", "amount",
                             "area protected by the existing network"),
    "protected_after_km2": ("protected with the plan", "km²", "amount",
                            "area protected by the existing network and the plan"),
    "shortfall_before_km2": ("shortfall before", "km²", "amount",
                             "area the class lacks to reach the target before the plan"),
    "shortfall_after_km2": ("shortfall after", "km²", "amount",
                            "area the class still lacks with the plan"),
    "closed_km2": ("shortfall closed", "km²", "amount", "shortfall before - shortfall after"),
    "closed_pct": ("shortfall closed", "%", "pct", "shortfall closed / shortfall before"),
    "meets_before": ("meets the target before", "", "text", "before the plan"),
    "meets_after": ("meets the target with the plan", "", "text", "with the plan"),
    "layer": ("layer", "", "text", "the layer"),
    "quantity": ("quantity", "", "text", "what the layer measures"),
    "density_unit": ("density unit", "", "text", "the unit of the densities"),
    "density_whole": ("density, whole area", "", "density", "amount / area of the whole area"),
    "density_before": ("density inside protection before", "", "density",
                       "amount / area inside the existing network"),
    "density_after": ("density inside protection with the plan", "", "density",
                      "amount / area inside the existing network and the plan"),
    "ratio_before": ("density ratio before", "×", "ratio",
                     "density inside protection / whole-area density, before the plan (above "
                     "1: protection holds more than its share)"),
    "ratio_after": ("density ratio with the plan", "×", "ratio",
                    "density inside protection / whole-area density, with the plan"),
    # the gap analysis (optimizer.gap.tables)
    "zone": ("zone", "", "text", "whole area, a protected category, protected or unprotected"),
    "zone_kind": ("zone kind", "", "text", "what kind of zone"),
    "area_km2": ("area", "km²", "amount", "area"),
    "area_share": ("share of the area", "%", "share", "zone area / whole area"),
    "total_MgC": ("total", "MgC", "amount", "the layer's total in the zone"),
    "total": ("total", "", "amount", "the layer's total in the zone (unit in the next column)"),
    "total_unit": ("unit", "", "text", "the unit of the total"),
    "share": ("share of the total", "%", "share", "zone total / whole-area total"),
    "density_kgC_m2": ("density", "kgC/m²", "density", "total / area"),
    "density_MgC_ha": ("density", "MgC/ha", "density", "total / area"),
    "density_ratio": ("density ratio", "×", "ratio", "zone density / whole-area density"),
    "year": ("year", "", "year", "the layer's year"),
    "amount": ("amount", "", "amount", "the layer's amount in the zone (unit beside it)"),
    "amount_unit": ("unit", "", "text", "the unit of the amount"),
    "density": ("density", "", "density", "amount / area (unit beside it)"),
    "start_year": ("from", "", "year", "first year"),
    "end_year": ("to", "", "year", "last year"),
    "span": ("years", "", "count", "years between them"),
    "start_total": ("total, first year", "", "amount", "the total in the first year"),
    "end_total": ("total, last year", "", "amount", "the total in the last year"),
    "change_pct": ("change", "%", "pct", "last / first - 1"),
    "annual_rate_pct": ("annual rate", "%/yr", "pct", "compound yearly change"),
    "protected_km2": ("protected", "km²", "amount", "area protected by the existing network"),
    "share_protected": ("share protected", "%", "share", "protected / total"),
    "shortfall_km2": ("shortfall", "km²", "amount", "area lacking to reach the target"),
    "meets_target": ("meets the target", "", "text", "protected share ≥ target"),
    "carbon_total": ("carbon stock", "", "amount", "carbon stock (unit beside it)"),
    "carbon_protected": ("carbon stock protected", "", "amount", "inside the existing network"),
    "carbon_unit": ("carbon unit", "", "text", "the unit of the carbon stock"),
    "carbon_share_protected": ("carbon stock protected", "%", "share", "protected / total"),
    "region": ("region", "", "text", "the region"),
    "land_share_protected": ("land protected", "%", "share", "protected area / region area"),
    "npp_year": ("NPP year", "", "text", "the carbon uptake layer's latest year"),
    "npp_total": ("NPP", "", "amount", "carbon uptake (unit beside it)"),
    "npp_unit": ("NPP unit", "", "text", "the unit of NPP"),
    "npp_share_protected": ("NPP protected", "%", "share", "protected / total"),
    "label": ("name", "", "text", "the species' name"),
    "unit": ("unit", "", "text", "the unit of the amounts"),
    "protected": ("protected", "", "amount", "amount inside the existing network"),
    "shortfall": ("shortfall", "", "amount", "amount lacking to reach the target"),
    "metric": ("measure", "", "text", "what is measured"),
    "value": ("value", "", "amount", "its value (unit beside it)"),
    "value_unit": ("value unit", "", "text", "the unit of the hotspot values"),
    "cutoff": ("cut-off", "", "density", "the value above which a unit is a hotspot"),
    "top_units": ("hotspot units", "", "count", "units above the cut-off"),
    "top_area_km2": ("hotspot area", "km²", "amount", "their area"),
    "top_protected_share": ("hotspot area protected", "%", "share", "protected / hotspot area"),
    "gap_area_km2": ("unprotected hotspot area", "km²", "amount", "hotspot area not protected"),
    "gap_carbon_MgC": ("carbon stock of the unprotected hotspots", "MgC", "amount",
                       "carbon stock in that area"),
    "gap_carbon_share": ("share of the carbon stock", "%", "share", "of the whole area's"),
    "share_of_gap_area": ("share of the unprotected hotspot area", "%", "share", "of the total"),
    "type": ("type", "", "text", "carbon × biodiversity type"),
    "units": ("units", "", "count", "planning units"),
    "carbon_MgC": ("carbon stock", "MgC", "amount", "carbon stock"),
    "carbon_share": ("share of the carbon stock", "%", "share", "of the whole area's"),
    "protected_share": ("share protected", "%", "share", "protected area / area"),
}

#: Park columns: (label) for `optimizer.plan.parks.PARK_COLUMNS`, whose unit and meaning
#: come from there.
PARK_LABELS = {"park_id": "park", "n_units": "units", "area_km2": "new area",
               "carbon_stock_MgC": "carbon stock", "carbon_stock_tCO2e": "carbon stock",
               "carbon_uptake_MgC_per_yr": "carbon uptake", "emissions_tCO2_per_yr":
               "emissions inside", "biodiversity_value": "biodiversity value",
               "species_in_range": "species in range", "key_species": "key species",
               "key_species_names": "key species' names", "dominant_ecosystem":
               "dominant ecosystem"}

_FORMATS = {"amount": "localized", "count": "localized", "share": "%.1f", "pct": "%.1f",
            "ratio": "%.2f", "density": "%.3f", "year": "%d"}


def _park_column(name: str) -> tuple[str, str, str, str] | None:
    from optimizer.plan.parks import PARK_COLUMNS

    if name not in PARK_COLUMNS:
        return None
    unit, meaning = PARK_COLUMNS[name]
    label = PARK_LABELS.get(name, name.replace("_", " "))
    how = ("count" if unit in ("units", "species") or name == "park_id" else
           "text" if not unit else "ratio" if unit == "%" else "amount")
    return label, "" if unit in ("units", "species") else unit, how, meaning


def column_header(name: str, parks: bool = False) -> tuple[str, str, str]:
    """(header with its unit, how it is written, meaning) of a table column.

    Examples
    --------
    >>> column_header("shortfall_before_km2")[0], column_header("gap_units")[0]
    ('shortfall before (km²)', 'unprotected hotspot units')
    >>> column_header("carbon_stock_MgC", parks=True)[0]
    'carbon stock (MgC)'
    >>> column_header("some_new_column")[0]
    'some new column'
    """
    spec = (_park_column(name) if parks else None) or COLUMNS.get(name)
    if spec is None:
        return name.replace("_", " "), "", ""
    label, unit, how, meaning = spec
    return (f"{label} ({unit})" if unit else label), how, meaning


def readable(st: Ui, table: pd.DataFrame, *,
             parks: bool = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``table`` with readable headers and the ``column_config`` that writes each column.

    Shares (0-1) become %; the config gives each header its format and its meaning as the
    tooltip (built with ``st.column_config`` of the Streamlit module ``st`` given). Pass
    both to ``st.dataframe``.
    """
    out = table.copy()
    names: dict[str, str] = {}
    config: dict[str, Any] = {}
    for col in table.columns:
        header, how, meaning = column_header(str(col), parks=parks)
        while header in names.values():  # two columns of one label: keep both
            header += " "
        names[str(col)] = header
        numeric = pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(
            out[col])
        if how == "share" and numeric:
            out[col] = 100 * out[col]
        if numeric and how in _FORMATS:
            config[header] = st.column_config.NumberColumn(header, help=meaning or None,
                                                           format=_FORMATS[how])
        else:
            config[header] = st.column_config.Column(header, help=meaning or None)
    return out.rename(columns=names), config
