"""The real-data part of tests/grid/test_grid.py: 2 tests on ../shared/data (china-provinces, co2-emissions-1deg, tasmania).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
from helpers import shared

from optimizer import LayerSpec, build_grid
from optimizer.inputs.units import get_unit

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


# ---------------------------------------------------------------- hand-computed grids


# ---------------------------------------------------------------- cell areas


# ---------------------------------------------------------------- conservation


def test_real_co2_emissions_over_china_are_conserved():
    data = shared("co2-emissions-1deg")
    prov = shared("china-provinces") / "provinces_ocha.geojson"
    tif = data / "gridcar_2000_TgC.tif"
    pu = build_grid([LayerSpec("co2", tif, "emissions", "TgC/cell/yr")], study_area=prov, cell_km=50)
    # Independent reference: each 1-degree cell weighted by the share of its (lon/lat)
    # rectangle inside China, by shapely intersection.
    china = shapely.union_all(gpd.read_file(prov).geometry.values)
    with rasterio.open(tif) as ds:
        v, t = ds.read(1).astype(float), ds.transform
    rows, cols = np.nonzero(v > 0)
    x = t.c + cols * t.a
    y = t.f + rows * t.e
    boxes = shapely.box(x, y + t.e, x + t.a, y)
    frac = shapely.area(shapely.intersection(boxes, china)) / shapely.area(boxes)
    ref_tgc = float((v[rows, cols] * frac).sum())
    got_tgc = pu.units["co2"].sum() / get_unit("TgC/cell/yr").factor
    assert got_tgc == pytest.approx(ref_tgc, rel=5e-3)
    assert got_tgc == pytest.approx(922.39, rel=1e-3)  # measured value, fixed as a regression
    assert pu.features.loc["co2", "unit"] == "tCO2/yr"


def test_real_polygon_units_with_raster_features_match_exactextract_sums():
    from exactextract import exact_extract

    tas = shared("tasmania")
    units = gpd.read_file(tas / "tas_pu.gpkg")
    pu = build_grid([LayerSpec("veg", tas / "tas_features.tif", "biodiversity", "count/cell",
                               bands=(1, 2, 3))], units=units)
    ref = exact_extract(str(tas / "tas_features.tif"), units, "sum", output="pandas")
    assert len(pu) == len(units) == 1130
    for b in (1, 2, 3):
        np.testing.assert_allclose(pu.units[f"veg_b{b}"], ref[f"band_{b}_sum"], rtol=1e-6, atol=1e-9)
    i, j, length = pu.boundary_indices()
    assert (i < j).all() and (length > 0).all()


# ---------------------------------------------------------------- boundary


# ---------------------------------------------------------------- storage


# ============================================================== units from arrays


# ---------------------------------------------------------------- early checks


# ---------------------------------------------------------------- protected areas kept


