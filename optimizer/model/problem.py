"""An immutable optimisation problem over planning units, built step by step.

A `Problem` holds planning units and the parts of a conservation-planning model
(`optimizer.model.parts`): an objective, targets, area and cost budgets, locks and penalties.
Each ``add_*`` method returns a new problem and leaves the original untouched, so one
base problem serves a whole sweep (the grammar of prioritizr); each has an example.

Conventions (see DESIGN.md, "The optimisation model"):

* Decision ``x_j = 1`` adds the *unprotected part* of unit j. A unit's value,
  area and feature amounts are counted for that part, ``(1 - p_j)`` times the
  whole, where ``p_j`` is ``pa_fraction``; what is already protected counts as
  held before any decision.
* Units whose ``pa_fraction`` is at least the protection threshold (default 0.5)
  are locked in. Locked units are constants in the model, not variables.
* Area budgets count new area ``(1 - p_j) a_j`` of every selected unit, locked-in
  units included; cost budgets count ``(1 - p_j) c_j`` of a cost layer the same way
  (`optimizer.model.costs`).

Nothing here imports a solver; `optimizer.model.compile.compile` turns a problem into
arrays and `optimizer.plan.results.solve` solves it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.errors import InputDataError, did_you_mean
from optimizer.grid.planning_units import PlanningUnits
from optimizer.inputs.roles import feature_roles, groups
from optimizer.model.connectivity import ConnectivityMethods, ConnectivityPenalty, NeighbourConstraint
from optimizer.model.contiguity import ContiguityMethods, ParkConstraint
from optimizer.model.costs import CostMethods
from optimizer.model.locks import LockMethods
from optimizer.model.objectives import objective_kind
from optimizer.model.objectives.weights import check_years, resolve_weights
from optimizer.model.parts import (
    DEFAULT_PA_THRESHOLD,
    AreaBudget,
    BoundaryPenalty,
    CostBudget,
    LinearPenalty,
    Lock,
    Objective,
    Target,
    finite_number,
    readonly,
)
from optimizer.model.printing import problem_summary, problem_text

__all__ = ["DEFAULT_PA_THRESHOLD", "AreaBudget", "BoundaryPenalty", "CostBudget",
           "LinearPenalty", "Lock", "Objective", "Problem", "Target", "problem"]


# ============================================================== problem

@dataclass(frozen=True, eq=False)
class Problem(LockMethods, CostMethods, ConnectivityMethods, ContiguityMethods):
    """A conservation-planning problem; build it with `problem` and the ``add_*`` methods.

    Attributes
    ----------
    pu : PlanningUnits
        The planning units (never modified).
    cost : numpy.ndarray
        Cost of adding each unit (min set objective). Default: unprotected area.
    cost_label : str
        Where the cost came from (for messages).
    objective : Objective or None
    targets : tuple of Target
    budgets : tuple of AreaBudget
    cost_budgets : tuple of CostBudget
        Bounds on what the plan's new land costs (`add_cost_budget`).
    locks : tuple of Lock
    boundary_penalty : BoundaryPenalty or None
    linear_penalties : tuple of LinearPenalty
    connectivity_penalty : ConnectivityPenalty or None
        (`add_connectivity_penalty`, `optimizer.model.connectivity`)
    neighbour_constraint : NeighbourConstraint or None
        (`add_neighbours_constraints`)
    park_constraint : ParkConstraint or None
        Contiguity and minimum park area (`add_contiguity_constraints`,
        `add_min_park_constraints`), enforced by `optimizer.plan.solving.solve`.
    pa_threshold : float or None
        Units with ``pa_fraction`` at least this are locked in (None: none are).
    """

    pu: PlanningUnits
    cost: np.ndarray
    cost_label: str = "unprotected area (km²)"
    objective: Objective | None = None
    targets: tuple[Target, ...] = ()
    budgets: tuple[AreaBudget, ...] = ()
    cost_budgets: tuple[CostBudget, ...] = ()
    locks: tuple[Lock, ...] = ()
    boundary_penalty: BoundaryPenalty | None = None
    linear_penalties: tuple[LinearPenalty, ...] = ()
    connectivity_penalty: ConnectivityPenalty | None = None
    neighbour_constraint: NeighbourConstraint | None = None
    park_constraint: ParkConstraint | None = None
    pa_threshold: float | None = DEFAULT_PA_THRESHOLD
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ---------------------------------------------------------- basic facts
    @property
    def n_units(self) -> int:
        """Number of planning units."""
        return len(self.pu.units)

    @property
    def area_km2(self) -> np.ndarray:
        """Whole area of each unit (km²)."""
        return self._column_cached("area_km2")

    @property
    def protected_fraction(self) -> np.ndarray:
        """Share of each unit already protected, clipped to [0, 1]."""
        if "pa" not in self._cache:
            p = np.nan_to_num(self._column_cached("pa_fraction"), nan=0.0)
            self._cache["pa"] = readonly(np.clip(p, 0.0, 1.0))
        return self._cache["pa"]

    @property
    def unprotected_km2(self) -> np.ndarray:
        """New area each unit would add: ``(1 - p_j) a_j``."""
        return (1.0 - self.protected_fraction) * self.area_km2

    @property
    def study_area_km2(self) -> float:
        """Total area of all units (km²)."""
        return float(self.area_km2.sum())

    def _column_cached(self, column: str) -> np.ndarray:
        if column not in self._cache:
            self._cache[column] = readonly(self.pu.units[column].to_numpy(dtype=np.float64, copy=True))
        return self._cache[column]

    def feature_amounts(self, features: Sequence[str]) -> np.ndarray:
        """Amounts ``r_kj`` (features x units) of whole units, NaN read as 0."""
        if not features:
            return np.zeros((0, self.n_units))
        return np.nan_to_num(self.pu.amounts(list(features)), nan=0.0)

    def feature_amount(self, feature: str) -> np.ndarray:
        """Amounts ``r_kj`` of one feature over whole units, NaN read as 0.

        One column at a time: callers that loop over features (compile, diagnosis)
        never hold the dense features x units matrix of `feature_amounts`.
        """
        return np.nan_to_num(self.pu.units[feature].to_numpy(dtype=np.float64), nan=0.0)

    def feature_totals(self, features: Sequence[str]) -> np.ndarray:
        """Total ``R_k`` of each feature over all units."""
        return self.feature_amounts(features).sum(axis=1)

    def resolve_features(self, key: str, *, argument: str = "feature") -> list[str]:
        """Feature columns named by ``key``: a column, a role, a layer or a group.

        Groups: ``carbon`` (carbon stock and uptake), ``biodiversity``, ``ecosystem``
        (land cover), any role (e.g. ``emissions``) and any layer name (e.g. ``npp``).
        """
        feats = self.pu.features
        features, named = feature_roles(), groups()
        usable = feats[feats["role"].isin(features)]
        if key in usable.index:
            return [key]
        if key in feats.index:
            raise InputDataError(f"{argument} {key!r} has role {feats.loc[key, 'role']!r}, "
                                 f"which is not a feature; use one of the roles {features}")
        roles = named.get(key, (key,) if key in features else ())
        cols = list(usable.index[usable["role"].isin(roles)]) if roles else []
        if not cols:
            cols = list(usable.index[usable["layer"] == key])
        if not cols:
            known = sorted(set(named) | set(features) | set(usable["layer"]))
            raise InputDataError(f"{argument} {key!r} is not a feature, role, layer or group of "
                                 f"this grid; features: {list(usable.index)[:8]}..., groups: "
                                 f"{known}{did_you_mean(str(key), [*known, *usable.index])}")
        return cols

    def locked_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (locked_in, locked_out) after resolving every lock.

        Existing protection (``pa_fraction >= pa_threshold``) is locked in
        and wins over lock-outs; a unit locked both in and out by the user is an
        error.
        """
        n = self.n_units
        user_in = np.zeros(n, dtype=bool)
        locked_out = np.zeros(n, dtype=bool)
        for lock in self.locks:
            if lock.value == 1:
                user_in |= lock.mask
            else:
                locked_out |= lock.mask
        clash = user_in & locked_out
        if clash.any():
            ids = self.pu.units["pu_id"].to_numpy()[clash][:5].tolist()
            ins = [lk.label for lk in self.locks if lk.value == 1 and (lk.mask & clash).any()]
            outs = [lk.label for lk in self.locks if lk.value == 0 and (lk.mask & clash).any()]
            raise InputDataError(f"{int(clash.sum())} unit(s) are both locked in ({ins}) and "
                                 f"locked out ({outs}), e.g. pu_id {ids}; remove one of the locks")
        existing = self.existing_protection_mask()
        locked_in = user_in | existing
        return locked_in, locked_out & ~existing

    def existing_protection_mask(self) -> np.ndarray:
        """Units locked in because they are already protected."""
        if self.pa_threshold is None:
            return np.zeros(self.n_units, dtype=bool)
        return self.protected_fraction >= self.pa_threshold

    def total_budget(self) -> AreaBudget | None:
        """The budget on total new area, if any."""
        for b in self.budgets:
            if b.scope == "total":
                return b
        return None

    def target_features(self) -> list[str]:
        """Features with a target, in order."""
        return [t.feature for t in self.targets]

    def utility_weights(self) -> dict[str, float]:
        """Per-feature weights of each unit's value, when the objective's weights weigh it
        (max utility; `optimizer.model.objectives.ObjectiveKind.weights`); empty otherwise."""
        if self.objective is None or objective_kind(self.objective.kind).weights != "utility":
            return {}
        return dict(self.objective.weights)

    def unit_values(self) -> np.ndarray:
        """Max-utility value ``v_j = sum_k w_k r_kj (1 - p_j) / R_k`` of each unit."""
        weights = self.utility_weights()
        if not weights:
            return np.zeros(self.n_units)
        value = np.zeros(self.n_units)
        for f, w in weights.items():  # one feature at a time: no features x units matrix
            r = self.feature_amount(f)
            total = float(r.sum())
            if total != 0:
                value += (w / total) * r
        value *= 1.0 - self.protected_fraction
        return value

    # ---------------------------------------------------------- objectives
    def add_objective(
        self,
        kind: str,
        budget_km2: float | None = None,
        *,
        budget_share: float | None = None,
        weights: Mapping[str, float] | None = None,
        years: str | int | None = None,
        budget_remainders: str = "count",
    ) -> Problem:
        """Set the objective to a kind of `optimizer.model.objectives.OBJECTIVES` (``"max_utility"``,
        ``"min_set"``, ``"min_shortfall"`` ...); the ``add_<kind>_objective`` methods call this.

        ``budget_km2`` or ``budget_share`` is the total area budget (required by the kinds
        that need one); ``weights`` (and ``years``, for utility weights) go to the kinds
        that take them (see `add_max_utility_objective` and `add_min_shortfall_objective`).
        ``budget_remainders`` says whether the remainders of existing protected units spend
        that budget (see `add_area_budget`).

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_objective("min_shortfall", 1, weights={"sp_a": 2})
        >>> p.objective, p.total_budget().max_km2
        (Objective(kind='min_shortfall', weights=(('sp_a', 2.0),), years=None), 1.0)
        """
        spec = objective_kind(kind)
        if spec.weights is None and weights is not None:
            raise InputDataError(f"the {kind} objective takes no weights (it {spec.aim}); leave "
                                 "weights= out")
        if spec.weights != "utility" and years is not None:
            raise InputDataError(f"the {kind} objective weighs no years (it {spec.aim}); leave "
                                 "years= out")
        resolved, quantities = (resolve_weights(spec.weights, self, weights, years)
                                if spec.weights else ({}, ()))
        p = self
        if spec.needs_budget or budget_km2 is not None or budget_share is not None:
            p = self._with_total_budget(budget_km2, budget_share, spec.method,
                                        remainders=budget_remainders)
        objective = Objective(kind, tuple(resolved.items()),
                              check_years(years) if spec.weights == "utility" else None,
                              quantities)
        return dataclasses.replace(p, objective=objective, _cache=self._cache)

    def add_max_utility_objective(
        self,
        budget_km2: float | None = None,
        *,
        budget_share: float | None = None,
        weights: Mapping[str, float] | None = None,
        years: str | int | None = None,
        budget_remainders: str = "count",
    ) -> Problem:
        """Maximise the combined value of added units under a total area budget.

        Parameters
        ----------
        budget_km2 : float, optional
            Budget on total new area (km²).
        budget_share : float, optional
            Budget as a share (0-1) of the study area; give this or ``budget_km2``.
        weights : mapping, optional
            Weight per quantity (`optimizer.model.objectives.weights`): a group splits
            equally over its quantities (``carbon``: stock and uptake, each its layers'
            mass summed), a role or layer is one, a feature named alone overrides;
            negative weights penalise. Default ``{"carbon": 1, "biodiversity": 1}``.
        years : {"mean", "latest"} or int, optional
            How a layer of several years counts: every year (default), the latest, or one.
        budget_remainders : {"count", "free"}
            Whether the unprotected remainders of existing protected units, locked in,
            spend the budget (``"count"``) or are added on top of it (``"free"``); see
            `add_area_budget`.

        Returns
        -------
        Problem

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> sol = solve(problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1}))
        >>> pu.units["pu_id"][sol.selected].tolist(), round(sol.objective, 4)  # (80 + 60) / 290 MgC
        ([1, 4, 5], 0.4828)
        """
        return self.add_objective("max_utility", budget_km2, budget_share=budget_share,
                                  weights=weights, years=years,
                                  budget_remainders=budget_remainders)

    def add_min_set_objective(self) -> Problem:
        """Minimise the cost of added units (plus penalties) subject to the targets.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> sol = solve(problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2}))
        >>> pu.units["pu_id"][sol.selected].tolist(), sol.objective  # cells 2 and 4: 2 km² of new land
        ([1, 2, 4], 2.0)
        """
        return self.add_objective("min_set")

    def add_min_shortfall_objective(
        self,
        budget_km2: float | None = None,
        *,
        budget_share: float | None = None,
        weights: Mapping[str, float] | None = None,
        budget_remainders: str = "count",
    ) -> Problem:
        """Minimise the weighted relative shortfall of targets under a total area budget.

        The objective is ``sum_k w_k s_k / t_k`` where ``s_k`` is how much feature
        k falls short of its target ``t_k``.

        Parameters
        ----------
        budget_km2, budget_share : float
            Budget on total new area, as km² or as a share of the study area.
        weights : mapping, optional
            Weight of each target's shortfall by feature or group (default 1).
        budget_remainders : {"count", "free"}
            See `add_max_utility_objective`.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_min_shortfall_objective(budget_km2=1)
        ...      .add_absolute_targets({"sp_a": 3, "sp_b": 1}))
        >>> sol = solve(p)  # one new km²: sp_b met; sp_a stays 2 short of 3 (two optima)
        >>> int(sol.selected.sum()), round(sol.objective, 4), sol.is_optimal
        (2, 0.6667, True)
        """
        return self.add_objective("min_shortfall", budget_km2, budget_share=budget_share,
                                  weights=weights,
                                  budget_remainders=budget_remainders)

    def _with_total_budget(self, km2: float | None, share: float | None, where: str, *,
                           remainders: str = "count") -> Problem:
        if km2 is None and share is None:
            budget = self.total_budget()
            if (budget is None or not np.isfinite(budget.max_km2)) and self.cost_budgets:
                return self  # a cost budget alone bounds the plan (add_cost_budget)
            if budget is None or not np.isfinite(budget.max_km2):
                raise InputDataError(f"{where} needs a budget: pass budget_km2= (km² of new "
                                     "area) or budget_share= (share of the study area), or "
                                     "call add_cost_budget() first")
            if remainders != budget.remainders:
                return self.add_area_budget(max_km2=budget.max_km2, min_km2=budget.min_km2,
                                            remainders=remainders)
            return self
        # Checked here so the message names the caller's keyword, not add_area_budget's.
        if share is not None and not 0.0 <= finite_number(share, "budget_share") <= 1.0:
            raise InputDataError(f"{where}: budget_share must be a share in [0, 1]; got {share}; "
                                 "write 10% as 0.1")
        if km2 is not None and not finite_number(km2, "budget_km2") >= 0:
            raise InputDataError(f"{where}: budget_km2 must be >= 0; got {km2}")
        return self.add_area_budget(max_km2=km2, max_share=share, remainders=remainders)

    # ---------------------------------------------------------- targets
    def add_relative_targets(self, targets: float | Mapping[str, float]) -> Problem:
        """Targets as shares (0-1) of each feature's total, existing protection included.

        Parameters
        ----------
        targets : float or mapping
            One share for every feature with a weight or target so far (or, when
            there are none, every biodiversity feature), or a mapping from
            feature/group to share (a group's share applies to each member).

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_min_set_objective().add_relative_targets(0.5)
        >>> [(t.feature, t.amount) for t in p.targets]  # half of each species' range, in km²
        [('sp_a', 2.0), ('sp_b', 1.0)]
        """
        items = self._target_items(targets, "add_relative_targets")
        new: dict[str, Target] = {t.feature: t for t in self.targets}
        for key, share in items:
            share = finite_number(share, f"relative target for {key!r}")
            if not 0.0 <= share <= 1.0:
                raise InputDataError(f"relative target for {key!r} must be a share in [0, 1]; "
                                     f"got {share}; write 30% as 0.3")
            for f in self.resolve_features(key, argument="targets key"):
                total = float(self.feature_totals([f])[0])
                new[f] = Target(f, share * total, share)
        return dataclasses.replace(self, targets=tuple(new.values()), _cache=self._cache)

    def add_absolute_targets(self, targets: Mapping[str, float]) -> Problem:
        """Targets as amounts (the feature's unit) to hold, existing protection included.

        Parameters
        ----------
        targets : mapping
            Feature (or group: the amount applies to each member) to amount.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_min_set_objective().add_absolute_targets({"carbon": 150})
        >>> [(t.feature, t.amount, t.relative) for t in p.targets]
        [('carbon', 150.0, None)]
        """
        if not isinstance(targets, Mapping):
            raise InputDataError(f"add_absolute_targets takes a mapping of feature to amount; "
                                 f"got {type(targets).__name__}")
        new: dict[str, Target] = {t.feature: t for t in self.targets}
        for key, amount in targets.items():
            amount = finite_number(amount, f"absolute target for {key!r}")
            if amount < 0:
                raise InputDataError(f"absolute target for {key!r} must be >= 0; got {amount}")
            for f in self.resolve_features(key, argument="targets key"):
                new[f] = Target(f, amount, None)
        return dataclasses.replace(self, targets=tuple(new.values()), _cache=self._cache)

    def _target_items(self, targets: float | Mapping[str, float], where: str
                      ) -> list[tuple[str, float]]:
        if isinstance(targets, Mapping):
            return list(targets.items())
        if isinstance(targets, int | float | np.floating | np.integer):
            feats = [t.feature for t in self.targets] or [
                f for f, w in self.utility_weights().items() if w > 0]
            if not feats:
                feats = self.resolve_features("biodiversity", argument=where)
            return [(f, float(targets)) for f in feats]
        raise InputDataError(f"{where} takes a share or a mapping of feature to share; got "
                             f"{type(targets).__name__}")

    # ---------------------------------------------------------- budgets
    def add_area_budget(
        self,
        *,
        max_km2: float | None = None,
        max_share: float | None = None,
        min_km2: float | None = None,
        region: str | None = None,
        land_cover: str | None = None,
        remainders: str = "count",
    ) -> Problem:
        """Bound the new area added, in total, in one region or of one ecosystem.

        Parameters
        ----------
        max_km2, min_km2 : float, optional
            Upper and lower bounds on new area (km²).
        max_share : float, optional
            Upper bound as a share of the study area (total), the region's area
            (region) or the ecosystem's total area (ecosystem).
        region : str, optional
            Restrict to units whose ``region`` is this name.
        land_cover : str, optional
            A land-cover column (e.g. ``lc_forest_km2``): bound the new area of
            that ecosystem, ``sum_j lc_j (1 - p_j) x_j``.
        remainders : {"count", "free"}
            ``"count"`` (default): the unprotected remainders of existing protected units
            (locked in at ``pa_threshold``) spend this budget like any new area;
            ``"free"``: they are added on top of it (new area = budget + remainders).
            Units the user locks in always count.

        Returns
        -------
        Problem
            With this budget replacing any earlier one of the same scope and name.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
        ...      .add_area_budget(region="south", max_km2=1))  # at most 1 new km² in the south
        >>> sol = solve(p)
        >>> pu.units["pu_id"][sol.selected].tolist()
        [1, 2, 3, 4]
        """
        if region is not None and land_cover is not None:
            raise InputDataError("add_area_budget takes region= or land_cover=, not both; add "
                                 "two budgets")
        if max_km2 is not None and max_share is not None:
            raise InputDataError(f"add_area_budget takes max_km2= or max_share=, not both; got "
                                 f"{max_km2} and {max_share}")
        if region is not None:
            scope, name = "region", str(region)
            known = set(self.pu.units["region"].dropna().astype(str))
            if name not in known:
                raise InputDataError(f"region {name!r} is not a region of this grid; regions: "
                                     f"{sorted(known)[:10]}{did_you_mean(name, known)}")
            whole = float(self.area_km2[self.pu.units["region"].astype(str).to_numpy() == name]
                          .sum())
        elif land_cover is not None:
            scope, name = "ecosystem", str(land_cover)
            feats = self.pu.features
            if name not in feats.index or feats.loc[name, "role"] != "land_cover":
                lc = list(feats.index[feats["role"] == "land_cover"])
                raise InputDataError(f"land_cover {name!r} is not a land-cover column of this "
                                     f"grid; land-cover columns: {lc}{did_you_mean(name, lc)}")
            whole = float(self.feature_totals([name])[0])
        else:
            scope, name, whole = "total", "total", self.study_area_km2
        if max_km2 is None and max_share is None and min_km2 is None:
            raise InputDataError("add_area_budget needs max_km2=, max_share= or min_km2=")
        budget = AreaBudget.from_bounds(scope, name, whole, max_km2=max_km2, max_share=max_share,
                                        min_km2=min_km2, remainders=remainders)
        kept = tuple(b for b in self.budgets if (b.scope, b.name) != (scope, name))
        return dataclasses.replace(self, budgets=(*kept, budget), _cache=self._cache)

    # ---------------------------------------------------------- penalties
    def add_boundary_penalty(self, penalty: float, edge_factor: float = 1.0, *,
                             compactness: float | None = None,
                             break_even: float | None = None) -> Problem:
        """Penalise the boundary length of the selection (compactness).

        Parameters
        ----------
        penalty : float
            Objective units per km of boundary (``>= 0``).
        edge_factor : float
            Weight of outer edges (exposed perimeter) in [0, 1]; 1 counts them fully.
        compactness, break_even : float, optional
            Recorded only: the scale-free compactness and the break-even penalty that
            gave ``penalty`` (`optimizer.plan.calibration.add_compactness` sets them).

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_min_set_objective().add_absolute_targets({"sp_b": 2})
        ...      .add_boundary_penalty(1.0))
        >>> sol = solve(p)  # cost 2 km² + 1 per km of the plan's 8 km edge
        >>> pu.units["pu_id"][sol.selected].tolist(), sol.objective
        ([1, 2, 4], 10.0)
        """
        penalty = finite_number(penalty, "penalty")
        edge_factor = finite_number(edge_factor, "edge_factor")
        if penalty < 0:
            raise InputDataError(f"boundary penalty must be >= 0; got {penalty}")
        if not 0.0 <= edge_factor <= 1.0:
            raise InputDataError(f"edge_factor must be in [0, 1]; got {edge_factor}")
        bp = BoundaryPenalty(penalty, edge_factor, compactness, break_even)
        return dataclasses.replace(self, boundary_penalty=bp, _cache=self._cache)

    def add_linear_penalty(self, column: str | Any, penalty: float, *,
                           label: str | None = None) -> Problem:
        """Penalise ``penalty * column_j`` for every selected unit j.

        Parameters
        ----------
        column : str or array
            A column of the units (e.g. an emissions column) or one value per unit.
        penalty : float
            Multiplier, in objective units per unit of the column.

        Examples
        --------
        >>> from optimizer import problem, solve
        >>> from optimizer.datasets import tiny_grid
        >>> pu = tiny_grid()
        >>> p = (problem(pu).add_max_utility_objective(budget_km2=2, weights={"carbon": 1})
        ...      .add_linear_penalty("sp_a", 0.5))
        >>> sol = solve(p)
        >>> pu.units["pu_id"][sol.selected].tolist(), round(sol.objective, 4)
        ([1, 2, 4], -0.0862)
        """
        penalty = finite_number(penalty, "penalty")
        if isinstance(column, str):
            amount, label = self._unit_column(column, "column"), label or column
        else:
            amount = self._unit_array(column, "column")
            label = label or "array"
        amount = readonly(np.nan_to_num(amount, nan=0.0))
        return dataclasses.replace(
            self, linear_penalties=(*self.linear_penalties, LinearPenalty(label, penalty, amount)),
            _cache=self._cache)

    # ---------------------------------------------------------- helpers
    def _unit_column(self, column: str, argument: str) -> np.ndarray:
        if column not in self.pu.units.columns or column == "geometry":
            cols = [c for c in self.pu.units.columns if c != "geometry"]
            raise InputDataError(f"{argument} {column!r} is not a column of the units; columns: "
                                 f"{cols[:12]}...{did_you_mean(str(column), cols)}")
        try:
            return self.pu.units[column].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InputDataError(f"{argument} {column!r} is not numeric; give a numeric "
                                 "column") from None

    def _unit_array(self, values: Any, argument: str) -> np.ndarray:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputDataError(f"{argument} must be a column name or numbers, one per unit; "
                                 f"got {type(values).__name__}") from None
        if arr.shape != (self.n_units,):
            raise InputDataError(f"{argument} has shape {arr.shape}; expected ({self.n_units},), "
                                 "one value per unit in row order")
        return arr

    def __repr__(self) -> str:
        return problem_text(self)

    def describe(self) -> str:
        """A one-paragraph summary of the problem's parts (``print(p)`` gives the tree)."""

        return problem_summary(self)


