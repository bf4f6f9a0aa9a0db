"""The app's re-solve engine: one `PlanSession` per grid, one `PlanResult` per setting.

A planner moves a control (budget, a weight, compactness, a lock) and wants the plan
again at once. `PlanSession.solve` caches what does not change between calls:

* the problem with its locks, per lock setting;
* the compactness scale (the break-even penalty of `optimizer.plan.calibration`, at
  which an average free unit alone is worth exactly its perimeter), per weights and
  locks;
* the **nested path** of plans over every budget (`optimizer.solvers.cut.path.nested_path`,
  one parametric cut solve), per weights, locks and compactness. A budget change reads
  its plan from the path (`read_plan`) and its proven bound from the path's cuts
  (`path_bound`): no solve.

The plan is the one the cut solver gives with ``nested_path = true``, a deterministic
procedure whatever the budget, so `PlanSession.scenario` writes a scenario that
``carbonpark solve`` solves to the same plan (same x), and the gap it reports is the
one the path proves.

The gap of a `PlanResult` is measured on the part of the objective the plan can change:
the constant of the locked-in units (their value and the boundary of the existing
network, which dominates at strong compactness) is left out of the scale, so the
relative gap is not taken against a near-zero or negative total.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.outputs.solve_folder import plan_summary
from optimizer.plan.calibration import add_compactness, break_even_penalty, compactness_multiple
from optimizer.plan.closure import gap_closure
from optimizer.plan.results import diagnose, unit_status
from optimizer.scenario import Scenario
from optimizer.solvers import BudgetPath, CutSolver

if TYPE_CHECKING:
    from optimizer.grid.build import PlanningUnits
    from optimizer.model.compile import CompiledModel
    from optimizer.model.problem import Problem
    from optimizer.plan.closure import GapClosure
    from optimizer.scenario import Scenario
    from optimizer.solvers import Solution

__all__ = ["MAP_LOCK_LABELS", "STAGE_TEXT", "PlanResult", "PlanSession", "PlanSettings",
           "compactness_multiple"]

#: What each stage of `PlanSession.solve` does, for progress messages (`PlanSession.next_stage`).
STAGE_TEXT = {"cut solve": "the graph-cut solver computes the nested path of plans over every budget",
              "nested path": "the plan is read from the cached nested path (no solve)"}
#: Cached nested paths (and locked problems) kept per session (least recently used
#: dropped first).
MAX_PATHS = 32
#: The labels of the locks set on the map, in messages and in saved scenarios.
MAP_LOCK_LABELS = ("locked in on the map", "locked out on the map")


@dataclass(frozen=True)
class PlanSettings:
    """What the planner sets in the app.

    Attributes
    ----------
    budget_share : float
        New protection, share of the land, in (0, 1].
    carbon_stock, carbon_uptake, biodiversity : float
        Weights (>= 0): carbon stock and carbon uptake are one quantity each (the mass of
        their layers, every year counted), biodiversity splits equally over its features
        (`optimizer.model.objectives.weights`).
    emissions_penalty : float
        Weight (>= 0) against each unit's latest emissions (normalised by their total).
    compactness : float
        0 (none) .. 1 (strongest). 0: no boundary penalty, the best units wherever they
        are. 0.5: the penalty at which an average free unit standing alone is worth
        exactly its boundary, so new land goes where it joins other land. 1: eleven
        times that: new land comes in large blocks or as rims of the existing network.
        (`optimizer.plan.calibration.compactness_multiple`, re-exported here; the scale is
        computed once per grid, weights and locks.)
    lock_existing : bool
        Existing protected areas (``pa_fraction >= 0.5``) locked in.
    cropland_out, urban_out : bool
        Units more than 50% cropland (urban) locked out.
    locked_in_ids, locked_out_ids : tuple of int
        ``pu_id`` of the units the planner locked in (out) on the map, sorted. A manual
        lock-out of a unit the existing network keeps is refused (`check_locks`), as is a
        lock-in of a unit a red line keeps out.
    """

    budget_share: float = 0.05
    carbon_stock: float = 1.0
    carbon_uptake: float = 1.0
    biodiversity: float = 1.0
    emissions_penalty: float = 0.0
    compactness: float = 0.0
    lock_existing: bool = True
    cropland_out: bool = True
    urban_out: bool = False
    locked_in_ids: tuple[int, ...] = ()
    locked_out_ids: tuple[int, ...] = ()

    def check(self) -> None:
        """Raise a one-line `InputDataError` naming the first bad setting."""
        if not (isinstance(self.budget_share, (int, float)) and 0 < self.budget_share <= 1):
            raise InputDataError(f"budget_share must be a share in (0, 1]; got "
                                 f"{self.budget_share!r}; write 5% as 0.05")
        for name in ("carbon_stock", "carbon_uptake", "biodiversity", "emissions_penalty"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputDataError(f"{name} must be a weight >= 0; got {v!r}; use 0 to leave "
                                     "it out")
        if self.carbon_stock == self.carbon_uptake == self.biodiversity == 0:
            raise InputDataError("carbon_stock, carbon_uptake and biodiversity are all 0: "
                                 "nothing is worth protecting; give one a weight above 0")
        c = self.compactness
        if not (isinstance(c, (int, float)) and 0 <= c <= 1):
            raise InputDataError(f"compactness must be in [0, 1]; got {c!r}; 0 is none, 1 the "
                                 "strongest")
        both = set(self.locked_in_ids) & set(self.locked_out_ids)
        if both:
            raise InputDataError(f"pu_id {sorted(both)[:5]} locked both in and out on the map; "
                                 "clear one of the two locks")

    @property
    def manual_locks(self) -> int:
        """How many units the planner locked in or out on the map."""
        return len(self.locked_in_ids) + len(self.locked_out_ids)

    @property
    def lock_key(self) -> tuple[Any, ...]:
        return (self.lock_existing, self.cropland_out, self.urban_out,
                tuple(sorted(self.locked_in_ids)), tuple(sorted(self.locked_out_ids)))

    @property
    def weight_key(self) -> tuple[float, ...]:
        return (*self.lock_key, self.carbon_stock, self.carbon_uptake, self.biodiversity,
                self.emissions_penalty)


@dataclass
class PlanResult:
    """One plan of the app: the plan, its numbers and how it was found.

    ``objective`` is recomputed from ``x``; ``gap`` is the proven relative gap on the
    part of the objective the plan can change (``objective - constant``); ``stage`` is
    ``"nested path"`` (read from a cached path, no solve) or ``"cut solve"`` (the path
    solved for these weights, locks and compactness).
    """

    settings: PlanSettings
    problem: Problem
    x: np.ndarray
    status: np.ndarray
    objective: float
    gap: float
    seconds: float
    stage: str
    summary: dict[str, Any]
    closure: GapClosure
    solution: Solution
    boundary_penalty: float
    constant: float


class PlanSession:
    """Re-solves of one grid for the app (see the module docstring).

    Parameters
    ----------
    pu : PlanningUnits
        The grid.
    grid : dict, optional
        The scenario ``[grid]`` table that reproduces ``pu`` (``{"manifest": ...,
        "cell_km": 10}`` or ``{"path": grid_dir}``), for `PlanSession.scenario`.
    gap : float
        Gap written to saved scenarios (the nested path proves its own gap).
    time_limit : float
        Seconds for one solve of a path.

    Examples
    --------
    >>> from optimizer.datasets import demo_grid
    >>> s = PlanSession(demo_grid(40))
    >>> r = s.solve(PlanSettings(budget_share=0.05, compactness=0.5))
    >>> r.stage, r.gap < 0.05, r.summary["objective"] == r.objective
    ('cut solve', True, True)
    >>> s.solve(PlanSettings(budget_share=0.10, compactness=0.5)).stage  # read from the path
    'nested path'
    """

    def __init__(self, pu: PlanningUnits, *, grid: dict[str, Any] | None = None,
                 gap: float = 1e-3, time_limit: float = 10.0) -> None:
        self.pu, self.grid, self.gap, self.time_limit = pu, grid, gap, time_limit
        self._locked: dict[tuple, Problem] = {}
        self._scale: dict[tuple, float] = {}
        self._paths: dict[tuple, dict[str, Any]] = {}
        self._emissions: str | bool | None = False
        self._lock = threading.RLock()  # one solve at a time: the caches are shared by tabs

    # ---------------------------------------------------------- problem parts
    def _emissions_column(self) -> str | None:
        """The latest emissions layer's column (None without one)."""
        if self._emissions is False:
            feats = self.pu.features
            em = feats[feats["role"] == "emissions"]
            if em.empty:
                self._emissions = None
            else:
                year = em.get("year", None)
                self._emissions = str(em.index[-1] if year is None or year.isna().all()
                                      else year.astype(float).idxmax())
        return self._emissions  # type: ignore[return-value]

    def _base(self, s: PlanSettings) -> Problem:
        key = s.lock_key
        if key not in self._locked:
            p = problem(self.pu).add_existing_protection(0.5 if s.lock_existing else None)
            if s.cropland_out:
                p = p.add_locked_out_land_cover("cropland", 0.5)
            if s.urban_out:
                p = p.add_locked_out_land_cover("urban", 0.5)
            if s.locked_in_ids:
                p = p.add_locked_in(ids=list(s.locked_in_ids), label=MAP_LOCK_LABELS[0])
            if s.locked_out_ids:
                p = p.add_locked_out(ids=list(s.locked_out_ids), label=MAP_LOCK_LABELS[1])
            self._locked[key] = p
            while len(self._locked) > MAX_PATHS:  # every click on the map is a new lock set
                self._locked.pop(next(iter(self._locked)))
        return self._locked[key]

    def weights(self, s: PlanSettings) -> dict[str, float]:
        """The objective's weights of settings ``s`` (zero weights left out)."""
        w = {"carbon_stock": s.carbon_stock, "carbon_uptake": s.carbon_uptake,
             "biodiversity": s.biodiversity}
        em = self._emissions_column()
        if s.emissions_penalty > 0 and em is not None:
            w[em] = -s.emissions_penalty
        return {k: float(v) for k, v in w.items() if v != 0}

    def _unpenalised(self, s: PlanSettings) -> Problem:
        return self._base(s).add_max_utility_objective(budget_share=s.budget_share,
                                                       weights=self.weights(s))

    def _break_even(self, s: PlanSettings, p: Problem) -> float:
        """Penalty per km at which an average worthwhile free unit alone breaks even
        (`optimizer.plan.calibration.break_even_penalty`), per weights and locks."""
        key = s.weight_key
        if key not in self._scale:
            self._scale[key] = break_even_penalty(p)
        return self._scale[key]

    def problem(self, s: PlanSettings) -> tuple[Problem, float]:
        """The `Problem` of settings ``s`` and its boundary penalty."""

        s.check()
        p = self._unpenalised(s)
        penalty = 0.0
        if s.compactness > 0:
            p = add_compactness(p, s.compactness, break_even=self._break_even(s, p))
            assert p.boundary_penalty is not None
            penalty = p.boundary_penalty.penalty
        return p, penalty

    def lock_refusal(self, settings: PlanSettings, pu_id: int, lock_in: bool) -> str | None:
        """Why unit ``pu_id`` cannot be locked in (``lock_in``) or out on the map under
        ``settings``' other locks, in one line; None when it can.

        A unit the existing network keeps cannot be locked out (the network wins, see
        `optimizer.model.problem.Problem.locked_masks`), nor a unit a red line keeps out
        locked in (a clash).

        Examples
        --------
        >>> from optimizer.datasets import tiny_grid
        >>> s, settings = PlanSession(tiny_grid()), PlanSettings(cropland_out=False)
        >>> print(s.lock_refusal(settings, 1, lock_in=False))  # doctest: +NORMALIZE_WHITESPACE
        unit 1 is in the existing network, which the plan keeps;
        untick "Keep the existing network" to lock it out
        >>> s.lock_refusal(settings, 2, lock_in=True) is None
        True
        """
        p = self._base(dataclasses.replace(settings, locked_in_ids=(), locked_out_ids=()))
        ids = self.pu.units["pu_id"].to_numpy()
        where = np.flatnonzero(ids == pu_id)
        if where.size == 0:
            return f"pu_id {pu_id} is not a unit of this grid"
        k = int(where[0])
        if not lock_in and p.existing_protection_mask()[k]:
            return (f"unit {pu_id} is in the existing network, which the plan keeps; untick "
                    '"Keep the existing network" to lock it out')
        if lock_in:
            outs = [lk.label for lk in p.locks if lk.value == 0 and lk.mask[k]]
            if outs:
                return (f"unit {pu_id} is kept out by the {outs[0]} lock; untick it to lock "
                        "this unit in")
        return None

    # ---------------------------------------------------------- solve
    @staticmethod
    def _path_key(settings: PlanSettings) -> tuple[Any, ...]:
        """What a cached nested path depends on: the weights and the compactness."""
        return (*settings.weight_key, round(float(settings.compactness), 12))

    def next_stage(self, settings: PlanSettings) -> str:
        """What `solve` of ``settings`` will do, as `PlanResult.stage` will say it.

        ``"nested path"``: the plan is read from a cached path (only the budget or the
        locks changed; no solve). ``"cut solve"``: the cut solver computes the nested path.
        `STAGE_TEXT` words each for a progress message.
        """
        return "nested path" if self._path_key(settings) in self._paths else "cut solve"

    def solve(self, settings: PlanSettings) -> PlanResult:
        """The plan of ``settings``, from a cached nested path when one fits.

        Raises
        ------
        InputDataError
            A setting is out of range (one line naming it).
        InfeasibleProblemError
            No plan fits (e.g. the budget is below the locked-in units' unprotected
            area); the message names the cause.
        """

        with self._lock:
            return self._solve(settings)

    def _solve(self, settings: PlanSettings) -> PlanResult:
        t0 = time.perf_counter()
        p, penalty = self.problem(settings)
        found = diagnose(p)
        if found:
            raise InfeasibleProblemError("; ".join(found))
        model = compile(p)
        key = self._path_key(settings)
        info = self._paths.get(key)
        if info is not None and model.n_x > 0:
            sol, stage = self._read(model, p, info), "nested path"
            self._paths[key] = self._paths.pop(key)  # most recently used last
        else:
            sol, stage = self._solve_path(model, p), "cut solve"
            path = sol.budget_path
            if path is not None and path.budget_independent:
                self._paths[key] = sol.info
                while len(self._paths) > MAX_PATHS:
                    self._paths.pop(next(iter(self._paths)))
        x = np.asarray(sol.x, dtype=np.float64)
        values = model.complete(model.x_cols_of(x))
        objective = model.objective_value(values)  # never the solver's word
        constant = float(model.offset)
        gap = _changeable_gap(objective, sol.bound, constant)
        closure = gap_closure(self.pu, p, sol)
        summary = plan_summary(None, p, sol, closure)
        seconds = time.perf_counter() - t0
        return PlanResult(settings, p, x, unit_status(p, x), objective, gap, seconds, stage,
                          summary, closure, sol, penalty, constant)

    def _solver(self) -> Any:
        return CutSolver(gap=self.gap, time_limit=self.time_limit, nested_path=True)

    def _solve_path(self, model: CompiledModel, p: Problem) -> Solution:
        bp = p.boundary_penalty
        sol = self._solver().solve(model)
        return dataclasses.replace(sol, requested_gap=self.gap, info={
            **sol.info, "boundary_penalty": bp.penalty if bp is not None else 0.0})

    def _read(self, model: CompiledModel, p: Problem, info: dict[str, Any]) -> Solution:
        """The plan of ``model``'s budget read from a cached solve's path (as `_solve_path` would)."""
        path = BudgetPath.from_info(info)
        assert path is not None  # only solves that recorded a path are cached
        sol = self._solver().read_path(model, path)
        bp = p.boundary_penalty
        return dataclasses.replace(sol, requested_gap=self.gap, info={
            **info, **sol.info, "boundary_penalty": bp.penalty if bp is not None else 0.0})

    # ---------------------------------------------------------- scenario
    def scenario(self, settings: PlanSettings, name: str = "app_plan") -> Scenario:
        """A scenario whose solve (``carbonpark solve``) gives the plan `solve` shows.

        Compactness is written as the scale-free ``[penalties.boundary] compactness``
        (the scenario computes the same break-even on the same grid, weights and
        locks) and the solver as ``cut`` with ``nested_path = true``: the same
        deterministic path, so the same x.
        """

        _, penalty = self.problem(settings)
        data: dict[str, Any] = {
            "schema_version": 1, "name": name,
            "description": "Saved from the app: " + ", ".join(
                f"{f.name} = {getattr(settings, f.name)!r}"
                for f in dataclasses.fields(settings) if not f.name.endswith("_ids"))
                + f", units locked on the map = {settings.manual_locks}",
            "grid": dict(self.grid) if self.grid else {"path": "grid"},
            "objective": {"kind": "max_utility"},
            "budget": {"share": float(settings.budget_share)},
            "weights": self.weights(settings),
            "locks": {"existing": bool(settings.lock_existing), "pa_threshold": 0.5,
                      "land_cover_out": [{"land_cover": lc, "unit_share": 0.5} for lc, on in
                                         (("cropland", settings.cropland_out),
                                          ("urban", settings.urban_out)) if on],
                      "locked_in": ([{"ids": [int(i) for i in settings.locked_in_ids],
                                      "label": MAP_LOCK_LABELS[0]}]
                                    if settings.locked_in_ids else []),
                      "locked_out": ([{"ids": [int(i) for i in settings.locked_out_ids],
                                       "label": MAP_LOCK_LABELS[1]}]
                                     if settings.locked_out_ids else [])},
            "solver": {"backend": "cut", "gap": float(self.gap),
                       "time_limit": float(self.time_limit), "nested_path": True},
        }
        if penalty > 0:
            data["penalties"] = {"boundary": {"compactness": float(settings.compactness)}}
        return Scenario.from_dict(data, source=name)


def _changeable_gap(objective: float, bound: float, constant: float) -> float:
    """``|bound - objective| / |objective - constant|``: the gap on what the plan changes."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return float("nan")
    gap = abs(bound - objective) / max(abs(objective - constant), 1e-12)
    return 0.0 if gap < 1e-12 else gap
