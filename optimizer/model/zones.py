"""Management zones: each selected unit goes to one of k zones (core protection, general
control, ...), as China's national parks are zoned and prioritizr's zones and Marxan with
Zones allow.

A `ZonedProblem` is a `optimizer.model.problem.Problem` (its objective, targets, budgets,
locks and penalties, read as for the whole protected area) plus its `Zone`\\ s:

* **contribution**: a unit in zone ``z`` holds ``c_zf`` times its unprotected amount of
  feature ``f`` (``c_zf`` in [0, 1]: a general control zone may keep 80 % of a unit's
  carbon stock and half its species' value). Utility, targets and shortfalls count
  contributed amounts; existing protection counts whole, as without zones;
* **cost**: a unit in zone ``z`` costs ``cost_factor_z`` times its cost (min set);
* **zone budgets**: bounds on the new area (km²) of each zone, beside the problem's own
  budgets (which count every zone);
* **zone targets**: a share of a feature's total that a zone's added units must hold
  (contributed amounts; always hard, whatever the objective);
* **zone locks**: units that must be in a zone (``locked_in``), or may not be in it
  (``locked_out``); the problem's own locks still hold (a unit locked in by the problem,
  existing protection included, is in one of the zones: the solve picks which);
* **boundary**: the problem's boundary penalty prices the perimeter of the whole
  protected area (all zones together), as without zones; each zone's
  ``boundary_penalty`` prices that zone's own perimeter. A shared edge of length ``L``
  between units in zones ``a`` and ``b`` therefore costs ``L (w_a + w_b)`` when
  ``a != b`` (a boundary between zones) and nothing when ``a == b``; an edge between a
  unit in zone ``a`` and an unselected unit costs ``L (lambda + w_a)``. Exposed edges
  count ``edge_factor`` times, as without zones.

`optimizer.model.zones_compile.compile_zones` turns it into a `CompiledModel` with one
binary column per (unit, zone) and one assignment row ``sum_z x_jz <= 1`` per unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from optimizer.errors import InputDataError, did_you_mean
from optimizer.model.problem import Problem

__all__ = ["Zone", "ZonedProblem", "zoned_problem"]


@dataclass(frozen=True)
class Zone:
    """One management zone of a `ZonedProblem`.

    Parameters
    ----------
    name : str
        The zone's name (``"core"``, ``"general"``).
    contribution : mapping of str to float
        Feature (or role, layer, group: see `Problem.resolve_features`) -> the share
        ``c_zf`` in [0, 1] of a unit's unprotected amount the zone holds.
    default_contribution : float, optional
        The share of features ``contribution`` does not name. None (the default) means
        1.0 when ``contribution`` is empty, and otherwise that every feature the objective
        and the targets use must be named (a zone missing a feature is an error).
    cost_factor : float
        Multiplies each unit's cost in this zone (min set).
    min_km2, max_km2 : float
        Bounds on the zone's new area (km²), as the problem's area budgets count it.
    boundary_penalty : float
        Price of the zone's own perimeter, per km (0: none).
    targets : mapping of str to float
        Feature -> the share of its total that the zone's added units must hold.
    locked_in, locked_out : numpy.ndarray of bool, optional
        Units that must be in this zone, and units that may not be.
    """

    name: str
    contribution: Mapping[str, float] = field(default_factory=dict)
    default_contribution: float | None = None
    cost_factor: float = 1.0
    min_km2: float = 0.0
    max_km2: float = math.inf
    boundary_penalty: float = 0.0
    targets: Mapping[str, float] = field(default_factory=dict)
    locked_in: np.ndarray | None = field(default=None, compare=False, repr=False)
    locked_out: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ZonedProblem:
    """A problem whose selected units each go to one of its zones (see the module docstring).

    Build it with `zoned_problem`, which checks it; the arrays below are resolved per unit.

    Attributes
    ----------
    problem : Problem
    zones : tuple of Zone
    features : tuple of str
        The features the objective, the targets and the zone targets use (the columns of
        ``contribution``).
    contribution : numpy.ndarray
        ``(k, n_features)``: ``c_zf``.
    zone_targets : tuple of (zone index, feature, absolute amount)
    allowed : numpy.ndarray of bool
        ``(k, n_units)``: whether unit ``j`` may be in zone ``z``.
    must_select : numpy.ndarray of bool
        Units that must be in some zone (locked in by the problem or by a zone).
    """

    problem: Problem
    zones: tuple[Zone, ...]
    features: tuple[str, ...]
    contribution: np.ndarray
    zone_targets: tuple[tuple[int, str, float], ...]
    allowed: np.ndarray
    must_select: np.ndarray

    @property
    def k(self) -> int:
        """Number of zones."""
        return len(self.zones)

    @property
    def names(self) -> tuple[str, ...]:
        """Zone names, in order."""
        return tuple(z.name for z in self.zones)

    def factor(self, zone: int, feature: str) -> float:
        """``c_zf`` of one zone and feature."""
        return float(self.contribution[zone, self.features.index(feature)])

    def zone_values(self) -> np.ndarray:
        """``(k, n)``: the objective's own term of unit ``j`` in zone ``z``, before penalties.

        Max utility: ``sum_f w_f c_zf r_fj (1 - p_j) / R_f``; min set: ``cost_factor_z
        cost_j``; min shortfall: 0 (its terms are the targets' shortfalls).
        """
        p = self.problem
        assert p.objective is not None
        out = np.zeros((self.k, p.n_units))
        if p.objective.kind == "max_utility":
            unprotected = 1.0 - p.protected_fraction
            for f, w in p.utility_weights().items():
                r = p.feature_amount(f)
                total = float(r.sum())
                if total != 0:
                    out += np.outer(self.contribution[:, self.features.index(f)],
                                    (w / total) * r * unprotected)
        elif p.objective.kind == "min_set":
            out += np.outer([z.cost_factor for z in self.zones], p.cost)
        return out


def _number(value: object, what: str, *, low: float = 0.0, high: float = math.inf,
            fix: str = "") -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputDataError(f"{what} must be a number; got {value!r}{fix}") from None
    if math.isnan(v) or v < low or v > high or (math.isinf(v) and high != math.inf):
        span = f"in [{low:g}, {high:g}]" if high != math.inf else f"at least {low:g}"
        raise InputDataError(f"{what} must be {span}; got {value!r}{fix}")
    return v


def _used_features(problem: Problem) -> list[str]:
    """Features the objective and the targets use, in order (each once)."""
    used = list(problem.utility_weights()) + problem.target_features()
    return list(dict.fromkeys(used))


def _mask(value: np.ndarray | None, n: int, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(value)
    if arr.shape != (n,) or arr.dtype != bool:
        raise InputDataError(f"{what} must be a boolean mask of the {n} units; got shape "
                             f"{arr.shape} of {arr.dtype}")
    return arr


def zoned_problem(problem: Problem, zones: Sequence[Zone]) -> ZonedProblem:
    """Give a problem management zones, checking every zone before any work.

    Parameters
    ----------
    problem : Problem
        With its objective (and targets, budgets, locks, penalties), as without zones.
    zones : sequence of Zone
        At least one zone (two or more to choose between).

    Returns
    -------
    ZonedProblem

    Raises
    ------
    InputDataError
        The problem has a connectivity penalty, neighbour, contiguity or minimum park
        constraints (not taken with zones yet); no zones; two zones of one name; a
        contribution, cost factor, budget, penalty or target outside its range; a feature
        unknown or (without a default) missing from a zone's contributions; a lock mask of
        the wrong shape; a unit locked into two zones, into a zone that excludes it, or into
        a zone while the problem locks it out; a unit the problem locks in that no zone
        allows.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> zp = zoned_problem(p, [Zone("core"), Zone("general", {"carbon": 0.5})])
    >>> zp.names, zp.features, zp.contribution.tolist()
    (('core', 'general'), ('carbon',), [[1.0], [0.5]])
    """
    if not isinstance(problem, Problem):
        raise InputDataError(f"zoned_problem() takes a Problem; got {type(problem).__name__}")
    unsupported = [name for name, part in (
        ("a connectivity penalty", problem.connectivity_penalty),
        ("neighbour constraints", problem.neighbour_constraint),
        ("contiguity or minimum park constraints", problem.park_constraint)) if part is not None]
    if unsupported:
        raise InputDataError(f"zones do not take {' or '.join(unsupported)} yet (the zoned "
                             "model would ignore it); remove it or the zones")
    zones = tuple(zones)
    if not zones or not all(isinstance(z, Zone) for z in zones):
        raise InputDataError("zones must be a non-empty sequence of Zone; give at least one "
                             "zone, e.g. [Zone('core'), Zone('general')]")
    names = [z.name for z in zones]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputDataError(f"zone names must be unique; {dup} appear more than once")
    if any(not isinstance(n, str) or not n.strip() for n in names):
        raise InputDataError(f"every zone needs a non-empty name; got {names}")
    n = problem.n_units
    # Zone targets first: their features need contributions too.
    zone_targets: list[tuple[int, str, float]] = []
    for zi, z in enumerate(zones):
        for key, share in dict(z.targets).items():
            share = _number(share, f"zone {z.name!r} target of {key!r}", high=1.0,
                            fix="; a zone target is a share of the feature's total")
            for f in problem.resolve_features(str(key), argument=f"zone {z.name!r} target"):
                zone_targets.append((zi, f, share * float(problem.feature_amount(f).sum())))
    used = list(dict.fromkeys([*_used_features(problem), *(f for _, f, _ in zone_targets)]))
    # Contributions resolve features, roles, layers and groups, as weights do.
    contribution = np.ones((len(zones), max(len(used), 0)))
    for zi, z in enumerate(zones):
        where = f"zone {z.name!r}"
        given: dict[str, float] = {}
        for key, value in dict(z.contribution).items():
            share = _number(value, f"{where} contribution of {key!r}", high=1.0,
                            fix="; a zone holds a share of a unit's amount, 0 to 1")
            for f in problem.resolve_features(str(key), argument=f"{where} contribution"):
                given[f] = share
        default = z.default_contribution
        if default is not None:
            default = _number(default, f"{where} default_contribution", high=1.0)
        missing = [f for f in used if f not in given]
        if missing and default is None and given:
            raise InputDataError(f"{where} has no contribution for {len(missing)} feature(s) "
                                 f"the objective or targets use, e.g. {missing[:3]}; give them "
                                 "in its contribution or set its default_contribution")
        fill = 1.0 if default is None else default
        contribution[zi] = [given.get(f, fill) for f in used]
        _number(z.cost_factor, f"{where} cost_factor")
        _number(z.boundary_penalty, f"{where} boundary_penalty")
        lo = _number(z.min_km2, f"{where} min_km2")
        hi = _number(z.max_km2, f"{where} max_km2")
        if lo > hi:
            raise InputDataError(f"{where} min_km2 {lo:g} is above its max_km2 {hi:g}; lower "
                                 "min_km2 or raise max_km2")
    # Locks: allowed[z, j] and the units that must be in some zone.
    locked_in, locked_out = problem.locked_masks()
    allowed = np.ones((len(zones), n), dtype=bool)
    forced = np.zeros((len(zones), n), dtype=bool)
    for zi, z in enumerate(zones):
        allowed[zi] &= ~_mask(z.locked_out, n, f"zone {z.name!r} locked_out")
        forced[zi] = _mask(z.locked_in, n, f"zone {z.name!r} locked_in")
    ids = problem.pu.units["pu_id"].to_numpy()
    twice = forced.sum(axis=0) > 1
    if twice.any():
        raise InputDataError(f"{int(twice.sum())} unit(s) are locked into two zones, e.g. "
                             f"pu_id {ids[twice][:5].tolist()}; lock each unit into one zone")
    for zi, z in enumerate(zones):
        bad = forced[zi] & ~allowed[zi]
        if bad.any():
            raise InputDataError(f"zone {z.name!r} both locks in and locks out "
                                 f"{int(bad.sum())} unit(s), e.g. pu_id {ids[bad][:5].tolist()};"
                                 " remove one of the locks")
        bad = forced[zi] & locked_out
        if bad.any():
            raise InputDataError(f"zone {z.name!r} locks in {int(bad.sum())} unit(s) the "
                                 f"problem locks out, e.g. pu_id {ids[bad][:5].tolist()}; "
                                 "remove one of the locks")
    any_forced = forced.any(axis=0)
    allowed[:, any_forced] = forced[:, any_forced]  # a unit locked into a zone is in it only
    allowed[:, locked_out] = False
    must = locked_in | any_forced
    stranded = must & ~allowed.any(axis=0)
    if stranded.any():
        raise InputDataError(f"{int(stranded.sum())} unit(s) the problem locks in are locked out "
                             f"of every zone, e.g. pu_id {ids[stranded][:5].tolist()}; allow "
                             "them in one zone")
    return ZonedProblem(problem, zones, tuple(used), contribution, tuple(zone_targets),
                        allowed, must)


def zone_index(zp: ZonedProblem, name: str) -> int:
    """The position of the zone ``name``.

    Raises
    ------
    InputDataError
        No zone has that name (with the closest names).
    """
    if name in zp.names:
        return zp.names.index(name)
    raise InputDataError(f"no zone is named {name!r}; zones: {list(zp.names)}"
                         f"{did_you_mean(name, zp.names)}")
