"""Marxan's objective, exactly: `marxan_score`, `feature_penalties` and `plan_blm` (no
pandas: `optimizer.io.marxan.compare` puts Marxan's plan and ours side by side).

What is reproduced from Marxan (v4 source, ``Marxan-source-code/marxan``: ``input.cpp``
``readConnections``, ``computation.hpp``, ``marxan.cpp`` ``computeReserveValue`` /
``computePenalties``, ``output.cpp``), so that numbers are comparable with Marxan's:

* **Boundary** ("Connectivity" in ``_sum``): rows of ``bound.dat`` with ``id1 == id2``
  are a unit's fixed (exposed) boundary and are summed; a pair given twice (either
  order) is kept once, its first definition ("Double connection definition").
  ``Connectivity = sum_(selected j) fixed_j + sum_(pairs, one end selected) L_jk``
  (= ``Connectivity_Edge``); ``_In``, ``_Out``, ``_Total`` and ``_In_Fraction`` as in
  ``computeConnectivityIndices``. This is our cut form with ``edge_factor=1``.
* **Targets**: ``prop > 0`` sets ``target = prop * (total amount over all units)``,
  replacing any ``target`` column value (``computeSpecProp`` runs after reading);
  otherwise ``target`` is used. Missing values default to 0, as the manual says.
* **Penalty**: Marxan's exact heuristic, not a simplified form. For each feature,
  ``penalty_k`` is the cost of reaching its target greedily (``computePenalties``):
  start from the status-2 units (all of them without a sporder file, those holding
  the feature with one, as Marxan's two code paths do; their cost plus ``BLM *`` all
  their boundary counted), then repeatedly add the cheapest unit able to close the gap on
  its own, or else the best amount / (cost + BLM * boundary) unit (zero costs count as
  ``1e-14``); when the units run out the penalty is scaled by ``target / held``. The
  plan's penalty is ``sum_k spf_k * penalty_k * (target_k - held_k) / target_k`` over
  features short of target (occurrence targets averaged in as Marxan does). The
  greedy scan follows Marxan's order (``MATRIXSPORDERNAME`` rows when that file
  exists, else ``pu.dat`` order), so ties break as in Marxan.
* **Score** = cost + BLM * Connectivity + penalty; Shortfall, Missing_Values (held /
  target below ``MISSLEVEL``) and MPM (minimum proportion met) as in
  ``computeRepresentationMISSLEVEL``. Not reproduced: ``COSTTHRESH`` threshold
  penalties, clumping (``target2``), separation (``sepnum``), probability and
  asymmetric connectivity (these raise `InputDataError` where they would matter).

When every target is met the penalty is 0 and the score equals the min-set objective
``cost + BLM * boundary`` of `MarxanProject.to_problem`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InputDataError
from optimizer.io.marxan.input_dat import check_blm
from optimizer.io.marxan.project import MarxanProject
from optimizer.io.marxan.tables import (
    MVBEST_COLUMNS,
    Table,
    is_series,
    positions,
    read_solution_file,
)
from optimizer.model.problem import Problem

#: Marxan's stand-in for a zero unit cost in the greedy penalty (``delta`` in marxan.cpp).
MARXAN_DELTA = 1e-14


def _by_id(x: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(ids, values)`` of a plan given by unit id: a Marxan solution file, or a
    `pandas.Series` indexed by pu id (recognised without importing pandas); else None."""
    if isinstance(x, str | Path):
        return read_solution_file(x)
    if is_series(x):
        return np.asarray(x.index), x.to_numpy(np.float64)
    return None


def plan_selection(project: MarxanProject, x: Any, what: str = "plan") -> np.ndarray:
    """A plan as a 0/1 float vector in pu.dat order: an array or `Solution` in pu.dat
    order, or by unit id a Series or a Marxan solution file."""
    by_id = _by_id(x)
    if by_id is not None:
        ids, values = by_id
        if ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)
        pos = positions(ids, project.pu["id"]) if ids.dtype.kind in "iu" else np.full(
            project.n_units, -1)
        if (pos < 0).any():
            missing = project.pu["id"][pos < 0][:5].tolist()
            raise InputDataError(f"{what}: no value for planning unit id(s) {missing}; the plan "
                                 "must list every unit of pu.dat")
        arr = np.asarray(values, dtype=np.float64)[pos]
    else:
        arr = np.asarray(getattr(x, "x", x), dtype=np.float64)
    if arr.shape != (project.n_units,):
        raise InputDataError(f"{what}: has {arr.shape} values; expected ({project.n_units},), one "
                             "per planning unit in pu.dat order")
    return (arr > 0.5).astype(np.float64)


