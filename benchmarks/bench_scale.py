"""Benchmark for issue 15 (national scale): today's pipeline against the number of units.

A Demoland-like country of ``--area-km2`` (default 9.6 million km², China's size) is
synthesised on the fly, seeded, by the demo generator ``data/make_demo.py``: its module is
loaded privately, its extent constants are scaled (the country outline, the world fields,
the parks and reserves all follow them) and its ``build`` writes the same kinds of
layers as ``data/demo`` (six rasters in three CRSs at their native pixel sizes, species
ranges, protected areas, provinces) into a temporary folder, with a manifest copied from
``data/demo.toml``. Nothing in ``data/`` is changed.

Then, per ``--cell-km`` (coarsest first), one child process runs the public API:

    grid     optimizer.inputs.layers.load_manifest + optimizer.grid.build.build_grid
    gap      optimizer.gap.gap_analysis(pu)
    problem  problem(pu).add_max_utility_objective(budget_share=0.1)
                        .add_existing_protection().add_boundary_penalty(1e-5)
    compile  optimizer.model.compile.compile(p)                 (for the breakdown only)
    solve    optimizer.plan.results.solve(p, "cut", gap=1e-3, time_limit=...)  (its own compile)
    parks    optimizer.plan.parks.candidate_parks(p, sol.x)
    export   optimizer.outputs.export.export_plan(p, sol.x, out, formats=["parquet"])  (its own parks)

Each stage's peak RSS is its own: the child resets the kernel's high-water mark
(``/proc/self/clear_refs`` = 5) before the stage and reads ``VmHWM`` after it, so the peak
includes what earlier stages still hold (the grid), as it would in a real run. Where
``clear_refs`` cannot be written the cumulative ``resource.getrusage`` maximum is printed
instead (flagged ``cum``).

Before every size the peak memory is projected (from the sizes already measured, else from
a prior per-unit figure); a size whose projection exceeds ``--max-gb`` is refused with a
message, and a parent watchdog kills a child whose RSS passes ``--max-gb`` anyway.

At the end: the growth curve (log-log slope of seconds and of memory above the process
baseline, against units), a projection of every stage to 10 million units (1 km over
China) and the issue's targets each projection would miss.

    python benchmarks/bench_scale.py                         # 20, 10, 5 km over 9.6M km²
    python benchmarks/bench_scale.py --cell-km 20,10,5,2 --max-gb 12
    python benchmarks/bench_scale.py --area-km2 3e6 --cell-km 10,5
    python benchmarks/bench_scale.py --data /tmp/nat          # keep/reuse the synthetic layers
    python benchmarks/bench_scale.py --work /tmp/nat_work     # keep the grids and exports
    python benchmarks/bench_scale.py --work /tmp/nat_work --reuse-grid   # ... and open them again
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _proc import emit as _emit
from _proc import reset_peak as _reset_peak
from _proc import status_kb as _status_kb
from _proc import watch_rss

ROOT = Path(__file__).resolve().parents[1]
MAKE_DEMO = ROOT / "data" / "make_demo.py"
DEMO_MANIFEST = ROOT / "data" / "demo.toml"
GOAL_UNITS = 10_000_000
STAGES = ("grid", "open", "conservation", "gap", "problem", "compile", "solve", "parks", "export")
# Prior for the first size only (before anything is measured): MB per 1,000 units, and
# the resident size of the child after its imports.
PRIOR_MB_PER_1K_UNITS = 4.5  # measured: 3.6 at 2 km (2.4M units) over 9.6M km² (in memory)
# The streamed build and the lazy read: 0.8 KB a unit open, the solve's model on top.
PRIOR_MB_PER_1K_UNITS_STREAMED = 1.5
PRIOR_BASE_MB = 1000.0
# The targets at 10M units: (label, stages summed, max seconds, max GB or None).
TARGETS = (
    ("grid", ("grid",), 600.0, 8.0),
    ("gap", ("gap",), 30.0, None),
    ("compile + cut solve", ("compile", "solve"), 180.0, 16.0),
    ("parks + GeoParquet export", ("export",), 120.0, None),  # export_plan runs candidate_parks
)


# --------------------------------------------------------------------------------------
# Synthetic national layers
# --------------------------------------------------------------------------------------


def _load_make_demo():  # type: ignore[no-untyped-def]
    """A private copy of the demo generator module (its constants can be changed safely)."""
    name = "_bench_scale_make_demo"
    spec = importlib.util.spec_from_file_location(name, MAKE_DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def generate(out: Path, area_km2: float, seed: int | None = None) -> None:
    """Write a Demoland of ``area_km2`` (layers + ``country.toml``) into ``out``.

    The demo's extent (``SEMI_AXES_DEG``, ``TARGET_AREA_KM2``) is scaled by
    sqrt(area / 2.2M km²) about the same centre; every pixel size stays the demo's own
    (1 km land cover, 0.02° biomass, 3 km EASE soil carbon, 1/12° NPP, 0.1° CO2,
    0.05° richness), so the rasters grow with the area as real products would.
    """
    md = _load_make_demo()
    k = math.sqrt(area_km2 / md.TARGET_AREA_KM2)
    md.TARGET_AREA_KM2 = area_km2
    md.SEMI_AXES_DEG = (md.SEMI_AXES_DEG[0] * k, md.SEMI_AXES_DEG[1] * k)
    out.mkdir(parents=True, exist_ok=True)
    md.build(out, md.SEED if seed is None else seed)
    text = DEMO_MANIFEST.read_text(encoding="utf-8").replace('"demo/', '"')
    (out / "country.toml").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------
# Child: one size, every stage
# --------------------------------------------------------------------------------------


def conservation(pu, data: Path) -> dict:  # type: ignore[no-untyped-def]
    """Largest relative difference between each raster band's total on the grid and the
    raster's own total over the study area (cells whose centre is inside, value x true
    cell area, nodata as 0): computed without the grid's aggregation code."""
    import numpy as np
    import rasterio
    import rasterio.features
    import shapely

    from optimizer.grid.crs import to_crs
    from optimizer.inputs.layers import cell_areas_km2, load_manifest, open_raster
    from optimizer.inputs.units import get_unit, unit_for_role

    _, specs = load_manifest(data / "country.toml")
    worst: dict[str, float] = {}
    for spec in specs:
        if spec.is_vector or spec.role not in ("carbon_stock", "carbon_uptake", "emissions"):
            continue
        info = open_raster(spec)
        unit = unit_for_role(get_unit(spec.unit), spec.role)
        outline = to_crs(shapely.segmentize(np.array([pu.study_area]), 5_000), pu.crs, info.crs)[0]
        inside = rasterio.features.geometry_mask([outline], (info.height, info.width),
                                                 info.transform, invert=True)
        rows, cols = np.nonzero(inside)
        area = cell_areas_km2(info.crs, info.transform, np.arange(info.height),
                              np.arange(info.width))[rows, cols]
        with rasterio.open(spec.path) as ds:
            for b, label in enumerate(info.band_labels):
                v = ds.read(info.bands[b], masked=True)[rows, cols]
                v = np.ma.filled(v.astype(np.float64), 0.0)
                per_area = unit.kind != "per_cell"
                total = float((v * area).sum() if per_area else v.sum()) * unit.factor
                col = f"{spec.name}_{label}" if label else spec.name
                grid_total = float(pu.features.loc[col, "total"])
                worst[col] = abs(grid_total - total) / abs(total) if total else 0.0
    key = max(worst, key=worst.get) if worst else ""
    return {"max_rel_diff": worst.get(key, 0.0), "worst": key, "bands": len(worst)}


