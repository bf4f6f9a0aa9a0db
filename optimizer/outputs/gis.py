"""The GIS layers and files of an export: the functions `optimizer.outputs.writers.WRITERS` names.

`shp_files`, `gpkg_files`, `parquet_files`, `geojson_files` and `tif_files` write one
format each from an `~optimizer.outputs.writers.ExportJob` (``prepare_rank`` computes the
priority rank first when ``tif`` is asked for).

Every vector format holds the same features (`optimizer.outputs.plan_features`): the
candidate parks (``kind = "park"``) and the unprotected remainders of the existing
protected units the plan completes (``kind = "completes existing"``; units the scenario
locks in, ``"locked in"``), so summing ``area_km2`` or ``carbon_stock_MgC`` over a file's
features gives the plan's new area and carbon stock added; ``plan_amounts.tif`` gives
them per cell. The CRS is named (`named_crs`: a fitted Albers CRS without a name gets
one, so GIS does not list it as "unknown").

* ``parks_shp.zip`` - the features as an ESRI Shapefile (``.shp .shx .dbf .prj .cpg``,
  UTF-8) with field names mapped explicitly to at most 10 characters
  (`shapefile_field_map`; no truncation left to the driver) and the data dictionary
  ``parks_fields.csv`` (short name, full name, unit, meaning; also beside the zip).
  Text longer than a DBF field's 254 bytes is cut explicitly and the export's notes say
  which fields; the GeoPackage keeps the full text.
* ``parks.gpkg`` - layers ``parks`` (the features, full column names), ``added_units``
  (the units of the features, with their new km²), ``existing_network`` (the grid's
  protected areas, else the units at least half protected, dissolved) and
  ``study_area``, with QGIS styles in the ``layer_styles`` table (parks coloured by
  typology, completing features hatched, labels in words; `optimizer.outputs.qgis_style`)
  and every field's alias and description in ``gpkg_data_columns`` (the data dictionary).
* ``parks.parquet`` - GeoParquet 1.1 with a bbox covering column, grid CRS.
* ``parks.geojson`` - RFC 7946: EPSG:4326 longitude/latitude, right-hand rule
  (straight edges in the grid CRS are reprojected vertex by vertex).
* square grids only: ``selection.tif`` (uint8 status per cell: 1 existing, 2 added,
  3 locked out, 4 free; 0 = no unit (nodata); colour table; category names in
  ``selection.tif.aux.xml``), ``plan_amounts.tif`` (float64, band 1 the new km² the plan
  adds in each cell, band 2 its carbon stock added in MgC; 0 outside the plan, NaN
  nodata: the bands sum to the plan's totals) and ``priority_rank.tif`` (float32, band 1
  the rank, 1 = added first, band 2 the entry budget in km²; NaN nodata;
  `optimizer.plan.priority_rank`).

Every layer is in the grid's equal-area CRS except the GeoJSON.
"""

from __future__ import annotations

import contextlib
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from optimizer.errors import InputDataError
from optimizer.figures.plots import TYPE_COLOURS, TYPE_LABELS
from optimizer.gap.ranking import TYPES
from optimizer.outputs.plan_features import (
    KINDS,
    VALUE_COLUMN,
    PlanFeatures,
    field_entry,
    field_title,
    plan_features,
    unit_amounts,
)
from optimizer.outputs.qgis_style import (
    categorized_qml,
    categorized_sld,
    layer_styles_frame,
    single_qml,
    single_sld,
)
from optimizer.outputs.writers import ExportJob
from optimizer.plan.priority_rank import priority_rank

if TYPE_CHECKING:
    import geopandas as gpd

    from optimizer.model.problem import Problem
    from optimizer.plan.parks import Parks
    from optimizer.plan.priority_rank import PriorityRank

__all__ = ["SHAPEFILE_FIELDS", "STATUS_CODES", "added_units", "data_dictionary", "existing_network",
           "features_of", "geojson_files", "gpkg_files", "named_crs", "parquet_files",
           "prepare_rank", "shapefile_field_map", "shp_files", "study_area", "tif_files"]

#: Shapefile (DBF) field name of each park column: at most 10 characters, unique.
SHAPEFILE_FIELDS: dict[str, str] = {
    "park_id": "park_id", "n_units": "n_units", "area_km2": "area_km2",
    "carbon_stock_MgC": "c_stk_MgC", "carbon_stock_tCO2e": "c_stk_tCO2",
    "carbon_uptake_MgC_per_yr": "c_upt_MgCy", "emissions_tCO2_per_yr": "emis_tCO2y",
    "biodiversity_value": "bio_value", "species_in_range": "sp_range",
    "key_species": "key_sp", "key_species_names": "key_sp_nam",
    "dominant_ecosystem": "dom_eco", "ecosystem_mix": "eco_mix", "regions": "regions",
    "typology": "typology", "extends": "extends", "is_extension": "is_extend",
    "polsby_popper": "polsby_pp", "value_per_km2": "val_km2", VALUE_COLUMN: "val_10kkm2",
    "rank": "rank", "kind": "kind",
}

