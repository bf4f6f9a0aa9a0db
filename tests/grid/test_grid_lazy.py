"""Lazy grids: `read_grid` leaves the geometry (WKB) and the boundary table on disk until used.

The numeric paths (gap analysis, problem building, compile, solve, results) never decode
a polygon; the paths that use the shapes (parks, map layers, exports) do, and get the
same shapes as an eager read.
"""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from optimizer import read_grid, write_grid
from optimizer.datasets import tiny_grid
from optimizer.gap import gap_analysis, zones
from optimizer.gap.ranking import _top_flags, _weighted_quantile, _weighted_select
from optimizer.grid.lazy_geometry import LazyGeometryArray, WkbSource
from optimizer.model.compile import compile as compile_model
from optimizer.model.problem import problem
from optimizer.plan.results import feature_representation, objective_value, solve


@pytest.fixture(scope="module")
def demo_folder(demo_grid, tmp_path_factory):
    """The 20 km demo grid written once."""
    return write_grid(demo_grid, tmp_path_factory.mktemp("lazy") / "grid")


def _lazy(folder):
    pu = read_grid(folder)
    assert not pu.geometry_loaded and not pu.boundary_loaded
    return pu


# ---------------------------------------------------------------- lazy equals eager

def test_lazy_read_equals_eager_read_and_the_grid_written(demo_grid, demo_folder):
    lazy, eager = _lazy(demo_folder), read_grid(demo_folder, lazy=False)
    assert eager.geometry_loaded and eager.boundary_loaded
    assert list(lazy.units.columns) == list(eager.units.columns)
    assert (lazy.units.dtypes == eager.units.dtypes).all()
    assert lazy.units.crs == eager.units.crs and not lazy.geometry_loaded  # crs: no decode
    assert lazy.equals(eager) and lazy.equals(demo_grid)
    assert lazy.geometry_loaded and lazy.boundary_loaded  # equals compares the shapes


def test_lazy_columns_are_writable_numpy_blocks(demo_folder):
    pu = _lazy(demo_folder)
    assert len(pu.units._mgr.blocks) == pu.units.shape[1]  # one block a column: no 2-D copy
    pu.units.loc[0, "area_km2"] = 123.0  # an in-place write works (not a read-only view)
    pu.units["biomass"] *= 2
    assert pu.units.loc[0, "area_km2"] == 123.0 and not pu.geometry_loaded


def test_small_grid_round_trip_and_repr(tmp_path):
    ref = tiny_grid()
    pu = _lazy(write_grid(ref, tmp_path / "g"))
    text = repr(pu)
    assert "6 planning units" in text and "7 pairs of neighbours" in text
    assert not pu.geometry_loaded and not pu.boundary_loaded  # printing reads neither
    assert pu.n_boundary_pairs == 7 and pu.equals(ref)


# ---------------------------------------------------------------- numeric paths stay undecoded

def test_gap_tables_are_the_same_lazily_and_eagerly_and_decode_nothing(demo_folder):
    lazy, eager = _lazy(demo_folder), read_grid(demo_folder, lazy=False)
    a, b = gap_analysis(lazy), gap_analysis(eager)
    assert not lazy.geometry_loaded and not lazy.boundary_loaded
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)
    pd.testing.assert_frame_equal(a.units, b.units, check_exact=True)
    assert a.findings == b.findings
    assert not a.geometry.values.loaded  # the report keeps the undecoded column
    layer = a.map_layer()  # a map layer needs the shapes: now they are decoded
    assert bool(shapely.equals_exact(np.asarray(layer.geometry.values),
                                     np.asarray(b.map_layer().geometry.values), 0).all())
    assert lazy.geometry_loaded


@pytest.fixture(scope="module")
def coarse_folder(tmp_path_factory):
    """The demo country on 80 km cells (398 units), written once."""
    import warnings

    from optimizer.datasets import demo_grid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_grid(demo_grid(80), tmp_path_factory.mktemp("coarse") / "grid")


def test_problem_compile_solve_and_results_decode_nothing_parks_do(coarse_folder):
    from optimizer.plan.parks import candidate_parks

    pu = _lazy(coarse_folder)
    p = (problem(pu).add_max_utility_objective(budget_share=0.05).add_existing_protection()
         .add_boundary_penalty(1e-4))
    model = compile_model(p)
    assert model.A.shape[1] >= len(pu)
    sol = solve(p, "highs", time_limit=60)
    feature_representation(p, sol)
    objective_value(p, sol)
    assert pu.boundary_loaded and not pu.geometry_loaded
    parks = candidate_parks(p, sol.x)
    # Parks decode only the added units' geometry, never the whole grid's.
    assert len(parks.table) and not pu.geometry_loaded
    eager_pu = read_grid(coarse_folder, lazy=False)
    pe = (problem(eager_pu).add_max_utility_objective(budget_share=0.05).add_existing_protection()
          .add_boundary_penalty(1e-4))
    assert np.array_equal(compile_model(pe).c, model.c)
    eager_parks = candidate_parks(pe, sol.x)
    assert bool(np.all(shapely.equals_exact(np.asarray(parks.table.geometry.values),
                                            np.asarray(eager_parks.table.geometry.values),
                                            tolerance=0)))


