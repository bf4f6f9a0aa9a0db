"""Exact coverage fractions: the closed form for four-cornered polygons against exactextract."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely
from affine import Affine

from optimizer.grid.coverage import Window, _exactextract_coverage, coverage_matrix, quad_coverage

TRANSFORM = Affine(0.5, 0, 100.0, 0, -0.5, 50.0)  # 0.5 x 0.5 cells, north-up
WINDOW = Window(2, 3, 12, 14)  # rows 2..13, cols 3..16
CRS = pyproj.CRS("EPSG:4326")


def _random_quads(rng: np.random.Generator, n: int) -> np.ndarray:
    """Simple quadrilaterals (convex and not, both orientations), some across the window edge."""
    centre = rng.uniform([101.0, 42.0], [109.5, 49.5], size=(n, 2))
    angle = np.sort(rng.uniform(0, 2 * np.pi, size=(n, 4)), axis=1)  # star-shaped: simple
    radius = rng.uniform(0.05, 1.5, size=(n, 4))
    pts = centre[:, None, :] + radius[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)
    flip = rng.random(n) < 0.5
    pts[flip] = pts[flip, ::-1]
    valid = shapely.is_valid(shapely.polygons(np.concatenate([pts, pts[:, :1]], axis=1)))
    return pts[valid]


def test_quads_match_exactextract_and_cover_their_area():
    rng = np.random.default_rng(7)
    corners = _random_quads(rng, 400)
    n = len(corners)
    assert n > 300
    polys = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    ours = quad_coverage(corners, TRANSFORM, WINDOW)
    theirs = _exactextract_coverage(polys, CRS, TRANSFORM, WINDOW)
    assert ours.shape == theirs.shape == (n, WINDOW.size)
    # exactextract returns float32 fractions: agreement to its precision.
    assert abs(ours - theirs).max() < 1e-6
    # Independently: the covered area equals the polygon's area inside the window.
    x0, y1 = TRANSFORM * (WINDOW.col_off, WINDOW.row_off)
    x1, y0 = TRANSFORM * (WINDOW.col_off + WINDOW.width, WINDOW.row_off + WINDOW.height)
    inside = shapely.area(shapely.clip_by_rect(polys, x0, y0, x1, y1)) / 0.25
    np.testing.assert_allclose(np.asarray(ours.sum(axis=1)).ravel(), inside, rtol=1e-9, atol=1e-9)


def test_coverage_matrix_mixes_quads_and_other_polygons_in_order():
    rng = np.random.default_rng(3)
    corners = _random_quads(rng, 12)[:6]
    quads = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    others = shapely.buffer(shapely.points(rng.uniform([102, 43], [108, 48], size=(4, 2))), 0.7)
    geoms = np.array([quads[0], others[0], quads[1], others[1], others[2], quads[2], quads[3],
                      others[3], quads[4], quads[5]], dtype=object)
    mixed = coverage_matrix(geoms, CRS, TRANSFORM, WINDOW)
    reference = _exactextract_coverage(geoms, CRS, TRANSFORM, WINDOW)
    assert abs(mixed - reference).max() < 1e-6
    # A unit square cell over four half-covered raster cells, by hand.
    cell = shapely.box(104.25, 44.25, 104.75, 44.75)
    w = coverage_matrix(np.array([cell]), CRS, TRANSFORM, Window(0, 0, 20, 20)).toarray()[0]
    assert sorted(w[w > 0].round(12).tolist()) == [0.25, 0.25, 0.25, 0.25]
