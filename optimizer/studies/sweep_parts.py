"""A sweep's folder: ``sweep.json``, one Parquet part per finished run, read back as one table.

Each finished run is one Parquet part ``DIR/runs/<hash>.parquet``, written by the driver
as the run ends (`write_part`) under a temporary (hidden) name, flushed to disk and then
renamed (`optimizer.atomic.write_file_atomic`), so a killed sweep (driver or worker) loses
nothing finished and leaves no half-written part that a reader takes for a result.

A resume (`prepare`) checks every part of the sweep's runs before it counts the run as
finished (`check_part`: readable, one row, the columns of its run, the run's hash): a part
damaged since (truncated by a full disk, a copy cut short, a file edited by hand) is
removed and its run solved again, and `prepare` says which. `read_results` reads the parts
of the sweep's current runs as one ``pyarrow.dataset``; `format_runs` is the table the
command prints at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.atomic import MARKER, read_marker, write_dir_atomic, write_file_atomic, write_text_atomic
from optimizer.errors import OutputError
from optimizer.studies.sweep_file import Run, Sweep

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND", "Resume", "check_part", "format_runs", "prepare", "read_results", "write_part"]

#: Output kind of a sweep folder (its marker, `optimizer.atomic`).
KIND = "sweep"

def _read_spec(out: Path) -> dict[str, Any] | None:
    """``sweep.json`` of a sweep folder (None when absent or unreadable)."""
    try:
        spec = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) and isinstance(spec.get("runs"), list) else None


def _check_same_sweep(out: Path, spec: dict[str, Any]) -> None:
    """Resume only the same sweep (the same scenarios): another one's parts would mix in.

    The same scenarios solved by another method (``path``) are the same sweep: those
    runs have other hashes, so they are solved again, not reused.
    """
    old = _read_spec(out)
    if old is None:
        return  # no readable spec (an older folder): its parts are checked by hash anyway
    try:  # folders before run methods: their run hash was the scenario's hash
        old_scenarios = [r.get("scenario_hash", r["hash"]) for r in old["runs"]]
    except (KeyError, TypeError, AttributeError):
        return
    if old_scenarios != [r["scenario_hash"] for r in spec["runs"]]:
        raise OutputError(f"{out}: holds another sweep ({old.get('name')!r}, "
                          f"{len(old_scenarios)} runs), not this one ({spec['name']!r}, "
                          f"{len(spec['runs'])} runs); choose another --out, or pass "
                          "--overwrite to replace it")



@dataclass(frozen=True)
class Resume:
    """What a sweep folder already holds: the hashes of the runs whose parts are whole
    (``done``), and the damaged parts removed to be solved again (``damaged``: the part's
    file name -> what is wrong with it)."""

    done: set[str]
    damaged: dict[str, str]


def prepare(out: Path, sweep: Sweep, overwrite: bool) -> Resume:
    """Create or reuse the sweep folder; the runs already finished, each part checked."""
    spec = {"name": sweep.name,
            "runs": [{"index": r.index, "hash": r.hash, "scenario_hash": r.scenario_hash,
                      "method": r.method, "params": r.params} for r in sweep.runs]}
    text = json.dumps(spec, indent=1, default=str) + "\n"
    marker = read_marker(out) if out.is_dir() else None
    if marker is not None and marker.get("kind") == KIND and not overwrite:
        _check_same_sweep(out, spec)
        runs = out / "runs"
        runs.mkdir(exist_ok=True)
        for tmp in runs.glob(".*.tmp"):  # parts a killed sweep was writing: never results
            with contextlib.suppress(OSError):
                tmp.unlink()
        if _read_spec(out) != json.loads(text):  # the runs' methods changed: this spec now
            write_text_atomic(out / "sweep.json", text)
        done: set[str] = set()
        damaged: dict[str, str] = {}
        for run in sweep.runs:
            part = runs / f"{run.hash}.parquet"
            if not part.exists():
                continue
            problem = check_part(part, run)
            if problem is None:
                done.add(run.hash)
                continue
            damaged[part.name] = problem
            try:  # never read as a result; the run is solved again
                part.unlink()
            except OSError as exc:
                raise OutputError(f"{part}: a damaged sweep part ({problem}) that cannot be "
                                  f"removed ({exc.strerror or exc}); remove it by hand and run "
                                  "the sweep again") from None
        return Resume(done, damaged)

    def fill(folder: Path) -> None:
        (folder / "runs").mkdir()
        (folder / "sweep.json").write_text(text, encoding="utf-8")

    write_dir_atomic(out, KIND, fill, overwrite=overwrite, inputs=sweep.inputs, grows=["runs"])
    assert (out / MARKER).is_file()
    return Resume(set(), {})


#: The result columns of a part after ``run``, ``hash``, ``param.<key>`` and ``params``.
COLUMNS = (("name", "string"), ("scenario_hash", "string"), ("method", "string"),
           ("status", "string"), ("objective", "float64"), ("bound", "float64"),
           ("gap", "float64"), ("requested_gap", "float64"), ("solver", "string"),
           ("strategy", "string"), ("solver_choice", "string"), ("runtime", "float64"),
           ("area_km2", "float64"),
           ("n_added", "int64"), ("carbon_stock_added", "float64"),
           ("mean_representation", "float64"), ("message", "string"), ("wall_s", "float64"))



def _param_value(value: Any) -> tuple[Any, str]:
    """A parameter as a column: numbers as float64, anything else as JSON text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), "float64"
    return json.dumps(value, sort_keys=True, default=str), "string"


