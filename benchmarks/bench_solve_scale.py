"""Benchmark for issue 15, the optimisation half: compile and solve at national size.

A national-size grid of square 1 km cells is synthesised *directly as arrays* (no
rasters, no `build_grid`: the grid's own scaling is `bench_scale.py`'s business) and
handed to `optimizer.planning_units_from_arrays`:

* an irregular country shape (a smooth random field thresholded around an ellipse) on an
  ``nrows x ncols`` raster holding about ``--units`` cells; cells on the country's edge
  are "clipped" (area 0.2-1 km², exposed outer edge as self-boundary rows);
* spatially smooth seeded fields (coarse Gaussian-filtered noise, zoomed up) for carbon
  stock (MgC/cell, role ``carbon_stock``), NPP (MgC/cell/yr, ``carbon_uptake``),
  emissions (tCO2/cell/yr) and 20 biodiversity features (km²/cell, blobs covering 5-35 %
  of the country each);
* ``pa_fraction`` 1 on ~11 % of the units (blobs) and 0.3 on a thin ring around them;
* 24 region labels (provinces from the nearest of 24 seeds on a coarse raster);
* the 4-neighbour boundary table (``id1``, ``id2``, ``length_km``) built vectorised from
  row/col, plus the exposed edges of the country's edge cells.

Per size, one child process (so peaks are per size) runs and times, with its own peak
RSS per stage (``/proc/self/clear_refs`` reset, ``VmHWM`` read; ``cum`` when the reset is
not allowed):

    arrays    the synthetic arrays above
    units     planning_units_from_arrays(...)
    problem   problem(pu).add_max_utility_objective(budget_share=0.1)
                 .add_existing_protection().add_boundary_penalty(--penalty)
    compile   optimizer.model.compile.compile(p)
    maxutil   optimizer.plan.results.solve(p, "cut", gap=1e-3, time_limit=--time-limit)
              (given the compiled model when `solve` takes ``model=``, else it compiles)
    ms-comp   min set: problem(pu).add_min_set_objective().add_relative_targets(17 % of
              each of the 20 features).add_existing_protection()
              .add_boundary_penalty(--minset-penalty), compiled
    minset    optimizer.plan.results.solve(p, --minset-solver, gap=1e-2,
              time_limit=--minset-time-limit)

Each solve row prints the objective, the bound, the proven gap and the status; the
objective is recomputed from the problem's parts (`optimizer.plan.results.objective_value`)
and the row says ``CHECK FAILED`` if it differs from the solver's. At the end, the issue's
targets at 10M units: (a) compile + max-utility cut solve to <= 0.1 % in < 180 s and
< 16 GB; (b) min set + boundary with 20 features to <= 1 % in < 600 s; measured where a
size of ~10M units ran, else projected from the two largest sizes (log-log slope).

    python benchmarks/bench_solve_scale.py --units 1e6,3e6
    python benchmarks/bench_solve_scale.py --units 1e6,3e6,10e6 --penalty rel:0.1 \
        --direct-units 5e6 --float32-amounts --max-gb 10
    python benchmarks/bench_solve_scale.py --units 2e6 --skip-minset

Measured (2026-11-30, this 2-core machine shared with two other jobs: load average 2.5-6,
so seconds vary by up to ~1.6x between runs of the same code; "before" is main at
9d294a0, whose ``solve`` compiles again; seconds are solve seconds, compile apart):

    units  row                        before                      after
    1M     compile (max utility)      0.36 s   1136 MB            0.24 s    963 MB
           max utility, rel:0.1       8.9 s    1359 MB  0.000%    7.2 s    1321 MB  0.000%
           max utility, 1e-5          19.0 s   1355 MB  0.000%    23.1 s   1248 MB  0.000%
           min set compile            1.55 s   1624 MB            0.35 s   1013 MB
           min set 20 targets         40.8-47.5 s 1929 MB 0.50%   43.8 s   1349 MB  0.51%
    3M     compile (max utility)      1.2-1.5 s 2997 MB           0.9-1.4 s 2368 MB
           max utility, rel:0.1       21-23 s  3486 MB  0.000%    5.8-9.6 s 3039 MB 0.000%
           max utility, 1e-5          190 s    3486 MB  5.2%      180 s    3059 MB  5.1%
           min set compile            5.8-19 s 4435 MB            1.1-2.2 s 2523 MB
           min set 20 targets         86-139 s 5175 MB  0.65%     59-89 s  3482 MB  0.76%
           (back to back, same load:  102 s    5175 MB            59 s     3482 MB)
    10M    compile (max utility)      (not run: the min set       6-15 s   7217 MB
           max utility, rel:0.1        would need ~19 GB)         42-47 s  9218 MB  0.000%
           max utility, 1e-5                                      196 s    9218 MB  0.19%
           min set compile                                        11 s     6941 MB
           min set 20 targets                                     248 s   10003 MB  0.91%

(10M rows: grid assembled with ``--direct-units``, the min set with ``--float32-amounts``;
peaks include the grid, ~3.4 GB at 10M.) Issue 15 at 10M: (a) with the balanced penalty
compile + solve 58-62 s, 8-9 GB, gap 0.000%: met; with the issue's 1e-5 per km (which at 1
km cells dominates the unit values) 202 s at 0.19%: missed, the max-flow of the cuts at
the middle multipliers is slow (BK: 31 s for one cut at 3M) and the breakpoint leaves one
large component. (b) 259 s at 0.91%: met.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _proc import emit as _emit
from _proc import reset_peak as _reset_peak
from _proc import status_kb as _status_kb
from _proc import watch_rss

ROOT = Path(__file__).resolve().parents[1]
GOAL_UNITS = 10_000_000
N_SPECIES = 20
TARGET_SHARE = 0.17
STAGES = ("arrays", "units", "problem", "compile", "maxutil", "ms-comp", "minset")


# --------------------------------------------------------------------------------------
# Synthetic national arrays
# --------------------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A smooth standard field (float32, mean 0, sd 1) of ``shape`` with blobs of about
    ``scale`` cells: Gaussian-filtered noise on a coarse raster, zoomed up bilinearly."""
    from scipy import ndimage

    factor = max(1, int(scale // 4))
    coarse = (shape[0] // factor + 2, shape[1] // factor + 2)
    f = ndimage.gaussian_filter(rng.standard_normal(coarse).astype(np.float32),
                                max(scale / factor / 2, 0.5), mode="wrap")
    f = ndimage.zoom(f, factor, order=1, prefilter=False)[: shape[0], : shape[1]]
    f -= f.mean()
    f /= f.std() + 1e-12
    return f


def synthesise(n_target: int, seed: int = 0) -> dict[str, Any]:
    """The arguments of `planning_units_from_arrays` for a country of ~``n_target`` 1 km cells.

    Returns
    -------
    dict
        ``pu_id``, ``amounts`` (dict of 23 columns), ``area_km2``, ``pa_fraction``,
        ``region``, ``boundary`` (DataFrame), ``extra`` (row, col) and ``feature_info``.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    fill = 0.62  # share of the raster inside the country
    nrows = math.ceil(math.sqrt(n_target / fill / 1.3))
    ncols = math.ceil(1.3 * nrows)
    shape = (nrows, ncols)
    # Country: an ellipse whose edge is pushed in and out by a smooth field.
    yy = (np.arange(nrows, dtype=np.float32)[:, None] + 0.5) / nrows * 2 - 1
    xx = (np.arange(ncols, dtype=np.float32)[None, :] + 0.5) / ncols * 2 - 1
    shape_field = np.sqrt(xx**2 + yy**2) + 0.12 * _smooth(rng, shape, nrows / 6)
    cut = np.partition(shape_field.ravel(), n_target - 1)[n_target - 1]
    mask = shape_field <= cut
    del shape_field, xx, yy
    flat = np.flatnonzero(mask.ravel())
    n = flat.size
    row, col = np.divmod(flat, ncols)
    index = np.full(nrows * ncols, -1, dtype=np.int64)
    index[flat] = np.arange(n)
    pu_id = flat.astype(np.int64) + 1  # raster cell number + 1

    # Boundary: right and down neighbours inside the country, then exposed edges.
    pad = np.zeros((nrows + 2, ncols + 2), dtype=bool)
    pad[1:-1, 1:-1] = mask
    inside = (pad[1:-1, :-2].astype(np.int8) + pad[1:-1, 2:] + pad[:-2, 1:-1]
              + pad[2:, 1:-1]).ravel()[flat]
    exposed = 4 - inside
    right = mask[:, :-1] & mask[:, 1:]
    r_r, r_c = np.nonzero(right)
    down = mask[:-1, :] & mask[1:, :]
    d_r, d_c = np.nonzero(down)
    id1 = np.concatenate([r_r * ncols + r_c, d_r * ncols + d_c]).astype(np.int64) + 1
    id2 = np.concatenate([r_r * ncols + r_c + 1, (d_r + 1) * ncols + d_c]).astype(np.int64) + 1
    del r_r, r_c, d_r, d_c, right, down, pad
    edge = exposed > 0
    # Clipped edge cells: part of the cell lies outside the country.
    area = np.ones(n)
    area[edge] = rng.uniform(0.2, 1.0, int(edge.sum()))
    boundary = pd.DataFrame({
        "id1": np.concatenate([id1, pu_id[edge]]),
        "id2": np.concatenate([id2, pu_id[edge]]),
        "length_km": np.concatenate([np.ones(id1.size), exposed[edge].astype(np.float64)]),
    })
    del id1, id2

    def at_units(f: np.ndarray) -> np.ndarray:
        return f.ravel()[flat].astype(np.float64)

    amounts: dict[str, np.ndarray] = {}
    info = []
    # Carbon stock: 20-250 MgC/ha on 100 ha cells.
    dens = np.clip(110 + 60 * _smooth(rng, shape, 60), 20, 250)
    amounts["carbon_stock"] = at_units(dens) * 100.0 * area
    info.append(("carbon_stock", "carbon_stock", "MgC/cell"))
    npp = np.clip(3 + 1.5 * _smooth(rng, shape, 80), 0.2, 8)
    amounts["npp"] = at_units(npp) * 100.0 * area
    info.append(("npp", "carbon_uptake", "MgC/cell/yr"))
    emis = np.maximum(_smooth(rng, shape, 30) - 1.0, 0) * 200
    amounts["emissions"] = at_units(emis) * area
    info.append(("emissions", "emissions", "tCO2/cell/yr"))
    del dens, npp, emis
    for k in range(N_SPECIES):
        f = _smooth(rng, shape, rng.uniform(20, 120))
        fu = at_units(f)
        del f
        share = rng.uniform(0.05, 0.35)
        thr = np.partition(fu, int((1 - share) * n))[int((1 - share) * n)]
        amounts[f"sp_{k:02d}"] = np.where(fu > thr, np.minimum(fu - thr, 1.0) + 0.1, 0.0) * area
        info.append((f"sp_{k:02d}", "biodiversity", "km2/cell"))
    # Protected areas: ~11 % of the units in blobs, a partial ring around them.
    pf = at_units(_smooth(rng, shape, 25))
    t_in = np.partition(pf, int(0.89 * n))[int(0.89 * n)]
    t_ring = np.partition(pf, int(0.87 * n))[int(0.87 * n)]
    pa = np.where(pf >= t_in, 1.0, np.where(pf >= t_ring, 0.3, 0.0))
    del pf
    # Provinces: nearest of 24 seeds, on a coarse raster.
    step = 16
    cr, cc = (nrows + step - 1) // step, (ncols + step - 1) // step
    seeds = rng.uniform([0, 0], [cr, cc], size=(24, 2))
    gy, gx = np.mgrid[0:cr, 0:cc]
    d = (gy[..., None] - seeds[:, 0]) ** 2 + (gx[..., None] - seeds[:, 1]) ** 2
    coarse_region = np.argmin(d, axis=-1)
    names = np.array([f"P{r:02d}" for r in range(24)], dtype=object)
    region = names[coarse_region[row // step, col // step]]
    feature_info = pd.DataFrame(info, columns=["column", "role", "unit"]).set_index("column")
    return {"pu_id": pu_id, "amounts": amounts, "area_km2": area, "pa_fraction": pa,
            "region": region, "boundary": boundary,
            "extra": {"row": row.astype(np.int32), "col": col.astype(np.int32)},
            "feature_info": feature_info, "shape": shape}


def units_direct(a: dict[str, Any], float32: bool = False) -> Any:
    """The `PlanningUnits` that `planning_units_from_arrays` makes of ``a``, assembled
    directly (``--direct-units``): the same columns, features and boundary pairs (in
    another order), without its validation copies (about 1.4 GB per million units of
    peak at national size, which would take a 10M-unit run past this machine's
    per-process memory cap). ``float32`` stores the amounts as float32 (``--float32-amounts``:
    the grid's memory is another benchmark's business; compile reads each feature as
    float64, so the model is exact for the rounded amounts)."""
    import geopandas as gpd
    import pandas as pd

    from optimizer.grid.planning_units import PlanningUnits, features_frame
    from optimizer.inputs.units import get_unit

    ids = a["pu_id"]
    n = ids.size
    b = a["boundary"]
    self_edge = (b["id1"] == b["id2"]).to_numpy()
    pos = np.searchsorted(ids, b["id1"].to_numpy()[self_edge])  # ids are sorted
    exposed = np.bincount(pos, b["length_km"].to_numpy()[self_edge], minlength=n)
    boundary = b[~self_edge].reset_index(drop=True)  # already id1 < id2, one row per pair
    data: dict[str, Any] = {"pu_id": ids, "area_km2": a["area_km2"],
                            "perimeter_km": np.zeros(n), "exposed_km": exposed,
                            "pa_fraction": a["pa_fraction"], "region": a["region"],
                            **a["extra"],
                            **{k: v.astype(np.float32) if float32 else v
                               for k, v in a["amounts"].items()}}
    gdf = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries([None] * n))
    info = a["feature_info"]
    rows = [{"column": c, "layer": c, "role": info.loc[c, "role"], "year": None, "label": c,
             "unit": get_unit(info.loc[c, "unit"]).total_unit, "source_unit": info.loc[c, "unit"],
             "density_column": False} for c in a["amounts"]]
    return PlanningUnits(gdf, boundary, features_frame(rows, gdf), {"kind": "synthetic"})


# --------------------------------------------------------------------------------------
# Child: one size, every stage
# --------------------------------------------------------------------------------------


def child(n_target: int, args: argparse.Namespace) -> None:
    """Run every stage once at about ``n_target`` units; print one JSON row per stage."""
    import warnings

    warnings.simplefilter("ignore")
    from optimizer.grid.planning_units import planning_units_from_arrays
    from optimizer.model.compile import compile as compile_model
    from optimizer.model.problem import problem
    from optimizer.plan.results import objective_value, solve

    takes_model = "model" in inspect.signature(solve).parameters
    base_mb = _status_kb("VmRSS") / 1024
    _emit({"stage": "base", "units": 0, "seconds": 0.0, "peak_mb": base_mb, "start_mb": base_mb})
    size = {"units": 0}

    def stage(name: str, fn, facts=None):  # type: ignore[no-untyped-def]
        own = _reset_peak()
        start_mb = _status_kb("VmRSS") / 1024
        t = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t
        peak_mb = (_status_kb("VmHWM") if own else
                   resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        extra = facts(out) if facts else {}
        row = {"stage": name, "units": size["units"], "seconds": seconds,
               "peak_mb": peak_mb, "start_mb": start_mb, "own_peak": own, **extra}
        _emit(row)
        return out

    def arrays_facts(a: dict) -> dict:
        size["units"] = int(a["pu_id"].size)
        return {"raster": "x".join(map(str, a["shape"])), "pairs": len(a["boundary"])}

    a = stage("arrays", lambda: synthesise(n_target, args.seed), arrays_facts)
    direct = args.direct_units is not None and size["units"] >= args.direct_units
    pu = stage("units", lambda: (units_direct(a, args.float32_amounts) if direct
                                 else planning_units_from_arrays(
        a["pu_id"], a["amounts"], area_km2=a["area_km2"], boundary=a["boundary"],
        pa_fraction=a["pa_fraction"], region=a["region"], extra=a["extra"],
        feature_info=a["feature_info"], kind="synthetic")),
        lambda pu: {"boundary_pairs": len(pu.boundary), "features": len(pu.features),
                    "via": "direct" if direct else "from_arrays"})
    a = None  # free the arrays

    def solve_facts(p: Any, sol: Any) -> dict:
        recomputed = objective_value(p, sol.x)
        ok = abs(recomputed - sol.objective) <= 1e-6 * max(1.0, abs(sol.objective))
        return {"status": str(sol.status), "objective": float(sol.objective),
                "bound": float(sol.bound), "gap": float(sol.gap), "strategy": sol.strategy,
                "selected": int(np.asarray(sol.x).sum()), "check": "ok" if ok else
                f"CHECK FAILED: recomputed {recomputed:.10g}"}

    def run_solve(p: Any, model: Any, solver: str, **options: Any) -> Any:
        if takes_model:
            return solve(p, solver, model=model, **options)
        return solve(p, solver, **options)

    def max_utility() -> Any:
        base = problem(pu).add_max_utility_objective(budget_share=0.1).add_existing_protection()
        return base.add_boundary_penalty(penalty_of(args.penalty, base))

    p = stage("problem", max_utility, lambda p: {"penalty": p.boundary_penalty.penalty})
    m = stage("compile", lambda: compile_model(p), model_facts)
    if not takes_model:
        m = None  # the old solve() compiles again: do not hold two models
    stage("maxutil", lambda: run_solve(p, m, "cut", gap=1e-3, time_limit=args.time_limit),
          lambda sol: solve_facts(p, sol))
    m = p = None
    if args.skip_minset:
        return
    feats = [f"sp_{k:02d}" for k in range(N_SPECIES)]
    q = (problem(pu).add_min_set_objective()
         .add_relative_targets({f: TARGET_SHARE for f in feats})
         .add_existing_protection().add_boundary_penalty(args.minset_penalty))
    mm = stage("ms-comp", lambda: compile_model(q), model_facts)
    if not takes_model:
        mm = None
    stage("minset", lambda: run_solve(q, mm, args.minset_solver, gap=1e-2,
                                      time_limit=args.minset_time_limit),
          lambda sol: solve_facts(q, sol))


def penalty_of(spec: str, base: Any) -> float:
    """The max-utility boundary penalty per km: a number, or ``rel:k`` for ``k`` times the
    mean unit value (``rel:0.1`` is `bench_solve.py`'s balanced penalty)."""
    if spec.startswith("rel:"):
        return float(spec[4:]) * float(np.mean(base.unit_values()))
    return float(spec)


def model_facts(m: Any) -> dict:
    """Size of a compiled model."""
    a = m.A
    return {"rows": int(a.shape[0]), "cols": int(a.shape[1]), "nnz": int(a.nnz),
            "A_mb": round((a.data.nbytes + a.indices.nbytes + a.indptr.nbytes) / 2**20, 1)}


# --------------------------------------------------------------------------------------
# Parent: sizes, watchdog, table, targets
# --------------------------------------------------------------------------------------


def run_size(n_target: int, args: argparse.Namespace) -> tuple[list[dict], str]:
    """Run one size in a child; return its rows and a failure note ("" if none)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(n_target),
           *sys.argv[1:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    killed = watch_rss(proc, args.max_gb)
    rows = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ROW "):
            row = json.loads(line[4:])
            rows.append(row)
            if row["stage"] != "base":
                print_row(row)
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    done = {r["stage"] for r in rows}
    running = next((s for s in STAGES if s not in done), "?")
    if killed:
        return rows, (f"killed by the watchdog in stage {running}: RSS {killed[0] / 1024:.1f} GB"
                      f" > {args.max_gb} GB")
    if proc.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        return rows, f"child failed in stage {running} (exit {proc.returncode}): {tail}"
    return rows, ""


HEADER = (f"{'stage':<8}{'units':>11}{'seconds':>9}{'peak MB':>9}{'+MB':>8}{'MB/1k u':>8}"
          "  notes")


def print_row(r: dict) -> None:
    """One table row: seconds, peak, the stage's own growth over its start, MB per 1,000 units."""
    notes = []
    for key in ("raster", "pairs", "boundary_pairs", "via", "penalty", "rows", "cols", "nnz", "A_mb", "status",
                "objective", "bound", "gap", "strategy", "selected", "check"):
        if key in r:
            v = r[key]
            notes.append(f"{key}={v:.3%}" if key == "gap" else
                         f"{key}={v:.8g}" if key in ("objective", "bound", "penalty") else
                         f"{key}={v:,}" if isinstance(v, int) else f"{key}={v}")
    if not r.get("own_peak", True):
        notes.append("cum")
    units = max(r["units"], 1)
    print(f"{r['stage']:<8}{r['units']:>11,}{r['seconds']:>9.2f}{r['peak_mb']:>9.0f}"
          f"{r['peak_mb'] - r['start_mb']:>8.0f}{r['peak_mb'] / units * 1000:>8.2f}  "
          + " ".join(notes), flush=True)


def _project(points: list[tuple[int, float]], goal: int) -> tuple[float, str]:
    """Value at ``goal`` units: measured when a size within 10 % of it ran, else the log-log
    secant of the two largest sizes (linear from the largest with one size)."""
    points = sorted(points)
    u2, v2 = points[-1]
    if abs(u2 - goal) <= 0.1 * goal:
        return v2 * goal / u2, "measured"
    if len(points) < 2:
        return v2 * goal / u2, "linear from one size"
    u1, v1 = points[-2]
    k = math.log(max(v2, 1e-9) / max(v1, 1e-9)) / math.log(u2 / u1) if u2 > u1 else 1.0
    return v2 * (goal / u2) ** k, f"projected (exponent {k:.2f})"


def summarise(results: dict[int, list[dict]], args: argparse.Namespace) -> None:
    """The issue's targets (a) and (b) at 10M units, measured or projected."""
    by = {n: {r["stage"]: r for r in rows} for n, rows in results.items()}
    print("\nissue 15 optimisation targets at 10M units:")
    pts_a = [(s["compile"]["units"], s["compile"]["seconds"] + s["maxutil"]["seconds"],
              max(s["compile"]["peak_mb"], s["maxutil"]["peak_mb"]), s["maxutil"]["gap"])
             for s in by.values() if "maxutil" in s]
    if pts_a:
        t, how = _project([(u, t) for u, t, _, _ in pts_a], GOAL_UNITS)
        mb, how_m = _project([(u, m) for u, _, m, _ in pts_a], GOAL_UNITS)
        gap = sorted(pts_a)[-1][3]
        print(f"  (a) compile + max-utility cut solve: {t:,.0f} s ({how}) vs < 180 s; peak "
              f"{mb / 1024:.1f} GB ({how_m}) vs < 16 GB; gap at the largest size {gap:.3%} vs "
              "<= 0.1%: " + ("ok" if t < 180 and mb < 16 * 1024 and gap <= 1e-3 + 1e-12
                             else "MISSED"))
    pts_b = [(s["ms-comp"]["units"], s["ms-comp"]["seconds"] + s["minset"]["seconds"],
              s["minset"]["gap"]) for s in by.values() if "minset" in s]
    if pts_b:
        t, how = _project([(u, t) for u, t, _ in pts_b], GOAL_UNITS)
        gap = sorted(pts_b)[-1][2]
        print(f"  (b) min set + boundary, 20 features: {t:,.0f} s ({how}) vs < 600 s; gap at "
              f"the largest size {gap:.3%} vs <= 1%: "
              + ("ok" if t < 600 and gap <= 1e-2 + 1e-12 else "MISSED"))
    capped = [n for n, s in by.items() if "maxutil" in s
              and s["maxutil"]["seconds"] >= 0.95 * args.time_limit]
    if capped:
        print("  note: the max-utility solve hit its time limit at "
              + ", ".join(f"{n:,}" for n in capped) + " units (time projections are lower bounds)")


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", default="1e6,3e6",
                        help="approximate unit counts, comma-separated (e.g. 1e6,3e6,10e6)")
    parser.add_argument("--time-limit", type=float, default=180.0,
                        help="max-utility solve time limit in seconds (default 180)")
    parser.add_argument("--minset-time-limit", type=float, default=600.0,
                        help="min-set solve time limit in seconds (default 600)")
    parser.add_argument("--minset-solver", default="auto",
                        help="solver of the min-set row (default auto: cut where it applies)")
    parser.add_argument("--penalty", default="1e-5",
                        help="max-utility boundary penalty per km (default 1e-5, the issue's; "
                             "at 1 km it dominates the unit values, which fall as 1/units), "
                             "or rel:k for k times the mean unit value (rel:0.1: balanced)")
    parser.add_argument("--minset-penalty", type=float, default=0.1,
                        help="min-set boundary penalty per km (cost is ~1 per km² cell)")
    parser.add_argument("--skip-minset", action="store_true", help="only the max-utility rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float32-amounts", action="store_true",
                        help="with --direct-units: store the grid's amounts as float32 (saves "
                             "~0.9 GB at 10M units; the model is built in float64)")
    parser.add_argument("--direct-units", type=float, default=None,
                        help="from this many units on, assemble the PlanningUnits directly "
                             "instead of through planning_units_from_arrays (its copies peak "
                             "at ~1.4 GB per million units)")
    parser.add_argument("--max-gb", type=float, default=18.0,
                        help="kill a child whose RSS passes this (default 18)")
    return parser.parse_args(argv)


def main() -> None:
    """Run the sizes in child processes, print the table and the targets."""
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), parse(sys.argv[3:]))
        return
    args = parse(sys.argv[1:])
    sizes = sorted({int(float(s)) for s in args.units.split(",")})
    print(f"max-utility penalty {args.penalty}/km, time limit {args.time_limit:g} s; min set "
          f"{N_SPECIES} features at {TARGET_SHARE:.0%}, penalty {args.minset_penalty:g}/km, solver "
          f"{args.minset_solver!r}, time limit {args.minset_time_limit:g} s; peak RSS per stage: "
          f"{'own' if _reset_peak() else 'cumulative'}\n")
    results: dict[int, list[dict]] = {}
    failures: list[str] = []
    for n in sizes:
        print(f"--- about {n:,} units")
        print(HEADER)
        rows, note = run_size(n, args)
        results[n] = rows
        if note:
            print(note, flush=True)
            failures.append(f"{n:,} units: {note}")
    summarise(results, args)
    for f in failures:
        print(f"note: {f}")


if __name__ == "__main__":
    main()
