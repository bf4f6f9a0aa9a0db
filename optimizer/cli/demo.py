"""``carbonpark demo``: the main job on the embedded demo country.

Grid, gap analysis, a max utility plan, then the same plan made compact with a boundary
penalty. The demo's modelling choices (`DEMO_WEIGHTS`, `DEMO_BOUNDARY_PENALTY`) live
here, each with the reason for its value.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optimizer.cli import gap as gap_command
from optimizer.cli import grid as grid_command
from optimizer.cli.parser import _interrupted, _share, add_grid_options
from optimizer.errors import OptimizerError

# Weights of the demo plan: carbon and biodiversity count equally; emissions inside a
# candidate unit count against it (a park next to a power plant protects less).
DEMO_WEIGHTS = {"carbon": 1.0, "biodiversity": 1.0, "emissions": -0.5}


# Boundary penalty of the demo's compact plan, per km of plan edge. The plan's utility
# is about 0.4 (shares of carbon and species ranges), its edge about 15,000 km, so the
# penalty is about a third of the objective: strong enough to merge scattered units.
DEMO_BOUNDARY_PENALTY = 1e-5


def _repo_data() -> Path:
    """The repository's ``data/`` folder (demo inputs), found from the package or the CWD."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (base / "data" / "demo.toml").exists():
            return base / "data"
    raise OptimizerError("cannot find data/demo.toml; run from the carbonpark repository "
                         "or pass --manifest")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on the embedded demo country")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--budget-share", type=_share("--budget-share", open_low=True, example="0.05"),
                   default=0.05,
                   help="new protection allowed, as a share of the land (default 0.05)")
    add_grid_options(p, cell_km_help="grid cell size (km)", overwrite_help=(
        "replace --out/grid and --out/gap even if carbonpark did not write them"))
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo grid (and, as later stages land, the whole pipeline)."""
    from optimizer._atomic import check_output_dir
    from optimizer.grid import write_grid

    t0 = time.perf_counter()
    manifest = _repo_data() / "demo.toml"
    inputs = [*grid_command._manifest_inputs(manifest), manifest.parent / "demo"]
    for part, kind in (("grid", "grid"), ("gap", "gap")):
        check_output_dir(args.out / part, kind, overwrite=args.overwrite, inputs=inputs)
    print(f"carbonpark demo: building the planning grid from {manifest}")
    pu = grid_command._build_from_manifest(manifest, args.cell_km, progress=sys.stderr.isatty(),
                                           max_units=args.max_units)
    grid_dir = write_grid(pu, args.out / "grid", overwrite=args.overwrite)
    grid_command._print_grid_summary(pu)
    print(f"grid written to {grid_dir} in {time.perf_counter() - t0:.1f} s")
    print(f"\ncarbonpark demo: gap analysis of the protected network -> {args.out / 'gap'}")
    gap_command._run_gap(pu, args.out / "gap", overwrite=args.overwrite)
    return _demo_plan(pu, args.budget_share)


def _demo_plan(pu, budget_share: float) -> int:  # type: ignore[no-untyped-def]
    """Choose new protected units for the demo and print what they add; the exit code."""
    from optimizer.problem import problem
    from optimizer.results import feature_representation, solve, unit_counts

    print(f"\ncarbonpark demo: max utility plan, new protection <= {budget_share:.0%} of the land, "
          "existing protection locked in, cropland (> 50% of a unit) locked out")
    p = (problem(pu)
         .add_max_utility_objective(budget_share=budget_share, weights=DEMO_WEIGHTS)
         .add_existing_protection()
         .add_locked_out_land_cover("cropland", 0.5))
    sol = solve(p, time_limit=120)
    if _interrupted(sol):
        return 130
    counts = unit_counts(p, sol).set_index("status")
    print(f"solver: {sol.solver} ({sol.strategy}), status {sol.describe()}, objective "
          f"{sol.objective:.4f}, {sol.runtime:.2f} s")
    print(f"added {int(counts.loc['added', 'units']):,} units, "
          f"{counts.loc['added', 'new_area_km2']:,.0f} km2 of new protection")
    rep = feature_representation(p, sol).set_index("feature")
    # Stocks as they are; uptake and emissions for their latest year only.
    latest = rep[rep["role"].isin(["carbon_uptake", "emissions"])].groupby("role").tail(1)
    shown = rep[rep["role"] == "carbon_stock"].index.append(latest.index)
    print(f"{'feature':<14}{'unit':>9}{'protected before':>18}{'after':>9}")
    for f in shown:
        print(f"{f:<14}{rep.loc[f, 'unit']:>9}{rep.loc[f, 'share_before']:>18.1%}"
              f"{rep.loc[f, 'share_after']:>9.1%}")
    bio = rep[rep["role"] == "biodiversity"]
    species = bio[bio["unit"] == "km2"]
    print(f"species with >= 30% of range protected: {(species['share_before'] >= 0.3).sum()} "
          f"before, {(species['share_after'] >= 0.3).sum()} after (of {len(species)})")
    return _demo_compact_plan(p, sol)


def _demo_compact_plan(p, scattered) -> int:  # type: ignore[no-untyped-def]
    """The same plan with a boundary penalty (graph-cut solver), compared with the first."""
    from optimizer.results import boundary_length, patches, solve

    print(f"\ncarbonpark demo: compact plan, the same problem with boundary penalty "
          f"{DEMO_BOUNDARY_PENALTY:g} per km of edge")
    pc = p.add_boundary_penalty(DEMO_BOUNDARY_PENALTY)
    sol = solve(pc, "auto", time_limit=120, gap=1e-3)
    if _interrupted(sol):
        return 130
    edge = {name: float(boundary_length(pc, s).iloc[1]["boundary_km"])
            for name, s in (("scattered", scattered), ("compact", sol))}
    utility = sol.objective + DEMO_BOUNDARY_PENALTY * edge["compact"]
    n_before, n_after = len(patches(pc, scattered)), len(patches(pc, sol))
    print(f"solver: {sol.solver} ({sol.strategy}), status {sol.describe()}, "
          f"{sol.runtime:.2f} s")
    print(f"patches {n_before} -> {n_after}; plan edge {edge['scattered']:,.0f} -> "
          f"{edge['compact']:,.0f} km; keeps {utility / scattered.objective:.1%} of the "
          "carbon and biodiversity value")
    return 0