def problem(pu: PlanningUnits, *, cost: str | Any | None = None) -> Problem:
    """Start a problem over planning units.

    Parameters
    ----------
    pu : PlanningUnits
        The planning units (from `optimizer.grid.build.build_grid` or `read_grid`).
    cost : str or array, optional
        Cost of adding each unit: a column of ``pu.units`` or one value per unit
        (taken as given). Default: the unit's unprotected area, ``(1 - p_j) a_j``.

    Returns
    -------
    Problem
        With no objective yet; existing protection at or above 50% is locked in.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid())
    >>> p.cost.tolist()  # unprotected area (km²); cell 1 is protected already
    [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    if not isinstance(pu, PlanningUnits):
        raise InputDataError(f"problem() takes PlanningUnits (from build_grid or read_grid); got "
                             f"{type(pu).__name__}")
    if len(pu.units) == 0:
        raise InputDataError("problem(): the grid has no planning units")
    for col in ("pu_id", "area_km2", "pa_fraction"):
        if col not in pu.units.columns:
            raise InputDataError(f"problem(): the units lack the column {col!r}; rebuild the grid "
                                 "with build_grid")
    base = Problem(pu, np.zeros(len(pu.units)))
    if cost is None:
        values, label = base.unprotected_km2, "unprotected area (km²)"
    elif isinstance(cost, str):
        values, label = base._unit_column(cost, "cost"), f"column {cost!r}"
    else:
        values, label = base._unit_array(cost, "cost"), "array"
    if not np.isfinite(values).all() or (values < 0).any():
        bad = int((~np.isfinite(values) | (values < 0)).sum())
        raise InputDataError(f"cost ({label}) has {bad} missing, infinite or negative value(s); "
                             "costs must be finite and >= 0")
    return dataclasses.replace(base, cost=readonly(np.array(values, dtype=np.float64)),
                               cost_label=label, _cache=base._cache)

