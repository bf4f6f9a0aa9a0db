"""``carbonpark grid``: build planning units from a layer manifest and write them."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from optimizer.cli.parser import add_grid_options, whole_number


def _add_grid(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="build planning units from a layer manifest (TOML)")
    p.add_argument("manifest", type=Path, help="grid manifest: study area, cell size, layers")
    p.add_argument("--out", type=Path, required=True, help="output grid directory")
    add_grid_options(p, cell_km_help="override the cell size (km)",
                     overwrite_help="replace --out even if it is not a grid written by carbonpark")
    p.add_argument("--no-memory-check", action="store_true",
                   help="build even when the estimated peak memory exceeds the memory available")
    big = p.add_argument_group("grids bigger than memory (square cells)")
    big.add_argument("--rows-per-band", type=whole_number(1), default=None, metavar="N",
                     help="build band by band on disk, N grid rows a band (memory follows the "
                          "band); implied by --scheduler")
    big.add_argument("--scheduler", default=None, metavar="ADDR",
                     help="run the bands on Dask: 'local' (a LocalCluster of processes) or a "
                          "scheduler address, tcp://host:8786 (workers must see the layers and "
                          "--out's folder at the same paths)")
    big.add_argument("--workers", type=whole_number(1), default=None, metavar="N",
                     help="LocalCluster workers with --scheduler local (default: the CPUs)")
    p.set_defaults(func=cmd_grid)


def _build_banded(args: argparse.Namespace) -> Path:
    from optimizer.distributed import dask_client
    from optimizer.errors import InputDataError
    from optimizer.grid.stream import build_grid_streamed
    from optimizer.inputs.layers import load_manifest

    manifest, specs = load_manifest(args.manifest)
    g = manifest.grid
    if g.units:
        raise InputDataError(f"{args.manifest}: --rows-per-band and --scheduler build square "
                             "cells; this manifest gives units polygons: drop those options")
    base = args.manifest.parent
    kw = dict(study_area=base / g.study_area, cell_km=args.cell_km or g.cell_km, crs=g.crs,
              rows_per_band=args.rows_per_band, progress=sys.stderr.isatty(),
              max_units=args.max_units, overwrite=args.overwrite,
              check_memory=not args.no_memory_check)
    if args.scheduler is None:
        return build_grid_streamed(specs, args.out, **kw)
    with dask_client(args.scheduler, args.workers, error=InputDataError) as client:
        if client.dashboard_link:
            print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
        return build_grid_streamed(specs, args.out, client=client, **kw)


def cmd_grid(args: argparse.Namespace) -> int:
    """Build a grid from a manifest and write it; running out of memory anyway is one line."""
    try:
        return _cmd_grid(args)
    except Exception as exc:
        if not (isinstance(exc, MemoryError) or "bad_alloc" in str(exc)):
            raise
        from optimizer.errors import OptimizerError
        from optimizer.grid.memory import available_memory, format_bytes

        limit = available_memory()
        raise OptimizerError(
            f"{args.manifest}: ran out of memory building the grid ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:80]}) with {format_bytes(limit.bytes)} available "
            f"({limit.source}); " + ("use smaller bands (--rows-per-band) or larger cells "
            "(--cell-km)" if args.rows_per_band or args.scheduler else "build it band by band "
            "(--rows-per-band) or use larger cells (--cell-km)")) from None


def _cmd_grid(args: argparse.Namespace) -> int:
    from optimizer.atomic import check_output_dir
    from optimizer.grid.build import read_grid, write_grid
    from optimizer.grid.manifest import build_grid_from_manifest, manifest_inputs

    t0 = time.perf_counter()
    check_output_dir(args.out, "grid", overwrite=args.overwrite, inputs=manifest_inputs(args.manifest))
    if args.workers is not None and args.scheduler != "local":
        from optimizer.errors import InputDataError

        raise InputDataError("--workers sets the LocalCluster's size: give it with "
                             "--scheduler local")
    if args.rows_per_band is not None or args.scheduler is not None:
        try:
            out = _build_banded(args)
        except KeyboardInterrupt:
            from optimizer.grid.stream import bands_folder

            folder = bands_folder(args.out)
            kept = len(list(folder.glob("band-*.json"))) if folder.is_dir() else 0
            print(f"carbonpark: interrupted: {kept} finished bands are kept in {folder}; run the "
                  "same command again to resume", file=sys.stderr)
            return 130
        pu = read_grid(out)
        _print_grid_summary(pu)
        print(f"wrote {out} ({len(pu):,} units, {pu.meta['square_grid']['nrows']:,} rows "
              f"in bands) in {time.perf_counter() - t0:.1f} s")
        return 0
    pu = build_grid_from_manifest(args.manifest, cell_km=args.cell_km, progress=sys.stderr.isatty(),
                                  max_units=args.max_units, check_memory=not args.no_memory_check)
    out = write_grid(pu, args.out, overwrite=args.overwrite)
    _print_grid_summary(pu)
    print(f"wrote {out} ({len(pu):,} units) in {time.perf_counter() - t0:.1f} s")
    return 0


def _print_grid_summary(pu) -> None:
    from optimizer.inputs.units import format_total

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

