"""Cost budgets: an upper bound on what the plan's new land costs, from a cost layer.

`CostMethods` holds `add_cost_budget`, which `optimizer.model.problem.Problem` inherits
(one concern, one file, as `optimizer.model.locks`). A cost budget is a row of the
compiled model beside the area budgets (`optimizer.model.compile`):

    sum_j c_j (1 - p_j) x_j <= max_cost

over every selected unit, locked-in units included: ``c_j`` is the unit's value in the
cost layer's column (the layer's unit aggregated to a total per unit: ``cost/km2`` times
the unit's km², or ``cost/cell`` summed), ``p_j`` its protected share. A unit costs what
its unprotected part costs, the part a plan adds, as the area budget counts
``a_j (1 - p_j)``; the remainders of existing protected units, locked in, spend it as
any new land does. `cost_budget_coefficients` is the one measure: the compiled row,
`optimizer.plan.results.budget_use`, the plan's summary and the parks' refill use it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import InputDataError, did_you_mean
from optimizer.model.parts import CostBudget, finite_number

if TYPE_CHECKING:
    from optimizer.grid.planning_units import PlanningUnits
    from optimizer.model.problem import Problem

__all__ = ["CostMethods", "check_cost_budgets", "cost_budget_coefficients", "cost_column"]

#: The layer role a cost budget reads (`optimizer.inputs.roles.ROLES`).
COST_ROLE = "cost"


def cost_column(pu: PlanningUnits, name: str, *, argument: str = "cost") -> str:
    """The column of the cost layer ``name`` (a column or a layer of role ``cost``);
    messages call it ``argument`` (the caller's keyword).

    Raises
    ------
    InputDataError
        ``name`` is no layer of the grid, a layer of another role, or a cost layer of
        several columns (years or bands): one line naming the cost layers.
    """
    feats = pu.features
    role = feats["role"].astype(str) if "role" in feats else None
    costs = [] if role is None else list(feats.index[role == COST_ROLE])
    known = f"cost layers: {costs}" if costs else ("the grid has no cost layer; add one with "
                                                   'role = "cost" to its manifest')
    if name in feats.index:
        if role is None or role[name] != COST_ROLE:
            got = "no role" if role is None else f"role {role[name]!r}"
            raise InputDataError(f"{argument} {name!r} is a layer of {got}, not a cost layer; name a "
                                 f"layer with role \"cost\" ({known})")
        return str(name)
    layers = feats["layer"].astype(str) if "layer" in feats else None
    hits = [] if layers is None else list(feats.index[layers == name])
    if hits:
        own = [c for c in hits if role is not None and role[c] == COST_ROLE]
        if not own:
            got = "no role" if role is None else f"role {role[hits[0]]!r}"
            raise InputDataError(f"{argument} {name!r} is a layer of {got}, not a cost layer; "
                                 f"name a layer with role \"cost\" ({known})")
        if len(own) > 1:
            raise InputDataError(f"{argument} {name!r} is a cost layer of {len(own)} columns {own}; name one "
                                 "of them")
        return str(own[0])
    layer_names = [] if layers is None else sorted(set(layers[feats.index.isin(costs)]))
    raise InputDataError(f"{argument} {name!r} is not a layer of this grid; {known}"
                         f"{did_you_mean(str(name), sorted({*costs, *layer_names}))}")


def cost_budget_coefficients(problem: Problem, budget: CostBudget) -> np.ndarray:
    """What each unit spends of a cost budget: ``c_j (1 - p_j)``, in the budget's unit.

    Units a plan cannot select (locked out, or wholly protected) spend 0 whatever the
    layer holds there; a unit that could be selected with no value (nodata, NaN) or a
    negative one is an error.

    Raises
    ------
    InputDataError
        The layer has no value, an infinite or a negative value in a unit a plan could
        select (one line: how many, which ``pu_id`` and the fix).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.model.parts import CostBudget
    >>> pu = tiny_grid()
    >>> pu.units["price"] = [9.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> cost_budget_coefficients(problem(pu), CostBudget("price", 6.0)).tolist()  # cell 1: protected
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """
    raw = problem.pu.units[budget.cost].to_numpy(dtype=np.float64)
    unprotected = 1.0 - problem.protected_fraction
    _, locked_out = problem.locked_masks()
    selectable = ~locked_out & (unprotected > 0)
    bad = selectable & ~np.isfinite(raw)
    where = f"cost layer {budget.cost!r}"
    if bad.any():
        ids = problem.pu.units["pu_id"].to_numpy()[bad][:5].tolist()
        raise InputDataError(f"{where} has no value (nodata or NaN) in {int(bad.sum())} unit(s) "
                             f"a plan could select, e.g. pu_id {ids}; fill the layer there (0 "
                             "for free land) or lock those units out")
    negative = selectable & (raw < 0)
    if negative.any():
        ids = problem.pu.units["pu_id"].to_numpy()[negative][:5].tolist()
        raise InputDataError(f"{where} has {int(negative.sum())} negative value(s) in units a "
                             f"plan could select, e.g. pu_id {ids}; costs must be >= 0")
    return np.where(selectable, raw, 0.0) * unprotected


def check_cost_budgets(problem: Problem) -> None:
    """Raise when a cost budget cannot be met before any solve: a layer without a value
    (or negative) where a plan could select, or locked-in units already costing more
    than the budget."""
    if not problem.cost_budgets:
        return
    locked_in, _ = problem.locked_masks()
    for b in problem.cost_budgets:
        spent = float(cost_budget_coefficients(problem, b)[locked_in].sum())
        if spent > b.max_cost * (1 + 1e-9) + 1e-9:
            raise InputDataError(f"the locked-in units already cost {spent:,.6g} {b.unit} "
                                 f"(cost layer {b.cost!r}), more than the cost budget of "
                                 f"{b.max_cost:,.6g}; raise the cost budget or unlock units")


class CostMethods:
    """The cost-budget method of `optimizer.model.problem.Problem` (a mixin: no state of
    its own; ``self`` is the problem, typed ``Any`` because a mixin cannot name its
    subclass)."""

    def add_cost_budget(self: Any, max_cost: float, *, cost: str) -> Problem:
        """Bound what the plan's new land costs: ``sum_j c_j (1 - p_j) x_j <= max_cost``.

        ``c_j`` is unit j's value in the cost layer's column and ``1 - p_j`` its
        unprotected share: a unit costs what its unprotected part costs. Every selected
        unit spends the budget, locked-in units included (as they spend the area budget):
        what they cost is taken off the budget before the free units are chosen. It
        bounds max utility and min shortfall (with or without an area budget beside it:
        a cost budget alone is their budget) and any other kind as a constraint. Checked
        at `optimizer.model.compile.compile` (`check_cost_budgets`): a unit a plan could
        select without a value is an error, as are locked-in units costing more than
        ``max_cost``.

        Parameters
        ----------
        max_cost : float
            The most the plan may cost (``>= 0``), in the cost layer's unit (its total per
            unit: ``cost/km2`` and ``cost/ha`` layers aggregate to ``cost``).
        cost : str
            A column or layer with the ``cost`` role (`optimizer.inputs.roles`).

        Returns
        -------
        Problem
            With this budget replacing any earlier one on the same column.

        Examples
        --------
        >>> import pandas as pd
        >>> from optimizer import planning_units_from_arrays, problem, solve
        >>> info = pd.DataFrame({"role": ["carbon_stock", "cost"], "unit": ["MgC/cell", "cost/cell"]},
        ...                     index=["carbon", "price"])
        >>> pu = planning_units_from_arrays(
        ...     [1, 2, 3, 4], {"carbon": [5.0, 4.0, 3.0, 1.0], "price": [4.0, 1.0, 2.0, 1.0]},
        ...     feature_info=info)
        >>> p = (problem(pu).add_cost_budget(3, cost="price")  # at most 3 of the price layer
        ...      .add_max_utility_objective(weights={"carbon": 1}))
        >>> p.cost_budgets[0].max_cost, p.cost_budgets[0].unit_text
        (3.0, 'cost (layer in cost/cell)')
        >>> sol = solve(p, "highs")
        >>> pu.units["pu_id"][sol.selected].tolist()  # cell 1 (5 MgC) costs 4: over the budget
        [2, 3]
        """
        max_cost = finite_number(max_cost, "max_cost")
        if max_cost < 0:
            raise InputDataError(f"cost budget must be >= 0; got max_cost={max_cost}")
        if not isinstance(cost, str):
            raise InputDataError(f"add_cost_budget takes cost= as the name of a cost layer; got "
                                 f"{type(cost).__name__}")
        column = cost_column(self.pu, cost)
        feats = self.pu.features
        unit = str(feats.loc[column, "unit"]) if "unit" in feats else "cost"
        source = str(feats.loc[column, "source_unit"]) if "source_unit" in feats else ""
        budget = CostBudget(column, max_cost, unit or "cost",
                            "" if source in ("", "nan", "<NA>") else source)
        kept = tuple(b for b in self.cost_budgets if b.cost != column)
        return dataclasses.replace(self, cost_budgets=(*kept, budget), _cache=self._cache)
