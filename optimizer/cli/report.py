"""``carbonpark report``: one self-contained HTML report of a plan, or a comparison of plans."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="HTML report of a solved plan (one folder) or a "
                                      "comparison of plans (several folders)")
    p.add_argument("solutions", type=Path, nargs="+", metavar="SOLUTION_DIR",
                   help="folder(s) written by `carbonpark solve`")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.html",
                   help="the HTML file to write (self-contained: opens offline)")
    p.add_argument("--frontier", type=Path, default=None, metavar="DIR",
                   help="a `carbonpark frontier` folder to include")
    p.add_argument("--importance", type=Path, default=None, metavar="DIR",
                   help="a `carbonpark importance` folder of the plan: its map and top units")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out even if carbonpark did not write it")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print where, its size and the time taken."""
    from optimizer.outputs.report import write_report

    t0 = time.perf_counter()
    out = write_report(args.solutions, args.out, frontier=args.frontier,
                       importance=args.importance, overwrite=args.overwrite)
    kind = "plan report" if len(args.solutions) == 1 else \
        f"comparison of {len(args.solutions)} plans"
    print(f"report: wrote {out} ({kind}, {out.stat().st_size / 1e6:,.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0
