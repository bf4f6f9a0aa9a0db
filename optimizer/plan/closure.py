"""Gap closure: a plan measured against the gaps the gap analysis found in the existing network.

The gap analysis (`optimizer.gap`) shows where the existing network falls short: carbon
density inside protection against the study area's (the study's 0.70x for biomass),
ecosystems below their target share, species below theirs, and carbon, NPP and
biodiversity hotspots left unprotected. `gap_closure` measures one plan against each of
them, before -> after, with the same tables the gap analysis uses (so the report, the
CLI and the app show the same numbers):

* ``density`` - density inside protection / study-area density, for every carbon stock
  layer (and their sum, ``ecosystem``), the latest carbon uptake (NPP) and emissions;
* ``ecosystems`` - each land-cover class's shortfall against ``target``, closed (km², %);
  the headline sums the *counted* classes only (``ecosystems=``): by default the natural
  ecosystems the grid's manifest marks (``natural = [...]`` on its land_cover layer, e.g.
  forest, grassland, wetland, bare; every class when it marks none), or ``"all"``, or a
  list of classes. Cropland, urban land and water are no ecosystems to protect to 30%:
  counting them would make the headline the plan's whole new area;
* ``species`` - each species' protected share and whether it reaches ``target``;
* ``hotspots`` - the share of unprotected hotspot area (``pa_fraction < pa_threshold``)
  that the plan protects.

Before, a unit is protected by its ``pa_fraction`` ``p``; after, by ``p + (1 - p) x`` with
``x`` the plan's 0/1 selection (the plan protects the unprotected part of a unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError, did_you_mean
from optimizer.gap.columns import check_share, features_of, latest_uptake
from optimizer.gap.ranking import hotspots
from optimizer.gap.tables import carbon_table, ecosystem_table, species_columns, species_table
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, Zones, zone_totals
from optimizer.inputs.layers import class_label
from optimizer.plan.results import selection

if TYPE_CHECKING:
    from optimizer.model.problem import Problem
    from optimizer.solvers import Solution

__all__ = ["ECOSYSTEM_CHOICES", "GapClosure", "counted_ecosystems", "gap_closure"]

#: What ``ecosystems=`` may say besides a list of classes: the natural classes the grid's
#: manifest marks, or every land-cover class.
ECOSYSTEM_CHOICES = ("natural", "all")


def _natural_columns(pu: Any, lc: pd.DataFrame) -> list[str] | None:
    """Land-cover columns the grid's manifest marks natural; None when it marks none."""
    marks = {str(s.get("name")): {class_label(n) for n in s["natural"]}
             for s in pu.meta.get("layers", []) or []
             if s.get("role") == "land_cover" and s.get("natural") is not None}
    if not marks:
        return None
    return [str(col) for col, f in lc.iterrows()
            if class_label(f["label"]) in marks.get(str(f["layer"]), set())]


