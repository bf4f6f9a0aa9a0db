"""The registry of layer roles: what each role of a layer means, in one place.

A layer's role (``carbon_stock``, ``biodiversity``, ``cost`` ...) says what its values
are. `ROLES` holds one `Role` per name, and every fact about a role is read from it:

* the dimensions of the units it accepts (`optimizer.inputs.units.check_role_unit`);
* the mass its totals count (MgC for carbon, tCO2 for emissions;
  `optimizer.inputs.units.unit_for_role`), which also makes it part of the carbon
  accounting of a plan's summary;
* whether its columns are features of a problem (weights, targets, representation), and
  the group (``carbon``, ``biodiversity``, ``ecosystem``) that weights and targets name;
* whether negative values are refused, and whether its rasters hold class codes.

The registry's order is the order roles are listed: in messages, in ``print(pu)`` and
``print(problem)``. Adding a role is one entry here; the functions below read the
registry when called, so an entry added at run time counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Role:
    """One layer role and its facts.

    Attributes
    ----------
    name : str
        The role as written in a manifest (``role = "carbon_stock"``).
    label : str
        The role in words (``"carbon stock"``).
    dimensions : tuple of str
        Dimensions (`optimizer.inputs.dimensions`) of the units it accepts; a unit of
        another dimension is almost always a mistake (a stock declared per year), so a
        layer declaring one is refused.
    feature : bool
        Its columns are features of a problem (weights, targets, representation).
    group : str or None
        The group of features that weights and targets name (``carbon`` holds stock and
        uptake); None when it has none.
    mass : str or None
        The mass its totals count (``"MgC"``, ``"tCO2"``; a key of
        `optimizer.inputs.units.MASSES`): a layer's carbon is converted to CO2, or back,
        to it, and the plan's summary reports what a plan adds of it.
    nonnegative : bool
        Negative values are refused (stocks, costs, species).
    """

    name: str
    label: str
    dimensions: tuple[str, ...]
    feature: bool = False
    group: str | None = None
    mass: str | None = None
    nonnegative: bool = False

    @property
    def classes(self) -> bool:
        """Whether its rasters may hold class codes (land cover, regions, masks)."""
        return CLASS in self.dimensions


#: Every layer role, by name, in the order they are listed.
ROLES: dict[str, Role] = {r.name: r for r in (
    Role("carbon_stock", "carbon stock", (MASS_AREA, MASS_CELL), feature=True, group="carbon",
         mass="MgC", nonnegative=True),
    Role("carbon_uptake", "carbon uptake", (MASS_AREA_TIME, MASS_CELL_TIME), feature=True,
         group="carbon", mass="MgC"),
    Role("emissions", "emissions", (MASS_CELL_TIME, MASS_AREA_TIME), feature=True, mass="tCO2"),
    Role("biodiversity", "biodiversity", (COUNT_CELL, AREA_CELL, INDEX, SPECIES, FRACTION),
         feature=True, group="biodiversity", nonnegative=True),
    Role("cost", "cost", (COST_AREA, COST_CELL), nonnegative=True),
    Role("land_cover", "land cover", (CLASS,), feature=True, group="ecosystem"),
    Role("protected", "protected areas", (FRACTION, CLASS)),
    Role("region", "regions", (CLASS,)),
    Role("mask", "mask", (FRACTION, CLASS)),
)}


def feature_roles() -> tuple[str, ...]:
    """Roles whose columns are features of a problem, in order (cost layers are not).

    Examples
    --------
    >>> feature_roles()
    ('carbon_stock', 'carbon_uptake', 'emissions', 'biodiversity', 'land_cover')
    """
    return tuple(r.name for r in ROLES.values() if r.feature)


def groups() -> dict[str, tuple[str, ...]]:
    """The groups of features that weights and targets name, and the roles of each.

    Examples
    --------
    >>> groups()["carbon"], list(groups())
    (('carbon_stock', 'carbon_uptake'), ['carbon', 'biodiversity', 'ecosystem'])
    """
    out: dict[str, tuple[str, ...]] = {}
    for r in ROLES.values():
        if r.feature and r.group is not None:
            out[r.group] = (*out.get(r.group, ()), r.name)
    return out


def mass_roles() -> tuple[str, ...]:
    """Roles whose totals count a mass (carbon or CO2): a plan's carbon accounting.

    Examples
    --------
    >>> mass_roles()
    ('carbon_stock', 'carbon_uptake', 'emissions')
    """
    return tuple(r.name for r in ROLES.values() if r.mass is not None)

