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

Every unit also has a *dimension* (mass per area, mass per area per time, mass per
cell per time, ...; `optimizer.inputs.dimensions`), and every role accepts only some
dimensions (`optimizer.inputs.roles.Role.dimensions`): a stock is a mass per area or per
cell, an uptake a mass per area (or per cell) per time, emissions a mass per time per
cell or per area. `check_role_unit` refuses the rest when a layer is declared, before any
raster is read.

Totals come out in one stated unit per quantity: MgC for stocks, MgC/yr for uptake,
tCO2/yr for emissions, km2 for areas; `unit_for_role` converts carbon to CO2 (or
back) where a layer's unit counts the other one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from optimizer.errors import UnitError, did_you_mean
from optimizer.inputs.dimensions import (
    AREA_CELL,
    CLASS,
    COST_AREA,
    COST_CELL,
    COUNT_CELL,
    FRACTION,
    INDEX,
    MASS_AREA,
    MASS_AREA_TIME,
    MASS_CELL,
    MASS_CELL_TIME,
    SPECIES,
)
from optimizer.inputs.roles import ROLES

UnitKind = Literal["density", "per_cell", "intensive", "fraction", "class"]

#: Mass of CO2 per mass of carbon (molar masses 44.0095 / 12.0107).
CO2_PER_C = 44.0095 / 12.0107