def counted_ecosystems(pu: Any, ecosystems: str | Sequence[str] = "natural", *,
                       target: float = 0.3) -> tuple[list[str], str]:
    """The land-cover columns whose shortfall the gap closure counts, and its definition.

    Parameters
    ----------
    pu : PlanningUnits
    ecosystems : {"natural", "all"} or sequence of str
        ``"natural"``: the classes the grid's manifest marks natural (``natural = [...]``
        on its land_cover layer); every class when it marks none (the definition says so).
        ``"all"``: every class. A list: those classes (names as the land cover names
        them, e.g. ``["forest", "wetland"]``, or their columns).
    target : float
        The target share, for the definition.

    Returns
    -------
    (list of str, str)
        The counted land-cover columns, and the definition sentence the console, the
        report and ``summary.json`` print.

    Raises
    ------
    InputDataError
        An unknown choice, or a class that is not a land-cover class of the grid (the
        message names the classes).

    Examples
    --------
    >>> from optimizer.datasets import tiny_grid
    >>> counted_ecosystems(tiny_grid(), "all")
    ([], 'no land-cover layer: no ecosystem shortfall')
    """
    lc = features_of(pu, "land_cover")
    if lc.empty:
        if not isinstance(ecosystems, str) and len(ecosystems):
            raise InputDataError(f"closure ecosystems {list(ecosystems)}: the grid has no "
                                 "land_cover layer; remove them or add one to the manifest")
        return [], "no land-cover layer: no ecosystem shortfall"
    labels = {str(col): str(f["label"]) for col, f in lc.iterrows()}
    cols = list(labels)
    if isinstance(ecosystems, str):
        if ecosystems not in ECOSYSTEM_CHOICES:
            raise InputDataError(f"closure ecosystems {ecosystems!r} is not one of "
                                 f"{', '.join(repr(c) for c in ECOSYSTEM_CHOICES)} or a list of "
                                 f"land-cover classes ({', '.join(labels.values())})")
        natural = _natural_columns(pu, lc) if ecosystems == "natural" else None
        if ecosystems == "all":
            counted, what = cols, "every land-cover class (ecosystems = \"all\")"
        elif natural is None:
            counted, what = cols, ("every land-cover class: the grid's manifest marks none "
                                   "natural (mark them with natural = [...] on its land_cover "
                                   "layer)")
        else:
            counted, what = natural, "the natural classes the grid's manifest marks"
    else:
        by_label = {class_label(v): k for k, v in labels.items()}
        counted = []
        for name in ecosystems:
            col = str(name) if str(name) in labels else by_label.get(class_label(name))
            if col is None:
                known = list(labels.values())
                raise InputDataError(f"closure ecosystems: {name!r} is not a land-cover class "
                                     f"of this grid; its classes: {', '.join(known)}"
                                     f"{did_you_mean(str(name), known)}")
            counted.append(col)
        counted = [c for c in cols if c in set(counted)]
        what = "the classes the scenario lists"
    left = [labels[c] for c in cols if c not in counted]
    names = ", ".join(labels[c] for c in counted) or "none"
    definition = (f"ecosystem shortfall = for each counted land-cover class, the area (km²) "
                  f"still to protect to reach {100 * target:g}% of the class (0 once reached); "
                  f"closed = shortfall before - after the plan; counted: {what} ({names})"
                  + (f"; not counted: {', '.join(left)}" if left else ""))
    return counted, definition


def _zones(p: np.ndarray) -> Any:
    names = (WHOLE, PROTECTED, UNPROTECTED)
    return Zones(names, names, np.column_stack([np.ones_like(p), p, 1.0 - p]), ())


def _ratio(df: pd.DataFrame, key: str, density: str) -> pd.DataFrame:
    """Per ``key``: protected density, whole density and their ratio."""
    # dropna=False: with nothing protected yet the protected density is NaN (no area), not absent.
    wide = df.pivot_table(index=key, columns="zone", values=density, sort=False, dropna=False)
    return pd.DataFrame({"density_protected": wide["protected"], "density_whole": wide["whole"],
                         "ratio": wide["protected"] / wide["whole"].where(wide["whole"] != 0)})


