"""Builders and reference functions the tests share, and the one place that finds real data.

Tests import these with ``from helpers import ...`` (pytest puts ``tests/`` on ``sys.path``);
conftest.py keeps only fixtures and hooks, and no test imports another test module.

* Real data: `shared_data` is the folder of the real datasets: the environment variable
  ``CARBONPARK_SHARED_DATA``, else ``../shared/data`` beside the repository. `shared`
  gives one dataset's folder and skips the test when it is absent. Every test that uses
  `shared` lives in ``tests/realdata/``, whose modules set ``pytestmark =
  pytest.mark.realdata``, so ``pytest -m "not realdata"`` runs offline; `shared` fails a
  test that reaches it unmarked.
* Layers: `write_raster` writes a small hand-made GeoTIFF; `ALBERS` is their CRS.
* Problems: `box_grid` builds small PlanningUnits in memory (a rows x cols grid of 1 km
  boxes); `cases` draws random tiny problems (`Case`) for hypothesis.
* Dask: `external_dask_cluster` starts a real ``dask scheduler`` and ``dask worker``
  (2 processes) and yields their ``tcp://`` address.
* References: `reference_objective` and `reference_feasible` restate the model of
  DESIGN.md directly from a per-unit selection; `brute_force` and `all_selections`
  enumerate every selection.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.grid.build import PlanningUnits
from optimizer.model.problem import Problem, problem

ROOT = Path(__file__).resolve().parents[1]
DEMO_MANIFEST = ROOT / "data" / "demo.toml"
#: Environment variable naming the folder of the real datasets (default ../shared/data).
SHARED_DATA_ENV = "CARBONPARK_SHARED_DATA"

# An Albers equal-area CRS (metres) used by hand-made test layers.
ALBERS = ("+proj=aea +lat_0=30 +lon_0=100 +lat_1=25 +lat_2=45 +x_0=0 +y_0=0 "
          "+datum=WGS84 +units=m +no_defs")

#: The test being set up, run or torn down (set by conftest.py), for `shared`'s check.
current_test: pytest.Item | None = None


# ================================================================ real data

def shared_data() -> Path:
    """The folder of the real datasets: $CARBONPARK_SHARED_DATA, else ../shared/data."""
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env).expanduser() if env else ROOT.parent / "shared" / "data"


def shared(folder: str) -> Path:
    """Path of one real dataset's folder, skipping the test when it is absent.

    Fails a test that is not marked ``realdata`` (whether or not the data is there): such
    tests belong in ``tests/realdata/``, where every module is marked, so
    ``-m "not realdata"`` never runs one that needs the data.
    """
    item = current_test
    if item is not None and item.get_closest_marker("realdata") is None:
        pytest.fail(f"{item.nodeid} reads real data ({folder}) but is not marked realdata: "
                    "move it to tests/realdata/", pytrace=False)
    path = shared_data() / folder
    if not path.exists():
        pytest.skip(f"real data folder {path} is absent (set {SHARED_DATA_ENV} to the folder "
                    "of the real datasets; CI always has ../shared/data)")
    return path


def write_raster(path: Path, data: np.ndarray, *, transform: Affine, crs: object = ALBERS,
                 nodata: float | None = None, tags: dict[str, str] | None = None,
                 descriptions: list[str] | None = None) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a GeoTIFF."""
    arr = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1],
                       count=arr.shape[0], dtype=arr.dtype, crs=crs, transform=transform,
                       nodata=nodata) as ds:
        ds.write(arr)
        if tags:
            ds.update_tags(**tags)
        for i, d in enumerate(descriptions or []):
            ds.set_band_description(i + 1, d)
    return path


# ================================================================ problems