#: The masses totals count (`optimizer.inputs.roles.Role.mass`), each with its SI prefixes
#: for readable totals; carbon converts to CO2 by `CO2_PER_C`.
MASSES: dict[str, tuple[str, ...]] = {
    "MgC": ("MgC", "GgC", "TgC", "PgC"),
    "tCO2": ("tCO2", "ktCO2", "MtCO2", "GtCO2"),
}

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
    dimension : str
        What the values measure (e.g. ``"mass per area per time"``); roles accept
        only some dimensions (`optimizer.inputs.roles.Role.dimensions`).
    """

    name: str
    kind: UnitKind
    total_unit: str
    factor: float = 1.0
    dimension: str = ""

    def density_from_total(self, total: float, area_km2: float) -> float:
        """Convert a total over ``area_km2`` back to a value in this (density) unit."""
        if self.kind == "density":
            return total / (area_km2 * self.factor)
        if self.kind in ("intensive", "fraction"):
            return total / area_km2
        raise UnitError(f"unit {self.name!r} is a per-cell amount and has no density")


_UNITS: tuple[Unit, ...] = (
    # carbon stock densities
    Unit("MgC/ha", "density", "MgC", _PER_HA, MASS_AREA),
    Unit("kgC/m2", "density", "MgC", _KG_PER_M2, MASS_AREA),
    Unit("gC/m2", "density", "MgC", _G_PER_M2, MASS_AREA),
    # carbon uptake (NPP) densities
    Unit("MgC/ha/yr", "density", "MgC/yr", _PER_HA, MASS_AREA_TIME),
    Unit("kgC/m2/yr", "density", "MgC/yr", _KG_PER_M2, MASS_AREA_TIME),
    Unit("gC/m2/yr", "density", "MgC/yr", _G_PER_M2, MASS_AREA_TIME),
    # emissions as densities
    Unit("tCO2/km2/yr", "density", "tCO2/yr", 1.0, MASS_AREA_TIME),
    Unit("tCO2/ha/yr", "density", "tCO2/yr", _PER_HA, MASS_AREA_TIME),
    # amounts per raster cell (EDGAR, CDIAC)
    Unit("tCO2/cell/yr", "per_cell", "tCO2/yr", 1.0, MASS_CELL_TIME),
    Unit("ktCO2/cell/yr", "per_cell", "tCO2/yr", 1e3, MASS_CELL_TIME),
    Unit("MtCO2/cell/yr", "per_cell", "tCO2/yr", 1e6, MASS_CELL_TIME),
    Unit("MgC/cell/yr", "per_cell", "tCO2/yr", CO2_PER_C, MASS_CELL_TIME),
    Unit("GgC/cell/yr", "per_cell", "tCO2/yr", 1e3 * CO2_PER_C, MASS_CELL_TIME),
    Unit("TgC/cell/yr", "per_cell", "tCO2/yr", 1e6 * CO2_PER_C, MASS_CELL_TIME),
    Unit("MgC/cell", "per_cell", "MgC", 1.0, MASS_CELL),
    # biodiversity and generic amounts per cell (presence/absence, counts)
    Unit("count/cell", "per_cell", "count", 1.0, COUNT_CELL),
    Unit("km2/cell", "per_cell", "km2", 1.0, AREA_CELL),
    # cost
    Unit("cost/cell", "per_cell", "cost", 1.0, COST_CELL),
    Unit("cost/km2", "density", "cost", 1.0, COST_AREA),
    Unit("cost/ha", "density", "cost", _PER_HA, COST_AREA),
    # intensive values: kept as area-weighted means (value x km2 as the amount)
    Unit("index", "intensive", "index*km2", 1.0, INDEX),
    Unit("species", "intensive", "species*km2", 1.0, SPECIES),
    # coverage fractions and categories
    Unit("fraction", "fraction", "km2", 1.0, FRACTION),
    Unit("class", "class", "km2", 1.0, CLASS),
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
    raise UnitError(f"{where}unknown unit {name!r}; use one of: {', '.join(UNITS)}"
                    f"{did_you_mean(str(name), [*UNITS, *_ALIASES])}")


def role_units(role: str) -> tuple[str, ...]:
    """The units a role accepts: those of its dimensions (`optimizer.inputs.roles.ROLES`).

    Examples
    --------
    >>> role_units("carbon_stock")
    ('MgC/ha', 'kgC/m2', 'gC/m2', 'MgC/cell')
    """
    dims = ROLES[role].dimensions
    return tuple(u.name for u in _UNITS if u.dimension in dims)


def check_role_unit(role: str, unit: Unit, *, layer: str) -> None:
    """Raise `UnitError` if ``unit`` has a dimension that ``role`` does not accept.

    Parameters
    ----------
    role : str
        The layer's role (a key of `optimizer.inputs.roles.ROLES`).
    unit : Unit
        The declared unit.
    layer : str
        Name of the layer, for the message.

    Raises
    ------
    UnitError
        Naming the layer, the unit and its dimension, the role, the dimensions the role
        accepts and its units.
    """
    accepted = ROLES[role].dimensions
    if unit.dimension not in accepted:
        raise UnitError(
            f"layer {layer!r}: unit {unit.name!r} ({unit.dimension}) does not fit role {role!r}, "
            f"which takes {' or '.join(accepted)}; use one of: {', '.join(role_units(role))}"
        )


def unit_for_role(unit: Unit, role: str) -> Unit:
    """The unit with its total expressed in the role's stated unit.

    Stocks and uptake total in MgC (MgC/yr), emissions in tCO2/yr (the role's
    `optimizer.inputs.roles.Role.mass`): a carbon mass declared for emissions (e.g.
    ``MgC/ha/yr``) is converted to CO2, a CO2 mass declared for uptake (e.g.
    ``tCO2/ha/yr``) back to carbon. Roles without a mass keep the unit.

    Parameters
    ----------
    unit : Unit
        The layer's declared unit.
    role : str
        The layer's role.

    Returns
    -------
    Unit
        ``unit`` itself, or a copy with ``total_unit`` and ``factor`` converted.
    """
    known = ROLES.get(role)
    want = known.mass if known is not None else None
    base, sep, rest = unit.total_unit.partition("/")
    if want is None or base == want or base not in MASSES:
        return unit
    factor = unit.factor * CO2_PER_C if want == "tCO2" else unit.factor / CO2_PER_C
    return replace(unit, total_unit=f"{want}{sep}{rest}", factor=factor)


def format_total(value: float, unit: str) -> str:
    """Format a total with an SI prefix readable in a table (e.g. ``2.53 PgC``).

    Only mass units of carbon (``MgC``, ``MgC/yr``) and CO2 (``tCO2/yr``) get prefixes.
    """
    base, _, rest = unit.partition("/")
    if base not in MASSES:
        return f"{value:,.4g} {unit}"
    names = MASSES[base]
    step = 0
    scaled = float(value)
    while abs(scaled) >= 1000 and step < len(names) - 1:
        scaled /= 1000
        step += 1
    suffix = f"/{rest}" if rest else ""
    return f"{scaled:,.4g} {names[step]}{suffix}"
