"""The app's re-solve (`optimizer.studies.interactive.PlanSession.solve`): seconds per change.

Run: ``PYTHONPATH=. python benchmarks/bench_app.py [--cells 10 5] [--repeat 5]``. For each
grid (``demo_grid(10)``: 22,425 units, the app's demo; ``demo_grid(5)``: ~90k units) it
times, median of ``--repeat`` calls, a fresh session's first solve (builds the caches: a
cut solve of the nested path), a budget change (read from the cached path), a weight
change (a new path) and each compactness position 0, 0.25, 0.5, 0.75, 1 (a new path,
then a budget change on it). Each timed call gets a new value so nothing is a repeat of
a cached answer. Prints the gap (on what the plan can change) and the process's peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import warnings


def _time(session, settings) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    r = session.solve(settings)
    return time.perf_counter() - t0, r


def bench(cells: float, repeat: int) -> list[tuple]:
    from optimizer.datasets import demo_grid
    from optimizer.studies.interactive import PlanSession, PlanSettings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        pu = demo_grid(cells)
    n = len(pu.units)
    print(f"demo_grid({cells:g}): {n:,} units, built in {time.perf_counter() - t0:.1f} s")
    rows = []
    s = PlanSession(pu)
    secs, r = _time(s, PlanSettings())
    rows.append((n, "first solve", secs, r.stage, r.gap))

    def case(label: str, make) -> None:  # type: ignore[no-untyped-def]
        times, last = [], None
        for i in range(repeat):
            secs, last = _time(s, make(i))
            times.append(secs)
        rows.append((n, label, statistics.median(times), last.stage, last.gap))

    case("budget change", lambda i: PlanSettings(budget_share=0.04 + 0.01 * i))
    case("weight change", lambda i: PlanSettings(biodiversity=1.1 + 0.1 * i))
    for c in (0.0, 0.25, 0.5, 0.75, 1.0):
        case(f"compactness {c:g}", lambda i, c=c: PlanSettings(compactness=c,
                                                               carbon_stock=1 + 0.01 * (i + 1)))
        case(f"compactness {c:g}, budget", lambda i, c=c: PlanSettings(
            compactness=c, carbon_stock=1 + 0.01 * repeat, budget_share=0.06 + 0.01 * i))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=float, nargs="+", default=[10, 5])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{'units':>7} {'change':26} {'median s':>9} {'stage':12} {'gap':>9} {'peak MB':>8}")
    for cells in args.cells:
        rows = bench(cells, args.repeat)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak (MB)
        for n, label, secs, stage, gap in rows:
            print(f"{n:7,d} {label:26} {secs:9.3f} {stage:12} {gap:9.2e} {peak:8.0f}")


if __name__ == "__main__":
    main()