def _density_table(pu: Any, before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    rows = []
    if not features_of(pu, "carbon_stock").empty:
        for when, p in (("before", before), ("after", after)):
            t = carbon_table(pu, zones_=_zones(p))
            r = _ratio(t, "layer", "density_kgC_m2")
            r["when"], r["quantity"], r["density_unit"] = when, "carbon stock", "kgC/m2"
            rows.append(r)
    flows = []
    latest = latest_uptake(pu)
    if latest is not None:
        flows.append(("carbon uptake", latest[0]))
    em = features_of(pu, "emissions")
    if not em.empty:
        years = em["year"].astype("Float64")
        flows.append(("emissions", str(years.idxmax() if years.notna().any() else em.index[0])))
    for quantity, col in flows:
        unit = str(pu.features.at[col, "unit"])
        for when, p in (("before", before), ("after", after)):
            t = zone_totals(pu, [col], zones_=_zones(p))
            t["density"] = t["amount"] / t["valid_km2"].where(t["valid_km2"] > 0)
            r = _ratio(t, "feature", "density")
            r["when"], r["quantity"], r["density_unit"] = when, quantity, f"{unit}/km2"
            rows.append(r)
    if not rows:
        return pd.DataFrame(columns=["layer", "quantity", "density_unit", "density_whole",
                                     "density_before", "density_after", "ratio_before",
                                     "ratio_after"])
    df = pd.concat(rows).rename_axis("layer").reset_index()
    first = df[df["when"] == "before"].set_index("layer")
    by = {w: g.set_index("layer") for w, g in df.groupby("when")}
    out = pd.DataFrame({
        "layer": first.index, "quantity": first["quantity"].to_numpy(),
        "density_unit": first["density_unit"].to_numpy(),
        "density_whole": first["density_whole"].to_numpy(),
        "density_before": by["before"]["density_protected"].to_numpy(),
        "density_after": by["after"].loc[first.index, "density_protected"].to_numpy(),
        "ratio_before": by["before"]["ratio"].to_numpy(),
        "ratio_after": by["after"].loc[first.index, "ratio"].to_numpy(),
    })
    return out


def _ecosystem_table(pu: Any, before: np.ndarray, after: np.ndarray, target: float,
                     counted: list[str]) -> pd.DataFrame:
    cols = ["ecosystem", "feature", "counted", "area_km2", "target", "protected_before_km2",
            "protected_after_km2", "shortfall_before_km2", "shortfall_after_km2", "closed_km2",
            "closed_pct", "meets_before", "meets_after"]
    if features_of(pu, "land_cover").empty:
        return pd.DataFrame(columns=cols)
    b = ecosystem_table(pu, target=target, zones_=_zones(before))
    a = ecosystem_table(pu, target=target, zones_=_zones(after))
    closed = b["shortfall_km2"] - a["shortfall_km2"]
    short = b["shortfall_km2"]
    return pd.DataFrame({
        "ecosystem": b["ecosystem"], "feature": b["feature"],
        "counted": b["feature"].astype(str).isin(counted), "area_km2": b["area_km2"],
        "target": target, "protected_before_km2": b["protected_km2"],
        "protected_after_km2": a["protected_km2"], "shortfall_before_km2": short,
        "shortfall_after_km2": a["shortfall_km2"], "closed_km2": closed,
        "closed_pct": 100.0 * closed / short.where(short > 0),
        "meets_before": b["meets_target"], "meets_after": a["meets_target"]})[cols]


def _species_table(pu: Any, before: np.ndarray, after: np.ndarray, target: float) -> pd.DataFrame:
    cols = ["feature", "label", "unit", "total", "target", "share_before", "share_after",
            "meets_before", "meets_after"]
    if not species_columns(pu, None):
        return pd.DataFrame(columns=cols)
    b = species_table(pu, target=target, zones_=_zones(before))
    a = species_table(pu, target=target, zones_=_zones(after))
    return pd.DataFrame({
        "feature": b["feature"], "label": b["label"], "unit": b["unit"], "total": b["total"],
        "target": target, "share_before": b["share_protected"], "share_after": a["share_protected"],
        "meets_before": b["meets_target"], "meets_after": a["meets_target"]})[cols]


def _hotspot_table(pu: Any, x: np.ndarray, pa_threshold: float, top: float) -> pd.DataFrame:
    cols = ["criterion", "gap_units", "gap_unprotected_km2", "protected_by_plan_km2",
            "share_protected_by_plan"]
    table, flags, _ = hotspots(pu, top=top, pa_threshold=pa_threshold)
    free = flags["area_km2"].to_numpy() * (1.0 - flags["pa_fraction"].to_numpy())
    rows = []
    for crit in table["criterion"]:
        gap = flags[f"gap_{crit}"].to_numpy(dtype=bool)
        km2 = float(free[gap].sum())
        added = float((free * x)[gap].sum())
        rows.append({"criterion": crit, "gap_units": int(gap.sum()), "gap_unprotected_km2": km2,
                     "protected_by_plan_km2": added,
                     "share_protected_by_plan": added / km2 if km2 > 0 else np.nan})
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True, eq=False)
class GapClosure:
    """A plan measured against the gaps of the existing network (see the module docstring).

    Attributes
    ----------
    density : pandas.DataFrame
        One row per layer: ``layer``, ``quantity`` (carbon stock, carbon uptake,
        emissions), ``density_unit``, ``density_whole``, ``density_before``,
        ``density_after`` (inside protection), ``ratio_before``, ``ratio_after``.
    ecosystems : pandas.DataFrame
        One row per land-cover class: ``counted`` (whether the headline counts it, see
        ``ecosystem_definition``), areas protected and shortfalls against ``target``
        before and after (km²), ``closed_km2``, ``closed_pct`` (of the shortfall before;
        NaN when there was none), ``meets_before``, ``meets_after``.
    species : pandas.DataFrame
        One row per species feature: protected shares before and after, and whether each
        reaches ``target``.
    hotspots : pandas.DataFrame
        One row per hotspot criterion (carbon, npp, biodiversity, any): the unprotected
        hotspot units, their unprotected area (km²), what the plan protects of it (km²)
        and as a share (0-1).
    target, pa_threshold, top : float
        The gap analysis's target share, protection threshold and hotspot top share.
    ecosystem_setting : str or list of str
        Which classes count (``"natural"``, ``"all"`` or a list), as asked.
    ecosystem_definition : str
        The ecosystem shortfall's definition and the classes it counts (`counted_ecosystems`).
    """

    density: pd.DataFrame
    ecosystems: pd.DataFrame
    species: pd.DataFrame
    hotspots: pd.DataFrame
    target: float
    pa_threshold: float
    top: float
    ecosystem_setting: str | list[str] = "natural"
    ecosystem_definition: str = field(default="")

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a JSON-ready dict (plain floats and ints; NaN as None)."""

        def num(v: Any) -> float | None:
            v = float(v)
            return v if np.isfinite(v) else None

        sp, every = self.species, self.ecosystems
        eco = every[every["counted"].astype(bool)] if len(every) else every
        short = float(eco["shortfall_before_km2"].sum()) if len(eco) else 0.0
        closed = float(eco["closed_km2"].sum()) if len(eco) else 0.0
        return {
            "target": self.target, "pa_threshold": self.pa_threshold, "hotspot_top": self.top,
            "density_ratio": {str(r.layer): {"quantity": r.quantity, "before": num(r.ratio_before),
                                             "after": num(r.ratio_after)}
                              for r in self.density.itertuples()},
            "ecosystems": {
                # The headline: the counted classes only (the definition names them).
                "setting": self.ecosystem_setting, "definition": self.ecosystem_definition,
                "counted": [str(e) for e in eco["ecosystem"]] if len(eco) else [],
                "not_counted": ([str(r.ecosystem) for r in every.itertuples() if not r.counted]
                                if len(every) else []),
                "shortfall_before_km2": short, "closed_km2": closed,
                "closed_pct": num(100.0 * closed / short) if short > 0 else None,
                "meeting_target_before": int(eco["meets_before"].sum()) if len(eco) else 0,
                "meeting_target_after": int(eco["meets_after"].sum()) if len(eco) else 0,
                "classes": len(eco),
                "by_class": {str(r.ecosystem): {"counted": bool(r.counted),
                                                "shortfall_before_km2": float(r.shortfall_before_km2),
                                                "closed_km2": float(r.closed_km2),
                                                "closed_pct": num(r.closed_pct)}
                             for r in every.itertuples()},
            },
            "species": {"features": len(sp),
                        "meeting_target_before": int(sp["meets_before"].sum()) if len(sp) else 0,
                        "meeting_target_after": int(sp["meets_after"].sum()) if len(sp) else 0},
            "hotspots_protected_share": {str(r.criterion): num(r.share_protected_by_plan)
                                         for r in self.hotspots.itertuples()},
        }


def gap_closure(pu: Any, problem: Problem, solution: Solution | np.ndarray, *,
                target: float = 0.3, pa_threshold: float = 0.5, top: float = 0.1,
                ecosystems: str | Sequence[str] = "natural") -> GapClosure:
    """Measure a plan against the gaps the gap analysis finds for the existing network.

    Parameters
    ----------
    pu : PlanningUnits
        The grid of ``problem`` (its layers and land cover).
    problem : Problem
        The problem the plan solves (its units and existing protection).
    solution : Solution or numpy.ndarray
        The plan, or a per-unit 0/1 selection.
    target : float
        Target protected share of ecosystems and species (0-1, default 0.3, as the gap
        analysis).
    pa_threshold : float
        Units protected below this fraction count as unprotected hotspots (default 0.5).
    top : float
        Hotspots: the top share of the area by value (default 0.1).
    ecosystems : {"natural", "all"} or sequence of str
        The land-cover classes the ecosystem shortfall counts (`counted_ecosystems`):
        by default the natural classes the grid's manifest marks.

    Returns
    -------
    GapClosure

    Raises
    ------
    InputDataError
        ``target``, ``pa_threshold`` or ``top`` out of range, a plan of the wrong length,
        or ``ecosystems`` naming no land-cover class of the grid.

    Examples
    --------
    Cell 1 is protected; the plan adds cells 4 and 5. Carbon density inside protection goes
    from 100 to (100 + 80 + 60) / 3 = 80 MgC/km², against 290 / 6 for the whole area:

    >>> import numpy as np
    >>> from optimizer import problem
    >>> from optimizer.plan.closure import gap_closure
    >>> from optimizer.datasets import tiny_grid
    >>> pu = tiny_grid()
    >>> p = problem(pu).add_max_utility_objective(budget_km2=2)
    >>> gc = gap_closure(pu, p, np.array([1, 0, 0, 1, 1, 0]), top=0.34)
    >>> gc.density[["layer", "ratio_before", "ratio_after"]].round(4).to_dict("records")
    [{'layer': 'carbon', 'ratio_before': 2.069, 'ratio_after': 1.6552}]
    >>> gc.species[["feature", "share_before", "share_after", "meets_after"]].to_dict("records")
    [{'feature': 'sp_a', 'share_before': 0.25, 'share_after': 0.5, 'meets_after': True}, \
{'feature': 'sp_b', 'share_before': 0.0, 'share_after': 0.5, 'meets_after': True}]
    >>> gc.summary()["hotspots_protected_share"]["carbon"]
    1.0
    """

    target = check_share("target", target)
    pa_threshold = check_share("pa_threshold", pa_threshold, open_low=True)
    top = check_share("top", top, open_low=True)
    if len(pu) != problem.n_units:
        raise InputDataError(f"pu has {len(pu)} units but the problem {problem.n_units}; give the "
                             "problem's own grid")
    counted, definition = counted_ecosystems(pu, ecosystems, target=target)
    x = (selection(problem, solution) > 0.5).astype(np.float64)
    before = np.clip(problem.protected_fraction, 0.0, 1.0)
    after = before + (1.0 - before) * x
    return GapClosure(
        density=_density_table(pu, before, after),
        ecosystems=_ecosystem_table(pu, before, after, target, counted),
        species=_species_table(pu, before, after, target),
        hotspots=_hotspot_table(pu, x, pa_threshold, top),
        target=target, pa_threshold=pa_threshold, top=top,
        ecosystem_setting=ecosystems if isinstance(ecosystems, str) else list(ecosystems),
        ecosystem_definition=definition)
