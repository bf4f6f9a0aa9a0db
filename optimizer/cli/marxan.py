"""``carbonpark marxan``: solve a Marxan project exactly and write Marxan's outputs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from optimizer.cli.deadline import Deadline, write_reserve
from optimizer.cli.parser import _interrupted

#: Defaults of ``carbonpark marxan``: every shipped example and real Marxan project ends
#: within minutes with its proven gap printed (measured: see the commit message / README).
MARXAN_TIME_LIMIT = 300.0
MARXAN_GAP = 1e-3


def _add_marxan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("marxan", help="solve a Marxan project exactly and write Marxan's outputs",
                       description="Solve a Marxan project exactly (min set + boundary penalty) "
                                   "and write Marxan's output files; or, with --score-only, "
                                   "score a Marxan solution as Marxan scores it.")
    p.add_argument("input_dat", type=Path, help="the project's input.dat (or its folder)")
    p.add_argument("--blm", type=float, default=None, help="boundary length modifier, >= 0 "
                   "(default: BLM of input.dat)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: OUTPUTDIR of input.dat)")
    p.add_argument("--time-limit", type=float, default=MARXAN_TIME_LIMIT, metavar="SECONDS",
                   help="limit for the whole command, from its start: start-up, reading, "
                        "solving, scoring and writing; the solver gets what reading leaves, "
                        f"less a reserve for writing (default {MARXAN_TIME_LIMIT:g} s)")
    p.add_argument("--gap", type=float, default=MARXAN_GAP,
                   help="relative optimality gap to prove; the solve stops there, or at the time "
                        f"limit with the gap it proved (default {MARXAN_GAP:g}, i.e. "
                        f"{MARXAN_GAP * 100:g}%%; 0 asks for a proven optimum)")
    p.add_argument("--solver", choices=("auto", "highs", "cut"), default="auto",
                   help="auto (default: chosen by the model's structure, the graph-cut solver "
                        "and HiGHS at once on two cores; the choice is printed), highs, or the "
                        "graph-cut solver")
    p.add_argument("--compare", type=Path, default=None, metavar="MARXAN_BEST_FILE",
                   help="a Marxan solution file (e.g. output_best.csv) to score beside ours")
    p.add_argument("--overwrite", action="store_true",
                   help="replace output files carbonpark did not write (e.g. Marxan's own "
                        "output_best.csv); never the project's inputs")
    p.add_argument("--score-only", action="store_true",
                   help="with --compare: only score that Marxan solution as Marxan scores it "
                        "(at --blm, default BLM of input.dat); no solve, no files written")
    p.set_defaults(func=cmd_marxan, time_limit_option="--time-limit")


def _money(value: float) -> str:
    """A score or cost in full: thousands separators and 2 decimals (95,724,196.31)."""
    return f"{value:,.2f}"


def _print_marxan_score(score: dict, blm: float) -> None:
    print(f"score {_money(score['score'])} = cost {_money(score['cost'])} + BLM {blm:g} x "
          f"boundary {_money(score['boundary'])} + penalty {_money(score['penalty'])}; "
          f"{score['units']:,} units selected")


def _compare_table(table) -> str:
    """The --compare table: counts as integers, MPM with 4 decimals, the rest in full."""
    counts = {"targets_met", "missing_values", "units"}
    text = table.copy().astype(object)
    for metric in table.index:
        fmt = ("{:,.0f}" if metric in counts else "{:.4f}" if metric == "mpm" else "{:,.2f}")
        text.loc[metric] = [fmt.format(v) for v in table.loc[metric]]
    return text.to_string()


def cmd_marxan(args: argparse.Namespace) -> int:
    """Read a Marxan project, solve it with our solver, write Marxan-format outputs.

    With ``--score-only`` (and ``--compare FILE``), score Marxan's plan only. The time
    limit covers the whole command from the process's start (`optimizer.cli.deadline`):
    the solver gets what start-up, reading and compiling leave, less a reserve for
    scoring and writing, and the timings printed say what each part took.

    The project is compiled straight from its tables (`optimizer.io.marxan.marxan_model`)
    and solved as a model (`optimizer.plan.solving.solve_model`): no pandas, geopandas or
    shapely is imported unless ``--compare`` prints its table or a project without a plan
    needs the `Problem`'s diagnosis (start-up, issue 23 item 6).
    """
    from optimizer.errors import InfeasibleProblemError, InputDataError
    from optimizer.io.marxan import (
        NO_BLM_NOTE,
        check_marxan_outputs,
        feature_penalties,
        marxan_model,
        marxan_score,
        read_marxan,
        write_marxan_outputs,
    )
    from optimizer.io.marxan.model import marxan_penalty, unreachable_targets
    from optimizer.io.marxan.score import plan_selection
    from optimizer.plan.solving import diagnose, solve_model

    t0 = time.perf_counter()
    started = getattr(args, "started", t0)
    limit = args.time_limit
    if not (limit > 0 and limit != float("inf")):
        raise InputDataError(f"--time-limit must be a positive number of seconds; got {limit:g}")
    if not 0 <= args.gap < 1:
        raise InputDataError(f"--gap must be a relative gap in [0, 1); got {args.gap:g}; write "
                             "0.1% as 0.001")
    if args.score_only and args.compare is None:
        raise InputDataError("--score-only scores a Marxan solution file: give it with "
                             "--compare FILE (e.g. output/output_best.csv)")
    if args.blm is not None and not (args.blm >= 0 and args.blm != float("inf")):
        raise InputDataError(f"--blm must be a number >= 0 (the boundary length modifier; 0 "
                             f"turns the boundary penalty off); got {args.blm:g}")
    project = read_marxan(args.input_dat)
    out = args.out if args.out is not None else project.output_dir
    if not args.score_only:  # writes nothing
        check_marxan_outputs(project, out, scenario=project.scenario,
                             save_format=project.save_format, overwrite=args.overwrite,
                             inputs=[args.compare] if args.compare else [])
    blm = project.blm if args.blm is None else args.blm
    no_blm = NO_BLM_NOTE.format(name=project.path.name)
    for note in project.notes:
        if note != no_blm or args.blm is None:
            print(f"note: {note}")
    # Marxan's plan read once, before our files are written (0/1 in pu.dat order, no pandas).
    theirs = plan_selection(project, args.compare) if args.compare is not None else None
    if theirs is not None:
        marxan_score(project, theirs, blm=blm)  # a plan that does not fit fails before solving
    print(f"marxan project {project.path}: {project.n_units:,} units, {len(project.spec)} "
          f"features, BLM {blm:g}")
    if args.score_only:
        score = marxan_score(project, theirs, blm=blm)
        print(f"Marxan's plan {args.compare}, scored as Marxan scores it:")
        _print_marxan_score(score, blm)
        print(f"targets met: {score['targets_met']}/{score['features']}; shortfall "
              f"{_money(score['shortfall'])}, MPM {score['mpm']:.4f}; no solve, no files "
              f"written; {time.perf_counter() - t0:.1f} s")
        return 0
    model = marxan_model(project, blm)  # compile(project.to_problem(blm)), from the tables
    feature_penalties(project, blm)  # Marxan's penalties: part of reading, not of the solve
    deadline = Deadline(started, limit)
    t_start, t_read = t0 - started, time.perf_counter() - t0
    budget = deadline.solve_budget(write_reserve(project.n_units))
    print(f"solving with {args.solver}: gap {args.gap:g}, up to {budget:.1f} s of the {limit:g} "
          f"s limit (Ctrl-C stops and keeps the best plan so far)", flush=True)
    t1 = time.perf_counter()
    if unreachable_targets(project).any():  # rare: the Problem's diagnosis words the message
        found = diagnose(project.to_problem(blm))
        if found:
            raise InfeasibleProblemError("; ".join(found))
    sol = solve_model(model, args.solver, boundary_penalty=marxan_penalty(project, blm),
                      explain=lambda: diagnose(project.to_problem(blm), after_solve=True),
                      gap=args.gap, time_limit=budget)
    if "auto" in sol.info:
        print(sol.info["auto"])
    t_solve = time.perf_counter() - t1
    score = marxan_score(project, sol)
    files = write_marxan_outputs(project, sol, out, scenario=project.scenario,
                                 save_format=project.save_format, overwrite=args.overwrite)
    table = None
    if theirs is not None:
        from optimizer.io.marxan import compare_with_marxan  # pandas, for --compare only

        table = compare_with_marxan(project, theirs, sol)
    t_write = time.perf_counter() - t1 - t_solve
    _print_marxan_score(score, blm)
    print(f"targets met: {score['targets_met']}/{score['features']}; status {sol.describe()}")
    print(f"start-up {t_start:.1f} s, read {t_read:.1f} s, solve {t_solve:.1f} s, score and "
          f"write {t_write:.1f} s; {deadline.outcome()}"
          + (f" (the solver was given {budget:.1f} s)" if deadline.left() < 0 else ""))
    print(f"wrote {len(files)} Marxan files to {out} ({files['best'].name}, "
          f"{files['sum'].name}, ...)")
    if table is not None:
        print(f"\ncompared with {args.compare} (both scored as Marxan scores, BLM {blm:g}):")
        print(_compare_table(table))
    return 130 if _interrupted(sol) else 0
