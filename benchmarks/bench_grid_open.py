"""Benchmark for issue 15: open a national grid (up to 10M units) and run the gap analysis.

A grid of ``--units`` square 1 km cells is synthesised straight into the stored layout of
`optimizer.grid.store.write_grid` (``units.parquet`` as GeoParquet with the build metadata
under the ``carbonpark`` key, ``boundary.parquet``, ``features.parquet``,
``study_area.parquet``), one row group of 2^20 units at a time with pyarrow and numpy, so
the writer's memory does not grow with the grid. The columns are those of the demo grid
(`optimizer.datasets.demo_grid`): ``pu_id``, ``row``, ``col``, area, perimeter, exposed
edge, protected fraction and its two categories, ``region``/``province``/``lc_major``
labels, two carbon stocks, NPP and CO2 for five years, seven land-cover classes,
richness, 36 species ranges, their ``*_density`` and ``*_valid_km2`` columns (75
float64 columns in all) and the WKB box of each cell. Values are smooth seeded fields,
so protected areas, regions and species ranges are patches, not noise.

Per size, one child process per measurement (so each peak RSS is its own, from
``resource.getrusage``) runs:

    eager       read_grid(path, lazy=False): every geometry decoded (today's read)
    lazy        read_grid(path): numeric columns only, geometry decoded on first use
    gap         lazy read + optimizer.gap.gap_analysis(pu) (the seconds are the gap's)
    geometry    lazy read + pu.units.geometry.values.area.sum() (the first decode)
    write_grid  write_grid of the eager grid (``--write-grid``; the synthetic writer is
                what makes the large sizes)

Before each child its peak is projected from the sizes already measured (per-unit slope
of the two largest, +20 %), else from a prior per-unit figure; a child projected above
``--max-gb`` is refused with a note, and a watchdog kills one whose RSS passes it anyway.

    python benchmarks/bench_grid_open.py                       # 1M, 3M and 10M units
    python benchmarks/bench_grid_open.py --units 1e5,1e6 --write-grid
    python benchmarks/bench_grid_open.py --units 1e7 --data /tmp/grids   # keep/reuse grids
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _proc import rss_mb as _rss_mb
from _proc import watch_rss

ROOT = Path(__file__).resolve().parents[1]
ALBERS = "+proj=aea +lat_0=30 +lon_0=100 +lat_1=25 +lat_2=45 +datum=WGS84 +units=m +no_defs"
YEARS = (2000, 2005, 2010, 2015, 2020)
CLASSES = ("forest", "grassland", "cropland", "wetland", "bare", "urban", "water")
N_SPECIES = 36
REGIONS = ("Altara", "Borun", "Cendra", "Dovrel", "Esmar", "Falun", "Gethra", "Hollin",
           "Ivesk", "Jorvan")
ROW_GROUP = 1 << 20
CELL_M = 1000.0
MEASURES = ("eager", "lazy", "gap", "geometry", "write_grid")
# Prior peak per unit (bytes) of each measurement, before any size is measured.
PRIOR_BYTES_PER_UNIT = {"eager": 1500.0, "lazy": 800.0, "gap": 1000.0, "geometry": 1200.0,
                        "write_grid": 2500.0}
PRIOR_BASE_MB = 300.0
# Measures that read the grid lazily first: projected from the lazy read at the same size
# plus what they add to it (bytes per unit; a prior until measured).
ON_LAZY = ("gap", "geometry", "write_grid")
PRIOR_EXTRA_BYTES_PER_UNIT = {"gap": 100.0, "geometry": 800.0, "write_grid": 1000.0}


# --------------------------------------------------------------------------------------
# Synthetic grid, written in the stored layout
# --------------------------------------------------------------------------------------


def _features() -> list[dict]:
    """Rows of the features table (without totals), as `build_grid` makes them."""
    rows = [{"column": "biomass", "layer": "biomass", "role": "carbon_stock", "year": None,
             "label": "", "unit": "MgC", "source_unit": "MgC/ha",
             "density_column": "biomass_density"},
            {"column": "soc", "layer": "soc", "role": "carbon_stock", "year": None, "label": "",
             "unit": "MgC", "source_unit": "MgC/ha", "density_column": "soc_density"}]
    for y in YEARS:
        rows.append({"column": f"npp_{y}", "layer": "npp", "role": "carbon_uptake", "year": y,
                     "label": str(y), "unit": "MgC/yr", "source_unit": "gC/m2/yr",
                     "density_column": f"npp_{y}_density"})
    for y in YEARS:
        rows.append({"column": f"co2_{y}", "layer": "co2", "role": "emissions", "year": y,
                     "label": str(y), "unit": "tCO2/yr", "source_unit": "tCO2/cell/yr",
                     "density_column": ""})
    for c in CLASSES:
        rows.append({"column": f"lc_{c}_km2", "layer": "lc", "role": "land_cover", "year": None,
                     "label": c, "unit": "km2", "source_unit": "class", "density_column": ""})
    rows.append({"column": "richness", "layer": "richness", "role": "biodiversity", "year": None,
                 "label": "", "unit": "species*km2", "source_unit": "species",
                 "density_column": "richness_density"})
    for s in range(1, N_SPECIES + 1):
        rows.append({"column": f"sp_species_{s:02d}", "layer": "sp", "role": "biodiversity",
                     "year": None, "label": f"Species {s:02d}", "unit": "km2",
                     "source_unit": "fraction", "density_column": ""})
    return rows


def _layers() -> list[dict]:
    roles = [("biomass", "carbon_stock", "MgC/ha"), ("soc", "carbon_stock", "MgC/ha"),
             ("npp", "carbon_uptake", "gC/m2/yr"), ("co2", "emissions", "tCO2/cell/yr"),
             ("lc", "land_cover", "class"), ("richness", "biodiversity", "species"),
             ("sp", "biodiversity", "fraction"), ("pa", "protected", "fraction"),
             ("province", "region", "class")]
    return [{"name": n, "path": None, "role": r, "unit": u} for n, r, u in roles]


def _chunk(start: int, stop: int, side: int, seed: int) -> dict[str, np.ndarray]:
    """Columns of units ``start:stop`` of a ``side`` x ``side`` grid (deterministic)."""
    idx = np.arange(start, stop, dtype=np.int64)
    n = idx.size
    row, col = idx // side, idx % side
    y, x = row / side, col / side
    rng = np.random.default_rng([seed, start])
    wave = np.sin(6 * x) * np.cos(5 * y)
    area = np.ones(n)
    pa = np.clip((np.sin(9 * x + 1) * np.sin(7 * y) - 0.6) * 4, 0, 1)
    region = np.asarray(REGIONS, dtype=object)[(np.floor(x * 5) + 5 * np.floor(y * 2)).astype(int)
                                               % len(REGIONS)]
    out: dict[str, np.ndarray] = {
        "pu_id": idx, "row": row, "col": col, "area_km2": area,
        "perimeter_km": np.full(n, 4.0), "exposed_km": np.where((row == 0) | (col == 0), 1.0, 0.0),
        "pa_fraction": pa, "region": region,
    }
    biomass = 1400 * (1 + 0.5 * wave)
    soc = 6100 * (1 + 0.3 * np.cos(4 * y))
    out.update({"biomass": biomass * area, "biomass_density": biomass / 100,
                "biomass_valid_km2": area, "soc": soc * area, "soc_density": soc / 100,
                "soc_valid_km2": area})
    for k, yr in enumerate(YEARS):
        npp = 300 * (1 + 0.02 * k) * (1 + 0.4 * np.sin(3 * y))
        out[f"npp_{yr}"] = npp * area
        out[f"npp_{yr}_density"] = npp
    out["npp_valid_km2"] = area
    for k, yr in enumerate(YEARS):
        out[f"co2_{yr}"] = 400 * (1 + 0.3 * k) * np.exp(2 * x) * rng.random(n)
    out["co2_valid_km2"] = area
    shares = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    for j, c in enumerate(CLASSES):
        out[f"lc_{c}_km2"] = shares[:, j] * area
    out["lc_major"] = np.asarray(CLASSES, dtype=object)[shares.argmax(axis=1)]
    rich = 20 + 10 * wave + rng.random(n)
    out.update({"richness": rich * area, "richness_density": rich, "richness_valid_km2": area})
    centres = np.random.default_rng(seed).random((N_SPECIES, 3))
    for s in range(N_SPECIES):
        cx, cy, r = centres[s]
        out[f"sp_species_{s + 1:02d}"] = ((x - cx) ** 2 + (y - cy) ** 2 < 0.01 + 0.09 * r) * area
    out["pa_national_park_fraction"] = np.where(x < 0.5, pa, 0.0)
    out["pa_nature_reserve_fraction"] = np.where(x >= 0.5, pa, 0.0)
    out["province"] = region
    return out


def _box_wkb(row: np.ndarray, col: np.ndarray):  # type: ignore[no-untyped-def]
    """The WKB polygons of 1 km cells (row, col) as one Arrow binary array, made in numpy."""
    import pyarrow as pa

    n = row.size
    rec = np.zeros(n, dtype=[("order", "u1"), ("type", "<u4"), ("rings", "<u4"),
                             ("points", "<u4"), ("xy", "<f8", (10,))])
    rec["order"], rec["type"], rec["rings"], rec["points"] = 1, 3, 1, 5
    x0, x1 = col * CELL_M, (col + 1) * CELL_M
    y0, y1 = -(row + 1) * CELL_M, -row * CELL_M
    rec["xy"] = np.column_stack([x1, y0, x1, y1, x0, y1, x0, y0, x1, y0])  # shapely.box order
    size = rec.dtype.itemsize
    offsets = np.arange(n + 1, dtype=np.int32) * size
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(rec.tobytes())])


def synthesise(path: Path, n_units: int, seed: int = 0) -> Path:
    """Write a synthetic grid of ``n_units`` 1 km cells to the folder ``path``.

    The Parquet files are those `write_grid` writes (same schema metadata, snappy, row
    groups of 2^20 units), written a row group at a time.
    """
    import geopandas as gpd
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from optimizer.atomic import write_dir_atomic
    from optimizer.grid.planning_units import FORMAT_VERSION, carbonpark_version
    from optimizer.grid.store import META_KEY, geoarrow_table

    side = int(np.ceil(np.sqrt(n_units)))
    nrows = int(np.ceil(n_units / side))
    feats = _features()
    first = _chunk(0, 1, side, seed)
    template = geoarrow_table(gpd.GeoDataFrame(
        pd.DataFrame(first), geometry=[shapely.box(0, 0, 1, 1)], crs=ALBERS))
    totals = dict.fromkeys((f["column"] for f in feats), 0.0)
    bbox = [0.0, -nrows * CELL_M, side * CELL_M, 0.0]
    meta = {"format_version": FORMAT_VERSION, "kind": "square", "cell_km": CELL_M / 1000,
            "crs_wkt": gpd.GeoSeries([], crs=ALBERS).crs.to_wkt(),
            "square_grid": {"x0": 0.0, "y0": 0.0, "cell_m": CELL_M, "nrows": nrows,
                            "ncols": side},
            "layers": _layers(), "nodata": {}, "n_units": n_units, "area_km2": float(n_units),
            "built_at": "2026-01-01T00:00:00+00:00", "build_seconds": 0.0,
            "carbonpark_version": carbonpark_version(), "synthetic": {"seed": seed}}
    schema_meta = dict(template.schema.metadata)
    geo = json.loads(schema_meta[b"geo"])
    geo["columns"]["geometry"]["bbox"] = bbox
    schema_meta[b"geo"] = json.dumps(geo).encode()
    schema_meta[META_KEY] = json.dumps(meta).encode()
    schema = template.schema.with_metadata(schema_meta)

    def fill(tmp: Path) -> None:
        with pq.ParquetWriter(tmp / "units.parquet", schema) as writer:
            for start in range(0, n_units, ROW_GROUP):
                cols = _chunk(start, min(start + ROW_GROUP, n_units), side, seed)
                for c in totals:
                    totals[c] += float(cols[c].sum())
                arrays = [pa.array(cols[f.name]) if f.name != "geometry"
                          else _box_wkb(cols["row"], cols["col"]) for f in schema]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema),
                                   row_group_size=ROW_GROUP)
        # Rook neighbours of the full rows; the last row may be partial.
        with pq.ParquetWriter(tmp / "boundary.parquet", pa.schema(
                [("id1", pa.int64()), ("id2", pa.int64()), ("length_km", pa.float64())])) as bw:
            for start in range(0, n_units, ROW_GROUP):
                i = np.arange(start, min(start + ROW_GROUP, n_units), dtype=np.int64)
                right = i[(i % side < side - 1) & (i + 1 < n_units)]
                down = i[i + side < n_units]
                id1 = np.concatenate([right, down])
                id2 = np.concatenate([right + 1, down + side])
                bw.write_table(pa.table({"id1": id1, "id2": id2,
                                         "length_km": np.full(id1.size, CELL_M / 1000)}))
        ft = pd.DataFrame(feats)
        ft["year"] = ft["year"].astype("Int64")
        ft["total"] = [totals[c] for c in ft["column"]]
        ft.to_parquet(tmp / "features.parquet", index=False)
        gpd.GeoDataFrame(geometry=[shapely.box(*bbox)], crs=ALBERS).to_parquet(
            tmp / "study_area.parquet")

    return write_dir_atomic(path, "grid", fill, overwrite=True)


# --------------------------------------------------------------------------------------
# Child: one measurement on one grid
# --------------------------------------------------------------------------------------


def child(measure: str, path: Path, out: Path) -> None:
    """Run ``measure`` on the grid at ``path``; print one JSON row."""
    import warnings

    warnings.simplefilter("ignore")
    import geopandas  # noqa: F401  (imports before the baseline and outside the timings)
    import pyarrow.parquet  # noqa: F401
    import shapely  # noqa: F401

    import optimizer.grid.lazy_geometry  # noqa: F401
    from optimizer.gap import gap_analysis
    from optimizer.grid.store import read_grid, write_grid

    base_mb = _rss_mb()
    row: dict = {"measure": measure}
    t = time.perf_counter()
    pu = read_grid(path, lazy=measure != "eager")
    row["read_s"] = time.perf_counter() - t
    row["units"] = len(pu)
    t = time.perf_counter()
    if measure == "gap":
        report = gap_analysis(pu)
        row["tables"] = len(report.tables)
        row["geometry_loaded"] = pu.geometry_loaded
        row["boundary_loaded"] = pu.boundary_loaded
    elif measure == "geometry":
        area = float(pu.units.geometry.values.area.sum()) / 1e6
        row["area_km2"] = area
    elif measure == "write_grid":
        write_grid(pu, out, overwrite=True)
        shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - t
    row["seconds"] = row["read_s"] if measure in ("eager", "lazy") else seconds
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["base_mb"] = base_mb
    row["geometry_loaded"] = pu.geometry_loaded
    print("ROW " + json.dumps(row), flush=True)


# --------------------------------------------------------------------------------------
# Parent: sizes, grids, watchdog, table
# --------------------------------------------------------------------------------------


def run_child(args: list[str], max_gb: float) -> tuple[dict | None, str]:
    """Run this script with ``args`` in a child under the watchdog; its row and a note."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    killed = watch_rss(proc, max_gb, every=0.1)
    out, err = proc.communicate()
    row = next((json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW ")),
               None)
    if killed:
        return None, f"killed by the watchdog: RSS {killed[0] / 1024:.1f} GB > {max_gb:g} GB"
    if proc.returncode != 0:
        return None, "failed: " + " | ".join(err.strip().splitlines()[-3:])
    return row, ""


def project_mb(measured: list[tuple[int, float]], measure: str, units: int) -> float:
    """Projected peak MB of ``measure`` at ``units``: the per-unit slope of the two largest
    sizes measured (+20 %), else the prior per-unit figure."""
    if not measured:
        return PRIOR_BASE_MB + PRIOR_BYTES_PER_UNIT[measure] * units / 2**20
    measured = sorted(measured)
    u2, p2 = measured[-1]
    per_unit = PRIOR_BYTES_PER_UNIT[measure] / 2**20
    if len(measured) > 1 and u2 > measured[-2][0]:
        u1, p1 = measured[-2]
        per_unit = 1.2 * max((p2 - p1) / (u2 - u1), 0.0)
    elif u2:
        per_unit = max(p2 - PRIOR_BASE_MB, 0.0) / u2 * 1.2
    return p2 + per_unit * max(units - u2, 0)


HEADER = (f"{'units':>11} {'measure':<11}{'seconds':>9}{'peak MB':>9}{'+MB':>8}{'B/unit':>8}"
          "  notes")


def print_row(r: dict) -> None:
    """One table row: seconds, peak, growth over the child's baseline and per unit."""
    above = r["peak_mb"] - r["base_mb"]
    notes = []
    if r["measure"] not in ("eager", "lazy"):
        notes.append(f"lazy read {r['read_s']:.1f} s before")
    if r["measure"] == "gap":
        notes.append(f"geometry decoded: {r['geometry_loaded']}, boundary read: "
                     f"{r['boundary_loaded']}")
    print(f"{r['units']:>11,} {r['measure']:<11}{r['seconds']:>9.2f}{r['peak_mb']:>9.0f}"
          f"{above:>8.0f}{above * 2**20 / max(r['units'], 1):>8.0f}  " + "; ".join(notes),
          flush=True)


def main() -> None:
    """Parse the arguments, synthesise the grids, measure, print the table."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--synthesise":
        synthesise(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="1e6,3e6,1e7", help="grid sizes, comma-separated")
    parser.add_argument("--measures", default="eager,lazy,gap,geometry",
                        help=f"comma-separated, of {', '.join(MEASURES)}")
    parser.add_argument("--write-grid", action="store_true", help="also measure write_grid")
    parser.add_argument("--max-gb", type=float, default=8.0,
                        help="refuse a child projected above this peak RSS, kill one past it")
    parser.add_argument("--data", type=Path, help="folder for the synthetic grids (kept and "
                        "reused; default: a temporary folder)")
    args = parser.parse_args()
    sizes = sorted({int(float(s)) for s in args.units.split(",")})
    measures = [m for m in args.measures.split(",") if m]
    if args.write_grid and "write_grid" not in measures:
        measures.append("write_grid")
    bad = [m for m in measures if m not in MEASURES]
    if bad:
        parser.error(f"--measures: unknown {bad}; choose from {', '.join(MEASURES)}")

    with tempfile.TemporaryDirectory(prefix="bench_grid_open_") as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        print(f"max {args.max_gb:g} GB per child; grids in {data}\n")
        print(HEADER)
        done: dict[str, list[tuple[int, float]]] = {m: [] for m in measures}
        notes: list[str] = []
        results: list[dict] = []
        for n in sizes:
            grid = data / f"grid_{n}"
            if not (grid / "units.parquet").exists():
                t = time.perf_counter()
                _, note = run_child(["--synthesise", str(grid), str(n)], args.max_gb)
                if note:
                    notes.append(f"{n:,} units: synthesis {note}")
                    continue
                mb = sum(f.stat().st_size for f in grid.iterdir()) / 2**20
                print(f"{n:>11,} (synthesised in {time.perf_counter() - t:.0f} s, {mb:,.0f} MB "
                      "on disk)", flush=True)
            for m in measures:
                est = project_mb(done[m], m, n)
                lazy_at = dict(done.get("lazy", []))
                if m in ON_LAZY and n in lazy_at:
                    # The lazy read at this size plus what the measure added to it at the
                    # sizes measured, per unit (+20 %), else a prior.
                    extras = [(p - lazy_at[u]) / u for u, p in done[m] if u in lazy_at]
                    extra = max(extras) if extras else PRIOR_EXTRA_BYTES_PER_UNIT[m] / 2**20
                    est = lazy_at[n] + 1.2 * max(extra, 0.0) * n
                if est > args.max_gb * 1024:
                    msg = (f"{n:,} units: {m} refused, projected peak {est / 1024:.1f} GB > "
                           f"--max-gb {args.max_gb:g}")
                    print(f"{n:>11,} {m:<11} refused: projected {est / 1024:.1f} GB", flush=True)
                    notes.append(msg)
                    continue
                row, note = run_child(["--child", m, str(grid), str(data / "written")],
                                      args.max_gb)
                if row is None:
                    print(f"{n:>11,} {m:<11} {note}", flush=True)
                    notes.append(f"{n:,} units: {m} {note}")
                    continue
                done[m].append((n, row["peak_mb"]))
                results.append(row)
                print_row(row)
        summarise(results)
        for note in notes:
            print(f"note: {note}")


def summarise(results: list[dict]) -> None:
    """The issue's targets at the largest size measured."""
    if not results:
        return
    top = max(r["units"] for r in results)
    at = {r["measure"]: r for r in results if r["units"] == top}
    print(f"\nat {top:,} units:")
    if "lazy" in at:
        r = at["lazy"]
        print(f"  open (lazy read_grid): {r['seconds']:.1f} s, peak {r['peak_mb'] / 1024:.1f} GB "
              f"({(r['peak_mb'] - r['base_mb']) * 2**20 / top:.0f} B/unit)")
    if "eager" in at:
        print(f"  eager read_grid: {at['eager']['seconds']:.1f} s, peak "
              f"{at['eager']['peak_mb'] / 1024:.1f} GB")
    if "gap" in at:
        r = at["gap"]
        verdict = "ok" if r["seconds"] < 30 else "MISSED"
        print(f"  gap analysis on the lazy grid: {r['seconds']:.1f} s vs < 30 s: {verdict}; "
              f"geometry decoded: {r['geometry_loaded']}")
    if "geometry" in at:
        print(f"  first geometry access: {at['geometry']['seconds']:.1f} s, peak "
              f"{at['geometry']['peak_mb'] / 1024:.1f} GB")


if __name__ == "__main__":
    main()