def _carried_blm(plan: Any) -> float | None:
    """The boundary penalty a `Solution` was solved with (``info["boundary_penalty"]``,
    recorded by `optimizer.plan.results.solve`); None for plans that do not carry one."""
    info = getattr(plan, "info", None)
    if isinstance(info, Mapping) and info.get("boundary_penalty") is not None:
        return float(info["boundary_penalty"])
    return None


def plan_blm(project: MarxanProject, plans: Any, blm: float | None = None, *,
             problem: Problem | None = None) -> float:
    """The BLM to score plans with: the one they were solved with.

    In order: ``blm`` when given; else the boundary penalty of ``problem``; else the
    one the plans carry (a `Solution` from `optimizer.plan.results.solve` records its
    problem's penalty); else the BLM of input.dat (plans without provenance: arrays,
    Series, Marxan's own solution files).

    Parameters
    ----------
    project : MarxanProject
    plans : Solution, array, Series, path or a list of them
    blm : float, optional
        An explicit BLM (``>= 0``).
    problem : Problem, optional
        The problem the plans were solved from (e.g. ``project.to_problem(blm)``).

    Raises
    ------
    InputDataError
        ``blm`` is negative, or two of these disagree (``blm``, the problem's penalty,
        the plans' own): a plan scored at another BLM than it was solved with gets a
        score of another problem. Without boundary rows the BLM does not matter and
        is not checked.
    """
    plans = list(plans) if isinstance(plans, list | tuple) else [plans]
    sources: list[tuple[str, float]] = []
    if blm is not None:
        checked = check_blm(blm, "blm")
        sources.append((f"blm={checked:g}", checked))
    if problem is not None:
        bp = problem.boundary_penalty
        value = bp.penalty if bp is not None else 0.0
        sources.append((f"the problem's boundary penalty {value:g}", value))
    for k, x in enumerate(plans):
        carried = _carried_blm(x)
        if carried is not None:
            which = f"plan {k + 1}" if len(plans) > 1 else "the plan"
            sources.append((f"the BLM {carried:g} {which} was solved with", carried))
    if not sources:
        return project.blm
    label, value = sources[0]
    if len(project.bound):
        for other, v in sources[1:]:
            if not math.isclose(v, value, rel_tol=1e-12, abs_tol=1e-300):
                raise InputDataError(f"{label} disagrees with {other}; score a plan at the BLM it "
                                     "was solved with (drop blm=), or solve again with "
                                     f"to_problem(blm={value:g})")
    return value


def _unit_values(project: MarxanProject, blm: float) -> np.ndarray:
    """Marxan's ``computePlanningUnitValue``: cost + BLM * (fixed + every neighbour edge)."""
    fixed, i, j, length = project.boundary_arrays()
    n = project.n_units
    around = fixed + np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
    return np.asarray(project.pu["cost"], dtype=np.float64) + blm * around


def _greedy_scan(a: np.ndarray, f: np.ndarray, cand: np.ndarray, rem: float) -> int:
    """One pass of Marxan's best-unit search, replayed exactly (its quirks included:
    a better ratio found after a target-closing unit replaces it)."""
    imax, ibest = False, -1
    fbest = fbestrat = 0.0
    for k in cand.tolist():
        ak, fk = a[k], f[k]
        if ak >= rem and (not imax or fk < fbest):
            imax, ibest, fbest = True, k, fk
        elif fbestrat < ak / fk:
            fbest, fbestrat, ibest = fk, ak / fk, k
    return ibest


