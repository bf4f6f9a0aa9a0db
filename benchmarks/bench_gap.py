"""Benchmark of the gap analysis on synthetic square grids of up to 1 million units.

The grid is built in memory (no rasters, no build_grid): unit geometries are points
made by one vectorised shapely call, so the benchmark measures the analysis, not
geometry. Maps still draw, from the units' row/col. Prints one row per size:
units, seconds of `gap_analysis` (median of 3), seconds of `GapReport.write`
(tables, Markdown, five PNG figures; one run) and peak memory.

Run: ``.venv/bin/python benchmarks/bench_gap.py [n_units ...]`` (default 10k, 100k, 1M).
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from optimizer.gap import gap_analysis
from optimizer.grid.build import PlanningUnits

ALBERS = "+proj=aea +lat_0=30 +lon_0=100 +lat_1=25 +lat_2=45 +datum=WGS84 +units=m +no_defs"
YEARS = (2000, 2005, 2010, 2015, 2020)
CLASSES = ("forest", "grassland", "cropland", "wetland", "bare", "urban", "water")
N_SPECIES = 30


def synthetic_grid(n: int, seed: int = 0) -> PlanningUnits:
    """A square grid of ``n`` 1-km2 units with every layer role the gap analysis reads."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    idx = np.arange(n)
    row, col = idx // side, idx % side
    # Smooth fields so hotspots and protected areas are patches, not noise.
    y, x = row / side, col / side
    wave = np.sin(6 * x) * np.cos(5 * y)
    pa = np.clip((np.sin(9 * x + 1) * np.sin(7 * y) - 0.6) * 4, 0, 1)
    np_frac = np.where(x < 0.5, pa, 0.0)
    nr_frac = np.where(x > 0.4, pa, 0.0)  # overlaps national parks for 0.4 < x < 0.5
    area = np.ones(n)
    cols: dict[str, np.ndarray] = {
        "pu_id": idx, "row": row, "col": col, "area_km2": area,
        "perimeter_km": np.full(n, 4.0), "exposed_km": np.zeros(n), "pa_fraction": pa,
        "region": np.array([f"R{k}" for k in range(10)], dtype=object)[(x * 10).astype(int) % 10],
        "biomass": 1400 * (1 + 0.5 * wave) * area, "biomass_valid_km2": area,
        "soc": 6100 * (1 + 0.3 * np.cos(4 * y)) * area, "soc_valid_km2": area,
        "richness": (20 + 10 * wave + rng.random(n)) * area, "richness_valid_km2": area,
        "pa_national_park_fraction": np_frac, "pa_nature_reserve_fraction": nr_frac,
    }
    feats = [("biomass", "biomass", "carbon_stock", None, "", "MgC", "MgC/ha"),
             ("soc", "soc", "carbon_stock", None, "", "MgC", "MgC/ha")]
    for k, yr in enumerate(YEARS):
        cols[f"npp_{yr}"] = 300 * (1 + 0.02 * k) * (1 + 0.4 * np.sin(3 * y)) * area
        cols[f"co2_{yr}"] = 400 * (1 + 0.3 * k) * np.exp(2 * x) * rng.random(n)
        feats.append((f"npp_{yr}", "npp", "carbon_uptake", yr, "", "MgC/yr", "gC/m2/yr"))
        feats.append((f"co2_{yr}", "co2", "emissions", yr, "", "tCO2/yr", "tCO2/cell/yr"))
    cols["npp_valid_km2"] = area
    cols["co2_valid_km2"] = area
    shares = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    for j, c in enumerate(CLASSES):
        cols[f"lc_{c}_km2"] = shares[:, j] * area
        feats.append((f"lc_{c}_km2", "lc", "land_cover", None, c, "km2", "class"))
    feats.append(("richness", "richness", "biodiversity", None, "", "species*km2", "species"))
    for s in range(N_SPECIES):
        cx, cy = rng.random(2)
        cols[f"sp_{s:02d}"] = ((x - cx) ** 2 + (y - cy) ** 2 < rng.uniform(0.01, 0.1)) * area
        feats.append((f"sp_{s:02d}", "sp", "biodiversity", None, f"Species {s:02d}", "km2",
                      "fraction"))
    units = gpd.GeoDataFrame(pd.DataFrame(cols), geometry=shapely.points(col * 1000.0, -row * 1000.0),
                             crs=ALBERS)
    features = pd.DataFrame(feats, columns=["column", "layer", "role", "year", "label", "unit",
                                            "source_unit"]).set_index("column")
    features["year"] = features["year"].astype("Int64")
    features["density_column"] = ""
    features["total"] = [float(units[c].sum()) for c in features.index]
    meta = {"layers": [{"name": "pa", "role": "protected", "unit": "fraction"}],
            "area_km2": float(area.sum()), "cell_km": 1.0, "kind": "square"}
    boundary = pd.DataFrame({"id1": [], "id2": [], "length_km": []})
    return PlanningUnits(units, boundary, features, meta)


def bench(n: int) -> dict[str, float]:
    pu = synthetic_grid(n)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        report = gap_analysis(pu)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    report = gap_analysis(pu)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        files = report.write(tmp)
        write_s = time.perf_counter() - t0
    return {"units": len(pu), "analysis_s": statistics.median(times), "write_s": write_s,
            "files": len(files), "analysis_peak_mb": peak / 2**20,
            "process_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> None:
    sizes = [int(float(a)) for a in argv] or [10_000, 100_000, 1_000_000]
    print(f"{'units':>10} {'analysis s (median of 3)':>25} {'write s':>8} {'files':>6} "
          f"{'analysis peak MB':>17} {'process max RSS MB':>19}")
    for n in sizes:
        r = bench(n)
        print(f"{r['units']:>10,} {r['analysis_s']:>25.2f} {r['write_s']:>8.2f} {r['files']:>6} "
              f"{r['analysis_peak_mb']:>17.0f} {r['process_max_rss_mb']:>19.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
