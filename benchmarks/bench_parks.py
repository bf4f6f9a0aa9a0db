"""Benchmark of candidate parks on synthetic square grids of about 10k and 100k added units.

The grid is made in memory with `planning_units_from_arrays` (1 km square boxes with row
and col, a rook boundary table, carbon, uptake, emissions, 20 species, 3 land-cover
classes, 10 regions, an existing network of blobs with named protected-area polygons).
The plan adds about 40% of the units, in blobs of many sizes. Prints one row per size
and mode: units, added units, parks, seconds of `candidate_parks` (median of 3) and its
peak traced memory (one more run under tracemalloc), and the process's max RSS.

Modes: ``rook``; ``queen``; ``rook+min`` (min_km2=5 with refill=True).

Run: ``.venv/bin/python benchmarks/bench_parks.py [n_added ...]`` (default 10k, 100k).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from optimizer.grid.build import PlanningUnits, planning_units_from_arrays
from optimizer.model.problem import Problem, problem
from optimizer.plan.parks import candidate_parks

CRS = "EPSG:6933"
N_SPECIES = 20


def synthetic(n_added: int, seed: int = 0) -> tuple[PlanningUnits, Problem, np.ndarray]:
    """A square grid with about ``n_added / 0.4`` units, its problem and a plan."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_added / 0.4)))
    n = side * side
    idx = np.arange(n)
    row, col = np.divmod(idx, side)
    y, x = row / side, col / side
    geoms = shapely.box(col * 1000.0, -(row + 1) * 1000.0, (col + 1) * 1000.0, -row * 1000.0)
    right = np.flatnonzero(col < side - 1)
    down = np.flatnonzero(row < side - 1)
    boundary = pd.DataFrame({"id1": np.concatenate([right, down]),
                             "id2": np.concatenate([right + 1, down + side]),
                             "length_km": 1.0})
    wave = np.sin(6 * x) * np.cos(5 * y)
    pa = np.where(np.sin(23 * x + 1) * np.sin(19 * y) > 0.85, 1.0, 0.0)
    amounts = {"biomass": 1400 * (1 + 0.5 * wave), "npp_2010": 300 * (1 + 0.4 * np.sin(3 * y)),
               "npp_2020": 310 * (1 + 0.4 * np.sin(3 * y)), "co2_2020": 400 * rng.random(n)}
    roles = {"biomass": "carbon_stock", "npp_2010": "carbon_uptake", "npp_2020": "carbon_uptake",
             "co2_2020": "emissions"}
    for s in range(N_SPECIES):
        cx, cy = rng.random(2)
        amounts[f"sp_{s:02d}"] = ((x - cx) ** 2 + (y - cy) ** 2 < rng.uniform(0.01, 0.1)) * 1.0
        roles[f"sp_{s:02d}"] = "biodiversity"
    shares = rng.dirichlet(np.ones(3), size=n)
    for j, c in enumerate(("forest", "grassland", "cropland")):
        amounts[f"lc_{c}_km2"] = shares[:, j]
        roles[f"lc_{c}_km2"] = "land_cover"
    info = pd.DataFrame({"role": roles, "unit": "km2/cell"})
    region = np.array([f"R{k}" for k in range(10)], dtype=object)[(x * 10).astype(int) % 10]
    pu = planning_units_from_arrays(idx, amounts, geometry=geoms, crs=CRS, boundary=boundary,
                                    pa_fraction=pa, region=region, feature_info=info,
                                    extra={"row": row, "col": col}, kind="square")
    pu.features.loc[["npp_2010", "npp_2020"], "layer"] = "npp"
    pu.features.loc[["npp_2010", "npp_2020"], "year"] = [2010, 2020]
    existing = shapely.coverage_union_all(geoms[pa > 0])
    parts = shapely.get_parts(existing)
    pu.protected_areas = gpd.GeoDataFrame(
        {"name": [f"Reserve {k}" for k in range(len(parts))], "category": "NR"},
        geometry=parts, crs=CRS)
    # The plan: smooth blobs of many sizes, about 40% of the units, and some scattered cells.
    field = np.sin(11 * x) * np.cos(13 * y) + 0.6 * np.sin(37 * x + 2 * y) + 0.3 * rng.random(n)
    plan = ((field > np.quantile(field, 0.6)) | (pa > 0)).astype(np.float64)
    p = problem(pu).add_max_utility_objective(budget_km2=float(plan @ (1 - pa)),
                                              weights={"biomass": 1, "sp_00": 1})
    return pu, p, plan


MODES = {"rook": {}, "queen": {"connectivity": "queen"},
         "rook+min": {"min_km2": 5.0, "refill": True}}


def bench(n_added: int, mode: str) -> dict[str, float]:
    pu, p, plan = synthetic(n_added)
    kwargs = MODES[mode]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        parks = candidate_parks(p, plan, **kwargs)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    candidate_parks(p, plan, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"units": len(pu), "added": int((parks.unit_park > 0).sum()),
            "parks": len(parks.table), "dropped": len(parks.dropped),
            "seconds": statistics.median(times), "peak_mb": peak / 2**20,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> None:
    sizes = [int(float(a)) for a in argv] or [10_000, 100_000]
    print(f"{'units':>9} {'added':>8} {'mode':>9} {'parks':>6} {'dropped':>8} "
          f"{'s (median of 3)':>16} {'peak MB':>8} {'max RSS MB':>11}")
    for n in sizes:
        for mode in MODES:
            r = bench(n, mode)
            print(f"{r['units']:>9,} {r['added']:>8,} {mode:>9} {r['parks']:>6,} "
                  f"{r['dropped']:>8,} {r['seconds']:>16.2f} {r['peak_mb']:>8.0f} "
                  f"{r['rss_mb']:>11.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