def part_columns(run: Run) -> list[str]:
    """The columns of a run's part, in order."""
    return (["run", "hash", *(f"param.{k}" for k in run.params), "params"]
            + [name for name, _ in COLUMNS] + ["added_ids"])


def check_part(path: Path, run: Run) -> str | None:
    """What is wrong with ``path`` as the part of ``run`` (None: it is whole).

    A part is whole when Parquet reads it, it holds one row, the columns of its run
    (`part_columns`) and the run's hash.
    """
    import pyarrow.parquet as pq

    try:  # every page read (a damaged one fails here, not in read_results); ~1 ms a part
        with pq.ParquetFile(path) as pf:
            table = pf.read()
    except Exception as exc:  # pyarrow's errors (ArrowInvalid, OSError, ...): a damaged file
        why = " ".join(str(exc).split())[:120]
        return f"not a readable Parquet file: {why}"
    if table.num_rows != 1:
        return f"{table.num_rows:,} rows, not 1"
    missing = [c for c in part_columns(run) if c not in table.column_names]
    if missing:
        return f"no column {missing[0]!r}"
    found = table.column("hash")[0].as_py()
    if found != run.hash:
        return f"the row of another run (hash {str(found)[:12]}…)"
    return None


def write_part(out: Path, run: Run, rec: dict[str, Any]) -> None:
    """Write one run's row as ``runs/<hash>.parquet`` (temporary name, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, tuple[Any, Any]] = {"run": (run.index, pa.int64()),
                                         "hash": (run.hash, pa.string())}
    for k, v in run.params.items():
        value, kind = _param_value(v)
        cols[f"param.{k}"] = (value, getattr(pa, kind)())
    cols["params"] = (json.dumps(run.params, sort_keys=True, default=str), pa.string())
    rec = {**rec, "name": run.name, "scenario_hash": run.scenario_hash, "method": run.method}
    for name, kind in COLUMNS:
        cols[name] = (rec[name], getattr(pa, kind)())
    cols["added_ids"] = (list(rec["added_ids"]), pa.list_(pa.string()))
    table = pa.table({k: pa.array([v], type=t) for k, (v, t) in cols.items()})
    write_file_atomic(out / "runs" / f"{run.hash}.parquet", lambda tmp: pq.write_table(table, tmp))


def read_results(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The finished runs of a sweep folder, one row each, sorted by run index.

    Reads the parts ``DIR/runs/<hash>.parquet`` of the sweep's runs (``sweep.json``) as
    one ``pyarrow.dataset``; hidden temporary files of a killed sweep, and parts of the
    same scenarios solved by another method before a resume, are not read. Columns:
    ``run``, ``hash`` (of the scenario and the method), ``param.<key>`` per parameter,
    ``params`` (JSON), ``name`` (the scenario's name and the parameters),
    ``scenario_hash``, ``method`` (`Run.method`), ``status`` (`SolveStatus`:
    ``optimal`` only at proven gap 0, ``within_gap``, ``feasible``, ... or
    ``infeasible``/``error`` without a plan), ``objective`` (recomputed from the plan),
    ``bound`` (proven), ``gap`` (proven relative gap ``|bound - objective| /
    |objective|``), ``requested_gap`` (the scenario's), ``solver``, ``strategy`` (what
    ran), ``solver_choice`` (``auto``'s choice and why, as `carbonpark solve` prints it; ""
    for a named backend), ``runtime`` (solver seconds), ``area_km2`` (new km²: the unprotected area of the
    selected units), ``n_added``, ``carbon_stock_added`` (MgC), ``mean_representation``
    (% held), ``added_ids``, ``message``, ``wall_s`` (seconds of the run on its worker).
    """
    import pandas as pd
    import pyarrow.dataset as ds

    out = Path(out_dir)
    runs = out / "runs"
    if not runs.is_dir():
        raise OutputError(f"{out_dir}: no sweep results (no runs/ folder); run carbonpark sweep")
    spec = _read_spec(out)
    wanted = None if spec is None else {str(r.get("hash")) for r in spec["runs"]
                                        if isinstance(r, dict)}
    files = sorted(str(p) for p in runs.glob("*.parquet") if wanted is None or p.stem in wanted)
    if not files:
        return pd.DataFrame()
    try:
        table = ds.dataset(files, format="parquet").to_table()
    except Exception:  # pyarrow's errors: a part damaged since the sweep wrote it
        bad = next((f for f in files if _unreadable(f)), files[0])
        raise OutputError(f"{bad}: a damaged sweep part (not a readable Parquet file); run "
                          "the same carbonpark sweep again: it checks every part and solves "
                          "the damaged ones again") from None
    return table.to_pandas().sort_values("run", ignore_index=True)


