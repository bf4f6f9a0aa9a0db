"""`optimizer.grid.overlay`: the share of each unit a polygon file covers (issue 24 item 6),
checked exactly on 1 km boxes against areas worked out by hand, in any CRS and format; the
file's mistakes as one-line errors naming the file and the fix."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import box_grid

from optimizer.errors import CRSError, CRSWarning, GeometryRepairWarning, InputDataError
from optimizer.grid.overlay import (
    PolygonShares,
    check_polygon_file,
    covered_shares,
    grid_key,
    polygon_shares,
)

#: On a 1 x 3 row of 1 km boxes (x from 0 to 3000 m, y from -1000 to 0): the first box whole,
#: 0.6 of the second (x up to 1600), the top quarter of the third (y above -250).
POLYGONS = [shapely.box(0, -1000, 1600, 0), shapely.box(2000, -250, 3000, 0)]
SHARES = [1.0, 0.6, 0.25]


def row_grid():
    return box_grid(1, 3, seed=0)


def write(path, geoms, crs="EPSG:6933", layer=None, **kw):
    gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(geoms))]}, geometry=list(geoms),
                     crs=crs).to_file(path, layer=layer, **kw)
    return path


def test_shares_of_hand_made_boxes_are_exact():
    got = covered_shares(row_grid(), gpd.GeoSeries(POLYGONS, crs="EPSG:6933"))
    np.testing.assert_allclose(got, SHARES, rtol=0, atol=1e-12)


def test_overlapping_polygons_count_once_and_holes_do_not_count():
    pu = row_grid()
    overlapping = [*POLYGONS, shapely.box(0, -1000, 1000, 0), shapely.box(500, -1000, 1200, 0)]
    np.testing.assert_allclose(covered_shares(pu, gpd.GeoSeries(overlapping, crs="EPSG:6933")),
                               SHARES, atol=1e-12)
    ring = shapely.Polygon([(0, -1000), (1000, -1000), (1000, 0), (0, 0)],
                           holes=[[(250, -750), (750, -750), (750, -250), (250, -250)]])
    np.testing.assert_allclose(covered_shares(pu, gpd.GeoSeries([ring], crs="EPSG:6933")),
                               [0.75, 0, 0], atol=1e-12)


def test_units_of_other_areas_and_no_polygon_near():
    pu = box_grid(2, 2, seed=0)  # a 2 x 2 block; a polygon over the lower right quarter only
    got = covered_shares(pu, gpd.GeoSeries([shapely.box(1500, -2000, 2000, -1500)],
                                           crs="EPSG:6933"))
    np.testing.assert_allclose(got, [0, 0, 0, 0.25], atol=1e-12)
    far = gpd.GeoSeries([shapely.box(1e6, 1e6, 1e6 + 10, 1e6 + 10)], crs="EPSG:6933")
    assert covered_shares(pu, far).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_a_file_in_another_crs_gives_the_same_shares(tmp_path, suffix):
    lonlat = gpd.GeoSeries(POLYGONS, crs="EPSG:6933").to_crs("EPSG:4326")
    path = write(tmp_path / f"concessions{suffix}", lonlat, crs="EPSG:4326")
    shares = polygon_shares(row_grid(), path)
    assert isinstance(shares, PolygonShares) and shares.source == str(path)
    np.testing.assert_allclose(shares.share, SHARES, atol=1e-9)


def test_a_layer_of_a_geopackage(tmp_path):
    path = write(tmp_path / "plans.gpkg", POLYGONS, layer="concessions")
    write(path, [shapely.box(0, -1000, 3000, 0)], layer="roads", mode="a")
    np.testing.assert_allclose(polygon_shares(row_grid(), path, layer="concessions").share,
                               SHARES, atol=1e-12)
    assert polygon_shares(row_grid(), path, layer="roads").share.tolist() == [1, 1, 1]
    with pytest.raises(InputDataError, match=r"holds 2 layers \['concessions', 'roads'\]; name "
                                             r"one with layer = "):
        check_polygon_file(path)
    with pytest.raises(InputDataError, match=r"no layer 'concesions'; its layers: \['concessions', "
                                             r"'roads'\]; did you mean 'concessions'\?"):
        check_polygon_file(path, layer="concesions")


def test_an_invalid_polygon_is_repaired_with_a_warning(tmp_path):
    # A bow tie over the first box: make_valid keeps its two triangles, half the box.
    bowtie = shapely.Polygon([(0, -1000), (1000, 0), (1000, -1000), (0, 0)])
    assert not bowtie.is_valid
    path = write(tmp_path / "bowtie.gpkg", [bowtie])
    with pytest.warns(GeometryRepairWarning):
        got = polygon_shares(row_grid(), path).share
    np.testing.assert_allclose(got, [0.5, 0, 0], atol=1e-12)


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_the_files_mistakes_are_one_line(tmp_path):
    with pytest.raises(InputDataError) as exc:
        check_polygon_file(tmp_path / "missing.gpkg")
    assert "missing.gpkg: file not found; check the path" in one_line(exc)
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(InputDataError) as exc:
        check_polygon_file(tmp_path / "junk.gpkg")
    assert "cannot be read as a vector file" in one_line(exc)
    with pytest.raises(InputDataError) as exc:
        check_polygon_file(tmp_path)
    assert "is a folder; give the polygon file" in one_line(exc)
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:6933").to_file(empty)
    with pytest.raises(InputDataError) as exc:
        check_polygon_file(empty)
    assert "holds no features" in one_line(exc)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        nocrs = write(tmp_path / "nocrs.shp", POLYGONS, crs=None)  # a Shapefile without .prj
    with pytest.raises(CRSError) as exc:
        polygon_shares(row_grid(), nocrs)
    assert one_line(exc).startswith(f"{nocrs}: has no CRS") and "ogr2ogr -a_srs" in str(exc.value)
    # GeoJSON is lon/lat by definition: metres written into one are named as such.
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        metres = write(tmp_path / "metres.geojson", POLYGONS, crs=None)
    with pytest.raises(CRSError) as exc:
        polygon_shares(row_grid(), metres)
    assert "the coordinates look projected" in one_line(exc)
    points = write(tmp_path / "points.gpkg", [shapely.Point(500, -500)])
    with pytest.raises(InputDataError) as exc:
        polygon_shares(row_grid(), points)
    assert "no polygon features" in one_line(exc)


def test_units_without_geometry_are_refused_in_one_line():
    from optimizer import planning_units_from_arrays

    pu = planning_units_from_arrays([1, 2], {"c": [1.0, 2.0]}, area_km2=[1.0, 1.0])
    with pytest.raises(InputDataError) as exc:
        covered_shares(pu, gpd.GeoSeries(POLYGONS, crs="EPSG:6933"))
    assert "have no geometry" in one_line(exc)


def test_the_grid_key_follows_the_units():
    a, b = row_grid(), row_grid()
    assert grid_key(a) == grid_key(b)
    shifted = box_grid(1, 3, seed=0)
    shifted.units = shifted.units.set_geometry(shifted.units.geometry.translate(5000, 0))
    assert grid_key(shifted) != grid_key(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(grid_key(box_grid(3, 3, seed=1))) == 64


def test_polygons_that_cover_no_unit_warn_of_the_crs(tmp_path):
    # Coordinates of another place entirely (a file in the wrong CRS) cover nothing.
    path = write(tmp_path / "elsewhere.gpkg", [shapely.box(5e6, 5e6, 5.1e6, 5.1e6)])
    with pytest.warns(CRSWarning, match=r"elsewhere.gpkg: its polygons cover no unit of the "
                                        r"grid, so the lock locks nothing; check that the "
                                        r"file's CRS"):
        assert polygon_shares(row_grid(), path).share.tolist() == [0, 0, 0]


def test_crossing_corridors_match_geopandas_overlay():
    # Overlapping buffered lines over 900 boxes: units wholly inside (counted whole, no
    # intersection) and cut ones, against geopandas' overlay of the units with the union.
    pu = box_grid(30, 30, seed=0, n_species=1)
    rng = np.random.default_rng(1)
    lines = [shapely.LineString(rng.uniform([0, -30000], [30000, 0], (6, 2))).buffer(1500)
             for _ in range(6)]
    got = covered_shares(pu, gpd.GeoSeries(lines, crs="EPSG:6933"))
    units = gpd.GeoDataFrame({"i": np.arange(len(pu))}, geometry=pu.units.geometry.values,
                             crs="EPSG:6933")
    union = gpd.GeoDataFrame(geometry=[shapely.union_all(lines)], crs="EPSG:6933")
    pieces = gpd.overlay(units, union, how="intersection")
    want = np.zeros(len(pu))
    np.add.at(want, pieces["i"].to_numpy(), pieces.area.to_numpy())
    want /= units.area.to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert (got == 1).sum() > 50 and ((got > 0) & (got < 1)).sum() > 50
