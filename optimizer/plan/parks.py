"""Candidate carbon parks: the connected groups of units a plan adds, with what each holds.

Planners act on candidate parks, not on grid cells. `candidate_parks` turns a plan (0/1
per unit) into parks: the connected components of the units the plan *adds* (status
``added`` of `optimizer.outputs.solve_folder.unit_status`; units locked in as existing protection
are the network the parks extend, not parks), by rook (shared edge, ``pu.boundary``) or
queen adjacency (corners too: from ``row``/``col`` on square grids, from touching
geometries otherwise). Each park is dissolved into one (Multi)Polygon and described by
the columns of `PARK_COLUMNS` (the data dictionary the exports and the report use).
Amounts count the unprotected part ``(1 - pa_fraction) x amount`` of each unit, as the
plan summary does.

Parks smaller than ``min_km2`` are dropped (`Parks.dropped` keeps what they held); with
``refill=True`` the area they freed is refilled greedily with the best free units next
to the kept parks (value per km2), within every area budget of the problem and never
with a locked-out unit.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from optimizer.errors import InputDataError
from optimizer.gap.ranking import TYPES, synergy_typology
from optimizer.gap.tables import species_columns
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, Zones
from optimizer.inputs.units import CO2_PER_C
from optimizer.model.compile import budget_coefficients
from optimizer.model.costs import cost_budget_coefficients
from optimizer.solvers.base import Solution

if TYPE_CHECKING:
    import geopandas as gpd

    from optimizer.model.problem import Problem

__all__ = ["PARK_COLUMNS", "SLIVER_SHARE", "Parks", "candidate_parks"]

#: Column -> (unit, meaning): the data dictionary every export and the report use.
PARK_COLUMNS: dict[str, tuple[str, str]] = {
    "park_id": ("", "park number; equal to rank (1 = best) for kept parks, numbers after the "
                    "kept ones for dropped parks"),
    "n_units": ("units", "planning units in the park"),
    "area_km2": ("km²", "new protected area: the unprotected part (1 - pa_fraction) x area of "
                        "the park's units"),
    "carbon_stock_MgC": ("MgC", "carbon stock newly protected, all carbon_stock layers summed"),
    "carbon_stock_tCO2e": ("tCO2e", "carbon_stock_MgC x 44.0095/12.0107"),
    "carbon_uptake_MgC_per_yr": ("MgC/yr", "carbon uptake newly protected: the latest year of "
                                           "each carbon_uptake layer, layers summed"),
    "emissions_tCO2_per_yr": ("tCO2/yr", "CO2 emissions in the new area: the latest year of "
                                         "each emissions layer, layers summed"),
    "biodiversity_value": ("%", "sum over species (biodiversity range layers, not richness) of "
                                "the share of the species' national total the park newly "
                                "protects, in %"),
    "species_in_range": ("species", "species with part of their range in the park's new area"),
    "key_species": ("species", "species for which the park supplies at least key_share (default "
                               "10%) of the whole plan's gain (new amount of all selected units)"),
    "key_species_names": ("", "the key species' names, '; '-joined"),
    "dominant_ecosystem": ("", "land-cover class covering most of the park's new area"),
    "ecosystem_mix": ("", "land-cover classes' shares of the park's new area, largest first "
                          "(classes under 1% left out)"),
    "regions": ("", "regions of the park's units, largest new area first, '; '-joined"),
    "typology": ("", "synergy type (optimizer.gap.ranking.TYPES) of most of the park's new area: "
                     "the gap analysis's per-unit classes (synergy_typology, upper tercile); "
                     "a tie goes to the type listed first in TYPES"),
    "extends": ("", "existing protected areas the park touches or overlaps, or that cover the "
                    "existing units next to it; names '; '-joined, '' if none"),
    "is_extension": ("", "True when the park borders a unit of the existing network (locked in "
                         "as protected) or touches a protected-area polygon"),
    "polsby_popper": ("", "compactness 4*pi*A/P^2 of the dissolved polygon: 1 a disc, "
                          "pi/4 a square"),
    "value_per_km2": ("1/km²", "the plan's value of the park (the problem's unit values: "
                               "weighted shares of national totals; for problems without a "
                               "max-utility objective, the target features' shares, else the "
                               "carbon stock's share) per km² of new area"),
    "rank": ("", "1 = the park bringing the most value (value_per_km2 x area_km2); ties by "
                 "area"),
    "sliver": ("", "True when the park's new area is under SLIVER_SHARE (half) of the median "
                   "planning unit's area: a single edge cell clipped by the border, or the "
                   "unprotected rest of a mostly protected unit; a sliver is a fragment, not a "
                   "park to designate on its own"),
    "geometry": ("", "the park's units dissolved (grid CRS)"),
}

_TOL = 1e-9

#: A park with less new area than this share of the median planning unit's area is a
#: sliver (`PARK_COLUMNS["sliver"]`).
SLIVER_SHARE = 0.5


@dataclass
class Parks:
    """Candidate parks of a plan (see `candidate_parks`).

    Attributes
    ----------
    table : geopandas.GeoDataFrame
        One row per kept park, sorted by rank (1 = best), columns of `PARK_COLUMNS`,
        in the grid CRS.
    unit_park : numpy.ndarray
        Park id of each planning unit (``pu.units`` row order), 0 = in no park.
    dropped : pandas.DataFrame
        Parks dropped as smaller than ``min_km2``: same columns without geometry, as they
        were in the plan given.
    refilled : numpy.ndarray
        Indices of the units added by the refill (empty when none).
    x : numpy.ndarray
        The plan after drop and refill, 0/1 per unit.
    connectivity : str
        ``"rook"`` or ``"queen"``.
    min_km2 : float
        The minimum park size applied.
    sliver_km2 : float
        Parks with less new area are flagged ``sliver`` (`SLIVER_SHARE` of the median
        planning unit's area).
    """

    table: gpd.GeoDataFrame
    unit_park: np.ndarray
    dropped: pd.DataFrame
    refilled: np.ndarray
    x: np.ndarray
    connectivity: str
    min_km2: float
    sliver_km2: float = 0.0

    def summary(self) -> str:
        """A few lines: parks, new km², what was dropped and what it held, the refill.

        Examples
        --------
        >>> from optimizer import problem
        >>> from optimizer.datasets import tiny_grid
        >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
        >>> print(candidate_parks(p, [1, 0, 1, 1, 1, 0], min_km2=1.5).summary())
        1 candidate park (rook adjacency), 2 km² new: 140 MgC (513 tCO2e).
        Dropped 1 park under 1.5 km²: 1 km², 10 MgC, 1 species in range (most in one park).
        """
        t = self.table
        n = len(t)
        km2 = float(t["area_km2"].sum())
        mgc = float(t["carbon_stock_MgC"].sum())
        lines = [f"{n} candidate park{'s' if n != 1 else ''} ({self.connectivity} adjacency), "
                 f"{_num(km2)} km² new: {_num(mgc)} MgC ({_num(mgc * CO2_PER_C)} tCO2e)."]
        if len(self.dropped):
            d = self.dropped
            nd = len(d)
            lines.append(
                f"Dropped {nd} park{'s' if nd != 1 else ''} under {self.min_km2:g} km²: "
                f"{_num(float(d['area_km2'].sum()))} km², "
                f"{_num(float(d['carbon_stock_MgC'].sum()))} MgC, "
                f"{int(d['species_in_range'].max())} species in range (most in one park).")
        if len(self.refilled):
            lines.append(f"Refilled {len(self.refilled)} unit(s) next to the kept parks.")
        slivers = t["sliver"].to_numpy(dtype=bool) if "sliver" in t else np.zeros(n, dtype=bool)
        if slivers.any():
            ns = int(slivers.sum())
            lines.append(f"{ns} of them {'are slivers' if ns != 1 else 'is a sliver'} (under "
                         f"{_num(self.sliver_km2)} km² new: an edge cell or the rest of a "
                         f"mostly protected unit), flagged in the sliver column: "
                         f"{_num(float(t.loc[slivers, 'area_km2'].sum()))} km².")
        return "\n".join(lines)


def _num(v: float) -> str:
    """A readable number: thousands separated, three significant digits below 1000."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


# ============================================================== per-unit context

@dataclass
class _Context:
    """What does not change with the plan: per-unit areas, values, adjacency, and which
    amount columns each park column sums. Species and land-cover amounts are not held for
    every unit: `_unprotected` reads them for the units a park table needs (the added
    and the selected units), one column at a time."""

    problem: Problem
    free: np.ndarray  # 1 - pa_fraction
    new_km2: np.ndarray
    stock_cols: list[str]  # carbon stock layers, summed
    uptake_cols: list[str]  # the latest year of each carbon uptake layer
    emissions_cols: list[str]
    species_cols: list[str]
    species_total: np.ndarray  # national totals (whole units)
    species_names: np.ndarray
    lc_cols: list[str]
    lc_names: np.ndarray
    types: np.ndarray  # int8, synergy type per unit (an index into TYPES)
    value: np.ndarray  # the plan's value of each unit (unprotected part)
    adj: sp.csr_matrix  # symmetric unit adjacency
    square: bool


def _latest_columns(features: pd.DataFrame, role: str) -> list[str]:
    """Each layer of ``role``: its latest year's column (or its only column)."""
    feats = features[features["role"] == role]
    out: list[str] = []
    for _, group in feats.groupby("layer", sort=False):
        years = group["year"]
        out.append(str(years.astype("Float64").idxmax()) if years.notna().any()
                   else str(group.index[0]))
    return out


def _column(problem: Problem, col: str) -> np.ndarray:
    """One amount column of every unit as float64, without a copy when it is float64
    already (NaN kept: callers take the units they need, then read NaN as 0)."""
    return problem.pu.units[col].to_numpy(dtype=np.float64)


def _unprotected(ctx: _Context, col: str, idx: np.ndarray) -> np.ndarray:
    """The amounts of column ``col`` (NaN read as 0) times ``1 - pa_fraction`` for the
    units ``idx`` (never the features x units matrix)."""
    return np.nan_to_num(_column(ctx.problem, col)[idx], nan=0.0) * ctx.free[idx]


def _summed(ctx: _Context, cols: list[str], idx: np.ndarray) -> np.ndarray:
    """The amounts of ``cols`` summed (NaN read as 0), times ``1 - pa_fraction``, for
    the units ``idx`` (the sum in column order, as ``feature_amounts(cols).sum(axis=0)``)."""
    if not cols:
        return np.zeros(len(idx))
    total = np.nan_to_num(_column(ctx.problem, cols[0])[idx], nan=0.0)
    for col in cols[1:]:
        total += np.nan_to_num(_column(ctx.problem, col)[idx], nan=0.0)
    return total * ctx.free[idx]


def _context(problem: Problem, connectivity: str) -> _Context:
    pu = problem.pu
    feats = pu.features
    free = 1.0 - problem.protected_fraction
    stock_cols = list(feats.index[feats["role"] == "carbon_stock"])
    species_cols = species_columns(pu, None)
    # National totals, a column at a time (each the sum of the contiguous column).
    species_total = np.array([np.nan_to_num(_column(problem, c), nan=0.0).sum()
                              for c in species_cols], dtype=np.float64)
    lc_cols = list(feats.index[feats["role"] == "land_cover"])
    labels = feats["label"] if "label" in feats else pd.Series(feats.index, index=feats.index)
    return _Context(
        problem=problem, free=free, new_km2=problem.unprotected_km2,
        stock_cols=stock_cols, uptake_cols=_latest_columns(feats, "carbon_uptake"),
        emissions_cols=_latest_columns(feats, "emissions"),
        species_cols=species_cols, species_total=species_total,
        species_names=np.array([str(labels.get(c, c)) for c in species_cols], dtype=object),
        lc_cols=lc_cols,
        lc_names=np.array([str(labels.get(c, c)) for c in lc_cols], dtype=object),
        types=_unit_types(problem), value=_unit_value(problem, stock_cols),
        adj=_adjacency(problem, connectivity), square={"row", "col"} <= set(pu.units.columns),
    )


def _regions_of(problem: Problem, idx: np.ndarray) -> np.ndarray:
    """The region of the units ``idx`` as str objects ('' for none)."""
    region = problem.pu.units["region"].iloc[idx].to_numpy(dtype=object)
    return np.where(pd.isna(region), "", region).astype(str).astype(object)


def _added(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Units the plan adds: selected and not locked in (``unit_status == "added"``)."""
    locked_in, _ = problem.locked_masks()
    return (np.asarray(x) > 0.5) & ~locked_in


def _unit_types(problem: Problem) -> np.ndarray:
    """Synergy type of each unit (the gap analysis's classes) as an index into `TYPES`
    (int8; ``no_data`` without inputs): no Python string per unit."""

    # The types do not depend on the zones; these need no protected layer in the grid's
    # metadata (grids from arrays, Marxan projects have only pa_fraction).
    pa = problem.protected_fraction
    no_data = TYPES.index("no_data")
    zones_ = Zones((WHOLE, PROTECTED, UNPROTECTED), ("whole", "protected", "unprotected"),
                   np.column_stack([np.ones_like(pa), pa, 1.0 - pa]), ())
    try:
        _, types = synergy_typology(problem.pu, zones_=zones_)
    except InputDataError:  # no carbon stock or no biodiversity layer
        return np.full(problem.n_units, no_data, dtype=np.int8)
    codes = np.full(problem.n_units, no_data, dtype=np.int8)
    for k, name in enumerate(TYPES):  # one vectorised comparison per type (Arrow strings)
        codes[(types == name).to_numpy(dtype=bool, na_value=False)] = k
    return codes


def _unit_value(problem: Problem, stock_cols: list[str]) -> np.ndarray:
    """The plan's value of each unit: see ``PARK_COLUMNS["value_per_km2"]``."""
    if problem.utility_weights():
        return problem.unit_values()
    cols = problem.target_features() or stock_cols
    if not cols:
        return np.zeros(problem.n_units)
    amounts = problem.feature_amounts(cols)
    totals = amounts.sum(axis=1, keepdims=True)
    shares = np.divide(amounts, totals, out=np.zeros_like(amounts), where=totals > 0)
    return shares.sum(axis=0) * (1.0 - problem.protected_fraction)


def _boundary_pairs(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """The boundary's pairs of distinct units with a shared edge, as positions (int32)."""
    pu = problem.pu
    n = problem.n_units
    ids = pu.units["pu_id"].to_numpy()
    b = pu.boundary
    if (ids.dtype.kind in "iu" and n and int(ids[0]) == 0 and int(ids[-1]) == n - 1
            and bool((np.diff(ids) == 1).all())):
        # Ids are the positions (every grid carbonpark builds): no index of the ids.
        i, j = b["id1"].to_numpy(), b["id2"].to_numpy()
        length = b["length_km"].to_numpy()
        ok = (i >= 0) & (i < n) & (j >= 0) & (j < n)
    else:
        i, j, length = pu.boundary_indices()
        ok = (i >= 0) & (j >= 0)
    ok &= (i != j) & (length > 0)
    return i[ok].astype(np.int32), j[ok].astype(np.int32)


def _adjacency(problem: Problem, connectivity: str) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency of all units: rook (shared edges), queen (corners too)."""
    pu = problem.pu
    n = problem.n_units
    i, j = _boundary_pairs(problem)
    firsts, seconds = [i], [j]
    if connectivity == "queen":
        u = pu.units
        if {"row", "col"} <= set(u.columns):
            row = u["row"].to_numpy(dtype=np.int64)
            col = u["col"].to_numpy(dtype=np.int64)
            width = int(col.max()) + 3
            key = (row + 1) * width + (col + 1)
            order = np.argsort(key)
            sorted_key = key[order]
            for dr, dc in ((1, 1), (1, -1), (0, 1), (1, 0)):
                want = key + dr * width + dc
                at = np.clip(np.searchsorted(sorted_key, want), 0, n - 1)
                hit = sorted_key[at] == want
                firsts.append(np.flatnonzero(hit).astype(np.int32))
                seconds.append(order[at[hit]].astype(np.int32))
        else:
            geoms = np.asarray(u.geometry.values)
            if shapely.is_missing(geoms).any():
                raise InputDataError("connectivity='queen' needs unit geometries (or row/col); "
                                     "these units have none; use connectivity='rook'")
            a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
            keep = a < b
            firsts.append(a[keep].astype(np.int32))
            seconds.append(b[keep].astype(np.int32))
    # Both directions, int32 positions: no (pairs x 2) int64 copies.
    rows = np.concatenate([*firsts, *seconds])
    cols = np.concatenate([*seconds, *firsts])
    del firsts, seconds
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    m.data[:] = 1
    return m


# ============================================================== parks of a plan

def _components(ctx: _Context, added: np.ndarray) -> tuple[np.ndarray, int]:
    """Component label (0..k-1) of each unit in ``added`` (-1 elsewhere), and k."""
    idx = np.flatnonzero(added)
    labels = np.full(len(added), -1, dtype=np.int64)
    if not len(idx):
        return labels, 0
    sub = ctx.adj[idx][:, idx]
    k, lab = connected_components(sub, directed=False)
    labels[idx] = lab
    return labels, int(k)


def _join(names: np.ndarray, mask: np.ndarray) -> list[str]:
    """Per row of ``mask`` (parks x items), the '; '-joined names of its True items."""
    return ["; ".join(names[row]) for row in mask]


def _park_table(ctx: _Context, x: np.ndarray, labels: np.ndarray, k: int,
                key_share: float) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The park table (park order = label order, before ranking) and each park's value."""
    import geopandas as gpd

    pu = ctx.problem.pu
    idx = np.flatnonzero(labels >= 0)
    lab = labels[idx]
    member = sp.csr_matrix((np.ones(len(idx)), (lab, idx)), shape=(k, len(labels)))
    area = member @ ctx.new_km2
    value = member @ ctx.value

    sub = sp.csr_matrix((np.ones(len(idx)), (lab, np.arange(len(idx)))), shape=(k, len(idx)))

    def by_park(cols: list[str]) -> np.ndarray:
        """Parks x ``cols``: each column's unprotected amounts summed by park, a column at
        a time (the units ``idx`` only)."""
        out = np.zeros((k, len(cols)))
        for j, col in enumerate(cols):
            out[:, j] = sub @ _unprotected(ctx, col, idx)
        return out

    stock = sub @ _summed(ctx, ctx.stock_cols, idx)

    # Species: the park's new amount against the national total and the plan's gain
    # (amounts read for the parks' units and the plan's selected units only).
    gain = by_park(ctx.species_cols)
    chosen = np.flatnonzero(np.asarray(x) > 0.5)
    plan_gain = np.array([_unprotected(ctx, col, chosen).sum() for col in ctx.species_cols],
                         dtype=np.float64)
    shares = np.divide(gain, ctx.species_total, out=np.zeros_like(gain),
                       where=ctx.species_total > 0)
    key = (gain > 0) & (gain >= key_share * plan_gain - _TOL * np.abs(plan_gain))

    # Ecosystems: largest land-cover class and the mix of shares >= 1%.
    lc = by_park(ctx.lc_cols)
    lc_sum = lc.sum(axis=1, keepdims=True)
    lc_share = np.divide(lc, lc_sum, out=np.zeros_like(lc), where=lc_sum > 0)
    dominant = np.where(lc_sum[:, 0] > 0, ctx.lc_names[lc.argmax(axis=1)] if lc.shape[1] else "",
                        "") if k else np.zeros(0, dtype=object)
    order = np.argsort(-lc_share, axis=1, kind="stable")
    mix = []
    for p in range(k):
        parts = [f"{ctx.lc_names[c]} {lc_share[p, c] * 100:.0f}%" for c in order[p]
                 if lc_share[p, c] >= 0.01]
        mix.append(", ".join(parts))

    # Regions (largest new area first) and typology (type of most of the new area).
    units = pd.DataFrame({"park": lab, "region": _regions_of(ctx.problem, idx),
                          "type": np.asarray(TYPES, dtype=object)[ctx.types[idx]],
                          "km2": ctx.new_km2[idx]})
    reg = (units[units["region"] != ""].groupby(["park", "region"], sort=False)["km2"].sum()
           .reset_index().sort_values(["park", "km2", "region"], ascending=[True, False, True]))
    regions = reg.groupby("park")["region"].agg("; ".join).reindex(range(k), fill_value="")
    units["order"] = units["type"].map({t: i for i, t in enumerate(TYPES)}).fillna(len(TYPES))
    typ = (units.groupby(["park", "type", "order"], sort=False)["km2"].sum().reset_index()
           .sort_values(["park", "km2", "order"], ascending=[True, False, True])
           .drop_duplicates("park").set_index("park")["type"].reindex(range(k), fill_value="no_data"))

    # Only the added units' geometries are decoded (a lazily read grid keeps the rest as WKB).
    geoms = _dissolve(np.asarray(pu.units.geometry.values[idx]), lab, k, ctx.square)
    extends, is_ext = _extensions(ctx, labels, k, geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        pp = np.clip(4 * math.pi * shapely.area(geoms) / shapely.length(geoms) ** 2, 0, 1)
    table = pd.DataFrame({
        "park_id": np.zeros(k, dtype=np.int64),
        "n_units": np.bincount(lab, minlength=k).astype(np.int64),
        "area_km2": area,
        "carbon_stock_MgC": stock,
        "carbon_stock_tCO2e": stock * CO2_PER_C,
        "carbon_uptake_MgC_per_yr": sub @ _summed(ctx, ctx.uptake_cols, idx),
        "emissions_tCO2_per_yr": sub @ _summed(ctx, ctx.emissions_cols, idx),
        "biodiversity_value": shares.sum(axis=1) * 100.0,
        "species_in_range": (gain > 0).sum(axis=1).astype(np.int64),
        "key_species": key.sum(axis=1).astype(np.int64),
        "key_species_names": _join(ctx.species_names, key),
        "dominant_ecosystem": np.asarray(dominant, dtype=object),
        "ecosystem_mix": mix,
        "regions": regions.to_numpy(dtype=object),
        "typology": typ.to_numpy(dtype=object),
        "extends": extends,
        "is_extension": is_ext,
        "polsby_popper": np.nan_to_num(pp),
        "value_per_km2": np.divide(value, area, out=np.zeros(k), where=area > 0),
        "rank": np.zeros(k, dtype=np.int64),
        "sliver": area < _sliver_km2(ctx.problem) - _TOL,
    })
    return gpd.GeoDataFrame(table, geometry=geoms, crs=pu.units.crs), value


def _sliver_km2(problem: Problem) -> float:
    """The new area under which a park is a sliver (`SLIVER_SHARE` of the median unit)."""
    area = problem.area_km2
    return SLIVER_SHARE * float(np.median(area)) if len(area) else 0.0


def _dissolve(geoms: np.ndarray, lab: np.ndarray, k: int, square: bool) -> np.ndarray:
    """One dissolved geometry per park (a loop over parks, not units); ``geoms[i]`` is the
    geometry of the unit in park ``lab[i]``."""
    if not k:
        return np.zeros(0, dtype=object)
    order = np.argsort(lab, kind="stable")
    groups = np.split(geoms[order], np.cumsum(np.bincount(lab, minlength=k))[:-1])
    # Square cells form an exact coverage (shared edges are identical): the fast union.
    union = shapely.coverage_union_all if square else shapely.union_all
    return np.array([union(g) for g in groups], dtype=object)


def _extensions(ctx: _Context, labels: np.ndarray, k: int,
                geoms: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Per park: names of the protected areas it extends, and whether it is an extension."""
    existing = ctx.problem.existing_protection_mask()
    rows = np.flatnonzero(labels >= 0)  # the parks' units' rows of the adjacency only
    sub = ctx.adj[rows].tocoo()
    hit = existing[sub.col]
    park_of_edge, existing_unit = labels[rows[sub.row[hit]]], sub.col[hit]
    is_ext = np.zeros(k, dtype=bool)
    is_ext[park_of_edge] = True
    areas = ctx.problem.pu.protected_areas
    if areas is None or not len(areas) or not k:
        return [""] * k, is_ext
    pa_geoms = np.asarray(areas.geometry.values)
    tree = shapely.STRtree(pa_geoms)
    park_i, pa_i = tree.query(geoms, predicate="intersects")
    is_ext[park_i] = True
    # Areas covering the existing units next to a park (with positive overlap).
    ex_units = np.unique(existing_unit)
    unit_geoms = np.asarray(ctx.problem.pu.units.geometry.values[ex_units])
    u_i, a_i = tree.query(unit_geoms, predicate="intersects")
    pos = shapely.area(shapely.intersection(unit_geoms[u_i], pa_geoms[a_i])) > 0
    unit_areas = pd.DataFrame({"unit": ex_units[u_i[pos]], "area": a_i[pos]})
    edges = pd.DataFrame({"park": park_of_edge, "unit": existing_unit}).drop_duplicates()
    via_units = edges.merge(unit_areas, on="unit")[["park", "area"]]
    pairs = pd.concat([pd.DataFrame({"park": park_i, "area": pa_i}), via_units]).drop_duplicates()
    names = areas["name"].astype(str).to_numpy(dtype=object)
    pairs["name"] = names[pairs["area"].to_numpy()]
    joined = (pairs.drop_duplicates(["park", "name"]).sort_values(["park", "name"])
              .groupby("park")["name"].agg("; ".join).reindex(range(k), fill_value=""))
    return joined.tolist(), is_ext


def _ranked(table: gpd.GeoDataFrame, value: np.ndarray, first_id: int = 1
            ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The table sorted by rank (value, then area, descending) and each label's park id."""
    order = np.lexsort((-table["area_km2"].to_numpy(), -value))
    ids = np.empty(len(table), dtype=np.int64)
    ids[order] = np.arange(first_id, first_id + len(table))
    out = table.iloc[order].reset_index(drop=True)
    out["park_id"] = ids[order]
    out["rank"] = np.arange(1, len(table) + 1)
    return out, ids


# ============================================================== refill

def _refill(ctx: _Context, x: np.ndarray, in_parks: np.ndarray, cap_km2: float) -> np.ndarray:
    """Greedy refill: the best free units (value per km²) next to ``in_parks`` while every
    area and cost budget (and ``cap_km2`` on new area) holds; returns the units added."""

    p = ctx.problem
    locked_in, locked_out = p.locked_masks()
    free_unit = ~locked_in & ~(np.asarray(x) > 0.5) & ~locked_out  # unit_status "free"
    rows = [ctx.new_km2]
    room = [cap_km2 - float(ctx.new_km2 @ x)]
    for b in p.budgets:
        if np.isfinite(b.max_km2):
            coef = budget_coefficients(p, b.scope, b.name, ctx.free)
            rows.append(coef)
            room.append(b.max_km2 - float(coef @ x))
    for cb in p.cost_budgets:  # and every cost budget, in its own measure
        coef = cost_budget_coefficients(p, cb)
        rows.append(coef)
        room.append(cb.max_cost - float(coef @ x))
    coefs = np.vstack(rows)
    left = np.array(room)
    per_km2 = np.divide(ctx.value, ctx.new_km2, out=np.zeros(p.n_units), where=ctx.new_km2 > 0)
    eligible = free_unit & (ctx.value > 0) & (ctx.new_km2 > 0)
    queued = np.zeros(p.n_units, dtype=bool)
    heap: list[tuple[float, int]] = []

    def push(units: np.ndarray) -> None:
        units = units[eligible[units] & ~queued[units]]
        queued[units] = True
        for u in units:
            heapq.heappush(heap, (-per_km2[u], int(u)))

    indptr, indices = ctx.adj.indptr, ctx.adj.indices
    start = np.flatnonzero(in_parks)
    push(np.unique(ctx.adj[start].indices) if len(start) else np.zeros(0, dtype=np.int64))
    added: list[int] = []
    while heap and (left > _TOL).all():
        _, u = heapq.heappop(heap)
        if (coefs[:, u] > left + _TOL).any():
            continue
        left -= coefs[:, u]
        added.append(u)
        push(indices[indptr[u]:indptr[u + 1]])
    return np.array(sorted(added), dtype=np.int64)


# ============================================================== public

def candidate_parks(problem: Problem, x: Any, *, connectivity: str = "rook",
                    min_km2: float = 0.0, refill: bool = False,
                    key_share: float = 0.10) -> Parks:
    """Candidate parks of a plan: connected groups of added units, dissolved and described.

    Parameters
    ----------
    problem : Problem
        The problem the plan solves (its grid, locks, budgets and values).
    x : array-like or Solution
        The plan: 0/1 per unit (``pu.units`` order), or a `Solution`.
    connectivity : {"rook", "queen"}
        Units join a park across a shared edge (rook) or also a shared corner (queen).
    min_km2 : float
        Parks with less new area are dropped from the plan (listed in `Parks.dropped`).
    refill : bool
        Refill the area dropped parks freed: greedily, the free unit with the highest
        value per km² next to a kept park (or to a unit just added), while the total
        budget (without one: the plan's own new area), every other area budget's maximum
        and the locks hold. Parks are then recomputed.
    key_share : float
        A park's key species are those it supplies at least this share of the whole
        plan's gain for (0 < key_share <= 1).

    Returns
    -------
    Parks
        ``table`` (columns of `PARK_COLUMNS`, sorted by rank), ``unit_park``, ``dropped``,
        ``refilled``, ``x``.

    Raises
    ------
    InputDataError
        Unknown connectivity, a negative ``min_km2``, ``key_share`` outside (0, 1], or a
        plan of the wrong length.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> p = problem(tiny_grid()).add_max_utility_objective(budget_km2=3, weights={"carbon": 1})
    >>> x = [1, 1, 0, 1, 0, 1]  # cell 1 is protected already; 2, 4 and 6 touch by corners
    >>> parks = candidate_parks(p, x)
    >>> parks.table[["park_id", "area_km2", "carbon_stock_MgC", "extends"]].to_dict("records")
    [{'park_id': 1, 'area_km2': 1.0, 'carbon_stock_MgC': 80.0, 'extends': ''}, \
{'park_id': 2, 'area_km2': 1.0, 'carbon_stock_MgC': 40.0, 'extends': ''}, \
{'park_id': 3, 'area_km2': 1.0, 'carbon_stock_MgC': 0.0, 'extends': ''}]
    >>> parks.unit_park.tolist(), parks.table["is_extension"].tolist()
    ([0, 2, 0, 1, 0, 3], [True, True, False])
    >>> round(float(parks.table["polsby_popper"].iloc[0]), 4)  # one square: pi/4
    0.7854
    >>> candidate_parks(p, x, connectivity="queen").unit_park.tolist()
    [0, 1, 0, 1, 0, 1]
    """
    import geopandas as gpd


    if connectivity not in ("rook", "queen"):
        raise InputDataError(f"connectivity must be 'rook' or 'queen'; got {connectivity!r}")
    if not (isinstance(min_km2, (int, float)) and math.isfinite(min_km2) and min_km2 >= 0):
        raise InputDataError(f"min_km2 must be a finite number >= 0 (km²); got {min_km2!r}")
    if not (isinstance(key_share, (int, float)) and 0 < key_share <= 1):
        raise InputDataError(f"key_share must be in (0, 1] (a share of the plan's gain); got "
                             f"{key_share!r}")
    raw = x.x if isinstance(x, Solution) else x
    xs = (np.asarray(raw, dtype=np.float64) > 0.5).astype(np.float64)
    if xs.shape != (problem.n_units,):
        raise InputDataError(f"plan x has {xs.shape} values; expected ({problem.n_units},), one "
                             "0/1 value per planning unit in pu.units order")
    ctx = _context(problem, connectivity)

    added = _added(problem, xs)
    labels, k = _components(ctx, added)
    table, value = _park_table(ctx, xs, labels, k, key_share)
    small = table["area_km2"].to_numpy() < min_km2 - _TOL
    dropped_cols = [c for c in table.columns if c != "geometry"]
    dropped = pd.DataFrame(columns=dropped_cols)
    refilled = np.zeros(0, dtype=np.int64)
    if small.any():
        all_ranked, ids = _ranked(table, value)
        gone = small[labels[added]]
        x_new = xs.copy()
        x_new[np.flatnonzero(added)[gone]] = 0.0
        if refill:
            budget = problem.total_budget()
            # A finite total budget is one of the refill's budget rows, measured as the model
            # measures it (its remainders counted or free); without one, the plan's new area.
            cap = (np.inf if budget is not None and np.isfinite(budget.max_km2)
                   else float(ctx.new_km2 @ xs))
            keep_units = added & ~np.isin(labels, np.flatnonzero(small))
            refilled = _refill(ctx, x_new, keep_units, cap)
            x_new[refilled] = 1.0
        xs_final = x_new
        n_keep = int((~small).sum())
        dropped = pd.DataFrame(all_ranked[small[np.argsort(ids)]].drop(columns="geometry"))
        dropped = dropped.reset_index(drop=True)
        dropped["park_id"] = np.arange(n_keep + 1, n_keep + 1 + len(dropped), dtype=np.int64)
        added = _added(problem, xs_final)
        labels, k = _components(ctx, added)
        table, value = _park_table(ctx, xs_final, labels, k, key_share)
        xs = xs_final
    ranked, ids = _ranked(table, value)
    unit_park = np.zeros(problem.n_units, dtype=np.int64)
    unit_park[labels >= 0] = ids[labels[labels >= 0]]
    return Parks(table=gpd.GeoDataFrame(ranked, geometry="geometry", crs=problem.pu.units.crs),
                 unit_park=unit_park, dropped=dropped, refilled=refilled, x=xs,
                 connectivity=connectivity, min_km2=float(min_km2),
                 sliver_km2=_sliver_km2(problem))
