"""The grid columns a gap analysis reads, and the units it shows them in.

Argument checks shared by every table (a `PlanningUnits`, a share in [0, 1]); feature
columns chosen by role or layer name; amounts as float64 with no data as 0 (`col`);
the area with data behind a density (`valid_area`, the ``<layer>_valid_km2``
columns); the latest year of an uptake layer; and readable units: totals scaled to
the largest SI prefix that keeps them at least 1 (MgC -> PgC), densities per km2 in
the study's units (kgC/m2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.grid.build import PlanningUnits
from optimizer.inputs.units import MASSES

# ============================================================== validation helpers

def check_pu(pu: Any) -> PlanningUnits:
    """``pu`` itself when it is `PlanningUnits`; else a one-line `InputDataError`."""
    if not isinstance(pu, PlanningUnits):
        raise InputDataError(f"pu must be PlanningUnits; got {type(pu).__name__}; build one with "
                             "build_grid() or read_grid()")
    return pu


def check_share(name: str, value: Any, *, open_low: bool = False, open_high: bool = False) -> float:
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


def unit_column(pu: PlanningUnits, name: str) -> np.ndarray:
    """A unit column as float64 with missing values as 0 (amounts: no data = none).

    Read-only: a view of the column when it is float64 without missing values."""
    if name not in pu.units.columns:
        raise InputDataError(f"grid: column {name!r} listed in pu.features is missing from "
                             "pu.units; rebuild the grid")
    s = pu.units[name]
    # A float64 column is returned as a read-only view (no copy of 80 MB per 10M units).
    a = s.to_numpy() if s.dtype == np.float64 else s.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(a, nan=0.0) if np.isnan(a).any() else a


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of ``a * b`` over units, without BLAS: ``a @ b`` goes to a threaded BLAS whose
    start-up costs about 10 ms a call on a busy machine (a thousand calls per analysis),
    while einsum's own loop runs at memory speed."""
    return float(np.einsum("i,i->", a, b))


def valid_area(pu: PlanningUnits, feature: str) -> np.ndarray:
    """Area with data (km2) of a feature's layer per unit, for densities."""
    return unit_column(pu, valid_column(pu, feature))


def valid_column(pu: PlanningUnits, feature: str) -> str:
    """The column holding a feature's area with data: its own (bands whose nodata
    differs), else its layer's, else the unit area."""
    for name in (f"{feature}_valid_km2", f"{pu.features.at[feature, 'layer']}_valid_km2"):
        if name in pu.units.columns:
            return name
    return "area_km2"


def features_of(pu: PlanningUnits, role: str | Sequence[str]) -> pd.DataFrame:
    """The rows of ``pu.features`` of one role (or of several)."""
    roles = [role] if isinstance(role, str) else list(role)
    return pu.features[pu.features["role"].isin(roles)]


def select(pu: PlanningUnits, role: str | Sequence[str], names: Sequence[str] | str | None,
            argument: str) -> list[str]:
    """Feature columns of ``role`` named by ``names`` (feature columns or layer names)."""
    feats = features_of(pu, role)
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


def stock_columns(pu: PlanningUnits, stock: Sequence[str] | str | None, *,
                  argument: str = "stock") -> list[str]:
    """The carbon stock columns to sum: those named by ``stock``, or every one (None)."""
    cols = select(pu, "carbon_stock", stock, argument)
    if not cols:
        raise InputDataError(f"{argument}: the grid has no carbon_stock layer; add one "
                             "(e.g. biomass carbon in MgC/ha) to the manifest and rebuild")
    return cols


def stock_sum(pu: PlanningUnits, stock: Sequence[str] | str | None = None) -> np.ndarray:
    """Sum of the carbon_stock columns per unit (a new array)."""
    cols = stock_columns(pu, stock)
    out = np.array(unit_column(pu, cols[0]), dtype=np.float64)
    for c in cols[1:]:
        out += unit_column(pu, c)
    return out


def latest_uptake(pu: PlanningUnits, uptake: str | None = None) -> tuple[str, Any] | None:
    """(column, year) of the latest year of the first (or named) carbon_uptake layer."""
    feats = features_of(pu, "carbon_uptake")
    if uptake is not None:
        feats = feats.loc[select(pu, "carbon_uptake", uptake, "uptake")]
    if feats.empty:
        return None
    feats = feats[feats["layer"] == feats["layer"].iloc[0]]
    years = feats["year"]
    if years.notna().any():
        col = years.astype("Float64").idxmax()
        return str(col), int(years[col])
    return str(feats.index[0]), None


# ============================================================== readable units

def scale(max_abs: float, unit: str, total_unit: str | None = None) -> tuple[float, str]:
    """Divisor and name of a readable unit for totals in ``unit`` (e.g. MgC -> PgC)."""
    base, sep, rest = unit.partition("/")
    suffix = f"/{rest}" if sep else ""
    names = MASSES.get(base)  # the masses we scale, with their SI prefixes
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


def density_unit(unit: str) -> tuple[float, str]:
    """Divisor from ``unit``/km2 to the study's density unit, and its name."""
    base, sep, rest = unit.partition("/")
    suffix = f"/{rest}" if sep else ""
    if base == "MgC" and suffix:  # flows (NPP): 1 MgC/km2/yr = 1 gC/m2/yr, as MODIS and the CLI
        return 1.0, f"gC/m2{suffix}"
    if base == "MgC":  # 1 MgC/km2 = 1 gC/m2 = 0.001 kgC/m2
        return 1000.0, f"kgC/m2{suffix}"
    return 1.0, f"{base}/km2{suffix}"
