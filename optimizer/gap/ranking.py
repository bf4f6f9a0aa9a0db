"""Units ranked by carbon and biodiversity value: unprotected hotspots, synergy typology.

`unit_values` gives each unit its carbon stock density, NPP density and biodiversity
value (richness or rarity-weighted richness); `hotspots` flags the unprotected units
among the top share of the area by each value, and `synergy_typology` classes units
as carbon x biodiversity ``synergy``, ``carbon``, ``biodiversity`` or ``low``
(quantile thresholds or k-means).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.gap.columns import (
    check_pu,
    check_share,
    density_unit,
    features_of,
    latest_uptake,
    stock_columns,
    stock_sum,
    unit_column,
    valid_area,
)
from optimizer.gap.tables import (
    richness_column,
    richness_per_unit,
    safe_div,
    species_columns,
)
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, Zones, zones
from optimizer.grid.build import PlanningUnits

__all__ = ["TYPES", "hotspots", "synergy_typology", "unit_values"]

#: Synergy types, in the order tables and legends show them.
TYPES: tuple[str, ...] = ("synergy", "carbon", "biodiversity", "low", "no_data")


# ============================================================== per-unit values

def unit_values(pu: PlanningUnits, *, bio_value: str = "auto",
                stock: Sequence[str] | str | None = None, uptake: str | None = None) -> pd.DataFrame:
    """Per-unit values ranked by `hotspots` and `synergy_typology`.

    Parameters
    ----------
    pu : PlanningUnits
    bio_value : {"auto", "richness", "rarity"}
        Biodiversity value of a unit. ``richness``: the richness layer's density
        (species; without a richness layer, the number of species features present).
        ``rarity``: rarity-weighted richness, sum over species of the unit's share of
        the species' total, per 1000 km2 (favours units holding small ranges).
        ``auto``: richness with a richness layer, else rarity.
    stock, uptake
        carbon_stock layers summed (default all) and the carbon_uptake layer
        (default the first, latest year).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``pu.units``: ``pu_id``, ``area_km2``, ``pa_fraction`` and, where
        the grid has the inputs, ``carbon_kgC_m2`` (sum of stock densities),
        ``npp_gC_m2_yr`` and ``bio_value``; ``df.attrs["units"]`` names each
        value's unit and ``df.attrs["sources"]`` where it came from.
    """
    pu = check_pu(pu)
    if bio_value not in ("auto", "richness", "rarity"):
        raise InputDataError(f"bio_value must be 'auto', 'richness' or 'rarity'; got {bio_value!r}")
    u = pu.units
    # The grid's own columns where they can be used as they are: no copies (CoW keeps
    # the grid safe from changes to the frame).
    out = pd.DataFrame({"pu_id": plain(u["pu_id"]), "area_km2": _float_series(pu, "area_km2"),
                        "pa_fraction": _float_series(pu, "pa_fraction", share=True)},
                       copy=False)
    units: dict[str, str] = {}
    sources: dict[str, str] = {}
    if stock is not None or not features_of(pu, "carbon_stock").empty:
        cols = stock_columns(pu, stock)
        dens = np.zeros(len(u))
        any_valid = np.zeros(len(u), dtype=bool)
        for c in cols:
            valid = valid_area(pu, c)
            ok = valid > 0
            dens += np.divide(unit_column(pu, c), valid, out=np.zeros(len(u)), where=ok)
            any_valid |= ok
        out["carbon_kgC_m2"] = np.where(any_valid, dens / 1000.0, np.nan)
        units["carbon_kgC_m2"] = "kgC/m2"
        sources["carbon_kgC_m2"] = " + ".join(cols)
    latest = latest_uptake(pu, uptake)
    if latest is not None:
        col, year = latest
        valid = valid_area(pu, col)
        dfac, dunit = density_unit(str(pu.features.at[col, "unit"]))
        out["npp_gC_m2_yr"] = np.divide(unit_column(pu, col), valid * dfac,
                                         out=np.full(len(u), np.nan), where=valid > 0)
        units["npp_gC_m2_yr"] = dunit
        sources["npp_gC_m2_yr"] = col if year is None else f"{col} ({year})"
    species = species_columns(pu, None)
    rc = richness_column(pu)
    mode = bio_value if bio_value != "auto" else ("richness" if rc is not None else "rarity")
    if mode == "richness" and (rc is not None or species):
        rich, valid, how = richness_per_unit(pu, species)
        out["bio_value"] = np.divide(rich, valid, out=np.full(len(u), np.nan), where=valid > 0)
        units["bio_value"] = "species"
        sources["bio_value"] = how
    elif mode == "rarity" and species:
        area = out["area_km2"].to_numpy()
        acc = np.zeros(len(u))
        for c in species:
            a = unit_column(pu, c)
            total = a.sum()
            if total > 0:
                acc += a / total
        out["bio_value"] = np.divide(acc * 1000.0, area, out=np.full(len(u), np.nan),
                                     where=area > 0)
        units["bio_value"] = "range share per 1000 km2"
        sources["bio_value"] = f"rarity-weighted richness of {len(species)} features"
    out.attrs["units"] = units
    out.attrs["sources"] = sources
    return out


def plain(s: pd.Series) -> pd.Series:
    """``s`` on a 0..n-1 index (a shallow copy when it has another index)."""
    if isinstance(s.index, pd.RangeIndex) and s.index.start == 0 and s.index.step == 1:
        return s
    return s.reset_index(drop=True)


def _float_series(pu: PlanningUnits, name: str, *, share: bool = False) -> pd.Series | np.ndarray:
    """Column ``name`` as `col` reads it (clipped to [0, 1] with ``share``): the grid's own
    Series when that is what it holds, else a new array."""
    a = unit_column(pu, name)
    if share and a.size and (a.min() < 0 or a.max() > 1):
        return np.clip(a, 0, 1)
    s = pu.units[name]
    return plain(s) if s.dtype == np.float64 and np.shares_memory(a, s.to_numpy()) else \
        np.array(a)


#: Below this many values `_weighted_select` sorts what is left.
_SORT_BELOW = 1 << 16


def _weighted_select(values: np.ndarray, weights: np.ndarray, target: float) -> float:
    """The smallest value whose weight with all smaller values reaches ``target`` (the
    largest value when none does): a weighted quantile without sorting every value.

    Each round partitions the values around a bracket of two ranks interpolated from the
    weight still to cover (``numpy.partition``: linear time) and keeps the side or the
    bracket holding the answer; what is left (at most ``_SORT_BELOW`` values, or values
    all in one bracket) is sorted. The answer is the one of the sorted cumulative sum
    (``values`` sorted stably, first position whose running weight reaches ``target``).
    """
    v, w = values, weights
    if not target > 0:  # the first position of the cumulative sum: the smallest value
        return float(v.min())
    below = 0.0  # weight of the values known to lie below every value left (< target)
    while v.size > _SORT_BELOW:
        n = v.size
        left = float(w.sum())
        r = (target - below) / left * n if left > 0 else n / 2
        margin = max(n // 200, 1024)
        k_lo = int(np.clip(r - margin, 0, n - 1))
        k_hi = int(np.clip(r + margin, k_lo, n - 1))
        part = np.partition(v, [k_lo, k_hi])
        lo, hi = part[k_lo], part[k_hi]
        del part
        under = v < lo
        w_under = float(w.sum(where=under))
        if below + w_under >= target:  # the answer is below the bracket
            v, w = v[under], w[under]
            continue
        upto = v <= hi
        w_upto = float(w.sum(where=upto))
        if below + w_upto < target:  # above it
            if not (~upto).any():
                return float(hi)
            below += w_upto
            v, w = v[~upto], w[~upto]
            continue
        if lo == hi:
            return float(lo)
        inside = upto & ~under
        if inside.sum() == n:  # no progress (ties): sort what is left
            break
        below += w_under
        v, w = v[inside], w[inside]
    order = np.argsort(v, kind="stable")
    cum = below + np.cumsum(w[order])
    k = min(int(np.searchsorted(cum, target)), v.size - 1)
    return float(v[order][k])


def _top_flags(values: np.ndarray, weights: np.ndarray, top: float) -> tuple[np.ndarray, float]:
    """Units in the top ``top`` share of the area (with a value), by value; and the cutoff.

    The cutoff is the value at which the area of units ranked by value first reaches the
    top share, so the flagged area is the smallest one covering it (ties all flagged).
    """
    ok = ~np.isnan(values)
    if not ok.any():
        return np.zeros(values.size, dtype=bool), np.nan
    all_ok = bool(ok.all())
    v = values if all_ok else values[ok]
    w = weights if all_ok else weights[ok]
    target = top * float(w.sum()) * (1 - 1e-12)
    cutoff = -_weighted_select(-v, w, target)
    return ok & (values >= cutoff), cutoff


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = ~np.isnan(values)
    if not ok.any():
        return np.nan
    all_ok = bool(ok.all())
    v = values if all_ok else values[ok]
    w = weights if all_ok else weights[ok]
    return _weighted_select(v, w, q * float(w.sum()))


_CRITERIA = {"carbon": "carbon_kgC_m2", "npp": "npp_gC_m2_yr", "biodiversity": "bio_value"}


def hotspots(
    pu: PlanningUnits,
    *,
    top: float = 0.1,
    pa_threshold: float = 0.5,
    values: pd.DataFrame | None = None,
    bio_value: str = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Unprotected units among the top share of carbon density, NPP density, biodiversity.

    A unit is in the top ``top`` of a criterion when its value is at least the value
    at which the area of units ranked by value reaches ``top`` of the area with a
    value (an area-weighted quantile, so clipped edge cells count for their area).
    It is a gap when it is also unprotected: ``pa_fraction < pa_threshold``.

    Parameters
    ----------
    pu : PlanningUnits
    top : float
        Top share (0-1], default 0.1.
    pa_threshold : float
        Units protected below this fraction count as unprotected (default 0.5).
    values : pandas.DataFrame, optional
        A `unit_values` frame (computed when not given).
    bio_value : str
        See `unit_values`.

    Returns
    -------
    table : pandas.DataFrame
        One row per criterion (and ``any``): ``criterion``, ``value_unit``,
        ``cutoff``, ``top_units``, ``top_area_km2``, ``top_protected_share``
        (protected share of the top units' area), ``gap_units``, ``gap_area_km2``,
        ``gap_carbon_MgC`` and ``gap_carbon_share`` (stock in the gaps' unprotected
        part, and its share of the whole-area stock).
    flags : pandas.DataFrame
        `unit_values` plus ``top_<criterion>``, ``gap_<criterion>`` (bool) and
        ``gap_any``, aligned with ``pu.units``.
    by_region : pandas.DataFrame
        ``criterion``, ``region``, ``gap_units``, ``gap_area_km2``, ``share_of_gap_area``.

    Raises
    ------
    InputDataError
        ``top`` or ``pa_threshold`` outside their range.
    """
    pu = check_pu(pu)
    top = check_share("top", top, open_low=True)
    pa_threshold = check_share("pa_threshold", pa_threshold, open_low=True)
    # A shallow copy: new columns go to this frame only, and copy-on-write keeps the
    # caller's ``values`` as they were.
    flags = values.copy(deep=False) if values is not None else unit_values(pu, bio_value=bio_value)
    area = flags["area_km2"].to_numpy()
    pa = flags["pa_fraction"].to_numpy()
    unprotected = pa < pa_threshold
    has_carbon = "carbon_kgC_m2" in flags
    carbon_amount = stock_sum(pu) if has_carbon else None
    whole_carbon = float(carbon_amount.sum()) if carbon_amount is not None else np.nan
    # Per unit, once: the stock outside protection and the protected area.
    gap_carbon = carbon_amount * (1 - pa) if carbon_amount is not None else None
    area_pa = area * pa
    rows = []
    any_gap = np.zeros(len(flags), dtype=bool)
    any_top = np.zeros(len(flags), dtype=bool)
    crit_units = flags.attrs.get("units", {})
    region = pu.units["region"] if "region" in pu.units.columns else None
    codes, names = (pd.factorize(region, sort=True) if region is not None
                    else (np.full(len(flags), -1), pd.Index([])))
    region_rows = []

    def summarise(name: str, top_f: np.ndarray, gap_f: np.ndarray, unit: str, cutoff: float) -> None:
        top_area = float(area.sum(where=top_f))
        gap_c = float(gap_carbon.sum(where=gap_f)) if gap_carbon is not None else np.nan
        rows.append({
            "criterion": name, "value_unit": unit, "cutoff": cutoff,
            "top_units": int(np.count_nonzero(top_f)), "top_area_km2": top_area,
            "top_protected_share": float(area_pa.sum(where=top_f)) / top_area if top_area
            else np.nan,
            "gap_units": int(np.count_nonzero(gap_f)), "gap_area_km2": float(area.sum(where=gap_f)),
            "gap_carbon_MgC": gap_c,
            "gap_carbon_share": gap_c / whole_carbon if whole_carbon else np.nan,
        })
        ok = gap_f & (codes >= 0)
        if len(names) and ok.any():
            km2 = np.bincount(codes[ok], weights=area[ok], minlength=len(names))
            cnt = np.bincount(codes[ok], minlength=len(names))
            for r, k2, c in zip(names, km2, cnt, strict=True):
                if c:
                    region_rows.append({"criterion": name, "region": r, "gap_units": int(c),
                                        "gap_area_km2": float(k2),
                                        "share_of_gap_area": float(k2 / km2.sum())})

    for name, col in _CRITERIA.items():
        if col not in flags:
            continue
        top_f, cutoff = _top_flags(flags[col].to_numpy(dtype=float), area, top)
        gap_f = top_f & unprotected
        flags[f"top_{name}"] = top_f
        flags[f"gap_{name}"] = gap_f
        any_gap |= gap_f
        any_top |= top_f
        summarise(name, top_f, gap_f, crit_units.get(col, ""), cutoff)
    flags["gap_any"] = any_gap
    if rows:
        summarise("any", any_top, any_gap, "", np.nan)
    table = pd.DataFrame(rows, columns=["criterion", "value_unit", "cutoff", "top_units",
                                        "top_area_km2", "top_protected_share", "gap_units",
                                        "gap_area_km2", "gap_carbon_MgC", "gap_carbon_share"])
    by_region = pd.DataFrame(region_rows, columns=["criterion", "region", "gap_units",
                                                   "gap_area_km2", "share_of_gap_area"])
    if len(by_region):
        by_region = by_region.sort_values(["criterion", "gap_area_km2"],
                                          ascending=[True, False], ignore_index=True)
    return table, flags, by_region


