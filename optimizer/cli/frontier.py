"""``carbonpark frontier``: the trade-off frontier between two plan metrics of a scenario."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.cli.parser import _positive, whole_number

if TYPE_CHECKING:
    from optimizer.model.problem import Problem
    from optimizer.scenario import Scenario


def _add_frontier(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("frontier", help="trade-off frontier between two plan metrics of a scenario",
                       description="The non-dominated plans between two metrics under a "
                                   "scenario's budget and locks (its weights are replaced by "
                                   "the metrics), with the scenario's own plan beside them; "
                                   "writes frontier.csv, frontier.png and frontier.json.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML) with a max_utility objective")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--metric-a", default="carbon_stock_added",
                   help="first metric, maximised (default carbon_stock_added, MgC; also "
                        "carbon_stock_added_tCO2e, mean_representation, a feature or group)")
    p.add_argument("--metric-b", default="mean_representation",
                   help="second metric, maximised (default mean_representation, percentage "
                        "points)")
    p.add_argument("--points", type=whole_number(2), default=11, metavar="N",
                   help="number of points (default 11)")
    p.add_argument("--method", choices=("epsilon", "weighted"), default="epsilon",
                   help="epsilon-constraint (default; finds non-supported points too) or "
                        "weighted sums (faster)")
    p.add_argument("--solver", choices=("auto", "highs", "cut"), default="auto",
                   help="auto (default): the graph-cut solver when the model is in cut form, "
                        "else HiGHS")
    p.add_argument("--time-limit-per-point", type=_positive("--time-limit-per-point", "10"),
                   default=None, metavar="SECONDS",
                   help="seconds for each point (default: the scenario's [solver] time_limit, "
                        "the limit of one solve)")
    p.add_argument("--time-limit", type=_positive("--time-limit", "300"), default=None,
                   metavar="SECONDS",
                   help="seconds for the whole frontier (default: none); the points so far are "
                        "kept and the frontier says it is truncated")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key (e.g. --set budget.share=0.1; a path is "
                        "relative to the current folder); repeatable")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not a frontier output written by carbonpark")
    p.set_defaults(func=cmd_frontier, time_limit_option="--time-limit-per-point")


def cmd_frontier(args: argparse.Namespace) -> int:
    """Build the scenario's problem, run the frontier, solve the scenario's own plan, write
    them; print the points and, for a frontier with a trade-off, its knee and losses."""
    from optimizer.atomic import check_output_dir
    from optimizer.cli.solve import _inputs, _scenario_with_overrides
    from optimizer.errors import ScenarioError
    from optimizer.model.objectives import OBJECTIVES
    from optimizer.plan.results import solve
    from optimizer.scenario.build import solver_options
    from optimizer.scenario.zone_tables import refuse_zones
    from optimizer.studies.frontier import frontier

    t0 = time.perf_counter()
    check_output_dir(args.out, "frontier", overwrite=args.overwrite, inputs=[args.scenario])
    scenario, _ = _scenario_with_overrides(args)
    inputs = [args.scenario, *_inputs(scenario)]  # the file too when --set renamed its source
    check_output_dir(args.out, "frontier", overwrite=args.overwrite, inputs=inputs)
    refuse_zones(scenario, "carbonpark frontier")  # before any work
    kind = OBJECTIVES.get(scenario.objective.kind)
    if kind is not None and not kind.nested:  # in the scenario's words, before any work
        nested = " or ".join(f'"{n}"' for n, k in OBJECTIVES.items() if k.nested)
        raise ScenarioError(f"{scenario.source}: [objective] kind = \"{scenario.objective.kind}\" "
                            "has no frontier: the frontier trades carbon against species "
                            f"representation within a budget, so it needs kind = {nested} with a "
                            "[budget]; solve this scenario with `carbonpark solve`")
    pu = scenario.load_grid()
    problem = scenario.to_problem(pu)
    _check_plan_exists(scenario, problem)
    sv = scenario.solver
    per_point = args.time_limit_per_point or sv.time_limit
    f = frontier(problem, args.metric_a, args.metric_b, points=args.points, method=args.method,
                 gap=sv.gap, time_limit=args.time_limit, time_limit_per_point=per_point,
                 solver=args.solver)
    own = None
    if not f.interrupted:  # Ctrl-C: write the points kept, without the scenario's own plan
        own = solve(problem, sv.backend, **solver_options(scenario))
        f = f.with_plan(own.x, label=f"{scenario.name or 'this scenario'}'s plan",
                        new_km2=float(problem.unprotected_km2 @ own.x))
    f.write(args.out, overwrite=args.overwrite, inputs=inputs)
    ma, mb = f.metric_a, f.metric_b
    ca, cb = ma.column, mb.column
    cols = [ca, cb, "new_km2", "status", "gap"]
    if f.caveat is None:
        cols[3:3] = [f.rate_column, "knee"]
    table = f.points[cols].copy()
    budget = f"under a budget of {f.budget_km2:,.0f} km² new" if f.budget_km2 is not None else ""
    print(f"frontier of {scenario.source} {budget}: {ma.label or ca} vs {mb.label or cb}")
    print(table.to_string(formatters={ca: "{:,.0f}".format, cb: "{:,.3f}".format,
                                      "new_km2": "{:,.0f}".format,
                                      f.rate_column: "{:,.1f}".format,
                                      "gap": lambda g: f"{g:.3%}"}))
    knee = f.knee() if f.caveat is None else None
    if knee is not None:
        print(f"knee: {ca} {knee[ca]:,.0f}, {cb} {knee[cb]:,.3f}, new {knee['new_km2']:,.0f} km²")
    plan = f.plan_point
    if own is not None and plan is not None:
        print(f"{plan.get('label')} ({own.status.value}): {ca} {plan[ca]:,.0f}, "
              f"{cb} {plan[cb]:,.3f}, new {plan['new_km2']:,.0f} km²")
    print(f.summary())
    print(f"wrote {args.out} (frontier.csv, frontier.png, frontier.json); "
          f"{time.perf_counter() - t0:.1f} s")
    if f.interrupted:
        print(f"carbonpark: {f.caveat}", file=sys.stderr)
        return 130
    return 0


def _check_plan_exists(scenario: Scenario, problem: Problem) -> None:
    """Before any solve: a budget the locked units already exceed, in the scenario's words."""
    from optimizer.errors import ScenarioError
    from optimizer.plan.results import diagnose

    causes = diagnose(problem)
    if not causes:
        return
    budget = scenario.budget
    hint = ""
    if (budget is not None and budget.remainders == "count"
            and any(c.startswith("locked-in area") for c in causes)):
        hint = (" (the budget counts the unprotected remainders of the existing protected "
                "units the plan keeps: remainders = \"count\"; remainders = \"free\" adds them "
                "on top of it)")
    raise ScenarioError(f"{scenario.source}: [budget] no plan fits, so there is no frontier: "
                        + "; ".join(causes) + hint)
