"""pulp adapter: compiled arrays -> a pulp problem, for CBC or any pulp solver, and LP/MPS export.

A modelling layer is the slow part at scale (pulp builds a Python object per
variable and per term), so this is an adapter at the edge: the model is compiled
once as arrays, and each row becomes one ``LpAffineExpression`` built from
zipped lists (no ``+=`` of expressions). Works with pulp 3.x (bundles CBC) and
4.x (no bundled CBC; variables created through ``prob.add_variable``), chosen by
feature detection. Every solve starts from the greedy first plan
(`optimizer.solvers.greedy.first_plan`): the answer (strategy ``mip+greedy``) when the
solver brings no plan, a broken one or a worse one within its time limit.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import InfeasibleProblemError, InputDataError, SolverError
from optimizer.model.compile import CompiledModel, compile
from optimizer.model.problem import Problem
from optimizer.solvers.base import (
    Solution,
    SolveStatus,
    better,
    feasibility_tolerance,
    polish,
    relative_gap,
    solve_fixed,
)
from optimizer.solvers.greedy import first_plan


def to_pulp(model: CompiledModel, name: str = "carbonpark") -> tuple[Any, list[Any]]:
    """Build a pulp problem from a compiled model.

    Returns
    -------
    problem : pulp.LpProblem
    variables : list of pulp.LpVariable
        One per model column, in column order.
    """
    import pulp

    sense = pulp.LpMaximize if model.sense == "max" else pulp.LpMinimize
    prob = pulp.LpProblem(name, sense)
    names = model.col_names()
    cats = np.where(model.integrality, pulp.LpInteger, pulp.LpContinuous)
    make = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
    lo, up = model.col_lower.tolist(), model.col_upper.tolist()
    variables = [make(nm, a if np.isfinite(a) else None, b if np.isfinite(b) else None, cat)
                 for nm, a, b, cat in zip(names, lo, up, cats.tolist(), strict=True)]
    objective = pulp.LpAffineExpression(
        [(variables[k], float(model.c[k])) for k in np.flatnonzero(model.c)],
        constant=float(model.offset))
    prob.setObjective(objective)
    A = model.A
    indptr, indices, data = A.indptr, A.indices.tolist(), A.data.tolist()
    row_names = model.row_names()
    lower, upper = model.row_lower.tolist(), model.row_upper.tolist()
    for r, rname in enumerate(row_names):
        s, e = indptr[r], indptr[r + 1]
        terms = [(variables[k], v) for k, v in zip(indices[s:e], data[s:e], strict=True)]
        lo_r, up_r = lower[r], upper[r]
        if lo_r == up_r:
            prob.addConstraint(pulp.LpConstraint(e=pulp.LpAffineExpression(terms),
                                                 sense=pulp.LpConstraintEQ, name=rname, rhs=lo_r))
            continue
        if np.isfinite(lo_r):
            nm = f"{rname}_lo" if np.isfinite(up_r) else rname
            prob.addConstraint(pulp.LpConstraint(e=pulp.LpAffineExpression(terms),
                                                 sense=pulp.LpConstraintGE, name=nm, rhs=lo_r))
        if np.isfinite(up_r):
            nm = f"{rname}_up" if np.isfinite(lo_r) else rname
            prob.addConstraint(pulp.LpConstraint(e=pulp.LpAffineExpression(terms),
                                                 sense=pulp.LpConstraintLE, name=nm, rhs=up_r))
    return prob, variables


@dataclass
class PulpSolver:
    """Solve compiled models through pulp (CBC by default, or any pulp solver by name).

    Parameters
    ----------
    backend : str
        Default: CBC (``COIN_CMD`` when CBC is installed, else pulp 3.x's bundled
        ``PULP_CBC_CMD``). Or a pulp solver name (``pulp.listSolvers()``), e.g. ``PULP_CBC_CMD``,
        ``COIN_CMD``, ``HiGHS_CMD``, ``GUROBI_CMD``.
    time_limit : float, optional
        Seconds passed to the solver.
    gap : float
        Relative gap passed as ``gapRel``.
    threads : int, optional
    msg : bool
        Print the solver's output.
    options : dict
        Extra keyword arguments for ``pulp.getSolver``.
    """

    backend: str = ""
    time_limit: float | None = None
    gap: float = 1e-4
    threads: int | None = None
    msg: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.backend:
            import pulp

            available = pulp.listSolvers(onlyAvailable=True)
            self.backend = "COIN_CMD" if "COIN_CMD" in available else "PULP_CBC_CMD"

    @property
    def name(self) -> str:
        """``pulp:<backend>``."""
        return f"pulp:{self.backend}"

    def _solver(self, log_path: str | None) -> Any:
        import pulp

        available = pulp.listSolvers(onlyAvailable=True)
        if self.backend not in available:
            raise SolverError(f"pulp solver {self.backend!r} is not available here; available: "
                              f"{available} (pulp 4.x needs CBC installed separately)")
        kwargs: dict[str, Any] = {"msg": self.msg, "gapRel": self.gap}
        if self.time_limit is not None:
            kwargs["timeLimit"] = self.time_limit
        if self.threads:
            kwargs["threads"] = self.threads
        if log_path and self.backend in ("PULP_CBC_CMD", "COIN_CMD"):
            kwargs["logPath"] = log_path
        kwargs.update(self.options)
        with warnings.catch_warnings():
            # pulp 3.x warns that its bundled CBC goes away in 4.0; we pick COIN_CMD when present.
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.getSolver(self.backend, **kwargs)

    def solve(self, model: CompiledModel) -> Solution:
        """Build the pulp problem, solve it and read the plan back.

        Raises
        ------
        InfeasibleProblemError
            The solver proved the model infeasible.
        SolverError
            No solution (time limit, unavailable solver, solver failure).
        """
        import pulp

        version = getattr(pulp, "__version__", "")
        if model.n_cols == 0:
            return solve_fixed(model, self.name, version)
        started = time.perf_counter()
        # The greedy plan first (issue 23, "anytime"): the answer when the solver brings no
        # plan (or a worse one) within the time limit.
        greedy = first_plan(model)
        prob, variables = to_pulp(model)
        build_seconds = time.perf_counter() - started
        fd, log_path = tempfile.mkstemp(prefix="carbonpark-pulp-", suffix=".log")
        os.close(fd)
        try:
            solver = self._solver(log_path)
            t0 = time.perf_counter()
            try:
                prob.solve(solver)
            except pulp.PulpSolverError as exc:
                raise SolverError(f"{self.name} failed: {exc}") from None
            solve_seconds = time.perf_counter() - t0
            log = Path(log_path).read_text(errors="replace") if os.path.exists(log_path) else ""
        finally:
            Path(log_path).unlink(missing_ok=True)
        status = prob.status
        # sol_status (pulp >= 2.x) tells "integer feasible" from "optimal"; absent -> None.
        sol_status = getattr(prob, "sol_status", None)
        sol_infeasible = getattr(pulp, "LpSolutionInfeasible", -1)
        sol_optimal = getattr(pulp, "LpSolutionOptimal", 1)
        if status == pulp.LpStatusInfeasible or sol_status == sol_infeasible:
            raise InfeasibleProblemError(f"{self.name}: the model is infeasible: no plan meets "
                                         "every budget, target and lock")
        raw = np.array([np.nan if v.varValue is None else v.varValue for v in variables])
        strategy = "mip"
        if np.isnan(raw[: model.n_x]).any():
            if greedy is None:
                raise SolverError(f"{self.name} returned no solution (status "
                                  f"{pulp.LpStatus.get(status, status)}); raise time_limit")
            values, objective, violation = greedy.values, greedy.objective, 0.0
            strategy = "mip+greedy"
        else:
            values, objective, violation = polish(model, raw)
        if violation > feasibility_tolerance(model):
            if greedy is None:
                raise SolverError(f"{self.name} returned a plan that breaks a constraint by "
                                  f"{violation:.3g}; raise time_limit or try solver='highs'")
            values, objective, strategy = greedy.values, greedy.objective, "mip+greedy"
        proven = (status == pulp.LpStatusOptimal and sol_status in (None, sol_optimal)
                  and strategy == "mip")
        bound = _cbc_bound(log, objective, model.sense)
        if (strategy == "mip" and greedy is not None
                and better(model, greedy.objective, objective)):
            # The solver's plan is worse than the greedy's: keep the greedy's, with the bound
            # the solver proved (its distance from the solver's own plan, unchanged).
            values, objective, strategy, proven = (greedy.values, greedy.objective,
                                                   "mip+greedy", False)
        if proven and not np.isfinite(bound):
            bound = objective  # a solver that reports no bound; "optimal" within its gap
        gap = relative_gap(objective, bound)
        if proven and "Stopped on" not in log:
            solve_status = SolveStatus.OPTIMAL
        else:
            solve_status = (SolveStatus.OPTIMAL if np.isfinite(gap) and gap <= self.gap
                            else SolveStatus.FEASIBLE)
        info: dict[str, Any] = {"build_seconds": round(build_seconds, 3),
                                "solve_seconds": round(solve_seconds, 3),
                                "pulp_status": pulp.LpStatus.get(status, str(status))}
        trajectory = [(round(t, 6), obj, float("nan")) for t, obj in
                      (greedy.steps if greedy is not None else ())]
        runtime = time.perf_counter() - started
        trajectory.append((round(runtime, 6), objective, bound))
        info["trajectory"] = trajectory
        info["time_to_first_plan_s"] = trajectory[0][0]
        if greedy is not None:
            info["greedy_seconds"] = round(greedy.seconds, 6)
            info["greedy_objective"] = greedy.objective
        return Solution(solve_status, model.unit_x(values), objective, bound, gap, runtime,
                        self.name, version, log, strategy, values, info)


def _cbc_bound(log: str, objective: float, sense: str) -> float:
    """The proven bound from CBC's log, in the model's terms (NaN when absent).

    CBC minimises (pulp negates a max objective) and may leave out the constant,
    so the bound is shifted by CBC's own objective value.
    """
    cbc_obj = re.findall(r"Objective value:\s+(-?[0-9.eE+-]+)", log)
    lower = re.findall(r"Lower bound:\s+(-?[0-9.eE+-]+)", log)
    if cbc_obj and lower:
        distance = float(cbc_obj[-1]) - float(lower[-1])  # >= 0 in CBC's minimisation
        return objective - distance if sense == "min" else objective + distance
    found = re.findall(r"best possible\s+(-?[0-9.eE+-]+)", log)
    if found and cbc_obj:
        distance = float(cbc_obj[-1]) - float(found[-1])
        return objective - distance if sense == "min" else objective + distance
    return float("nan")


def _as_model(problem_or_model: Problem | CompiledModel) -> CompiledModel:
    if isinstance(problem_or_model, CompiledModel):
        return problem_or_model
    if isinstance(problem_or_model, Problem):
        return compile(problem_or_model)
    raise InputDataError(f"expected a Problem or CompiledModel; got "
                         f"{type(problem_or_model).__name__}")


def write_lp(problem_or_model: Problem | CompiledModel, path: str | Path) -> Path:
    """Write a problem as a CPLEX LP file (through pulp) for solving elsewhere."""
    prob, _ = to_pulp(_as_model(problem_or_model))
    path = Path(path)
    prob.writeLP(str(path))
    return path


def write_mps(problem_or_model: Problem | CompiledModel, path: str | Path) -> Path:
    """Write a problem as a (free) MPS file (through pulp) for solving elsewhere.

    MPS has no objective constant: the model's offset is left out of the file.
    """
    prob, _ = to_pulp(_as_model(problem_or_model))
    path = Path(path)
    prob.writeMPS(str(path))
    return path
