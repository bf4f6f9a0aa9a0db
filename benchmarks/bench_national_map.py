"""Benchmark for issue 25 (national scale): the plan map of a 1 km national grid, drawn.

A square grid is drawn as a raster from ``row``/``col`` (`optimizer.figures.raster`), never
by decoding its polygons. This benchmark checks it at national size: about 9.6 million
units (1 km cells over 9.6 million km², China's size).

What it synthesises (a grid build at 1 km takes minutes; the maps read only these
columns): in a child process, an elliptical country on a ``row``/``col`` raster of
``--cell-km`` cells over ``--area-km2``, one unit per cell inside it, in row-major order
as a built grid; per unit ``row``, ``col`` (int64), ``area_km2``, ``pa_fraction`` (blobs of
existing protection with partial edges), ``region`` (31 provinces, Voronoi cells, pandas
``str`` as `read_grid` gives them); and the polygons as a lazily read grid holds them: a
GeoParquet-like ``units.parquet`` of every cell's WKB box (row groups of 100,000) opened
through `optimizer.grid.lazy_geometry.LazyGeometryArray`, so a map that decoded every
polygon would show it in seconds and memory. The plan: ``existing`` (``pa_fraction`` ≥ 0.5),
``added`` (the top 10% of a smooth field among the rest), a ``locked out`` band, ``free``;
as the numpy ``str`` array `optimizer.plan.results.unit_status` returns; the parks are the
connected groups of added cells (`scipy.ndimage.label`).

Then, after a warm-up map of four units (matplotlib's imports and font cache), each map
is drawn ``--runs`` times:

    plan_map      optimizer.figures.maps.plan_map(units, status, geometry=...)  + PNG
    parks_map     optimizer.figures.maps.parks_map(units, unit_park, status, ...) + PNG
    report maps   the report's Maps section: both maps as inline PNGs
                  (optimizer.outputs.report_tables.figure_html, as report.py does)

PNG as the report renders it (`fig_uri`: 96 dpi, tight bounding box). Printed per map:
seconds (median of the runs) and the peak resident memory beyond the grid (the child's
``VmHWM`` after ``/proc/self/clear_refs`` minus its resident size once the grid is held),
and how many polygons were decoded. The targets of issue 25: under 5 s and 2 GB.

    python benchmarks/bench_national_map.py                    # 1 km over 9.6M km²
    python benchmarks/bench_national_map.py --cell-km 2 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _proc import emit as _emit
from _proc import reset_peak as _reset_peak
from _proc import status_kb as _status_kb
from _proc import watch_rss

CRS = "EPSG:6933"  # an equal-area CRS in metres
ROW_GROUP = 100_000
N_REGIONS = 31
TARGET_S, TARGET_GB = 5.0, 2.0
MAPS = ("plan_map", "parks_map", "report maps")


def synthesise(cell_km: float, area_km2: float, folder: Path):  # type: ignore[no-untyped-def]
    """The units frame (lazy polygons from ``folder/units.parquet``), the plan's status and
    the parks' ids (see the module docstring)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely
    from scipy import ndimage

    from optimizer.grid.lazy_geometry import LazyGeometryArray, WkbSource

    cells = area_km2 / cell_km**2
    b = np.sqrt(cells / (np.pi * 1.3))  # semi-axes in cells, a = 1.3 b
    a = 1.3 * b
    nrows, ncols = int(np.ceil(2 * b)) + 2, int(np.ceil(2 * a)) + 2
    yy = (np.arange(nrows) + 0.5 - nrows / 2) / b
    xx = (np.arange(ncols) + 0.5 - ncols / 2) / a
    inside = (yy[:, None] ** 2 + xx[None, :] ** 2) <= 1.0
    row, col = np.nonzero(inside)  # row-major, as a built grid
    n = len(row)
    y, x = row / nrows, col / ncols
    size = cell_km * 1000.0
    x0, ytop = -ncols * size / 2, nrows * size / 2
    path = folder / "units.parquet"
    if not path.exists() or pq.ParquetFile(path).metadata.num_rows != n:
        schema = pa.schema([pa.field("geometry", pa.binary())])
        with pq.ParquetWriter(path, schema) as writer:
            for lo in range(0, n, ROW_GROUP):
                r, c = row[lo:lo + ROW_GROUP], col[lo:lo + ROW_GROUP]
                boxes = shapely.box(x0 + c * size, ytop - (r + 1) * size, x0 + (c + 1) * size,
                                    ytop - r * size)
                writer.write_table(pa.table({"geometry": pa.array(shapely.to_wkb(boxes),
                                                                   pa.binary())}))
    field = np.sin(23 * x + 1) * np.sin(19 * y) + 0.3 * np.sin(71 * x * y)
    pa_fraction = np.clip((field - 0.75) * 4.0, 0.0, 1.0)
    rng = np.random.default_rng(0)
    seeds = rng.random((N_REGIONS, 2))
    region_code = np.empty(n, dtype=np.int64)
    for lo in range(0, n, 1_000_000):  # nearest seed, a million units at a time
        d = ((x[lo:lo + 1_000_000, None] - seeds[None, :, 0]) ** 2
             + (y[lo:lo + 1_000_000, None] - seeds[None, :, 1]) ** 2)
        region_code[lo:lo + 1_000_000] = d.argmin(axis=1)
    names = np.array([f"Province {k + 1:02d}" for k in range(N_REGIONS)], dtype=object)
    region = pd.array(names[region_code], dtype="str")
    del region_code
    wkb = WkbSource(path)
    geoms = LazyGeometryArray.from_source(wkb, crs=CRS)
    frame = pd.DataFrame({"pu_id": np.arange(n), "row": row.astype(np.int64),
                          "col": col.astype(np.int64), "area_km2": np.full(n, cell_km**2),
                          "pa_fraction": pa_fraction, "region": region})
    frame.insert(1, "geometry", geoms)
    units = gpd.GeoDataFrame(frame, geometry="geometry", copy=False)
    value = np.sin(11 * x) * np.cos(13 * y) + 0.6 * np.sin(37 * x + 2 * y)
    existing = pa_fraction >= 0.5
    added = ~existing & (value >= np.quantile(value[~existing], 0.9))
    locked_out = ~existing & ~added & (np.abs(x - 0.5) < 0.01)
    status = np.select([existing, added, locked_out], ["existing", "added", "locked out"], "free")
    grid = np.zeros((nrows, ncols), dtype=bool)
    grid[row[added], col[added]] = True
    labels, k = ndimage.label(grid)
    sizes = np.bincount(labels.ravel(), minlength=k + 1)
    sizes[0] = 0
    rank = np.empty(k + 1, dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(k + 1)  # park 1: the largest
    unit_park = np.where(added, rank[labels[row, col]] + 1, 0)
    return units, status, unit_park, (nrows, ncols)


def child(cell_km: float, area_km2: float, runs: int, folder: Path) -> None:
    """Synthesise the grid, then draw each map ``runs`` times; one JSON row per map."""
    import gc
    import warnings

    warnings.simplefilter("ignore")
    import pandas as pd

    import optimizer.grid.lazy_geometry as lazy_geometry
    from optimizer.figures.maps import parks_map, plan_map
    from optimizer.outputs.report_tables import fig_uri, figure_html

    t = time.perf_counter()
    units, status, unit_park, shape = synthesise(cell_km, area_km2, folder)
    setup_s = time.perf_counter() - t
    decoded: list[int] = []
    real = lazy_geometry._decode

    def counting(wkb):  # type: ignore[no-untyped-def]
        decoded.append(len(wkb))
        return real(wkb)

    lazy_geometry._decode = counting  # count the polygons the maps decode
    tiny = pd.DataFrame({"row": [0, 0, 1, 1], "col": [0, 1, 0, 1], "pa_fraction": [1.0, 0, 0, 0]})
    fig_uri(plan_map(tiny, ["existing", "added", "free", "free"]))  # warm-up: imports, fonts
    gc.collect()
    frame_mb = float(units.drop(columns="geometry").memory_usage(deep=True).sum()) / 2**20
    _emit({"map": "grid", "units": len(units), "raster": list(shape), "seconds": setup_s,
           "frame_mb": frame_mb, "rss_mb": _status_kb("VmRSS") / 1024,
           "wkb_mb": (folder / "units.parquet").stat().st_size / 2**20})
    geometry = units.geometry

    def draw(name: str) -> None:
        if name == "plan_map":
            fig_uri(plan_map(units, status, geometry=geometry))
        elif name == "parks_map":
            fig_uri(parks_map(units, unit_park, status, geometry=geometry))
        else:
            figure_html(plan_map(units, status, geometry=geometry), "plan map", "plan map")
            figure_html(parks_map(units, unit_park, status, geometry=geometry), "parks",
                        "parks map")

    for name in MAPS:
        seconds, peaks = [], []
        decoded.clear()
        for _ in range(runs):
            gc.collect()
            base = _status_kb("VmRSS") / 1024
            own = _reset_peak()
            t = time.perf_counter()
            draw(name)
            seconds.append(time.perf_counter() - t)
            peaks.append((_status_kb("VmHWM") / 1024 if own else float("nan")) - base)
        _emit({"map": name, "units": len(units), "seconds": statistics.median(seconds),
               "all_seconds": seconds, "beyond_grid_mb": max(peaks),
               "decoded": sum(decoded) // runs,
               "geometry_loaded": bool(getattr(geometry.values, "loaded", False))})


def main() -> None:
    """Parse the arguments, run the child, print the table."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        cell, area, runs, folder = sys.argv[2:6]
        child(float(cell), float(area), int(runs), Path(folder))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-km", type=float, default=1.0, help="cell size in km (default 1)")
    parser.add_argument("--area-km2", type=float, default=9.6e6,
                        help="country area (default 9.6e6, China)")
    parser.add_argument("--runs", type=int, default=3, help="draws of each map (median printed)")
    parser.add_argument("--max-gb", type=float, default=12.0,
                        help="kill the child if its resident size passes this")
    parser.add_argument("--work", type=Path,
                        help="folder for the polygons' units.parquet, kept and reused "
                             "(default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_national_map_") as tmp:
        folder = args.work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(args.cell_km),
               str(args.area_km2), str(args.runs), str(folder)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parent)
        killed = watch_rss(proc, args.max_gb)
        assert proc.stdout is not None
        print(f"{args.cell_km:g} km cells over {args.area_km2:,.0f} km²; {args.runs} run(s) "
              f"per map; peak memory beyond the grid (VmHWM after clear_refs)\n")
        print(f"{'map':<12} {'units':>11} {'seconds':>8} {'beyond grid MB':>15} "
              f"{'polygons decoded':>17}  notes")
        for line in proc.stdout:
            if not line.startswith("ROW "):
                continue
            r = json.loads(line[4:])
            if r["map"] == "grid":
                print(f"{'grid':<12} {r['units']:>11,} {r['seconds']:>8.1f} {'':>15} {'':>17}  "
                      f"synthesised: raster {r['raster'][0]:,} x {r['raster'][1]:,}; frame "
                      f"{r['frame_mb']:,.0f} MB; RSS {r['rss_mb']:,.0f} MB; polygons "
                      f"{r['wkb_mb']:,.0f} MB of WKB on disk, lazy", flush=True)
                continue
            ok = r["seconds"] < TARGET_S and r["beyond_grid_mb"] < TARGET_GB * 1024
            runs = ", ".join(f"{s:.2f}" for s in r["all_seconds"])
            print(f"{r['map']:<12} {r['units']:>11,} {r['seconds']:>8.2f} "
                  f"{r['beyond_grid_mb']:>15,.0f} {r['decoded']:>17,}  runs {runs}; "
                  f"{'within' if ok else 'MISSES'} the targets ({TARGET_S:g} s, "
                  f"{TARGET_GB:g} GB); grid polygons decoded: "
                  f"{'yes' if r['geometry_loaded'] else 'no'}", flush=True)
        proc.wait()
        if killed:
            print(f"killed: resident size {killed[0]:,.0f} MB passed --max-gb {args.max_gb:g}")
        elif proc.returncode:
            print(f"the child failed (exit code {proc.returncode})")


if __name__ == "__main__":
    main()
