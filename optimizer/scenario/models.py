"""The tables of a scenario file, as pydantic models (``extra="forbid"``, strict types).

Each model is one TOML table; each field's ``description`` is the reference that
``carbonpark scenario schema`` prints, so the reference cannot drift from the code.
Checks that span several keys (exactly one kind of budget, of grid, of lock ...) are
``model_validator``s whose message names the keys and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from optimizer.errors import InputDataError
from optimizer.model.objectives import OBJECTIVES, listed
from optimizer.model.objectives.weights import WEIGHT_RANGE, check_weight

SCHEMA_VERSION = 1

if TYPE_CHECKING:
    ObjectiveName = str
else:  # the kinds registered at import, as the reference lists them (`ObjectiveTable.kind`)
    ObjectiveName = Literal[tuple(OBJECTIVES)]

#: Solver backends a scenario may name (``pulp:<name>`` for any pulp solver).
BACKEND_PATTERN = r"^(highs|cut|auto|pulp(:[A-Za-z0-9_]+)?)$"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _one_of(table: object, keys: tuple[str, ...], *, required: bool = True) -> None:
    given = [k for k in keys if getattr(table, k) is not None]
    names = ", ".join(keys[:-1]) + f" or {keys[-1]}"
    if len(given) > 1:
        raise ValueError(f"give one of {names}, not both; got {' and '.join(given)}")
    if required and not given:
        raise ValueError(f"give one of {names}")


class GridTable(_Table):
    """``[grid]``: the planning units."""

    path: str | None = Field(default=None, description="a grid directory written by `carbonpark grid` "
                             "(relative to the scenario file)")
    manifest: str | None = Field(default=None, description="a grid manifest (TOML, see data/demo.toml) to "
                                 "build the grid from, relative to the scenario file")
    cell_km: float | None = Field(default=None, gt=0, description="cell size (km) of the grid built from "
                                  "`manifest` (default: the manifest's own)")
    cache: str = Field(default=".carbonpark-cache", description="folder (relative to the scenario file) "
                       "where a grid built from `manifest` is kept, by content hash")

    @model_validator(mode="after")
    def _check(self) -> GridTable:
        _one_of(self, ("path", "manifest"))
        if self.cell_km is not None and self.manifest is None:
            raise ValueError("cell_km applies to a grid built from `manifest`; a grid directory "
                             "has its own cells: remove cell_km")
        return self


class ObjectiveTable(_Table):
    """``[objective]``: what the plan optimises."""

    kind: ObjectiveName = Field(default="max_utility", description="; ".join(
        f"{k.name}: {k.summary}" for k in OBJECTIVES.values()))

    years: str | int = Field(default="mean", description="how a layer of several years "
                             "(npp_2000 ... npp_2020) counts in the weights: 'mean' (every year: "
                             "the share of the summed mass), 'latest' (its latest year only) or "
                             "a year (e.g. 2020); kinds with utility weights (max_utility)")

    @field_validator("kind", mode="plain")
    @classmethod
    def _registered(cls, value: Any) -> str:
        """A kind of `optimizer.model.objectives.OBJECTIVES` (read when validating)."""
        if isinstance(value, str) and value in OBJECTIVES:
            return value
        raise PydanticCustomError("literal_error", "Input should be {expected}",
                                  {"expected": listed([repr(k) for k in OBJECTIVES])})

    @field_validator("years", mode="plain")
    @classmethod
    def _years(cls, value: Any) -> str | int:
        """``'mean'``, ``'latest'`` or a year."""
        if (isinstance(value, str) and value in ("mean", "latest")) or (
                isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise PydanticCustomError("literal_error", "Input should be {expected}",
                                  {"expected": "'mean', 'latest' or a year such as 2020"})

    @model_validator(mode="after")
    def _check(self) -> ObjectiveTable:
        if self.years != "mean" and OBJECTIVES[self.kind].weights != "utility":
            raise ValueError(f"years applies to the weights of max_utility, not {self.kind}; "
                             "remove years")
        return self


class BudgetTable(_Table):
    """``[budget]``: the total new area, its cost, or both; give at most one of ``km2``,
    ``share``, ``total_protection`` (and optionally ``remainders``), and ``cost`` with
    ``cost_layer``, at least one of the two."""

    km2: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                              description="new protected area (km²)")
    share: float | None = Field(default=None, ge=0, le=1, description="new protected area as a share "
                                "(0-1) of the land")
    total_protection: float | None = Field(
        default=None, ge=0, le=1, description="bring total protection to this share (0-1) of the land "
        "(30×30: 0.3): new km² = max(0, share × land area − Σ pa_fraction × area_km2)")
    remainders: Literal["count", "free"] = Field(
        default="count", description="the unprotected remainders of existing protected units "
        "(locked in at [locks] pa_threshold): \"count\" spends the budget on them like any new "
        "area; \"free\" adds them on top of it (new km² = budget + remainders); either way they "
        "are reported as their own line (summary.json new_km2_in_existing_units)")

    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                               description="the most the plan's new land may cost, in the cost "
                               "layer's unit: its value x (1 - pa_fraction) summed over the "
                               "selected units, locked-in units included; with cost_layer")
    cost_layer: str | None = Field(default=None, description="the layer (role \"cost\") the cost "
                                   "budget reads, e.g. \"land_price\"")

    @model_validator(mode="after")
    def _check(self) -> BudgetTable:
        if (self.cost is None) != (self.cost_layer is None):
            raise ValueError("give cost and cost_layer together: the most the plan may cost, "
                             "and the layer (role \"cost\") it is read from")
        _one_of(self, ("km2", "share", "total_protection"), required=False)
        if self.cost is None and self.km2 is None and self.share is None \
                and self.total_protection is None:
            raise ValueError("give one of km2, share or total_protection, or cost with cost_layer")
        return self


class TargetsTable(_Table):
    """``[targets]``: representation targets (existing protection counts as held)."""

    relative: float | dict[str, float] | None = Field(
        default=None, description="a share (0-1) of each feature's total: one share for every weighted "
        "feature, or a table of feature/group = share")
    absolute: dict[str, float] | None = Field(
        default=None, description="a table of feature/group = amount in the feature's unit")


class AreaBudgetTable(_Table):
    """``[[area_budgets]]``: bounds on the new area of one region or one ecosystem."""

    region: str | None = Field(default=None, description="a region name (the grid's `region` column)")
    land_cover: str | None = Field(default=None, description="a land-cover class (`forest`) or column "
                                   "(`lc_forest_km2`)")
    max_km2: float | None = Field(default=None, ge=0, description="at most this much new area (km²)")
    max_share: float | None = Field(default=None, ge=0, le=1, description="at most this share (0-1) of "
                                    "the region's area or the ecosystem's total area")
    min_km2: float | None = Field(default=None, ge=0, description="at least this much new area (km²)")

    @model_validator(mode="after")
    def _check(self) -> AreaBudgetTable:
        _one_of(self, ("region", "land_cover"))
        _one_of(self, ("max_km2", "max_share"), required=False)
        if self.max_km2 is None and self.max_share is None and self.min_km2 is None:
            raise ValueError("give max_km2, max_share or min_km2")
        return self


class UnitsLock(_Table):
    """``[[locks.locked_in]]`` / ``[[locks.locked_out]]``: units by column, by id or by a
    polygon file laid over the grid."""

    column: str | None = Field(default=None, description="a 0/1 column of the units (a mask)")
    ids: list[int] | list[str] | None = Field(default=None, description="a list of pu_id values")
    file: str | None = Field(default=None, description="a polygon file (GeoPackage, Shapefile, "
                             "GeoJSON; relative to the scenario file, in any CRS: reprojected "
                             "to the grid's): a unit is locked when at least min_share of its "
                             "area lies inside (e.g. a mining concession, a road corridor); the "
                             "shares are kept in grid.cache by the file's content")
    layer: str | None = Field(default=None, description="with file: the layer of a file that "
                              "holds several")
    min_share: float | None = Field(default=None, gt=0, le=1, description="with file: lock a "
                                    "unit when at least this share (0-1] of its area is inside "
                                    "the polygons (default 0.5: most of the unit)")
    label: str | None = Field(default=None, description="a name for messages and the problem tree")

    @model_validator(mode="after")
    def _check(self) -> UnitsLock:
        _one_of(self, ("column", "ids", "file"))
        for key in ("layer", "min_share"):
            if getattr(self, key) is not None and self.file is None:
                raise ValueError(f"{key} applies to a polygon file: add file = \"...\" or "
                                 f"remove {key}")
        return self


class LandCoverLock(_Table):
    """``[[locks.land_cover_out]]``: lock out units mostly of one land cover (red lines)."""

    land_cover: str = Field(description="a land-cover class (`cropland`) or column")
    unit_share: float = Field(default=0.5, ge=0, le=1, description="lock out units where the class "
                              "covers more than this share of the unit")


class AboveLock(_Table):
    """``[[locks.above]]``: lock out units whose column exceeds a threshold (e.g. emissions)."""

    column: str = Field(description="a numeric column of the units (e.g. `co2_2020`)")
    threshold: float = Field(description="lock out units above this value")
    per_km2: bool = Field(default=False, description="compare the column divided by unit area")


class LocksTable(_Table):
    """``[locks]``: units forced in or kept out."""

    existing: bool = Field(default=True, description="lock in units already protected at or above "
                           "`pa_threshold` (partial protection always counts as held)")
    pa_threshold: float = Field(default=0.5, gt=0, le=1, description="protected share (0-1] from which a "
                                "unit counts as part of the existing network")
    locked_in: list[UnitsLock] = Field(default=[], description="units forced into the plan")
    locked_out: list[UnitsLock] = Field(default=[], description="units kept out of the plan")
    land_cover_out: list[LandCoverLock] = Field(default=[], description="land-cover lock-outs (e.g. the "
                                                "cropland red line)")
    above: list[AboveLock] = Field(default=[], description="threshold lock-outs (e.g. emissions)")


class BoundaryTable(_Table):
    """``[penalties.boundary]``: compactness."""

    compactness: float | None = Field(
        default=None, ge=0, le=1, description="scale-free compactness, the default way to ask "
        "for it: 0 = none, 0.5 = break-even (the penalty at which an average worthwhile free "
        "unit standing alone is worth exactly its boundary: new land goes where it joins "
        "other land), 1 = eleven times break-even (large blocks); the penalty is "
        "(100^c - 1)/9 × break-even, so it scales with the objective "
        "(optimizer.plan.calibration.add_compactness), as the app's compactness slider")
    penalty: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                  description="for experts: the absolute "
                                  "penalty, objective units per km of plan boundary (its "
                                  "meaning changes with the weights); or give `compactness`, "
                                  "`share` or `calibrate`")
    share: float | None = Field(default=None, gt=0, lt=1, description="the penalty at which the boundary "
                                "term is this share (0-1) of the objective at the optimum, found "
                                "by solving (optimizer.plan.calibration.penalty_for_share)")
    calibrate: Literal["cohon"] | None = Field(default=None, description="'cohon': the knee of the "
                                               "boundary/objective trade-off, as prioritizr's "
                                               "calibrate_cohon_penalty")
    edge_factor: float = Field(default=1.0, ge=0, le=1, description="weight (0-1) of the study area's "
                               "outer edge")

    @field_validator("penalty")
    @classmethod
    def _penalty_in_range(cls, penalty: float | None) -> float | None:
        # The objective is at most the weights' sum (each at most WEIGHT_RANGE's top), so a
        # larger penalty per km outweighs any plan; 1e30 reached HiGHS as "infinite" costs.
        high = WEIGHT_RANGE[1]
        if penalty is not None and penalty > high:
            raise ValueError(f"penalty = {penalty:g} is out of range: an absolute penalty above {high:g} "
                             "objective units per km outweighs any objective; give "
                             "`compactness` (0-1, scale-free) instead")
        return penalty

    @model_validator(mode="after")
    def _check(self) -> BoundaryTable:
        _one_of(self, ("compactness", "penalty", "share", "calibrate"))
        return self


class LinearTable(_Table):
    """``[[penalties.linear]]``: a per-unit penalty."""

    column: str = Field(description="a numeric column of the units (e.g. `co2_2020`)")
    penalty: float = Field(description="objective units per unit of the column, per selected "
                           "unit")


class ConnectivityTable(_Table):
    """``[penalties.connectivity]``: favour plans that keep connectivity between units
    (prioritizr's connectivity penalties, `optimizer.model.connectivity`)."""

    penalty: float = Field(allow_inf_nan=False, description="objective units per unit of "
                           "connectivity kept (symmetric) or lost (asymmetric); negative values "
                           "favour plans with little connectivity (HiGHS only)")
    file: str | None = Field(default=None, description="a CSV with columns id1, id2, boundary "
                             "(Marxan's format, pu_id values; relative to the scenario file)")
    conductance: str | None = Field(default=None, description="a numeric column of the units "
                                    "(e.g. a raster's mean per unit): connectivity between units "
                                    "sharing an edge = edge length x mean conductance "
                                    "(prioritizr's connectivity_matrix)")
    symmetric: bool = Field(default=True, description="false for directed connectivity in "
                            "`file` (Marxan's asymmetric connectivity)")

    @model_validator(mode="after")
    def _check(self) -> ConnectivityTable:
        _one_of(self, ("file", "conductance"))
        if self.conductance is not None and not self.symmetric:
            raise ValueError("connectivity from `conductance` is symmetric: remove "
                             "symmetric = false or give a `file`")
        return self


class PenaltiesTable(_Table):
    """``[penalties]``: boundary, linear and connectivity penalties."""

    boundary: BoundaryTable | None = Field(default=None, description="boundary-length penalty")
    linear: list[LinearTable] = Field(default=[], description="linear penalties on unit columns")
    connectivity: ConnectivityTable | None = Field(default=None, description="connectivity "
                                                   "penalty")


class ConstraintsTable(_Table):
    """``[constraints]``: spatial constraints on the plan (HiGHS)."""

    neighbours: int = Field(default=0, ge=0, description="each selected unit has at least this "
                            "many selected neighbours (prioritizr's add_neighbors_constraints; "
                            "existing protection counts and is held to it)")
    contiguous: bool = Field(default=False, description="every selected unit, existing "
                             "protection included, in one connected park (row generation)")
    min_park_km2: float = Field(default=0.0, ge=0, allow_inf_nan=False, description="every park "
                                "of added units holds at least this new area, km² (row "
                                "generation; unlike [parks] min_km2, which drops small parks "
                                "after the solve)")


class SolverTable(_Table):
    """``[solver]``: how to solve."""

    backend: str = Field(default="auto", pattern=BACKEND_PATTERN,
                         description="auto (default: chosen by the model's structure; the cut "
                         "solver and HiGHS at once on two cores) | highs | cut | pulp:<name>")
    gap: float = Field(default=1e-4, ge=0, lt=1, description="relative optimality gap to stop at")
    time_limit: float | None = Field(default=None, gt=0, description="wall-clock limit (seconds)")
    threads: int | None = Field(default=None, ge=1, description="solver threads (highs, pulp)")
    nested_path: bool = Field(default=False, description="cut, one budget: read the plan from the nested "
                              "path of plans over every budget (as the app does): deterministic "
                              "and fast, with the path's proven gap; no MIP polish")

    @model_validator(mode="after")
    def _check(self) -> SolverTable:
        if self.nested_path and self.backend != "cut":
            raise ValueError(f"nested_path needs backend = \"cut\"; got {self.backend!r}: "
                             "set backend = \"cut\" or remove nested_path")
        return self


class ParksTable(_Table):
    """``[parks]``: how a plan becomes candidate parks (`optimizer.plan.parks.candidate_parks`)."""

    connectivity: Literal["rook", "queen"] = Field(default="rook", description="units join a park by a "
                                                   "shared edge (rook) or also a corner (queen)")
    min_km2: float = Field(default=0.0, ge=0, description="parks under this new area (km²) are dropped")
    refill: bool = Field(default=False, description="refill the budget a dropped park frees with the best "
                         "free units next to kept parks")


class ClosureTable(_Table):
    """``[closure]``: how the gap closure measures the plan against the network's gaps."""

    ecosystems: Literal["natural", "all"] | list[str] = Field(
        default="natural", description="the land-cover classes the ecosystem shortfall counts: "
        "'natural' (the classes the grid's manifest marks natural; every class when it marks "
        "none), 'all', or a list of classes (e.g. [\"forest\", \"wetland\"])")
    target: float = Field(default=0.3, ge=0, le=1, description="target protected share (0-1) of "
                          "each counted ecosystem and each species")

    @field_validator("ecosystems")
    @classmethod
    def _some(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("name at least one land-cover class, or write 'natural' or 'all'")
        return v


class ZoneTable(_Table):
    """``[[zones]]``: a management zone (core protection, general control ...); every selected
    unit goes to one zone (`optimizer.model.zones`)."""

    name: str = Field(min_length=1, description="the zone's name (e.g. \"core\"), unique")
    contribution: dict[str, float] = Field(
        default={}, description="feature/group = the share (0-1) of a unit's unprotected "
        "amount a unit in this zone holds (e.g. carbon = 0.8 in a general control zone); "
        "without default_contribution, every weighted or targeted feature must be named")
    default_contribution: float | None = Field(
        default=None, ge=0, le=1, description="the share of features contribution does not "
        "name (default: 1 when contribution is empty)")
    cost_factor: float = Field(default=1.0, ge=0, allow_inf_nan=False,
                               description="multiplies a unit's cost in this zone (min_set)")
    min_km2: float = Field(default=0.0, ge=0, allow_inf_nan=False,
                           description="at least this much new area (km²) in the zone")
    max_km2: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                  description="at most this much new area (km²) in the zone")
    boundary_penalty: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="price per km of the zone's own "
        "perimeter (boundaries with other zones and with unselected land); "
        "[penalties.boundary] prices the perimeter of all zones together")
    targets: dict[str, float] = Field(
        default={}, description="feature/group = the share (0-1) of its total that the "
        "zone's added units must hold (contributed amounts)")
    locked_in: list[UnitsLock] = Field(default=[], description="units that must be in this zone "
                                       "(column, ids or a polygon file)")
    locked_out: list[UnitsLock] = Field(default=[], description="units that may not be in this "
                                        "zone")

    @field_validator("contribution", "targets")
    @classmethod
    def _shares(cls, table: dict[str, float]) -> dict[str, float]:
        for key, v in table.items():
            if not 0 <= v <= 1:
                raise ValueError(f"{key} = {v:g} is not a share in [0, 1]")
        return table

    @model_validator(mode="after")
    def _check(self) -> ZoneTable:
        if self.max_km2 is not None and self.min_km2 > self.max_km2:
            raise ValueError(f"min_km2 {self.min_km2:g} is above max_km2 {self.max_km2:g}")
        return self


