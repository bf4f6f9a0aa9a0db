"""Benchmark ``carbonpark marxan`` from process start to a written plan on an easy problem.

Issue 23 item 6 asks for < 0.5 s on a 2,500-unit project when the problem is easy. Each
instance is a ``benchmarks/bench_marxan.py`` grid project (BLM 0: min set, no boundary,
``--gap 0.01``), solved ``--repeat`` times, each in a fresh process. Columns (medians):

* ``wall s`` - the whole process, measured from outside (fork/exec to exit);
* ``import s`` - a fresh interpreter importing what the command imports (``python -c``,
  measured from outside: the interpreter's own start included);
* ``start-up s``, ``read s``, ``solve s``, ``write s`` - the command's own timing line
  (start-up: process start to the command's body, i.e. interpreter and imports; read:
  reading and compiling the project; write: scoring and writing Marxan's files);
* ``exit s`` - what is left: wall minus the four parts (the interpreter's exit; the parts
  are printed to 0.1 s, so it carries their rounding).

Python's bytecode cache is on, as in an installed package (pip compiles the modules when it
installs them): the processes run without ``PYTHONDONTWRITEBYTECODE``, after one run that
writes the cache. ``--no-bytecode-cache`` keeps the environment as it is; with
``PYTHONDONTWRITEBYTECODE=1`` set every start compiles carbonpark's modules again (about
0.1 s more).

    .venv/bin/python benchmarks/bench_startup.py [--sizes 2500,40000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

IMPORTS = "import optimizer.cli, optimizer.cli.marxan, optimizer.io.marxan, optimizer.plan.solving"
_TIMES = re.compile(r"^start-up ([\d.]+) s, read ([\d.]+) s, solve ([\d.]+) s, score and write "
                    r"([\d.]+) s", re.M)


def project(units: int, folder: Path) -> Path:
    """A bench_marxan grid project at BLM 0 (written once, then reused)."""
    from bench_marxan import cached_project

    return cached_project(units, folder, 0.0)


def _wall(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False, env=env)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{run.stderr}")
    return wall, run.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2500,40000", help="units, comma-separated")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/carbonpark-bench-startup"))
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE as the environment sets it")
    args = ap.parse_args()
    env = dict(os.environ)
    if not args.no_bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        _wall([sys.executable, "-c", IMPORTS], env)  # writes the cache once
    imports = statistics.median(_wall([sys.executable, "-c", IMPORTS], env)[0]
                                for _ in range(args.repeat))
    cache = "off" if env.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"carbonpark marxan, BLM 0, --gap 0.01, from process start to a written plan "
          f"(median of {args.repeat}; bytecode cache {cache}); import {imports:.2f} s")
    print(f"{'units':>7} {'wall s':>7} {'import s':>8} {'start-up s':>10} {'read s':>7} "
          f"{'solve s':>8} {'write s':>8} {'exit s':>7}")
    for units in (int(x) for x in args.sizes.split(",")):
        path = project(units, args.folder)
        rows = []
        for _ in range(args.repeat):
            wall, out = _wall([sys.executable, "-m", "optimizer.cli", "marxan", str(path),
                               "--gap", "0.01", "--overwrite", "--out",
                               str(path.parent / "output_startup")], env)
            parts = _TIMES.search(out)
            if parts is None:
                raise SystemExit(f"no timing line in:\n{out}")
            rows.append((wall, *map(float, parts.groups())))
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        print(f"{units:>7,} {med[0]:>7.2f} {imports:>8.2f} {med[1]:>10.2f} {med[2]:>7.2f} "
              f"{med[3]:>8.2f} {med[4]:>8.2f} {med[0] - sum(med[1:]):>7.2f}")


if __name__ == "__main__":
    main()
