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
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError, did_you_mean
from optimizer.gap.columns import check_pu, dot, unit_column, valid_column
from optimizer.grid.build import PlanningUnits

__all__ = ["PROTECTED", "UNPROTECTED", "WHOLE", "Zones", "zone_totals", "zones"]

WHOLE, PROTECTED, UNPROTECTED = "whole", "protected", "unprotected"


class Zones:
    """The zones of a gap analysis and each unit's share in each.

    Built as ``Zones(names, kinds, fractions, network)``.

    Attributes
    ----------
    names : tuple of str
        Zone names: ``whole``, the protected categories, ``protected``, ``unprotected``.
    kinds : tuple of str
        ``whole``, ``category``, ``protected`` or ``unprotected`` per zone.
    fractions : numpy.ndarray
        Units x zones share of each unit in each zone (0-1). Given either as that
        matrix or as one entry per zone: a per-unit array, or a number shared by every
        unit (1.0 for ``whole``); `zones` gives the columns, so a grid's own 0-1 columns
        are used in place (no units x zones copy: 400 MB at 10 million units). Reading
        the attribute builds the matrix.
    network : tuple of str
        The protected layers whose union is the ``protected`` zone.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([1.0, 0.5, 0.0])
    >>> z = Zones(("whole", "protected", "unprotected"), ("whole", "protected", "unprotected"),
    ...           [1.0, p, 1.0 - p], ("pa",))
    >>> z.sums(np.array([2.0, 2.0, 2.0])).tolist(), z.fractions.shape
    ([6.0, 3.0, 3.0], (3, 3))
    """

    __slots__ = ("_columns", "_n", "kinds", "names", "network")
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    network: tuple[str, ...]
    _columns: tuple[Any, ...]
    _n: int

    def __init__(self, names: Sequence[str], kinds: Sequence[str], fractions: Any,
                 network: Sequence[str]) -> None:
        names, kinds = tuple(names), tuple(kinds)
        if isinstance(fractions, np.ndarray) and fractions.ndim == 2:
            columns: tuple[Any, ...] = tuple(fractions[:, j] for j in range(fractions.shape[1]))
        else:
            columns = tuple(c if np.ndim(c) else float(c) for c in fractions)
        if len(columns) != len(names) or len(kinds) != len(names):
            raise ValueError(f"Zones: {len(names)} names, {len(kinds)} kinds and "
                             f"{len(columns)} fraction columns; give one of each per zone")
        sizes = {len(c) for c in columns if np.ndim(c)}
        if len(sizes) > 1:
            raise ValueError(f"Zones: fraction columns of different lengths {sorted(sizes)}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "network", tuple(network))
        object.__setattr__(self, "_columns", columns)
        object.__setattr__(self, "_n", sizes.pop() if sizes else None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Zones is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Zones(names={self.names!r}, network={self.network!r}, units={self._n})"

    @property
    def fractions(self) -> np.ndarray:
        """Units x zones shares (built from the columns on each call)."""
        n = self._n if self._n is not None else 1
        return np.column_stack([np.broadcast_to(np.asarray(c, dtype=np.float64), (n,))
                                for c in self._columns])

    def column(self, name: str) -> np.ndarray:
        """Share of each unit in zone ``name`` (read-only; a number broadcast to every unit)."""
        c = self._columns[self.names.index(name)]
        if np.ndim(c):
            return c
        return np.broadcast_to(np.float64(c), (self._n if self._n is not None else 1,))

    @property
    def protected(self) -> np.ndarray:
        """Protected fraction of each unit (the union of the network)."""
        return self.column(PROTECTED)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Zone sums of a per-unit quantity (``values`` x share in each zone)."""
        values = np.asarray(values, dtype=np.float64)
        return np.array([dot(c, values) if np.ndim(c) else float(c) * float(values.sum())
                         for c in self._columns])


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
    pu = check_pu(pu)
    layers = _protected_layers(pu)
    if network is None:
        chosen = list(layers)
    else:
        chosen = [network] if isinstance(network, str) else list(network)
        bad = [c for c in chosen if c not in layers]
        if bad:
            raise InputDataError(f"network: unknown protected layer(s) {bad}; this grid's "
                                 f"protected layers are: {', '.join(layers)}")
    if set(chosen) == set(layers):
        prot = unit_column(pu, "pa_fraction")
    elif (len(chosen) == 1 and f"{chosen[0]}_fraction" in pu.units.columns
          and chosen[0] != "pa"):  # "pa_fraction" is the union of all layers, not layer "pa"
        prot = unit_column(pu, f"{chosen[0]}_fraction")
    else:
        raise InputDataError(f"network: {chosen} is a part of the protected layers {layers} whose "
                             "union the grid does not store; give one layer or all, or rebuild "
                             "the grid with only the layers of this network")
    prot = _share(prot)

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

    columns = [1.0, *(_share(unit_column(pu, col)) for col in cats.values()), prot, 1.0 - prot]
    names = (WHOLE, *cats, PROTECTED, UNPROTECTED)
    kinds = (WHOLE, *(["category"] * len(cats)), PROTECTED, UNPROTECTED)
    return Zones(names, kinds, columns, tuple(chosen))


def _share(a: np.ndarray) -> np.ndarray:
    """``a`` clipped to [0, 1]; ``a`` itself (no copy) when it is already inside."""
    if a.size and (a.min() < 0.0 or a.max() > 1.0):
        return np.clip(a, 0.0, 1.0)
    return a


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
    pu = check_pu(pu)
    z = zones_ if zones_ is not None else zones(pu, network=network, categories=categories)
    unknown = [c for c in columns if c not in pu.features.index]
    if unknown:
        raise InputDataError(f"columns: unknown feature column(s) {unknown}; see pu.features.index")
    area = z.sums(unit_column(pu, "area_km2"))
    frames = []
    valid_cache: dict[str, np.ndarray] = {}
    for c in columns:
        f = pu.features.loc[c]
        layer = str(f["layer"])
        valid_name = valid_column(pu, c)
        if valid_name not in valid_cache:
            valid_cache[valid_name] = z.sums(unit_column(pu, valid_name))
        frames.append(pd.DataFrame({
            "feature": c, "layer": layer, "year": f["year"], "zone": z.names,
            "zone_kind": z.kinds, "area_km2": area, "valid_km2": valid_cache[valid_name],
            "amount": z.sums(unit_column(pu, c)), "amount_unit": f["unit"],
        }))
    cols = ["feature", "layer", "year", "zone", "zone_kind", "area_km2", "valid_km2", "amount",
            "amount_unit"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["year"] = out["year"].astype("Int64")
    return out[cols]
