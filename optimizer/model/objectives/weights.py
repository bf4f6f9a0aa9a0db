"""How an objective's weights resolve to one weight per feature.

A kind's weights (`optimizer.model.objectives.kind.ObjectiveKind.weights`) weigh either
features in each unit's value (``utility``) or each target's shortfall (``targets``).
Keys are features, roles, layers or groups (`Problem.resolve_features`).

Utility weights weigh **quantities** (`WEIGHTS_RULE`), so a planner's weight does not
depend on how many layers, bands or years a quantity has:

* a *quantity* is what a planner weighs. Each mass role (``carbon_stock``,
  ``carbon_uptake``, ``emissions``: roles with a ``mass`` in
  `optimizer.inputs.roles.ROLES`) is one quantity, the mass of all its layers' features
  summed (biomass + soil carbon = the carbon stock, in MgC). Each feature of any other
  role (each biodiversity feature, each land-cover class) is a quantity of its own;
* a group key (``carbon``) splits its weight equally over its quantities present in the
  grid (``carbon = 1``: stock 0.5, uptake 0.5, whatever the number of layers or years).
  A role key (``emissions``) or a layer key (``npp``) of a mass role is one quantity;
  one of another role splits equally over its features. Keys add up; a feature column
  named on its own overrides what the others gave it;
* within a mass quantity Q of weight ``W_Q``, each feature's effective weight is
  proportional to its mass, ``w_f = W_Q T_f / T_Q`` (T: totals over units, after the
  years rule), so the term ``sum_f w_f (held_f / T_f)`` equals ``W_Q`` times the share of
  the quantity's mass protected: carbon is treated as carbon;
* years: a layer of a mass role with several features (years or bands, e.g.
  ``npp_2000`` ... ``npp_2020``) counts by ``years``: ``"mean"`` (default: every year, its
  mass the mean over its years, so the quantity's share is that of the summed mass),
  ``"latest"`` (its latest year only; the others weigh 0) or a year (that year only).

Target weights (min shortfall) keep their meaning: a group's weight goes to each of its
features' shortfall.

Examples
--------
Two units: biomass 20 MgC and soil carbon 60 MgC in all, NPP 4 MgC/yr in each of two
bands of the layer ``npp``.

>>> import pandas as pd
>>> from optimizer import planning_units_from_arrays, problem
>>> info = pd.DataFrame({"role": ["carbon_stock"] * 2 + ["carbon_uptake"] * 2,
...                      "unit": ["MgC/cell"] * 2 + ["MgC/cell/yr"] * 2,
...                      "layer": ["biomass", "soc", "npp", "npp"]},
...                     index=["biomass", "soc", "npp_2000", "npp_2020"])
>>> pu = planning_units_from_arrays([1, 2], {"biomass": [10.0, 10], "soc": [20.0, 40],
...     "npp_2000": [1.0, 3], "npp_2020": [2.0, 2]}, feature_info=info)
>>> p = problem(pu).add_max_utility_objective(1, weights={"carbon": 1})
>>> for q in p.objective.quantities:
...     print(q.name, q.weight, dict(q.features))
carbon_stock 0.5 {'biomass': 0.125, 'soc': 0.375}
carbon_uptake 0.5 {'npp_2000': 0.25, 'npp_2020': 0.25}
>>> p = problem(pu).add_max_utility_objective(1, weights={"carbon": 1}, years="latest")
>>> p.utility_weights()
{'biomass': 0.125, 'soc': 0.375, 'npp_2000': 0.0, 'npp_2020': 0.5}
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from optimizer.errors import InputDataError
from optimizer.inputs.roles import ROLES, groups
from optimizer.model.objectives.kind import WeightsMode
from optimizer.model.parts import WeightQuantity, finite_number

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.model.problem import Problem

#: The rule of utility weights in one sentence (`summary.json`'s ``weights_rule``).
WEIGHTS_RULE = ("A group's weight is split equally over its quantities (each mass role, e.g. "
                "carbon stock, is one quantity: the mass of its layers summed; each other "
                "feature is its own), and within a mass quantity each feature weighs in "
                "proportion to its mass, so a quantity's term is its weight times the share "
                "of its mass protected.")
#: The ``years`` values besides a year.
YEARS_CHOICES = ("mean", "latest")
#: The default ``years``: every year counts.
DEFAULT_YEARS = "mean"
#: The size a non-zero weight may have. Weights are relative (only their ratios matter),
#: and a solver cannot weigh terms further apart than about twelve orders of magnitude
#: (HiGHS works to 1e-9 of the largest cost and reads a cost of 1e20 as infinite): a
#: weight of 1e300 made the objective infinite and HiGHS "found no plan".
WEIGHT_RANGE = (1e-6, 1e6)


def check_weight(value: object, argument: str) -> float:
    """``value`` as a weight: a finite number, 0 or of a size within `WEIGHT_RANGE`.

    Examples
    --------
    >>> check_weight(2, "weights['carbon']")
    2.0
    >>> check_weight(1e300, "weights['carbon']")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optimizer.errors.InputDataError: weights['carbon'] = 1e+300 is out of range: a weight is 0 ...
    """
    w = finite_number(value, argument)
    low, high = WEIGHT_RANGE
    if w != 0 and not low <= abs(w) <= high:
        raise InputDataError(f"{argument} = {w:g} is out of range: a weight is 0 or between "
                             f"{low:g} and {high:g} in size (only the ratios of weights "
                             "matter); scale the weights into that range, e.g. carbon = 1000, "
                             "biodiversity = 1")
    return w


def check_years(years: object, argument: str = "years") -> str | int:
    """``years`` checked: ``"mean"``, ``"latest"`` or a year (an int); None gives ``"mean"``.

    Raises
    ------
    InputDataError
        Any other value; one line naming ``argument`` and the values allowed.

    Examples
    --------
    >>> check_years(None), check_years("latest"), check_years(2020)
    ('mean', 'latest', 2020)
    """
    if years is None:
        return DEFAULT_YEARS
    if isinstance(years, str) and years in YEARS_CHOICES:
        return years
    if isinstance(years, numbers.Integral) and not isinstance(years, bool):
        return int(years)
    raise InputDataError(f"{argument} must be 'mean', 'latest' or a year such as 2020; got "
                         f"{years!r}")


def _year_order(rows: pd.DataFrame) -> list[str]:
    """Features of one layer, earliest first: by year, else in band order."""
    if "year" not in rows.columns or rows["year"].isna().any():
        return list(rows.index)
    return list(rows["year"].astype("int64").sort_values(kind="stable").index)


def _layer_masses(problem: Problem, layer: str, feats: list[str], years: str | int,
                  argument: str) -> dict[str, float]:
    """Mass ``T_f`` of each feature of one layer after the years rule."""
    totals = dict(zip(feats, problem.feature_totals(feats).tolist(), strict=True))
    if len(feats) == 1:
        return totals
    rows = problem.pu.features.loc[feats]
    ordered = _year_order(rows)
    if years == "mean":
        return {f: totals[f] / len(feats) for f in feats}
    if years == "latest":
        return {f: (totals[f] if f == ordered[-1] else 0.0) for f in feats}
    hit: list[str] = []
    have: list[int] = []
    if "year" in rows.columns:
        year = rows["year"]
        missing = year.isna()
        hit = [f for f in feats if not missing[f] and int(year[f]) == years]
        have = sorted({int(y) for y in year.dropna()})
    if not hit:
        choices = (f" or one of its years: {', '.join(str(y) for y in have)}" if have
                   else " (its bands have no years)")
        raise InputDataError(f"{argument} = {years}: layer {layer!r} has no year {years}; use "
                             f"'mean', 'latest'{choices}")
    return {f: (totals[f] / len(hit) if f in hit else 0.0) for f in feats}


def _mass_quantity(problem: Problem, name: str, weight: float, feats: list[str],
                   years: str | int, argument: str) -> WeightQuantity:
    """One mass quantity: its features weigh in proportion to their mass."""
    layers = problem.pu.features.loc[feats, "layer"].astype(str)
    mass: dict[str, float] = {}
    several = False
    for layer in dict.fromkeys(layers):
        members = [f for f in feats if layers[f] == layer]
        several |= len(members) > 1
        mass.update(_layer_masses(problem, layer, members, years, argument))
    total = float(sum(mass.values()))
    if total != 0 and np.isfinite(total):
        w = {f: weight * mass[f] / total + 0.0 for f in feats}  # + 0.0: no -0.0
    else:  # no mass at all: the quantity changes no plan; its weight split evenly
        kept = [f for f in feats if mass[f] != 0] or feats
        w = {f: (weight / len(kept) if f in kept else 0.0) for f in feats}
    return WeightQuantity(name, weight, tuple(w.items()), years if several else None)


def _quantities(problem: Problem, key: str, weight: float, cols: list[str], years: str | int,
                argument: str) -> list[WeightQuantity]:
    """The quantities a key names, its weight split equally over them."""
    roles = problem.pu.features.loc[cols, "role"].astype(str)
    named: list[tuple[str, list[str], bool]] = []  # (quantity, features, mass)
    single_role = roles.nunique() == 1
    for role in dict.fromkeys(roles):
        members = [c for c in cols if roles[c] == role]
        if ROLES.get(role) is not None and ROLES[role].mass is not None:
            named.append((key if single_role and key not in groups() else role, members, True))
        else:
            named += [(c, [c], False) for c in members]
    share = weight / len(named)
    return [_mass_quantity(problem, q, share, members, years, argument) if is_mass
            else WeightQuantity(q, share, ((q, share),))
            for q, members, is_mass in named]


def effective_weights(quantities: tuple[WeightQuantity, ...] | list[WeightQuantity]
                      ) -> dict[str, float]:
    """One weight per feature: the quantities' weights summed, an override replacing them."""
    out: dict[str, float] = {}
    overrides: dict[str, float] = {}
    for q in quantities:
        for f, w in q.features:
            if q.override:
                overrides[f] = w
            out[f] = out.get(f, 0.0) + w
    return {f: overrides.get(f, w) for f, w in out.items()}


