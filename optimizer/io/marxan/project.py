"""Marxan projects in: `read_marxan` reads ``input.dat`` and its tables into a `MarxanProject`.

As Marxan reads them (v4 ``input.cpp``): ``prop > 0`` in ``spec.dat`` sets
``target = prop * (total amount over all units)``, replacing any ``target`` value
(missing values default to 0); rows of ``bound.dat`` with ``id1 == id2`` are a unit's
fixed (exposed) boundary and are summed, and a pair given twice (either order) keeps
its first definition. `MarxanProject.to_problem` turns the project into our min-set
`Problem` (status 2 locked in, status 3 locked out, the BLM as a boundary penalty with
``edge_factor=1``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputDataError
from optimizer.grid.planning_units import RESERVED_COLUMNS, PlanningUnits, planning_units_from_arrays
from optimizer.io.marxan.input_dat import (
    NO_BLM_NOTE,
    SAVE_SUFFIX,
    check_blm,
    float_setting,
    parse_input_dat,
    settings_blm,
)
from optimizer.io.marxan.tables import (
    Table,
    cell_text,
    first_repeat,
    lookup_ids,
    numeric_column,
    positions,
    read_ids,
    read_table,
    text_column,
)
from optimizer.model.problem import Problem
from optimizer.model.problem import problem as make_problem


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

    Its four tables are `optimizer.io.marxan.tables.Table` objects: numpy columns by name
    (``project.pu["cost"]``), ``to_pandas()`` for a DataFrame. Reading a project and
    solving it as ``carbonpark marxan`` does (`optimizer.io.marxan.model.marxan_model`)
    needs no pandas; `planning_units` and `to_problem` do.

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
    pu : Table
        ``id``, ``cost`` (default 1), ``status`` (0-3, default 0) and ``xloc``, ``yloc``
        when given, in file order.
    spec : Table
        ``id``, ``prop``, ``target`` (as given), ``targetocc``, ``spf``, ``target2``,
        ``sepnum``, ``name``, ``column`` (the feature column of `planning_units`),
        ``total`` (amount over all units) and ``marxan_target`` (the target Marxan uses).
    puvspr : Table
        ``species``, ``pu``, ``amount`` (long format), plus positional ``spec_index``
        and ``pu_index``.
    bound : Table
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
    pu: Table
    spec: Table
    puvspr: Table
    bound: Table
    greedy_order: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------- settings
    @property
    def blm(self) -> float:
        """BLM of input.dat (or CM, its old name, as Marxan reads it; Marxan's default 0
        when neither is set). A negative BLM raises `InputDataError`."""
        return settings_blm(self.settings, self.path)

    @property
    def prop(self) -> float:
        """PROP of input.dat: Marxan's starting proportion for annealing (not a target)."""
        return float_setting(self.settings, "PROP", 0.5, self.path)

    @property
    def numreps(self) -> int:
        """NUMREPS of input.dat (default 1)."""
        return int(float_setting(self.settings, "NUMREPS", 1, self.path))

    @property
    def misslevel(self) -> float:
        """MISSLEVEL: share of a target below which Marxan counts the feature missing."""
        return float_setting(self.settings, "MISSLEVEL", 1.0, self.path)

    @property
    def scenario(self) -> str:
        """SCENNAME (default ``output``)."""
        return self.settings.get("SCENNAME", "output").split()[0]

    @property
    def save_format(self) -> int:
        """Output flavour from SAVEBEST: 3 csv, 2 txt (comma), 1 dat (tab); default 3."""
        value = int(float_setting(self.settings, "SAVEBEST", 3, self.path))
        return value if value in SAVE_SUFFIX else 3

    @property
    def n_units(self) -> int:
        """Number of planning units."""
        return len(self.pu)

    @property
    def initial(self) -> np.ndarray:
        """Status 1 units: Marxan's initial reserve (a starting point, not a lock)."""
        return self.pu["status"] == 1

    # ---------------------------------------------------------- arrays
    def amount_matrix(self) -> sp.csr_matrix:
        """Amounts as a sparse matrix (features x units, rows in spec order)."""
        if "matrix" not in self._cache:
            self._cache["matrix"] = sp.csr_matrix(
                (np.asarray(self.puvspr["amount"], dtype=np.float64),
                 (self.puvspr["spec_index"], self.puvspr["pu_index"])),
                shape=(len(self.spec), self.n_units))
        return self._cache["matrix"]

    def boundary_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(fixed, i, j, length)``: per-unit fixed boundary and unit pairs (positions)."""
        if "bound" not in self._cache:
            b = self.bound
            i = positions(self.pu["id"], b["id1"])
            j = positions(self.pu["id"], b["id2"])
            length = np.asarray(b["boundary"], dtype=np.float64)
            self_edge = i == j
            fixed = np.bincount(i[self_edge], length[self_edge], minlength=self.n_units)
            self._cache["bound"] = (fixed, i[~self_edge], j[~self_edge], length[~self_edge])
        return self._cache["bound"]

    def targets(self) -> np.ndarray:
        """The target Marxan uses for each feature (spec order)."""
        return np.asarray(self.spec["marxan_target"], dtype=np.float64)

    # ---------------------------------------------------------- conversion
    def planning_units(self) -> PlanningUnits:
        """The units as `PlanningUnits` (one feature column per spec id; ``cost``,
        ``status`` and any ``xloc``/``yloc`` as extra columns; area 1 per unit)."""
        if "pu" in self._cache:
            return self._cache["pu"]
        # pandas and shapely only here: reading and solving need neither (start-up, issue 23)
        import pandas as pd
        import shapely

        cols = self.spec["column"].tolist()
        dense = self.amount_matrix().T.toarray()
        amounts = pd.DataFrame(dense, columns=cols)
        extra: dict[str, Any] = {"cost": self.pu["cost"],
                                 "status": self.pu["status"].astype(np.int64)}
        geometry = None
        if "xloc" in self.pu and "yloc" in self.pu:
            extra["xloc"] = self.pu["xloc"]
            extra["yloc"] = self.pu["yloc"]
            geometry = shapely.points(extra["xloc"], extra["yloc"])
        fixed, i, j, length = self.boundary_arrays()
        ids = self.pu["id"]
        has_fixed = fixed > 0
        boundary = pd.DataFrame({
            "id1": np.concatenate([ids[has_fixed], ids[i]]),
            "id2": np.concatenate([ids[has_fixed], ids[j]]),
            "length_km": np.concatenate([fixed[has_fixed], length]),
        })
        info = pd.DataFrame({"label": self.spec["name"].astype(str),
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
            bad = s["id"][s[col] > 0].tolist()
            if bad:
                out.append(f"spec.dat uses {what} for feature id(s) {bad[:5]}")
        if float_setting(self.settings, "COSTTHRESH", 0.0, self.path) > 0:
            out.append("input.dat sets COSTTHRESH (a cost threshold penalty)")
        return out

    def check_expressible(self) -> None:
        """Refuse, in one line, a project a min-set problem cannot express: occurrence
        targets, clumping or separation (a cost threshold is only left out of the score)."""
        issues = [m for m in self.unsupported() if "COSTTHRESH" not in m]
        if issues:
            raise InputDataError(f"{self.path.name}: " + "; ".join(issues)
                                 + "; carbonpark cannot express these: remove them from spec.dat")

    def to_problem(self, blm: float | None = None, *,
                   relative_targets: float | Mapping[str, float] | None = None) -> Problem:
        """The project as our min-set `Problem`.

        Cost is the ``pu.dat`` cost; status 2 is locked in and status 3 locked out
        (status 1, Marxan's initial reserve, is not a lock: see `initial`); targets are
        Marxan's (``prop`` as relative targets, else ``target`` as amounts); the
        boundary penalty is ``blm`` (default: BLM of input.dat) with ``edge_factor=1``,
        since Marxan counts self-boundaries fully. A `Solution` of this problem (from
        `optimizer.plan.results.solve`) carries that penalty, so `marxan_score` and
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
        blm = self.blm if blm is None else check_blm(blm, "blm")
        self.check_expressible()
        pu = self.planning_units()
        p = make_problem(pu, cost="cost").add_min_set_objective()
        cols = self.spec["column"].tolist()
        if relative_targets is not None:
            shares = (relative_targets if isinstance(relative_targets, Mapping)
                      else dict.fromkeys(cols, relative_targets))
            p = p.add_relative_targets(shares)
        else:
            prop = self.spec["prop"]
            rel = {c: float(v) for c, v in zip(cols, prop, strict=True) if v > 0}
            absolute = {c: float(t) for c, t, v in zip(cols, self.spec["target"], prop, strict=True)
                        if not v > 0}
            if rel:
                p = p.add_relative_targets(rel)
            if absolute:
                p = p.add_absolute_targets(absolute)
        status = self.pu["status"]
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
    settings = parse_input_dat(path)
    base = path.parent

    def resolve(value: str | None, default: str) -> Path:
        text = (value or default).strip().strip('"').replace("\\", "/")
        p = Path(text)
        return p if p.is_absolute() else base / p

    input_dir = resolve(settings.get("INPUTDIR"), "input" if (base / "input").is_dir() else ".")
    output_dir = resolve(settings.get("OUTPUTDIR"), "output")
    notes: list[str] = []
    settings_blm(settings, path)  # a negative BLM is refused here, not at the first score
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
    df = read_table(pu_file, "planning unit", "PUNAME", ["id"])
    pu = Table({"id": read_ids(df, "id", pu_file, unique=True)})
    pu["cost"] = numeric_column(df, "cost", pu_file, default=1.0, minimum=0.0)
    status = numeric_column(df, "status", pu_file, default=0.0, integer=True)
    if not np.isin(status, (0, 1, 2, 3)).all():
        bad = int(np.flatnonzero(~np.isin(status, (0, 1, 2, 3)))[0])
        raise InputDataError(f"{pu_file.name}: status must be 0, 1, 2 or 3; got "
                             f"{cell_text(df, 'status', bad)!r} on line {bad + 2}")
    pu["status"] = status.astype(np.int64)
    for col in ("xloc", "yloc"):
        if col in df:
            pu[col] = numeric_column(df, col, pu_file)
    if len(pu) == 0:
        raise InputDataError(f"{pu_file.name}: no planning units; add rows below the header")
    pu_ids = pu["id"]

    # ---------------- spec.dat
    df = read_table(spec_file, "conservation feature", "SPECNAME", ["id"])
    if "prop" not in df and "target" not in df:
        raise InputDataError(f"{spec_file.name}: needs a 'prop' or 'target' column (header: "
                             f"{df.columns}); add the targets")
    spec = Table({"id": read_ids(df, "id", spec_file, unique=True)})
    for col in ("prop", "target", "targetocc", "spf", "target2", "sepnum"):
        spec[col] = numeric_column(df, col, spec_file, default=0.0, minimum=0.0)
    if len(spec) == 0:
        raise InputDataError(f"{spec_file.name}: no features; add rows below the header")
    names = ([str(n).strip() for n in text_column(df, "name").tolist()] if "name" in df
             else [""] * len(spec))
    spec["name"] = np.array([n if n else f"feature {i}"
                             for n, i in zip(names, spec["id"].tolist(), strict=True)], dtype=object)
    spec["column"] = np.array(_feature_columns(spec["id"], spec["name"].tolist()), dtype=object)
    spec_ids = spec["id"]

    # ---------------- puvspr.dat
    df = read_table(puvspr_file, "planning unit vs feature", puvspr_key,
                    ["species", "pu", "amount"])
    species = read_ids(df, "species", puvspr_file, unique=False)
    units = read_ids(df, "pu", puvspr_file, unique=False)
    amount = numeric_column(df, "amount", puvspr_file, minimum=0.0)
    sidx = lookup_ids(spec_ids, species, puvspr_file, "species", spec_file.name)
    pidx = lookup_ids(pu_ids, units, puvspr_file, "pu", pu_file.name)
    puvspr = Table({"species": species, "pu": units, "amount": amount,
                    "spec_index": sidx, "pu_index": pidx})
    n_pu = len(pu)
    bad_row = first_repeat(sidx.astype(np.int64) * n_pu + pidx)
    if bad_row is not None:
        raise InputDataError(f"{puvspr_file.name}: feature {species[bad_row]} in unit "
                             f"{units[bad_row]} is listed twice (line {bad_row + 2}); keep one "
                             "row per feature and unit")

    # ---------------- greedy scan order (Marxan's sporder file, else pu order)
    greedy_order = None
    if sporder_file is not None and sporder_file != puvspr_file:
        so = read_table(sporder_file, "feature-ordered puvspr", "MATRIXSPORDERNAME",
                        ["species", "pu", "amount"])
        so_s = positions(spec_ids, read_ids(so, "species", sporder_file, unique=False))
        so_p = positions(pu_ids, read_ids(so, "pu", sporder_file, unique=False))
        key = sidx.astype(np.int64) * n_pu + pidx
        so_key = np.where((so_s >= 0) & (so_p >= 0), so_s.astype(np.int64) * n_pu + so_p, -1)
        rows = np.where(so_key >= 0, positions(key, so_key), -1)
        if (rows < 0).any() or len(np.unique(rows)) != len(puvspr):
            notes.append(f"{sporder_file.name} does not hold the same rows as {puvspr_file.name}; "
                         "ignored (the greedy penalty follows pu.dat order)")
        else:
            greedy_order = rows
    elif sporder_file is not None:
        greedy_order = np.arange(len(puvspr))

    # ---------------- bound.dat
    bound = Table({"id1": np.zeros(0, np.int64), "id2": np.zeros(0, np.int64),
                   "boundary": np.zeros(0)})
    if bound_file is not None:
        df = read_table(bound_file, "boundary length", "BOUNDNAME", ["id1", "id2", "boundary"])
        id1 = read_ids(df, "id1", bound_file, unique=False)
        id2 = read_ids(df, "id2", bound_file, unique=False)
        length = numeric_column(df, "boundary", bound_file, minimum=0.0)
        i = lookup_ids(pu_ids, id1, bound_file, "id1", pu_file.name)
        j = lookup_ids(pu_ids, id2, bound_file, "id2", pu_file.name)
        self_edge = i == j
        fi = np.unique(i[self_edge])  # units with a fixed boundary, in pu.dat order
        fixed = np.bincount(i[self_edge], length[self_edge], minlength=n_pu)[fi]
        pi, pj, pl = i[~self_edge], j[~self_edge], length[~self_edge]
        pair = np.minimum(pi, pj).astype(np.int64) * n_pu + np.maximum(pi, pj)
        _, first = np.unique(pair, return_index=True)  # Marxan keeps a pair's first definition
        if first.size < pair.size:
            notes.append(f"{bound_file.name}: {pair.size - first.size} pair(s) defined twice; the "
                         "first definition is kept, as Marxan does")
            keep = np.sort(first)
            pi, pj, pl = pi[keep], pj[keep], pl[keep]
        bound = Table({
            "id1": np.concatenate([pu_ids[fi], pu_ids[pi]]),
            "id2": np.concatenate([pu_ids[fi], pu_ids[pj]]),
            "boundary": np.concatenate([fixed, pl]),
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
