"""The study's tables of a gap analysis: carbon, time series, ecosystems, regions, species.

* carbon stock by zone (Table 1 of the study): totals, shares, densities and the ratio
  of each zone's density to the whole area's (`carbon_table`, and as text
  `format_carbon_table`);
* multi-year uptake (NPP) and emissions by zone and year (`time_series_table`) and
  their growth per period inside vs outside protection (`growth_table`);
* representation of each land-cover class (`ecosystem_table`) and each region
  (`region_table`) against a target share;
* each species' protected share against a target, and richness inside vs outside
  (`species_table`, `biodiversity_summary`).

Densities are totals divided by the area *with data* in the zone (the layer's
``<layer>_valid_km2`` column when the grid has it, else ``area_km2``), as
`PlanningUnits.summary` does, so nodata (e.g. lakes without biomass data) does not
dilute a density. Every computation is a sum over units done with numpy; loops run
over features, zones and years only, never over units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.gap.columns import (
    check_pu,
    check_share,
    density_unit,
    dot,
    features_of,
    latest_uptake,
    scale,
    select,
    stock_columns,
    stock_sum,
    unit_column,
    valid_area,
)
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, Zones, zone_totals, zones
from optimizer.grid.build import PlanningUnits
from optimizer.inputs.units import get_unit

__all__ = [
    "biodiversity_summary",
    "carbon_table",
    "ecosystem_table",
    "format_carbon_table",
    "growth_table",
    "region_table",
    "species_columns",
    "species_table",
    "time_series_table",
]


def _by_zone(df: pd.DataFrame, key: str, value: str) -> pd.Series:
    """``value`` of each row's whole-area row with the same ``key``."""
    whole = df[df["zone"] == WHOLE].set_index(key)[value]
    return df[key].map(whole)


def safe_div(a: Any, b: Any) -> Any:
    """``a / b`` elementwise, NaN where ``b`` is 0 (a density of no area)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(b) != 0, np.asarray(a, dtype=float) / np.asarray(b), np.nan)


# ============================================================== Table 1: carbon stock

def carbon_table(
    pu: PlanningUnits,
    *,
    layers: Sequence[str] | str | None = None,
    combine: Mapping[str, Sequence[str]] | None = None,
    network: str | Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    total_unit: str | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Carbon stock per zone: totals, shares, densities and density ratios (Table 1).

    Parameters
    ----------
    pu : PlanningUnits
    layers : str or sequence of str, optional
        carbon_stock feature columns or layer names (default: all).
    combine : mapping of str to sequence of str, optional
        Combined stocks to add, e.g. ``{"ecosystem": ["biomass", "soc"]}``. Default:
        ``{"ecosystem": <all selected layers>}`` when there are two or more; ``{}``
        adds none. A combination's total is the sum of its parts' totals and its
        density the sum of their densities (each over its own area with data), as
        the study defines ecosystem carbon = biomass + vulnerable SOC.
    network, categories
        The protected network and the categories shown (see `zones`).
    total_unit : str, optional
        Unit of ``total``: MgC, GgC, TgC or PgC (default: the largest one in which the
        biggest whole-area total is at least 1).
    zones_ : Zones, optional
        Precomputed zones.

    Returns
    -------
    pandas.DataFrame
        One row per layer x zone: ``layer``, ``zone``, ``zone_kind``, ``area_km2``,
        ``area_share`` (of the whole area, 0-1), ``total_MgC``, ``total``,
        ``total_unit``, ``share`` (of the whole-area total, 0-1), ``density_kgC_m2``,
        ``density_MgC_ha`` and ``density_ratio`` (zone density / whole-area density).

    Raises
    ------
    InputDataError
        No carbon_stock layer, unknown layer or combination part, no protected layer.
    """
    pu = check_pu(pu)
    cols = stock_columns(pu, layers, argument="layers")
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    base = zone_totals(pu, cols, zones_=z)
    base["density_MgC_km2"] = safe_div(base["amount"], base["valid_km2"])
    base = base.rename(columns={"feature": "name"})
    if combine is None:
        combine = {"ecosystem": cols} if len(cols) >= 2 else {}
    parts = [base]
    for name, members in combine.items():
        if name in cols:
            raise InputDataError(f"combine: name {name!r} is already a layer; choose another name")
        members = [members] if isinstance(members, str) else list(members)
        bad = [m for m in members if m not in cols]
        if bad or not members:
            raise InputDataError(f"combine: {name!r} lists {bad or 'no layers'}, not among the "
                                 f"selected carbon_stock layers {cols}; list some of them")
        sub = base[base["name"].isin(members)]
        agg = sub.groupby("zone", sort=False).agg(
            zone_kind=("zone_kind", "first"), area_km2=("area_km2", "first"),
            amount=("amount", "sum"), density_MgC_km2=("density_MgC_km2", "sum"))
        agg = agg.reindex(list(z.names)).reset_index()
        agg["name"] = name
        parts.append(agg)
    df = pd.concat(parts, ignore_index=True)
    whole_area = float(z.sums(unit_column(pu, "area_km2"))[0])
    df["area_share"] = df["area_km2"] / whole_area if whole_area else np.nan
    df["share"] = safe_div(df["amount"], _by_zone(df, "name", "amount"))
    df["density_ratio"] = safe_div(df["density_MgC_km2"], _by_zone(df, "name", "density_MgC_km2"))
    wholes = df.loc[df["zone"] == WHOLE, "amount"]
    factor, unit = scale(float(wholes.abs().max()) if len(wholes) else 0.0, "MgC", total_unit)
    out = pd.DataFrame({
        "layer": df["name"], "zone": df["zone"], "zone_kind": df["zone_kind"],
        "area_km2": df["area_km2"], "area_share": df["area_share"],
        "total_MgC": df["amount"], "total": df["amount"] / factor, "total_unit": unit,
        "share": df["share"], "density_kgC_m2": df["density_MgC_km2"] / 1000.0,
        "density_MgC_ha": df["density_MgC_km2"] / 100.0, "density_ratio": df["density_ratio"],
    })
    return out


