"""``add_locked_in`` / ``add_locked_out`` with ``shares=`` and ``min_share`` (issue 24 item 6):
the threshold's boundaries on shares worked out by hand, the plan against the locks, and the
mistakes as one-line errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import box_grid

from optimizer import problem, solve
from optimizer.errors import InputDataError
from optimizer.grid.overlay import PolygonShares, covered_shares
from optimizer.model.locks import DEFAULT_MIN_SHARE

#: 1.0, 0.6 and 0.25 of the three boxes of a 1 x 3 row (see tests/grid/test_overlay.py).
POLYGONS = [shapely.box(0, -1000, 1600, 0), shapely.box(2000, -250, 3000, 0)]


def shares_of(pu) -> PolygonShares:
    return PolygonShares(covered_shares(pu, gpd.GeoSeries(POLYGONS, crs="EPSG:6933")),
                         "concessions.gpkg")


@pytest.mark.parametrize(("min_share", "locked"), [
    (None, [0, 1]), (0.5, [0, 1]), (0.25, [0, 1, 2]), (0.2500009, [0, 1, 2]), (0.251, [0, 1]), (0.6, [0, 1]),
    (0.601, [0]), (1.0, [0]), (1e-9, [0, 1, 2]),
])
def test_a_unit_is_locked_from_min_share_of_its_area_inside(min_share, locked):
    pu = box_grid(1, 3, seed=0)
    p = problem(pu).add_locked_out(shares=shares_of(pu), min_share=min_share)
    assert p.locked_masks()[1].nonzero()[0].tolist() == locked
    cut = DEFAULT_MIN_SHARE if min_share is None else min_share
    assert p.locks[-1].label == f"concessions.gpkg covering >= {cut:.0%} of a unit"
    assert p.locks[-1].source == "concessions.gpkg"
    q = problem(pu).add_locked_in(shares=shares_of(pu).share, min_share=min_share, label="plan")
    assert q.locked_masks()[0].nonzero()[0].tolist() == locked
    assert (q.locks[-1].label, q.locks[-1].source) == ("plan", None)


def test_the_plan_keeps_out_what_the_polygons_lock_out_and_in_what_they_lock_in():
    pu = box_grid(2, 3, seed=2)
    base = problem(pu).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    free = solve(base, "highs", gap=0)
    best = np.flatnonzero(free.selected)
    share = np.zeros(6)
    share[best[0]] = 0.7  # the free plan's first unit mostly inside a concession
    locked = solve(base.add_locked_out(shares=share), "highs", gap=0)
    assert not locked.selected[best[0]] and locked.selected.sum() == 3
    assert locked.objective <= free.objective + 1e-9
    worst = int(np.argmin(pu.units["biomass"]))
    share = np.zeros(6)
    share[worst] = 1.0
    forced = solve(base.add_locked_in(shares=share), "highs", gap=0)
    assert forced.selected[worst]


def test_locked_in_and_out_by_polygons_on_one_unit_is_the_usual_message():
    pu = box_grid(1, 3, seed=0)
    p = (problem(pu).add_locked_in(ids=[100], label="reserve")
         .add_locked_out(shares=shares_of(pu)))
    with pytest.raises(InputDataError, match=r"^1 unit\(s\) are both locked in \(\['reserve'\]\) "
                                             r"and locked out \(\['concessions.gpkg covering >= "
                                             r"50% of a unit'\]\), e.g. pu_id \[100\]; remove one"):
        p.locked_masks()


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"shares": [0.5, 1.0]}, "add_locked_out: shares has shape (2,); expected (3,)"),
    ({"shares": [0.5, 1.5, 0]}, "add_locked_out: shares must be shares of each unit's area in "
                                "[0, 1]"),
    ({"shares": [0.5, np.nan, 0]}, "shares must be shares"),
    ({"shares": [0.5, 1, 0], "min_share": 0}, "add_locked_out: min_share must be in (0, 1]"),
    ({"shares": [0.5, 1, 0], "min_share": 1.2}, "min_share must be in (0, 1]"),
    ({"ids": [100], "min_share": 0.5}, "add_locked_out: min_share applies to shares="),
    ({"ids": [100], "shares": [0, 0, 0]}, "takes exactly one of column=, mask=, ids= or shares="),
])
def test_the_mistakes_are_one_line(kwargs, words):
    pu = box_grid(1, 3, seed=0)
    with pytest.raises(InputDataError) as exc:
        problem(pu).add_locked_out(**kwargs)
    assert words in str(exc.value) and "\n" not in str(exc.value)
