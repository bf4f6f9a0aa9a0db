"""Zones of a gap analysis: who is protected, by category, as fractions of each unit.

``whole`` (the study area), one zone per protected category (e.g. ``national_park``),
``protected`` (the union of the network, no double counting) and ``unprotected``.
Partial protection counts by the covered fraction ``p`` of a unit: the protected
amount of a unit is ``amount x p`` and its protected area ``area_km2 x p``. This
assumes the amount is spread uniformly inside a unit, the same assumption that any
resampling makes; use cells small against protected areas where it matters. The
unprotected amount is ``amount x (1 - p)``, so ``protected + unprotected = whole``
exactly. Category zones overlap where categories overlap; only ``protected`` is the
union.

`zones` builds the units x zones fractions (`Zones`); `zone_totals` sums amount
columns per zone, the tidy building block of the study's tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError, did_you_mean
from optimizer.gap.columns import _check_pu, _col, _valid_column
from optimizer.grid import PlanningUnits

__all__ = ["PROTECTED", "UNPROTECTED", "WHOLE", "Zones", "zone_totals", "zones"]

WHOLE, PROTECTED, UNPROTECTED = "whole", "protected", "unprotected"


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
