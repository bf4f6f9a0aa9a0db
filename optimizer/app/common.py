"""What every page shares: the current grid, cached resources, error display, figures, numbers.

The app keeps no modelling logic: grids, gap analyses and re-solve sessions come from
`optimizer` and are kept in process-wide caches (`optimizer.app.cache.SharedCache`) by a
grid key (``demo:<km>`` or the grid folder's path and modification time), so every page
and every browser tab share them. Functions that draw or read the session take the
Streamlit module as their first argument, ``st`` (`optimizer.app.ui.Ui`): nothing here
imports Streamlit.
"""

from __future__ import annotations

import functools
import io
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.app.cache import SharedCache
from optimizer.app.ui import Ui
from optimizer.errors import OptimizerError

#: Environment variable: the demo country's cell size in km (default 10; tests use 40).
CELL_ENV = "CARBONPARK_APP_CELL_KM"
DEFAULT_CELL_KM = 10.0


def demo_cell_km() -> float:
    """The demo grid's cell size (km) from ``CARBONPARK_APP_CELL_KM``, default 10 km."""
    raw = os.environ.get(CELL_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_CELL_KM
    except ValueError:
        return DEFAULT_CELL_KM
    return value if value > 0 else DEFAULT_CELL_KM


# ------------------------------------------------------------------ errors

def show_error(st: Ui, exc: BaseException) -> None:
    """One clear line in the page: our own errors as they are, others named by type."""
    if isinstance(exc, OptimizerError):
        st.error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    else:
        # Not ours: still one line, never a traceback in the page (the log keeps it).
        traceback.print_exception(exc)
        st.error(f"Something went wrong ({type(exc).__name__}: {exc}). Check the inputs; if it "
                 "persists, report it with the terminal log.")


def guarded(st: Ui, page: Callable[[Ui], None]) -> Callable[[], None]:
    """``page(st)`` as a function of no argument (what `st.Page` runs), any error it raises
    shown as one ``st.error`` message."""

    def run() -> None:
        try:
            page(st)
        except Exception as exc:
            show_error(st, exc)

    run.__name__ = page.__name__
    run.__doc__ = page.__doc__
    return run


# ------------------------------------------------------------------ grids

#: The process-wide caches, shared by every session (what ``st.cache_resource`` kept): the
#: demo grids by cell size, grid folders by path and modification time, gap analyses and
#: re-solve sessions by grid key.
DEMO_GRIDS: SharedCache[Any] = SharedCache(max_entries=2)
FOLDER_GRIDS: SharedCache[Any] = SharedCache(max_entries=4)
GAP_REPORTS: SharedCache[Any] = SharedCache(max_entries=4)
PLAN_SESSIONS: SharedCache[Any] = SharedCache(max_entries=4)


def _demo_pu(cell_km: float) -> Any:
    def build() -> Any:
        import warnings

        from optimizer.datasets import demo_grid

        with warnings.catch_warnings():  # nodata notes are the grid summary's business
            warnings.simplefilter("ignore")
            return demo_grid(cell_km)

    return DEMO_GRIDS.get(float(cell_km), build)


def _folder_pu(path: str, mtime: float) -> Any:
    from optimizer.grid.store import read_grid

    return FOLDER_GRIDS.get((path, mtime), lambda: read_grid(path))


def check_crs(pu: Any, where: str) -> None:
    """Refuse a grid whose CRS is geographic: areas and distances need a projected CRS."""
    from optimizer.errors import CRSError

    crs = getattr(pu, "crs", None)
    if crs is None:
        raise CRSError(f"{where}: the grid has no CRS; rebuild it with `carbonpark grid`")
    if crs.is_geographic:
        raise CRSError(f"{where}: the grid is in a geographic CRS ({crs.name}); planning needs "
                       "an equal-area projected CRS: rebuild it with `carbonpark grid --crs ...`")


def grid_source(st: Ui) -> dict[str, Any]:
    """The grid chosen on the Data page (default: the demo country)."""
    src = st.session_state.get("grid_source")
    if src is None:
        src = {"kind": "demo", "cell_km": demo_cell_km()}
    return src


def grid_key(src: dict[str, Any]) -> str:
    if src["kind"] == "demo":
        return f"demo:{src['cell_km']:g}"
    return f"folder:{src['path']}:{src['mtime']}"


def user_cache() -> Path:
    """carbonpark's folder in the user's cache (``$XDG_CACHE_HOME/carbonpark``, default
    ``~/.cache/carbonpark``): where the grids of downloaded scenarios are kept."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "carbonpark"


def portable(path: Path) -> str:
    """``path`` as a scenario names it: ``~/...`` under the home folder, else absolute."""
    path = Path(path).resolve()
    home = Path.home().resolve()
    return f"~/{path.relative_to(home).as_posix()}" if path.is_relative_to(home) else str(path)


@functools.lru_cache(maxsize=8)
def _demo_grid_hash(cell_km: float) -> str:
    from optimizer.datasets import demo_manifest
    from optimizer.scenario import Scenario
    from optimizer.scenario.build import grid_hash

    s = Scenario.from_dict({"schema_version": 1, "grid": {"manifest": str(demo_manifest()),
                                                          "cell_km": float(cell_km)},
                            "budget": {"share": 0.1}})
    return grid_hash(s)


def demo_grid_folder(cell_km: float) -> Path:
    """Where a downloaded scenario finds the demo grid of ``cell_km``: ``grid-<hash>`` in
    `user_cache`, named by the grid's content hash as a scenario's own grid cache is
    (`optimizer.scenario.build.grid_hash`: the manifest, its files, the cell size,
    carbonpark's version and the grid format)."""
    return user_cache() / f"grid-{_demo_grid_hash(float(cell_km))[:16]}"


@functools.lru_cache(maxsize=8)
def _folder_hash(path: str, mtime: float) -> str:
    import hashlib

    digest = hashlib.sha256()
    for f in sorted(Path(path).glob("*.parquet")):
        digest.update(f.name.encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def grid_folder(src: dict[str, Any]) -> Path:
    """Where a downloaded scenario finds the grid of ``src``: the demo's or an uploaded
    grid's ``grid-<content hash>`` in `user_cache` (an upload is unpacked in a temporary
    folder), a grid folder of this computer where it is."""
    if src["kind"] == "demo":
        return demo_grid_folder(float(src["cell_km"]))
    if src.get("upload"):
        return user_cache() / f"grid-{_folder_hash(str(src['path']), float(src['mtime']))[:16]}"
    return Path(src["path"])


def grid_table(src: dict[str, Any]) -> dict[str, Any]:
    """The scenario ``[grid]`` table that reproduces the grid wherever the scenario is moved:
    the demo or an uploaded grid by its content hash in `user_cache` (`save_grid` writes it
    there), a grid folder by its path; never a path relative to where the app runs, never a
    cache beside the scenario."""
    return {"path": portable(grid_folder(src))}


def grid_words(src: dict[str, Any]) -> str:
    """The grid in words (the header of a downloaded scenario)."""
    if src["kind"] == "demo":
        return f"the demo country (carbonpark's data/demo.toml) on {src['cell_km']:g} km cells"
    if src.get("upload"):
        return "a grid uploaded to the app as a zip"
    return f"the grid folder {src['path']}"


def save_grid(src: dict[str, Any], pu: Any) -> None:
    """Write the demo or uploaded grid where `grid_table` names it (once: the folder is
    named by content)."""
    if src["kind"] != "demo" and not src.get("upload"):
        return
    from optimizer.grid.store import write_grid

    folder = grid_folder(src)
    if not (folder / "units.parquet").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        write_grid(pu, folder, overwrite=True)


def scenario_toml(st: Ui, settings: Any, name: str) -> str:
    """The scenario of a plan of the app as TOML, its grid saved where it names it.

    ``carbonpark solve`` of the file, from any folder, gives the plan the app shows; the
    header says which grid it names and what to write on a computer without it.
    """
    pu, key, grid = current(st)
    src = grid_source(st)
    save_grid(src, pu)
    text = plan_session(key, pu, grid).scenario(settings, name=name).dumps()
    if src["kind"] == "demo" or src.get("upload"):
        where = ("named by its content hash under the user's carbonpark cache ([grid] path).\n"
                 + ("# On another computer, replace that path with manifest = \"<path to "
                    f"data/demo.toml>\" and cell_km = {src['cell_km']:g}."
                    if src["kind"] == "demo" else
                    "# On another computer, give the path of the grid folder there instead."))
    else:
        where = "named by its path ([grid] path); elsewhere, give the grid folder's path there."
    return (f"# {name}: a plan of the carbonpark app; `carbonpark solve {name}.toml` gives it "
            f"again.\n# Grid: {grid_words(src)},\n# {where}\n"
            + text)


def load_pu(src: dict[str, Any]) -> Any:
    """The planning units of ``src`` (cached per process)."""
    if src["kind"] == "demo":
        return _demo_pu(float(src["cell_km"]))
    pu = _folder_pu(str(src["path"]), float(src["mtime"]))
    check_crs(pu, str(src["path"]))
    return pu


def current(st: Ui) -> tuple[Any, str, dict[str, Any]]:
    """(planning units, grid key, scenario grid table) of the grid in use."""
    src = grid_source(st)
    with st.spinner("Loading the grid (the demo country is built once, ~5 s at 10 km)…"):
        pu = load_pu(src)
    return pu, grid_key(src), grid_table(src)


def gap_report(key: str, pu: Any) -> Any:
    """The gap analysis of the existing network of the grid ``key`` (its units ``pu``),
    computed once per process."""
    from optimizer.gap import gap_analysis

    return GAP_REPORTS.get(key, lambda: gap_analysis(pu))


def plan_session(key: str, pu: Any, grid: dict[str, Any]) -> Any:
    """The re-solve session of the grid ``key`` (compiled once per process, solved many times)."""
    from optimizer.studies.interactive import PlanSession

    return PLAN_SESSIONS.get(key, lambda: PlanSession(pu, grid=grid))


# ------------------------------------------------------------------ figures and numbers

def fig_png(fig: Any, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (drawn without a GUI backend)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def show_fig(st: Ui, fig: Any, caption: str | None = None) -> None:
    """Show a figure as an image: offline, and as fast at 100k units as at 1k."""
    st.image(fig_png(fig), caption=caption, width="stretch")


def units_frame(pu: Any, problem: Any = None) -> Any:
    """The grid's unit table for maps (``pa_fraction`` as the problem sees it)."""
    if problem is None:
        return pu.units
    return pu.units.assign(pa_fraction=problem.protected_fraction)


def big(value: float | None, unit: str) -> str:
    """A large amount readable in a metric: 2.41 billion MgC, 35.2 million tCO2/yr, 512 km²."""
    if value is None or not np.isfinite(value):
        return f"– {unit}"
    a = abs(value)
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if a >= scale:
            return f"{value / scale:,.2f} {word} {unit}"
    return f"{value:,.0f} {unit}"


def pct(value: float | None, digits: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "– %"
    return f"{value:.{digits}f} %"


#: The Plan page's lock-out checkboxes: (PlanSettings field, label).
LOCKS = (("lock_existing", "Keep the existing network"),
         ("cropland_out", "Cropland red line (cropland locked out)"),
         ("urban_out", "Urban land locked out"))


def settings_text(s: Any) -> str:
    """The settings of a plan in one line, as the controls name them."""
    locks = [label.split(" (")[0].lower() for name, label in LOCKS if getattr(s, name)]
    manual = s.manual_locks
    if manual:
        locks.append(f"{manual:,} unit{'s' if manual != 1 else ''} locked on the map")
    return (f"budget {100 * s.budget_share:.1f} % of the land; weights: carbon stock "
            f"{s.carbon_stock:g}, carbon uptake {s.carbon_uptake:g}, biodiversity "
            f"{s.biodiversity:g}, emissions penalty {s.emissions_penalty:g}; compactness "
            f"{s.compactness:.2f}; " + (", ".join(locks) if locks else "no locks"))


def saved_plans(st: Ui) -> dict[str, Any]:
    """The plans saved on the Plan page in this browser session, by name."""
    return st.session_state.setdefault("saved_plans", {})


def safe_name(text: str) -> str:
    """A file-safe scenario name (letters, digits, _ and -)."""
    keep = "".join(c if c.isalnum() or c in "_-" else "_" for c in text.strip())
    return keep.strip("_") or "app_plan"


def path_mtime(path: Path) -> float:
    target = path / "units.parquet"
    return target.stat().st_mtime if target.exists() else path.stat().st_mtime
