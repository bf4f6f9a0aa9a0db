"""Process memory for the benchmarks, from Linux's /proc: current and peak resident size.

Shared by the benchmarks that run each size in a child process and watch it from the parent.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time


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


def watch_rss(proc: subprocess.Popen, max_gb: float, every: float = 0.2) -> list[float]:
    """Kill ``proc`` if its resident size passes ``max_gb`` (a daemon thread polls it).

    Returns the list the thread appends the offending size (MB) to when it kills.
    """
    killed: list[float] = []

    def watch() -> None:
        while proc.poll() is None:
            rss = rss_mb(proc.pid)
            if rss > max_gb * 1024:
                killed.append(rss)
                proc.kill()
                return
            time.sleep(every)

    threading.Thread(target=watch, daemon=True).start()
    return killed
