"""The streamed (band by band, on disk, optionally on Dask) grid build against `build_grid`."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from helpers import external_dask_cluster

from optimizer import LayerSpec, read_grid
from optimizer.datasets import demo_manifest
from optimizer.errors import InputDataError, OutputError
from optimizer.grid.build import build_grid
from optimizer.grid.planning_units import PlanningUnits
from optimizer.grid.stream import build_grid_streamed
from optimizer.inputs.layers import load_manifest

CELL_KM = 40.0


@pytest.fixture(scope="module")
def demo_layers():
    manifest, specs = load_manifest(demo_manifest())
    return specs, demo_manifest().parent / manifest.grid.study_area


@pytest.fixture(scope="module")
def in_memory(demo_layers):
    specs, study = demo_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_grid(specs, study_area=study, cell_km=CELL_KM)


def _streamed(demo_layers, out: Path, **kw) -> PlanningUnits:
    specs, study = demo_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_grid(build_grid_streamed(specs, out, study_area=study, cell_km=CELL_KM, **kw))


def assert_same_grid(a: PlanningUnits, b: PlanningUnits, *, exact: bool) -> None:
    """Same units (ids, cells, geometry), boundary and features; amounts equal, or within
    1e-9 relative where coverage windows differ (``exact=False``)."""
    ua, ub = a.units.drop(columns="geometry"), b.units.drop(columns="geometry")
    assert list(ua.columns) == list(ub.columns)
    assert len(ua) == len(ub)
    ga, gb = np.asarray(a.units.geometry.values), np.asarray(b.units.geometry.values)
    assert bool(np.all(shapely.equals_exact(ga, gb, tolerance=0)))
    for col in ua.columns:
        x, y = ua[col].to_numpy(), ub[col].to_numpy()
        if x.dtype.kind == "f" and not exact:
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            assert ua[col].equals(ub[col]), col
    assert a.boundary.equals(b.boundary)  # ids and lengths: bit for bit
    fa, fb = a.features.drop(columns="total"), b.features.drop(columns="total")
    assert fa.equals(fb)
    np.testing.assert_allclose(b.features["total"], a.features["total"],
                               rtol=0 if exact else 1e-9)
    skip = {"built_at", "build_seconds", "nodata"}
    assert {k: v for k, v in a.meta.items() if k not in skip} == \
        {k: v for k, v in b.meta.items() if k not in skip}
    for layer, rep in a.meta["nodata"].items():
        for key, value in rep.items():
            assert b.meta["nodata"][layer][key] == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert a.protected_areas is not None and b.protected_areas is not None
    assert len(a.protected_areas) == len(b.protected_areas)
    assert a.protected_areas["name"].tolist() == b.protected_areas["name"].tolist()
    assert shapely.equals_exact(a.study_area, b.study_area, tolerance=0)


def test_band_sizes_give_the_in_memory_grid(demo_layers, in_memory, tmp_path):
    thin = _streamed(demo_layers, tmp_path / "thin", rows_per_band=3)
    thick = _streamed(demo_layers, tmp_path / "thick", rows_per_band=16)
    assert len(in_memory) == len(thin) > 1000
    assert_same_grid(in_memory, thin, exact=False)
    assert_same_grid(in_memory, thick, exact=False)
    # Hand check: the grid's area is the study area's, and every pair is a real neighbour.
    assert thin.meta["area_km2"] == pytest.approx(shapely.area(thin.study_area) / 1e6, rel=1e-9)
    pos = thin.units.set_index("pu_id")
    r1, r2 = pos.loc[thin.boundary.id1, "row"].to_numpy(), pos.loc[thin.boundary.id2, "row"].to_numpy()
    c1, c2 = pos.loc[thin.boundary.id1, "col"].to_numpy(), pos.loc[thin.boundary.id2, "col"].to_numpy()
    assert np.all(np.abs(r1 - r2) + np.abs(c1 - c2) == 1)


def test_units_are_written_a_row_group_per_band(demo_layers, tmp_path):
    import pyarrow.parquet as pq

    specs, study = demo_layers
    out = build_grid_streamed(specs[:1], tmp_path / "g", study_area=study, cell_km=CELL_KM,
                              rows_per_band=10)
    meta = pq.ParquetFile(out / "units.parquet").metadata
    nrows = read_grid(out).meta["square_grid"]["nrows"]
    assert meta.num_row_groups == len(range(0, nrows, 10))
    assert not any(p.name.startswith(".") for p in out.iterdir())  # no parts left behind
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_ctrl_c_keeps_finished_bands_and_the_same_build_resumes(demo_layers, tmp_path):
    from optimizer.grid.stream import bands_folder

    specs, study = demo_layers
    seen: list[str] = []

    def stop_after_three(fraction: float, message: str) -> None:
        seen.append(message)
        if len(seen) == 3:
            raise KeyboardInterrupt

    kw = dict(study_area=study, cell_km=CELL_KM, rows_per_band=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyboardInterrupt):
            build_grid_streamed(specs, tmp_path / "g", progress=stop_after_three, **kw)
        assert not (tmp_path / "g").exists()
        kept = sorted(bands_folder(tmp_path / "g").glob("band-*.json"))
        assert len(kept) == 3
        kept[0].unlink()  # the kept bands need not be the first ones: rows 4-11 only
        seen.clear()
        resumed = read_grid(build_grid_streamed(specs, tmp_path / "g", progress=lambda f, m:
                                                seen.append(m), **kw))
        assert seen.count("bands kept from an earlier run") == 2
        assert not bands_folder(tmp_path / "g").exists()
        clean = read_grid(build_grid_streamed(specs, tmp_path / "c", **kw))
    assert_same_grid(clean, resumed, exact=True)
    # Another build (other bands) does not reuse them; a folder not ours is refused.
    stray = bands_folder(tmp_path / "h")
    stray.mkdir()
    with pytest.raises(OutputError, match="not a carbonpark grid's bands folder"):
        build_grid_streamed(specs, tmp_path / "h", **kw)


def test_bad_input_is_refused_before_any_band(demo_layers, tmp_path):
    specs, study = demo_layers
    far = tmp_path / "far.tif"
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(far, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(-170, -60, 0.1, 0.1)) as ds:
        ds.write(np.ones((1, 4, 4), dtype="float32"))
    bad = LayerSpec("far", far, "carbon_stock", "MgC/ha")
    with pytest.raises(InputDataError, match=r"'far'.*does not overlap the study area"):
        build_grid_streamed([bad], tmp_path / "g", study_area=study, cell_km=CELL_KM)
    assert not (tmp_path / "g").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="mine"):
        build_grid_streamed(specs, mine, study_area=study, cell_km=CELL_KM)
    assert (mine / "notes.txt").read_text() == "keep me"
    with pytest.raises(InputDataError, match="study_area"):
        build_grid_streamed(specs, tmp_path / "h", study_area=None, cell_km=CELL_KM)
    with pytest.raises(InputDataError, match="rows_per_band must be a whole number of at "
                                             "least 1; got 0"):
        build_grid_streamed(specs, tmp_path / "h", study_area=study, cell_km=CELL_KM,
                            rows_per_band=0)
    assert not (tmp_path / "h").exists()


@pytest.mark.dask
@pytest.mark.timeout(300)
def test_dask_workers_give_the_same_grid_and_survive_a_killed_worker(demo_layers, tmp_path):
    from dask.distributed import Client, LocalCluster

    here = _streamed(demo_layers, tmp_path / "here", rows_per_band=2)
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            on_dask = _streamed(demo_layers, tmp_path / f"dask{workers}", rows_per_band=2,
                                client=client)
        assert_same_grid(here, on_dask, exact=True)

    # Kill a worker process (SIGKILL) once the first band has been written: Dask runs its
    # band again on a new worker, and the grid is still the same.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def kill_when_a_part_appears() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                if any(tmp_path.glob(".killed.carbonpark-bands/units-*.parquet")):
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                time.sleep(0.01)

        watcher = threading.Thread(target=kill_when_a_part_appears)
        watcher.start()
        survived = _streamed(demo_layers, tmp_path / "killed", rows_per_band=2, client=client)
        watcher.join()
        now = set(client.run(os.getpid).values())
    assert killed and killed[0] not in now  # the worker really died and was replaced
    assert_same_grid(here, survived, exact=True)


def test_cli_grid_in_bands_equals_the_in_memory_grid(tmp_path, capsys):
    from optimizer.cli import main

    manifest = str(demo_manifest())
    assert main(["grid", manifest, "--out", str(tmp_path / "m"), "--cell-km", "50"]) == 0
    assert main(["grid", manifest, "--out", str(tmp_path / "b"), "--cell-km", "50",
                 "--rows-per-band", "6"]) == 0
    out = capsys.readouterr().out
    assert "rows in bands" in out and "biomass" in out
    assert_same_grid(read_grid(tmp_path / "m"), read_grid(tmp_path / "b"), exact=False)
    demo = demo_manifest().parent / "demo"
    polygons = tmp_path / "polygons.toml"
    polygons.write_text(f'[grid]\nunits = "{demo / "provinces.gpkg"}"\n[[layers]]\nname = "b"\n'
                        f'path = "{demo / "biomass_carbon.tif"}"\nrole = "carbon_stock"\n'
                        'unit = "MgC/ha"\n', encoding="utf-8")
    square = ["grid", manifest, "--out", str(tmp_path / "x"), "--cell-km", "50"]
    for cmd, msg in (([*square, "--scheduler", "nowhere"], "--scheduler must be 'local' or a"),
                     ([*square, "--workers", "2"], "--workers sets the LocalCluster's size"),
                     (["grid", str(polygons), "--out", str(tmp_path / "x"), "--rows-per-band",
                       "3"], "build square cells; this manifest gives units polygons")):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], err
        assert not (tmp_path / "x").exists()


@pytest.mark.dask
@pytest.mark.timeout(240)
def test_cli_grid_on_an_external_scheduler_by_address(tmp_path, capsys):
    """`carbonpark grid --scheduler tcp://...`: a real `dask scheduler` and `dask worker`."""
    from optimizer.cli import main

    manifest = str(demo_manifest())
    with external_dask_cluster() as addr:
        assert main(["grid", manifest, "--out", str(tmp_path / "r"), "--cell-km", "50",
                     "--scheduler", addr, "--rows-per-band", "4"]) == 0
    assert main(["grid", manifest, "--out", str(tmp_path / "l"), "--cell-km", "50",
                 "--rows-per-band", "4"]) == 0
    assert "rows in bands" in capsys.readouterr().out
    assert_same_grid(read_grid(tmp_path / "l"), read_grid(tmp_path / "r"), exact=True)
