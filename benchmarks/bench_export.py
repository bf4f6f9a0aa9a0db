"""Benchmark of candidate parks and every export on synthetic square grids.

A square grid of 1-km² cells twice the size asked is built in memory
(`planning_units_from_arrays`: boxes, rook boundary table, carbon, uptake, emissions,
30 species ranges, 7 land-cover classes, a protected patch pattern); the plan adds about
half of it in smooth patches, so the parks are many and irregular. Each size runs in
its own process (so peak memory is its own) and prints: added units, parks, seconds of
`candidate_parks`, of the priority rank (the nested cut path on the max-utility
objective with a boundary penalty) and of each format, output sizes, peak RSS.

Run: ``.venv/bin/python benchmarks/bench_export.py [n_added ...]`` (default 10k, 100k, 1M).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ALBERS = "+proj=aea +lat_0=30 +lon_0=100 +lat_1=25 +lat_2=45 +datum=WGS84 +units=m +no_defs"
CLASSES = ("forest", "grassland", "cropland", "wetland", "bare", "urban", "water")
N_SPECIES = 30


def synthetic(n_added: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """(problem, x): a square grid of about 2 x ``n_added`` 1-km² units and a plan."""
    from optimizer import planning_units_from_arrays, problem

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(2 * n_added)))
    n = side * side
    idx = np.arange(n)
    row, col = idx // side, idx % side
    y, x = row / side, col / side
    wave = np.sin(6 * x) * np.cos(5 * y) + 0.3 * np.sin(23 * x + 17 * y)
    pa = np.clip((np.sin(9 * x + 1) * np.sin(7 * y) - 0.7) * 4, 0, 1)
    amounts: dict[str, np.ndarray] = {
        "biomass": 1400 * (1.5 + wave), "soc": 6100 * (1 + 0.3 * np.cos(4 * y)),
        "npp_2020": 300 * (1 + 0.4 * np.sin(3 * y)), "co2_2020": 400 * np.exp(2 * x) * rng.random(n)}
    info = [("biomass", "carbon_stock", "MgC/cell"), ("soc", "carbon_stock", "MgC/cell"),
            ("npp_2020", "carbon_uptake", "MgC/cell/yr"), ("co2_2020", "emissions", "tCO2/cell/yr")]
    shares = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    for j, c in enumerate(CLASSES):
        amounts[f"lc_{c}_km2"] = shares[:, j]
        info.append((f"lc_{c}_km2", "land_cover", "km2/cell"))
    for s in range(N_SPECIES):
        cx, cy = rng.random(2)
        amounts[f"sp_{s:02d}"] = ((x - cx) ** 2 + (y - cy) ** 2 < rng.uniform(0.01, 0.1)) * 1.0
        info.append((f"sp_{s:02d}", "biodiversity", "km2/cell"))
    feature_info = pd.DataFrame(info, columns=["column", "role", "unit"]).set_index("column")
    geoms = shapely.box(col * 1000.0, -(row + 1) * 1000.0, (col + 1) * 1000.0, -row * 1000.0)
    right = idx[col < side - 1]
    down = idx[row < side - 1]
    boundary = pd.DataFrame({"id1": np.concatenate([right, down]),
                             "id2": np.concatenate([right + 1, down + side]),
                             "length_km": 1.0})
    region = np.array([f"R{k}" for k in range(10)], dtype=object)[(x * 10).astype(int) % 10]
    square = {"x0": 0.0, "y0": 0.0, "cell_m": 1000.0, "nrows": side, "ncols": side}
    pu = planning_units_from_arrays(
        idx, amounts, area_km2=np.ones(n), geometry=geoms, crs=ALBERS, boundary=boundary,
        pa_fraction=pa, region=region, extra={"row": row, "col": col}, feature_info=feature_info,
        kind="square", meta={"square_grid": square, "cell_km": 1.0})
    p = (problem(pu).add_max_utility_objective(budget_km2=float(n_added),
                                               weights={"carbon": 1, "biodiversity": 1})
         .add_boundary_penalty(1e-7))
    locked_in, _ = p.locked_masks()
    value = p.unit_values() + 0.2 * np.sin(40 * x) * np.sin(40 * y) * p.unit_values().mean()
    value[locked_in] = -np.inf
    plan = np.zeros(n)
    plan[np.argsort(-value)[:n_added]] = 1.0
    plan[locked_in] = 1.0
    return p, plan


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench(n_added: int) -> dict[str, object]:
    from optimizer.outputs.export import export_plan

    t0 = time.perf_counter()
    p, x = synthetic(n_added)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = export_plan(p, x, Path(tmp) / "out")
        total = time.perf_counter() - t0
        sizes = {f: (Path(tmp) / "out" / f).stat().st_size for f in res.files}
        out_mb = _size(Path(tmp) / "out") / 2**20
    return {"units": p.n_units, "added": int((res.parks.unit_park > 0).sum()),
            "parks": len(res.parks.table), "build_s": build, "total_s": total,
            "seconds": res.seconds, "out_mb": out_mb,
            "gpkg_mb": sizes.get("parks.gpkg", 0) / 2**20,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(bench(int(float(argv[1])))))
        return
    sizes = [int(float(a)) for a in argv] or [10_000, 100_000, 1_000_000]
    cols = ("parks", "rank", "shp", "gpkg", "parquet", "geojson", "tif")
    print(f"{'added':>9} {'units':>9} {'parks':>6} " + " ".join(f"{c + ' s':>9}" for c in cols)
          + f" {'total s':>8} {'out MB':>7} {'gpkg MB':>8} {'peak RSS MB':>12}")
    for n in sizes:
        run = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                             text=True, env=os.environ)
        if run.returncode != 0:
            print(f"{n:>9,} failed: {run.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        s = r["seconds"]
        print(f"{r['added']:>9,} {r['units']:>9,} {r['parks']:>6,} "
              + " ".join(f"{s.get(c, 0.0):>9.2f}" for c in cols)
              + f" {r['total_s']:>8.1f} {r['out_mb']:>7.1f} {r['gpkg_mb']:>8.1f} "
                f"{r['rss_mb']:>12,.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