def box_grid(
    nrows: int = 2,
    ncols: int = 3,
    *,
    features: dict[str, tuple[str, np.ndarray]] | None = None,
    pa: np.ndarray | None = None,
    area: np.ndarray | None = None,
    region: list[str] | None = None,
    seed: int | None = None,
    n_species: int = 2,
) -> PlanningUnits:
    """A grid of 1 km boxes with hand-given (or random) features.

    Parameters
    ----------
    features : dict, optional
        Column -> (role, amounts). Default: a carbon stock ``biomass`` and
        ``n_species`` biodiversity columns ``sp_1``..., random with ``seed``.
    pa, area, region : optional
        Per-unit protected fraction, area (km²; default 1) and region name.
    """
    n = nrows * ncols
    rows, cols = np.divmod(np.arange(n), ncols)
    geoms = shapely.box(cols * 1000.0, -(rows + 1) * 1000.0, (cols + 1) * 1000.0, -rows * 1000.0)
    if features is None:
        rng = np.random.default_rng(seed)
        features = {"biomass": ("carbon_stock", rng.uniform(0, 10, n).round(2))}
        for k in range(n_species):
            amt = np.where(rng.random(n) < 0.5, rng.uniform(0, 1, n).round(2), 0.0)
            amt[rng.integers(n)] = 0.5  # every species occurs somewhere
            features[f"sp_{k + 1}"] = ("biodiversity", amt)
    right = (cols < ncols - 1)
    down = (rows < nrows - 1)
    i = np.concatenate([np.flatnonzero(right), np.flatnonzero(down)])
    j = np.concatenate([np.flatnonzero(right) + 1, np.flatnonzero(down) + ncols])
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    shared = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    data = {
        "pu_id": np.arange(n) + 100,
        "area_km2": np.ones(n) if area is None else np.asarray(area, float),
        "perimeter_km": np.full(n, 4.0),
        "exposed_km": 4.0 - shared,
        "pa_fraction": np.zeros(n) if pa is None else np.asarray(pa, float),
        "region": np.array(region if region is not None else [None] * n, dtype=object),
    }
    frows = []
    for col, (role, amt) in features.items():
        data[col] = np.asarray(amt, dtype=float)
        layer = col.split("_")[0]
        label = col.split("_", 1)[-1].removesuffix("_km2") if role == "land_cover" else col
        frows.append({"column": col, "layer": layer, "role": role, "year": pd.NA, "label": label,
                      "unit": "km2", "source_unit": "km2", "density_column": "",
                      "total": float(np.sum(amt))})
    units = gpd.GeoDataFrame(pd.DataFrame(data), geometry=geoms, crs="EPSG:6933")
    feats = pd.DataFrame(frows).set_index("column")
    feats["year"] = feats["year"].astype("Int64")
    boundary = pd.DataFrame({"id1": data["pu_id"][i], "id2": data["pu_id"][j],
                             "length_km": np.ones(i.size)})
    return PlanningUnits(units, boundary, feats, {})


@dataclass(frozen=True)
class Case:
    """Parameters of one random tiny problem."""

    nrows: int
    ncols: int
    seed: int
    kind: str
    budget_share: float
    target: float
    boundary: float
    n_lock_in: int
    n_lock_out: int
    linear: float
    region_cap: bool
    partial_pa: bool

    def build(self, budget_share: float | None = None) -> Problem:
        n = self.nrows * self.ncols
        rng = np.random.default_rng(self.seed)
        pa = np.where(rng.random(n) < 0.25, rng.choice([0.3, 0.7, 1.0], n), 0.0) \
            if self.partial_pa else None
        region = ["A", *list(rng.choice(["A", "B"], n - 1))]
        pu = box_grid(self.nrows, self.ncols, seed=self.seed, pa=pa, region=region,
                       area=rng.uniform(0.5, 1.5, n).round(2))
        pu.units["emis"] = rng.uniform(0, 1, n).round(2)
        p = problem(pu)
        ids = pu.units["pu_id"].to_numpy()
        perm = rng.permutation(ids)
        if self.n_lock_in:
            p = p.add_locked_in(ids=perm[: self.n_lock_in].tolist())
        if self.n_lock_out:
            p = p.add_locked_out(ids=perm[self.n_lock_in: self.n_lock_in + self.n_lock_out]
                                 .tolist())
        share = self.budget_share if budget_share is None else budget_share
        if self.kind != "max_utility":
            p = p.add_relative_targets({"biodiversity": self.target})
        if self.kind == "max_utility":
            p = p.add_max_utility_objective(budget_share=share)
        elif self.kind == "min_set":
            p = p.add_min_set_objective()
        else:
            p = p.add_min_shortfall_objective(budget_share=share)
        if self.region_cap:
            p = p.add_area_budget(region="A", max_share=0.5)
        if self.boundary:
            scale = 0.02 if self.kind == "max_utility" else 0.3
            p = p.add_boundary_penalty(self.boundary * scale, edge_factor=0.5)
        if self.linear:
            scale = 0.02 if self.kind == "max_utility" else 0.5
            p = p.add_linear_penalty("emis", self.linear * scale)
        return p