def format_carbon_table(table: pd.DataFrame) -> str:
    """The carbon table as fixed-width text (the headline printed by the CLI)."""
    unit = str(table["total_unit"].iloc[0]) if len(table) else "MgC"
    head = (f"{'layer':<12}{'zone':<16}{'area km2':>13}{'total ' + unit:>13}{'share %':>9}"
            f"{'kgC/m2':>9}{'MgC/ha':>9}{'ratio':>7}")
    lines = ["Carbon stock by zone (share of the whole area's total; ratio = zone density / "
             "whole-area density)", head, "-" * len(head)]
    for _, r in table.iterrows():
        lines.append(
            f"{r['layer']!s:<12.12}{r['zone']!s:<16.16}{r['area_km2']:>13,.0f}{r['total']:>13,.3f}"
            f"{100 * r['share']:>9.2f}{r['density_kgC_m2']:>9.3f}{r['density_MgC_ha']:>9.2f}"
            f"{r['density_ratio']:>7.2f}")
    return "\n".join(lines)


# ============================================================== Tables 2-3: time series

def time_series_table(
    pu: PlanningUnits,
    *,
    roles: Sequence[str] = ("carbon_uptake", "emissions"),
    layers: Sequence[str] | str | None = None,
    network: str | Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Totals, shares and densities per year and zone of multi-year layers (Tables 2, 3).

    Parameters
    ----------
    pu : PlanningUnits
    roles : sequence of str
        Roles whose features are reported (default uptake and emissions).
    layers : str or sequence of str, optional
        Restrict to these feature columns or layer names.
    network, categories, zones_
        See `zones`.

    Returns
    -------
    pandas.DataFrame
        One row per layer x year x zone: ``layer``, ``year``, ``feature``, ``zone``,
        ``zone_kind``, ``area_km2``, ``amount`` and ``amount_unit`` (e.g. MgC/yr),
        ``total`` and ``total_unit`` (readable, one per layer, e.g. TgC/yr), ``share``
        (of the whole-area total that year), ``density`` and ``density_unit``
        (gC/m2/yr for carbon, tCO2/km2/yr for emissions) and ``density_ratio``.
        Empty when the grid has no such layer.
    """
    pu = check_pu(pu)
    cols = select(pu, roles, layers, "layers")
    if not cols:
        return pd.DataFrame(columns=["layer", "year", "feature", "zone", "zone_kind", "area_km2",
                                     "amount", "amount_unit", "total", "total_unit", "share",
                                     "density", "density_unit", "density_ratio"])
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    df = zone_totals(pu, cols, zones_=z)
    df["share"] = safe_div(df["amount"], _by_zone(df, "feature", "amount"))
    dens = safe_div(df["amount"], df["valid_km2"])
    df["total"] = np.nan
    df["total_unit"] = ""
    df["density"] = np.nan
    df["density_unit"] = ""
    for idx in df.groupby("layer", sort=False).groups.values():
        unit = str(df.loc[idx, "amount_unit"].iloc[0])
        wholes = df.loc[idx][df.loc[idx, "zone"] == WHOLE]["amount"]
        factor, tunit = scale(float(wholes.abs().max()), unit)
        dfac, dunit = density_unit(unit)
        df.loc[idx, "total"] = df.loc[idx, "amount"] / factor
        df.loc[idx, "total_unit"] = tunit
        df.loc[idx, "density"] = dens[np.asarray(df.index.get_indexer(idx))] / dfac
        df.loc[idx, "density_unit"] = dunit
    df["density_ratio"] = safe_div(df["density"], _by_zone(df, "feature", "density"))
    return df[["layer", "year", "feature", "zone", "zone_kind", "area_km2", "amount",
               "amount_unit", "total", "total_unit", "share", "density", "density_unit",
               "density_ratio"]]


def growth_table(series: pd.DataFrame) -> pd.DataFrame:
    """Growth of each layer's total per period and over the whole span, per zone.

    Parameters
    ----------
    series : pandas.DataFrame
        A `time_series_table`.

    Returns
    -------
    pandas.DataFrame
        One row per layer x zone x period (consecutive years, then the whole span,
        marked ``span=True``): ``layer``, ``zone``, ``start_year``, ``end_year``,
        ``span``, ``start_total``, ``end_total``, ``total_unit``, ``change_pct``
        (percent change of the total) and ``annual_rate_pct`` (compound annual growth
        rate, percent per year; NaN when the start total is not positive).
    """
    cols = ["layer", "zone", "start_year", "end_year", "span", "start_total", "end_total",
            "total_unit", "change_pct", "annual_rate_pct"]
    s = series[series["year"].notna()]
    rows = []
    for (layer, zone), g in s.groupby(["layer", "zone"], sort=False):
        g = g.sort_values("year")
        years = g["year"].astype(int).to_numpy()
        totals = g["total"].to_numpy(dtype=float)
        if len(years) < 2:
            continue
        pairs = [(i, i + 1, False) for i in range(len(years) - 1)]
        pairs.append((0, len(years) - 1, True))
        for i, j, span in pairs:
            if span and len(years) == 2:
                continue  # the one period is already the whole span
            a, b, dy = totals[i], totals[j], years[j] - years[i]
            change = 100 * (b / a - 1) if a != 0 else np.nan
            rate = 100 * ((b / a) ** (1 / dy) - 1) if a > 0 and b >= 0 and dy > 0 else np.nan
            rows.append((layer, zone, years[i], years[j], span or len(years) == 2, a, b,
                         g["total_unit"].iloc[0], change, rate))
    return pd.DataFrame(rows, columns=cols)


# ============================================================== ecosystems and regions

def ecosystem_table(
    pu: PlanningUnits,
    *,
    target: float = 0.3,
    stock: Sequence[str] | str | None = None,
    network: str | Sequence[str] | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Area and carbon of each land-cover class inside protection, against a target share.

    A class's carbon in a unit is the unit's stock x the class's share of the unit's
    area, and its protected part that x the protected fraction: within a unit, carbon,
    class and protection are taken as independent (uniformly mixed).

    Parameters
    ----------
    pu : PlanningUnits
    target : float
        Target protected share of each class (0-1; default 0.3, "30x30").
    stock : str or sequence of str, optional
        carbon_stock layers summed as the carbon of a class (default: all; none when
        the grid has no carbon_stock layer).
    network, zones_
        See `zones`.

    Returns
    -------
    pandas.DataFrame
        One row per class: ``ecosystem``, ``feature``, ``area_km2``,
        ``protected_km2``, ``share_protected``, ``target``, ``shortfall_km2`` (area
        still to protect to reach the target, 0 if met), ``meets_target``, and with
        carbon: ``carbon_total``, ``carbon_protected``, ``carbon_unit``,
        ``carbon_share_protected``.

    Raises
    ------
    InputDataError
        Target outside [0, 1], no land_cover layer, unknown stock layer.
    """
    pu = check_pu(pu)
    target = check_share("target", target)
    lc = features_of(pu, "land_cover")
    if lc.empty:
        raise InputDataError("grid has no land_cover layer; add one (role = \"land_cover\", "
                             "unit = \"class\") to the manifest and rebuild")
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    area_unit = unit_column(pu, "area_km2")
    has_stock = not features_of(pu, "carbon_stock").empty or stock is not None
    per_km2: np.ndarray | None = None
    per_km2_p: np.ndarray | None = None
    if has_stock:
        # Carbon of a class in a unit: stock x the class's share of the unit's area, so
        # the class's carbon is (stock / area) . class km2 (and x p inside protection).
        per_km2 = stock_sum(pu, stock)
        np.divide(per_km2, area_unit, out=per_km2, where=area_unit > 0)
        per_km2[area_unit <= 0] = 0.0
        per_km2_p = per_km2 * p
    rows = []
    for col, f in lc.iterrows():
        km2 = unit_column(pu, str(col))
        area = float(km2.sum())
        prot = dot(km2, p)
        row: dict[str, Any] = {"ecosystem": f["label"], "feature": col, "area_km2": area,
                               "protected_km2": prot}
        if per_km2 is not None:
            row["carbon_MgC"] = dot(per_km2, km2)
            row["carbon_protected_MgC"] = dot(per_km2_p if per_km2_p is not None else per_km2, km2)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["share_protected"] = safe_div(df["protected_km2"], df["area_km2"])
    df["target"] = target
    df["shortfall_km2"] = np.clip(target * df["area_km2"] - df["protected_km2"], 0, None)
    df["meets_target"] = df["share_protected"] >= target - 1e-12
    out_cols = ["ecosystem", "feature", "area_km2", "protected_km2", "share_protected", "target",
                "shortfall_km2", "meets_target"]
    if per_km2 is not None:
        factor, unit = scale(float(df["carbon_MgC"].abs().max()), "MgC")
        df["carbon_total"] = df["carbon_MgC"] / factor
        df["carbon_protected"] = df["carbon_protected_MgC"] / factor
        df["carbon_unit"] = unit
        df["carbon_share_protected"] = safe_div(df["carbon_protected_MgC"], df["carbon_MgC"])
        out_cols += ["carbon_total", "carbon_protected", "carbon_unit", "carbon_share_protected"]
    return df[out_cols]


def region_table(
    pu: PlanningUnits,
    *,
    stock: Sequence[str] | str | None = None,
    uptake: str | None = None,
    network: str | Sequence[str] | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Protected share of land, carbon stock and carbon uptake (latest year) per region.

    Parameters
    ----------
    pu : PlanningUnits
        Grid with a ``region`` column (a layer of role ``region``).
    stock : str or sequence of str, optional
        carbon_stock layers summed (default all; omitted without any).
    uptake : str, optional
        carbon_uptake layer (default the first); its latest year is used.
    network, zones_
        See `zones`.

    Returns
    -------
    pandas.DataFrame
        One row per region, sorted by name: ``region``, ``area_km2``,
        ``protected_km2``, ``land_share_protected``; with carbon ``carbon_total``,
        ``carbon_unit``, ``carbon_share_protected``; with uptake ``npp_year``,
        ``npp_total``, ``npp_unit``, ``npp_share_protected``.

    Raises
    ------
    InputDataError
        The grid has no region layer.
    """
    pu = check_pu(pu)
    region = pu.units["region"] if "region" in pu.units.columns else None
    if region is None or region.isna().all():
        raise InputDataError("grid has no region layer (column 'region' is empty); add one "
                             "(role = \"region\") to the manifest and rebuild")
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    codes, names = pd.factorize(region, sort=True)  # missing region -> -1
    ok = codes >= 0
    all_ok = bool(ok.all())
    known = codes if all_ok else codes[ok]
    k = len(names)

    def per_region(values: np.ndarray) -> np.ndarray:
        return np.bincount(known, weights=values if all_ok else values[ok], minlength=k)

    area = unit_column(pu, "area_km2")
    df = pd.DataFrame({"region": list(names), "area_km2": per_region(area),
                       "protected_km2": per_region(area * p)})
    df["land_share_protected"] = safe_div(df["protected_km2"], df["area_km2"])
    if stock is not None or not features_of(pu, "carbon_stock").empty:
        carbon = stock_sum(pu, stock)
        tot = per_region(carbon)
        factor, unit = scale(float(np.abs(tot).max()) if k else 0.0, "MgC")
        df["carbon_total"] = tot / factor
        df["carbon_unit"] = unit
        df["carbon_share_protected"] = safe_div(per_region(carbon * p), tot)
    latest = latest_uptake(pu, uptake)
    if latest is not None:
        col, year = latest
        npp = unit_column(pu, col)
        tot = per_region(npp)
        factor, unit = scale(float(np.abs(tot).max()) if k else 0.0,
                              str(pu.features.at[col, "unit"]))
        df["npp_year"] = pd.array([year] * k, dtype="Int64")
        df["npp_total"] = tot / factor
        df["npp_unit"] = unit
        df["npp_share_protected"] = safe_div(per_region(npp * p), tot)
    return df


# ============================================================== biodiversity

def _is_intensive(unit_name: str) -> bool:
    try:
        return get_unit(unit_name).kind == "intensive"
    except InputDataError:
        return False


def species_columns(pu: PlanningUnits, features: Sequence[str] | str | None) -> list[str]:
    """The biodiversity features that are species ranges (or ``features`` when given).

    Intensive layers (richness, an index) are values per area, not ranges, so they are left
    out; the gap analysis, the gap closure and the parks count species with this.
    """
    bio = features_of(pu, "biodiversity")
    if features is not None:
        return select(pu, "biodiversity", features, "features")
    # Intensive layers (richness, an index) are values per area, not ranges: not species.
    return [c for c, f in bio.iterrows() if not _is_intensive(str(f["source_unit"]))]


def richness_column(pu: PlanningUnits) -> str | None:
    """The grid's species-richness column (an intensive biodiversity layer), or None."""
    bio = features_of(pu, "biodiversity")
    intensive = [c for c, f in bio.iterrows() if _is_intensive(str(f["source_unit"]))]
    named = [c for c in intensive if "richness" in str(c)]
    return (named or intensive or [None])[0]


def species_table(
    pu: PlanningUnits,
    *,
    target: float = 0.3,
    features: Sequence[str] | str | None = None,
    network: str | Sequence[str] | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Protected share of each species' range (or amount) against a target.

    Parameters
    ----------
    pu : PlanningUnits
    target : float
        Target protected share (0-1, default 0.3).
    features : str or sequence of str, optional
        Biodiversity feature columns or layer names. Default: every biodiversity
        feature except intensive ones (richness, indices), i.e. ranges in km2 and
        per-cell amounts (counts, probabilities).
    network, zones_
        See `zones`.

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``feature``, ``layer``, ``label``, ``total``, ``unit``,
        ``protected``, ``share_protected``, ``target``, ``meets_target`` and
        ``shortfall`` (amount still to protect, in ``unit``).

    Raises
    ------
    InputDataError
        Target outside [0, 1], unknown feature.
    """
    pu = check_pu(pu)
    target = check_share("target", target)
    cols = species_columns(pu, features)
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    tot = np.zeros(len(cols))
    prot = np.zeros(len(cols))
    for k, c in enumerate(cols):
        a = unit_column(pu, c)
        tot[k], prot[k] = a.sum(), dot(a, p)
    f = pu.features.loc[cols]
    df = pd.DataFrame({
        "feature": cols, "layer": f["layer"].to_numpy(), "label": f["label"].to_numpy(),
        "total": tot, "unit": f["unit"].to_numpy(), "protected": prot,
        "share_protected": safe_div(prot, tot),
    })
    df["target"] = target
    df["meets_target"] = df["share_protected"] >= target - 1e-12
    df["shortfall"] = np.clip(target * df["total"] - df["protected"], 0, None)
    return df


def richness_per_unit(pu: PlanningUnits, species: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """(richness x km2 per unit, area with data per unit, how it was measured)."""
    rc = richness_column(pu)
    if rc is not None:
        return unit_column(pu, rc), valid_area(pu, rc), f"richness layer {rc!r}"
    count = np.zeros(len(pu.units))
    for c in species:
        count += unit_column(pu, c) > 0
    area = unit_column(pu, "area_km2")
    return count * area, area, "number of features present in the unit"


def biodiversity_summary(
    pu: PlanningUnits,
    species: pd.DataFrame | None = None,
    *,
    target: float = 0.3,
    network: str | Sequence[str] | None = None,
    zones_: Zones | None = None,
) -> pd.DataFrame:
    """Species meeting the target, and mean richness inside vs outside protection.

    Richness comes from the grid's intensive biodiversity layer (``richness``) when
    it has one; otherwise it is the number of species features present in a unit.
    Mean richness in a zone is area-weighted: sum(richness x area x share in zone) /
    sum(area with data x share in zone).

    Parameters
    ----------
    pu : PlanningUnits
    species : pandas.DataFrame, optional
        A `species_table` (computed with ``target`` when not given).
    target, network, zones_
        See `species_table`.

    Returns
    -------
    pandas.DataFrame
        Tidy ``metric``, ``value``, ``unit`` rows.
    """
    pu = check_pu(pu)
    z = zones_ if zones_ is not None else zones(pu, network=network)
    if species is None:
        species = species_table(pu, target=target, zones_=z)
    n = len(species)
    met = int(species["meets_target"].sum()) if n else 0
    tgt = float(species["target"].iloc[0]) if n else check_share("target", target)
    rows: list[tuple[str, float, str]] = [
        ("species features", n, "count"),
        (f"species meeting the {tgt:.0%} target", met, "count"),
        ("share of species meeting the target", met / n if n else np.nan, "fraction"),
        ("mean protected share of a species", float(species["share_protected"].mean()) if n
         else np.nan, "fraction"),
        ("median protected share of a species", float(species["share_protected"].median()) if n
         else np.nan, "fraction"),
    ]
    rich, valid, how = richness_per_unit(pu, list(species["feature"]))
    if rich.any():
        dens = safe_div(z.sums(rich), z.sums(valid))
        whole = dens[0]
        for name, d in zip(z.names, dens, strict=True):
            rows.append((f"mean richness, {name}", float(d), "species"))
        ip, iu = z.names.index(PROTECTED), z.names.index(UNPROTECTED)
        rows.append(("richness ratio protected / whole", float(dens[ip] / whole), "ratio"))
        rows.append(("richness ratio protected / unprotected", float(safe_div(dens[ip], dens[iu])),
                     "ratio"))
        rows.append((f"richness source: {how}", np.nan, ""))
    return pd.DataFrame(rows, columns=["metric", "value", "unit"])