#: Code of each unit status in ``selection.tif`` (0 = no unit, nodata), and its colour.
STATUS_CODES: dict[str, tuple[int, str]] = {
    "existing": (1, "#1b7837"), "added": (2, "#e66101"), "locked out": (3, "#878787"),
    "free": (4, "#f0f0f0")}

_DBF_TEXT_BYTES = 254
_EXISTING_COLOUR, _ADDED_COLOUR = "#1b7837", "#e66101"


# ---------------------------------------------------------------- field names

def shapefile_field_map(columns: Iterable[str]) -> dict[str, str]:
    """Shapefile field name (at most 10 characters, unique ignoring case) of each column.

    Known park columns take their name from `SHAPEFILE_FIELDS`; any other column keeps
    its name when it fits, else its first 8 characters and a two-digit number.

    Examples
    --------
    >>> shapefile_field_map(["park_id", "carbon_stock_MgC", "a_very_long_name", "a_very_long_other"])
    {'park_id': 'park_id', 'carbon_stock_MgC': 'c_stk_MgC', 'a_very_long_name': 'a_very_l01', \
'a_very_long_other': 'a_very_l02'}
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    cols = [str(c) for c in columns]
    for c in cols:  # the fixed names first, so a generated one never takes theirs
        if c in SHAPEFILE_FIELDS:
            out[c] = SHAPEFILE_FIELDS[c]
            used.add(out[c].lower())
    for c in cols:
        if c in out:
            continue
        name = c if len(c) <= 10 and c.lower() not in used else None
        k = 1
        while name is None or name.lower() in used:
            name = f"{c[:8]}{k:02d}"
            k += 1
            if k > 99:
                raise InputDataError(f"shapefile export: too many columns starting {c[:8]!r}; "
                                     "rename them")
        out[c] = name
        used.add(name.lower())
    return out


def data_dictionary(field_map: dict[str, str],
                    described: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The data dictionary of the exported fields: short name, full name, unit, meaning.

    Parameters
    ----------
    field_map : dict
        Full column name -> Shapefile name (`shapefile_field_map`), in field order.
    described : dict, optional
        Column -> (unit, meaning); default `optimizer.outputs.plan_features.field_entry`
        (the parks' `optimizer.plan.parks.PARK_COLUMNS` and the export's own columns).

    Examples
    --------
    >>> d = data_dictionary({"area_km2": "area_km2"}, {"area_km2": ("km2", "area of the park")})
    >>> d.to_dict("records")
    [{'short_name': 'area_km2', 'full_name': 'area_km2', 'unit': 'km2', 'meaning': 'area of the park'}]
    """
    entry = field_entry if described is None else (lambda c: described.get(c, ("", "")))
    rows = [{"short_name": short, "full_name": full, "unit": entry(full)[0],
             "meaning": entry(full)[1]} for full, short in field_map.items()]
    return pd.DataFrame(rows, columns=["short_name", "full_name", "unit", "meaning"])


# ---------------------------------------------------------------- the CRS

_PARAMETER_KEYS = {
    "Latitude of 1st standard parallel": "lat_1", "Latitude of 2nd standard parallel": "lat_2",
    "Latitude of false origin": "lat_0", "Longitude of false origin": "lon_0",
    "Latitude of natural origin": "lat_0", "Longitude of natural origin": "lon_0",
    "Latitude of projection centre": "lat_0", "Longitude of projection centre": "lon_0",
    "Scale factor at natural origin": "k_0", "False easting": "x_0", "False northing": "y_0",
    "Easting at false origin": "x_0", "Northing at false origin": "y_0",
}
_UNNAMED = ("", "unknown", "unnamed")


