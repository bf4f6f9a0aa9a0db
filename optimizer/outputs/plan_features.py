"""What every export holds: the plan's features, their data dictionary and their totals.

A plan's new area is more than its candidate parks: the units it locks in as existing
protection (``pa_fraction >= pa_threshold``) add their unprotected remainder too
(``summary.json``'s ``new_km2_in_existing_units``), and units the scenario locks in add
theirs. `plan_features` makes one table of them all, so that summing its features gives
the plan's totals in every format (`optimizer.outputs.gis`):

* ``kind = "park"``: the candidate parks (`optimizer.plan.parks.candidate_parks`);
* ``kind = "completes existing"``: connected groups of existing protected units whose
  unprotected remainder the plan adds (described by the same columns, computed the same
  way: `candidate_parks` of those units alone, nothing locked);
* ``kind = "locked in"``: the same for units the scenario locks in that were not
  protected yet.

`PlanFeatures.totals` sums the table by kind and `PlanFeatures.reconciliation` says it in
words and numbers ("parks 196,556.47 km² + completing existing protected units 23,443.26
km² = 219,999.73 km², the plan's new protected area (new_km2)"), naming the quantities as
`optimizer.plan.quantities.QUANTITIES` does. `field_entry` is the data dictionary of the
exported columns: `optimizer.plan.parks.PARK_COLUMNS` for whatever columns the parks
table holds, with the export's own columns (``kind``, the value per 10,000 km²);
`field_title` the alias GIS shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.plan.parks import PARK_COLUMNS, candidate_parks
from optimizer.plan.quantities import QUANTITIES

if TYPE_CHECKING:
    import geopandas as gpd

    from optimizer.model.problem import Problem
    from optimizer.plan.parks import Parks

__all__ = ["KINDS", "VALUE_COLUMN", "PlanFeatures", "field_entry", "field_title",
           "plan_features", "sum_equation", "unit_amounts", "zone_column"]

#: Feature kinds, in table order, and what each is (the ``kind`` column).
KINDS: dict[str, str] = {
    "park": "a candidate park: connected units the plan adds",
    "completes existing": "the unprotected remainder of connected existing protected units "
                          "(locked in at pa_threshold) that the plan adds: new area, not a new "
                          "park",
    "locked in": "connected units the scenario locks in that were not protected yet",
}

#: How each kind is named in the reconciliation sentence.
_KIND_WORDS = {"park": "parks", "completes existing": "completing existing protected units",
               "locked in": "units locked in by the scenario"}

#: The value column of the exports: the parks' ``value_per_km2`` x 10,000 km² x 100 %.
VALUE_COLUMN = "value_per_10000km2"
_VALUE_SCALE = 1e4 * 100.0

#: The export's own columns and the entries it words differently from ``PARK_COLUMNS``:
#: column -> (unit, meaning).
_EXPORT_COLUMNS: dict[str, tuple[str, str]] = {
    "kind": ("", "what the feature is: " + "; ".join(f"'{k}' {v}" for k, v in KINDS.items())
             + ". Sum area_km2 (or any amount) over every feature for the plan's totals; over "
             "kind = 'park' for the parks alone"),
    "biodiversity_value": ("% summed over species", "sum over species (biodiversity range "
                           "layers) of the share of each species' national range the feature "
                           "newly protects, in %: not a share of anything (16 species each "
                           "fully protected would give 1,600)"),
    VALUE_COLUMN: ("% per 10,000 km²", "the plan's value of the feature (the problem's unit "
                   "values: weighted shares of national totals) in percent, per 10,000 km² of "
                   "new area (the parks' value_per_km2 x 1,000,000)"),
    "rank": ("", "1 = the feature bringing the most value (value x area) among those of its "
                 "kind; ties by area"),
    "park_id": ("", "feature number: the kept parks first (equal to their rank), then the "
                    "dropped parks (not exported), then the completing features"),
}

#: The aliases GIS shows for the known columns (others: their name in words, and unit).
_TITLES: dict[str, str] = {
    "park_id": "Feature number", "kind": "Kind of feature", "n_units": "Planning units",
    "area_km2": "New protected area (km²)", "carbon_stock_MgC": "Carbon stock added (MgC)",
    "carbon_stock_tCO2e": "Carbon stock added (tCO2e)",
    "carbon_uptake_MgC_per_yr": "Carbon uptake added (MgC/yr)",
    "emissions_tCO2_per_yr": "CO2 emissions inside (tCO2/yr)",
    "biodiversity_value": "Biodiversity value (% of range, summed over species)",
    "species_in_range": "Species in range", "key_species": "Key species",
    "key_species_names": "Key species names", "dominant_ecosystem": "Dominant ecosystem",
    "ecosystem_mix": "Ecosystem mix", "regions": "Regions", "typology": "Typology",
    "extends": "Protected areas extended", "is_extension": "Extends existing protection",
    "polsby_popper": "Compactness (Polsby-Popper)",
    VALUE_COLUMN: "Value (% per 10,000 km²)", "rank": "Rank within its kind",
}


def zone_column(name: str) -> str:
    """The exported column of a zone's new km² in each feature (`plan_features`).

    Examples
    --------
    >>> zone_column("core")
    'zone_core_km2'
    """
    return f"zone_{name}_km2"


def field_entry(column: str) -> tuple[str, str]:
    """(unit, meaning) of an exported column: the export's own entry, else the parks' one.

    Examples
    --------
    >>> field_entry("kind")[1].split(":")[0]
    'what the feature is'
    >>> field_entry("area_km2")[0]
    'km²'
    """
    if column in _EXPORT_COLUMNS:
        return _EXPORT_COLUMNS[column]
    if column.startswith("zone_") and column.endswith("_km2"):
        return ("km²", f"new area (km²) of the feature's units in the management zone "
                f"{column[5:-4]!r}: the zones' columns sum to the feature's new area")
    return PARK_COLUMNS.get(column, ("", ""))


def field_title(column: str) -> str:
    """The alias of a column for GIS (its title, with the unit when it has one).

    Examples
    --------
    >>> field_title("carbon_stock_MgC"), field_title("sliver_flag")
    ('Carbon stock added (MgC)', 'Sliver flag')
    """
    if column in _TITLES:
        return _TITLES[column]
    unit = field_entry(column)[0]
    words = column.replace("_", " ").strip().capitalize()
    return f"{words} ({unit})" if unit and unit not in words else words


# ---------------------------------------------------------------- amounts per unit

def unit_amounts(problem: Problem) -> dict[str, np.ndarray]:
    """Per unit, what adding it brings: ``new_km2`` (its unprotected area) and
    ``carbon_stock_MgC`` (its carbon_stock layers summed, unprotected part): the
    measures of ``summary.json``'s ``new_km2`` and ``added.carbon_stock_total``.

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> a = unit_amounts(problem(tiny_grid()))
    >>> a["new_km2"].tolist(), a["carbon_stock_MgC"].tolist()
    ([0.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 40.0, 10.0, 80.0, 60.0, 0.0])
    """
    feats = problem.pu.features
    stock = list(feats.index[feats["role"] == "carbon_stock"])
    free = 1.0 - problem.protected_fraction
    carbon = (problem.feature_amounts(stock).sum(axis=0) * free if stock
              else np.zeros(problem.n_units))
    return {"new_km2": problem.unprotected_km2, "carbon_stock_MgC": carbon}


# ---------------------------------------------------------------- the features

@dataclass
class PlanFeatures:
    """The features every export holds (see the module docstring).

    Attributes
    ----------
    table : geopandas.GeoDataFrame
        One row per feature: ``park_id``, ``kind``, then the parks' columns (with
        ``value_per_km2`` as `VALUE_COLUMN`), grid CRS; parks first, by rank.
    unit_feature : numpy.ndarray
        Feature number (``park_id``) of each unit, 0 = in none.
    unit_kind : numpy.ndarray
        Kind of each unit's feature ('' = in none).
    plan : dict
        ``new_km2`` and ``carbon_stock_MgC`` of the plan given (before parks were dropped
        or refilled), and ``dropped_new_km2``, ``refilled_new_km2``.
    """

    table: gpd.GeoDataFrame
    unit_feature: np.ndarray
    unit_kind: np.ndarray
    plan: dict[str, float]

    def totals(self) -> dict[str, dict[str, float]]:
        """``{"new_km2": {kind: km², ..., "total": km²}, "carbon_stock_MgC": {...}}``: the
        table summed by kind (every kind listed, 0 when absent)."""
        out: dict[str, dict[str, float]] = {}
        for col in ("area_km2", "carbon_stock_MgC"):
            by = self.table.groupby("kind")[col].sum() if len(self.table) else pd.Series()
            row = {k: float(by.get(k, 0.0)) for k in KINDS}
            row["total"] = float(sum(row.values()))
            out["new_km2" if col == "area_km2" else col] = row
        return out

    def reconciliation(self) -> list[str]:
        """The totals in words: one line per quantity, and what differs from the plan given."""
        totals = self.totals()
        lines = []
        for key, name in (("new_km2", "new_km2"), ("carbon_stock_MgC", "carbon_stock_added")):
            q, row = QUANTITIES[name], totals[key]
            kinds = [k for k in KINDS if k == "park" or row[k] != 0.0]
            lines.append(sum_equation([(_KIND_WORDS[k], row[k]) for k in kinds], row["total"],
                                      q.unit_text, f"the plan's {q.label} ({q.key})"))
        p = self.plan
        if p.get("dropped_new_km2") or p.get("refilled_new_km2"):
            lines.append(
                f"the plan solved adds {p['new_km2']:,.2f} km²: parks under min_km2 "
                f"({p['dropped_new_km2']:,.2f} km²) are not exported"
                + (f" and {p['refilled_new_km2']:,.2f} km² were refilled next to kept parks"
                   if p.get("refilled_new_km2") else ""))
        return lines


def sum_equation(parts: list[tuple[str, float]], total: float, unit: str, what: str) -> str:
    """``"a 1 unit + b 2 unit = 3 unit, what"`` with the fewest decimals (0 to 6) at which
    the printed parts add up to the printed total and no part other than 0 prints as 0.

    Examples
    --------
    >>> sum_equation([("parks", 196556.47), ("completing", 23443.26)], 219999.73, "km²", "new")
    'parks 196,556.47 km² + completing 23,443.26 km² = 219,999.73 km², new'
    >>> sum_equation([("parks", 2.0), ("completing", 1.0)], 3.0, "km²", "new")
    'parks 2 km² + completing 1 km² = 3 km², new'
    """
    for d in range(7):
        scale = 10 ** d
        shown = [round(v * scale) for _, v in parts]
        if (sum(shown) == round(total * scale)
                and all(s != 0 or v == 0 for s, (_, v) in zip(shown, parts, strict=True))):
            break

    def fmt(v: float) -> str:
        return f"{v:,.{d}f}"

    left = " + ".join(f"{name} {fmt(v)} {unit}" for name, v in parts)
    return f"{left} = {fmt(total)} {unit}, {what}"


def _completing(problem: Problem, mask: np.ndarray, connectivity: str) -> Parks | None:
    """The units of ``mask`` as parks of a problem in which nothing is locked."""
    if not mask.any():
        return None
    open_problem = dataclasses.replace(problem.add_existing_protection(None), locks=())
    return candidate_parks(open_problem, mask.astype(np.float64), connectivity=connectivity)


def plan_features(problem: Problem, parks: Parks, x: Any | None = None, *,
                  zone: Any | None = None) -> PlanFeatures:
    """The parks and the remainders the plan completes, as one table (module docstring).

    Parameters
    ----------
    problem : Problem
    parks : Parks
        The plan's candidate parks (their plan ``parks.x`` is the one exported).
    x : array-like, optional
        The plan as solved (default ``parks.x``): its totals are recorded in ``plan``.
    zone : array-like of str, optional
        A zoned plan's zone per unit ("" when not selected): each feature gets a column
        ``zone_<name>_km2`` per zone, the new km² of its units in that zone (summed over
        every feature: ``summary.json``'s ``zones.<name>.new_km2`` when no park is dropped).

    Examples
    --------
    >>> from optimizer import problem
    >>> from optimizer.datasets import tiny_grid
    >>> from optimizer.plan.parks import candidate_parks
    >>> pu = tiny_grid()
    >>> pu.units.loc[0, "pa_fraction"] = 0.7  # cell 1: 0.3 km² of it is not protected yet
    >>> p = problem(pu).add_max_utility_objective(budget_km2=2.3, weights={"carbon": 1})
    >>> x = [1, 0, 0, 1, 1, 0]
    >>> f = plan_features(p, candidate_parks(p, x))
    >>> f.table[["park_id", "kind", "area_km2", "carbon_stock_MgC"]].round(6).to_dict("records")
    [{'park_id': 1, 'kind': 'park', 'area_km2': 2.0, 'carbon_stock_MgC': 140.0}, \
{'park_id': 2, 'kind': 'completes existing', 'area_km2': 0.3, 'carbon_stock_MgC': 30.0}]
    >>> for line in f.reconciliation():
    ...     print(line.replace(", the plan's", "\\n  the plan's"))
    parks 2.0 km² + completing existing protected units 0.3 km² = 2.3 km²
      the plan's new protected area (new_km2)
    parks 140 MgC + completing existing protected units 30 MgC = 170 MgC
      the plan's carbon stock added (added.carbon_stock_total.amount)
    """
    import geopandas as gpd

    xs = np.asarray(parks.x) > 0.5
    given = xs if x is None else np.asarray(x, dtype=np.float64) > 0.5
    amounts = unit_amounts(problem)
    new = amounts["new_km2"]
    locked_in, _ = problem.locked_masks()
    existing = problem.existing_protection_mask()
    n = problem.n_units
    unit_feature = parks.unit_park.astype(np.int64).copy()
    unit_kind = np.where(unit_feature > 0, "park", "").astype(object)
    tables = [parks.table.assign(kind="park")]
    next_id = len(parks.table) + len(parks.dropped) + 1
    for kind, mask in (("completes existing", locked_in & existing),
                       ("locked in", locked_in & ~existing)):
        done = _completing(problem, mask & xs & (new > 0), parks.connectivity)
        if done is None:
            continue
        t = done.table.copy()
        ids = np.arange(next_id, next_id + len(t), dtype=np.int64)
        renumber = np.zeros(int(t["park_id"].max()) + 1, dtype=np.int64)
        renumber[t["park_id"].to_numpy()] = ids
        in_it = done.unit_park > 0
        unit_feature[in_it] = renumber[done.unit_park[in_it]]
        unit_kind[in_it] = kind
        t["park_id"] = ids
        tables.append(t.assign(kind=kind))
        next_id += len(t)
    table = pd.concat(tables, ignore_index=True)
    cols = [c for c in table.columns if c not in ("park_id", "kind", "geometry")]
    table = table[["park_id", "kind", *cols, "geometry"]]
    if "value_per_km2" in table.columns:
        table = table.rename(columns={"value_per_km2": VALUE_COLUMN})
        table[VALUE_COLUMN] = table[VALUE_COLUMN] * _VALUE_SCALE
    if zone is not None:  # per zone, the new km² of each feature's units
        zone = np.asarray(zone).astype(str)
        row_of = np.full(int(table["park_id"].to_numpy().max(initial=0)) + 1, -1, dtype=np.int64)
        row_of[table["park_id"].to_numpy()] = np.arange(len(table))
        inside = unit_feature > 0
        for name in [z for z in dict.fromkeys(zone.tolist()) if z]:
            here = inside & (zone == name)
            table.insert(len(table.columns) - 1, zone_column(name), np.bincount(
                row_of[unit_feature[here]], new[here], minlength=len(table)))
    out = gpd.GeoDataFrame(table, geometry="geometry", crs=problem.pu.units.crs)
    refilled = np.zeros(n, dtype=bool)
    refilled[np.asarray(parks.refilled, dtype=np.int64)] = True
    plan = {"new_km2": float(new[given].sum()),
            "carbon_stock_MgC": float(amounts["carbon_stock_MgC"][given].sum()),
            "dropped_new_km2": float(new[given & ~xs].sum()),
            "refilled_new_km2": float(new[refilled].sum())}
    return PlanFeatures(out, unit_feature, unit_kind, plan)
