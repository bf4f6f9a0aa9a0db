"""The ``carbonpark`` command.

Each subcommand is a small function over the public API, one module per subcommand
(`demo`, `grid`, `gap`, `marxan`, `scenario`, `solve`, `frontier`, `sweep`, `importance`,
`portfolio`, `export`, `report`, `app`); `parser` holds what they share. Errors of ours
print as one line (``carbonpark: error: ...``) with exit code 2, never a traceback. Nothing
heavy is imported until a command runs: ``carbonpark --help`` imports no numpy.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence

from optimizer.cli import (
    app,
    demo,
    export,
    frontier,
    gap,
    grid,
    importance,
    marxan,
    portfolio,
    report,
    scenario,
    solve,
    sweep,
)
from optimizer.cli.deadline import command_started
from optimizer.cli.parser import _Parser, _ShowVersions, run

__all__ = ["build_parser", "main"]

#: Each subcommand's ``add(subparsers)``, in the order ``carbonpark --help`` lists them.
_COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    demo._add_demo, grid._add_grid, gap._add_gap, marxan._add_marxan, scenario._add_scenario,
    solve._add_solve, frontier._add_frontier, sweep._add_sweep, importance._add_importance,
    portfolio._add_portfolio, export._add_export,
    report._add_report, app._add_app)


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
    # The time limits of the commands count from the process's start (imports included)
    # when the command is the process, else from this call.
    started = command_started() if argv is None else time.perf_counter()
    code = run(build_parser(), argv, started=started)
    if argv is None and code == 130:  # Ctrl-C, and the process is the command's: exit now
        gc.freeze()  # no final collection of the whole heap (0.7 s at 10 km)
    return code