def _feature_penalty(a: np.ndarray, f_raw: np.ndarray, status: np.ndarray, target: float,
                     targetocc: float, start: tuple[float, int] | None = None) -> float:
    """Marxan's greedy cost of reaching one feature's target (``computePenalties``).

    ``a``, ``f_raw`` and ``status`` are the feature's occurrences in Marxan's scan order.
    ``start`` overrides the starting (penalty, occurrences) of status-2 units: Marxan's
    plain path starts from *every* status-2 unit, its sporder path from those holding
    the feature.
    """
    fixed = status == 2
    held = float(np.sum(a[fixed]))
    occ = int(fixed.sum())
    penalty = float(np.sum(f_raw[fixed]))
    if start is not None:
        penalty, occ = start
    if held >= target and occ >= targetocc:
        return penalty
    f = np.where(f_raw == 0, MARXAN_DELTA, f_raw)
    avail = (status < 2) & (a > 0)
    ran_out = False
    while held < target or occ < targetocc:
        cand = np.flatnonzero(avail)
        if cand.size == 0:
            ran_out = True
            break
        rem = target - held
        # While no unit closes the gap alone, Marxan takes units by best amount/cost
        # ratio (first of equals): take that whole run at once.
        ratio = a[cand] / f[cand]
        order = cand[np.argsort(-ratio, kind="stable")]
        amounts = a[order]
        cum = np.cumsum(np.concatenate([[held], amounts]))[:-1]
        suffix_max = np.maximum.accumulate(amounts[::-1])[::-1]
        steps = np.arange(order.size)
        need = (cum < target) | (occ + steps < targetocc)
        pure = need & (suffix_max < target - cum)
        stop = int(np.argmin(pure)) if not pure.all() else order.size
        if stop:
            taken = order[:stop]
            held = float(cum[stop - 1] + amounts[stop - 1])
            occ += stop
            penalty += float(np.sum(f[taken]))
            avail[taken] = False
            continue
        if not need[0]:
            break
        best = _greedy_scan(a, f, cand, rem)
        avail[best] = False
        held += float(a[best])
        occ += 1
        penalty += float(f[best])
    if ran_out:
        base = held if held != 0 else MARXAN_DELTA
        scale = target / base if base < target else 0.0
        if occ < targetocc and occ:
            scale += float(np.float32(targetocc) / np.float32(occ))
        penalty *= scale
    return penalty


def feature_penalties(project: MarxanProject, blm: float | None = None) -> np.ndarray:
    """Marxan's per-feature penalty (``spec[i].penalty``) at ``blm`` (spec order)."""
    blm = project.blm if blm is None else float(blm)
    key = f"penalties:{blm!r}"
    if key in project._cache:
        return project._cache[key]
    values = _unit_values(project, blm)
    status = project.pu["status"]
    rows = project.puvspr
    order = (project.greedy_order if project.greedy_order is not None
             else np.lexsort((rows["pu_index"], rows["spec_index"])))
    if project.greedy_order is not None:  # sporder rows grouped by feature, file order within
        order = order[np.argsort(rows["spec_index"][order], kind="stable")]
    sidx = rows["spec_index"][order]
    pidx = rows["pu_index"][order]
    amt = np.asarray(rows["amount"], dtype=np.float64)[order]
    bounds = np.searchsorted(sidx, np.arange(len(project.spec) + 1))
    targets = project.targets()
    tocc = project.spec["targetocc"]
    # Without a sporder file Marxan's computePenalties starts every feature from all
    # status-2 units (their value and count), whether they hold the feature or not.
    start = None
    if project.greedy_order is None:
        start = (float(np.sum(values[status == 2])), int((status == 2).sum()))
    out = np.zeros(len(project.spec))
    for k in range(len(project.spec)):  # a loop over features; units are vectorised
        s = slice(bounds[k], bounds[k + 1])
        p = pidx[s]
        out[k] = _feature_penalty(amt[s], values[p], status[p], float(targets[k]), float(tocc[k]),
                                  start)
    project._cache[key] = out
    return out


