"""Candidate parks read species and land-cover amounts for their own units only, and their
numbers equal the dense computation over every unit's amounts (the earlier path)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer import problem
from optimizer.datasets import demo_grid
from optimizer.gap.tables import species_columns
from optimizer.grid.planning_units import PlanningUnits
from optimizer.outputs.plan_features import plan_features
from optimizer.plan.parks import candidate_parks


@pytest.fixture(scope="module")
def case():
    pu = demo_grid(20)
    p = problem(pu).add_max_utility_objective(budget_share=0.1).add_existing_protection()
    value = p.unit_values()
    x = (value >= np.quantile(value, 0.85)).astype(float)  # a plan: the best 15% of units
    x[p.existing_protection_mask()] = 1.0
    return p, x


def _dense(p, parks, key_share=0.1):
    """The park columns from features x units matrices of every unit (the earlier path)."""
    pu = p.pu
    feats = pu.features
    n = p.n_units
    free = 1.0 - p.protected_fraction
    park = parks.unit_park
    idx = np.flatnonzero(park > 0)
    k = int(park.max())
    member = sp.csr_matrix((np.ones(len(idx)), (park[idx] - 1, idx)), shape=(k, n))
    stock = p.feature_amounts(list(feats.index[feats["role"] == "carbon_stock"]))
    whole = p.feature_amounts(species_columns(pu, None))
    total = whole.sum(axis=1)
    species = whole * free
    gain = np.asarray(member @ species.T)
    plan_gain = species @ (np.asarray(parks.x) > 0.5).astype(float)
    shares = np.divide(gain, total, out=np.zeros_like(gain), where=total > 0)
    key = (gain > 0) & (gain >= key_share * plan_gain - 1e-9 * np.abs(plan_gain))
    lc_cols = list(feats.index[feats["role"] == "land_cover"])
    lc = np.asarray(member @ (p.feature_amounts(lc_cols) * free).T)
    labels = feats["label"] if "label" in feats else feats.index.to_series()
    return {"area_km2": member @ p.unprotected_km2,
            "carbon_stock_MgC": member @ (stock.sum(axis=0) * free),
            "biodiversity_value": shares.sum(axis=1) * 100.0,
            "species_in_range": (gain > 0).sum(axis=1),
            "key_species": key.sum(axis=1),
            "dominant_ecosystem": np.array([str(labels[lc_cols[c]]) for c in lc.argmax(axis=1)],
                                           dtype=object)}


@pytest.mark.parametrize("kwargs", [{}, {"connectivity": "queen"},
                                    {"min_km2": 1200.0, "refill": True}])
def test_park_numbers_equal_the_dense_computation_over_every_unit(case, kwargs):
    p, x = case
    parks = candidate_parks(p, x, **kwargs)
    assert len(parks.table) > 3
    table = parks.table.sort_values("park_id")
    for col, expected in _dense(p, parks).items():
        got = table[col].to_numpy()
        if got.dtype == object:
            assert got.tolist() == expected.tolist(), col
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=col)


def test_parks_and_export_features_never_read_every_units_species(case, monkeypatch):
    p, x = case
    pu = p.pu
    feats = pu.features
    per_unit = set(species_columns(pu, None)) | set(feats.index[feats["role"] == "land_cover"])
    asked: list[list[str]] = []
    real = PlanningUnits.amounts

    def amounts(self, columns=None):  # type: ignore[no-untyped-def]
        cols = list(self.features.index if columns is None else columns)
        asked.append(cols)
        return real(self, columns)

    monkeypatch.setattr(PlanningUnits, "amounts", amounts)
    parks = candidate_parks(p, x, min_km2=1200.0, refill=True)
    features = plan_features(p, parks, x)
    assert not [c for cols in asked for c in cols if c in per_unit]
    # ... and the export's sums still add up to the plan's.
    totals = features.totals()
    assert totals["new_km2"]["total"] == pytest.approx(float(p.unprotected_km2 @ parks.x))