def named_crs(crs: Any) -> Any:
    """The CRS as a `pyproj.CRS` with a name: one PROJ calls "unknown" (the grid's fitted
    Albers CRS) is named ``"<datum> / <method> (<parameters>)"``, as EPSG names its own
    (``WGS 84 / UTM zone 33N``); a named CRS is returned unchanged.

    Examples
    --------
    >>> crs = named_crs("+proj=aea +lat_1=27.65 +lat_2=38.35 +lat_0=33 +lon_0=101.12 "
    ...                 "+datum=WGS84 +units=m +no_defs")
    >>> crs.name
    'WGS 84 / Albers Equal Area (lat_1=27.65 lat_2=38.35 lat_0=33 lon_0=101.12)'
    >>> named_crs("EPSG:3035").name
    'ETRS89-extended / LAEA Europe'
    """
    import pyproj

    crs = pyproj.CRS(crs)
    if crs.name not in _UNNAMED or not crs.is_projected:
        return crs
    doc = crs.to_json_dict()
    base = doc.get("base_crs", {})
    datum = base.get("datum", base.get("datum_ensemble", {}))
    datum_id = datum.get("id", {})
    base_name = base.get("name", "unknown")
    if base_name in _UNNAMED:
        base_name = ("WGS 84" if (datum_id.get("authority"), datum_id.get("code")) == ("EPSG", 6326)
                     else datum.get("name", "unknown datum"))
        base["name"] = base_name
    conversion = doc.get("conversion", {})
    method = conversion.get("method", {}).get("name", "projection")
    params = [f"{_PARAMETER_KEYS[q['name']]}={q['value']:g}"
              for q in sorted(conversion.get("parameters", []),
                              key=lambda q: list(_PARAMETER_KEYS).index(q["name"])
                              if q["name"] in _PARAMETER_KEYS else 99)
              if q.get("name") in _PARAMETER_KEYS
              and not (_PARAMETER_KEYS[q["name"]] in ("x_0", "y_0") and q["value"] == 0)]
    if conversion.get("name", "") in _UNNAMED:
        conversion["name"] = method
    doc["name"] = f"{base_name} / {method}" + (f" ({' '.join(params)})" if params else "")
    return pyproj.CRS.from_json_dict(doc)


# ---------------------------------------------------------------- layers