# ============================================================== synergy typology

def _kmeans_types(c: np.ndarray, b: np.ndarray, seed: int) -> np.ndarray:
    """Type codes (indices into `TYPES`) from k-means (k=4) on standardised values.

    Clusters are named by their centroids: each of the four types is a corner of the
    standardised plane (synergy (+,+), carbon (+,-), biodiversity (-,+), low (-,-)),
    and the one-to-one naming that best aligns centroids with corners is kept.
    """
    from sklearn.cluster import KMeans

    x = np.column_stack([c, b])
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    km = KMeans(n_clusters=4, random_state=seed, n_init=4).fit(x)
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=float)
    best = max(itertools.permutations(range(4)),
               key=lambda perm: sum(float(km.cluster_centers_[k] @ corners[perm[k]])
                                    for k in range(4)))
    return np.asarray(best, dtype=np.int64)[km.labels_]


def synergy_typology(
    pu: PlanningUnits,
    *,
    method: str = "quantile",
    quantile: float = 2 / 3,
    values: pd.DataFrame | None = None,
    bio_value: str = "auto",
    seed: int = 0,
    zones_: Zones | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Classify units by carbon x biodiversity value: synergy, carbon, biodiversity, low.

    ``quantile`` (default): a unit's carbon (ecosystem stock density) is high when at
    least the area-weighted ``quantile`` of all units' carbon (default 2/3: the upper
    tercile; 0.5: above the median), likewise biodiversity. Both high: ``synergy``;
    carbon only: ``carbon`` (candidate carbon parks, OECMs); biodiversity only:
    ``biodiversity``; neither: ``low``. ``kmeans``: k-means with four clusters on
    z-scored values (fixed ``seed``), clusters named by their centroids (see
    `_kmeans_types`). Units without either value are ``no_data``.

    Parameters
    ----------
    pu : PlanningUnits
    method : {"quantile", "kmeans"}
    quantile : float
        Threshold quantile in (0, 1) for ``quantile``.
    values : pandas.DataFrame, optional
        A `unit_values` frame.
    bio_value : str
        See `unit_values`.
    seed : int
        Random seed of k-means.
    zones_ : Zones, optional
        Zones; area and carbon inside/outside use the protected fraction.

    Returns
    -------
    table : pandas.DataFrame
        One row per type x zone (whole, protected, unprotected): ``type``, ``zone``,
        ``units`` (units of the type with area in the zone), ``area_km2``,
        ``area_share`` (of the zone), ``carbon_MgC``, ``carbon_share`` (of the zone's
        stock) and ``protected_share`` (of the type's area).
    types : pandas.Series
        The type of each unit, aligned with ``pu.units``.

    Raises
    ------
    InputDataError
        Unknown method, quantile outside (0, 1), no carbon or no biodiversity value.
    """
    pu = check_pu(pu)
    if method not in ("quantile", "kmeans"):
        raise InputDataError(f"method must be 'quantile' or 'kmeans'; got {method!r}")
    quantile = check_share("quantile", quantile, open_low=True, open_high=True)
    vals = values if values is not None else unit_values(pu, bio_value=bio_value)
    for col, what in (("carbon_kgC_m2", "a carbon_stock"), ("bio_value", "a biodiversity")):
        if col not in vals:
            raise InputDataError(f"synergy typology needs {what} layer; the grid has none; add "
                                 "one to the manifest and rebuild")
    c = vals["carbon_kgC_m2"].to_numpy(dtype=float)
    b = vals["bio_value"].to_numpy(dtype=float)
    area = vals["area_km2"].to_numpy()
    ok = ~np.isnan(c) & ~np.isnan(b)
    all_ok = bool(ok.all())
    # Integer codes into TYPES: cheaper than strings for a million units.
    codes = np.full(len(vals), TYPES.index("no_data"), dtype=np.intp)
    if ok.any():
        if method == "quantile":
            a_ok = area if all_ok else area[ok]
            q_total = quantile * float(a_ok.sum())
            hc = c >= _weighted_select(c if all_ok else c[ok], a_ok, q_total)
            hb = b >= _weighted_select(b if all_ok else b[ok], a_ok, q_total)
            # synergy 0, carbon 1, biodiversity 2, low 3 (the order of TYPES)
            both = np.where(hc, 0, 2) + np.where(hb, 0, 1)
            if all_ok:
                codes = both
            else:
                codes[ok] = both[ok]
        else:
            codes[ok] = _kmeans_types(c[ok], b[ok], seed)
    z = zones_ if zones_ is not None else zones(pu)
    carbon = stock_sum(pu)
    weights = {WHOLE: None, PROTECTED: z.protected, UNPROTECTED: z.column(UNPROTECTED)}
    rows = []
    for zone, w in weights.items():
        a = np.bincount(codes, weights=area if w is None else area * w, minlength=len(TYPES))
        cc = np.bincount(codes, weights=carbon if w is None else carbon * w,
                         minlength=len(TYPES))
        nu = np.bincount(codes if w is None else codes[w > 0], minlength=len(TYPES))
        for k, t in enumerate(TYPES):
            rows.append({"type": t, "zone": zone, "units": int(nu[k]), "area_km2": float(a[k]),
                         "area_share": float(a[k] / a.sum()) if a.sum() else np.nan,
                         "carbon_MgC": float(cc[k]),
                         "carbon_share": float(cc[k] / cc.sum()) if cc.sum() else np.nan})
    table = pd.DataFrame(rows)
    whole_area = table[table["zone"] == WHOLE].set_index("type")["area_km2"]
    table["protected_share"] = safe_div(
        table["type"].map(table[table["zone"] == PROTECTED].set_index("type")["area_km2"]),
        table["type"].map(whole_area))
    present = table["type"].map(whole_area) > 0
    table = table[present | (table["type"] != "no_data")].reset_index(drop=True)
    return table, pd.Series(_labels(codes, TYPES), index=pu.units.index, name="synergy_type")


def _labels(codes: np.ndarray, labels: Sequence[str]) -> Any:
    """``labels[codes]`` as a pandas string array, built by Arrow from the codes (no Python
    string per unit)."""
    import pyarrow as pa

    small = codes.astype(np.int8 if len(labels) < 128 else np.int32)
    arr = pa.DictionaryArray.from_arrays(pa.array(small), pa.array(list(labels), pa.large_string()))
    return arr.cast(pa.large_string()).to_pandas().array
