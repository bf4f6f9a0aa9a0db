"""``carbonpark importance``: the importance of each unit of a solve folder's plan
(`optimizer.studies.importance`: replacement, Ferrier or rank), as a table, its facts, a
map, a GeoPackage layer and a GeoTIFF layer."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.cli.parser import _positive, _share, whole_number


def _add_importance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "importance", help="how much each unit of a plan matters (replacement cost, Ferrier "
                           "irreplaceability or rank)",
        description="replacement (default): solve the plan's problem again without each unit "
                    "it adds, and write how much worse the best plan without the unit is (in "
                    "the objective's unit, its proven bounds and as %% of the objective); "
                    "ferrier: Ferrier irreplaceability per target feature and in total (min "
                    "set plans); rank: the budget increment at which each unit enters. Writes "
                    "importance.csv, importance.json, importance.png (a map), importance.gpkg "
                    "(layer 'importance') and importance.tif on square grids. Exit codes: 0 "
                    "written, 2 bad input, 130 interrupted (nothing written).")
    p.add_argument("solution", type=Path, help="folder written by `carbonpark solve`")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--method", choices=("replacement", "ferrier", "rank"),
                   default="replacement", help="importance method (default replacement)")
    p.add_argument("--increments", type=whole_number(1), default=10,
                   help="rank: number of budget increments (default 10)")
    p.add_argument("--gap", type=_share("--gap", example="0.001"), default=None,
                   help="relative gap of each re-solve (default the scenario's [solver] gap; "
                        "0 for exact replacement costs)")
    p.add_argument("--time-limit-per-unit", type=_positive("--time-limit-per-unit", "10"),
                   default=None, metavar="SECONDS",
                   help="seconds for each re-solve (default the scenario's [solver] time_limit)")
    p.add_argument("--workers", type=whole_number(1), default=1,
                   help="local processes re-solving at once (default 1; replacement only)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="'local' (a dask LocalCluster of --workers processes) or a Dask "
                        "scheduler, tcp://host:8786 (replacement only)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not an importance output written by "
                        "carbonpark")
    p.set_defaults(func=cmd_importance, time_limit_option="--time-limit-per-unit")


def cmd_importance(args: argparse.Namespace) -> int:
    """Read the solve folder, compute the importance, write it; print its summary."""
    import numpy as np

    from optimizer.atomic import check_output_dir
    from optimizer.figures.maps import importance_map
    from optimizer.outputs.gis import write_importance_gpkg, write_importance_tif
    from optimizer.outputs.solve_folder import read_solution, solve_folder_inputs
    from optimizer.scenario.zone_tables import refuse_zones
    from optimizer.studies.importance import OUTPUT_KIND, importance

    if args.scheduler is not None:  # before any work: a wrong address leaves nothing
        from optimizer.distributed import check_scheduler
        from optimizer.errors import InputDataError

        args.scheduler = check_scheduler(args.scheduler, error=InputDataError)
    inputs = solve_folder_inputs(args.solution)
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite, inputs=inputs)
    folder = read_solution(args.solution)
    refuse_zones(folder.scenario, "carbonpark importance")  # before any solve
    sv = folder.scenario.solver
    gap = sv.gap if args.gap is None else args.gap
    limit = args.time_limit_per_unit or sv.time_limit
    imp = importance(folder.problem, folder.x, method=args.method, solver=sv.backend, gap=gap,
                     time_limit_per_unit=limit, workers=args.workers,
                     scheduler=args.scheduler, progress=True, increments=args.increments)
    square = folder.pu.meta.get("square_grid") is not None
    column = "importance_pct" if args.method == "replacement" else "importance"

    def extra(out: Path) -> None:
        value = imp.table[column].to_numpy(np.float64)
        if square:
            write_importance_tif(folder.problem, value, out / "importance.tif",
                                 method=args.method)
        write_importance_gpkg(folder.pu.units, imp.table, out / "importance.gpkg")
        units = folder.pu.units.assign(pa_fraction=folder.problem.protected_fraction)
        shown = imp.table["added"].to_numpy(bool) | (value != 0)
        fig = importance_map(units, value, shown, geometry=folder.pu.units.geometry,
                             method=args.method)
        fig.savefig(out / "importance.png", dpi=120)

    imp.write(args.out, overwrite=args.overwrite, inputs=inputs, extra=extra)
    print(imp.summary())
    for note in imp.notes:
        print(f"  (note: {note})")
    files = ["importance.csv", "importance.json", "importance.png", "importance.gpkg",
             *(["importance.tif"] if square else [])]
    print(f"importance: wrote {', '.join(files)} to {args.out} in {imp.seconds:.1f} s")
    return 0
