"""The units carbonpark accepts, and how each turns into a total per planning unit.

A layer declares the unit of its values. The unit decides how aggregation works:

* ``density`` units (MgC/ha, kgC/m2, gC/m2/yr, ...) are amounts per area: a planning
  unit's total is the sum over raster cells of value x covered true area;
* ``per_cell`` units (tCO2/cell/yr, TgC/cell/yr, count/cell, ...) are amounts per
  raster cell: a planning unit's total is the sum of value x covered fraction of the cell;
* ``intensive`` units (an index, a species count) have no total: we keep the
  area-weighted mean, and its integral over area (value x km2) as the amount;
* ``fraction`` units (0-1 coverage rasters) integrate to an area in km2;
* ``class`` marks categorical rasters (land cover, regions).

Totals come out in one stated unit per quantity: MgC, MgC/yr, tCO2/yr, km2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from optimizer.errors import UnitError

UnitKind = Literal["density", "per_cell", "intensive", "fraction", "class"]

#: Mass of CO2 per mass of carbon (molar masses 44.0095 / 12.0107).
CO2_PER_C = 44.0095 / 12.0107

# 1 MgC/ha = 100 MgC/km2; 1 kgC/m2 = 1000 MgC/km2; 1 gC/m2 = 1 MgC/km2.
_PER_HA = 100.0
_KG_PER_M2 = 1000.0
_G_PER_M2 = 1.0


@dataclass(frozen=True)
class Unit:
    """A unit of layer values and the total it aggregates to.

    Parameters
    ----------
    name : str
        Canonical spelling, e.g. ``"MgC/ha"``.
    kind : {"density", "per_cell", "intensive", "fraction", "class"}
        How values aggregate (see the module docstring).
    total_unit : str
        Unit of a planning unit's total, e.g. ``"MgC"``.
    factor : float
        For ``density``: total per km2 for a value of 1 (e.g. 100 for MgC/ha -> MgC).
        For ``per_cell``: total per raster cell for a value of 1.
        For ``intensive`` and ``fraction``: 1 (the total is value x km2).
    """

    name: str
    kind: UnitKind
    total_unit: str
    factor: float = 1.0

    def density_from_total(self, total: float, area_km2: float) -> float:
        """Convert a total over ``area_km2`` back to a value in this (density) unit."""
        if self.kind == "density":
            return total / (area_km2 * self.factor)
        if self.kind in ("intensive", "fraction"):
            return total / area_km2
        raise UnitError(f"unit {self.name!r} is a per-cell amount and has no density")


_UNITS: tuple[Unit, ...] = (
    # carbon stock densities
    Unit("MgC/ha", "density", "MgC", _PER_HA),
    Unit("kgC/m2", "density", "MgC", _KG_PER_M2),
    Unit("gC/m2", "density", "MgC", _G_PER_M2),
    # carbon uptake (NPP) densities
    Unit("MgC/ha/yr", "density", "MgC/yr", _PER_HA),
    Unit("kgC/m2/yr", "density", "MgC/yr", _KG_PER_M2),
    Unit("gC/m2/yr", "density", "MgC/yr", _G_PER_M2),
    # emissions as densities
    Unit("tCO2/km2/yr", "density", "tCO2/yr", 1.0),
    Unit("tCO2/ha/yr", "density", "tCO2/yr", _PER_HA),
    # amounts per raster cell (EDGAR, CDIAC)
    Unit("tCO2/cell/yr", "per_cell", "tCO2/yr", 1.0),
    Unit("ktCO2/cell/yr", "per_cell", "tCO2/yr", 1e3),
    Unit("MtCO2/cell/yr", "per_cell", "tCO2/yr", 1e6),
    Unit("MgC/cell/yr", "per_cell", "tCO2/yr", CO2_PER_C),
    Unit("GgC/cell/yr", "per_cell", "tCO2/yr", 1e3 * CO2_PER_C),
    Unit("TgC/cell/yr", "per_cell", "tCO2/yr", 1e6 * CO2_PER_C),
    Unit("MgC/cell", "per_cell", "MgC", 1.0),
    # biodiversity and generic amounts per cell (presence/absence, counts)
    Unit("count/cell", "per_cell", "count", 1.0),
    Unit("km2/cell", "per_cell", "km2", 1.0),
    # cost
    Unit("cost/cell", "per_cell", "cost", 1.0),
    Unit("cost/km2", "density", "cost", 1.0),
    Unit("cost/ha", "density", "cost", _PER_HA),
    # intensive values: kept as area-weighted means (value x km2 as the amount)
    Unit("index", "intensive", "index*km2", 1.0),
    Unit("species", "intensive", "species*km2", 1.0),
    # coverage fractions and categories
    Unit("fraction", "fraction", "km2", 1.0),
    Unit("class", "class", "km2", 1.0),
)

_ALIASES: dict[str, str] = {
    "tC/ha": "MgC/ha",
    "t C/ha": "MgC/ha",
    "Mg C/ha": "MgC/ha",
    "kgC/m²": "kgC/m2",
    "gC/m²": "gC/m2",
    "tC/ha/yr": "MgC/ha/yr",
    "kgC/m²/yr": "kgC/m2/yr",
    "gC/m²/yr": "gC/m2/yr",
    "tCO2/yr": "tCO2/cell/yr",
    "TgC/yr": "TgC/cell/yr",
    "presence": "count/cell",
    "count": "count/cell",
    "richness": "species",
    "categorical": "class",
}

UNITS: dict[str, Unit] = {u.name: u for u in _UNITS}


def get_unit(name: str, *, layer: str | None = None) -> Unit:
    """Look up a unit by name (case- and space-insensitive, with common aliases).

    Parameters
    ----------
    name : str
        The unit as written by the user, e.g. ``"MgC/ha"`` or ``"tC/ha"``.
    layer : str, optional
        Name of the layer declaring it, used in the error message.

    Returns
    -------
    Unit

    Raises
    ------
    UnitError
        If the unit is unknown; the message lists the accepted units.
    """
    key = str(name).strip()
    key = _ALIASES.get(key, key)
    if key in UNITS:
        return UNITS[key]
    folded = {k.lower().replace(" ", ""): v for k, v in UNITS.items()}
    folded.update({k.lower().replace(" ", ""): UNITS[v] for k, v in _ALIASES.items()})
    hit = folded.get(key.lower().replace(" ", ""))
    if hit is not None:
        return hit
    where = f"layer {layer!r}: " if layer else ""
    raise UnitError(
        f"{where}unknown unit {name!r}; use one of: {', '.join(UNITS)}"
    )


# Units a role may use; a mismatch is almost always a mistake worth stopping for.
ROLE_UNIT_KINDS: dict[str, tuple[UnitKind, ...]] = {
    "carbon_stock": ("density", "per_cell"),
    "carbon_uptake": ("density", "per_cell"),
    "emissions": ("density", "per_cell"),
    "biodiversity": ("per_cell", "intensive", "fraction", "density"),
    "cost": ("density", "per_cell"),
    "land_cover": ("class",),
    "protected": ("fraction", "class"),
    "region": ("class",),
    "mask": ("fraction", "class"),
}


def check_role_unit(role: str, unit: Unit, *, layer: str) -> None:
    """Raise `UnitError` if ``unit`` cannot express a layer of ``role``."""
    kinds = ROLE_UNIT_KINDS[role]
    if unit.kind not in kinds:
        fits = [u.name for u in _UNITS if u.kind in kinds]
        raise UnitError(
            f"layer {layer!r}: unit {unit.name!r} ({unit.kind}) does not fit role {role!r}; "
            f"use one of: {', '.join(fits)}"
        )


def format_total(value: float, unit: str) -> str:
    """Format a total with an SI prefix readable in a table (e.g. ``2.53 PgC``).

    Only mass units of carbon (``MgC``, ``MgC/yr``) and CO2 (``tCO2/yr``) get prefixes.
    """
    prefixes = {"MgC": ("MgC", "GgC", "TgC", "PgC"), "tCO2": ("tCO2", "ktCO2", "MtCO2", "GtCO2")}
    base, _, rest = unit.partition("/")
    if base not in prefixes:
        return f"{value:,.4g} {unit}"
    names = prefixes[base]
    step = 0
    scaled = float(value)
    while abs(scaled) >= 1000 and step < len(names) - 1:
        scaled /= 1000
        step += 1
    suffix = f"/{rest}" if rest else ""
    return f"{scaled:,.4g} {names[step]}{suffix}"