def evaluate_plan(project: MarxanProject, x: np.ndarray, blm: float) -> tuple[dict[str, Any],
                                                                             Table]:
    """Marxan's figures of a 0/1 plan at ``blm``: the ``_sum`` row (a dict) and the
    ``_mv`` table (`MVBEST_COLUMNS`)."""
    fixed, i, j, length = project.boundary_arrays()
    cost = float(np.asarray(project.pu["cost"], dtype=np.float64) @ x)
    edge = float(fixed @ x + (length * np.abs(x[i] - x[j])).sum())
    inside = float((length * x[i] * x[j]).sum())
    outside = float(fixed @ (1 - x) + (length * (1 - x[i]) * (1 - x[j])).sum())
    total_conn = float(fixed.sum() + length.sum())
    m = project.amount_matrix()
    held = m @ x
    occ = (m > 0).astype(np.float64) @ x
    target = project.targets()
    tocc = np.asarray(project.spec["targetocc"], dtype=np.float64)
    spf = np.asarray(project.spec["spf"], dtype=np.float64)
    short_amt = np.where(target > held, target - held, 0.0)
    short_occ = np.where(tocc > occ, tocc - occ, 0.0)
    frac = np.divide(short_amt, target, out=np.zeros_like(target), where=target != 0)
    frac += np.divide(short_occ, tocc, out=np.zeros_like(tocc), where=tocc > 0)
    frac = np.where((target != 0) & (tocc > 0), frac / 2, frac)
    pen_k = feature_penalties(project, blm)
    penalty = float(np.sum(frac * pen_k * spf))
    with np.errstate(divide="ignore", invalid="ignore"):
        prop_amt = np.where(target > 0, held / target, np.inf)
        prop_occ = np.where(tocc > 0, occ / tocc, np.inf)
    misslevel = project.misslevel
    missing = (((target > 0) & (prop_amt < misslevel)) | ((tocc > 0) & (prop_occ < misslevel)))
    mpm_each = np.minimum(np.where(held < target, prop_amt, 1.0), np.where(occ < tocc, prop_occ, 1.0))
    mpm = float(min(1.0, mpm_each.min(initial=1.0)))
    tol = 1e-9 * np.maximum(1.0, np.abs(target))
    met = (held >= target - tol) & (occ >= tocc)
    status = project.pu["status"]
    summary = {
        "score": cost + blm * edge + penalty,
        "cost": cost,
        "boundary": edge,
        "penalty": penalty,
        "shortfall": float(short_amt[target > 0].sum() + short_occ[tocc > 0].sum()),
        "mpm": mpm,
        "units": int(x.sum()),
        "blm": blm,
        "missing_values": int(missing.sum()),
        "targets_met": int(met.sum()),
        "features": len(target),
        "connectivity_total": total_conn,
        "connectivity_in": inside,
        "connectivity_edge": edge,
        "connectivity_out": outside,
        "connectivity_in_fraction": inside / total_conn if total_conn > 0 else 0.0,
        "locks_violated": int(((status == 2) & (x == 0)).sum() + ((status == 3) & (x == 1)).sum()),
    }
    target_met = np.where(target > 0, np.where(prop_amt < misslevel, "no", "yes"), "")
    target_met = np.where(tocc > 0, np.where((prop_occ < misslevel) | (target_met == "no"), "no",
                                             "yes"), target_met)
    per_feature = Table(dict(zip(MVBEST_COLUMNS, (
        project.spec["id"], project.spec["name"], target, held, tocc.astype(np.int64),
        occ.astype(np.int64), project.spec["sepnum"].astype(np.int64),
        np.zeros(len(target), np.int64), target_met, mpm_each), strict=True)))
    return summary, per_feature


def marxan_score(project: MarxanProject, x: Any, blm: float | None = None, *,
                 problem: Problem | None = None) -> dict[str, Any]:
    """Marxan's objective for a plan, computed as Marxan computes it.

    Parameters
    ----------
    project : MarxanProject
    x : array, Solution, pandas.Series or path
        The plan: 0/1 per unit in pu.dat order, a `Solution`, a Series indexed by pu id,
        or a Marxan solution file.
    blm : float, optional
        Boundary length modifier. Default: the BLM the plan was solved with (that of
        ``problem``, or the one a `Solution` from `optimizer.plan.results.solve` carries),
        else the BLM of input.dat. See `plan_blm`.
    problem : Problem, optional
        The problem ``x`` was solved from, for plans that do not carry their BLM
        (arrays, Series).

    Returns
    -------
    dict
        ``score`` (cost + blm * boundary + penalty), ``cost``, ``boundary`` (Marxan's
        Connectivity), ``penalty`` (Marxan's exact greedy-based penalty, see the module
        notes), ``shortfall``, ``mpm``, ``units``, ``blm``, ``missing_values``,
        ``targets_met``, ``features``, the ``connectivity_*`` figures of ``_sum`` and
        ``locks_violated`` (status 2 units not selected plus status 3 units selected).

    Raises
    ------
    InputDataError
        ``blm`` is negative or disagrees with the BLM the plan was solved with; the
        project uses clumping or separation; the plan does not fit the project.
    """
    for msg in project.unsupported():
        if "target2" in msg or "sepnum" in msg:
            raise InputDataError(f"{project.path.name}: {msg}; marxan_score does not reproduce "
                                 "Marxan's clumping or separation penalties")
    blm = plan_blm(project, x, blm, problem=problem)
    return evaluate_plan(project, plan_selection(project, x), blm)[0]