def _cut_text(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Text cut to a DBF field's 254 bytes (UTF-8), explicitly, with a note per column."""
    out = table.copy()
    for col in out.columns:
        if not (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            continue
        s = out[col].astype("string")
        nbytes = s.str.encode("utf-8").str.len()
        long = (nbytes > _DBF_TEXT_BYTES).fillna(False).to_numpy()
        if long.any():
            cut = [v.encode("utf-8")[:_DBF_TEXT_BYTES - 3].decode("utf-8", "ignore") + "..."
                   for v in s[long]]
            out.loc[long, col] = cut
            notes.append(f"shapefile: {int(long.sum())} value(s) of {col} cut to "
                         f"{_DBF_TEXT_BYTES} bytes (the DBF limit); parks.gpkg keeps them whole")
    return out


def _dissolve(geoms: np.ndarray) -> Any:
    """The union of non-overlapping unit polygons (fast coverage union)."""
    import shapely

    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if geoms.size == 0:
        return None
    return shapely.coverage_union_all(geoms)


def _parts_frame(geom: Any, crs: Any, **extra: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import shapely

    parts = np.asarray(shapely.get_parts(geom)) if geom is not None else np.empty(0, object)
    return gpd.GeoDataFrame({**{k: [v] * len(parts) for k, v in extra.items()},
                             "area_km2": shapely.area(parts) / 1e6}, geometry=parts, crs=crs)


def existing_network(problem: Problem) -> gpd.GeoDataFrame:
    """The existing protected network: the grid's protected areas, else the units at
    least half protected (the problem's threshold), dissolved into polygons."""
    import geopandas as gpd

    pu = problem.pu
    pas = getattr(pu, "protected_areas", None)
    if pas is not None and len(pas):
        keep = [c for c in ("name", "category") if c in pas.columns]
        out = gpd.GeoDataFrame(pas[keep].reset_index(drop=True),
                               geometry=pas.geometry.to_numpy(), crs=pas.crs)
        out["area_km2"] = out.geometry.area / 1e6
        return out
    threshold = problem.pa_threshold if problem.pa_threshold is not None else 0.5
    mask = pu.units["pa_fraction"].to_numpy() >= threshold
    geom = _dissolve(np.asarray(pu.units.geometry.values[mask]))  # decodes only these
    return _parts_frame(geom, pu.units.crs, source=f"units with pa_fraction >= {threshold:g}")


def study_area(problem: Problem) -> gpd.GeoDataFrame:
    """The study area outline (the grid's, else the union of its units)."""
    pu = problem.pu
    geom = pu.study_area if pu.study_area is not None else _dissolve(pu.units.geometry.to_numpy())
    return _parts_frame(geom, pu.units.crs)


def added_units(problem: Problem, parks: Parks, rank: PriorityRank | None,
                features: PlanFeatures | None = None,
                zone: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The planning units of the exported features (parks, and the units they complete when
    ``features`` is given), with their feature, its kind, (when computed) priority rank and
    (a zoned plan) management zone."""
    import geopandas as gpd

    units = problem.pu.units
    feature = parks.unit_park if features is None else features.unit_feature
    idx = np.flatnonzero(feature > 0)
    cols = [c for c in ("pu_id", "row", "col", "area_km2") if c in units.columns]
    out = pd.DataFrame({c: units[c].to_numpy()[idx] for c in cols})
    out["new_km2"] = problem.unprotected_km2[idx]
    out["carbon_stock_MgC"] = unit_amounts(problem)["carbon_stock_MgC"][idx]
    out["park_id"] = feature[idx]
    out["kind"] = (np.full(idx.size, "park", dtype=object) if features is None
                   else features.unit_kind[idx])
    refilled = np.zeros(len(units), bool)
    refilled[np.asarray(parks.refilled, dtype=np.int64)] = True
    out["refilled"] = refilled[idx]
    if rank is not None:
        out["priority_rank"] = rank.rank[idx]
    if zone is not None:
        out["zone"] = np.asarray(zone).astype(str)[idx]
    return gpd.GeoDataFrame(out, geometry=np.asarray(units.geometry.values[idx]), crs=units.crs)


# ---------------------------------------------------------------- writers

def write_shapefile_zip(parks: gpd.GeoDataFrame, folder: Path, notes: list[str],
                        stem: str = "parks") -> list[str]:
    """``{stem}_shp.zip`` (the Shapefile and the data dictionary) and the dictionary beside it."""
    import pyogrio

    fmap = shapefile_field_map([c for c in parks.columns if c != parks.geometry.name])
    dictionary = data_dictionary(fmap)
    table = _cut_text(pd.DataFrame(parks.drop(columns=parks.geometry.name)), notes).rename(
        columns=fmap)
    gdf = parks[[parks.geometry.name]].join(table)[[*fmap.values(), parks.geometry.name]]
    work = folder / f".{stem}_shp"
    work.mkdir()
    pyogrio.write_dataframe(gdf, work / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8",
                            promote_to_multi=True)
    dict_name = f"{stem}_fields.csv"
    dictionary.to_csv(folder / dict_name, index=False)
    members = [work / f"{stem}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")]
    missing = [m.name for m in members if not m.is_file()]
    if missing:  # pragma: no cover - GDAL always writes them with an encoding and a CRS
        raise InputDataError(f"shapefile export: GDAL wrote no {', '.join(missing)}")
    with zipfile.ZipFile(folder / f"{stem}_shp.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for m in members:
            zf.write(m, m.name)
        zf.write(folder / dict_name, dict_name)
    for m in work.iterdir():
        m.unlink()
    work.rmdir()
    return [f"{stem}_shp.zip", dict_name]


#: Colour of the features that complete existing protection, and of the scenario's lock-ins.
_KIND_COLOURS = {"completes existing": "#a6dba0", "locked in": "#c2a5cf"}
_KIND_LABELS = {"completes existing": "completes existing protected units (their unprotected "
                                      "remainder)", "locked in": "locked in by the scenario"}
#: The class of a feature in the parks style: its typology for a park, else its kind.
_CLASS_EXPRESSION = "CASE WHEN \"kind\" = 'park' THEN \"typology\" ELSE \"kind\" END"


def _styles() -> list[tuple[str, str, str, str, str]]:
    colours = {**{t: TYPE_COLOURS[t] for t in TYPES}, **_KIND_COLOURS}
    labels = {**{t: TYPE_LABELS.get(t, t.replace("_", " ")) for t in TYPES},
              **_KIND_LABELS}
    conditions = {**{t: [("kind", "park"), ("typology", t)] for t in TYPES},
                  **{k: [("kind", k)] for k in _KIND_COLOURS}}
    return [
        ("parks", "parks by typology", categorized_qml(_CLASS_EXPRESSION, colours, labels=labels),
         categorized_sld("parks", "typology", colours, labels=labels, conditions=conditions),
         "candidate parks coloured by their gap-analysis typology; the remainders of existing "
         "protected units the plan completes in light green"),
        ("added_units", "added units", single_qml(_ADDED_COLOUR, "#7f2704", 0.1),
         single_sld("added_units", _ADDED_COLOUR, "#7f2704"),
         "planning units of the parks and of the completed existing units"),
        ("existing_network", "existing network", single_qml(_EXISTING_COLOUR, "#00441b", 0.2),
         single_sld("existing_network", _EXISTING_COLOUR, "#00441b"), "existing protection"),
        ("study_area", "study area outline", single_qml(None, "#4d4d4d", 0.5),
         single_sld("study_area", None, "#4d4d4d"), "study area outline"),
    ]


#: Each GeoPackage layer: its description, and (title, unit, meaning) of its fields other
#: than the features' (`optimizer.outputs.plan_features.field_entry`).
_LAYERS: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {
    "parks": ("the plan's features: candidate parks (kind 'park') and the unprotected remainders "
              "of the existing protected units it completes (kind 'completes existing'); their "
              "area_km2 and carbon_stock_MgC sum to the plan's totals", {}),
    "added_units": ("the planning units of the features, with the new km² each adds", {
        "pu_id": ("Planning unit id", "", "the unit's pu_id in the grid"),
        "row": ("Grid row", "", "row of the unit's cell (square grids)"),
        "col": ("Grid column", "", "column of the unit's cell (square grids)"),
        "area_km2": ("Unit area (km²)", "km²", "whole area of the unit"),
        "new_km2": ("New protected area (km²)", "km²", "the unit's unprotected part "
                    "(1 - pa_fraction) x area: the new area it adds; sums to the plan's new km²"),
        "carbon_stock_MgC": ("Carbon stock added (MgC)", "MgC", "carbon stock of the unit's "
                             "unprotected part, all carbon_stock layers summed"),
        "park_id": ("Feature number", "", "park_id of the unit's feature in the parks layer"),
        "kind": ("Kind of feature", "", "kind of the unit's feature: "
                 + ", ".join(f"'{k}'" for k in KINDS)),
        "refilled": ("Refilled", "", "True when the refill added the unit after parks under "
                     "min_km2 were dropped"),
        "priority_rank": ("Priority rank", "", "order in which the nested path adds the unit as "
                          "the budget grows (1 = first; 0 = locked, not ranked)"),
    }),
    "existing_network": ("the existing protected network", {
        "name": ("Name", "", "name of the protected area"),
        "category": ("Category", "", "category of the protected area"),
        "area_km2": ("Area (km²)", "km²", "area of the polygon"),
        "source": ("Source", "", "how the network was drawn when the grid keeps no protected "
                   "areas"),
    }),
    "study_area": ("the study area outline", {
        "area_km2": ("Area (km²)", "km²", "area of the polygon"),
    }),
    "importance": ("the importance of each unit of the plan (`carbonpark importance`): one "
                   "polygon per unit with an importance, the columns of importance.csv", {
        "pu_id": ("Planning unit id", "", "the unit's pu_id in the grid"),
        "added": ("Added by the plan", "", "True when the plan adds the unit (not locked in)"),
        "importance": ("Importance", "", "the method's importance (importance.json's meaning); "
                       "empty where no plan exists without the unit (replacement)"),
        "importance_low": ("Importance, lower bound", "", "proven lower bound (replacement)"),
        "importance_high": ("Importance, upper bound", "", "proven upper bound (replacement)"),
        "importance_pct": ("Importance (% of objective)", "%", "replacement importance as a "
                           "share of the plan's objective; empty where no plan exists without "
                           "the unit"),
        "status": ("Re-solve status", "", "status of the unit's re-solve (replacement)"),
        "gap": ("Re-solve gap", "", "proven relative gap of the unit's re-solve"),
        "seconds": ("Re-solve seconds", "s", "wall-clock seconds of the unit's re-solve"),
        "rank": ("Rank", "", "rank importance: n + 1 - the increment at which the unit enters "
                 "(n first; 0 never)"),
        "increment": ("Increment", "", "budget increment at which the unit enters (0 never)"),
    }),
}


def _field_docs(layer: str, columns: Iterable[str]) -> list[tuple[str, str, str]]:
    """(column, alias, description) of each column of a GeoPackage layer; aliases unique."""
    own = _LAYERS.get(layer, ("", {}))[1]
    out, seen = [], set()
    for c in columns:
        if c in own:
            title, unit, meaning = own[c]
        else:
            (unit, meaning), title = field_entry(c), field_title(c)
        if title in seen:
            title = f"{title} [{c}]"
        seen.add(title)
        out.append((c, title, f"{meaning} (unit: {unit})" if unit else meaning))
    return out


def write_data_columns(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Every field's alias and description in ``gpkg_data_columns`` (the GeoPackage schema
    extension: ``name`` and ``title`` the alias, ``description`` the meaning and unit), which
    GDAL reads as the field's alternative name and comment and QGIS shows."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
                   "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, "
                   "mime_type TEXT, constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY "
                   "(table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))")
        db.execute("CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name "
                   "TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, "
                   "min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, "
                   "description TEXT, CONSTRAINT gdcc_ntv UNIQUE (constraint_name, "
                   "constraint_type, value))")
        for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
            known = db.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                               "extension_name = 'gpkg_schema'", (table,)).fetchone()
            if known is None:
                db.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', "
                           "'http://www.geopackage.org/spec121/#extension_schema', "
                           "'read-write')", (table,))
        for layer, gdf in layers.items():
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            db.executemany("INSERT OR REPLACE INTO gpkg_data_columns VALUES (?, ?, ?, ?, ?, "
                           "NULL, NULL)", [(layer, c, title, title, desc)
                                           for c, title, desc in _field_docs(layer, cols)])


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """The layers (geometry column ``geom``), their QGIS styles (``layer_styles``) and the
    aliases and descriptions of their fields (`write_data_columns`)."""
    import pyogrio

    for k, (name, gdf) in enumerate(layers.items()):
        # GeoPackage 1.2: GDAL before 3.7 (Debian 12's 3.6) reads 1.4 with a warning.
        options = {"GEOMETRY_NAME": "geom", "SPATIAL_INDEX": "YES"}
        if name in _LAYERS:
            options["DESCRIPTION"] = _LAYERS[name][0]
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", promote_to_multi=True,
                                dataset_options={"VERSION": "1.2"} if k == 0 else None,
                                layer_options=options)
    styles = layer_styles_frame([s for s in _styles() if s[0] in layers])
    pyogrio.write_dataframe(styles, path, layer="layer_styles", driver="GPKG",
                            layer_options={"FID": "id"})
    write_data_columns(path, layers)


def write_geoparquet(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet 1.1.0 with a bbox covering column."""
    gdf.to_parquet(path, index=False, schema_version="1.1.0", write_covering_bbox=True)


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON: EPSG:4326 lon/lat, counter-clockwise exteriors."""
    import pyogrio

    pyogrio.write_dataframe(gdf.to_crs(4326), path, driver="GeoJSON",
                            layer_options={"RFC7946": "YES", "WRITE_BBOX": "YES"})


def _square_grid(problem: Problem) -> tuple[Any, np.ndarray, np.ndarray] | None:
    from affine import Affine

    pu = problem.pu
    sq = pu.meta.get("square_grid")
    if not sq or "row" not in pu.units.columns or "col" not in pu.units.columns:
        return None
    transform = Affine(sq["cell_m"], 0, sq["x0"], 0, -sq["cell_m"], sq["y0"])
    return ((int(sq["nrows"]), int(sq["ncols"]), transform),
            pu.units["row"].to_numpy(np.int64), pu.units["col"].to_numpy(np.int64))


def _aux_xml(names: list[str]) -> str:
    cats = "".join(f"<Category>{escape(n)}</Category>" for n in names)
    return (f'<PAMDataset>\n  <PAMRasterBand band="1">\n    <CategoryNames>{cats}</CategoryNames>\n'
            "  </PAMRasterBand>\n</PAMDataset>\n")


@contextlib.contextmanager
def _tif(path: Path, profile: dict[str, Any]) -> Iterator[Any]:
    """A GeoTIFF dataset to fill, built in memory and written to ``path`` by Python on exit.

    GDAL's GeoTIFF writer prints libtiff's "_tiffSeekProc: No space left on device" on
    stderr, once per block, before it fails on a full disk: written here, the file is one
    ``write``, and a full disk one `OSError` (``ENOSPC``) and nothing on stderr.
    """
    from rasterio.io import MemoryFile

    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            yield dst
        data = mem.read()
    with open(path, "wb") as fh:
        fh.write(data)


def write_selection_tif(problem: Problem, status: np.ndarray, path: Path) -> None:
    """``status`` per cell as uint8 codes (`STATUS_CODES`, 0 nodata), colour table, names."""
    grid = _square_grid(problem)
    assert grid is not None
    (nrows, ncols, transform), rows, cols = grid
    band = np.zeros((nrows, ncols), np.uint8)
    codes = np.zeros(status.size, np.uint8)
    for name, (code, _) in STATUS_CODES.items():
        codes[status == name] = code
    band[rows, cols] = codes
    profile = {"driver": "GTiff", "height": nrows, "width": ncols, "count": 1, "dtype": "uint8",
               "crs": _raster_crs(problem), "transform": transform, "nodata": 0, "compress": "deflate",
               "tiled": nrows * ncols > 1_000_000}
    cmap = {0: (0, 0, 0, 0)}
    for code, colour in STATUS_CODES.values():
        h = colour.lstrip("#")
        cmap[code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    with _tif(path, profile) as dst:
        dst.write(band, 1)
        dst.write_colormap(1, cmap)
        dst.set_band_description(1, "unit status: 1 existing, 2 added, 3 locked out, 4 free")
        dst.update_tags(1, **{f"code_{c}": n for n, (c, _) in STATUS_CODES.items()})
    names = ["no unit", *STATUS_CODES]
    path.with_name(path.name + ".aux.xml").write_text(_aux_xml(names), encoding="utf-8")


def write_amounts_tif(problem: Problem, features: PlanFeatures, path: Path) -> None:
    """Band 1 the new km² the exported plan adds in each cell, band 2 its carbon stock added
    (MgC): the units of every feature (parks and completed remainders); 0 elsewhere in the
    grid, NaN outside it. float64, so the bands sum back to the plan's totals exactly."""
    grid = _square_grid(problem)
    assert grid is not None
    (nrows, ncols, transform), rows, cols = grid
    in_plan = features.unit_feature > 0
    amounts = unit_amounts(problem)
    bands = np.full((2, nrows, ncols), np.nan, np.float64)
    for b, key in enumerate(("new_km2", "carbon_stock_MgC")):
        bands[b, rows, cols] = np.where(in_plan, amounts[key], 0.0)
    profile = {"driver": "GTiff", "height": nrows, "width": ncols, "count": 2,
               "dtype": "float64", "crs": _raster_crs(problem), "transform": transform,
               "nodata": np.nan, "compress": "deflate", "predictor": 3,
               "tiled": nrows * ncols > 1_000_000}
    with _tif(path, profile) as dst:
        dst.write(bands)
        dst.set_band_description(1, "new protected area the plan adds in the cell (km2)")
        dst.set_band_description(2, "carbon stock the plan adds in the cell (MgC)")
        dst.update_tags(1, unit="km2", meaning="unprotected part (1 - pa_fraction) x area of "
                        "each unit of the plan's features (parks and completed existing units)")
        dst.update_tags(2, unit="MgC", meaning="carbon_stock layers summed over the unit's "
                        "unprotected part")
        dst.update_tags(meaning="the plan's new amounts per cell: each band sums to the plan's "
                        "total (summary.json new_km2 and added.carbon_stock_total)")


def _raster_crs(problem: Problem) -> Any:
    from rasterio.crs import CRS

    return CRS.from_wkt(named_crs(problem.pu.crs).to_wkt())


def write_rank_tif(problem: Problem, rank: PriorityRank, path: Path) -> None:
    """Band 1 the priority rank (1 = added first), band 2 the entry budget (km²); NaN nodata."""
    grid = _square_grid(problem)
    assert grid is not None
    (nrows, ncols, transform), rows, cols = grid
    bands = np.full((2, nrows, ncols), np.nan, np.float32)
    ranked = rank.rank > 0
    bands[0, rows[ranked], cols[ranked]] = rank.rank[ranked]
    bands[1, rows[ranked], cols[ranked]] = rank.entry_budget_km2[ranked]
    profile = {"driver": "GTiff", "height": nrows, "width": ncols, "count": 2,
               "dtype": "float32", "crs": _raster_crs(problem), "transform": transform,
               "nodata": np.nan, "compress": "deflate", "tiled": nrows * ncols > 1_000_000}
    with _tif(path, profile) as dst:
        dst.write(bands)
        dst.set_band_description(1, "priority rank (1 = first; the plan's added units rank "
                                    "first, see the meaning tag)")
        dst.set_band_description(2, "entry budget (km2 of new protection)")
        dst.update_tags(meaning=rank.note)


def write_importance_gpkg(units: gpd.GeoDataFrame, table: pd.DataFrame, path: Path) -> int:
    """``importance.gpkg``: layer ``importance``, one polygon per unit with an importance (the
    plan adds it, or its importance is not 0) and the columns of ``table`` (one row per unit,
    ``units`` order; ``inf`` written empty); the field aliases and descriptions. Returns the
    number of polygons."""
    import geopandas as gpd

    keep = table["added"].to_numpy(bool) | (table["importance"].to_numpy(np.float64) != 0)
    rows = table[keep].replace([np.inf, -np.inf], np.nan).reset_index(drop=True)
    geom = units.geometry[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(rows.assign(added=rows["added"].astype(bool)), geometry=geom.values,
                           crs=units.crs)
    gdf = gdf.set_crs(named_crs(gdf.crs), allow_override=True) if gdf.crs is not None else gdf
    write_geopackage({"importance": gdf}, path)
    return len(gdf)


def write_importance_tif(problem: Problem, importance_pct: np.ndarray, path: Path, *,
                         method: str = "replacement") -> None:
    """Band 1 each added unit's replacement importance as % of the plan's objective (0 for
    the units the plan does not add; nodata where no plan exists without the unit), band 2
    1 where no plan exists without it (`optimizer.studies.importance`); NaN outside the grid.
    Another ``method`` (``ferrier``, ``rank``): band 1 is its ``importance`` column as given."""
    grid = _square_grid(problem)
    assert grid is not None
    (nrows, ncols, transform), rows, cols = grid
    bands = np.full((2, nrows, ncols), np.nan, np.float32)
    finite = np.isfinite(importance_pct)
    bands[0, rows[finite], cols[finite]] = importance_pct[finite]
    bands[1, rows, cols] = (~finite).astype(np.float32)
    profile = {"driver": "GTiff", "height": nrows, "width": ncols, "count": 2,
               "dtype": "float32", "crs": _raster_crs(problem), "transform": transform,
               "nodata": np.nan, "compress": "deflate", "tiled": nrows * ncols > 1_000_000}
    with _tif(path, profile) as dst:
        dst.write(bands)
        if method == "replacement":
            dst.set_band_description(1, "replacement importance (% of the plan's objective)")
            dst.update_tags(1, unit="pct", meaning="how much worse the best plan without the "
                            "unit is, as a share of the plan's objective; 0 where the plan "
                            "does not add the unit")
        else:
            dst.set_band_description(1, f"{method} importance")
            dst.update_tags(1, unit="", meaning=f"{method} importance (importance.json)")
        dst.set_band_description(2, "irreplaceable: 1 where no plan exists without the unit")


# ---------------------------------------------------------------- the formats (`WRITERS`)

def features_of(job: ExportJob) -> gpd.GeoDataFrame:
    """The job's features (`optimizer.outputs.plan_features.plan_features`, computed once)
    in the grid's CRS, named (`named_crs`)."""
    if job.features is None:
        job.features = plan_features(job.problem, job.parks)
    table = job.features.table
    return table.set_crs(named_crs(table.crs), allow_override=True)


def shp_files(job: ExportJob, folder: Path) -> list[str]:
    """``shp``: ``parks_shp.zip`` and the data dictionary ``parks_fields.csv``."""
    return write_shapefile_zip(features_of(job), folder, job.notes)


def gpkg_files(job: ExportJob, folder: Path) -> list[str]:
    """``gpkg``: ``parks.gpkg``, its four layers, their QGIS styles and field descriptions."""
    table = features_of(job)
    crs = table.crs
    layers = {"parks": table,
              "added_units": added_units(job.problem, job.parks, job.rank, job.features,
                                            job.zone),
              "existing_network": existing_network(job.problem),
              "study_area": study_area(job.problem)}
    layers = {k: v.set_crs(crs, allow_override=True) for k, v in layers.items()}
    write_geopackage(layers, folder / "parks.gpkg")
    return ["parks.gpkg"]


def parquet_files(job: ExportJob, folder: Path) -> list[str]:
    """``parquet``: ``parks.parquet`` (GeoParquet 1.1)."""
    write_geoparquet(features_of(job), folder / "parks.parquet")
    return ["parks.parquet"]


def geojson_files(job: ExportJob, folder: Path) -> list[str]:
    """``geojson``: ``parks.geojson`` (RFC 7946)."""
    write_geojson(features_of(job), folder / "parks.geojson")
    return ["parks.geojson"]


def prepare_rank(job: ExportJob) -> None:
    """Before ``tif``: the priority rank of a square grid (``job.rank``), and a note either way."""
    if _square_grid(job.problem) is None:
        job.notes.append("tif: skipped, the planning units are not a square grid")
        return
    t = time.perf_counter()
    # Ranked beside the exported plan: its added units are the top ranks (issue 21 §4).
    rank, why = priority_rank(job.problem, plan=np.isin(job.status, ("existing", "added")))
    job.seconds["rank"] = time.perf_counter() - t
    job.rank = rank
    job.notes.append(f"priority_rank.tif: {why}" if rank is not None else
                     f"priority_rank.tif: skipped, {why.removeprefix('no priority rank: ')}")


def tif_files(job: ExportJob, folder: Path) -> list[str]:
    """``tif`` (square grids): ``selection.tif``, ``plan_amounts.tif`` and, when ranked,
    ``priority_rank.tif``."""
    if _square_grid(job.problem) is None:
        return []
    write_selection_tif(job.problem, job.status, folder / "selection.tif")
    if job.features is None:
        job.features = plan_features(job.problem, job.parks)
    write_amounts_tif(job.problem, job.features, folder / "plan_amounts.tif")
    files = ["selection.tif", "selection.tif.aux.xml", "plan_amounts.tif"]
    if job.rank is not None:
        write_rank_tif(job.problem, job.rank, folder / "priority_rank.tif")
        files.append("priority_rank.tif")
    return files