class ScenarioModel(_Table):
    """A scenario file: the top-level keys and tables."""

    schema_version: Literal[1] = Field(description="version of the scenario format; 1")
    name: str = Field(default="", description="a short name (reports, sweeps)")
    description: str = Field(default="", description="the question the scenario answers")
    grid: GridTable = Field(description="the planning units")
    objective: ObjectiveTable = Field(default=ObjectiveTable(), description="the objective")
    budget: BudgetTable | None = Field(default=None, description="the total new area and its cost")
    weights: dict[str, float] = Field(
        default={}, description="weight per quantity: a group (carbon, biodiversity, ecosystem) "
        "splits equally over its quantities (carbon: stock and uptake, each the mass of its "
        "layers summed; each species or land-cover class), a role (carbon_stock, emissions) or "
        "a layer (npp) is one quantity whose features weigh by mass, a column on its own "
        "overrides; default carbon = 1, biodiversity = 1; negative weights penalise")
    targets: TargetsTable | None = Field(default=None, description="representation targets")
    area_budgets: list[AreaBudgetTable] = Field(default=[], description="per-region and per-ecosystem "
                                                "budgets")
    locks: LocksTable = Field(default=LocksTable(), description="lock-ins and lock-outs")
    penalties: PenaltiesTable = Field(default=PenaltiesTable(), description="penalties")
    solver: SolverTable = Field(default=SolverTable(), description="solver options")
    constraints: ConstraintsTable = Field(default=ConstraintsTable(), description="spatial "
                                          "constraints: neighbours, contiguity, park size")
    parks: ParksTable = Field(default=ParksTable(), description="candidate parks from the plan")
    closure: ClosureTable = Field(default=ClosureTable(), description="the gap closure: which "
                                  "ecosystems count, and the target")
    zones: list[ZoneTable] = Field(default=[], description="management zones (two or more): "
                                   "each selected unit goes to one")

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, weights: dict[str, float]) -> dict[str, float]:
        for key, w in weights.items():  # before any work: 1e300 made HiGHS "find no plan"
            try:
                check_weight(w, f"[weights] {key}")
            except InputDataError as exc:
                raise ValueError(str(exc)) from None
        return weights

    @model_validator(mode="after")
    def _check(self) -> ScenarioModel:
        kind = self.objective.kind
        spec = OBJECTIVES[kind]
        if spec.needs_budget and self.budget is None:
            raise ValueError(f"the {kind} objective needs a [budget] table (km2, share, "
                             "total_protection, or cost with cost_layer)")
        has_targets = self.targets is not None and (self.targets.relative is not None
                                                    or self.targets.absolute)
        if spec.needs_targets and not has_targets:
            raise ValueError(f"the {kind} objective needs a [targets] table (relative or "
                             "absolute)")
        if self.zones:
            names = [z.name for z in self.zones]
            if len(names) < 2:
                raise ValueError("give two or more [[zones]] (one zone is the plan without "
                                 "zones: remove [[zones]])")
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"[[zones]] names must be unique; {dup} appear more than once")
            if self.solver.nested_path:
                raise ValueError("solver.nested_path reads one selection per budget, not zones; "
                                 "remove nested_path or [[zones]]")
        if spec.weights is None and self.weights:
            takers = listed([k.name for k in OBJECTIVES.values() if k.weights], "and")
            raise ValueError(f"[weights] apply to {takers}, not {kind} (it {spec.aim}); remove "
                             "[weights] or change objective.kind")
        return self


#: The table name of each model, for messages and the reference.
TABLES: dict[type[BaseModel], str] = {
    ScenarioModel: "", GridTable: "grid", ObjectiveTable: "objective", BudgetTable: "budget",
    TargetsTable: "targets", AreaBudgetTable: "area_budgets", LocksTable: "locks",
    UnitsLock: "locks.locked_in", LandCoverLock: "locks.land_cover_out", AboveLock: "locks.above",
    PenaltiesTable: "penalties", BoundaryTable: "penalties.boundary",
    LinearTable: "penalties.linear", ConnectivityTable: "penalties.connectivity",
    ConstraintsTable: "constraints", SolverTable: "solver", ParksTable: "parks",
    ClosureTable: "closure", ZoneTable: "zones",
}
