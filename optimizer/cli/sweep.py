"""``carbonpark sweep``: run a sweep file (a base scenario × parameters) into a results folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optimizer.cli.parser import whole_number


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a sweep file: one Parquet part per run, resumable")
    p.add_argument("file", type=Path, help="sweep file (TOML): base scenario and parameters")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="results folder (DIR/runs/*.parquet); an earlier sweep there is resumed")
    p.add_argument("--workers", type=whole_number(1), default=None, metavar="N",
                   help="local processes, or LocalCluster workers (default: the CPUs)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="'local' (a dask LocalCluster) or a Dask scheduler, tcp://host:8786")
    p.add_argument("--no-progress", action="store_true", help="print no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="replace DIR even when it is not an earlier sweep folder")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run every unfinished run of the sweep; print the table of runs and what was resumed.

    Ctrl-C: one line saying how many finished runs are kept, exit code 130."""
    from optimizer.atomic import check_output_dir
    from optimizer.studies.sweep import KIND, Sweep, format_runs, run_sweep

    check_output_dir(args.out, KIND, overwrite=args.overwrite, inputs=[args.file])
    sweep = Sweep.load(args.file)
    # The sweep file, its base and every run's scenario inputs, even with --overwrite.
    check_output_dir(args.out, KIND, overwrite=args.overwrite, inputs=sweep.inputs)
    if args.scheduler is not None:  # before the folder is made: a wrong address leaves nothing
        from optimizer.distributed import check_scheduler
        from optimizer.errors import ScenarioError

        args.scheduler = check_scheduler(args.scheduler, error=ScenarioError)
    print(sweep.describe())
    try:
        df = run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler,
                       progress=not args.no_progress, overwrite=args.overwrite)
    except KeyboardInterrupt:
        kept = sum((args.out / "runs" / f"{r.hash}.parquet").is_file() for r in sweep.runs)
        print(f"carbonpark: interrupted: the queued runs were cancelled; {kept:,} finished "
              f"run{'s are' if kept != 1 else ' is'} kept in {args.out}/runs: run the same "
              "command again to resume the rest", file=sys.stderr)
        return 130
    if len(df):
        print(format_runs(df))
    # What `auto` chose for the runs (one backend at a time: the runs share the cores).
    for line, n in (df["solver_choice"].value_counts().items() if len(df) else ()):
        if line:
            print(f"{line}: {n:,} run{'s' if n != 1 else ''}")
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    status = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()))
    resumed = int(df["resumed"].sum()) if len(df) else 0
    solved = len(df) - resumed
    path = df["method"].str.startswith("path:") & ~df["resumed"] if len(df) else []
    polished = int((path & df["strategy"].str.contains("highs")).sum()) if len(df) else 0
    how = (f" ({int(sum(path)):,} read from the nested path, {polished:,} of them polished by a "
           "HiGHS solve warm-started from the path's plan)" if len(df) and any(path) else "")
    redone = int(df.attrs.get("redone", 0))
    again = (f", {redone:,} of them again (their parts were damaged)" if redone else "")
    print(f"{len(df):,} of {len(sweep.runs):,} runs in {args.out}/runs ({status}): "
          f"{resumed:,} resumed (finished by an earlier run of this sweep), {solved:,} solved"
          f"{how}{again}.")
    infeasible = df[df["status"] == "infeasible"] if len(df) else df
    if len(infeasible):
        first = infeasible.iloc[0]
        print(f"{len(infeasible):,} of {len(df):,} runs infeasible: no plan meets their settings "
              f"(each run's reason is in its message column); run {int(first['run'])} "
              f"({first['name']}): {first['message']}")
    return 0