def test_zones_and_units_subsets_decode_nothing(demo_folder):
    pu = _lazy(demo_folder)
    z = zones(pu)
    assert z.fractions.shape == (len(pu), len(z.names))
    sub = pu.units[pu.units["pa_fraction"] > 0.5]
    head, copied = pu.units.iloc[:3], pu.units.copy()
    assert not pu.geometry_loaded and not sub.geometry.values.loaded
    assert not copied.geometry.values.loaded and "POLYGON" in repr(head)
    eager = read_grid(demo_folder, lazy=False).units
    want = eager[eager["pa_fraction"] > 0.5].geometry.values
    assert bool(shapely.equals_exact(np.asarray(sub.geometry.values), np.asarray(want), 0).all())
    assert not pu.geometry_loaded  # a subset decodes its own rows only


# ---------------------------------------------------------------- the lazy array

def _boxes(n: int) -> pa.Array:
    return pa.array([shapely.box(i, 0, i + 1, 1 + i % 3).wkb for i in range(n)])


def test_lazy_array_take_mask_slice_concat_and_fill():
    arr = LazyGeometryArray.from_source(WkbSource(_boxes(6)), crs="EPSG:3035")
    ref = shapely.from_wkb(np.asarray(_boxes(6).to_pylist(), dtype=object))
    assert len(arr) == 6 and not arr.isna().any() and arr.nbytes == 48
    taken = arr.take([5, -1, 0])
    filled = arr.take([1, -1], allow_fill=True)
    masked = arr[np.array([True, False] * 3)]
    sliced = arr[1:4]
    view = arr[:]
    assert not any(a.loaded for a in (arr, taken, filled, masked, sliced, view))
    assert filled.isna().tolist() == [False, True]
    assert taken.area.tolist() == [float(shapely.area(g)) for g in ref[[5, 5, 0]]]
    assert shapely.equals_exact(np.asarray(masked), ref[::2], 0).all()
    assert shapely.equals_exact(np.asarray(sliced), ref[1:4], 0).all()
    assert np.asarray(filled)[1] is None
    assert not arr.loaded
    assert view.area.sum() == pytest.approx(shapely.area(ref).sum()) and arr.loaded  # shared
    both = type(arr)._concat_same_type([taken, masked])
    assert len(both) == 6 and both.crs.to_epsg() == 3035
    with pytest.raises(IndexError):
        LazyGeometryArray.from_source(WkbSource(_boxes(2))).take([5])


def test_lazy_array_pickles_and_deep_copies_without_decoding(demo_folder):
    pu = _lazy(demo_folder)
    back = pickle.loads(pickle.dumps(pu))
    assert not back.geometry_loaded and back.boundary_loaded  # the WKB travels, not the file
    deep = copy.deepcopy(pu.units)
    assert not deep.geometry.values.loaded and not pu.geometry_loaded
    assert back.equals(read_grid(demo_folder, lazy=False))


@pytest.mark.skipif(os.name == "nt", reason="open files cannot be removed on Windows")
def test_geometry_and_boundary_read_after_the_folder_is_replaced(tmp_path):
    import shutil

    ref = tiny_grid()
    folder = write_grid(ref, tmp_path / "g")
    pu = _lazy(folder)
    shutil.rmtree(folder)
    write_grid(tiny_grid(), folder, overwrite=True)  # another grid at the same place
    assert pu.equals(ref)


# ---------------------------------------------------------------- weighted selection

def _reference_quantile(v: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = min(int(np.searchsorted(cum, q * cum[-1])), v.size - 1)
    return float(v[order][k])


@pytest.mark.parametrize("seed", range(6))
def test_weighted_select_matches_the_sorted_cumulative_sum(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300_000))
    v = np.round(rng.normal(size=n), int(rng.integers(0, 4)))  # many ties
    w = rng.choice([0.0, 0.3, 1.0, 1.0, 1.0], size=n)  # zero and unequal weights
    for q in (0.0, 0.1, 2 / 3, 0.999, 1.0):
        assert _weighted_quantile(v, w, q) == _reference_quantile(v, w, q)
    flags, cutoff = _top_flags(v, w, 0.1)
    assert cutoff == -_reference_quantile(-v, w, 0.1 * (1 - 1e-12))
    assert np.array_equal(flags, v >= cutoff)


def test_weighted_select_edge_cases():
    assert _weighted_select(np.full(100_000, 2.5), np.ones(100_000), 10.0) == 2.5
    assert _weighted_select(np.arange(5.0), np.ones(5), 99.0) == 4.0  # beyond the total
    assert _weighted_quantile(np.array([np.nan, 1.0]), np.ones(2), 0.5) == 1.0
    assert np.isnan(_weighted_quantile(np.array([np.nan]), np.ones(1), 0.5))


def test_a_bad_boundary_file_is_refused_when_the_grid_opens(tmp_path):
    from optimizer.errors import InputDataError

    folder = write_grid(tiny_grid(), tmp_path / "g")
    pd.DataFrame({"a": [1]}).to_parquet(folder / "boundary.parquet")
    with pytest.raises(InputDataError, match=r"unreadable or incomplete.*lacks column.*rebuild"):
        read_grid(folder)
