"""Process memory for the benchmarks, from Linux's /proc: current and peak resident size.

Shared by the benchmarks that run each size in a child process and watch it from the parent.
"""

from __future__ import annotations

import json


def status_kb(key: str, pid: int | str = "self") -> float:
    """A ``/proc/<pid>/status`` field in kB (``VmRSS``, ``VmHWM``); NaN when unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def rss_mb(pid: int | str = "self") -> float:
    """Resident size in MB; 0 for a process that is gone (the parent's watchdog polls it)."""
    kb = status_kb("VmRSS", pid)
    return 0.0 if kb != kb else kb / 1024


def reset_peak() -> bool:
    """Reset this process's peak resident size (``VmHWM``); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def emit(row: dict) -> None:
    """One result row on stdout, for the parent to read."""
    print("ROW " + json.dumps(row), flush=True)
