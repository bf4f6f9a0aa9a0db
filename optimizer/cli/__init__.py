"""The ``carbonpark`` command.

Each subcommand is a small function over the public API. Errors of ours print as
one line (``carbonpark: error: ...``) with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from optimizer.errors import OptimizerError, OptimizerWarning, did_you_mean

Command = Callable[[argparse.Namespace], int]

#: Default refusal threshold of the number of planning units (``--max-units``).
DEFAULT_MAX_UNITS = 20_000_000  # = optimizer.grid.DEFAULT_MAX_UNITS (kept here: the CLI imports lazily)


# ---------------------------------------------------------------- argument checks

class _UsageError(Exception):
    """A command-line mistake found by the parser (printed as one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line, with the nearest valid names.

    Python 3.11's argparse prints the usage and exits on a mistake, and suggests nothing
    for a mistyped option or command; here the error is raised as `_UsageError` (`main`
    prints ``carbonpark: error: ...`` and returns 2, argparse's own exit code) and names
    the nearest options or commands.
    """

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        """Raise the message as a `_UsageError` instead of printing usage and exiting."""
        match = re.match(r"argument ([\w-]+): invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(3))
            what = "command" if match.group(1) == "command" else f"argument {match.group(1)}"
            message = (f"{what} {match.group(2)!r} does not exist; use one of: {', '.join(choices)}"
                       f"{did_you_mean(match.group(2), choices)}")
        raise _UsageError(f"{message} (see {self.prog} --help)")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        """Parse, then refuse unknown options naming the nearest options of the command used."""
        ns, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is not None:  # top level: the command's own options
            sub = next(a for a in self._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices.get(getattr(ns, "command", None), self)
            options = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
            first = next((e for e in extras if e.startswith("-")), extras[0])
            hint = did_you_mean(first.split("=", 1)[0], options) if first.startswith("-") else ""
            parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return ns, extras


def _number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
    return value


def _share(option: str, *, open_low: bool = False, example: str = "0.3") -> Callable[[str], float]:
    """An argparse type: a share in [0, 1] (or (0, 1]), with a message naming ``option``."""

    def parse(text: str) -> float:
        value = _number(text, option)
        if not ((value > 0 if open_low else value >= 0) and value <= 1):
            raise argparse.ArgumentTypeError(
                f"must be a share in {'(0' if open_low else '[0'}, 1]; got {text}; "
                f"write {float(example):.0%} as {option} {example}")
        return value

    parse.__name__ = "share"  # argparse names the type in its own messages
    return parse


def _positive(option: str, example: str) -> Callable[[str], float]:
    """An argparse type: a finite number > 0, with a message naming ``option``."""

    def parse(text: str) -> float:
        value = _number(text, option)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0; got {text}; e.g. {option} {example}")
        return value

    parse.__name__ = "number"
    return parse


def _count(text: str) -> int:
    """An argparse type for ``--max-units``: a whole number >= 1."""
    try:
        number = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number == int(number)):
        raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}")
    value = int(number)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {text}")
    return value


def _repo_data() -> Path:
    """The repository's ``data/`` folder (demo inputs), found from the package or the CWD."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (base / "data" / "demo.toml").exists():
            return base / "data"
    raise OptimizerError("cannot find data/demo.toml; run from the carbonpark repository "
                         "or pass --manifest")


# ---------------------------------------------------------------- grid

def _add_grid(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="build planning units from a layer manifest (TOML)")
    p.add_argument("manifest", type=Path, help="grid manifest: study area, cell size, layers")
    p.add_argument("--out", type=Path, required=True, help="output grid directory")
    p.add_argument("--cell-km", type=_positive("--cell-km", "10"), default=None,
                   help="override the cell size (km)")
    p.add_argument("--max-units", type=_count, default=DEFAULT_MAX_UNITS, metavar="N",
                   help=f"refuse grids estimated above N units (default {DEFAULT_MAX_UNITS:,})")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not a grid written by carbonpark")
    p.set_defaults(func=cmd_grid)


def _manifest_inputs(manifest_path: Path) -> list[Path]:
    """The manifest and every file it names (never to be written over)."""
    from optimizer.layers import load_manifest

    manifest, specs = load_manifest(manifest_path)
    g = manifest.grid
    base = manifest_path.parent
    named = [base / f for f in (g.study_area, g.units) if f]
    return [manifest_path, *named, *(Path(s.path) for s in specs)]


def _build_from_manifest(manifest_path: Path, cell_km: float | None, progress: bool,
                         max_units: int = DEFAULT_MAX_UNITS):
    from optimizer.grid import build_grid
    from optimizer.layers import load_manifest

    manifest, specs = load_manifest(manifest_path)
    g = manifest.grid
    base = manifest_path.parent
    return build_grid(
        specs,
        study_area=base / g.study_area if g.study_area else None,
        units=base / g.units if g.units else None,
        id_column=g.id_column,
        cell_km=cell_km if cell_km is not None else g.cell_km,
        crs=g.crs,
        progress=progress,
        max_units=max_units,
    )


def cmd_grid(args: argparse.Namespace) -> int:
    """Build a grid from a manifest and write it."""
    from optimizer._atomic import check_output_dir
    from optimizer.grid import write_grid

    t0 = time.perf_counter()
    check_output_dir(args.out, "grid", overwrite=args.overwrite, inputs=_manifest_inputs(args.manifest))
    pu = _build_from_manifest(args.manifest, args.cell_km, progress=sys.stderr.isatty(),
                              max_units=args.max_units)
    out = write_grid(pu, args.out, overwrite=args.overwrite)
    _print_grid_summary(pu)
    print(f"wrote {out} ({len(pu):,} units) in {time.perf_counter() - t0:.1f} s")
    return 0


def _print_grid_summary(pu) -> None:  # type: ignore[no-untyped-def]
    from optimizer.units import format_total

    meta = pu.meta
    cell = f"{meta['cell_km']:g} km cells" if meta.get("cell_km") else "user polygons"
    print(f"planning units: {len(pu):,} ({cell}), study area {meta['area_km2']:,.0f} km2, "
          f"protected {float((pu.units.pa_fraction * pu.units.area_km2).sum()) / meta['area_km2']:.2%}")
    summary = pu.summary()
    shown = summary[summary["role"].isin(["carbon_stock", "carbon_uptake", "emissions"])]
    if len(shown):
        print(f"{'feature':<16}{'total':>20}{'density':>22}{'nodata':>9}")
        for _, r in shown.iterrows():
            dens = f"{r['density']:,.2f} {r['density_unit']}" if r["density_unit"] else ""
            print(f"{r['feature']:<16}{format_total(r['total'], r['unit']):>20}{dens:>22}"
                  f"{r['nodata_share']:>9.2%}")
    n_bio = int((summary["role"] == "biodiversity").sum())
    n_lc = int((summary["role"] == "land_cover").sum())
    print(f"biodiversity features: {n_bio}; land-cover classes: {n_lc}; "
          f"boundary pairs: {len(pu.boundary):,}")


# ---------------------------------------------------------------- demo

def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on the embedded demo country")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--cell-km", type=_positive("--cell-km", "10"), default=None,
                   help="grid cell size (km)")
    p.add_argument("--budget-share", type=_share("--budget-share", open_low=True, example="0.05"),
                   default=0.05,
                   help="new protection allowed, as a share of the land (default 0.05)")
    p.add_argument("--max-units", type=_count, default=DEFAULT_MAX_UNITS, metavar="N",
                   help=f"refuse grids estimated above N units (default {DEFAULT_MAX_UNITS:,})")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out/grid and --out/gap even if carbonpark did not write them")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo grid (and, as later stages land, the whole pipeline)."""
    from optimizer._atomic import check_output_dir
    from optimizer.grid import write_grid

    t0 = time.perf_counter()
    manifest = _repo_data() / "demo.toml"
    inputs = [*_manifest_inputs(manifest), manifest.parent / "demo"]
    for part, kind in (("grid", "grid"), ("gap", "gap")):
        check_output_dir(args.out / part, kind, overwrite=args.overwrite, inputs=inputs)
    print(f"carbonpark demo: building the planning grid from {manifest}")
    pu = _build_from_manifest(manifest, args.cell_km, progress=sys.stderr.isatty(),
                              max_units=args.max_units)
    grid_dir = write_grid(pu, args.out / "grid", overwrite=args.overwrite)
    _print_grid_summary(pu)
    print(f"grid written to {grid_dir} in {time.perf_counter() - t0:.1f} s")
    # ---- gap (begin: demo step)
    print(f"\ncarbonpark demo: gap analysis of the protected network -> {args.out / 'gap'}")
    _run_gap(pu, args.out / "gap", overwrite=args.overwrite)
    # ---- gap (end: demo step)
    return _demo_plan(pu, args.budget_share)


# Weights of the demo plan: carbon and biodiversity count equally; emissions inside a
# candidate unit count against it (a park next to a power plant protects less).
DEMO_WEIGHTS = {"carbon": 1.0, "biodiversity": 1.0, "emissions": -0.5}


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


# Boundary penalty of the demo's compact plan, per km of plan edge. The plan's utility
# is about 0.4 (shares of carbon and species ranges), its edge about 15,000 km, so the
# penalty is about a third of the objective: strong enough to merge scattered units.
DEMO_BOUNDARY_PENALTY = 1e-5


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


def _interrupted(sol) -> bool:  # type: ignore[no-untyped-def]
    """Say so on stderr when Ctrl-C stopped a solve (the caller then exits with 130)."""
    from optimizer.solvers import SolveStatus

    if sol.status is not SolveStatus.INTERRUPTED:
        return False
    print(f"carbonpark: {sol.describe()}", file=sys.stderr)
    return True


# ---- gap (begin)

def _add_gap(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gap", help="gap analysis of the existing protected-area network")
    p.add_argument("grid", type=Path, help="grid directory written by `carbonpark grid`")
    p.add_argument("--protected-category", dest="categories", nargs="+", action="extend",
                   metavar="CAT", default=None,
                   help="protected categories reported as zones (default: all)")
    p.add_argument("--target", type=_share("--target"), default=0.3,
                   help="target protected share of ecosystems and species (default 0.3)")
    p.add_argument("--top", type=_share("--top", open_low=True, example="0.1"), default=0.1,
                   help="hotspots: top share of the area by value (default 0.1)")
    p.add_argument("--pa-threshold", type=_share("--pa-threshold", open_low=True, example="0.5"),
                   default=0.5,
                   help="units protected below this fraction are gaps (default 0.5)")
    p.add_argument("--typology", choices=("quantile", "kmeans"), default="quantile",
                   help="synergy typology method (default quantile: upper tercile)")
    p.add_argument("--out", type=Path, default=Path("out/gap"), help="output folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not a gap report written by carbonpark")
    p.set_defaults(func=cmd_gap)


def _run_gap(pu, out: Path, *, overwrite: bool = False, **options):  # type: ignore[no-untyped-def]
    """Run the gap analysis, write it to ``out`` and print the headline and findings."""
    from optimizer.gap import gap_analysis

    report = gap_analysis(pu, **options)
    files = report.write(out, overwrite=overwrite)
    print(report.headline())
    for finding in report.findings:
        print(f"- {finding}")
    for note in report.notes:
        print(f"  (note: {note})")
    print(f"gap analysis: wrote {len(files)} files to {out}")
    return report


def cmd_gap(args: argparse.Namespace) -> int:
    """Gap analysis of a grid's protected network: tables, figures, headline table."""
    from optimizer._atomic import check_output_dir
    from optimizer.grid import read_grid

    check_output_dir(args.out, "gap", overwrite=args.overwrite, inputs=[args.grid])
    pu = read_grid(args.grid)
    _run_gap(pu, args.out, overwrite=args.overwrite, categories=args.categories, target=args.target,
             top=args.top, pa_threshold=args.pa_threshold, typology=args.typology)
    return 0

# ---- gap (end)


# ---- marxan (begin)

#: Defaults of ``carbonpark marxan``: every shipped example and real Marxan project ends
#: within minutes with its proven gap printed (measured: see the commit message / README).
MARXAN_TIME_LIMIT = 300.0
MARXAN_GAP = 1e-3
#: Share of the time limit kept back from the solver for scoring and writing (at most 10 s).
_MARXAN_WRITE_SHARE = 0.05


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
                   help="limit for the whole command: reading, solving, scoring and writing; the "
                        "solver gets what reading leaves, less a reserve for writing "
                        f"(default {MARXAN_TIME_LIMIT:g} s)")
    p.add_argument("--gap", type=float, default=MARXAN_GAP,
                   help="relative optimality gap to prove; the solve stops there, or at the time "
                        f"limit with the gap it proved (default {MARXAN_GAP:g}, i.e. "
                        f"{MARXAN_GAP * 100:g}%%; 0 asks for a proven optimum)")
    p.add_argument("--solver", choices=("highs", "cut", "auto"), default="highs",
                   help="highs (default), the graph-cut solver, or auto (cut where the model "
                        "has the cut form)")
    p.add_argument("--compare", type=Path, default=None, metavar="MARXAN_BEST_FILE",
                   help="a Marxan solution file (e.g. output_best.csv) to score beside ours")
    p.add_argument("--overwrite", action="store_true",
                   help="replace output files carbonpark did not write (e.g. Marxan's own "
                        "output_best.csv); never the project's inputs")
    p.add_argument("--score-only", action="store_true",
                   help="with --compare: only score that Marxan solution as Marxan scores it "
                        "(at --blm, default BLM of input.dat); no solve, no files written")
    p.set_defaults(func=cmd_marxan)


def _money(value: float) -> str:
    """A score or cost in full: thousands separators and 2 decimals (95,724,196.31)."""
    return f"{value:,.2f}"


def _print_marxan_score(score: dict, blm: float) -> None:  # type: ignore[type-arg]
    print(f"score {_money(score['score'])} = cost {_money(score['cost'])} + BLM {blm:g} x "
          f"boundary {_money(score['boundary'])} + penalty {_money(score['penalty'])}; "
          f"{score['units']:,} units selected")


def _compare_table(table) -> str:  # type: ignore[no-untyped-def]
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
    limit covers the whole command: the solver gets what reading leaves, less a
    reserve for scoring and writing, and the timings printed say what each part took.
    """
    from optimizer.errors import InputDataError
    from optimizer.io.marxan import (
        NO_BLM_NOTE,
        check_marxan_outputs,
        compare_with_marxan,
        feature_penalties,
        marxan_score,
        read_marxan,
        read_marxan_solution,
        write_marxan_outputs,
    )
    from optimizer.results import solve

    t0 = time.perf_counter()
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
    theirs = read_marxan_solution(args.compare) if args.compare is not None else None
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
    p = project.to_problem(blm)
    feature_penalties(project, blm)  # Marxan's penalties: part of reading, not of the solve
    t_read = time.perf_counter() - t0
    reserve = min(_MARXAN_WRITE_SHARE * limit, 10.0)
    budget = limit - t_read - reserve
    if budget <= 0:
        raise InputDataError(f"reading {project.path} took {t_read:.1f} s of the {limit:g} s "
                             "--time-limit, leaving no time to solve; raise --time-limit")
    sol = solve(p, args.solver, gap=args.gap, time_limit=budget)
    t_solve = time.perf_counter() - t0 - t_read
    score = marxan_score(project, sol)
    files = write_marxan_outputs(project, sol, out, scenario=project.scenario,
                                 save_format=project.save_format, overwrite=args.overwrite)
    table = compare_with_marxan(project, theirs, sol) if theirs is not None else None
    total = time.perf_counter() - t0
    _print_marxan_score(score, blm)
    print(f"targets met: {score['targets_met']}/{score['features']}; status {sol.describe()}")
    over = (f"; over the {limit:g} s limit by {total - limit:.1f} s (the solver was given "
            f"{budget:.1f} s)" if total > limit else f" of the {limit:g} s limit")
    print(f"read {t_read:.1f} s, solve {t_solve:.1f} s, score and write "
          f"{total - t_read - t_solve:.1f} s; total {total:.1f} s{over}")
    print(f"wrote {len(files)} Marxan files to {out} ({files['best'].name}, "
          f"{files['sum'].name}, ...)")
    if table is not None:
        print(f"\ncompared with {args.compare} (both scored as Marxan scores, BLM {blm:g}):")
        print(_compare_table(table))
    return 130 if _interrupted(sol) else 0

# ---- marxan (end)


# ---------------------------------------------------------------- main

_COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_demo, _add_grid, _add_gap, _add_marxan)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``carbonpark``."""
    parser = _Parser(prog="carbonpark", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_ShowVersions, nargs=0,
                        help="print the versions of carbonpark and its solver stack, then exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``carbonpark`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"carbonpark: error: {exc}", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter("default", OptimizerWarning)
        warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
        try:
            return int(args.func(args))
        except OptimizerError as exc:
            print(f"carbonpark: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("carbonpark: interrupted", file=sys.stderr)
            return 130
        except OSError as exc:  # unreadable input, full disk, no permission: the user's to fix
            print(f"carbonpark: error: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            # A bug of ours: one line for the user, the traceback on request.
            if os.environ.get("CARBONPARK_DEBUG"):
                raise
            print(f"carbonpark: internal error: {type(exc).__name__}: {exc} (this is a bug; rerun "
                  "with CARBONPARK_DEBUG=1 for the traceback and report it)", file=sys.stderr)
            return 3


class _ShowVersions(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        from optimizer.versions import show_versions

        print(show_versions())
        parser.exit()


def _one_line_warning(message, category, filename, lineno, line=None) -> str:  # type: ignore[no-untyped-def]
    return f"carbonpark: warning: {message}\n"