def utility_quantities(problem: Problem, weights: Mapping[str, float] | None,
                       years: object = None) -> tuple[WeightQuantity, ...]:
    """The quantities ``weights`` weigh in each unit's value (see the module docstring).

    Default ``{"carbon": 1, "biodiversity": 1}``, skipping the groups the grid lacks.

    Raises
    ------
    InputDataError
        Not a non-empty mapping, an unknown key, a weight that is not a finite number,
        every weight 0, or a bad ``years`` (`check_years`).
    """
    years = check_years(years)
    explicit = weights is not None
    if weights is None:
        weights = {"carbon": 1.0, "biodiversity": 1.0}
    if not isinstance(weights, Mapping) or not weights:
        raise InputDataError(f"weights must be a non-empty mapping of feature or group to "
                             f"weight; got {weights!r}")
    quantities: list[WeightQuantity] = []
    for key, w in weights.items():
        w = check_weight(w, f"weights[{key!r}]")
        try:
            cols = problem.resolve_features(key, argument="weights key")
        except InputDataError:
            if explicit or key not in groups():
                raise
            continue
        if len(cols) == 1 and cols[0] == key:
            quantities.append(WeightQuantity(key, w, ((key, w),), override=True))
        else:
            quantities += _quantities(problem, key, w, cols, years, "years")
    named = {q.name for q in quantities if q.override}
    # A feature named on its own leaves the quantities that held it.
    out = tuple(q if q.override else WeightQuantity(
        q.name, q.weight, tuple((f, w) for f, w in q.features if f not in named), q.years)
        for q in quantities)
    if not any(effective_weights(out).values()):
        raise InputDataError("weights give every feature a weight of 0 (or the grid has no "
                             f"carbon or biodiversity features); got {dict(weights)!r}; "
                             "name the features to weigh")
    return out


