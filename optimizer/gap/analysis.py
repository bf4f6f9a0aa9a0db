"""Gap analysis of an existing protected-area network over planning units.

Given `PlanningUnits` with a protected layer, this module produces the tables of a
protected-area carbon assessment for any region, network and layer set:

* carbon stock by zone (Table 1 of the study): totals, shares, densities and the ratio
  of each zone's density to the whole area's (`carbon_table`);
* multi-year uptake (NPP) and emissions by zone and year (`time_series_table`) and
  their growth per period inside vs outside protection (`growth_table`);
* representation of each land-cover class (`ecosystem_table`) and each region
  (`region_table`) against a target share;
* each species' protected share against a target, and richness inside vs outside
  (`species_table`, `biodiversity_summary`);
* unprotected hotspots of carbon density, NPP density and biodiversity value
  (`hotspots`), and a carbon x biodiversity synergy typology (`synergy_typology`);
* all of it at once in a `GapReport` (`gap_analysis`), which writes CSVs, a Markdown
  summary and PNG figures.

Zones
-----
``whole`` (the study area), one zone per protected category (e.g. ``national_park``),
``protected`` (the union of the network, no double counting) and ``unprotected``.
Partial protection counts by the covered fraction ``p`` of a unit: the protected
amount of a unit is ``amount x p`` and its protected area ``area_km2 x p``. This
assumes the amount is spread uniformly inside a unit, the same assumption that any
resampling makes; use cells small against protected areas where it matters. The
unprotected amount is ``amount x (1 - p)``, so ``protected + unprotected = whole``
exactly. Category zones overlap where categories overlap; only ``protected`` is the
union.

Densities are totals divided by the area *with data* in the zone (the layer's
``<layer>_valid_km2`` column when the grid has it, else ``area_km2``), as
`PlanningUnits.summary` does, so nodata (e.g. lakes without biomass data) does not
dilute a density. Every computation is a sum over units done with numpy; loops run
over features, zones and years only, never over units.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer._atomic import write_dir_atomic
from optimizer.errors import InputDataError, did_you_mean
from optimizer.grid import PlanningUnits
from optimizer.units import get_unit

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = [
    "TYPES",
    "GapReport",
    "Zones",
    "biodiversity_summary",
    "carbon_table",
    "ecosystem_table",
    "gap_analysis",
    "growth_table",
    "hotspots",
    "region_table",
    "species_table",
    "synergy_typology",
    "time_series_table",
    "unit_values",
    "zone_totals",
    "zones",
]

WHOLE, PROTECTED, UNPROTECTED = "whole", "protected", "unprotected"

#: Synergy types, in the order tables and legends show them.
TYPES: tuple[str, ...] = ("synergy", "carbon", "biodiversity", "low", "no_data")

# SI prefixes of the mass units we scale for readable totals.
_PREFIXES: dict[str, tuple[str, ...]] = {
    "MgC": ("MgC", "GgC", "TgC", "PgC"),
    "tCO2": ("tCO2", "ktCO2", "MtCO2", "GtCO2"),
}


# ============================================================== validation helpers

def _check_pu(pu: Any) -> PlanningUnits:
    if not isinstance(pu, PlanningUnits):
        raise InputDataError(f"pu must be PlanningUnits; got {type(pu).__name__}; build one with "
                             "build_grid() or read_grid()")
    return pu


def _check_share(name: str, value: Any, *, open_low: bool = False, open_high: bool = False) -> float:
    """A share in [0, 1] (ends optionally open), or a one-line `InputDataError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (low_ok and high_ok):
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        raise InputDataError(f"{name} must be a share in {lo}, {hi}; got {value!r}; "
                             f"give e.g. {name}=0.3 for 30%")
    return v


def _col(pu: PlanningUnits, name: str) -> np.ndarray:
    """A unit column as float64 with missing values as 0 (amounts: no data = none)."""
    if name not in pu.units.columns:
        raise InputDataError(f"grid: column {name!r} listed in pu.features is missing from "
                             "pu.units; rebuild the grid")
    a = pu.units[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(a, nan=0.0) if np.isnan(a).any() else a


def _valid_area(pu: PlanningUnits, feature: str) -> np.ndarray:
    """Area with data (km2) of a feature's layer per unit, for densities."""
    return _col(pu, _valid_column(pu, feature))


def _valid_column(pu: PlanningUnits, feature: str) -> str:
    """The column holding a feature's area with data: its own (bands whose nodata
    differs), else its layer's, else the unit area."""
    for name in (f"{feature}_valid_km2", f"{pu.features.at[feature, 'layer']}_valid_km2"):
        if name in pu.units.columns:
            return name
    return "area_km2"


def _features_of(pu: PlanningUnits, role: str | Sequence[str]) -> pd.DataFrame:
    roles = [role] if isinstance(role, str) else list(role)
    return pu.features[pu.features["role"].isin(roles)]


def _select(pu: PlanningUnits, role: str | Sequence[str], names: Sequence[str] | str | None,
            argument: str) -> list[str]:
    """Feature columns of ``role`` named by ``names`` (feature columns or layer names)."""
    feats = _features_of(pu, role)
    what = role if isinstance(role, str) else "/".join(role)
    if names is None:
        return list(feats.index)
    names = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for name in names:
        if name in feats.index:
            out.append(name)
        elif name in set(feats["layer"]):
            out.extend(feats.index[feats["layer"] == name])
        else:
            have = sorted(set(feats.index) | set(feats["layer"]))
            raise InputDataError(f"{argument}: unknown {what} layer {name!r}; this grid has: "
                                 f"{', '.join(have) or 'none'}; pick one of them")
    return list(dict.fromkeys(out))


def _stock_columns(pu: PlanningUnits, stock: Sequence[str] | str | None, *,
                   argument: str = "stock") -> list[str]:
    cols = _select(pu, "carbon_stock", stock, argument)
    if not cols:
        raise InputDataError(f"{argument}: the grid has no carbon_stock layer; add one "
                             "(e.g. biomass carbon in MgC/ha) to the manifest and rebuild")
    return cols


def _latest_uptake(pu: PlanningUnits, uptake: str | None = None) -> tuple[str, Any] | None:
    """(column, year) of the latest year of the first (or named) carbon_uptake layer."""
    feats = _features_of(pu, "carbon_uptake")
    if uptake is not None:
        feats = feats.loc[_select(pu, "carbon_uptake", uptake, "uptake")]
    if feats.empty:
        return None
    feats = feats[feats["layer"] == feats["layer"].iloc[0]]
    years = feats["year"]
    if years.notna().any():
        col = years.astype("Float64").idxmax()
        return str(col), int(years[col])
    return str(feats.index[0]), None


# ============================================================== readable units

def _scale(max_abs: float, unit: str, total_unit: str | None = None) -> tuple[float, str]:
    """Divisor and name of a readable unit for totals in ``unit`` (e.g. MgC -> PgC)."""
    base, sep, rest = unit.partition("/")
    suffix = f"/{rest}" if sep else ""
    names = _PREFIXES.get(base)
    if total_unit is not None:
        want = total_unit.partition("/")[0]
        if names is None or want not in names:
            choices = [n + suffix for n in names] if names else [unit]
            raise InputDataError(f"total_unit: {total_unit!r} does not fit totals in {unit}; "
                                 f"use one of: {', '.join(choices)}")
        step = names.index(want)
        return 1000.0 ** step, names[step] + suffix
    if names is None:
        return 1.0, unit
    step = 0
    while step < len(names) - 1 and abs(max_abs) >= 1000.0 ** (step + 1):
        step += 1
    return 1000.0 ** step, names[step] + suffix


def _density_unit(unit: str) -> tuple[float, str]:
    """Divisor from ``unit``/km2 to the study's density unit, and its name."""
    base, sep, rest = unit.partition("/")
    suffix = f"/{rest}" if sep else ""
    if base == "MgC":  # 1 MgC/km2 = 1 gC/m2 = 0.001 kgC/m2
        return 1000.0, f"kgC/m2{suffix}"
    return 1.0, f"{base}/km2{suffix}"


# ============================================================== zones

@dataclass(frozen=True)
class Zones:
    """The zones of a gap analysis and each unit's share in each.

    Attributes
    ----------
    names : tuple of str
        Zone names: ``whole``, the protected categories, ``protected``, ``unprotected``.
    kinds : tuple of str
        ``whole``, ``category``, ``protected`` or ``unprotected`` per zone.
    fractions : numpy.ndarray
        Units x zones share of each unit in each zone (0-1).
    network : tuple of str
        The protected layers whose union is the ``protected`` zone.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    fractions: np.ndarray
    network: tuple[str, ...]

    @property
    def protected(self) -> np.ndarray:
        """Protected fraction of each unit (the union of the network)."""
        return self.fractions[:, self.names.index(PROTECTED)]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Zone sums of a per-unit quantity (``values`` x share in each zone)."""
        return self.fractions.T @ values


def _protected_layers(pu: PlanningUnits) -> list[str]:
    layers = [d["name"] for d in pu.meta.get("layers", []) if d.get("role") == "protected"]
    if not layers:
        raise InputDataError("grid has no protected layer (no layer with role 'protected' in "
                             "pu.meta['layers']); add the protected areas to the manifest with "
                             "role = \"protected\" and rebuild the grid")
    return layers


def _category_columns(pu: PlanningUnits, layer: str, others: Sequence[str]) -> dict[str, str]:
    """Category slug -> fraction column of one protected layer."""
    pat = re.compile(rf"^{re.escape(layer)}_(.+)_fraction$")
    taken = {f"{o}_fraction" for o in others}
    out = {}
    for c in pu.units.columns:
        m = pat.match(str(c))
        if m and c not in taken and not any(str(c).startswith(f"{o}_") for o in others
                                             if len(o) > len(layer) and o.startswith(layer)):
            out[m.group(1)] = str(c)
    return out


def zones(pu: PlanningUnits, *, network: str | Sequence[str] | None = None,
          categories: Sequence[str] | None = None) -> Zones:
    """Zones of a gap analysis: whole area, protected categories, protected, unprotected.

    Parameters
    ----------
    pu : PlanningUnits
        Grid with at least one layer of role ``protected``.
    network : str or sequence of str, optional
        Protected layers whose union is the ``protected`` zone. Default: all of them
        (the grid's ``pa_fraction``). The grid stores the union of all protected
        layers and each layer's own fraction, so a network is one layer or all.
    categories : sequence of str, optional
        Protected categories to report as their own zones (default: all). With one
        protected layer a category is its slug (``national_park``); with several,
        ``<layer>.<slug>``. A raster protected layer without categories is a category
        of its own when the grid has several protected layers.

    Returns
    -------
    Zones

    Raises
    ------
    InputDataError
        No protected layer, unknown network layer or category.
    """
    pu = _check_pu(pu)
    layers = _protected_layers(pu)
    n = len(pu.units)
    if network is None:
        chosen = list(layers)
    else:
        chosen = [network] if isinstance(network, str) else list(network)
        bad = [c for c in chosen if c not in layers]
        if bad:
            raise InputDataError(f"network: unknown protected layer(s) {bad}; this grid's "
                                 f"protected layers are: {', '.join(layers)}")
    if set(chosen) == set(layers):
        prot = _col(pu, "pa_fraction")
    elif (len(chosen) == 1 and f"{chosen[0]}_fraction" in pu.units.columns
          and chosen[0] != "pa"):  # "pa_fraction" is the union of all layers, not layer "pa"
        prot = _col(pu, f"{chosen[0]}_fraction")
    else:
        raise InputDataError(f"network: {chosen} is a part of the protected layers {layers} whose "
                             "union the grid does not store; give one layer or all, or rebuild "
                             "the grid with only the layers of this network")
    prot = np.clip(prot, 0.0, 1.0)

    cats: dict[str, str] = {}
    for layer in chosen:
        own = _category_columns(pu, layer, [x for x in layers if x != layer])
        if not own and len(chosen) > 1 and f"{layer}_fraction" in pu.units.columns:
            cats[layer] = f"{layer}_fraction"
        for slug, col in own.items():
            cats[slug if len(chosen) == 1 else f"{layer}.{slug}"] = col
    if categories is not None:
        wanted = [categories] if isinstance(categories, str) else list(categories)
        bad = [c for c in wanted if c not in cats]
        if bad:
            raise InputDataError(f"categories: unknown protected category {bad}; this grid has: "
                                 f"{', '.join(cats) or 'none'}{did_you_mean(str(bad[0]), cats)}")
        cats = {c: cats[c] for c in wanted}
    reserved = {WHOLE, PROTECTED, UNPROTECTED}
    cats = {(f"category_{k}" if k in reserved else k): v for k, v in cats.items()}

    frac = np.empty((n, len(cats) + 3))
    frac[:, 0] = 1.0
    for j, col in enumerate(cats.values(), start=1):
        frac[:, j] = np.clip(_col(pu, col), 0.0, 1.0)
    frac[:, -2] = prot
    frac[:, -1] = 1.0 - prot
    names = (WHOLE, *cats, PROTECTED, UNPROTECTED)
    kinds = (WHOLE, *(["category"] * len(cats)), PROTECTED, UNPROTECTED)
    return Zones(names, kinds, frac, tuple(chosen))


def zone_totals(pu: PlanningUnits, columns: Sequence[str], *, zones_: Zones | None = None,
                network: str | Sequence[str] | None = None,
                categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Totals of amount columns per zone (a tidy building block of the other tables).

    Parameters
    ----------
    pu : PlanningUnits
    columns : sequence of str
        Feature columns of ``pu.features``.
    zones_ : Zones, optional
        Precomputed zones (else built from ``network`` and ``categories``).
    network, categories
        See `zones`.

    Returns
    -------
    pandas.DataFrame
        One row per column x zone: ``feature``, ``layer``, ``year``, ``zone``,
        ``zone_kind``, ``area_km2`` (zone area), ``valid_km2`` (zone area with data),
        ``amount`` and ``amount_unit`` (the feature's unit, e.g. MgC).
    """
    pu = _check_pu(pu)
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    unknown = [c for c in columns if c not in pu.features.index]
    if unknown:
        raise InputDataError(f"columns: unknown feature column(s) {unknown}; see pu.features.index")
    area = z.sums(_col(pu, "area_km2"))
    frames = []
    valid_cache: dict[str, np.ndarray] = {}
    for c in columns:
        f = pu.features.loc[c]
        layer = str(f["layer"])
        valid_name = _valid_column(pu, c)
        if valid_name not in valid_cache:
            valid_cache[valid_name] = z.sums(_col(pu, valid_name))
        frames.append(pd.DataFrame({
            "feature": c, "layer": layer, "year": f["year"], "zone": z.names,
            "zone_kind": z.kinds, "area_km2": area, "valid_km2": valid_cache[valid_name],
            "amount": z.sums(_col(pu, c)), "amount_unit": f["unit"],
        }))
    cols = ["feature", "layer", "year", "zone", "zone_kind", "area_km2", "valid_km2", "amount",
            "amount_unit"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["year"] = out["year"].astype("Int64")
    return out[cols]


def _by_zone(df: pd.DataFrame, key: str, value: str) -> pd.Series:
    """``value`` of each row's whole-area row with the same ``key``."""
    whole = df[df["zone"] == WHOLE].set_index(key)[value]
    return df[key].map(whole)


def _safe_div(a: Any, b: Any) -> Any:
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
    pu = _check_pu(pu)
    cols = _stock_columns(pu, layers, argument="layers")
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    base = zone_totals(pu, cols, zones_=z)
    base["density_MgC_km2"] = _safe_div(base["amount"], base["valid_km2"])
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
    whole_area = float(z.sums(_col(pu, "area_km2"))[0])
    df["area_share"] = df["area_km2"] / whole_area if whole_area else np.nan
    df["share"] = _safe_div(df["amount"], _by_zone(df, "name", "amount"))
    df["density_ratio"] = _safe_div(df["density_MgC_km2"], _by_zone(df, "name", "density_MgC_km2"))
    wholes = df.loc[df["zone"] == WHOLE, "amount"]
    factor, unit = _scale(float(wholes.abs().max()) if len(wholes) else 0.0, "MgC", total_unit)
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
        (kgC/m2/yr for carbon, tCO2/km2/yr for emissions) and ``density_ratio``.
        Empty when the grid has no such layer.
    """
    pu = _check_pu(pu)
    cols = _select(pu, roles, layers, "layers")
    if not cols:
        return pd.DataFrame(columns=["layer", "year", "feature", "zone", "zone_kind", "area_km2",
                                     "amount", "amount_unit", "total", "total_unit", "share",
                                     "density", "density_unit", "density_ratio"])
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    df = zone_totals(pu, cols, zones_=z)
    df["share"] = _safe_div(df["amount"], _by_zone(df, "feature", "amount"))
    dens = _safe_div(df["amount"], df["valid_km2"])
    df["total"] = np.nan
    df["total_unit"] = ""
    df["density"] = np.nan
    df["density_unit"] = ""
    for idx in df.groupby("layer", sort=False).groups.values():
        unit = str(df.loc[idx, "amount_unit"].iloc[0])
        wholes = df.loc[idx][df.loc[idx, "zone"] == WHOLE]["amount"]
        factor, tunit = _scale(float(wholes.abs().max()), unit)
        dfac, dunit = _density_unit(unit)
        df.loc[idx, "total"] = df.loc[idx, "amount"] / factor
        df.loc[idx, "total_unit"] = tunit
        df.loc[idx, "density"] = dens[np.asarray(df.index.get_indexer(idx))] / dfac
        df.loc[idx, "density_unit"] = dunit
    df["density_ratio"] = _safe_div(df["density"], _by_zone(df, "feature", "density"))
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
    pu = _check_pu(pu)
    target = _check_share("target", target)
    lc = _features_of(pu, "land_cover")
    if lc.empty:
        raise InputDataError("grid has no land_cover layer; add one (role = \"land_cover\", "
                             "unit = \"class\") to the manifest and rebuild")
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    area_unit = _col(pu, "area_km2")
    has_stock = not _features_of(pu, "carbon_stock").empty or stock is not None
    carbon = (sum(_col(pu, c) for c in _stock_columns(pu, stock)) if has_stock else None)
    rows = []
    for col, f in lc.iterrows():
        km2 = _col(pu, str(col))
        area = float(km2.sum())
        prot = float(km2 @ p)
        row: dict[str, Any] = {"ecosystem": f["label"], "feature": col, "area_km2": area,
                               "protected_km2": prot}
        if carbon is not None:
            # Carbon of the class in a unit: stock x class share of the unit's area.
            share = np.divide(km2, area_unit, out=np.zeros_like(km2), where=area_unit > 0)
            c = carbon * share
            row["carbon_MgC"] = float(c.sum())
            row["carbon_protected_MgC"] = float(c @ p)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["share_protected"] = _safe_div(df["protected_km2"], df["area_km2"])
    df["target"] = target
    df["shortfall_km2"] = np.clip(target * df["area_km2"] - df["protected_km2"], 0, None)
    df["meets_target"] = df["share_protected"] >= target - 1e-12
    out_cols = ["ecosystem", "feature", "area_km2", "protected_km2", "share_protected", "target",
                "shortfall_km2", "meets_target"]
    if carbon is not None:
        factor, unit = _scale(float(df["carbon_MgC"].abs().max()), "MgC")
        df["carbon_total"] = df["carbon_MgC"] / factor
        df["carbon_protected"] = df["carbon_protected_MgC"] / factor
        df["carbon_unit"] = unit
        df["carbon_share_protected"] = _safe_div(df["carbon_protected_MgC"], df["carbon_MgC"])
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
    pu = _check_pu(pu)
    region = pu.units["region"] if "region" in pu.units.columns else None
    if region is None or region.isna().all():
        raise InputDataError("grid has no region layer (column 'region' is empty); add one "
                             "(role = \"region\") to the manifest and rebuild")
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    codes, names = pd.factorize(region, sort=True)  # missing region -> -1
    ok = codes >= 0
    k = len(names)

    def per_region(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes[ok], weights=values[ok], minlength=k)

    area = _col(pu, "area_km2")
    df = pd.DataFrame({"region": list(names), "area_km2": per_region(area),
                       "protected_km2": per_region(area * p)})
    df["land_share_protected"] = _safe_div(df["protected_km2"], df["area_km2"])
    if stock is not None or not _features_of(pu, "carbon_stock").empty:
        carbon = sum(_col(pu, c) for c in _stock_columns(pu, stock))
        tot = per_region(carbon)
        factor, unit = _scale(float(np.abs(tot).max()) if k else 0.0, "MgC")
        df["carbon_total"] = tot / factor
        df["carbon_unit"] = unit
        df["carbon_share_protected"] = _safe_div(per_region(carbon * p), tot)
    latest = _latest_uptake(pu, uptake)
    if latest is not None:
        col, year = latest
        npp = _col(pu, col)
        tot = per_region(npp)
        factor, unit = _scale(float(np.abs(tot).max()) if k else 0.0,
                              str(pu.features.at[col, "unit"]))
        df["npp_year"] = pd.array([year] * k, dtype="Int64")
        df["npp_total"] = tot / factor
        df["npp_unit"] = unit
        df["npp_share_protected"] = _safe_div(per_region(npp * p), tot)
    return df


# ============================================================== biodiversity

def _is_intensive(unit_name: str) -> bool:
    try:
        return get_unit(unit_name).kind == "intensive"
    except InputDataError:
        return False


def _species_columns(pu: PlanningUnits, features: Sequence[str] | str | None) -> list[str]:
    bio = _features_of(pu, "biodiversity")
    if features is not None:
        return _select(pu, "biodiversity", features, "features")
    # Intensive layers (richness, an index) are values per area, not ranges: not species.
    return [c for c, f in bio.iterrows() if not _is_intensive(str(f["source_unit"]))]


def _richness_column(pu: PlanningUnits) -> str | None:
    bio = _features_of(pu, "biodiversity")
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
    pu = _check_pu(pu)
    target = _check_share("target", target)
    cols = _species_columns(pu, features)
    z = zones_ if zones_ is not None else zones(pu, network=network)
    p = z.protected
    tot = np.zeros(len(cols))
    prot = np.zeros(len(cols))
    for k, c in enumerate(cols):
        a = _col(pu, c)
        tot[k], prot[k] = a.sum(), a @ p
    f = pu.features.loc[cols]
    df = pd.DataFrame({
        "feature": cols, "layer": f["layer"].to_numpy(), "label": f["label"].to_numpy(),
        "total": tot, "unit": f["unit"].to_numpy(), "protected": prot,
        "share_protected": _safe_div(prot, tot),
    })
    df["target"] = target
    df["meets_target"] = df["share_protected"] >= target - 1e-12
    df["shortfall"] = np.clip(target * df["total"] - df["protected"], 0, None)
    return df


def _richness_per_unit(pu: PlanningUnits, species: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """(richness x km2 per unit, area with data per unit, how it was measured)."""
    rc = _richness_column(pu)
    if rc is not None:
        return _col(pu, rc), _valid_area(pu, rc), f"richness layer {rc!r}"
    count = np.zeros(len(pu.units))
    for c in species:
        count += _col(pu, c) > 0
    area = _col(pu, "area_km2")
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
    pu = _check_pu(pu)
    z = zones_ if zones_ is not None else zones(pu, network=network)
    if species is None:
        species = species_table(pu, target=target, zones_=z)
    n = len(species)
    met = int(species["meets_target"].sum()) if n else 0
    tgt = float(species["target"].iloc[0]) if n else _check_share("target", target)
    rows: list[tuple[str, float, str]] = [
        ("species features", n, "count"),
        (f"species meeting the {tgt:.0%} target", met, "count"),
        ("share of species meeting the target", met / n if n else np.nan, "fraction"),
        ("mean protected share of a species", float(species["share_protected"].mean()) if n
         else np.nan, "fraction"),
        ("median protected share of a species", float(species["share_protected"].median()) if n
         else np.nan, "fraction"),
    ]
    rich, valid, how = _richness_per_unit(pu, list(species["feature"]))
    if rich.any():
        dens = _safe_div(z.sums(rich), z.sums(valid))
        whole = dens[0]
        for name, d in zip(z.names, dens, strict=True):
            rows.append((f"mean richness, {name}", float(d), "species"))
        ip, iu = z.names.index(PROTECTED), z.names.index(UNPROTECTED)
        rows.append(("richness ratio protected / whole", float(dens[ip] / whole), "ratio"))
        rows.append(("richness ratio protected / unprotected", float(_safe_div(dens[ip], dens[iu])),
                     "ratio"))
        rows.append((f"richness source: {how}", np.nan, ""))
    return pd.DataFrame(rows, columns=["metric", "value", "unit"])


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
        ``npp_kgC_m2_yr`` and ``bio_value``; ``df.attrs["units"]`` names each
        value's unit and ``df.attrs["sources"]`` where it came from.
    """
    pu = _check_pu(pu)
    if bio_value not in ("auto", "richness", "rarity"):
        raise InputDataError(f"bio_value must be 'auto', 'richness' or 'rarity'; got {bio_value!r}")
    u = pu.units
    out = pd.DataFrame({"pu_id": u["pu_id"].to_numpy(), "area_km2": _col(pu, "area_km2"),
                        "pa_fraction": np.clip(_col(pu, "pa_fraction"), 0, 1)})
    units: dict[str, str] = {}
    sources: dict[str, str] = {}
    if stock is not None or not _features_of(pu, "carbon_stock").empty:
        cols = _stock_columns(pu, stock)
        dens = np.zeros(len(u))
        any_valid = np.zeros(len(u), dtype=bool)
        for c in cols:
            valid = _valid_area(pu, c)
            ok = valid > 0
            dens += np.divide(_col(pu, c), valid, out=np.zeros(len(u)), where=ok)
            any_valid |= ok
        out["carbon_kgC_m2"] = np.where(any_valid, dens / 1000.0, np.nan)
        units["carbon_kgC_m2"] = "kgC/m2"
        sources["carbon_kgC_m2"] = " + ".join(cols)
    latest = _latest_uptake(pu, uptake)
    if latest is not None:
        col, year = latest
        valid = _valid_area(pu, col)
        dfac, dunit = _density_unit(str(pu.features.at[col, "unit"]))
        out["npp_kgC_m2_yr"] = np.divide(_col(pu, col), valid * dfac,
                                         out=np.full(len(u), np.nan), where=valid > 0)
        units["npp_kgC_m2_yr"] = dunit
        sources["npp_kgC_m2_yr"] = col if year is None else f"{col} ({year})"
    species = _species_columns(pu, None)
    rc = _richness_column(pu)
    mode = bio_value if bio_value != "auto" else ("richness" if rc is not None else "rarity")
    if mode == "richness" and (rc is not None or species):
        rich, valid, how = _richness_per_unit(pu, species)
        out["bio_value"] = np.divide(rich, valid, out=np.full(len(u), np.nan), where=valid > 0)
        units["bio_value"] = "species"
        sources["bio_value"] = how
    elif mode == "rarity" and species:
        area = out["area_km2"].to_numpy()
        acc = np.zeros(len(u))
        for c in species:
            a = _col(pu, c)
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


def _top_flags(values: np.ndarray, weights: np.ndarray, top: float) -> tuple[np.ndarray, float]:
    """Units in the top ``top`` share of the area (with a value), by value; and the cutoff."""
    ok = ~np.isnan(values)
    if not ok.any():
        return np.zeros(values.size, dtype=bool), np.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(-v, kind="stable")
    cum = np.cumsum(w[order])
    # The cutoff is the value at which the ranked area first reaches the top share,
    # so the flagged area is the smallest one covering it (ties all flagged).
    k = min(int(np.searchsorted(cum, top * cum[-1] * (1 - 1e-12))), v.size - 1)
    cutoff = float(v[order][k])
    return ok & (np.nan_to_num(values, nan=-np.inf) >= cutoff), cutoff


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    ok = ~np.isnan(values)
    if not ok.any():
        return np.nan
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    k = min(int(np.searchsorted(cum, q * cum[-1])), v.size - 1)
    return float(v[order][k])


_CRITERIA = {"carbon": "carbon_kgC_m2", "npp": "npp_kgC_m2_yr", "biodiversity": "bio_value"}


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
    pu = _check_pu(pu)
    top = _check_share("top", top, open_low=True)
    pa_threshold = _check_share("pa_threshold", pa_threshold, open_low=True)
    flags = values.copy() if values is not None else unit_values(pu, bio_value=bio_value)
    area = flags["area_km2"].to_numpy()
    pa = flags["pa_fraction"].to_numpy()
    unprotected = pa < pa_threshold
    has_carbon = "carbon_kgC_m2" in flags
    carbon_amount = (sum(_col(pu, c) for c in _stock_columns(pu, None)) if has_carbon else None)
    whole_carbon = float(carbon_amount.sum()) if carbon_amount is not None else np.nan
    rows = []
    any_gap = np.zeros(len(flags), dtype=bool)
    any_top = np.zeros(len(flags), dtype=bool)
    crit_units = flags.attrs.get("units", {})
    region = pu.units["region"] if "region" in pu.units.columns else None
    codes, names = (pd.factorize(region, sort=True) if region is not None
                    else (np.full(len(flags), -1), pd.Index([])))
    region_rows = []

    def summarise(name: str, top_f: np.ndarray, gap_f: np.ndarray, unit: str, cutoff: float) -> None:
        top_area = float(area[top_f].sum())
        gap_c = float((carbon_amount * (1 - pa))[gap_f].sum()) if carbon_amount is not None else np.nan
        rows.append({
            "criterion": name, "value_unit": unit, "cutoff": cutoff,
            "top_units": int(top_f.sum()), "top_area_km2": top_area,
            "top_protected_share": float((area * pa)[top_f].sum()) / top_area if top_area else np.nan,
            "gap_units": int(gap_f.sum()), "gap_area_km2": float(area[gap_f].sum()),
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
    pu = _check_pu(pu)
    if method not in ("quantile", "kmeans"):
        raise InputDataError(f"method must be 'quantile' or 'kmeans'; got {method!r}")
    quantile = _check_share("quantile", quantile, open_low=True, open_high=True)
    vals = values if values is not None else unit_values(pu, bio_value=bio_value)
    for col, what in (("carbon_kgC_m2", "a carbon_stock"), ("bio_value", "a biodiversity")):
        if col not in vals:
            raise InputDataError(f"synergy typology needs {what} layer; the grid has none; add "
                                 "one to the manifest and rebuild")
    c = vals["carbon_kgC_m2"].to_numpy(dtype=float)
    b = vals["bio_value"].to_numpy(dtype=float)
    area = vals["area_km2"].to_numpy()
    ok = ~np.isnan(c) & ~np.isnan(b)
    # Integer codes into TYPES: cheaper than strings for a million units.
    codes = np.full(len(vals), TYPES.index("no_data"), dtype=np.int64)
    if ok.any():
        if method == "quantile":
            hc = c >= _weighted_quantile(np.where(ok, c, np.nan), area, quantile)
            hb = b >= _weighted_quantile(np.where(ok, b, np.nan), area, quantile)
            # synergy 0, carbon 1, biodiversity 2, low 3 (the order of TYPES)
            codes[ok] = np.where(hc, 0, 2)[ok] + np.where(hb, 0, 1)[ok]
        else:
            codes[ok] = _kmeans_types(c[ok], b[ok], seed)
    types = np.array(TYPES, dtype=object)[codes]
    z = zones_ if zones_ is not None else zones(pu)
    pa = z.protected
    carbon = sum(_col(pu, col) for col in _stock_columns(pu, None))
    weights = {WHOLE: np.ones(len(vals)), PROTECTED: pa, UNPROTECTED: 1 - pa}
    rows = []
    for zone, w in weights.items():
        a = np.bincount(codes, weights=area * w, minlength=len(TYPES))
        cc = np.bincount(codes, weights=carbon * w, minlength=len(TYPES))
        nu = np.bincount(codes, weights=(w > 0).astype(float), minlength=len(TYPES))
        for k, t in enumerate(TYPES):
            rows.append({"type": t, "zone": zone, "units": int(nu[k]), "area_km2": float(a[k]),
                         "area_share": float(a[k] / a.sum()) if a.sum() else np.nan,
                         "carbon_MgC": float(cc[k]),
                         "carbon_share": float(cc[k] / cc.sum()) if cc.sum() else np.nan})
    table = pd.DataFrame(rows)
    whole_area = table[table["zone"] == WHOLE].set_index("type")["area_km2"]
    table["protected_share"] = _safe_div(
        table["type"].map(table[table["zone"] == PROTECTED].set_index("type")["area_km2"]),
        table["type"].map(whole_area))
    present = table["type"].map(whole_area) > 0
    table = table[present | (table["type"] != "no_data")].reset_index(drop=True)
    return table, pd.Series(types, index=pu.units.index, name="synergy_type")


# ============================================================== report

@dataclass
class GapReport:
    """All tables of a gap analysis, with export to CSV, Markdown and PNG.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        Tidy tables by name: ``carbon``, ``time_series``, ``growth``, ``ecosystems``,
        ``regions``, ``species``, ``biodiversity``, ``hotspots``,
        ``hotspots_by_region``, ``typology`` (those the grid has inputs for).
    units : pandas.DataFrame
        Per-unit values, hotspot flags and ``synergy_type``, aligned with the grid's
        units (the map layer without geometry).
    findings : list of str
        One-line findings (the density ratio of each layer inside protection ...).
    notes : list of str
        What was skipped and why.
    settings : dict
        The arguments of the analysis.
    geometry : geopandas.GeoSeries, optional
        Unit geometries, for `map_layer` and maps of non-square grids.
    """

    tables: dict[str, pd.DataFrame]
    units: pd.DataFrame
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None

    def headline(self) -> str:
        """The carbon table (Table 1 style) as text, or a note when there is none."""
        if "carbon" in self.tables:
            return format_carbon_table(self.tables["carbon"])
        return "no carbon_stock layer: no carbon table"

    def map_layer(self) -> gpd.GeoDataFrame:
        """Per-unit values, flags and types with the unit geometries (for GIS or maps)."""
        import geopandas as gpd

        if self.geometry is None:
            raise InputDataError("this GapReport holds no geometry; run gap_analysis on a grid")
        return gpd.GeoDataFrame(self.units.copy(), geometry=self.geometry.values,
                                crs=self.geometry.crs)

    def to_markdown(self) -> str:
        """A Markdown summary: findings, then every table."""
        s = self.settings
        out = ["# Gap analysis of the protected-area network", ""]
        out.append(f"Network: {', '.join(s.get('network', []))}; target {s.get('target', 0):.0%}; "
                   f"hotspots: top {s.get('top', 0):.0%} of the area, unprotected below "
                   f"{s.get('pa_threshold', 0):.0%} cover; typology: {s.get('typology')}.")
        out.append("")
        out.append("Partial protection counts by covered fraction (uniform density inside a "
                   "unit); densities are over the area with data.")
        out += ["", "## Findings", ""] + [f"- {f}" for f in self.findings]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        for name, df in self.tables.items():
            out += ["", f"## {name.replace('_', ' ').capitalize()}", "", _markdown_table(df)]
        return "\n".join(out) + "\n"

    def figures(self) -> dict[str, Figure]:
        """Figures by file stem: shares, density ratios, time series, maps."""
        return _figures(self)

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write every table as CSV, ``summary.md``, per-unit values and PNG figures.

        Files: ``<table>.csv`` per table, ``units.parquet`` (per-unit values, hotspot
        flags and synergy type, keyed by ``pu_id``: join it to the grid for a map),
        ``gap_units.csv`` (the unprotected hotspot units), ``summary.md`` and
        ``shares.png``, ``density_ratio.png``, ``time_series.png``,
        ``map_hotspots.png``, ``map_typology.png`` (those the data allow), and the
        output marker ``carbonpark-output.json``.

        The folder is written beside ``out_dir`` and renamed into place, so a reader
        never sees a half-written report and a failed write leaves the old one intact.

        Parameters
        ----------
        out_dir : str or Path
            The report folder: new, empty, or a gap report written earlier by carbonpark.
        overwrite : bool
            Replace whatever is at ``out_dir`` (a file, a folder of other things).

        Returns
        -------
        list of pathlib.Path
            The files written.

        Raises
        ------
        OutputError
            ``out_dir`` is taken by something that is not a carbonpark gap report (and
            ``overwrite`` is False), or writing failed.
        """
        names: list[str] = []

        def fill(tmp: Path) -> None:
            def text(name: str, content: str) -> None:
                (tmp / name).write_text(content, encoding="utf-8", newline="")
                names.append(name)

            for name, df in self.tables.items():
                text(f"{name}.csv", df.to_csv(index=False))
            # Per-unit values as Parquet (a CSV of a million units takes seconds to write);
            # the gap units alone, the table a planner reads, as CSV.
            frame = self.units.copy()
            frame.attrs = {}  # attrs of nested dicts are not Parquet metadata
            frame.to_parquet(tmp / "units.parquet", index=False)
            names.append("units.parquet")
            if "gap_any" in self.units:
                gaps = self.units[self.units["gap_any"].to_numpy()]
                text("gap_units.csv", gaps.to_csv(index=False))
            text("summary.md", self.to_markdown())
            for name, fig in self.figures().items():
                fig.savefig(tmp / f"{name}.png", format="png", dpi=110, bbox_inches="tight")
                names.append(f"{name}.png")

        out = write_dir_atomic(out_dir, "gap", fill, overwrite=overwrite)
        return [out / name for name in names]


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(v)
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        if a == 0:
            return "0"
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 0.01:
            return f"{v:.4g}"
        return f"{v:.3e}"
    return str(v).replace("|", "\\|")


def _markdown_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    """A pipe table (no dependency on tabulate); long tables are cut with a note."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |"
            for row in df.head(max_rows).itertuples(index=False)]
    if len(df) > max_rows:
        body.append(f"\n({len(df) - max_rows} more rows in the CSV)")
    return "\n".join([head, sep, *body])


# ============================================================== figures

_GAP_COLOURS = {"carbon": "#d95f02", "npp": "#e6ab02", "biodiversity": "#1b9e77"}
_TYPE_COLOURS = {"synergy": "#7b3294", "carbon": "#d95f02", "biodiversity": "#1b9e77",
                 "low": "#d4d4d4", "no_data": "#ffffff"}


def _bar_chart(df: pd.DataFrame, value: str, ylabel: str, title: str,
               hline: float | None = None) -> Figure:
    from matplotlib.figure import Figure

    zones_ = list(dict.fromkeys(df["zone"]))
    layers = list(dict.fromkeys(df["layer"]))
    fig = Figure(figsize=(max(6, 1.2 * len(layers) * max(1, len(zones_)) ** 0.5 + 3), 4))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(zones_))
    x = np.arange(len(layers))
    for i, zone in enumerate(zones_):
        sub = df[df["zone"] == zone].set_index("layer").reindex(layers)
        ax.bar(x + i * width - 0.4 + width / 2, sub[value].to_numpy(dtype=float), width, label=zone)
    if hline is not None:
        ax.axhline(hline, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, layers, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def _indicator_rows(rep: GapReport) -> pd.DataFrame:
    """Carbon layers + latest year of each time-series layer, zones other than whole."""
    parts = []
    if "carbon" in rep.tables:
        parts.append(rep.tables["carbon"][["layer", "zone", "share", "density_ratio"]])
    ts = rep.tables.get("time_series")
    if ts is not None and len(ts):
        last = ts[ts["year"].isna() | (ts["year"] == ts.groupby("layer")["year"].transform("max"))]
        last = last.assign(layer=[f"{lay} {y}" if pd.notna(y) else lay
                                  for lay, y in zip(last["layer"], last["year"], strict=True)])
        parts.append(last[["layer", "zone", "share", "density_ratio"]])
    if not parts:
        return pd.DataFrame(columns=["layer", "zone", "share", "density_ratio"])
    df = pd.concat(parts, ignore_index=True)
    return df[df["zone"] != WHOLE]


def _unit_raster(rep: GapReport, values: np.ndarray) -> np.ndarray | None:
    u = rep.units
    if "row" not in u or "col" not in u:
        return None
    rows, cols = u["row"].to_numpy(), u["col"].to_numpy()
    grid = np.full((int(rows.max()) + 1, int(cols.max()) + 1), np.nan)
    grid[rows, cols] = values
    return grid


def _category_map(rep: GapReport, codes: np.ndarray, labels: list[str], colours: list[str],
                  title: str) -> Figure:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(8.5, 6))
    ax = fig.add_subplot()
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))
    raster = _unit_raster(rep, codes.astype(float))
    pa = rep.units["pa_fraction"].to_numpy()
    if raster is not None:
        ax.imshow(raster, cmap=cmap, norm=norm, interpolation="nearest")
        prot = _unit_raster(rep, pa)
        if prot is not None and np.nanmax(prot) >= 0.5:
            ax.contour(np.nan_to_num(prot), levels=[0.5], colors="k", linewidths=0.5)
    elif rep.geometry is not None:
        gdf = rep.map_layer()
        gdf.assign(_code=codes).plot(ax=ax, column="_code", cmap=cmap, norm=norm, linewidth=0)
        gdf[pa >= 0.5].boundary.plot(ax=ax, color="k", linewidth=0.3)
    ax.set_axis_off()
    ax.set_title(title)
    present = set(np.unique(codes).tolist())
    ax.legend(handles=[Patch(facecolor=c, edgecolor="0.5", label=lab)
                       for k, (lab, c) in enumerate(zip(labels, colours, strict=True))
                       if k in present],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              title="black line: protected ≥ 50%", title_fontsize=7)
    return fig


def _figures(rep: GapReport) -> dict[str, Figure]:
    from matplotlib.figure import Figure

    figs: dict[str, Figure] = {}
    ind = _indicator_rows(rep)
    if len(ind):
        sh = ind.assign(share=100 * ind["share"])
        figs["shares"] = _bar_chart(sh, "share", "share of whole-area total (%)",
                                    "Share of each layer inside each zone")
        figs["density_ratio"] = _bar_chart(ind, "density_ratio", "zone density / whole-area density",
                                           "Density inside vs whole area", hline=1.0)
    ts = rep.tables.get("time_series")
    if ts is not None and len(ts) and ts["year"].notna().any():
        layers = list(dict.fromkeys(ts.loc[ts["year"].notna(), "layer"]))
        fig = Figure(figsize=(5 * len(layers), 4))
        for i, layer in enumerate(layers, start=1):
            ax = fig.add_subplot(1, len(layers), i)
            sub = ts[(ts["layer"] == layer) & ts["year"].notna()]
            for zone, g in sub.groupby("zone", sort=False):
                ax.plot(g["year"].astype(int), g["density"], marker="o", label=zone)
            ax.set_title(layer)
            ax.set_xlabel("year")
            ax.set_ylabel(f"density ({sub['density_unit'].iloc[0]})")
            ax.legend(fontsize=8)
        figs["time_series"] = fig
    u = rep.units
    if "gap_any" in u:
        pa_thr = float(rep.settings.get("pa_threshold", 0.5))
        crit = [c for c in ("carbon", "npp", "biodiversity") if f"gap_{c}" in u]
        n_gaps = sum(u[f"gap_{c}"].to_numpy().astype(int) for c in crit)
        code = np.zeros(len(u), dtype=int)  # 0 other
        code[u["pa_fraction"].to_numpy() >= pa_thr] = 1
        for k, c in enumerate(crit, start=2):
            code[u[f"gap_{c}"].to_numpy() & (n_gaps == 1)] = k
        code[n_gaps >= 2] = len(crit) + 2
        labels = ["other", "protected", *[f"gap: {c}" for c in crit], "gap: 2+ criteria"]
        colours = ["#f0f0f0", "#9e9e9e", *[_GAP_COLOURS[c] for c in crit], "#7b3294"]
        figs["map_hotspots"] = _category_map(
            rep, code, labels, colours,
            f"Unprotected hotspots (top {rep.settings.get('top', 0.1):.0%})")
    if "synergy_type" in u:
        code = pd.Categorical(u["synergy_type"], categories=list(TYPES)).codes
        figs["map_typology"] = _category_map(rep, code, list(TYPES),
                                             [_TYPE_COLOURS[t] for t in TYPES],
                                             "Carbon x biodiversity typology")
    return figs


# ============================================================== the whole analysis

def _findings(tables: dict[str, pd.DataFrame]) -> list[str]:
    out = []
    carbon = tables.get("carbon")
    if carbon is not None:
        for _, r in carbon[carbon["zone"] == PROTECTED].iterrows():
            out.append(f"{r['layer']} density inside protection is {r['density_ratio']:.2f}x the "
                       f"whole area ({r['share']:.1%} of its stock on {r['area_share']:.1%} of the "
                       "land)")
    ts = tables.get("time_series")
    if ts is not None and len(ts):
        for layer, g in ts.groupby("layer", sort=False):
            last = g[g["year"] == g["year"].max()] if g["year"].notna().any() else g
            r = last[last["zone"] == PROTECTED].iloc[0]
            when = f" in {int(r['year'])}" if pd.notna(r["year"]) else ""
            out.append(f"{layer} density inside protection{when} is {r['density_ratio']:.2f}x the "
                       f"whole area ({r['share']:.1%} of the total)")
    growth = tables.get("growth")
    if growth is not None and len(growth):
        span = growth[growth["span"]]
        for layer, g in span.groupby("layer", sort=False):
            gi = g[g["zone"] == PROTECTED]
            go = g[g["zone"] == UNPROTECTED]
            if len(gi) and len(go):
                a, b = gi.iloc[0], go.iloc[0]
                out.append(f"{layer} {a['start_year']}–{a['end_year']}: "
                           f"{a['annual_rate_pct']:+.2f}%/yr inside protection vs "
                           f"{b['annual_rate_pct']:+.2f}%/yr outside")
    sp = tables.get("species")
    if sp is not None and len(sp):
        out.append(f"{int(sp['meets_target'].sum())} of {len(sp)} species features have at least "
                   f"{float(sp['target'].iloc[0]):.0%} of their range protected")
    eco = tables.get("ecosystems")
    if eco is not None and len(eco):
        short = eco[~eco["meets_target"]].sort_values("shortfall_km2", ascending=False)
        if len(short):
            out.append("ecosystems below target: " + ", ".join(
                f"{r['ecosystem']} ({r['share_protected']:.1%}, short {r['shortfall_km2']:,.0f} km2)"
                for _, r in short.iterrows()))
    hs, hr = tables.get("hotspots"), tables.get("hotspots_by_region")
    if hs is not None and len(hs):
        for _, r in hs[hs["criterion"] != "any"].iterrows():
            where = ""
            if hr is not None and len(hr):
                sub = hr[hr["criterion"] == r["criterion"]].head(2)
                if len(sub):
                    where = "; mostly in " + " and ".join(
                        f"{x['region']} ({x['share_of_gap_area']:.0%})" for _, x in sub.iterrows())
            out.append(f"{r['gap_area_km2']:,.0f} km2 of top {r['criterion']} units lie outside "
                       f"protection ({r['gap_units']} units{where})")
    return out


def gap_analysis(
    pu: PlanningUnits,
    *,
    network: str | Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    combine: Mapping[str, Sequence[str]] | None = None,
    target: float = 0.3,
    top: float = 0.1,
    pa_threshold: float = 0.5,
    typology: str = "quantile",
    quantile: float = 2 / 3,
    bio_value: str = "auto",
    total_unit: str | None = None,
    seed: int = 0,
) -> GapReport:
    """Run every gap table the grid has inputs for and collect them in a `GapReport`.

    Parameters
    ----------
    pu : PlanningUnits
        Grid with a protected layer.
    network, categories
        The protected network and the categories reported (see `zones`).
    combine : mapping, optional
        Combined carbon stocks (see `carbon_table`; default "ecosystem" = all).
    target : float
        Target protected share for ecosystems and species (default 0.3).
    top : float
        Hotspot share (default 0.1 = top 10% of the area).
    pa_threshold : float
        Protected fraction below which a unit counts as unprotected (default 0.5).
    typology : {"quantile", "kmeans"}
    quantile : float
        Threshold quantile of the quantile typology (default 2/3: upper tercile).
    bio_value : {"auto", "richness", "rarity"}
        See `unit_values`.
    total_unit : str, optional
        Unit of carbon stock totals (MgC ... PgC; default chosen to be readable).
    seed : int
        Seed of k-means.

    Returns
    -------
    GapReport

    Raises
    ------
    InputDataError
        Any bad argument (named in the message), or a grid without a protected layer.
    """
    pu = _check_pu(pu)
    target = _check_share("target", target)
    top = _check_share("top", top, open_low=True)
    pa_threshold = _check_share("pa_threshold", pa_threshold, open_low=True)
    quantile = _check_share("quantile", quantile, open_low=True, open_high=True)
    if typology not in ("quantile", "kmeans"):
        raise InputDataError(f"typology must be 'quantile' or 'kmeans'; got {typology!r}")
    z = zones(pu, network=network, categories=categories)
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    has_stock = not _features_of(pu, "carbon_stock").empty
    if has_stock:
        tables["carbon"] = carbon_table(pu, combine=combine, total_unit=total_unit, zones_=z)
    else:
        notes.append("no carbon_stock layer: carbon table, typology and carbon columns skipped")
    ts = time_series_table(pu, zones_=z)
    if len(ts):
        tables["time_series"] = ts
        growth = growth_table(ts)
        if len(growth):
            tables["growth"] = growth
    else:
        notes.append("no carbon_uptake or emissions layer: no time series")
    if not _features_of(pu, "land_cover").empty:
        tables["ecosystems"] = ecosystem_table(pu, target=target, zones_=z)
    else:
        notes.append("no land_cover layer: no ecosystem representation table")
    if "region" in pu.units.columns and pu.units["region"].notna().any():
        tables["regions"] = region_table(pu, zones_=z)
    else:
        notes.append("no region layer: no per-region table")
    species = species_table(pu, target=target, zones_=z)
    if len(species):
        tables["species"] = species
    if len(species) or _richness_column(pu) is not None:
        tables["biodiversity"] = biodiversity_summary(pu, species, target=target, zones_=z)
    else:
        notes.append("no biodiversity layer: no species table")
    values = unit_values(pu, bio_value=bio_value)
    # The hotspot flags follow the analysis' network, not always the grid's union.
    values["pa_fraction"] = z.protected
    hs, flags, by_region = hotspots(pu, top=top, pa_threshold=pa_threshold, values=values)
    if len(hs):
        tables["hotspots"] = hs
        tables["hotspots_by_region"] = by_region
    if "carbon_kgC_m2" in values and "bio_value" in values:
        typ, types = synergy_typology(pu, method=typology, quantile=quantile, values=values,
                                      seed=seed, zones_=z)
        tables["typology"] = typ
        flags["synergy_type"] = types.to_numpy()
    else:
        notes.append("typology needs carbon_stock and biodiversity layers: skipped")
    for c in ("row", "col", "region"):
        if c in pu.units.columns:
            flags[c] = pu.units[c].to_numpy()
    settings = {"network": list(z.network), "categories": [n for n, k in zip(z.names, z.kinds,
                                                                                strict=True)
                                                            if k == "category"],
                "target": target, "top": top, "pa_threshold": pa_threshold, "typology": typology,
                "quantile": quantile, "bio_value": bio_value, "seed": seed,
                "value_units": flags.attrs.get("units", {}),
                "value_sources": flags.attrs.get("sources", {})}
    return GapReport(tables=tables, units=flags, findings=_findings(tables), notes=notes,
                     settings=settings, geometry=pu.units.geometry)
