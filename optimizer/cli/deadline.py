"""A command's time limit covers the whole command, from the process's start to its end.

``carbonpark marxan --time-limit T`` (and a scenario's ``[solver] time_limit`` for
``carbonpark solve``) is the wall time of the whole command: the interpreter's start-up and
imports, reading, compiling, solving, scoring and writing. The command makes one
`Deadline` when it starts (`command_started`: the process's own start time where the
command is the process), each stage takes what is left, and the solver gets the time left
less a reserve for what comes after it (`write_reserve`, estimated from the plan's size).
The solver ends on its budget whatever it is doing (a HiGHS run in a child process is
killed at its deadline, `optimizer.solvers.highs_process`), so the command ends within a
fraction of a second of its limit.

Nothing here imports numpy: ``carbonpark --help`` stays light.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

#: Seconds the solver is always given, however little of the limit is left: enough for the
#: first plan (the greedy plan) of a feasible problem, so a short limit never ends without
#: a plan.
MIN_SOLVE = 0.05

#: What comes after the solver's budget, measured on generated Marxan projects (2.5k-160k
#: units, ``benchmarks/bench_limits.py``): the solver's own overrun (a HiGHS run is given
#: `optimizer.solvers.highs_process.STOP_GRACE` to answer before it is killed, then the plan
#: is polished), scoring and writing Marxan's files, the process's exit: about
#: ``WRITE_FIXED + WRITE_PER_UNIT × units`` seconds.
WRITE_FIXED = 0.25
WRITE_PER_UNIT = 4e-6


def command_started() -> float:
    """`time.perf_counter` at this process's start (Linux's ``/proc``), else now.

    The interpreter's start and the imports before a command's body count against its
    time limit; where the start time cannot be read, the limit counts from now.

    Examples
    --------
    >>> command_started() <= time.perf_counter()
    True
    """
    now = time.perf_counter()
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        started_since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    age = uptime - started_since_boot
    return now - age if 0 <= age < 3600 else now


def write_reserve(n_units: int) -> float:
    """Seconds kept back from the solver for scoring, writing and the process's exit.

    Examples
    --------
    >>> round(write_reserve(2_500), 3), round(write_reserve(1_000_000), 3)
    (0.26, 4.25)
    """
    return WRITE_FIXED + WRITE_PER_UNIT * n_units


@dataclass(frozen=True)
class Deadline:
    """The end of a command that must finish within ``limit`` seconds of ``started``.

    Examples
    --------
    >>> d = Deadline(time.perf_counter(), 10.0)
    >>> 9.0 < d.left() <= 10.0 and 8.0 < d.solve_budget(1.0) <= 9.0
    True
    >>> Deadline(time.perf_counter() - 20, 10.0).solve_budget(1.0) == MIN_SOLVE
    True
    """

    started: float
    limit: float

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.perf_counter() - self.started

    def left(self) -> float:
        """Seconds left before the limit (negative past it)."""
        return self.limit - self.elapsed()

    def solve_budget(self, reserve: float) -> float:
        """The solver's seconds: what is left less ``reserve``, at least `MIN_SOLVE`."""
        return max(self.left() - reserve, MIN_SOLVE)

    def outcome(self) -> str:
        """The command's total time against the limit, in words (the last timing line).

        Examples
        --------
        >>> Deadline(time.perf_counter() - 2.0, 5.0).outcome()
        'total 2.0 s of the 5 s limit'
        """
        total = self.elapsed()
        if total <= self.limit:
            return f"total {total:.1f} s of the {self.limit:g} s limit"
        over = total - self.limit
        return (f"total {total:.1f} s; over the {self.limit:g} s limit by "
                f"{over:.{2 if over < 0.1 else 1}f} s")