def child(data: Path, cell_km: float, time_limit: float, out_dir: Path, build: str = "streamed",
          workers: int = 0) -> None:
    """Run every stage once at ``cell_km``; print one JSON row per stage."""
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np

    from optimizer.gap import gap_analysis
    from optimizer.grid.build import build_grid, read_grid
    from optimizer.grid.stream import build_grid_streamed
    from optimizer.inputs.layers import load_manifest
    from optimizer.model.compile import compile as compile_model
    from optimizer.model.problem import problem
    from optimizer.outputs.export import export_plan
    from optimizer.plan.parks import candidate_parks
    from optimizer.plan.results import solve

    base_mb = _status_kb("VmRSS") / 1024
    _emit({"stage": "base", "units": 0, "seconds": 0.0, "peak_mb": base_mb, "start_mb": base_mb})
    state: dict = {}

    def stage(name: str, fn, extra=None) -> None:  # type: ignore[no-untyped-def]
        own = _reset_peak()
        start_mb = _status_kb("VmRSS") / 1024
        t = time.perf_counter()
        state[name] = fn()
        seconds = time.perf_counter() - t
        peak_mb = (_status_kb("VmHWM") if own else
                   resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        row = {"stage": name, "units": state["units"], "seconds": seconds,
               "peak_mb": peak_mb, "start_mb": start_mb, "own_peak": own}
        row.update(extra(state[name]) if extra else {})
        if "worker_peak_mb" in row:  # a Dask build: the workers' memory counts too
            row["child_peak_mb"] = row["peak_mb"]
            row["peak_mb"] += sum(row["worker_peak_mb"])
        _emit(row)
        if name == os.environ.get("BENCH_SCALE_UNTIL"):
            sys.exit(0)

    manifest_path = data / "country.toml"

    manifest, specs = load_manifest(manifest_path)
    state["units"] = 0
    client = cluster = None
    grid_dir = out_dir / f"grid_{cell_km:g}km"
    reuse = bool(os.environ.get("BENCH_SCALE_REUSE")) and (grid_dir / "units.parquet").exists()
    if workers and not reuse:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", memory_limit=None)
        client = Client(cluster)

    def grid():  # type: ignore[no-untyped-def]
        if reuse:
            return grid_dir  # --reuse-grid: the grid --work kept from an earlier run
        if build == "memory":
            return build_grid(specs, study_area=data / manifest.grid.study_area, cell_km=cell_km,
                              crs=manifest.grid.crs, max_units=None)
        return build_grid_streamed(specs, grid_dir, study_area=data / manifest.grid.study_area,
                                   cell_km=cell_km, crs=manifest.grid.crs, max_units=None,
                                   client=client, overwrite=True)

    def worker_peaks() -> dict:
        if client is None:
            return {}
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return {"workers": workers, "worker_peak_mb": sorted(peaks.values())}

    def grid_facts(pu) -> dict:  # type: ignore[no-untyped-def]
        u = pu.units
        geom_mb = float(u.geometry.values.nbytes) / 2**20
        # shapely stores each polygon in GEOS memory, outside numpy: ~ 5 coords × 16 B + overhead
        return {"features": len(pu.features), "columns": u.shape[1],
                "boundary_pairs": len(pu.boundary),
                "units_df_mb": float(u.drop(columns=u.geometry.name).memory_usage(deep=True).sum())
                / 2**20,
                "boundary_mb": float(pu.boundary.memory_usage(deep=True).sum()) / 2**20,
                "geometry_ptr_mb": geom_mb}

    if build == "memory":
        state["units"] = -1
        stage("grid", grid, lambda pu: {**grid_facts(pu), "build": "memory"})
        state["units"] = len(state["grid"])
        state["open"] = state["grid"]
    else:
        import pyarrow.parquet as pq

        def built(path: Path) -> dict:
            meta = pq.ParquetFile(path / "units.parquet").metadata
            return {"units": meta.num_rows, "build": "reused" if reuse else "streamed",
                    **({} if reuse else worker_peaks()), "row_groups": meta.num_row_groups}

        stage("grid", grid, built)
        state["units"] = pq.ParquetFile(grid_dir / "units.parquet").metadata.num_rows
        if client is not None:
            client.close()
            cluster.close()
        stage("open", lambda: read_grid(grid_dir), grid_facts)
    pu = state["open"]
    stage("conservation", lambda: conservation(pu, data), lambda r: r)
    stage("gap", lambda: gap_analysis(pu))
    def make_problem():  # type: ignore[no-untyped-def]
        base = problem(pu).add_max_utility_objective(budget_share=0.1).add_existing_protection()
        spec = os.environ.get("BENCH_SCALE_PENALTY", "rel:0.1")
        # "rel:k": k x the mean unit value per km (a balanced penalty at any cell size; a
        # fixed one per km outweighs the unit values, which fall as 1/units, on fine grids).
        pen = (float(spec[4:]) * float(np.mean(base.unit_values())) if spec.startswith("rel:")
               else float(spec))
        return base.add_boundary_penalty(pen)

    stage("problem", make_problem,
          lambda q: {"penalty_per_km": float(q.boundary_penalty.penalty)})
    p = state["problem"]

    def model_facts(m) -> dict:  # type: ignore[no-untyped-def]
        a = m.A
        return {"rows": int(a.shape[0]), "cols": int(a.shape[1]), "nnz": int(a.nnz),
                "A_mb": (a.data.nbytes + a.indices.nbytes + a.indptr.nbytes) / 2**20}

    stage("compile", lambda: compile_model(p), model_facts)

    def solve_facts(sol) -> dict:  # type: ignore[no-untyped-def]
        return {"status": str(sol.status), "gap": float(sol.gap),
                "selected": int(np.asarray(sol.x).sum())}

    stage("solve", lambda: solve(p, "cut", gap=1e-3, time_limit=time_limit,
                                 model=state.pop("compile")), solve_facts)
    x = state["solve"].x
    np.save(out_dir / f"plan_{cell_km:g}km.npy", x)  # with --work: the plan, for reruns
    stage("parks", lambda: candidate_parks(p, x), lambda parks: {"parks": len(parks.table)})
    state.pop("parks")
    stage("export", lambda: export_plan(p, x, out_dir / f"export_{cell_km:g}km",
                                        formats=["parquet"]),
          lambda res: {"parks": len(res.parks.table),
                       "breakdown": {k: round(v, 2) for k, v in res.seconds.items()}})


# --------------------------------------------------------------------------------------
# Parent: sizes, watchdog, table, growth curve, projection
# --------------------------------------------------------------------------------------


def run_size(data: Path, cell_km: float, time_limit: float, max_gb: float,
             out_dir: Path, build: str = "streamed", workers: int = 0) -> tuple[list[dict], str]:
    """Run one size in a child; return its rows and a failure note ("" if none)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(data), str(cell_km),
           str(time_limit), str(out_dir), build, str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    killed = watch_rss(proc, max_gb)
    rows = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ROW "):
            row = json.loads(line[4:])
            rows.append(row)
            if row["stage"] != "base":
                print_row(cell_km, row)
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    done = {r["stage"] for r in rows}
    running = next((s for s in STAGES if s not in done), "?")
    if killed:
        return rows, f"killed by the watchdog in stage {running}: RSS {killed[0] / 1024:.1f} GB > {max_gb} GB"
    if proc.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        return rows, f"child failed in stage {running} (exit {proc.returncode}): {tail}"
    return rows, ""


HEADER = (f"{'cell km':>7} {'stage':<8}{'units':>11}{'seconds':>10}{'peak MB':>10}"
          f"{'+MB':>9}{'MB/1k u':>9}  notes")


def print_row(cell_km: float, r: dict) -> None:
    """One table row: peak, the stage's own growth over its start, MB per 1,000 units."""
    notes = []
    for key in ("penalty_per_km", "build", "workers", "child_peak_mb", "worker_peak_mb", "row_groups",
                "max_rel_diff", "worst", "bands",
                "features", "boundary_pairs", "units_df_mb", "boundary_mb", "rows", "cols",
                "nnz", "A_mb", "status", "gap", "selected", "parks", "breakdown"):
        if key in r:
            v = r[key]
            notes.append(f"{key}={v:.2e}" if key in ("gap", "max_rel_diff", "penalty_per_km") else
                         f"{key}={v:,.1f}" if isinstance(v, float) else
                         f"{key}={v:,}" if isinstance(v, int) else f"{key}={v}")
    if not r.get("own_peak", True):
        notes.append("cum")
    units = max(r["units"], 1)
    print(f"{cell_km:>7g} {r['stage']:<8}{r['units']:>11,}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}"
          f"{r['peak_mb'] - r['start_mb']:>9.0f}{r['peak_mb'] / units * 1000:>9.1f}  "
          + " ".join(notes), flush=True)


def fit(units: list[float], values: list[float]) -> tuple[float, float]:
    """Least-squares log-log fit: value = c · units^k; returns (c, k)."""
    pts = [(math.log(u), math.log(v)) for u, v in zip(units, values, strict=True) if u > 0 and v > 0]
    if len(pts) < 2:
        raise ValueError("need two sizes")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    k = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx > 0 else 1.0
    return math.exp(my - k * mx), k


def secant(units: list[float], values: list[float]) -> tuple[float, float]:
    """(slope, exponent) between the two largest sizes: the local growth, per unit and log-log."""
    (u1, v1), (u2, v2) = sorted(zip(units, values, strict=True))[-2:]
    slope = (v2 - v1) / (u2 - u1)
    k = math.log(max(v2, 1e-9) / max(v1, 1e-9)) / math.log(u2 / u1)
    return slope, k


def project_peak_mb(results: dict[float, list[dict]], units: float,
                    prior: float = PRIOR_MB_PER_1K_UNITS) -> float:
    """Projected peak MB over all stages at ``units`` from the sizes measured so far.

    Linear in the units from the two largest sizes (their secant; memory per unit is
    what grows, plus 20 %), else the largest size plus the prior per-unit figure.
    """
    measured = sorted((rows[1]["units"], max(r["peak_mb"] for r in rows[1:]))
                      for rows in results.values() if len(rows) > 1)
    if not measured:
        return PRIOR_BASE_MB + prior * units / 1000
    u2, p2 = measured[-1]
    per_unit = prior / 1000  # the prior holds its own margin
    if len(measured) > 1 and measured[-1][0] > measured[-2][0]:
        per_unit = 1.2 * max(secant([m[0] for m in measured], [m[1] for m in measured])[0], 0.0)
    return p2 + per_unit * max(units - u2, 0.0)


def summarise(results: dict[float, list[dict]], time_limit: float) -> None:
    """Growth curve per stage, projection to 10M units, targets missed."""
    last = os.environ.get("BENCH_SCALE_UNTIL", STAGES[-1])
    stages = STAGES[:STAGES.index(last) + 1]
    sizes = [s for s, rows in results.items() if any(r["stage"] == last for r in rows)]
    if len(sizes) < 2:
        print("\n(growth curve needs two complete sizes)")
        return
    by = {s: {r["stage"]: r for r in results[s]} for s in sizes}
    base = min(by[s]["base"]["peak_mb"] for s in sizes)
    units = [by[s]["grid"]["units"] for s in sizes]
    print(f"\ngrowth over {', '.join(f'{s:g} km ({u:,} units)' for s, u in zip(sizes, units, strict=True))}")
    print("  t exp: log-log slope of seconds (all sizes / two largest); m exp: the same for the")
    print(f"  peak above the child's baseline ({base:.0f} MB after imports); B/unit: peak growth per")
    print("  unit between the two largest sizes. Projection to 10M units: seconds by the two")
    print("  largest sizes' slope, peak linearly by B/unit (a lower bound when m exp > 1).")
    print(f"{'stage':<9}{'t exp all':>10}{'t exp top':>10}{'m exp all':>10}{'m exp top':>10}"
          f"{'B/unit':>8}{'s @10M':>10}{'peak GB @10M':>13}")
    proj: dict[str, tuple[float, float]] = {}
    for st in stages:
        if any(st not in by[s] for s in sizes):  # e.g. "open" after an in-memory build
            continue
        secs = [max(by[s][st]["seconds"], 1e-3) for s in sizes]
        peaks = [by[s][st]["peak_mb"] for s in sizes]
        above = [max(p - base, 1.0) for p in peaks]
        kt_all, kt = fit(units, secs)[1], secant(units, secs)[1]
        km_all, km = fit(units, above)[1], secant(units, above)[1]
        mb_per_unit = max(secant(units, peaks)[0], 0.0)
        u_top = max(units)
        t10 = secs[units.index(u_top)] * (GOAL_UNITS / u_top) ** kt
        m10 = (peaks[units.index(u_top)] + mb_per_unit * (GOAL_UNITS - u_top)) / 1024
        proj[st] = (t10, m10)
        print(f"{st:<9}{kt_all:>10.2f}{kt:>10.2f}{km_all:>10.2f}{km:>10.2f}"
              f"{mb_per_unit * 2**20:>8,.0f}{t10:>10,.0f}{m10:>13.1f}")
    capped = [s for s in sizes if "solve" in by[s]
              and by[s]["solve"]["seconds"] >= 0.95 * time_limit]
    if capped:
        print(f"  solve hit the {time_limit:g} s time limit at {', '.join(f'{s:g} km' for s in capped)}:"
              " its time exponent and projection are lower bounds")
    print("\nissue 15 targets at 10M units (projected):")
    for label, target_stages, max_s, max_gb in TARGETS:
        if any(s not in proj for s in target_stages):
            continue
        t = sum(proj[s][0] for s in target_stages)
        gb = max(proj[s][1] for s in target_stages)
        verdicts = [f"time {t:,.0f} s vs < {max_s:,.0f} s: "
                    + ("ok" if t < max_s else f"MISSED x{t / max_s:.1f}")]
        if max_gb is not None:
            verdicts.append(f"memory {gb:.1f} GB vs < {max_gb:g} GB: "
                            + ("ok" if gb < max_gb else f"MISSED x{gb / max_gb:.1f}"))
        print(f"  {label:<27}" + "; ".join(verdicts))


def main() -> None:
    """Parse the arguments, synthesise the country, run the sizes, print the summary."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        data, cell, tl, out, build, workers = sys.argv[2:8]
        child(Path(data), float(cell), float(tl), Path(out), build, int(workers))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-km", default="20,10,5", help="cell sizes in km, comma-separated")
    parser.add_argument("--area-km2", type=float, default=9.6e6,
                        help="country area (default 9.6e6, China); at least about 2e6 "
                             "(the generator spaces 10 provinces 3.6° apart)")
    parser.add_argument("--max-gb", type=float, default=12.0,
                        help="refuse sizes projected above this peak, kill a child past it")
    parser.add_argument("--time-limit", type=float, default=180.0,
                        help="solver time limit in seconds (default: the issue's 3 min)")
    parser.add_argument("--data", type=Path,
                        help="folder for the synthetic layers (reused when it holds "
                             "country.toml; default: a temporary folder)")
    parser.add_argument("--build", choices=("streamed", "memory"), default="streamed",
                        help="grid build: band by band on disk (default) or build_grid in memory")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the streamed build's bands on a Dask LocalCluster of N "
                             "processes (default 0: in the child process)")
    parser.add_argument("--penalty", default="rel:0.1",
                        help="boundary penalty per km: a number, or rel:k for k x the mean unit "
                             "value (default rel:0.1, balanced at any cell size)")
    parser.add_argument("--until", choices=STAGES, default=STAGES[-1],
                        help="stop each size after this stage (e.g. conservation)")
    parser.add_argument("--work", type=Path,
                        help="folder for the grids and exports, kept after the run (default: "
                             "the temporary folder, deleted)")
    parser.add_argument("--reuse-grid", action="store_true",
                        help="with --work: open the grid an earlier run kept there instead of "
                             "building it (its row says build=reused)")
    args = parser.parse_args()
    sizes = sorted({float(s) for s in args.cell_km.split(",")}, reverse=True)

    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        data = args.data or Path(tmp) / "country"
        if not (data / "country.toml").exists():
            t = time.perf_counter()
            print(f"synthesising a {args.area_km2:,.0f} km² country into {data} ...", flush=True)
            subprocess.run([sys.executable, "-c",
                            "import sys; sys.path.insert(0, sys.argv[1]);"
                            "import bench_scale as b; from pathlib import Path;"
                            "b.generate(Path(sys.argv[2]), float(sys.argv[3]))",
                            str(Path(__file__).resolve().parent), str(data), str(args.area_km2)],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
        else:
            print(f"reusing the layers in {data}")
        mb = sum(f.stat().st_size for f in data.iterdir()) / 2**20
        print(f"layers: {mb:.0f} MB; max {args.max_gb:g} GB; solver time limit {args.time_limit:g} s; "
              f"peak RSS per stage: {'own' if _reset_peak() else 'cumulative'}\n")
        print(HEADER)
        results: dict[float, list[dict]] = {}
        failures: list[str] = []
        for cell in sizes:
            est = args.area_km2 / cell**2
            peak = project_peak_mb(results, est, PRIOR_MB_PER_1K_UNITS_STREAMED
                                   if args.build == "streamed" else PRIOR_MB_PER_1K_UNITS)
            if peak > args.max_gb * 1024:
                msg = (f"{cell:>7g} refused: about {est:,.0f} units, projected peak "
                       f"{peak / 1024:.1f} GB > --max-gb {args.max_gb:g}")
                print(msg, flush=True)
                failures.append(msg.strip())
                continue
            os.environ["BENCH_SCALE_UNTIL"] = args.until
            os.environ["BENCH_SCALE_PENALTY"] = args.penalty
            if args.reuse_grid and args.work:
                os.environ["BENCH_SCALE_REUSE"] = "1"
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            rows, note = run_size(data, cell, args.time_limit, args.max_gb, work,
                                  args.build, args.workers)
            results[cell] = rows
            if note:
                print(f"{cell:>7g} {note}", flush=True)
                failures.append(f"{cell:g} km: {note}")
        summarise(results, args.time_limit)
        for f in failures:
            print(f"note: {f}")


if __name__ == "__main__":
    main()
