"""``carbonpark export``: a solve folder's candidate parks in every format of
`optimizer.outputs.writers.WRITERS` (`optimizer.outputs.export`).

The formats, their help and ``--format``'s choices are read from the registry when the
parser is built (the registry module is light: ``carbonpark --help`` imports no numpy).
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from optimizer.cli.parser import _number
from optimizer.outputs.writers import WRITERS


def _non_negative(text: str) -> float:
    value = _number(text, "--min-km2")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0; got {text}; e.g. --min-km2 500")
    return value


_non_negative.__name__ = "number"


def _description() -> str:
    """The command's description: one wrapped paragraph per format of the registry."""
    width = max(len(name) for name in WRITERS) + 4
    lines = ["Write the candidate parks of a `carbonpark solve` folder in each format asked "
             "for:", ""]
    for w in WRITERS.values():
        lines.append(textwrap.fill(f"{w.name:<{width - 2}}  {w.description} ({', '.join(w.files)})",
                                   width=88, initial_indent="  ",
                                   subsequent_indent=" " * (width + 2)))
    lines += ["", "Exit codes: 0 written, 2 bad input."]
    return "\n".join(lines)  # argparse leaves a description without %(prog) as written


def _add_export(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(WRITERS).replace("%", "%%")
    p = sub.add_parser("export", help=f"write a plan's candidate parks for GIS ({names})",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=_description())
    p.add_argument("solution", type=Path, help="folder written by `carbonpark solve`")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", dest="formats", default="all", metavar="LIST",
                   help=f"comma-separated, any of: {names} (default all)")
    p.add_argument("--connectivity", choices=("rook", "queen"), default=None,
                   help="units joined into one park by a shared edge (rook) or also a corner "
                        "(queen); default the scenario's [parks], else rook")
    p.add_argument("--min-km2", type=_non_negative, default=None,
                   help="drop parks smaller than this many km² (default the scenario's "
                        "[parks] min_km2, else 0: keep all)")
    p.add_argument("--refill", action=argparse.BooleanOptionalAction, default=None,
                   help="refill the budget dropped parks free with the best units next to kept "
                        "parks (default the scenario's [parks] refill)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is not an export written by carbonpark")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Export a solve folder's parks; print what was written and every note."""
    from optimizer.atomic import check_output_dir
    from optimizer.outputs.export import OUTPUT_KIND, export_solution
    from optimizer.outputs.solve_folder import solve_folder_inputs
    from optimizer.outputs.writers import parse_formats

    formats = parse_formats(args.formats)
    # The solve folder and all it names (scenario, grid, layers, cache), even with --overwrite.
    check_output_dir(args.out, OUTPUT_KIND, overwrite=args.overwrite,
                     inputs=solve_folder_inputs(args.solution))
    res = export_solution(args.solution, args.out, formats=formats,
                          connectivity=args.connectivity, min_km2=args.min_km2,
                          refill=args.refill, overwrite=args.overwrite)
    print(res.parks.summary())
    if res.reconciliation:  # every format's features sum to the plan's totals
        print("The features of every format (kind = park, completes existing) add up to the "
              "plan:")
        for line in res.reconciliation:
            print(f"  {line}")
    for note in res.notes:
        print(f"  (note: {note})")
    print(f"export: wrote {', '.join(res.files)} to {args.out}")
    return 0