def _unreadable(path: str) -> bool:
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as pf:
            pf.read()
    except Exception:  # pyarrow's errors
        return True
    return False


def format_runs(df: pd.DataFrame) -> str:
    """The table of a sweep's runs a planner reads at the end, with the definitions.

    One row per run: its number, name (the scenario and the run's parameters), new km²,
    objective, status (`SolveStatus` words), proven gap, seconds and how it was solved
    (``resumed: ...`` for a run finished by an earlier call, when ``df`` has `run_sweep`'s
    ``resumed`` column).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"run": [0], "name": ["balanced (budget.share=0.1)"],
    ...                    "area_km2": [220000.0], "objective": [0.59437], "status": ["within_gap"],
    ...                    "gap": [0.00083], "wall_s": [1.25], "method": ["solve:highs"],
    ...                    "strategy": ["lp-round+mip"], "resumed": [False]})
    >>> print(*format_runs(df).splitlines()[:2], sep="\\n")
    run  name                         new km²  objective  status      proven gap  seconds  how
      0  balanced (budget.share=0.1)  220,000    0.59437  within_gap      0.083%      1.2  solve highs
    """
    import pandas as pd

    def how(r: pd.Series) -> str:
        method = str(r.get("method", ""))
        text = method.replace(":", " ", 1)
        if method.startswith("path:"):
            text = ("nested path + HiGHS polish" if "highs" in str(r.get("strategy", ""))
                    else "nested path")
        return f"resumed: {text}" if bool(r.get("resumed", False)) else text

    def gap(v: float) -> str:
        # As proven_gap_text: never "0.000%" above 0; an objective near 0 makes the relative
        # gap explode ("758400000000000.000%"), which says no more than "over 1,000%".
        if pd.isna(v):
            return "-"
        return ("0" if v == 0 else "< 0.001%" if v < 5e-6 else "> 1,000%" if v > 10
                else f"{v:.3%}")

    cols = {
        "run": [str(int(v)) for v in df["run"]],
        "name": [str(v) for v in df["name"]],
        "new km²": [("-" if pd.isna(v) else f"{v:,.0f}") for v in df["area_km2"]],
        "objective": [("-" if pd.isna(v) else f"{v:.6g}") for v in df["objective"]],
        "status": [str(v) for v in df["status"]],
        "proven gap": [gap(v) for v in df["gap"]],
        "seconds": [f"{v:,.1f}" for v in df["wall_s"]],
        "how": [how(r) for _, r in df.iterrows()],
    }
    right = {"run", "new km²", "objective", "proven gap", "seconds"}
    width = {k: max([len(k), *map(len, v)]) for k, v in cols.items()}

    def line(cells: dict[str, str]) -> str:
        return "  ".join(c.rjust(width[k]) if k in right else c.ljust(width[k])
                         for k, c in cells.items()).rstrip()

    lines = [line({k: k for k in cols})]
    lines += [line({k: v[i] for k, v in cols.items()}) for i in range(len(df))]
    lines.append("objective: the scenario's objective, recomputed from the plan; seconds: "
                 "wall-clock of the run on its worker;")
    lines.append("proven gap: |bound - objective| / |objective|, the bound proven by the "
                 "solver (the nested path's Lagrangian bound, or the polish MIP's).")
    return "\n".join(lines)


