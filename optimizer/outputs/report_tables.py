"""The report's HTML building blocks: escaping, inline figures, number tables, and the
per-plan tables (the gap closure's density, ecosystems, hotspots and species; the study's
Table 1 of carbon stock by zone and Tables 2-3 of NPP and emissions per year).

Numbers are written as the console writes them (`cell`); every figure is a PNG ``data:``
URI (`fig_uri`), so the page needs nothing outside it. `optimizer.outputs.report` puts the
pages together.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.figures.plots import pretty_unit
from optimizer.gap.markdown import format_value
from optimizer.gap.zoning import PROTECTED, UNPROTECTED, WHOLE, Zones

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["arrow", "carbon_table_html", "cell", "density_html", "ecosystems_html", "escape",
           "fig_uri", "figure_html", "hotspots_html", "species_html", "table_html",
           "time_series_html", "zones_after"]


# ============================================================== small HTML helpers

def escape(v: Any) -> str:
    return html.escape(str(v), quote=True)


def fig_uri(fig: Figure, dpi: int = 96) -> str:
    """The figure as a PNG data URI (nothing outside the page)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(fig: Figure, caption: str, alt: str) -> str:
    return (f'<figure><img alt="{escape(alt)}" src="{fig_uri(fig)}"><figcaption>{escape(caption)}'
            "</figcaption></figure>")


def cell(v: Any, col: str = "") -> str:
    """A number as the console writes it: % to 0.1, km² and amounts whole, the rest 0.01."""
    if isinstance(v, float | np.floating) and np.isfinite(v):
        if col == "gap (%)":  # as format_comparison and the console
            return f"{v:.3f}"
        if col == "seconds":
            return f"{v:.1f}"
        if col.endswith("(%)"):
            return f"{v:,.1f}"
        if any(u in col for u in ("(km²)", "(MgC", "(tCO2", "km²)")):
            return f"{v:,.0f}"
        if 0.01 <= abs(float(v)) < 1000:
            return f"{v:,.2f}"
    return format_value(v)


def table_html(df: pd.DataFrame, *, text_cols: Sequence[str] = (), total_last: bool = False) -> str:
    """An HTML table; numbers right-aligned with thousands separators, no exponents."""
    cols = [str(c) for c in df.columns]
    # Listed text columns wrap ("t"); other text (e.g. "0.69 → 1.11") stays on one line ("s").
    short = {c for c in cols if c not in text_cols and df[c].dtype != float
             and not df[c].map(lambda v: isinstance(v, int | float)).all()}
    kind = {c: "t" if c in text_cols else "s" if c in short else "" for c in cols}
    head = "".join(f'<th class="{kind[c]}">{escape(c)}</th>' for c in cols)
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cls = ' class="total"' if total_last and i == len(df) - 1 else ""
        cells = "".join(f'<td class="{kind[c]}">{escape(cell(v, c))}</td>'
                        for c, v in zip(cols, row, strict=True))
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def arrow(before: float | None, after: float | None, fmt: str = "{:.2f}") -> str:
    if before is None or after is None or not np.isfinite(before) or not np.isfinite(after):
        return "—"
    return f"{fmt.format(before)} → {fmt.format(after)}"


# ============================================================== per-plan parts

def zones_after(pu: Any, before: np.ndarray, x: np.ndarray) -> Any:
    """Zones of Table 1 after the plan: existing network, added units, both, the rest."""

    added = (1.0 - before) * x
    after = before + added
    names = (WHOLE, "existing network", "added by the plan", PROTECTED, UNPROTECTED)
    kinds = ("whole", "category", "category", "protected", "unprotected")
    return Zones(names, kinds, np.column_stack([np.ones_like(before), before, added, after,
                                                1.0 - after]), ())


def carbon_table_html(t: pd.DataFrame) -> str:
    """Table 1 layout: area, total, share, density and ratio per layer and zone."""
    unit = str(t["total_unit"].iloc[0]) if len(t) else "MgC"
    df = pd.DataFrame({
        "layer": t["layer"], "zone": t["zone"], "area (km²)": t["area_km2"],
        "area share (%)": 100 * t["area_share"], f"total ({unit})": t["total"],
        "share of whole-area total (%)": 100 * t["share"],
        "density (kgC/m²)": t["density_kgC_m2"], "density ÷ whole-area density": t["density_ratio"],
    })
    return table_html(df, text_cols=("layer", "zone"))


def time_series_html(ts: pd.DataFrame) -> str:
    """Tables 2-3: per layer and year, each zone's total (share %) and the density ratio."""
    if ts is None or not len(ts):
        return '<p class="note">No carbon uptake or emissions layer: no time series.</p>'
    parts = []
    for layer, g in ts.groupby("layer", sort=False):
        tunit = str(g["total_unit"].iloc[0])
        dunit = pretty_unit(str(g["density_unit"].iloc[0]))
        rows = []
        for year, gy in g.groupby("year", sort=True, dropna=False):
            r: dict[str, Any] = {"year": "—" if pd.isna(year) else str(int(year))}
            for z in gy.itertuples():
                r[f"{z.zone} ({tunit})"] = float(z.total)
            prot = gy[gy["zone"] == "protected"]
            whole = gy[gy["zone"] == "whole"]
            if len(prot):
                r["protected share (%)"] = 100 * float(prot["share"].iloc[0])
                r[f"density whole ({dunit})"] = float(whole["density"].iloc[0])
                r[f"density protected ({dunit})"] = float(prot["density"].iloc[0])
                r["protected density ÷ whole"] = float(prot["density_ratio"].iloc[0])
            rows.append(r)
        parts.append(f"<h4>{escape(layer)}</h4>" + table_html(pd.DataFrame(rows), text_cols=("year",)))
    return "".join(parts)


