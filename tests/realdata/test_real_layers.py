"""The real-data part of tests/inputs/test_layers.py: 2 tests on ../shared/data (china-provinces, washington).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import pytest
import rasterio
import rasterio.windows
from helpers import shared

from optimizer import LayerSpec, build_grid
from optimizer.errors import (
    GeometryRepairWarning,
    InputDataError,
)

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


# ---------------------------------------------------------------- units


# ---------------------------------------------------------------- layer specs


# ---------------------------------------------------------------- bad rasters


# ---------------------------------------------------------------- bad vectors


def test_invalid_real_geometries_are_repaired_with_a_warning():
    atlas = shared("china-provinces") / "provinces_cn_atlas.geojson"
    with pytest.warns(GeometryRepairWarning, match=r"repaired 5 invalid geometries"):
        from optimizer.inputs.layers import read_vector

        gdf = read_vector(atlas, name="provinces")
    assert gdf.geometry.is_valid.all()
    # The repaired provinces work as a study area and as regions.
    with pytest.warns(GeometryRepairWarning):
        pu = build_grid([LayerSpec("prov", atlas, "region", "class")], study_area=atlas,
                        cell_km=100)
    assert pu.units["region"].notna().mean() > 0.99
    assert pu.units["area_km2"].sum() == pytest.approx(9.4e6, rel=0.05)


# ---------------------------------------------------------------- manifests and CLI


# ---------------------------------------------------------------- remaining error paths


def test_a_truncated_tiff_whose_header_opens_is_a_clear_error(tmp_path):
    from optimizer.inputs.layers import read_window

    src = shared("washington") / "wa_pu.tif"
    bad = tmp_path / "cut.tif"
    bad.write_bytes(src.read_bytes()[:5000])  # header intact, pixels gone
    with rasterio.open(bad) as ds:
        window = rasterio.windows.Window(0, 0, ds.width, ds.height)
    with pytest.raises(InputDataError, match="truncated or corrupt"):
        read_window(bad, [1], window)