cases = st.builds(
    Case,
    nrows=st.integers(1, 3), ncols=st.integers(2, 4), seed=st.integers(0, 10_000),
    kind=st.sampled_from(["max_utility", "min_set", "min_shortfall"]),
    budget_share=st.sampled_from([0.1, 0.3, 0.5]), target=st.sampled_from([0.1, 0.3, 0.6]),
    boundary=st.sampled_from([0.0, 0.0, 1.0]), n_lock_in=st.integers(0, 2),
    n_lock_out=st.integers(0, 2), linear=st.sampled_from([0.0, 1.0]),
    region_cap=st.booleans(), partial_pa=st.booleans(),
)


# ================================================================ references

def boundary_length(p: Problem, x: np.ndarray) -> float:
    """Boundary of selection ``x`` in the cut form (edge factor applied to outer edges)."""
    i, j, length = p.pu.boundary_indices()
    ef = p.boundary_penalty.edge_factor if p.boundary_penalty else 1.0
    return float(ef * p.pu.units["exposed_km"].to_numpy() @ x + (length * np.abs(x[i] - x[j])).sum())


def reference_objective(p: Problem, x: np.ndarray) -> float:
    """The objective of DESIGN.md for a per-unit 0/1 selection, computed directly."""
    x = np.asarray(x, dtype=float)
    kind = p.objective.kind
    sign = -1.0 if kind == "max_utility" else 1.0
    value = 0.0
    if kind == "max_utility":
        value += p.unit_values() @ x
    elif kind == "min_set":
        value += p.cost @ x
    else:
        for t in p.targets:
            r = p.feature_amounts([t.feature])[0]
            held = r @ p.protected_fraction + (r * (1 - p.protected_fraction)) @ x
            w = dict(p.objective.weights).get(t.feature, 1.0)
            value += w * max(t.amount - held, 0.0) / t.amount if t.amount > 0 else 0.0
    for lp in p.linear_penalties:
        value += sign * lp.penalty * (lp.amount @ x)
    if p.boundary_penalty:
        value += sign * p.boundary_penalty.penalty * boundary_length(p, x)
    return float(value)


