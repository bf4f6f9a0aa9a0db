"""``carbonpark importance``: the replacement importance of each unit a solve folder's plan
adds (`optimizer.studies.importance`), as a table, its facts and a GeoTIFF layer."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.cli.parser import _positive, _share, whole_number


def _add_importance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "importance", help="how much each added unit of a plan matters (replacement cost)",
        description="Solve the plan's problem again without each unit it adds, and write how "
                    "much worse the best plan without the unit is (importance.csv: in the "
                    "objective's unit, its proven bounds and as %% of the objective; "
                    "importance.json; importance.png, a map of it; importance.tif on square "
                    "grids). Exit codes: 0 written, 2 bad input, 130 interrupted (nothing "
                    "written).")
    p.add_argument("solution", type=Path, help="folder written by `carbonpark solve`")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--gap", type=_share("--gap", example="0.001"), default=None,
                   help="relative gap of each re-solve (default the scenario's [solver] gap; "
                        "0 for exact replacement costs)")
    p.add_argument("--time-limit-per-unit", type=_positive("--time-limit-per-unit", "10"),
                   default=None, metavar="SECONDS",
                   help="seconds for each re-solve (default the scenario's [solver] time_limit)")
    p.add_argument("--workers", type=whole_number(1), default=1,
                   help="local processes re-solving at once (default 1)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="'local' (a dask LocalCluster of --workers processes) or a Dask "
                        "scheduler, tcp://host:8786")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not an importance output written by "
                        "carbonpark")
    p.set_defaults(func=cmd_importance, time_limit_option="--time-limit-per-unit")


def cmd_importance(args: argparse.Namespace) -> int:
    """Read the solve folder, compute the importance, write it; print its summary."""
    import numpy as np

    from optimizer.atomic import check_output_dir
    from optimizer.figures.maps import importance_map
    from optimizer.outputs.gis import write_importance_tif
    from optimizer.outputs.solve_folder import read_solution, solve_folder_inputs
    from optimizer.studies.importance import OUTPUT_KIND, importance

    if args.scheduler is not None:  # before any work: a wrong address leaves nothing
        from optimizer.distributed import check_scheduler
        from optimizer.errors import InputDataError

        args.scheduler = check_scheduler(args.scheduler, error=InputDataError)
    inputs = solve_folder_inputs(args.solution)
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=inputs)
    folder = read_solution(args.solution)
    sv = folder.scenario.solver
    gap = sv.gap if args.gap is None else args.gap
    limit = args.time_limit_per_unit or sv.time_limit
    imp = importance(folder.problem, folder.x, solver=sv.backend, gap=gap,
                     time_limit_per_unit=limit, workers=args.workers,
                     scheduler=args.scheduler, progress=True)
    square = folder.pu.meta.get("square_grid") is not None

    def extra(out: Path) -> None:
        pct = imp.table["importance_pct"].to_numpy(np.float64)
        if square:
            write_importance_tif(folder.problem, pct, out / "importance.tif")
        units = folder.pu.units.assign(pa_fraction=folder.problem.protected_fraction)
        fig = importance_map(units, pct, imp.table["added"].to_numpy(bool),
                             geometry=folder.pu.units.geometry)
        fig.savefig(out / "importance.png", dpi=120)

    imp.write(args.out, overwrite=args.overwrite, inputs=inputs, extra=extra)
    print(imp.summary())
    for note in imp.notes:
        print(f"  (note: {note})")
    files = ["importance.csv", "importance.json", "importance.png",
             *(["importance.tif"] if square else [])]
    print(f"importance: wrote {', '.join(files)} to {args.out} in {imp.seconds:.1f} s")
    return 0
