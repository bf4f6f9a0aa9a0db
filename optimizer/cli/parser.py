"""What every ``carbonpark`` subcommand shares.

The argument parser whose mistakes are one line naming the nearest valid names, the
argument types, ``--version``, the one-line warning format, the report of a Ctrl-C, and
`run`: parse, then run the command with our errors printed as one line
(``carbonpark: error: ...``, exit code 2), never a traceback.

Nothing here imports numpy, pandas, scipy or a solver: ``carbonpark --help`` stays fast.
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
from typing import TYPE_CHECKING, Any, NoReturn

from optimizer.errors import OptimizerError, OptimizerWarning, did_you_mean

if TYPE_CHECKING:
    from optimizer.solvers import Solution

#: Default refusal threshold of the number of planning units (``--max-units``).
DEFAULT_MAX_UNITS = 20_000_000  # = optimizer.grid.build.DEFAULT_MAX_UNITS (kept here: the CLI imports lazily)


class _UsageError(Exception):
    """A command-line mistake found by the parser (printed as one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line, with the nearest valid names.

    Python 3.11's argparse prints the usage and exits on a mistake, and suggests nothing
    for a mistyped option or command; here the error is raised as `_UsageError` (`main`
    prints ``carbonpark: error: ...`` and returns 2, argparse's own exit code) and names
    the nearest options or commands.
    """

    def error(self, message: str) -> NoReturn:
        """Raise the message as a `_UsageError` instead of printing usage and exiting."""
        match = re.match(r"argument ([\w-]+): invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(3))
            what = "command" if match.group(1) == "command" else f"argument {match.group(1)}"
            message = (f"{what} {match.group(2)!r} does not exist; use one of: {', '.join(choices)}"
                       f"{did_you_mean(match.group(2), choices)}")
        raise _UsageError(f"{message} (see {self.prog} --help)")

    def parse_known_args(self, args=None, namespace=None):  # untyped: argparse overloads it
        """Parse, then refuse unknown options naming the nearest options of the command used.

        A command whose defaults hold ``passthrough`` (``carbonpark app``) takes them instead,
        in order, without a leading ``--``: they are another program's options.
        """
        ns, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is not None and isinstance(getattr(ns, "passthrough", None), list):
            ns.passthrough = extras[1:] if extras[0] == "--" else extras
            return ns, []
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


def whole_number(minimum: int = 1) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum`` (``1_000`` and ``1,000`` accepted)."""

    def parse(text: str) -> int:
        try:
            number = float(text.replace("_", "").replace(",", ""))
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number == int(number)):
            raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}")
        value = int(number)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}; got {text}")
        return value

    parse.__name__ = "whole number"
    return parse


#: ``--max-units`` and other counts: a whole number >= 1.
_count = whole_number(1)


def add_grid_options(p: argparse.ArgumentParser, *, cell_km_help: str, overwrite_help: str) -> None:
    """The options of every command that builds a grid: cell size, unit limit, overwrite."""
    p.add_argument("--cell-km", type=_positive("--cell-km", "10"), default=None, help=cell_km_help)
    p.add_argument("--max-units", type=_count, default=DEFAULT_MAX_UNITS, metavar="N",
                   help=f"refuse grids estimated above N units (default {DEFAULT_MAX_UNITS:,})")
    p.add_argument("--overwrite", action="store_true", help=overwrite_help)


class _ShowVersions(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from optimizer.versions import show_versions

        print(show_versions())
        parser.exit()


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      line: str | None = None) -> str:
    return f"carbonpark: warning: {message}\n"


def _interrupted(sol: Solution) -> bool:
    """Say so on stderr when Ctrl-C stopped a solve (the caller then exits with 130)."""
    from optimizer.solvers import SolveStatus

    if sol.status is not SolveStatus.INTERRUPTED:
        return False
    print(f"carbonpark: {sol.describe()}", file=sys.stderr)
    return True


def in_cli_words(message: str, args: argparse.Namespace) -> str:
    """A library message with the option the user types for a time limit.

    The library names its Python argument (``raise time_limit``); a command sets
    ``time_limit_option`` (``--time-limit``, or the scenario key) and its messages name it.

    Examples
    --------
    >>> args = argparse.Namespace(time_limit_option="--time-limit")
    >>> in_cli_words("HiGHS found no plan within 2 s; raise time_limit", args)
    'HiGHS found no plan within 2 s; raise --time-limit'
    """
    option = getattr(args, "time_limit_option", None)
    if not option:
        return message
    return re.sub(r"\braise time_limit\b", f"raise {option}", message)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None, *,
        started: float | None = None) -> int:
    """Parse ``argv`` and run its command; our errors are one line, the exit code returned.

    ``started`` (`time.perf_counter`) is when the command started, from which its time
    limit counts (``args.started``; default: now).
    """
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"carbonpark: error: {exc}", file=sys.stderr)
        return 2
    args.started = time.perf_counter() if started is None else started
    with warnings.catch_warnings():
        warnings.simplefilter("default", OptimizerWarning)
        warnings.formatwarning = _one_line_warning
        try:
            return int(args.func(args))
        except OptimizerError as exc:
            print(f"carbonpark: error: {in_cli_words(str(exc), args)}", file=sys.stderr)
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