def reference_feasible(p: Problem, x: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether ``x`` respects locks, budgets and (except min shortfall) targets."""
    x = np.asarray(x, dtype=float)
    locked_in, locked_out = p.locked_masks()
    if (x[locked_in] < 0.5).any() or (x[locked_out] > 0.5).any():
        return False
    u = 1 - p.protected_fraction
    for b in p.budgets:
        if b.scope == "total":
            coef = p.area_km2 * u
        elif b.scope == "region":
            coef = p.area_km2 * u * (p.pu.units["region"].to_numpy() == b.name)
        else:
            coef = p.pu.units[b.name].to_numpy() * u
        used = coef @ x
        if used > b.max_km2 + tol or used < b.min_km2 - tol:
            return False
    if p.objective.kind != "min_shortfall":
        for t in p.targets:
            r = p.feature_amounts([t.feature])[0]
            if r @ p.protected_fraction + (r * u) @ x < t.amount - tol:
                return False
    return True


def all_selections(n: int) -> np.ndarray:
    """Every 0/1 vector of length n (2^n x n)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def brute_force(p: Problem) -> float | None:
    """Best objective over all 2^n selections (None when none is feasible)."""
    best = None
    sign = 1.0 if p.objective.kind == "max_utility" else -1.0
    for x in all_selections(p.n_units):
        if reference_feasible(p, x):
            v = reference_objective(p, x)
            if best is None or sign * v > sign * best:
                best = v
    return best


@contextlib.contextmanager
def external_dask_cluster(workers: int = 2) -> Iterator[str]:
    """A real ``dask scheduler`` and ``dask worker`` (``workers`` processes of one thread)
    in their own processes; yields the scheduler's ``tcp://`` address once they are up."""
    from dask.distributed import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    bindir = Path(sys.executable).parent
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], **quiet)]
    try:
        procs.append(subprocess.Popen([str(bindir / "dask"), "worker", addr, "--nworkers",
                                       str(workers), "--nthreads", "1", "--no-dashboard"], **quiet))
        with Client(addr, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


# ============================================================== command line and tables

def tree_hash(root: Path) -> dict[str, str]:
    """Relative path -> sha256 and mode of every file under ``root`` (folders too, as '<dir>')."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() + f" {p.stat().st_mode:o}"
    return out


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``carbonpark argv``; return the exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def console_rows(text: str) -> dict[str, str]:
    """A console table (``carbonpark solve``): label -> value, two or more spaces apart."""
    rows = {}
    for line in text.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) == 2:
            rows[parts[0]] = parts[1]
    return rows


def assert_one_line_error(code: int, err: str, *, exit_code: int = 2, contains: str = "") -> str:
    """The command failed with ``exit_code`` and a single ``carbonpark: error:`` line."""
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("carbonpark: warning:")]
    assert code == exit_code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("carbonpark: error: "), err
    assert "internal error" not in lines[0] and "this is a bug" not in lines[0], err
    assert contains in lines[0], err
    return lines[0]


def row_where(df: pd.DataFrame, **where: object) -> pd.Series:
    """The one row of ``df`` whose columns equal ``where`` (fails unless exactly one)."""
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


# ---------------------------------------------------------------- exports summed back

def gdal(*args: str) -> str:
    """Run a GDAL command-line tool (``ogrinfo``, ``gdalinfo``); its stdout."""
    run = subprocess.run(list(args), capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _ogr_sums(source: str, layer: str, area: str = "area_km2",
              carbon: str = "carbon_stock_MgC") -> tuple[float, float]:
    """SUM of two fields over a layer by GDAL's ogrinfo (OGR SQL), to the printed precision."""
    out = gdal("ogrinfo", "-ro", "-q", source, "-sql",
               f'SELECT SUM("{area}") AS a, SUM("{carbon}") AS c FROM "{layer}"')
    values = dict(re.findall(r"^\s+(a|c) \(Real\) = (\S+)$", out, re.M))
    return float(values["a"]), float(values["c"])


def _read_shp(folder: Path) -> list[tuple[float, float]]:
    z = folder / "parks_shp.zip"
    shp = pyogrio.read_dataframe(f"/vsizip/{z}/parks.shp")
    return [(shp["area_km2"].sum(), shp["c_stk_MgC"].sum()),
            _ogr_sums(f"/vsizip/{z}/parks.shp", "parks", carbon="c_stk_MgC")]


def _read_gpkg(folder: Path) -> list[tuple[float, float]]:
    g = folder / "parks.gpkg"
    parks = pyogrio.read_dataframe(g, layer="parks")
    units = pyogrio.read_dataframe(g, layer="added_units")
    return [(parks["area_km2"].sum(), parks["carbon_stock_MgC"].sum()),
            _ogr_sums(str(g), "parks"), _ogr_sums(str(g), "added_units", area="new_km2"),
            (units["new_km2"].sum(), units["carbon_stock_MgC"].sum())]


def _read_parquet(folder: Path) -> list[tuple[float, float]]:
    import pyarrow.parquet as pq

    t = pq.read_table(folder / "parks.parquet", columns=["area_km2", "carbon_stock_MgC"])
    return [(float(np.sum(t.column("area_km2").to_numpy())),
             float(np.sum(t.column("carbon_stock_MgC").to_numpy())))]


def _read_geojson(folder: Path) -> list[tuple[float, float]]:
    doc = json.loads((folder / "parks.geojson").read_text())
    props = [f["properties"] for f in doc["features"]]
    return [(sum(p["area_km2"] for p in props), sum(p["carbon_stock_MgC"] for p in props)),
            _ogr_sums(str(folder / "parks.geojson"), "parks")]


def _read_tif(folder: Path) -> list[tuple[float, float]]:
    with rasterio.open(folder / "plan_amounts.tif") as src:
        new, carbon = src.read()
        assert src.dtypes == ("float64", "float64")
    return [(float(np.nansum(new)), float(np.nansum(carbon)))]


#: An independent reader per export format (`optimizer.outputs.writers.WRITERS`): the sums of
#: new km² and carbon stock (MgC) over its features, by each reader (pyogrio, pyarrow, plain
#: JSON, rasterio, and GDAL's ogrinfo).
EXPORT_READERS = {"shp": _read_shp, "gpkg": _read_gpkg, "parquet": _read_parquet,
           "geojson": _read_geojson, "tif": _read_tif}
