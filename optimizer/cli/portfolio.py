"""``carbonpark portfolio``: distinct plans of a scenario within a gap of its best plan, and
each unit's selection frequency (`optimizer.studies.portfolio`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optimizer.cli.parser import _positive, _share, whole_number


def _add_portfolio(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "portfolio", help="distinct plans within a gap of the best, and selection frequency",
        description="The best plan of a scenario, then the best plan at least --min-distance "
                    "units from every earlier one, until --n plans or the first one further "
                    "than --gap from the best; writes portfolio.csv (the plans), frequency.csv "
                    "(each unit's share of the plans, and every plan's 0/1) and "
                    "portfolio.json. --method shuffle instead solves the scenario --n times "
                    "with its units in random orders and keeps the distinct plans (prioritizr's "
                    "shuffle portfolio; --gap and --min-distance do not apply). Exit codes: 0 "
                    "written, 2 bad input, 130 interrupted (the plans found before are "
                    "written).")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--n", type=whole_number(1), default=10, metavar="N",
                   help="plans wanted (default 10)")
    p.add_argument("--gap", type=_share("--gap", example="0.02"), default=0.02,
                   help="largest distance of a plan's objective from the best, as a share "
                        "(default 0.02 = 2%%)")
    p.add_argument("--min-distance", type=whole_number(1), default=1, metavar="UNITS",
                   help="least number of units in which every two plans differ (default 1)")
    p.add_argument("--method", choices=("gap", "shuffle"), default="gap",
                   help="gap (default): plans apart within --gap; shuffle: --n solves in random "
                        "unit orders, duplicates dropped")
    p.add_argument("--seed", type=whole_number(0), default=0,
                   help="shuffle: seed of the unit orders (default 0)")
    p.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                   help="shuffle: local processes for the solves (default 1), or the workers "
                        "of --scheduler local")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="shuffle: solve on Dask: 'local' (a LocalCluster of --workers) or a "
                        "scheduler, tcp://host:8786")
    p.add_argument("--time-limit-per-plan", type=_positive("--time-limit-per-plan", "30"),
                   default=None, metavar="SECONDS",
                   help="seconds for each plan's solve (default the scenario's [solver] "
                        "time_limit)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key (e.g. --set budget.share=0.1; a path is "
                        "relative to the current folder); repeatable")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not a portfolio written by carbonpark")
    p.set_defaults(func=cmd_portfolio, time_limit_option="--time-limit-per-plan")


def cmd_portfolio(args: argparse.Namespace) -> int:
    """Load the scenario, find the portfolio, write it; print its table and summary."""
    from optimizer.atomic import check_output_dir
    from optimizer.cli.solve import _inputs, _scenario_with_overrides
    from optimizer.errors import InputDataError
    from optimizer.scenario.zone_tables import refuse_zones
    from optimizer.studies.portfolio import OUTPUT_KIND, portfolio

    t0 = time.perf_counter()
    if args.method == "gap" and (args.workers > 1 or args.scheduler is not None):
        raise InputDataError("--workers and --scheduler apply to --method shuffle: the gap "
                             "portfolio is sequential (each plan excludes the earlier ones); "
                             "drop them or add --method shuffle")
    if args.scheduler is not None:  # before any work: a wrong address leaves nothing
        from optimizer.distributed import check_scheduler

        args.scheduler = check_scheduler(args.scheduler, error=InputDataError)
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=[args.scenario])
    scenario, _ = _scenario_with_overrides(args)
    inputs = [args.scenario, *_inputs(scenario)]
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=inputs)
    refuse_zones(scenario, "carbonpark portfolio")  # before any work
    problem = scenario.to_problem(scenario.load_grid())
    sv = scenario.solver
    limit = args.time_limit_per_plan or sv.time_limit
    if args.method == "shuffle":
        from optimizer.studies.portfolio_shuffle import shuffle_portfolio

        pf = shuffle_portfolio(problem, args.n, solver=sv.backend, solve_gap=sv.gap,
                               seed=args.seed, time_limit_per_plan=limit,
                               workers=args.workers, scheduler=args.scheduler, progress=True)
    else:
        pf = portfolio(problem, args.n, gap=args.gap, min_distance=args.min_distance,
                       solver=sv.backend, solve_gap=sv.gap, time_limit_per_plan=limit,
                       progress=True)
    pf.write(args.out, overwrite=args.overwrite, inputs=inputs)
    print(pf.table.to_string(index=False, formatters={
        "objective": "{:.6g}".format, "gap_to_best_pct": "{:.3f}".format,
        "new_km2": "{:,.0f}".format, "gap": lambda g: f"{g:.3%}"}))
    print(pf.summary())
    print(f"portfolio: wrote portfolio.csv, frequency.csv, portfolio.json to {args.out}; "
          f"{time.perf_counter() - t0:.1f} s")
    if pf.interrupted:
        print(f"carbonpark: portfolio interrupted (Ctrl-C): {pf.why}; the plans before are "
              f"written to {args.out}", file=sys.stderr)
        return 130
    return 0
