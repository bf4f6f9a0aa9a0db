"""``carbonpark grid``: build planning units from a layer manifest and write them."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optimizer.cli.parser import DEFAULT_MAX_UNITS, add_grid_options


def _add_grid(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="build planning units from a layer manifest (TOML)")
    p.add_argument("manifest", type=Path, help="grid manifest: study area, cell size, layers")
    p.add_argument("--out", type=Path, required=True, help="output grid directory")
    add_grid_options(p, cell_km_help="override the cell size (km)",
                     overwrite_help="replace --out even if it is not a grid written by carbonpark")
    p.set_defaults(func=cmd_grid)


def _manifest_inputs(manifest_path: Path) -> list[Path]:
    """The manifest and every file it names (never to be written over)."""
    from optimizer.layers import load_manifest

    manifest, specs = load_manifest(manifest_path)
    g = manifest.grid
    base = manifest_path.parent
    named = [base / f for f in (g.study_area, g.units) if f]
    return [manifest_path, *named, *(Path(s.path) for s in specs)]


def _build_from_manifest(manifest_path: Path, cell_km: float | None, progress: bool,
                         max_units: int = DEFAULT_MAX_UNITS):
    from optimizer.grid import build_grid
    from optimizer.layers import load_manifest

    manifest, specs = load_manifest(manifest_path)
    g = manifest.grid
    base = manifest_path.parent
    return build_grid(
        specs,
        study_area=base / g.study_area if g.study_area else None,
        units=base / g.units if g.units else None,
        id_column=g.id_column,
        cell_km=cell_km if cell_km is not None else g.cell_km,
        crs=g.crs,
        progress=progress,
        max_units=max_units,
    )


def cmd_grid(args: argparse.Namespace) -> int:
    """Build a grid from a manifest and write it."""
    from optimizer._atomic import check_output_dir
    from optimizer.grid import write_grid

    t0 = time.perf_counter()
    check_output_dir(args.out, "grid", overwrite=args.overwrite, inputs=_manifest_inputs(args.manifest))
    pu = _build_from_manifest(args.manifest, args.cell_km, progress=sys.stderr.isatty(),
                              max_units=args.max_units)
    out = write_grid(pu, args.out, overwrite=args.overwrite)
    _print_grid_summary(pu)
    print(f"wrote {out} ({len(pu):,} units) in {time.perf_counter() - t0:.1f} s")
    return 0


def _print_grid_summary(pu) -> None:  # type: ignore[no-untyped-def]
    from optimizer.units import format_total

    meta = pu.meta
    cell = f"{meta['cell_km']:g} km cells" if meta.get("cell_km") else "user polygons"
    print(f"planning units: {len(pu):,} ({cell}), study area {meta['area_km2']:,.0f} km2, "
          f"protected {float((pu.units.pa_fraction * pu.units.area_km2).sum()) / meta['area_km2']:.2%}")
    summary = pu.summary()
    shown = summary[summary["role"].isin(["carbon_stock", "carbon_uptake", "emissions"])]
    if len(shown):
        print(f"{'feature':<16}{'total':>20}{'density':>22}{'nodata':>9}")
        for _, r in shown.iterrows():
            dens = f"{r['density']:,.2f} {r['density_unit']}" if r["density_unit"] else ""
            print(f"{r['feature']:<16}{format_total(r['total'], r['unit']):>20}{dens:>22}"
                  f"{r['nodata_share']:>9.2%}")
    n_bio = int((summary["role"] == "biodiversity").sum())
    n_lc = int((summary["role"] == "land_cover").sum())
    print(f"biodiversity features: {n_bio}; land-cover classes: {n_lc}; "
          f"boundary pairs: {len(pu.boundary):,}")

