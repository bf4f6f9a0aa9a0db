"""QGIS layer styles stored in a GeoPackage, so layers open styled in QGIS unchanged.

QGIS reads a layer's default style from the GeoPackage table ``layer_styles`` (the
table its "Save style > In database" writes): one row per style with the layer's table
and geometry column, the style as QML (QGIS's own XML) and SLD, and ``useAsDefault``.
`categorized_qml` colours polygons by a text field or a QGIS expression (one colour per
class: the parks by their gap-analysis typology, the features that complete existing
protection apart), with each class's legend label in words (``"synergy: high carbon and
biodiversity"``, ``"no data"``, not the codes), `single_qml` gives one fill and outline;
`layer_styles_frame` builds the table's rows, which `optimizer.outputs.export` writes as a
non-spatial GeoPackage layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

__all__ = ["LAYER_STYLES_COLUMNS", "categorized_qml", "categorized_sld", "layer_styles_frame",
           "single_qml", "single_sld"]

#: Columns of the ``layer_styles`` table QGIS reads and writes (after its ``id``).
LAYER_STYLES_COLUMNS = ("f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
                        "styleName", "styleQML", "styleSLD", "useAsDefault", "description",
                        "owner", "ui", "update_time")

_QML_HEAD = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
             '<qgis version="3.28.0" styleCategories="Symbology">\n')


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _fill_symbol(name: str, fill: str | None, outline: str, width: float) -> str:
    style = "no" if fill is None else "solid"
    colour = _rgba(fill or "#000000", 0 if fill is None else 255)
    props = {"color": colour, "outline_color": _rgba(outline), "outline_style": "solid",
             "outline_width": f"{width:g}", "outline_width_unit": "MM", "style": style}
    options = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    legacy = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    return (f'<symbol type="fill" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
            f'force_rhr="0"><layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<Option type="Map">{options}</Option>{legacy}</layer></symbol>')


def categorized_qml(field: str, colours: Mapping[str, str], *, outline: str = "#232323",
                    width: float = 0.26, labels: Mapping[str, str] | None = None) -> str:
    """QML of a categorized renderer: polygons coloured by the value of ``field``.

    Parameters
    ----------
    field : str
        The text field holding the class, or a QGIS expression giving it.
    colours : mapping
        Class value -> ``#rrggbb`` colour, in legend order.
    outline, width
        Outline colour and width (mm).
    labels : mapping, optional
        Class value -> its legend label in words (default the value).

    Examples
    --------
    >>> qml = categorized_qml("typology", {"synergy": "#7b3294", "no_data": "#d4d4d4"},
    ...                       labels={"no_data": "no data"})
    >>> 'type="categorizedSymbol" attr="typology"' in qml, qml.count("<category ")
    (True, 2)
    >>> 'value="no_data" label="no data"' in qml
    True
    """
    labels = labels or {}
    cats = "".join(f'<category render="true" symbol="{k}" value={quoteattr(v)} '
                   f'label={quoteattr(labels.get(v, v))}/>' for k, v in enumerate(colours))
    syms = "".join(_fill_symbol(str(k), c, outline, width) for k, c in enumerate(colours.values()))
    return (f'{_QML_HEAD} <renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} '
            f'symbollevels="0" enableorderby="0" forceraster="0">\n'
            f"  <categories>{cats}</categories>\n  <symbols>{syms}</symbols>\n"
            f" </renderer-v2>\n</qgis>\n")


def single_qml(fill: str | None, outline: str = "#232323", width: float = 0.26) -> str:
    """QML of one symbol for every feature (``fill`` None: outline only).

    Examples
    --------
    >>> 'type="singleSymbol"' in single_qml(None, "#1b7837")
    True
    """
    return (f'{_QML_HEAD} <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" '
            f'forceraster="0">\n  <symbols>{_fill_symbol("0", fill, outline, width)}</symbols>\n'
            f" </renderer-v2>\n</qgis>\n")


_SLD_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<StyledLayerDescriptor version="1.1.0" '
             'xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
             'xmlns:se="http://www.opengis.net/se">')


def _sld_rule(title: str, fill: str | None, outline: str, test: str = "") -> str:
    fill_xml = ("" if fill is None else
                f'<se:Fill><se:SvgParameter name="fill">{fill}</se:SvgParameter></se:Fill>')
    return (f"<se:Rule><se:Name>{escape(title)}</se:Name>{test}<se:PolygonSymbolizer>{fill_xml}"
            f'<se:Stroke><se:SvgParameter name="stroke">{outline}</se:SvgParameter></se:Stroke>'
            f"</se:PolygonSymbolizer></se:Rule>")


def _sld(layer: str, rules: str) -> str:
    return (f"{_SLD_HEAD}<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle>"
            f"<se:Name>{escape(layer)}</se:Name><se:FeatureTypeStyle>{rules}"
            f"</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n")


def _equal(field: str, value: str) -> str:
    return (f"<ogc:PropertyIsEqualTo><ogc:PropertyName>{escape(field)}</ogc:PropertyName>"
            f"<ogc:Literal>{escape(value)}</ogc:Literal></ogc:PropertyIsEqualTo>")


def categorized_sld(layer: str, field: str, colours: Mapping[str, str],
                    outline: str = "#232323", *, labels: Mapping[str, str] | None = None,
                    conditions: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> str:
    """The SLD twin of `categorized_qml` (one rule per class, named by its label).

    ``conditions`` gives a class the (field, value) equalities that select it, all of
    them (default: ``field`` equal to the class value).

    Examples
    --------
    >>> sld = categorized_sld("parks", "typology", {"no_data": "#bdbdbd"},
    ...                       labels={"no_data": "no data"},
    ...                       conditions={"no_data": [("kind", "park"), ("typology", "no_data")]})
    >>> "<se:Name>no data</se:Name><ogc:Filter><ogc:And>" in sld
    True
    """
    labels, conditions = labels or {}, conditions or {}
    rules = []
    for v, c in colours.items():
        tests = [_equal(f, val) for f, val in conditions.get(v, [(field, v)])]
        test = tests[0] if len(tests) == 1 else f"<ogc:And>{''.join(tests)}</ogc:And>"
        rules.append(_sld_rule(labels.get(v, v), c, outline, f"<ogc:Filter>{test}</ogc:Filter>"))
    return _sld(layer, "".join(rules))


def single_sld(layer: str, fill: str | None, outline: str = "#232323") -> str:
    """The SLD twin of `single_qml`."""
    return _sld(layer, _sld_rule(layer, fill, outline))


def layer_styles_frame(styles: Sequence[tuple[str, str, str, str, str]],
                       geometry_column: str = "geom") -> pd.DataFrame:
    """Rows of the ``layer_styles`` table, one default style per layer.

    Parameters
    ----------
    styles : sequence of (layer, style name, QML, SLD, description)
    geometry_column : str
        The layers' geometry column (GDAL's GeoPackage default ``geom``).

    Examples
    --------
    >>> df = layer_styles_frame([("parks", "typology", single_qml("#ff0000"), "", "parks")])
    >>> list(df.columns) == list(LAYER_STYLES_COLUMNS), bool(df["useAsDefault"][0])
    (True, True)
    """
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    rows = [{"f_table_catalog": "", "f_table_schema": "", "f_table_name": layer,
             "f_geometry_column": geometry_column, "styleName": name, "styleQML": qml,
             "styleSLD": sld, "useAsDefault": True, "description": desc, "owner": "carbonpark",
             "ui": "", "update_time": now} for layer, name, qml, sld, desc in styles]
    return pd.DataFrame(rows, columns=list(LAYER_STYLES_COLUMNS))
