"""Square grids drawn as rasters: placement from a few units, no polygon decoded, same maps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import optimizer.grid.lazy_geometry as lazy_geometry
from optimizer.datasets import demo_grid
from optimizer.figures.maps import parks_map, plan_map
from optimizer.figures.raster import (
    SAMPLE_UNITS,
    code_raster,
    grid_placement,
    label_cells,
    outline_segments,
    rgba_image,
    thinned,
)
from optimizer.grid.store import read_grid, write_grid


def _placement_from_every_unit(units: pd.DataFrame, geometry) -> tuple:
    """The placement as the maps computed it before: every unit's bounds."""
    b = geometry.bounds
    w = float((b["maxx"] - b["minx"]).max())
    h = float((b["maxy"] - b["miny"]).max())
    row, col = units["row"].to_numpy(), units["col"].to_numpy()
    nrows, ncols = int(row.max()) + 1, int(col.max()) + 1
    x0 = float((b["minx"].to_numpy() - col * w).min())
    cy = (b["miny"].to_numpy() + b["maxy"].to_numpy()) / 2
    if np.corrcoef(row, cy)[0, 1] <= 0:
        ytop = float((b["maxy"].to_numpy() + row * h).max())
        return (x0, x0 + ncols * w, ytop - nrows * h, ytop), "upper", w
    ybot = float((b["miny"].to_numpy() - row * h).min())
    return (x0, x0 + ncols * w, ybot, ybot + nrows * h), "lower", w


def _hand_grid(north_rows: bool, drop: int = 7) -> tuple[pd.DataFrame, gpd.GeoSeries]:
    """A 9 x 12 grid of 2.5 km cells at an odd origin, a few cells missing, rows running
    north (``north_rows``) or south, with two regions."""
    rng = np.random.default_rng(3)
    r, c = np.divmod(np.arange(9 * 12), 12)
    keep = np.ones(r.size, dtype=bool)
    keep[rng.choice(r.size, drop, replace=False)] = False
    r, c = r[keep], c[keep]
    size, ox, oy = 2500.0, 123_456.7, -987_654.3
    ymin = oy + r * size if north_rows else oy - (r + 1) * size
    geoms = shapely.box(ox + c * size, ymin, ox + (c + 1) * size, ymin + size)
    units = pd.DataFrame({"row": r, "col": c, "area_km2": np.full(r.size, 6.25),
                          "pa_fraction": (c < 3).astype(float),
                          "region": np.where(c + r < 10, "West", "East")})
    return units, gpd.GeoSeries(geoms, crs="EPSG:3035")


@pytest.mark.parametrize("north_rows", [False, True])
def test_placement_from_a_few_units_equals_the_one_from_every_unit(north_rows):
    units, geom = _hand_grid(north_rows)
    place = grid_placement(units, geom)
    extent, origin, w = _placement_from_every_unit(units, geom)
    assert place is not None
    assert place.extent == pytest.approx(extent, rel=0, abs=1e-6)
    assert (place.origin, place.cell_size) == (origin, pytest.approx(w))
    assert place.origin == ("lower" if north_rows else "upper")
    assert (place.nrows, place.ncols) == (9, 12)


def test_placement_on_the_demo_grid_with_clipped_edge_cells():
    pu = demo_grid(40)
    units = pu.units
    place = grid_placement(units, units.geometry)
    extent, origin, w = _placement_from_every_unit(units, units.geometry)
    assert place.extent == pytest.approx(extent, rel=0, abs=1e-6)
    assert (place.origin, place.cell_size) == (origin, w)
    sq = pu.meta["square_grid"]  # the grid's own definition agrees
    assert (place.x0, place.y1, place.cell_size) == (sq["x0"], sq["y0"], sq["cell_m"])