def density_html(d: pd.DataFrame) -> str:
    df = pd.DataFrame({
        "layer": d["layer"], "quantity": d["quantity"],
        "density unit": [pretty_unit(density_label(u)) for u in d["density_unit"]],
        "study area": d["density_whole"], "protected before": d["density_before"],
        "protected after": d["density_after"],
        "ratio before → after (×)": [arrow(a, b) for a, b in
                                     zip(d["ratio_before"], d["ratio_after"], strict=True)]})
    return table_html(df, text_cols=("layer", "quantity", "density unit"))


def density_label(unit: str) -> str:
    """The closure's per-km² flow units in the console's density units."""
    known = {"MgC/yr/km2": "gC/m2/yr", "MgC/km2": "gC/m2"}
    if unit in known:
        return known[unit]
    base, _, rest = unit.partition("/")  # tCO2/yr/km2 -> tCO2/km2/yr, as the gap tables
    if rest.endswith("/km2") and rest != "km2":
        return f"{base}/km2/{rest[:-4]}"
    return unit


def ecosystems_html(every: pd.DataFrame, definition: str = "") -> str:
    if not len(every):
        return '<p class="note">No land-cover layer: no ecosystem representation.</p>'
    # The counted classes, their total (the headline), then the classes not counted.
    flag = every["counted"].astype(bool) if "counted" in every else pd.Series(True, every.index)
    eco, rest = every[flag], every[~flag]

    def rows(e: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "ecosystem": e["ecosystem"].astype(str), "area (km²)": e["area_km2"],
            "protected before (km²)": e["protected_before_km2"],
            "protected after (km²)": e["protected_after_km2"],
            "shortfall before (km²)": e["shortfall_before_km2"],
            "closed (km²)": e["closed_km2"], "closed (%)": e["closed_pct"],
            "meets target before → after": [f"{yes_no(a)} → {yes_no(b)}" for a, b in
                                            zip(e["meets_before"], e["meets_after"], strict=True)]})

    short, closed = float(eco["shortfall_before_km2"].sum()), float(eco["closed_km2"].sum())
    total = {"ecosystem": "counted classes", "area (km²)": float(eco["area_km2"].sum()),
             "protected before (km²)": float(eco["protected_before_km2"].sum()),
             "protected after (km²)": float(eco["protected_after_km2"].sum()),
             "shortfall before (km²)": short, "closed (km²)": closed,
             "closed (%)": 100 * closed / short if short > 0 else float("nan"),
             "meets target before → after": (f"{int(eco['meets_before'].sum())} → "
                                             f"{int(eco['meets_after'].sum())} of {len(eco)}")}
    text = ("ecosystem", "meets target before → after")
    df = pd.concat([rows(eco), pd.DataFrame([total])], ignore_index=True)
    out = f'<p class="note">{escape(definition[:1].upper() + definition[1:])}.</p>' if definition else ""
    out += table_html(df, text_cols=text, total_last=True)
    if len(rest):
        out += ('<p class="note">Not counted in the ecosystem shortfall (see the definition '
                "above):</p>" + table_html(rows(rest), text_cols=text))
    return out


def yes_no(v: Any) -> str:
    return "yes" if bool(v) else "no"


def species_html(sp: pd.DataFrame) -> str:
    if not len(sp):
        return '<p class="note">No species range layers: no species targets.</p>'
    sp = sp.sort_values("share_after", ascending=False)
    df = pd.DataFrame({"species": sp["label"].fillna(sp["feature"]),
                       "range protected before (%)": 100 * sp["share_before"],
                       "range protected after (%)": 100 * sp["share_after"],
                       "meets target before → after": [f"{yes_no(a)} → {yes_no(b)}" for a, b in zip(
                           sp["meets_before"], sp["meets_after"], strict=True)]})
    return table_html(df, text_cols=("species", "meets target before → after"))


def hotspots_html(h: pd.DataFrame, top: float) -> str:
    if not len(h):
        return '<p class="note">No hotspot criteria.</p>'
    names = {"carbon": "carbon stock density", "npp": "NPP density",
             "biodiversity": "biodiversity value", "any": "any of them"}
    df = pd.DataFrame({"hotspot": [f"top {top:.0%} of the area by {names.get(c, c)}"
                                   for c in h["criterion"]],
                       "unprotected hotspot units": h["gap_units"],
                       "unprotected area (km²)": h["gap_unprotected_km2"],
                       "protected by the plan (km²)": h["protected_by_plan_km2"],
                       "protected by the plan (%)": 100 * h["share_protected_by_plan"]})
    return table_html(df, text_cols=("hotspot",))
