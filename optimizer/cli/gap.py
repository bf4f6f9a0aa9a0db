"""``carbonpark gap``: gap analysis of a grid's existing protected-area network."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.cli.parser import _share


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


def _run_gap(pu, out: Path, *, overwrite: bool = False, **options):
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
    from optimizer.atomic import check_output_dir
    from optimizer.grid.build import read_grid

    check_output_dir(args.out, "gap", overwrite=args.overwrite, inputs=[args.grid])
    pu = read_grid(args.grid)
    _run_gap(pu, args.out, overwrite=args.overwrite, categories=args.categories, target=args.target,
             top=args.top, pa_threshold=args.pa_threshold, typology=args.typology)
    return 0
