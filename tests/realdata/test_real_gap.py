"""The real-data part of tests/gap/test_gap.py: 3 tests on ../shared/data (washington).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from helpers import row_where, shared

from optimizer.gap import (
    carbon_table,
    gap_analysis,
    species_table,
)

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata

# ============================================================== a tiny hand-made grid
#
# Four units of 1, 1, 2 and 4 km2. National park covers 1, 0.5, 0, 0.25 of them and
# nature reserve 0.5, 0.5, 0, 0: in units 0 and 1 the categories overlap, so the
# union (pa_fraction) is 1, 0.75, 0, 0.25 — less than the sum of the categories.


# ============================================================== zones


# ============================================================== Table 1


# ============================================================== Tables 2-3


# ============================================================== ecosystems, regions


# ============================================================== biodiversity


# ============================================================== hotspots, typology


# ============================================================== the whole report


# ============================================================== the demo's pattern


# ============================================================== real data: Washington

@pytest.fixture(scope="module")
def washington():
    import rasterio
    import rasterio.features

    from optimizer.grid.build import build_grid
    from optimizer.inputs.layers import LayerSpec

    folder = shared("washington")
    with rasterio.open(folder / "wa_pu.tif") as ds:
        pu_arr = ds.read(1)
        transform, crs = ds.transform, ds.crs.to_wkt()
    valid = np.isfinite(pu_arr)
    polys = [shapely.geometry.shape(g) for g, _ in rasterio.features.shapes(
        valid.astype("uint8"), mask=valid, transform=transform)]
    outline = shapely.union_all(polys)
    specs = [
        LayerSpec("locked_in", folder / "wa_locked_in.tif", "protected", "fraction"),
        LayerSpec("carbon", folder / "wa_carbon.tif", "carbon_stock", "MgC/ha"),
        LayerSpec("birds", folder / "wa_features.tif", "biodiversity", "count/cell"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pu = build_grid(specs, study_area=(outline, crs), crs=crs, cell_km=transform.a / 1000,
                        origin=(transform.c, transform.f))
    arrays = {}
    for name in ("wa_locked_in", "wa_carbon", "wa_features"):
        with rasterio.open(folder / f"{name}.tif") as ds:
            arrays[name] = ds.read(masked=True).filled(np.nan).astype(np.float64)
    return pu, valid, arrays


def test_washington_units_coincide_with_raster_cells(washington):
    pu, valid, _ = washington
    assert len(pu) == int(valid.sum()) == 10_757
    assert pu.units["area_km2"].to_numpy() == pytest.approx(16.0)


def test_washington_shares_match_numpy(washington):
    pu, valid, arr = washington
    locked = np.nan_to_num(arr["wa_locked_in"][0])
    carbon = np.nan_to_num(arr["wa_carbon"][0])
    ok = valid
    expected = float((carbon * locked)[ok].sum() / carbon[ok].sum())
    t = carbon_table(pu)
    got = row_where(t, layer="carbon", zone="protected")["share"]
    assert got == pytest.approx(expected, rel=1e-6)
    expected_area = float(locked[ok].sum() / ok.sum())
    assert row_where(t, layer="carbon", zone="protected")["area_share"] == pytest.approx(expected_area,
                                                                                     rel=1e-6)
    s = species_table(pu, target=0.3)
    assert len(s) == 396
    feats = np.nan_to_num(arr["wa_features"])[:, ok]
    expected_sp = (feats * locked[ok]).sum(axis=1) / feats.sum(axis=1)
    np.testing.assert_allclose(s["share_protected"].to_numpy(), expected_sp, rtol=1e-6)
    assert int(s["meets_target"].sum()) == int((expected_sp >= 0.3 - 1e-12).sum())


def test_washington_full_report(washington, tmp_path):
    pu, _, _ = washington
    rep = gap_analysis(pu)
    assert {"carbon", "species", "biodiversity", "hotspots", "typology"} <= set(rep.tables)
    assert "time_series" not in rep.tables
    rep.write(tmp_path)
    assert (tmp_path / "map_typology.png").exists()


# ============================================================== errors


# ============================================================== CLI