def test_rgba_image_and_outlines():
    units, geom = _hand_grid(False, drop=0)
    place = grid_placement(units, geom)
    img = rgba_image(units, (units["col"] >= 6).to_numpy(dtype=int), ["#ff0000", "#0000ff"])
    assert img.shape == (9, 12, 4) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [255, 0, 0, 255] and img[8, 11].tolist() == [0, 0, 255, 255]
    north = rgba_image(units, np.zeros(len(units), dtype=int), ["k"], placement=place,
                       north_up=True)
    assert (north == rgba_image(units, np.zeros(len(units), dtype=int), ["k"])).all()
    # The outlines of the regions equal their dissolved polygons' boundaries.
    codes, names = pd.factorize(units["region"], sort=True)
    seg = outline_segments(code_raster(units, codes), place)
    drawn = shapely.line_merge(shapely.union_all(shapely.linestrings(seg)))
    dissolved = gpd.GeoDataFrame({"region": units["region"]}, geometry=geom).dissolve("region")
    expected = shapely.line_merge(shapely.union_all(dissolved.boundary.to_numpy()))
    assert shapely.length(drawn) == pytest.approx(shapely.length(expected))
    assert shapely.hausdorff_distance(drawn, expected) < 1e-6
    for sample in (10**6, 5):  # every unit, and every 21st unit plus the groups it misses
        present, xs, ys = label_cells(units, codes, len(names), place, sample=sample)
        assert present.tolist() == [0, 1]
        for c, x, y in zip(present, xs, ys, strict=True):  # every label inside its region
            assert dissolved.geometry[names[c]].contains(shapely.Point(x, y))
    few = np.full(len(units), -1)
    few[[3, 50]] = [1, 0]  # groups of one unit each, outside a sample of every 21st unit
    present, xs, ys = label_cells(units, few, 2, place, sample=5)
    assert present.tolist() == [0, 1]
    np.testing.assert_array_equal(np.stack([xs, ys]), np.stack(place.cell_centres(
        units["row"].to_numpy()[[50, 3]], units["col"].to_numpy()[[50, 3]])))


def test_thinned_keeps_every_sth_cell_and_covers_the_grid():
    units, geom = _hand_grid(True, drop=0)
    place = grid_placement(units, geom)
    small, keep, coarse = thinned(units, place, max_side=5)  # 12 columns: every 3rd cell
    assert (coarse.nrows, coarse.ncols) == (3, 4) and coarse.origin == "lower"
    assert coarse.cell_size == 3 * place.cell_size
    assert (coarse.x0, coarse.y0) == (place.x0, place.y0)
    assert coarse.x1 == pytest.approx(place.x1) and coarse.y1 >= place.y1
    assert ((units["row"].to_numpy()[keep] % 3 == 0) & (units["col"].to_numpy()[keep] % 3 == 0)).all()
    assert len(keep) == 12 and small["row"].max() == 2 and small["col"].max() == 3
    assert thinned(units, place)[1] is None  # small grids are drawn cell by cell


def _texts(fig) -> set[str]:
    return {t.get_text() for t in fig.axes[0].texts}


def test_square_grid_maps_decode_a_few_units_and_name_the_same_regions(tmp_path, monkeypatch):
    write_grid(demo_grid(40), tmp_path / "grid")
    pu = read_grid(tmp_path / "grid")  # lazy: polygons left as WKB
    decoded: list[int] = []
    real = lazy_geometry._decode

    def counting(wkb):  # type: ignore[no-untyped-def]
        decoded.append(len(wkb))
        return real(wkb)

    monkeypatch.setattr(lazy_geometry, "_decode", counting)
    units = pu.units
    status = np.where(units["pa_fraction"].to_numpy() >= 0.5, "existing", "free").astype(object)
    status[::7] = "added"
    park = np.zeros(len(units), dtype=np.int64)
    park[::7] = 1 + np.arange(len(park[::7])) % 5
    figs = [plan_map(units, status, geometry=units.geometry),
            parks_map(units, park, status, geometry=units.geometry)]
    assert not units.geometry.values.loaded  # the grid's polygons were never decoded
    assert sum(decoded) <= 3 * SAMPLE_UNITS, decoded
    assert all(n <= SAMPLE_UNITS for n in decoded)
    monkeypatch.setattr(lazy_geometry, "_decode", real)
    # The same map from the polygons (no row/col: regions dissolved) names the same regions.
    poly = plan_map(units.drop(columns=["row", "col"]), status, geometry=units.geometry)
    regions = set(units["region"].dropna())
    for fig in figs:
        texts = _texts(fig)
        assert regions <= texts and "N" in texts
        assert any(t.startswith("CRS: ") and t.endswith("cells 40 km") for t in texts)
    assert _texts(figs[0]) & regions == _texts(poly) & regions
    legend = [t.get_text() for t in figs[0].axes[0].get_legend().get_texts()]
    assert "region boundary (named)" in legend
    assert {f"P{i}" for i in range(1, 6)} <= _texts(figs[1])
