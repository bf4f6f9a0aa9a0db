"""Marxan projects in and out: read ``input.dat`` projects, score plans as Marxan does,
write Marxan's output files, read Marxan's own outputs, and write any min-set problem
as a Marxan project.

What is reproduced from Marxan (v4 source, ``Marxan-source-code/marxan``: ``input.cpp``
``readConnections``, ``computation.hpp``, ``marxan.cpp`` ``computeReserveValue`` /
``computePenalties``, ``output.cpp``), so that numbers are comparable with Marxan's:

* **Boundary** ("Connectivity" in ``_sum``): rows of ``bound.dat`` with ``id1 == id2``
  are a unit's fixed (exposed) boundary and are summed; a pair given twice (either
  order) is kept once, its first definition ("Double connection definition").
  ``Connectivity = sum_(selected j) fixed_j + sum_(pairs, one end selected) L_jk``
  (= ``Connectivity_Edge``); ``_In``, ``_Out``, ``_Total`` and ``_In_Fraction`` as in
  ``computeConnectivityIndices``. This is our cut form with ``edge_factor=1``.
* **Targets**: ``prop > 0`` sets ``target = prop * (total amount over all units)``,
  replacing any ``target`` column value (``computeSpecProp`` runs after reading);
  otherwise ``target`` is used. Missing values default to 0, as the manual says.
* **Penalty**: Marxan's exact heuristic, not a simplified form. For each feature,
  ``penalty_k`` is the cost of reaching its target greedily (``computePenalties``):
  start from the status-2 units (all of them without a sporder file, those holding
  the feature with one, as Marxan's two code paths do; their cost plus ``BLM *`` all
  their boundary counted), then repeatedly add the cheapest unit able to close the gap on
  its own, or else the best amount / (cost + BLM * boundary) unit (zero costs count as
  ``1e-14``); when the units run out the penalty is scaled by ``target / held``. The
  plan's penalty is ``sum_k spf_k * penalty_k * (target_k - held_k) / target_k`` over
  features short of target (occurrence targets averaged in as Marxan does). The
  greedy scan follows Marxan's order (``MATRIXSPORDERNAME`` rows when that file
  exists, else ``pu.dat`` order), so ties break as in Marxan.
* **Score** = cost + BLM * Connectivity + penalty; Shortfall, Missing_Values (held /
  target below ``MISSLEVEL``) and MPM (minimum proportion met) as in
  ``computeRepresentationMISSLEVEL``. Not reproduced: ``COSTTHRESH`` threshold
  penalties, clumping (``target2``), separation (``sepnum``), probability and
  asymmetric connectivity (these raise `InputDataError` where they would matter).

When every target is met the penalty is 0 and the score equals the min-set objective
``cost + BLM * boundary`` of `MarxanProject.to_problem`.

Output files follow ``output.cpp``: ``SAVE*`` 3 writes ``.csv`` with ``PUID,SOLUTION``
solution headers, 2 writes comma-separated ``.txt`` with ``"planning_unit","solution"``,
1 writes tab-separated ``.dat``. Every file is written to a temporary file in the same
folder and renamed into place, and recorded in the folder's ``carbonpark-output.json``: a
later run replaces the files listed there, never one it did not write (Marxan's own
``output_best.csv``, say) unless ``overwrite=True``, and never an input of the project.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer._atomic import (
    check_output_dir,
    check_output_files,
    claim_files,
    write_dir_atomic,
    write_text_atomic,
)
from optimizer.errors import InputDataError
from optimizer.grid import RESERVED_COLUMNS, PlanningUnits, planning_units_from_arrays
from optimizer.problem import Problem
from optimizer.problem import problem as make_problem

__all__ = [
    "MVBEST_COLUMNS",
    "SUMMARY_COLUMNS",
    "MarxanProject",
    "compare_with_marxan",
    "feature_penalties",
    "marxan_score",
    "plan_blm",
    "read_marxan",
    "read_marxan_solution",
    "read_marxan_summary",
    "write_marxan_outputs",
    "write_marxan_project",
]

#: Marxan's stand-in for a zero unit cost in the greedy penalty (``delta`` in marxan.cpp).
MARXAN_DELTA = 1e-14

#: Columns of Marxan's ``<scenario>_sum`` file (no probability columns).
SUMMARY_COLUMNS = ("Run_Number", "Score", "Cost", "Planning_Units", "Connectivity",
                   "Connectivity_Total", "Connectivity_In", "Connectivity_Edge", "Connectivity_Out",
                   "Connectivity_In_Fraction", "Penalty", "Shortfall", "Missing_Values", "MPM")

#: Columns of Marxan's ``<scenario>_mvbest`` / ``_mvNNNNN`` files, spelt as ``output.cpp``
#: writes them (two carry a trailing space).
MVBEST_COLUMNS = ("Conservation Feature", "Feature Name", "Target", "Amount Held",
                  "Occurrence Target ", "Occurrences Held", "Separation Target ",
                  "Separation Achieved", "Target Met", "MPM")

_SUFFIX = {3: ".csv", 2: ".txt", 1: ".dat"}
_KEY_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)\s+(\S.*?)\s*$")

#: The keys Marxan v4 reads from input.dat (``readInputOptions`` in ``input.cpp``); a file
#: with none of them is not a Marxan input.dat.
MARXAN_KEYS = frozenset({
    "VERSION", "BLM", "CM", "PROP", "RANDSEED", "NUMITNS", "STARTTEMP", "COOLFAC", "NUMTEMP",
    "NUMREPS", "COSTTHRESH", "THRESHPEN1", "THRESHPEN2", "SCENNAME", "SAVERUN", "SAVEBEST",
    "SAVESUMMARY", "SAVESCEN", "SAVETARGMET", "SAVESUMSOLN", "SAVESPEC", "SAVEPU",
    "SAVEMATRIXPUORDER", "SAVEMATRIXSPORDER", "SAVEPENALTY", "SAVETOTALAREAS", "SAVELOG",
    "SAVESOLUTIONSMATRIX", "SOLUTIONSMATRIXHEADERS", "SAVESNAPSTEPS", "SAVESNAPCHANGES",
    "SAVESNAPFREQUENCY", "SAVEANNEALINGTRACE", "ANNEALINGTRACEROWS", "SAVEITIMPTRACE",
    "ITIMPTRACEROWS", "ASYMMETRICCONNECTIVITY", "CONNECTIVITYIN", "INPUTDIR", "OUTPUTDIR",
    "PUNAME", "SPECNAME", "PUVSPRNAME", "MATRIXSPORDERNAME", "PENALTYNAME", "BOUNDNAME",
    "CONNECTIONNAME", "CONNECTIONFILESNAME", "BLOCKDEFNAME", "BESTFIELDNAME", "RUNMODE",
    "MISSLEVEL", "HEURTYPE", "CLUMPTYPE", "ITIMPTYPE", "VERBOSITY",
})

#: Where input.dat names no BLM (nor CM, its old name), Marxan uses 0 (``cm = 0`` in
#: ``readInputOptions``); the note says so.
NO_BLM_NOTE = "{name} has no BLM; using Marxan's default 0"


# ============================================================== reading tables

def _sniff_sep(first_line: str) -> str:
    """Delimiter of a Marxan table from its header line (Marxan accepts several)."""
    for sep in (",", "\t", ";"):
        if sep in first_line:
            return sep
    return r"\s+"


def _read_table(path: Path, what: str, key: str, required: Sequence[str]) -> pd.DataFrame:
    """Read one Marxan table as text columns with lower-case, unquoted header names."""
    if not path.is_file():
        raise InputDataError(f"{path}: {what} file not found (named by {key} in input.dat); "
                             "fix the name in input.dat or add the file")
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
        sep = _sniff_sep(first)
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="utf-8-sig", quotechar='"')
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputDataError(f"{path}: cannot read the {what} file ({str(exc).splitlines()[0]}); "
                             "save it as comma- or tab-separated text with a header row") from None
    cols = [str(c).strip().strip("\"'").strip().lower() for c in df.columns]
    df.columns = cols
    # Trailing delimiters make empty unnamed columns; they carry nothing.
    keep = [c for c in cols if c and not (c.startswith("unnamed:") and (df[c] == "").all())]
    df = df[keep]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputDataError(f"{path.name}: the {what} file lacks column(s) {missing} (header: "
                             f"{list(df.columns)}); Marxan needs the header names {list(required)}")
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()].tolist()
        raise InputDataError(f"{path.name}: column(s) {dup} appear twice in the header; keep one")
    return df


def _numeric(df: pd.DataFrame, col: str, path: Path, *, default: float | None = None,
             integer: bool = False, minimum: float | None = None) -> np.ndarray:
    """A column as float64, with a one-line error naming the file, line and value."""
    if col not in df.columns:
        if default is None:
            raise InputDataError(f"{path.name}: column {col!r} is missing; add it")
        return np.full(len(df), float(default))
    raw = df[col].astype(str).str.strip()
    empty = raw == ""
    values = pd.to_numeric(raw.where(~empty, None), errors="coerce").to_numpy(dtype=np.float64,
                                                                              copy=True)
    bad = (np.isnan(values) & ~empty.to_numpy()) | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the non-numeric value "
                             f"{df[col].iloc[i]!r} on line {i + 2}; use plain numbers")
    if empty.any():
        if default is None:
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise InputDataError(f"{path.name}: column {col!r} is empty on line {i + 2}; "
                                 "give a value")
        values[empty.to_numpy()] = default
    if integer and (values != np.round(values)).any():
        i = int(np.flatnonzero(values != np.round(values))[0])
        raise InputDataError(f"{path.name}: column {col!r} must hold whole-number ids; got "
                             f"{df[col].iloc[i]!r} on line {i + 2}")
    if minimum is not None and (values < minimum).any():
        i = int(np.flatnonzero(values < minimum)[0])
        raise InputDataError(f"{path.name}: column {col!r} has the negative value "
                             f"{df[col].iloc[i]!r} on line {i + 2}; values must be >= {minimum:g}")
    return values


def _ids(df: pd.DataFrame, col: str, path: Path, *, unique: bool) -> np.ndarray:
    ids = _numeric(df, col, path, integer=True).astype(np.int64)
    if unique:
        dup = pd.Series(ids).duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise InputDataError(f"{path.name}: id {ids[i]} appears more than once (line {i + 2}); "
                                 "ids must be unique")
    return ids


def _lookup(index: pd.Index, ids: np.ndarray, path: Path, col: str, other: str) -> np.ndarray:
    pos = index.get_indexer(ids)
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        unknown = pd.unique(ids[pos < 0])[:5].tolist()
        raise InputDataError(f"{path.name}: column {col!r} names id(s) {unknown} (first on line "
                             f"{i + 2}) that are not in {other}; fix the ids or add them to {other}")
    return pos


def _parse_input_dat(path: Path) -> dict[str, str]:
    """Every ``KEY value`` line of an input.dat (free text and headings are skipped).

    Raises
    ------
    InputDataError
        The file is empty, binary (a GeoTIFF, ...), or text with none of Marxan's keys
        (a CSV, ...): it is not a Marxan input.dat, and reading on would silently
        give BLM 0 and default file names.
    """
    settings: dict[str, str] = {}
    fix = ("give the project's input.dat (a text file of 'KEY value' lines such as "
           "'PUNAME pu.dat' and 'BLM 1') or its folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read input.dat ({exc.strerror or exc})") from None
    if raw[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        raise InputDataError(f"{path}: is a TIFF/GeoTIFF image, not a Marxan input.dat; {fix}")
    if b"\x00" in raw[:65536]:
        raise InputDataError(f"{path}: is a binary file, not a Marxan input.dat; {fix}")
    text = raw.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise InputDataError(f"{path}: the file is empty, not a Marxan input.dat; {fix}")
    for line in text.splitlines():
        m = _KEY_LINE.match(line.strip())
        if m:
            settings[m.group(1)] = m.group(2)
    if not MARXAN_KEYS & settings.keys():
        raise InputDataError(f"{path}: not a Marxan input.dat (none of Marxan's keys such as "
                             f"PUNAME, SPECNAME, BLM or INPUTDIR is set); {fix}")
    return settings


def _settings_blm(settings: Mapping[str, str], path: Path) -> float:
    """BLM of input.dat (else CM, its old name; else Marxan's default 0), checked."""
    key = "BLM" if "BLM" in settings or "CM" not in settings else "CM"
    return _check_blm(_float_setting(settings, key, 0.0, path), f"{path}: {key}")


def _check_blm(value: float, name: str) -> float:
    """``value`` as a BLM: a finite number >= 0, else a one-line error naming ``name``."""
    try:
        blm = float(value)
    except (TypeError, ValueError):
        raise InputDataError(f"{name} must be a number >= 0; got {value!r}") from None
    if not math.isfinite(blm) or blm < 0:
        raise InputDataError(f"{name} must be a number >= 0 (the boundary length modifier; 0 "
                             f"turns the boundary penalty off); got {value!r}")
    return blm


def _float_setting(settings: Mapping[str, str], key: str, default: float, path: Path) -> float:
    if key not in settings:
        return default
    try:
        return float(settings[key].split()[0])
    except (ValueError, IndexError):
        raise InputDataError(f"{path.name}: {key} must be a number; got {settings[key]!r}") from None


def _feature_columns(spec_ids: np.ndarray, names: Sequence[str]) -> list[str]:
    """Safe, unique column names for features (from their names, else their ids)."""
    taken = set(RESERVED_COLUMNS) | {"cost", "status", "xloc", "yloc"}
    out: list[str] = []
    for sid, name in zip(spec_ids, names, strict=True):
        base = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower() or f"feature_{sid}"
        if base[0].isdigit():
            base = f"f_{base}"
        col = base if base not in taken else f"{base}_{sid}"
        k = 2
        while col in taken:
            col, k = f"{base}_{sid}_{k}", k + 1
        taken.add(col)
        out.append(col)
    return out


# ============================================================== the project

@dataclass(eq=False)
class MarxanProject:
    """A Marxan project read by `read_marxan`.

    Attributes
    ----------
    path : pathlib.Path
        The ``input.dat`` file.
    settings : dict of str to str
        Every ``KEY value`` of input.dat, as text (BLM, PROP, NUMREPS, ...).
    input_dir, output_dir : pathlib.Path
        INPUTDIR and OUTPUTDIR, resolved against the folder of input.dat.
    files : dict
        The table files used: ``pu``, ``spec``, ``puvspr``, ``bound`` and ``sporder``
        (None when absent).
    pu : pandas.DataFrame
        ``id``, ``cost`` (default 1), ``status`` (0-3, default 0) and ``xloc``, ``yloc``
        when given, in file order.
    spec : pandas.DataFrame
        ``id``, ``name``, ``prop``, ``target`` (as given), ``targetocc``, ``spf``,
        ``target2``, ``sepnum``, ``column`` (the feature column of `planning_units`),
        ``total`` (amount over all units) and ``marxan_target`` (the target Marxan uses).
    puvspr : pandas.DataFrame
        ``species``, ``pu``, ``amount`` (long format), plus positional ``spec_index``
        and ``pu_index``.
    bound : pandas.DataFrame
        ``id1``, ``id2``, ``boundary`` as Marxan keeps them: self-boundaries summed
        (one row per unit), each pair once (its first definition). Empty without
        BOUNDNAME.
    notes : list of str
        Things read but not used (a missing sporder file, ignored duplicate pairs, ...).
    """

    path: Path
    settings: dict[str, str]
    input_dir: Path
    output_dir: Path
    files: dict[str, Path | None]
    pu: pd.DataFrame
    spec: pd.DataFrame
    puvspr: pd.DataFrame
    bound: pd.DataFrame
    greedy_order: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------- settings
    @property
    def blm(self) -> float:
        """BLM of input.dat (or CM, its old name, as Marxan reads it; Marxan's default 0
        when neither is set). A negative BLM raises `InputDataError`."""
        return _settings_blm(self.settings, self.path)

    @property
    def prop(self) -> float:
        """PROP of input.dat: Marxan's starting proportion for annealing (not a target)."""
        return _float_setting(self.settings, "PROP", 0.5, self.path)

    @property
    def numreps(self) -> int:
        """NUMREPS of input.dat (default 1)."""
        return int(_float_setting(self.settings, "NUMREPS", 1, self.path))

    @property
    def misslevel(self) -> float:
        """MISSLEVEL: share of a target below which Marxan counts the feature missing."""
        return _float_setting(self.settings, "MISSLEVEL", 1.0, self.path)

    @property
    def scenario(self) -> str:
        """SCENNAME (default ``output``)."""
        return self.settings.get("SCENNAME", "output").split()[0]

    @property
    def save_format(self) -> int:
        """Output flavour from SAVEBEST: 3 csv, 2 txt (comma), 1 dat (tab); default 3."""
        value = int(_float_setting(self.settings, "SAVEBEST", 3, self.path))
        return value if value in _SUFFIX else 3

    @property
    def n_units(self) -> int:
        """Number of planning units."""
        return len(self.pu)

    @property
    def initial(self) -> np.ndarray:
        """Status 1 units: Marxan's initial reserve (a starting point, not a lock)."""
        return self.pu["status"].to_numpy() == 1

    # ---------------------------------------------------------- arrays
    def amount_matrix(self) -> sp.csr_matrix:
        """Amounts as a sparse matrix (features x units, rows in spec order)."""
        if "matrix" not in self._cache:
            self._cache["matrix"] = sp.csr_matrix(
                (self.puvspr["amount"].to_numpy(np.float64),
                 (self.puvspr["spec_index"].to_numpy(), self.puvspr["pu_index"].to_numpy())),
                shape=(len(self.spec), self.n_units))
        return self._cache["matrix"]

    def boundary_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(fixed, i, j, length)``: per-unit fixed boundary and unit pairs (positions)."""
        if "bound" not in self._cache:
            index = pd.Index(self.pu["id"])
            b = self.bound
            i = index.get_indexer(b["id1"])
            j = index.get_indexer(b["id2"])
            length = b["boundary"].to_numpy(np.float64)
            self_edge = i == j
            fixed = np.bincount(i[self_edge], length[self_edge], minlength=self.n_units)
            self._cache["bound"] = (fixed, i[~self_edge], j[~self_edge], length[~self_edge])
        return self._cache["bound"]

    def targets(self) -> np.ndarray:
        """The target Marxan uses for each feature (spec order)."""
        return self.spec["marxan_target"].to_numpy(np.float64)

    # ---------------------------------------------------------- conversion
    def planning_units(self) -> PlanningUnits:
        """The units as `PlanningUnits` (one feature column per spec id; ``cost``,
        ``status`` and any ``xloc``/``yloc`` as extra columns; area 1 per unit)."""
        if "pu" in self._cache:
            return self._cache["pu"]
        import shapely

        cols = self.spec["column"].tolist()
        dense = self.amount_matrix().T.toarray()
        amounts = pd.DataFrame(dense, columns=cols)
        extra: dict[str, Any] = {"cost": self.pu["cost"].to_numpy(),
                                 "status": self.pu["status"].to_numpy(np.int64)}
        geometry = None
        if "xloc" in self.pu.columns and "yloc" in self.pu.columns:
            extra["xloc"] = self.pu["xloc"].to_numpy()
            extra["yloc"] = self.pu["yloc"].to_numpy()
            geometry = shapely.points(extra["xloc"], extra["yloc"])
        fixed, i, j, length = self.boundary_arrays()
        ids = self.pu["id"].to_numpy()
        has_fixed = fixed > 0
        boundary = pd.DataFrame({
            "id1": np.concatenate([ids[has_fixed], ids[i]]),
            "id2": np.concatenate([ids[has_fixed], ids[j]]),
            "length_km": np.concatenate([fixed[has_fixed], length]),
        })
        info = pd.DataFrame({"label": self.spec["name"].astype(str).to_numpy(),
                             "layer": cols}, index=cols)
        pu = planning_units_from_arrays(
            ids, amounts, boundary=boundary, geometry=geometry, extra=extra, feature_info=info,
            kind="marxan", meta={"marxan_input": str(self.path)})
        self._cache["pu"] = pu
        return pu

    def unsupported(self) -> list[str]:
        """Parts of the project our Problem cannot express (empty when none)."""
        out = []
        s = self.spec
        for col, what in (("targetocc", "occurrence targets (targetocc)"),
                          ("target2", "minimum clump sizes (target2)"),
                          ("sepnum", "separation rules (sepnum)")):
            bad = s.loc[s[col] > 0, "id"].tolist()
            if bad:
                out.append(f"spec.dat uses {what} for feature id(s) {bad[:5]}")
        if _float_setting(self.settings, "COSTTHRESH", 0.0, self.path) > 0:
            out.append("input.dat sets COSTTHRESH (a cost threshold penalty)")
        return out

    def to_problem(self, blm: float | None = None, *,
                   relative_targets: float | Mapping[str, float] | None = None) -> Problem:
        """The project as our min-set `Problem`.

        Cost is the ``pu.dat`` cost; status 2 is locked in and status 3 locked out
        (status 1, Marxan's initial reserve, is not a lock: see `initial`); targets are
        Marxan's (``prop`` as relative targets, else ``target`` as amounts); the
        boundary penalty is ``blm`` (default: BLM of input.dat) with ``edge_factor=1``,
        since Marxan counts self-boundaries fully. A `Solution` of this problem (from
        `optimizer.results.solve`) carries that penalty, so `marxan_score` and
        `write_marxan_outputs` score it at the BLM it was solved with.

        Parameters
        ----------
        blm : float, optional
            Boundary length modifier (default: BLM of input.dat).
        relative_targets : float or mapping, optional
            Replace the spec.dat targets by these shares (one for all features, or per
            feature column).

        Raises
        ------
        InputDataError
            ``blm`` is negative (or not a number), or the project uses occurrence
            targets, clumping, separation or a cost threshold, which a min-set problem
            cannot express.
        """
        blm = self.blm if blm is None else _check_blm(blm, "blm")
        issues = [m for m in self.unsupported() if "COSTTHRESH" not in m]
        if issues:
            raise InputDataError(f"{self.path.name}: " + "; ".join(issues)
                                 + "; carbonpark cannot express these: remove them from spec.dat")
        pu = self.planning_units()
        p = make_problem(pu, cost="cost").add_min_set_objective()
        cols = self.spec["column"].tolist()
        if relative_targets is not None:
            shares = (relative_targets if isinstance(relative_targets, Mapping)
                      else dict.fromkeys(cols, relative_targets))
            p = p.add_relative_targets(shares)
        else:
            prop = self.spec["prop"].to_numpy()
            rel = {c: float(v) for c, v in zip(cols, prop, strict=True) if v > 0}
            absolute = {c: float(t) for c, t, v in zip(cols, self.spec["target"], prop, strict=True)
                        if not v > 0}
            if rel:
                p = p.add_relative_targets(rel)
            if absolute:
                p = p.add_absolute_targets(absolute)
        status = self.pu["status"].to_numpy()
        if (status == 2).any():
            p = p.add_locked_in(mask=status == 2, label="status 2 (pu.dat)")
        if (status == 3).any():
            p = p.add_locked_out(mask=status == 3, label="status 3 (pu.dat)")
        if blm > 0 and len(self.bound):
            p = p.add_boundary_penalty(blm, edge_factor=1.0)
        return p


def read_marxan(path: str | Path) -> MarxanProject:
    """Read a Marxan project from its ``input.dat`` (or the folder holding it).

    Parameters
    ----------
    path : str or Path
        ``input.dat`` or its folder.

    Returns
    -------
    MarxanProject

    Raises
    ------
    InputDataError
        input.dat is empty, binary or not a Marxan input.dat, its BLM is negative, a
        table it needs is neither named nor at its default name, a missing file, a bad
        header, a non-numeric value, an unknown or repeated id, a negative cost, amount
        or boundary; the message names the file and the fix.

    Notes
    -----
    Marxan aborts when input.dat lacks INPUTDIR, OUTPUTDIR, PUNAME, SPECNAME or
    PUVSPRNAME; we take ``input`` (when that folder exists), ``output``, ``pu.dat``,
    ``spec.dat`` and ``puvspr.dat`` (or ``puvspr2.dat``) instead, and say which key
    is missing when that file does not exist either. Without BLM (or CM, its old
    name) Marxan uses 0; so do we, with a note in `MarxanProject.notes`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "input.dat"
    if not path.is_file():
        raise InputDataError(f"{path}: Marxan input.dat not found; give the path of a project's "
                             "input.dat or its folder")
    settings = _parse_input_dat(path)
    base = path.parent

    def resolve(value: str | None, default: str) -> Path:
        text = (value or default).strip().strip('"').replace("\\", "/")
        p = Path(text)
        return p if p.is_absolute() else base / p

    input_dir = resolve(settings.get("INPUTDIR"), "input" if (base / "input").is_dir() else ".")
    output_dir = resolve(settings.get("OUTPUTDIR"), "output")
    notes: list[str] = []
    _settings_blm(settings, path)  # a negative BLM is refused here, not at the first score
    if "BLM" not in settings and "CM" not in settings:
        notes.append(NO_BLM_NOTE.format(name=path.name))

    def name(key: str, default: str | None) -> str | None:
        value = settings.get(key, default)
        return None if value is None else value.strip().strip('"')

    pu_file = input_dir / str(name("PUNAME", "pu.dat"))
    spec_file = input_dir / str(name("SPECNAME", "spec.dat"))
    sporder_name = name("MATRIXSPORDERNAME", None)
    sporder_file = input_dir / sporder_name if sporder_name else None
    puvspr_name = name("PUVSPRNAME", None)
    if puvspr_name is None:
        if sporder_file is not None:
            puvspr_name, puvspr_key = sporder_name, "MATRIXSPORDERNAME"
        else:
            puvspr_name = "puvspr.dat" if (input_dir / "puvspr.dat").exists() else "puvspr2.dat"
            puvspr_key = "PUVSPRNAME (default)"
    else:
        puvspr_key = "PUVSPRNAME"
    puvspr_file = input_dir / str(puvspr_name)
    bound_name = name("BOUNDNAME", None)
    bound_file = input_dir / bound_name if bound_name else None
    for key, file, what in (("PUNAME", pu_file, "planning unit"),
                            ("SPECNAME", spec_file, "conservation feature"),
                            ("PUVSPRNAME", puvspr_file, "planning unit vs feature")):
        if key not in settings and (key != "PUVSPRNAME" or sporder_file is None) \
                and not file.is_file():
            default = "puvspr.dat or puvspr2.dat" if key == "PUVSPRNAME" else file.name
            raise InputDataError(f"{path}: sets no {key} and there is no {default} in "
                                 f"{input_dir}; add a line '{key} <{what} file>' to input.dat")
    if sporder_file is not None and not sporder_file.is_file():
        notes.append(f"{sporder_file.name} (MATRIXSPORDERNAME) is missing; it only reorders "
                     f"{puvspr_file.name}, so the greedy penalty follows pu.dat order")
        sporder_file = None

    # ---------------- pu.dat
    df = _read_table(pu_file, "planning unit", "PUNAME", ["id"])
    pu = pd.DataFrame({"id": _ids(df, "id", pu_file, unique=True)})
    pu["cost"] = _numeric(df, "cost", pu_file, default=1.0, minimum=0.0)
    status = _numeric(df, "status", pu_file, default=0.0, integer=True)
    if not np.isin(status, (0, 1, 2, 3)).all():
        i = int(np.flatnonzero(~np.isin(status, (0, 1, 2, 3)))[0])
        raise InputDataError(f"{pu_file.name}: status must be 0, 1, 2 or 3; got "
                             f"{df['status'].iloc[i]!r} on line {i + 2}")
    pu["status"] = status.astype(np.int64)
    for col in ("xloc", "yloc"):
        if col in df.columns:
            pu[col] = _numeric(df, col, pu_file)
    if len(pu) == 0:
        raise InputDataError(f"{pu_file.name}: no planning units; add rows below the header")
    pu_index = pd.Index(pu["id"])

    # ---------------- spec.dat
    df = _read_table(spec_file, "conservation feature", "SPECNAME", ["id"])
    if "prop" not in df.columns and "target" not in df.columns:
        raise InputDataError(f"{spec_file.name}: needs a 'prop' or 'target' column (header: "
                             f"{list(df.columns)}); add the targets")
    spec = pd.DataFrame({"id": _ids(df, "id", spec_file, unique=True)})
    for col in ("prop", "target", "targetocc", "spf", "target2", "sepnum"):
        spec[col] = _numeric(df, col, spec_file, default=0.0, minimum=0.0)
    if len(spec) == 0:
        raise InputDataError(f"{spec_file.name}: no features; add rows below the header")
    names = (df["name"].astype(str).str.strip() if "name" in df.columns
             else pd.Series([""] * len(df)))
    spec["name"] = [n if n else f"feature {i}" for n, i in zip(names, spec["id"], strict=True)]
    spec["column"] = _feature_columns(spec["id"].to_numpy(), spec["name"].tolist())
    spec_index = pd.Index(spec["id"])

    # ---------------- puvspr.dat
    df = _read_table(puvspr_file, "planning unit vs feature", puvspr_key,
                     ["species", "pu", "amount"])
    species = _ids(df, "species", puvspr_file, unique=False)
    units = _ids(df, "pu", puvspr_file, unique=False)
    amount = _numeric(df, "amount", puvspr_file, minimum=0.0)
    sidx = _lookup(spec_index, species, puvspr_file, "species", spec_file.name)
    pidx = _lookup(pu_index, units, puvspr_file, "pu", pu_file.name)
    puvspr = pd.DataFrame({"species": species, "pu": units, "amount": amount,
                           "spec_index": sidx, "pu_index": pidx})
    dup = puvspr.duplicated(["species", "pu"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputDataError(f"{puvspr_file.name}: feature {species[i]} in unit {units[i]} is "
                             f"listed twice (line {i + 2}); keep one row per feature and unit")

    # ---------------- greedy scan order (Marxan's sporder file, else pu order)
    greedy_order = None
    if sporder_file is not None and sporder_file != puvspr_file:
        so = _read_table(sporder_file, "feature-ordered puvspr", "MATRIXSPORDERNAME",
                         ["species", "pu", "amount"])
        key = pd.MultiIndex.from_arrays([puvspr["species"], puvspr["pu"]])
        other = pd.MultiIndex.from_arrays([_ids(so, "species", sporder_file, unique=False),
                                           _ids(so, "pu", sporder_file, unique=False)])
        rows = key.get_indexer(other)
        if (rows < 0).any() or len(np.unique(rows)) != len(puvspr):
            notes.append(f"{sporder_file.name} does not hold the same rows as {puvspr_file.name}; "
                         "ignored (the greedy penalty follows pu.dat order)")
        else:
            greedy_order = rows
    elif sporder_file is not None:
        greedy_order = np.arange(len(puvspr))

    # ---------------- bound.dat
    bound = pd.DataFrame({"id1": np.zeros(0, np.int64), "id2": np.zeros(0, np.int64),
                          "boundary": np.zeros(0)})
    if bound_file is not None:
        df = _read_table(bound_file, "boundary length", "BOUNDNAME", ["id1", "id2", "boundary"])
        id1 = _ids(df, "id1", bound_file, unique=False)
        id2 = _ids(df, "id2", bound_file, unique=False)
        length = _numeric(df, "boundary", bound_file, minimum=0.0)
        i = _lookup(pu_index, id1, bound_file, "id1", pu_file.name)
        j = _lookup(pu_index, id2, bound_file, "id2", pu_file.name)
        self_edge = i == j
        fixed = pd.Series(length[self_edge]).groupby(i[self_edge]).sum()
        a, b = np.minimum(i, j), np.maximum(i, j)
        pairs = pd.DataFrame({"a": a[~self_edge], "b": b[~self_edge],
                              "i": i[~self_edge], "j": j[~self_edge], "L": length[~self_edge]})
        dup = pairs.duplicated(["a", "b"])  # Marxan keeps a pair's first definition
        if dup.any():
            notes.append(f"{bound_file.name}: {int(dup.sum())} pair(s) defined twice; the first "
                         "definition is kept, as Marxan does")
            pairs = pairs[~dup.to_numpy()]
        ids = pu["id"].to_numpy()
        fi = fixed.index.to_numpy(np.int64)
        bound = pd.DataFrame({
            "id1": np.concatenate([ids[fi], ids[pairs["i"].to_numpy()]]),
            "id2": np.concatenate([ids[fi], ids[pairs["j"].to_numpy()]]),
            "boundary": np.concatenate([fixed.to_numpy(), pairs["L"].to_numpy()]),
        })

    # ---------------- Marxan's targets: prop replaces target where > 0
    totals = np.bincount(sidx, amount, minlength=len(spec))
    spec["total"] = totals
    spec["marxan_target"] = np.where(spec["prop"] > 0, spec["prop"] * totals, spec["target"])

    files: dict[str, Path | None] = {"pu": pu_file, "spec": spec_file, "puvspr": puvspr_file,
                                     "bound": bound_file, "sporder": sporder_file}
    return MarxanProject(path=path, settings=settings, input_dir=input_dir, output_dir=output_dir,
                         files=files, pu=pu, spec=spec, puvspr=puvspr, bound=bound,
                         greedy_order=greedy_order, notes=notes)


# ============================================================== Marxan's objective

def _selection(project: MarxanProject, x: Any, what: str = "plan") -> np.ndarray:
    """A plan as a 0/1 float vector in pu.dat order (array, Solution, or Series by pu id)."""
    if isinstance(x, str | Path):
        x = read_marxan_solution(x)
    if isinstance(x, pd.Series):
        pos = pd.Index(x.index).get_indexer(project.pu["id"])
        if (pos < 0).any():
            missing = project.pu["id"].to_numpy()[pos < 0][:5].tolist()
            raise InputDataError(f"{what}: no value for planning unit id(s) {missing}; the plan "
                                 "must list every unit of pu.dat")
        arr = x.to_numpy(np.float64)[pos]
    else:
        arr = np.asarray(getattr(x, "x", x), dtype=np.float64)
    if arr.shape != (project.n_units,):
        raise InputDataError(f"{what}: has {arr.shape} values; expected ({project.n_units},), one "
                             "per planning unit in pu.dat order")
    return (arr > 0.5).astype(np.float64)


def _carried_blm(plan: Any) -> float | None:
    """The boundary penalty a `Solution` was solved with (``info["boundary_penalty"]``,
    recorded by `optimizer.results.solve`); None for plans that do not carry one."""
    info = getattr(plan, "info", None)
    if isinstance(info, Mapping) and info.get("boundary_penalty") is not None:
        return float(info["boundary_penalty"])
    return None


def plan_blm(project: MarxanProject, plans: Any, blm: float | None = None, *,
             problem: Problem | None = None) -> float:
    """The BLM to score plans with: the one they were solved with.

    In order: ``blm`` when given; else the boundary penalty of ``problem``; else the
    one the plans carry (a `Solution` from `optimizer.results.solve` records its
    problem's penalty); else the BLM of input.dat (plans without provenance: arrays,
    Series, Marxan's own solution files).

    Parameters
    ----------
    project : MarxanProject
    plans : Solution, array, Series, path or a list of them
    blm : float, optional
        An explicit BLM (``>= 0``).
    problem : Problem, optional
        The problem the plans were solved from (e.g. ``project.to_problem(blm)``).

    Raises
    ------
    InputDataError
        ``blm`` is negative, or two of these disagree (``blm``, the problem's penalty,
        the plans' own): a plan scored at another BLM than it was solved with gets a
        score of another problem. Without boundary rows the BLM does not matter and
        is not checked.
    """
    plans = list(plans) if isinstance(plans, list | tuple) else [plans]
    sources: list[tuple[str, float]] = []
    if blm is not None:
        checked = _check_blm(blm, "blm")
        sources.append((f"blm={checked:g}", checked))
    if problem is not None:
        bp = problem.boundary_penalty
        value = bp.penalty if bp is not None else 0.0
        sources.append((f"the problem's boundary penalty {value:g}", value))
    for k, x in enumerate(plans):
        value = _carried_blm(x)
        if value is not None:
            which = f"plan {k + 1}" if len(plans) > 1 else "the plan"
            sources.append((f"the BLM {value:g} {which} was solved with", value))
    if not sources:
        return project.blm
    label, value = sources[0]
    if len(project.bound):
        for other, v in sources[1:]:
            if not math.isclose(v, value, rel_tol=1e-12, abs_tol=1e-300):
                raise InputDataError(f"{label} disagrees with {other}; score a plan at the BLM it "
                                     "was solved with (drop blm=), or solve again with "
                                     f"to_problem(blm={value:g})")
    return value


def _unit_values(project: MarxanProject, blm: float) -> np.ndarray:
    """Marxan's ``computePlanningUnitValue``: cost + BLM * (fixed + every neighbour edge)."""
    fixed, i, j, length = project.boundary_arrays()
    n = project.n_units
    around = fixed + np.bincount(i, length, minlength=n) + np.bincount(j, length, minlength=n)
    return project.pu["cost"].to_numpy(np.float64) + blm * around


def _greedy_scan(a: np.ndarray, f: np.ndarray, cand: np.ndarray, rem: float) -> int:
    """One pass of Marxan's best-unit search, replayed exactly (its quirks included:
    a better ratio found after a target-closing unit replaces it)."""
    imax, ibest = False, -1
    fbest = fbestrat = 0.0
    for k in cand.tolist():
        ak, fk = a[k], f[k]
        if ak >= rem and (not imax or fk < fbest):
            imax, ibest, fbest = True, k, fk
        elif fbestrat < ak / fk:
            fbest, fbestrat, ibest = fk, ak / fk, k
    return ibest


def _feature_penalty(a: np.ndarray, f_raw: np.ndarray, status: np.ndarray, target: float,
                     targetocc: float, start: tuple[float, int] | None = None) -> float:
    """Marxan's greedy cost of reaching one feature's target (``computePenalties``).

    ``a``, ``f_raw`` and ``status`` are the feature's occurrences in Marxan's scan order.
    ``start`` overrides the starting (penalty, occurrences) of status-2 units: Marxan's
    plain path starts from *every* status-2 unit, its sporder path from those holding
    the feature.
    """
    fixed = status == 2
    held = float(np.sum(a[fixed]))
    occ = int(fixed.sum())
    penalty = float(np.sum(f_raw[fixed]))
    if start is not None:
        penalty, occ = start
    if held >= target and occ >= targetocc:
        return penalty
    f = np.where(f_raw == 0, MARXAN_DELTA, f_raw)
    avail = (status < 2) & (a > 0)
    ran_out = False
    while held < target or occ < targetocc:
        cand = np.flatnonzero(avail)
        if cand.size == 0:
            ran_out = True
            break
        rem = target - held
        # While no unit closes the gap alone, Marxan takes units by best amount/cost
        # ratio (first of equals): take that whole run at once.
        ratio = a[cand] / f[cand]
        order = cand[np.argsort(-ratio, kind="stable")]
        amounts = a[order]
        cum = np.cumsum(np.concatenate([[held], amounts]))[:-1]
        suffix_max = np.maximum.accumulate(amounts[::-1])[::-1]
        steps = np.arange(order.size)
        need = (cum < target) | (occ + steps < targetocc)
        pure = need & (suffix_max < target - cum)
        stop = int(np.argmin(pure)) if not pure.all() else order.size
        if stop:
            taken = order[:stop]
            held = float(cum[stop - 1] + amounts[stop - 1])
            occ += stop
            penalty += float(np.sum(f[taken]))
            avail[taken] = False
            continue
        if not need[0]:
            break
        best = _greedy_scan(a, f, cand, rem)
        avail[best] = False
        held += float(a[best])
        occ += 1
        penalty += float(f[best])
    if ran_out:
        base = held if held != 0 else MARXAN_DELTA
        scale = target / base if base < target else 0.0
        if occ < targetocc and occ:
            scale += float(np.float32(targetocc) / np.float32(occ))
        penalty *= scale
    return penalty


def feature_penalties(project: MarxanProject, blm: float | None = None) -> np.ndarray:
    """Marxan's per-feature penalty (``spec[i].penalty``) at ``blm`` (spec order)."""
    blm = project.blm if blm is None else float(blm)
    key = f"penalties:{blm!r}"
    if key in project._cache:
        return project._cache[key]
    values = _unit_values(project, blm)
    status = project.pu["status"].to_numpy()
    rows = project.puvspr
    order = (project.greedy_order if project.greedy_order is not None
             else np.lexsort((rows["pu_index"].to_numpy(), rows["spec_index"].to_numpy())))
    if project.greedy_order is not None:  # sporder rows grouped by feature, file order within
        order = order[np.argsort(rows["spec_index"].to_numpy()[order], kind="stable")]
    sidx = rows["spec_index"].to_numpy()[order]
    pidx = rows["pu_index"].to_numpy()[order]
    amt = rows["amount"].to_numpy(np.float64)[order]
    bounds = np.searchsorted(sidx, np.arange(len(project.spec) + 1))
    targets = project.targets()
    tocc = project.spec["targetocc"].to_numpy()
    # Without a sporder file Marxan's computePenalties starts every feature from all
    # status-2 units (their value and count), whether they hold the feature or not.
    start = None
    if project.greedy_order is None:
        start = (float(np.sum(values[status == 2])), int((status == 2).sum()))
    out = np.zeros(len(project.spec))
    for k in range(len(project.spec)):  # a loop over features; units are vectorised
        s = slice(bounds[k], bounds[k + 1])
        p = pidx[s]
        out[k] = _feature_penalty(amt[s], values[p], status[p], float(targets[k]), float(tocc[k]),
                                  start)
    project._cache[key] = out
    return out


def _evaluate(project: MarxanProject, x: np.ndarray, blm: float) -> tuple[dict[str, Any],
                                                                             pd.DataFrame]:
    fixed, i, j, length = project.boundary_arrays()
    cost = float(project.pu["cost"].to_numpy(np.float64) @ x)
    edge = float(fixed @ x + (length * np.abs(x[i] - x[j])).sum())
    inside = float((length * x[i] * x[j]).sum())
    outside = float(fixed @ (1 - x) + (length * (1 - x[i]) * (1 - x[j])).sum())
    total_conn = float(fixed.sum() + length.sum())
    m = project.amount_matrix()
    held = m @ x
    occ = (m > 0).astype(np.float64) @ x
    target = project.targets()
    tocc = project.spec["targetocc"].to_numpy(np.float64)
    spf = project.spec["spf"].to_numpy(np.float64)
    short_amt = np.where(target > held, target - held, 0.0)
    short_occ = np.where(tocc > occ, tocc - occ, 0.0)
    frac = np.divide(short_amt, target, out=np.zeros_like(target), where=target != 0)
    frac += np.divide(short_occ, tocc, out=np.zeros_like(tocc), where=tocc > 0)
    frac = np.where((target != 0) & (tocc > 0), frac / 2, frac)
    pen_k = feature_penalties(project, blm)
    penalty = float(np.sum(frac * pen_k * spf))
    with np.errstate(divide="ignore", invalid="ignore"):
        prop_amt = np.where(target > 0, held / target, np.inf)
        prop_occ = np.where(tocc > 0, occ / tocc, np.inf)
    misslevel = project.misslevel
    missing = (((target > 0) & (prop_amt < misslevel)) | ((tocc > 0) & (prop_occ < misslevel)))
    mpm_each = np.minimum(np.where(held < target, prop_amt, 1.0), np.where(occ < tocc, prop_occ, 1.0))
    mpm = float(min(1.0, mpm_each.min(initial=1.0)))
    tol = 1e-9 * np.maximum(1.0, np.abs(target))
    met = (held >= target - tol) & (occ >= tocc)
    status = project.pu["status"].to_numpy()
    summary = {
        "score": cost + blm * edge + penalty,
        "cost": cost,
        "boundary": edge,
        "penalty": penalty,
        "shortfall": float(short_amt[target > 0].sum() + short_occ[tocc > 0].sum()),
        "mpm": mpm,
        "units": int(x.sum()),
        "blm": blm,
        "missing_values": int(missing.sum()),
        "targets_met": int(met.sum()),
        "features": len(target),
        "connectivity_total": total_conn,
        "connectivity_in": inside,
        "connectivity_edge": edge,
        "connectivity_out": outside,
        "connectivity_in_fraction": inside / total_conn if total_conn > 0 else 0.0,
        "locks_violated": int(((status == 2) & (x == 0)).sum() + ((status == 3) & (x == 1)).sum()),
    }
    target_met = np.where(target > 0, np.where(prop_amt < misslevel, "no", "yes"), "")
    target_met = np.where(tocc > 0, np.where((prop_occ < misslevel) | (target_met == "no"), "no",
                                             "yes"), target_met)
    per_feature = pd.DataFrame({
        "Conservation Feature": project.spec["id"].to_numpy(),
        "Feature Name": project.spec["name"].to_numpy(),
        "Target": target,
        "Amount Held": held,
        "Occurrence Target ": tocc.astype(np.int64),
        "Occurrences Held": occ.astype(np.int64),
        "Separation Target ": project.spec["sepnum"].to_numpy(np.int64),
        "Separation Achieved": np.zeros(len(target), np.int64),
        "Target Met": target_met,
        "MPM": mpm_each,
    })
    return summary, per_feature


def marxan_score(project: MarxanProject, x: Any, blm: float | None = None, *,
                 problem: Problem | None = None) -> dict[str, Any]:
    """Marxan's objective for a plan, computed as Marxan computes it.

    Parameters
    ----------
    project : MarxanProject
    x : array, Solution, pandas.Series or path
        The plan: 0/1 per unit in pu.dat order, a `Solution`, a Series indexed by pu id,
        or a Marxan solution file.
    blm : float, optional
        Boundary length modifier. Default: the BLM the plan was solved with (that of
        ``problem``, or the one a `Solution` from `optimizer.results.solve` carries),
        else the BLM of input.dat. See `plan_blm`.
    problem : Problem, optional
        The problem ``x`` was solved from, for plans that do not carry their BLM
        (arrays, Series).

    Returns
    -------
    dict
        ``score`` (cost + blm * boundary + penalty), ``cost``, ``boundary`` (Marxan's
        Connectivity), ``penalty`` (Marxan's exact greedy-based penalty, see the module
        notes), ``shortfall``, ``mpm``, ``units``, ``blm``, ``missing_values``,
        ``targets_met``, ``features``, the ``connectivity_*`` figures of ``_sum`` and
        ``locks_violated`` (status 2 units not selected plus status 3 units selected).

    Raises
    ------
    InputDataError
        ``blm`` is negative or disagrees with the BLM the plan was solved with; the
        project uses clumping or separation; the plan does not fit the project.
    """
    for msg in project.unsupported():
        if "target2" in msg or "sepnum" in msg:
            raise InputDataError(f"{project.path.name}: {msg}; marxan_score does not reproduce "
                                 "Marxan's clumping or separation penalties")
    blm = plan_blm(project, x, blm, problem=problem)
    return _evaluate(project, _selection(project, x), blm)[0]


def compare_with_marxan(project: MarxanProject, marxan_solution: Any, our_solution: Any, *,
                        blm: float | None = None, problem: Problem | None = None) -> pd.DataFrame:
    """Marxan's plan and ours on the same files, both scored by `marxan_score` at one BLM.

    Parameters
    ----------
    project : MarxanProject
    marxan_solution, our_solution : path, Series, Solution or array
        E.g. Marxan's ``output_best.csv`` and our `Solution`.
    blm : float, optional
        Boundary length modifier. Default: the BLM our plan was solved with (see
        `plan_blm`), else the BLM of input.dat.
    problem : Problem, optional
        The problem our plan was solved from.

    Returns
    -------
    pandas.DataFrame
        Index: ``score``, ``cost``, ``boundary``, ``penalty``, ``shortfall``,
        ``targets_met``, ``missing_values``, ``mpm``, ``units``; columns ``marxan``,
        ``carbonpark``, ``difference`` (carbonpark - marxan).
    """
    rows = ["score", "cost", "boundary", "penalty", "shortfall", "targets_met",
            "missing_values", "mpm", "units"]
    blm = plan_blm(project, our_solution, blm, problem=problem)
    theirs = marxan_score(project, _selection(project, marxan_solution, "Marxan's plan"), blm)
    ours = marxan_score(project, _selection(project, our_solution, "our plan"), blm)
    df = pd.DataFrame({"marxan": [float(theirs[r]) for r in rows],
                       "carbonpark": [float(ours[r]) for r in rows]}, index=pd.Index(rows,
                                                                                     name="metric"))
    df["difference"] = df["carbonpark"] - df["marxan"]
    return df


# ============================================================== output files

def _atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    return write_text_atomic(path, text, newline="\n")


def _table_text(df: pd.DataFrame, delim: str, *, quote_header: bool, header: bool = True) -> str:
    head = ""
    if header:
        names = [f'"{c}"' if quote_header else str(c) for c in df.columns]
        head = delim.join(names) + "\n"
    body = df.to_csv(sep=delim, header=False, index=False, lineterminator="\n")
    return head + body


def _solution_text(ids: np.ndarray, x: np.ndarray, fmt: int) -> str:
    sel = x.astype(np.int64)
    if fmt == 3:
        return _table_text(pd.DataFrame({"PUID": ids, "SOLUTION": sel}), ",", quote_header=False)
    if fmt == 2:
        return _table_text(pd.DataFrame({"planning_unit": ids, "solution": sel}), ",",
                           quote_header=True)
    # Marxan's plain flavour: no header, a selected unit is its id alone.
    return "".join(f"{i}\n" if s else f"{i},0\n" for i, s in zip(ids.tolist(), sel.tolist(),
                                                                     strict=True))


def _output_names(n_plans: int, scenario: str, save_format: int) -> list[str]:
    """The files `write_marxan_outputs` writes for ``n_plans`` plans."""
    ext = _SUFFIX[save_format]
    tags = [f"{t}{k:05d}" for k in range(1, n_plans + 1) for t in ("r", "mv")]
    return [f"{scenario}_{tag}{ext}" for tag in [*tags, "best", "mvbest", "sum", "ssoln"]]


def _project_inputs(project: MarxanProject) -> list[Path]:
    return [project.path, *(f for f in project.files.values() if f is not None)]


def check_marxan_outputs(project: MarxanProject, out_dir: str | Path, *, n_plans: int = 1,
                         scenario: str = "output", save_format: int = 3, overwrite: bool = False,
                         inputs: Sequence[str | Path] = ()) -> Path:
    """Check, before solving, that `write_marxan_outputs` may write its files to ``out_dir``.

    Parameters
    ----------
    project : MarxanProject
        Its input files are never replaced.
    out_dir : str or Path
    n_plans, scenario, save_format
        As the later `write_marxan_outputs` call will write them.
    overwrite : bool
        Replace files carbonpark did not write (e.g. Marxan's own outputs).
    inputs : sequence of paths
        More files never to replace (e.g. a Marxan solution to compare with).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    OutputError
        A file to write exists and was not written by carbonpark, or is an input; the
        message names it.
    """
    if save_format not in _SUFFIX:
        raise InputDataError(f"save_format must be 3 (csv), 2 (txt) or 1 (dat); got {save_format!r}")
    return check_output_files(out_dir, "marxan-outputs", _output_names(n_plans, scenario, save_format),
                              overwrite=overwrite, inputs=[*_project_inputs(project), *inputs])


def write_marxan_outputs(project: MarxanProject, solutions: Any, out_dir: str | Path, *,
                         scenario: str = "output", blm: float | None = None,
                         save_format: int = 3, overwrite: bool = False) -> dict[str, Path]:
    """Write plans in Marxan's output layout.

    Files: ``<scenario>_r00001`` ... (one per plan), ``_mv00001`` ... (features per plan),
    ``_best`` and ``_mvbest`` (the plan with the lowest Marxan score), ``_sum`` (one
    row per plan, Marxan's summary columns) and ``_ssoln`` (how often each unit is
    selected). Each file is written atomically.

    Parameters
    ----------
    project : MarxanProject
    solutions : Solution, array, or a sequence of them
        One or more plans (0/1 per unit in pu.dat order).
    out_dir : str or Path
    scenario : str
        File name prefix (Marxan's SCENNAME).
    blm : float, optional
        Boundary length modifier for the scores. Default: the BLM the plans were solved
        with (a `Solution` from `optimizer.results.solve` carries it), else the BLM of
        input.dat; an explicit ``blm`` that disagrees raises (see `plan_blm`).
    save_format : {3, 2, 1}
        Marxan's SAVE* flavour: 3 ``.csv``, 2 comma-separated ``.txt``, 1 tab-separated ``.dat``.
    overwrite : bool
        Replace files of these names that carbonpark did not write (by default only files
        listed in the folder's ``carbonpark-output.json`` are replaced). The project's
        input files are never replaced.

    Returns
    -------
    dict of str to Path
        ``best``, ``mvbest``, ``sum``, ``ssoln``, ``r00001``, ``mv00001``, ...

    Raises
    ------
    OutputError
        A file to write exists and was not written by carbonpark (see ``overwrite``), is
        one of the project's inputs, or writing failed.
    """
    if save_format not in _SUFFIX:
        raise InputDataError(f"save_format must be 3 (csv), 2 (txt) or 1 (dat); got {save_format!r}")
    if (isinstance(solutions, pd.Series) or hasattr(solutions, "x")
            or (isinstance(solutions, np.ndarray) and solutions.ndim == 1)):
        solutions = [solutions]
    plans = [_selection(project, s, f"plan {k + 1}") for k, s in enumerate(solutions)]
    if not plans:
        raise InputDataError("write_marxan_outputs needs at least one plan")
    blm = plan_blm(project, solutions, blm)
    out = claim_files(out_dir, "marxan-outputs", _output_names(len(plans), scenario, save_format),
                      overwrite=overwrite, inputs=_project_inputs(project))
    ext = _SUFFIX[save_format]
    delim = "," if save_format > 1 else "\t"
    ids = project.pu["id"].to_numpy()
    written: dict[str, Path] = {}
    rows, scores, mvs = [], [], []
    for k, x in enumerate(plans, start=1):
        s, mv = _evaluate(project, x, blm)
        scores.append(s["score"])
        mvs.append(mv)
        rows.append({"Run_Number": k, "Score": s["score"], "Cost": s["cost"],
                     "Planning_Units": s["units"], "Connectivity": s["boundary"],
                     "Connectivity_Total": s["connectivity_total"],
                     "Connectivity_In": s["connectivity_in"],
                     "Connectivity_Edge": s["connectivity_edge"],
                     "Connectivity_Out": s["connectivity_out"],
                     "Connectivity_In_Fraction": s["connectivity_in_fraction"],
                     "Penalty": s["penalty"], "Shortfall": s["shortfall"],
                     "Missing_Values": s["missing_values"], "MPM": s["mpm"]})
        tag = f"r{k:05d}"
        written[tag] = _atomic_write(out / f"{scenario}_{tag}{ext}",
                                     _solution_text(ids, x, save_format))
        written[f"mv{k:05d}"] = _atomic_write(out / f"{scenario}_mv{k:05d}{ext}",
                                              _table_text(mv, delim, quote_header=True))
    best = int(np.argmin(scores))  # Marxan keeps the first run with the lowest score
    written["best"] = _atomic_write(out / f"{scenario}_best{ext}",
                                    _solution_text(ids, plans[best], save_format))
    written["mvbest"] = _atomic_write(out / f"{scenario}_mvbest{ext}",
                                      _table_text(mvs[best], delim, quote_header=True))
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    written["sum"] = _atomic_write(out / f"{scenario}_sum{ext}",
                                   _table_text(summary, delim, quote_header=True))
    counts = np.sum(plans, axis=0).astype(np.int64)
    ssoln = pd.DataFrame({"planning_unit": ids[::-1], "number": counts[::-1]})  # Marxan: reversed
    written["ssoln"] = _atomic_write(out / f"{scenario}_ssoln{ext}",
                                     _table_text(ssoln, delim, quote_header=True,
                                                 header=save_format > 1))
    return written


def read_marxan_solution(path: str | Path) -> pd.Series:
    """Read a Marxan solution file (``_best``, ``_rNNNNN``; csv, txt or dat).

    Headers ``PUID,SOLUTION`` (any second name) and ``"planning_unit","solution"`` are
    read, as is Marxan's header-less flavour (a selected unit is its id alone).

    Returns
    -------
    pandas.Series
        Index ``pu`` (unit id), values 0/1 (int), name ``solution``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: Marxan solution file not found; give an output_best or "
                             "output_r file")
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: cannot read the solution file ({exc})") from None
    lines = [ln for ln in lines if ln]
    if not lines:
        raise InputDataError(f"{path.name}: the solution file is empty")
    fields = [re.split(r"[,\t; ]+", ln) for ln in lines]
    start = 0
    first = fields[0][0].strip("\"'")
    if not re.fullmatch(r"[-+]?\d+(\.0*)?", first):
        start = 1
    ids, values = [], []
    for n, row in enumerate(fields[start:], start=start + 1):
        row = [f.strip("\"'") for f in row if f != ""]
        try:
            ids.append(int(float(row[0])))
            values.append(int(float(row[1])) if len(row) > 1 else 1)
        except (ValueError, IndexError):
            raise InputDataError(f"{path.name}: line {n} is not 'id,solution' ({lines[n - 1]!r}); "
                                 "give a Marxan solution file") from None
    s = pd.Series(values, index=pd.Index(ids, name="pu"), name="solution", dtype=np.int64)
    if s.index.duplicated().any():
        raise InputDataError(f"{path.name}: unit {s.index[s.index.duplicated()][0]} appears twice")
    if not s.isin((0, 1)).all():
        raise InputDataError(f"{path.name}: solution values must be 0 or 1; got "
                             f"{sorted(set(s.tolist()) - {0, 1})[:5]}")
    return s


def read_marxan_summary(path: str | Path) -> pd.DataFrame:
    """Read a Marxan ``_sum`` file (csv, txt or dat) with its column names unquoted."""
    path = Path(path)
    df = _read_table(path, "Marxan summary", "SCENNAME", [])
    canonical = {c.lower(): c for c in SUMMARY_COLUMNS}
    df.columns = [canonical.get(c, c) for c in df.columns]
    missing = [c for c in ("Run_Number", "Score", "Cost") if c not in df.columns]
    if missing:
        raise InputDataError(f"{path.name}: not a Marxan summary file (no {missing} column)")
    for col in df.columns:
        df[col] = _numeric(df, col, path, default=np.nan)
    df["Run_Number"] = df["Run_Number"].astype(np.int64)
    return df


# ============================================================== problem -> Marxan

def write_marxan_project(problem: Problem, out_dir: str | Path, *, blm: float | None = None,
                         spf: float = 10.0, overwrite: bool = False) -> Path:
    """Write a min-set problem as a Marxan project (``input.dat`` + ``input/*.dat``).

    Mapping, exact for the min-set optimum:

    * ``pu.dat``: ``cost`` is the problem's cost plus any linear penalties
      (``penalty * amount`` per unit); ``status`` 2 for locked-in units (including
      existing protection at or above the problem's threshold), 3 for locked-out ones;
      ``xloc``/``yloc`` are unit centroids when geometries exist. Non-integer ``pu_id``
      values become 1..n, listed in ``input/pu_id_map.csv``.
    * Partial protection (``pa_fraction`` p): a decision adds only the unprotected part,
      so ``puvspr.dat`` holds ``(1 - p_j) r_kj`` and each target is reduced by what is
      already held, ``sum_j p_j r_kj`` (``spec.dat`` ``target``, absolute, floored at 0).
    * ``bound.dat``: shared edges, plus self-boundaries ``edge_factor * exposed_km``.
      ``BLM`` is ``blm`` or the problem's boundary penalty (0 without one).
    * ``spf`` (the same for all features) only matters to Marxan's annealing; raise it
      if Marxan leaves targets unmet.

    The project folder (with an empty ``output`` folder and the marker
    ``carbonpark-output.json``) is written beside ``out_dir`` and renamed into place. It
    replaces only a project written earlier by carbonpark, with nothing added since (such
    as Marxan's results in ``output``), unless ``overwrite=True``.

    Returns
    -------
    pathlib.Path
        The project's ``input.dat``.

    Raises
    ------
    InputDataError
        The problem is not min set (Marxan has no max utility or min shortfall
        objective), or has area budgets, which Marxan cannot express.
    OutputError
        ``out_dir`` is taken by something else (see ``overwrite``), or writing failed.
    """
    if not isinstance(problem, Problem):
        raise InputDataError(f"write_marxan_project takes a Problem; got {type(problem).__name__}")
    kind = problem.objective.kind if problem.objective else None
    if kind != "min_set":
        raise InputDataError(f"Marxan solves min-set problems only; this problem's objective is "
                             f"{kind or 'not set'}: use add_min_set_objective() with targets")
    if problem.budgets:
        labels = [b.label for b in problem.budgets]
        raise InputDataError(f"Marxan cannot express area budgets ({labels}); remove them "
                             "(Marxan's COSTTHRESH is a soft penalty, not a budget)")
    if not problem.targets:
        raise InputDataError("the problem has no targets; add_relative_targets() or "
                             "add_absolute_targets() first")
    check_output_dir(out_dir, "marxan-project", overwrite=overwrite)
    files: dict[str, str] = {}
    n = problem.n_units
    units = problem.pu.units
    raw_ids = units["pu_id"].to_numpy()
    if np.issubdtype(raw_ids.dtype, np.integer) and (raw_ids >= 0).all():
        ids = raw_ids.astype(np.int64)
    else:
        ids = np.arange(1, n + 1)
        files["input/pu_id_map.csv"] = _table_text(
            pd.DataFrame({"id": ids, "pu_id": raw_ids}), ",", quote_header=False)
    locked_in, locked_out = problem.locked_masks()
    status = np.where(locked_in, 2, np.where(locked_out, 3, 0))
    cost = np.array(problem.cost, dtype=np.float64)
    for lp in problem.linear_penalties:
        cost = cost + lp.penalty * lp.amount
    if (cost < 0).any():
        raise InputDataError("cost plus linear penalties is negative for some units; Marxan "
                             "needs costs >= 0")
    pu = pd.DataFrame({"id": ids, "cost": cost, "status": status})
    geoms = units.geometry.to_numpy() if "geometry" in units else None
    if geoms is not None:
        import shapely

        ok = ~shapely.is_missing(geoms)
        if ok.all():
            c = shapely.centroid(geoms)
            pu["xloc"], pu["yloc"] = shapely.get_x(c), shapely.get_y(c)
    feats = problem.target_features()
    p = problem.protected_fraction
    amounts = problem.feature_amounts(feats)
    held_before = amounts @ p
    unprotected = amounts * (1.0 - p)
    targets = np.array([t.amount for t in problem.targets])
    spec = pd.DataFrame({"id": np.arange(1, len(feats) + 1),
                         "target": np.maximum(targets - held_before, 0.0),
                         "spf": float(spf),
                         "name": [re.sub(r"[\s,;\t\"']+", "_", f) for f in feats]})
    k, j = np.nonzero(unprotected > 0)
    order = np.lexsort((k, j))  # Marxan reads puvspr sorted by unit
    puvspr = pd.DataFrame({"species": k[order] + 1, "pu": ids[j[order]],
                           "amount": unprotected[k[order], j[order]]})
    bp = problem.boundary_penalty
    edge_factor = bp.edge_factor if bp is not None else 1.0
    bi, bj, length = problem.pu.boundary_indices()
    exposed = np.nan_to_num(units["exposed_km"].to_numpy(np.float64)) * edge_factor
    has = exposed > 0
    bound = pd.DataFrame({
        "id1": np.concatenate([ids[has], ids[bi]]),
        "id2": np.concatenate([ids[has], ids[bj]]),
        "boundary": np.concatenate([exposed[has], length]),
    })
    blm_value = float(blm) if blm is not None else (bp.penalty if bp is not None else 0.0)
    files["input/pu.dat"] = _table_text(pu, ",", quote_header=False)
    files["input/spec.dat"] = _table_text(spec, ",", quote_header=False)
    files["input/puvspr.dat"] = _table_text(puvspr, ",", quote_header=False)
    files["input/bound.dat"] = _table_text(bound, ",", quote_header=False)
    settings = [
        ("Input file for Marxan, written by carbonpark", None),
        ("", None),
        ("General Parameters", None), ("VERSION", "0.1"), ("BLM", repr(blm_value)),
        ("PROP", "0.5"), ("RANDSEED", "-1"), ("NUMREPS", "10"),
        ("", None), ("Annealing Parameters", None), ("NUMITNS", "1000000"), ("STARTTEMP", "-1"),
        ("NUMTEMP", "10000"),
        ("", None), ("Cost Threshold", None), ("COSTTHRESH", "0"), ("THRESHPEN1", "0"),
        ("THRESHPEN2", "0"),
        ("", None), ("Input Files", None), ("INPUTDIR", "input"), ("SPECNAME", "spec.dat"),
        ("PUNAME", "pu.dat"), ("PUVSPRNAME", "puvspr.dat"), ("BOUNDNAME", "bound.dat"),
        ("", None), ("Save Files", None), ("SCENNAME", "output"), ("SAVERUN", "3"),
        ("SAVEBEST", "3"), ("SAVESUMMARY", "3"), ("SAVESCEN", "3"), ("SAVETARGMET", "3"),
        ("SAVESUMSOLN", "3"), ("SAVELOG", "2"), ("OUTPUTDIR", "output"),
        ("", None), ("Program control.", None), ("RUNMODE", "1"), ("MISSLEVEL", "1"),
        ("ITIMPTYPE", "0"), ("HEURTYPE", "-1"), ("CLUMPTYPE", "0"), ("VERBOSITY", "2"),
    ]
    files["input.dat"] = "".join(f"{k} {v}\n" if v is not None else f"{k}\n" for k, v in settings)

    def fill(tmp: Path) -> None:
        (tmp / "input").mkdir()
        (tmp / "output").mkdir()
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")

    return write_dir_atomic(out_dir, "marxan-project", fill, overwrite=overwrite) / "input.dat"

