"""Shared fixtures: paths to real data, and writers of small hand-made layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_MANIFEST = ROOT / "data" / "demo.toml"

# An Albers equal-area CRS (metres) used by hand-made test layers.
ALBERS = ("+proj=aea +lat_0=30 +lon_0=100 +lat_1=25 +lat_2=45 +x_0=0 +y_0=0 "
          "+datum=WGS84 +units=m +no_defs")


def shared(folder: str) -> Path:
    """Path of a ../shared/data folder, skipping the test when it is absent."""
    path = SHARED_DATA / folder
    if not path.exists():
        pytest.skip(f"real data folder {path} is absent (CI always has ../shared/data)")
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


@pytest.fixture(scope="session")
def demo_grid():
    """The demo country on 20 km cells (built once per test session)."""
    from optimizer.cli.grid import _build_from_manifest

    return _build_from_manifest(DEMO_MANIFEST, cell_km=20, progress=False)