def utility_weights(problem: Problem, weights: Mapping[str, float] | None,
                    years: object = None) -> dict[str, float]:
    """Effective weight of each feature in each unit's value (see the module docstring)."""
    return effective_weights(utility_quantities(problem, weights, years))


def target_weights(problem: Problem, weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weights of targets' shortfalls: a group's weight to each of its features (default 1)."""
    resolved: dict[str, float] = {}
    for key, w in (weights or {}).items():
        for f in problem.resolve_features(key, argument="weights key"):
            resolved[f] = check_weight(w, f"weights[{key!r}]")
    return resolved


def resolve_weights(mode: WeightsMode, problem: Problem, weights: Mapping[str, float] | None,
                    years: object = None
                    ) -> tuple[dict[str, float], tuple[WeightQuantity, ...]]:
    """One weight per feature from ``weights`` as a kind of ``mode`` reads them, and the
    quantities weighed (``utility``; empty for ``targets``)."""
    if mode == "utility":
        quantities = utility_quantities(problem, weights, years)
        return effective_weights(quantities), quantities
    return target_weights(problem, weights), ()


#: The rule of target weights in one sentence (min shortfall).
TARGET_WEIGHTS_RULE = ("A group's weight goes to each of its features' relative target "
                       "shortfall; features not named weigh 1.")


def weights_summary(problem: Problem) -> dict[str, object]:
    """The objective's weights as `summary.json` records them.

    ``effective_weights`` (feature → weight), ``weight_quantities`` (one entry per
    quantity: ``quantity``, ``weight``, ``years``, ``features``) and ``weights_rule`` (one
    sentence: `WEIGHTS_RULE`, or `TARGET_WEIGHTS_RULE` for target weights).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> s = weights_summary(problem(tiny_grid()).add_max_utility_objective(1))
    >>> s["effective_weights"]
    {'carbon': 1.0, 'sp_a': 0.5, 'sp_b': 0.5}
    >>> s["weight_quantities"][0]
    {'quantity': 'carbon', 'weight': 1.0, 'years': None, 'features': {'carbon': 1.0}}
    """
    obj = problem.objective
    if obj is None or not obj.weights:
        return {"effective_weights": {}, "weight_quantities": [], "weights_rule": None}
    utility = bool(obj.quantities)
    return {"effective_weights": {f: float(w) for f, w in obj.weights},
            "weight_quantities": [{"quantity": q.name, "weight": float(q.weight),
                                   "years": q.years,
                                   "features": {f: float(w) for f, w in q.features}}
                                  for q in obj.quantities],
            "weights_rule": WEIGHTS_RULE if utility else TARGET_WEIGHTS_RULE}
