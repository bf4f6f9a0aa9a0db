"""``carbonpark solve``: solve a scenario file and write the plan, its summary and its gap closure."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from optimizer.cli.deadline import Deadline, write_reserve
from optimizer.cli.parser import _interrupted

#: How a scenario's time limit is raised, in the words of ``carbonpark solve``'s messages.
SOLVE_TIME_LIMIT_OPTION = "the scenario's [solver] time_limit (or --set solver.time_limit=SECONDS)"
#: Writing a solve folder (gap closure, solution.parquet, summary, tables) costs this many
#: times what Marxan's files cost (`write_reserve`).
SOLVE_WRITE_FACTOR = 3.0


def _add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="solve a scenario file; write the plan and its gap closure",
                       description="Solve a scenario file and write solution.parquet, "
                                   "summary.json, representation.csv and the gap closure "
                                   "tables. Exit codes: 0 a plan, 1 no plan (infeasible), 2 bad "
                                   "input.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key by its dotted path, the value as TOML (e.g. "
                        "--set budget.share=0.1; a path is relative to the current folder); "
                        "repeatable")
    p.add_argument("--target", type=float, default=None,
                   help="gap closure: target protected share of ecosystems and species "
                        "(default: the scenario's closure.target, 0.3)")
    p.add_argument("--curves", action="store_true",
                   help="also write the performance curves, curves.csv and curves.png: the "
                        "share of each feature held as protection grows along the plan's "
                        "priority rank (the plan's own point without a rank)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not a solve output written by carbonpark")
    p.set_defaults(func=cmd_solve, time_limit_option=SOLVE_TIME_LIMIT_OPTION)


def _scenario_with_overrides(args: argparse.Namespace):
    from optimizer.scenario import Scenario
    from optimizer.scenario.overrides import apply_overrides

    return apply_overrides(Scenario.load(args.scenario), args.sets)


def _inputs(scenario) -> list[Path]:
    """What the scenario reads (file, grid or manifest, layers, cache): never an output."""
    from optimizer.scenario.inputs import scenario_inputs

    return scenario_inputs(scenario)


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def print_summary(summary: dict) -> None:
    """The plan as a readable table: full numbers, thousands separators, units in headers.

    Labels, units and formats come from `optimizer.plan.quantities.QUANTITIES`, as in
    ``summary.json``'s ``definitions`` and the report.
    """
    from optimizer.plan.quantities import QUANTITIES as Q

    def row(name: str, label: str | None = None) -> tuple[str, str]:
        q = Q[name]
        return (label or q.header(q.latest(summary)), q.text(summary))

    def pair(a: str, b: str, label: str) -> tuple[str, str]:
        return (label, f"{Q[a].text(summary)} / {Q[b].text(summary)}")

    rows: list[tuple[str, str]] = [
        row("status_text"),
        row("objective"),
        row("new_km2"),
        # Its own line: budget spent completing existing protected units the plan locks in.
        row("new_km2_in_existing_units", "  " + Q["new_km2_in_existing_units"].header()),
        *([row("new_km2_in_locked_in_units", "  " + Q["new_km2_in_locked_in_units"].header())]
          if summary.get("new_km2_in_locked_in_units") else []),
        row("new_share_of_land"),
        # Each cost budget: the plan's cost / the budget, in the cost layer's unit.
        *[(f"{Q['cost_spent'].label} / {Q['cost_max'].label}, {name} ({c['unit']})",
           f"{Q['cost_spent'].text(summary, cost=name)} / {Q['cost_max'].text(summary, cost=name)}")
          for name, c in (summary.get("costs") or {}).items()],
        pair("units_added", "units_existing", "units added / existing"),
        pair("patches", "largest_patch_km2",
             f"patches / largest ({Q['largest_patch_km2'].unit_text})")]
    added = summary["added"]
    if "carbon_stock_total" in added:
        rows += [row("carbon_stock_added"), row("carbon_stock_added_co2e")]
    # The words of the comparison table and the report: protection adds NPP to the network,
    # and holds emissions inside it (it does not add them).
    if "carbon_uptake" in added:
        rows.append(row("npp_added"))
        if Q["npp_added_co2e"].value(summary) is not None:
            rows.append(row("npp_added_co2e"))
    if "emissions" in added:
        rows.append(row("emissions_inside"))
    b = summary.get("boundary") or {}
    if b.get("penalty") is not None:  # scale-free compactness and the absolute penalty
        c = "none (absolute penalty)" if b["compactness"] is None else f"{b['compactness']:g}"
        rows.append(("boundary: compactness / penalty (per km)",
                     f"{c} / {b['penalty']:.3g} (break-even {b['break_even']:.3g}, "
                     f"{b['penalty'] / b['break_even'] if b['break_even'] else float('nan'):.3g}"
                     " × it)"))
    conn = summary.get("connectivity") or {}
    if conn.get("penalty"):  # the connectivity kept and what the penalty adds to the objective
        rows.append(("connectivity kept / term", f"{Q['connectivity_kept'].text(summary)} / "
                     f"{conn['term']:.4g} (penalty {conn['penalty']:g})"))
    rows.append((f"species meeting the {summary['gap_closure']['target']:.0%} target (count)",
                 f"{Q['species_met_before'].text(summary)} -> "
                 f"{Q['species_met_after'].text(summary)} of "
                 f"{Q['species_features'].text(summary)}"))
    # Each lock: how many units it locks (a polygon lock: the units its file covers enough).
    rows += [(f"locked {lk['locked']}: {label}",
              f"{Q['lock_units'].text(summary, lock=label)} units "
              f"({Q['lock_km2'].with_unit(summary, lock=label)})")
             for label, lk in (summary.get("locks") or {}).items()]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    _print_zones(summary)
    _print_regions(summary)
    gc = summary["gap_closure"]
    if gc["density_ratio"]:
        print("\n  density inside protection ÷ study area (×)   before    after")
        for layer, d in gc["density_ratio"].items():
            print(f"    {layer + ' (' + d['quantity'] + ')':<42} {_fmt(d['before'], '8.2f')} "
                  f"{_fmt(d['after'], '8.2f')}")
    eco = gc["ecosystems"]
    if eco["by_class"]:
        # The counted classes, their total (the headline), then the rest, flagged; the
        # definition says which classes count and why.
        head = f"ecosystem shortfall vs the {100 * gc['target']:g}% target"
        print(f"\n  {head:<33}{'before (km²)':>14} {'closed (km²)':>14} {'closed (%)':>12}")
        counted = [(n, e) for n, e in eco["by_class"].items() if e.get("counted", True)]
        others = [(n, e) for n, e in eco["by_class"].items() if not e.get("counted", True)]
        for label, e in [*counted, ("counted classes", eco),
                         *((f"{n} (not counted)", e) for n, e in others)]:
            print(f"    {label:<30} {_fmt(e['shortfall_before_km2'], '14,.0f')} "
                  f"{_fmt(e['closed_km2'], '14,.0f')} {_fmt(e['closed_pct'], '12.1f')}")
        if eco.get("definition"):
            print(textwrap.fill(f"({eco['definition']})", width=100, initial_indent="    ",
                                subsequent_indent="     "))
    if gc["hotspots_protected_share"]:
        print("\n  unprotected hotspots the plan protects (% of their area)")
        for crit, share in gc["hotspots_protected_share"].items():
            print(f"    {crit:<30} {_fmt(None if share is None else 100 * share, '8.1f')}")


def _print_zones(summary: dict) -> None:
    """Each management zone's units, new km² and perimeter (summary.json's zones)."""
    from optimizer.plan.quantities import QUANTITIES as Q

    zones = summary.get("zones") or {}
    if not zones:
        return
    cols = [Q["zone_units"], Q["zone_new_km2"], Q["zone_perimeter_km"]]
    width = max(28, *(len(n) for n in zones))
    print(f"\n  {'by zone':<{width + 2}} " + "  ".join(f"{q.header():>24}" for q in cols))
    for name in zones:
        print(f"    {name:<{width}} "
              + "  ".join(f"{q.text(summary, zone=name):>24}" for q in cols))


def _print_regions(summary: dict) -> None:
    """New protection per region against each region budget (summary.json's regions)."""
    from optimizer.plan.quantities import QUANTITIES as Q

    regions = summary.get("regions") or {}
    if not regions:
        return
    new, cap, stock = Q["region_new_km2"], Q["region_max_km2"], Q["region_carbon_stock_added"]
    # The budget column only where the scenario sets a region budget.
    capped = {n: cap.value(summary, region=n) is not None for n in regions}
    width = max(28, *(len(n) for n in regions))
    heads = [new.header(), *[cap.header()] * any(capped.values()), stock.header()]
    print(f"\n  {'by region':<{width + 2}} " + "  ".join(f"{h:>26}" for h in heads))
    for name in regions:
        cells = [new.text(summary, region=name),
                 *[cap.text(summary, region=name) if capped[name] else "no cap"]
                 * any(capped.values()),
                 stock.text(summary, region=name)]
        print(f"    {name:<{width}} " + "  ".join(f"{c:>26}" for c in cells))


def cmd_solve(args: argparse.Namespace) -> int:
    """Load the scenario (with --set overrides), solve, write the outputs, print the table."""
    from optimizer.atomic import check_output_dir
    from optimizer.errors import InfeasibleProblemError, InputDataError
    from optimizer.model.compile import compile
    from optimizer.model.zones_compile import compile_zones
    from optimizer.outputs.solve_folder import OUTPUT_KIND, write_solution
    from optimizer.plan.closure import counted_ecosystems, gap_closure
    from optimizer.plan.results import solve
    from optimizer.plan.zoned import solve_zones
    from optimizer.scenario.build import solver_options
    from optimizer.scenario.messages import blame_scenario

    t0 = time.perf_counter()
    started = getattr(args, "started", t0)
    if args.target is not None and not 0 <= args.target <= 1:
        raise InputDataError(f"--target must be a share in [0, 1]; got {args.target:g}; write "
                             "30% as 0.3")
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=[args.scenario])
    scenario, overrides = _scenario_with_overrides(args)
    inputs = [args.scenario, *_inputs(scenario)]  # the file too when --set renamed its source
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=inputs)
    pu = scenario.load_grid()
    problem = scenario.to_problem(pu)
    target = scenario.closure.target if args.target is None else args.target
    with blame_scenario(scenario, "closure"):  # its classes, checked before the solve
        counted_ecosystems(pu, scenario.closure.ecosystems, target=target)
    print(scenario.describe(pu))
    for key, value in overrides.items():
        print(f"  --set {key} = {value!r}")
    options = solver_options(scenario)
    # Zones: checked (features, locks, budgets) before any solve.
    zp = scenario.to_zoned_problem(pu, problem) if scenario.zones else None
    model = None
    zoned_model = None
    deadline = None
    if "time_limit" in options:
        # The scenario's time limit covers the whole command, from its start: the solver
        # gets what loading and compiling leave, less a reserve for the outputs.
        deadline = Deadline(started, options["time_limit"])
        if zp is not None:
            zoned_model = compile_zones(zp)
        else:
            model = compile(problem)
        options["time_limit"] = deadline.solve_budget(
            SOLVE_WRITE_FACTOR * write_reserve(problem.n_units))
    zoned = None
    with blame_scenario(scenario, "solver"):
        try:
            if zp is not None:
                zoned = (zp, solve_zones(zp, scenario.solver.backend, model=zoned_model,
                                         **options))
                sol = zoned[1].solution
            else:
                sol = solve(problem, scenario.solver.backend, model=model, **options)
        except InfeasibleProblemError as exc:
            print(f"carbonpark: no plan: {exc}".replace("\n", " "), file=sys.stderr)
            return 1
    if "auto" in sol.info:
        print(sol.info["auto"])
    closure = gap_closure(pu, problem, sol, target=target,
                          ecosystems=scenario.closure.ecosystems)
    curves = None
    if getattr(args, "curves", False):
        from optimizer.plan.curves import curves_for_plan

        # The rank's path gets what the solve left of the time limit (the plan is the same
        # with or without --curves).
        left = (None if deadline is None else
                deadline.solve_budget(SOLVE_WRITE_FACTOR * write_reserve(problem.n_units)))
        curves = curves_for_plan(problem, sol.x, time_limit=left)
        print(f"curves: {curves[1]}")
    summary = write_solution(sol, problem, args.out, scenario=scenario, closure=closure,
                             overrides=overrides, seconds=time.perf_counter() - t0,
                             overwrite=args.overwrite, inputs=inputs, curves=curves,
                             zoned=zoned)
    print_summary(summary)
    print("\n  every number above is defined, with its unit, in summary.json's \"definitions\"")
    whole = (f"{time.perf_counter() - t0:.1f} s in all" if deadline is None else
             deadline.outcome().replace("total ", "", 1).replace(" s", " s in all", 1))
    print(f"\nscenario hash {summary['scenario']['hash'][:16]}; solved in "
          f"{sol.runtime:.{2 if sol.runtime < 10 else 0}f} s, {whole}; wrote {args.out}")
    return 130 if _interrupted(sol) else 0
