"""``carbonpark demo``: the showcase, the whole pipeline on the embedded demo country.

Grid (built once, cached by content hash) → gap analysis of the existing network → each
example scenario of ``scenarios/`` solved on that grid → its candidate parks in every GIS
format → a budget sweep read from the cut solver's nested path → the carbon–biodiversity
frontier → a report per plan and one comparing them all; everything under ``--out``
(default ``out/demo``) and a comparison table printed and written. Every output path is
checked before any work starts; each part is written atomically, as its own command
(`carbonpark grid`, `gap`, `solve`, `sweep`, `frontier`) would write it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.cli import gap as gap_command
from optimizer.cli import grid as grid_command
from optimizer.cli.parser import _interrupted, _share, add_grid_options
from optimizer.errors import OptimizerError

if TYPE_CHECKING:  # the datasets module imports the grid: heavy for `carbonpark --help`
    from optimizer.datasets import ExampleFiles

#: The example scenarios the demo solves, in the order of the comparison table.
EXAMPLES = ("carbon_first", "biodiversity_first", "balanced", "nbs_balanced",
            "thirty_by_thirty", "carbon_parks")

#: The sweep: budget shares 1-20% of the land on the balanced scenario. With one budget in
#: cut form, every budget is read from the nested path of one parametric solve.
SWEEP_SHARES = tuple(round(0.01 * k, 2) for k in range(1, 21))

#: The frontier: carbon stock added against mean species representation, balanced scenario.
FRONTIER_SCENARIO, FRONTIER_POINTS = "balanced", 11


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the showcase: grid, gap analysis, example scenarios, a "
                                    "budget sweep and the frontier on the demo country")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--budget-share", type=_share("--budget-share", open_low=True, example="0.05"),
                   default=None,
                   help="new protection as a share of the land, for every example whose budget "
                        "is a share (default: each scenario's own, 5-10%%)")
    add_grid_options(p, cell_km_help="grid cell size (km; default the manifest's, 10)",
                     overwrite_help="replace the parts of --out even if carbonpark did not "
                                    "write them")
    p.set_defaults(func=cmd_demo)


def _grid_sets(files: ExampleFiles, cell_km: float) -> dict[str, Any]:
    """The ``[grid]`` overrides of every example: the cell size, and the cache folder of an
    installed package's examples (never the package's own folder)."""
    sets: dict[str, Any] = {"grid.cell_km": cell_km}
    if files.grid_cache is not None:
        sets["grid.cache"] = str(files.grid_cache)
    return sets


def shown_path(path: Path, root: Path | None = None) -> str:
    """A path as outputs print it: relative to the current folder when inside it, else
    relative to ``root`` and named as carbonpark's examples; never the machine's absolute path.

    Examples
    --------
    >>> shown_path(Path.cwd() / "scenarios" / "balanced.toml")
    'scenarios/balanced.toml'
    >>> shown_path(Path("/opt/x/examples/scenarios/balanced.toml"), Path("/opt/x/examples"))
    'carbonpark examples/scenarios/balanced.toml'
    """
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        pass
    if root is not None:
        try:
            return f"carbonpark examples/{p.relative_to(root).as_posix()}"
        except ValueError:
            pass
    return f"carbonpark examples/{p.name}"


def _examples(files: ExampleFiles, cell_km: float, budget_share: float | None) -> list[Any]:
    """The example scenarios on the demo's grid (and budget share, when given), each named
    by a path relative to the current folder (`shown_path`), never an absolute one."""
    from optimizer.scenario import Scenario
    from optimizer.scenario.overrides import apply_overrides

    out = []
    for name in EXAMPLES:
        path = files.scenarios / f"{name}.toml"
        s = Scenario.loads(path.read_text(encoding="utf-8"), base=path.parent,
                           source=shown_path(path, files.scenarios.parent))
        # JSON's numbers and strings (not ASCII-escaped) are TOML values too.
        sets = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in _grid_sets(files, cell_km).items()]
        if budget_share is not None and s.budget is not None and s.budget.share is not None:
            sets.append(f"budget.share={budget_share!r}")
        done = apply_overrides(s, sets)[0]
        # Named by its file only: the grid overrides (an installed package's cache folder)
        # are the demo's own, not the planner's (summary.json's scenario.source).
        out.append(Scenario.from_dict(done.to_dict(), base=done.base, source=s.source))
    return out


def _sweep(files: ExampleFiles, cell_km: float) -> Any:
    """The demo's budget sweep (see `SWEEP_SHARES`) over the balanced scenario file."""
    from optimizer.studies.sweep import Sweep

    return Sweep.from_dict({
        "schema_version": 1, "name": "demo_budget",
        "description": "Budget share 1-20% of the land, balanced weights, one nested path",
        "base": f"{FRONTIER_SCENARIO}.toml", "combine": "product", "path": "auto",
        "set": {"solver.backend": "cut", **_grid_sets(files, cell_km)},
        "parameters": {"budget.share": list(SWEEP_SHARES)}},
        base_dir=files.scenarios)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the showcase; print where every output is."""
    from optimizer.atomic import check_output_dir, check_output_files
    from optimizer.datasets import example_files
    from optimizer.grid.manifest import manifest_inputs
    from optimizer.inputs.layers import load_manifest
    from optimizer.outputs.export import OUTPUT_KIND as EXPORT_KIND
    from optimizer.outputs.report_files import check_report_file
    from optimizer.outputs.solve_folder import OUTPUT_KIND
    from optimizer.studies.sweep import KIND as SWEEP_KIND

    t0 = time.perf_counter()
    out: Path = args.out
    files = example_files()
    manifest = files.manifest
    cell_km = args.cell_km or load_manifest(manifest)[0].grid.cell_km
    if cell_km is None:  # pragma: no cover - the demo manifest names its cell size
        raise OptimizerError(f"{manifest}: [grid] names no cell_km; give --cell-km")
    scenarios = _examples(files, cell_km, args.budget_share)
    inputs = [*manifest_inputs(manifest), manifest.parent / "demo", files.scenarios]
    parts = [(out / "grid", "grid"), (out / "gap", "gap"), (out / "sweep", SWEEP_KIND),
             (out / "frontier", "frontier")]
    parts += [(out / "scenarios" / s.name, OUTPUT_KIND) for s in scenarios]
    parts += [(out / "exports" / s.name, EXPORT_KIND) for s in scenarios]
    for path, kind in parts:  # every output checked before any work
        check_output_dir(path, kind, overwrite=args.overwrite, inputs=inputs)
    check_output_files(out, "demo", ["comparison.csv"], overwrite=args.overwrite, inputs=inputs)
    for name in ["comparison.html", *(f"{s.name}.html" for s in scenarios)]:
        check_report_file(out / "reports" / name, overwrite=args.overwrite, inputs=inputs)

    pu = _grid(scenarios[0], out, args)
    print(f"\n[2/7] gap analysis of the existing network -> {out / 'gap'}")
    gap_command._run_gap(pu, out / "gap", overwrite=args.overwrite)
    code, solved = _solve_examples(scenarios, pu, out, args.overwrite, inputs)
    if code:
        return code
    _export_parks(solved, out, args.overwrite, inputs)
    _run_sweep(files, cell_km, out, args.overwrite)
    own = next((s for s in solved if s.scenario.name == FRONTIER_SCENARIO), None)
    code = _run_frontier(scenarios[EXAMPLES.index(FRONTIER_SCENARIO)], pu, out, args.overwrite,
                         inputs, own)
    _write_reports(solved, out, args.overwrite)
    print(f"\ncarbonpark demo: done in {time.perf_counter() - t0:.1f} s. Outputs in {out}/:")
    for name, what in (("grid/", "the planning grid (carbonpark grid)"),
                       ("gap/", "gap analysis tables, figures and summary.md"),
                       ("scenarios/<name>/", "each plan: solution.parquet, summary.json, "
                                             "representation.csv, closure_*.csv"),
                       ("comparison.csv", "the table above"),
                       ("exports/<name>/", "candidate parks: parks_shp.zip, parks.gpkg (QGIS "
                                           "styles), parks.parquet, parks.geojson, *.tif"),
                       ("sweep/runs/", "one Parquet part per budget (pyarrow.dataset)"),
                       ("frontier/", "frontier.csv and frontier.png"),
                       ("reports/<name>.html", "each plan's report (self-contained HTML)"),
                       ("reports/comparison.html", "every plan compared, with the frontier")):
        print(f"  {name:<20} {what}")
    return code


def _grid(first: Any, out: Path, args: argparse.Namespace) -> Any:
    """Load the demo grid from the cache (or build it once), and write it to ``out/grid``."""
    from optimizer.grid.build import write_grid
    from optimizer.scenario.build import grid_hash

    t = time.perf_counter()
    cache = first.resolve(first.grid.cache) / f"grid-{grid_hash(first)[:16]}"
    cached = (cache / "units.parquet").is_file()
    shown = shown_path(cache, first.base.parent)  # no absolute machine path on the console
    print(f"[1/7] planning grid at {first.grid.cell_km:g} km: "
          + (f"cached in {shown}" if cached else f"building from {first.grid.manifest} "
             f"(cached in {shown} for next time)"))
    pu = first.load_grid(progress=sys.stderr.isatty(), max_units=args.max_units)
    grid_dir = write_grid(pu, out / "grid", overwrite=args.overwrite)
    grid_command._print_grid_summary(pu)
    print(f"grid written to {grid_dir} in {time.perf_counter() - t:.1f} s")
    return pu


def _solve_examples(scenarios: list[Any], pu: Any, out: Path, overwrite: bool,
                    inputs: list[Path]) -> tuple[int, list[Any]]:
    """Solve each example, write it as ``carbonpark solve`` would, print the comparison.

    Returns the exit code so far and each solved example as a `SolveFolder`.
    """
    from optimizer.atomic import claim_files, write_text_atomic
    from optimizer.errors import InfeasibleProblemError
    from optimizer.outputs.solve_folder import SolveFolder, write_solution
    from optimizer.plan.closure import gap_closure
    from optimizer.plan.comparison import comparison_table, format_comparison
    from optimizer.plan.results import solve, unit_status
    from optimizer.scenario.build import solver_options
    from optimizer.scenario.messages import blame_scenario

    print(f"\n[3/7] {len(scenarios)} example scenarios -> {out / 'scenarios'}")
    summaries = []
    solved = []
    code = 0
    for s in scenarios:
        t = time.perf_counter()
        problem = s.to_problem(pu)
        with blame_scenario(s, "solver"):
            try:
                sol = solve(problem, s.solver.backend, **solver_options(s))
            except InfeasibleProblemError as exc:
                print(f"  {s.name}: no plan: {exc}".replace("\n", " "))
                continue
        with blame_scenario(s, "closure"):
            closure = gap_closure(pu, problem, sol, target=s.closure.target,
                                  ecosystems=s.closure.ecosystems)
        summary = write_solution(sol, problem, out / "scenarios" / s.name, scenario=s, closure=closure,
                                 seconds=time.perf_counter() - t, overwrite=overwrite,
                                 inputs=inputs)
        summaries.append(summary)
        solved.append(SolveFolder(out / "scenarios" / s.name, s, pu, problem, sol.x,
                                     unit_status(problem, sol.x), summary))
        print(f"  {s.name:<19} {sol.describe()}; {summary['seconds_total']:.1f} s  "
              f"({s.description})")
        if _interrupted(sol):
            code = 130
            break
    table = comparison_table(summaries)
    print("\n" + format_comparison(table))
    claim_files(out, "demo", ["comparison.csv"], overwrite=overwrite, inputs=inputs)
    write_text_atomic(out / "comparison.csv", table.to_csv(index=False))
    return code, solved


def _export_parks(solved: list[Any], out: Path, overwrite: bool, inputs: list[Path]) -> None:
    """Each plan's candidate parks (its scenario's [parks]) in every GIS format."""
    from optimizer.outputs.export import export_plan

    print(f"\n[4/7] candidate parks of each plan, in every GIS format -> {out / 'exports'}")
    for ls in solved:
        t = time.perf_counter()
        s = ls.scenario
        pk = s.parks
        res = export_plan(ls.problem, ls.x, out / "exports" / s.name, connectivity=pk.connectivity,
                          min_km2=pk.min_km2, refill=pk.refill, overwrite=overwrite,
                          inputs=inputs, source=str(out / "scenarios" / s.name))
        first = res.parks.summary().splitlines()
        print(f"  {s.name:<19} {first[0]}" + "".join(f" {x}" for x in first[1:])
              + f" ({time.perf_counter() - t:.1f} s)")


def _write_reports(solved: list[Any], out: Path, overwrite: bool) -> None:
    """A report per plan, and the comparison of them all with the frontier."""
    from optimizer.outputs.report import write_report

    print(f"\n[7/7] reports -> {out / 'reports'}")
    t = time.perf_counter()
    for ls in solved:  # the plans as solved: nothing read back, one gap analysis for all
        write_report([ls], out / "reports" / f"{ls.scenario.name}.html", overwrite=overwrite)
    write_report(solved, out / "reports" / "comparison.html", frontier=out / "frontier",
                 overwrite=overwrite)
    print(f"  {len(solved)} plan reports and the comparison in {time.perf_counter() - t:.1f} s")


def _run_sweep(files: ExampleFiles, cell_km: float, out: Path, overwrite: bool) -> None:
    """The budget sweep on the nested path; print what the budgets buy."""
    from optimizer.atomic import MARKER
    from optimizer.studies.sweep import run_sweep

    sweep = _sweep(files, cell_km)
    print(f"\n[5/7] budget sweep: {len(sweep.runs)} budgets ({SWEEP_SHARES[0]:.0%}-"
          f"{SWEEP_SHARES[-1]:.0%} of the land) of {FRONTIER_SCENARIO}, read from one nested path of "
          f"the cut solver (polished where its proven gap is above the scenario's) -> "
          f"{out / 'sweep'}")
    t = time.perf_counter()
    # Our own earlier sweep (checked before any work) is replaced, not resumed: a sweep
    # at another cell size would be another sweep.
    own = (out / "sweep" / MARKER).is_file()
    df = run_sweep(sweep, out / "sweep", workers=1, progress=sys.stderr.isatty(),
                   overwrite=overwrite or own)
    df = df.sort_values("param.budget.share")  # the parameter's column in the results
    print(f"{'budget (% of land)':>19}{'new km²':>12}{'carbon stock added (MgC)':>27}"
          f"{'mean representation (%)':>26}")
    share = "param.budget.share"
    for _, r in df[df[share].round(2).isin([0.01, 0.05, 0.10, 0.15, 0.20])].iterrows():
        if r["status"] in ("infeasible", "error"):
            print(f"{100 * r[share]:>19.0f}  {r['status']}: {r['message']}")
            continue
        print(f"{100 * r[share]:>19.0f}{r['area_km2']:>12,.0f}"
              f"{r['carbon_stock_added']:>27,.0f}{r['mean_representation']:>26.1f}")
    print(f"{len(df)} runs ({', '.join(f'{n} {k}' for k, n in df['status'].value_counts().items())})"
          f" in {time.perf_counter() - t:.1f} s")


def _run_frontier(base: Any, pu: Any, out: Path, overwrite: bool, inputs: list[Path],
                  own: Any = None) -> int:
    """The carbon–biodiversity frontier of the balanced scenario, its own plan (``own``,
    a `SolveFolder`) marked beside it; print knee and losses."""
    from optimizer.studies.frontier import frontier

    print(f"\n[6/7] carbon-biodiversity frontier of {base.name} ({FRONTIER_POINTS} points, "
          f"epsilon-constraint) -> {out / 'frontier'}")
    f = frontier(base.to_problem(pu), points=FRONTIER_POINTS, gap=base.solver.gap,
                 time_limit=120)
    if own is not None:
        f = f.with_plan(own.x, label=f"{base.name}'s plan", new_km2=own.summary["new_km2"])
    f.write(out / "frontier", overwrite=overwrite, inputs=inputs)
    ca, cb = f.metric_a.column, f.metric_b.column
    knee = f.knee() if f.caveat is None else None  # no trade-off from a truncated frontier
    if knee is not None:
        print(f"knee: {knee[ca]:,.0f} MgC of carbon stock at {knee[cb]:.1f}% mean species "
              f"representation, {knee['new_km2']:,.0f} km² new")
    print(f.summary())  # with the caveat of a truncated frontier
    return 0
