"""Problems out to Marxan: `write_marxan_project` writes a min-set `Problem` as a Marxan
project (``input.dat``, ``input/*.dat`` and an empty ``output`` folder).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from optimizer.atomic import check_output_dir, write_dir_atomic
from optimizer.errors import InputDataError
from optimizer.io.marxan.tables import Table, table_text
from optimizer.model.objectives import objective_kind
from optimizer.model.problem import Problem


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
    kind = objective_kind(problem.objective.kind) if problem.objective else None
    # Marxan minimises a per-unit cost (here the kind's unit objective) plus the boundary
    # under targets it treats as constraints (a penalty on each missed one).
    if kind is None or kind.sense != "min" or kind.soft_targets:
        raise InputDataError(f"Marxan solves min-set problems only; this problem's objective is "
                             f"{kind.name if kind else 'not set'}: use add_min_set_objective() "
                             "with targets")
    if problem.budgets or problem.cost_budgets:
        labels = [b.label for b in problem.budgets] + [b.label for b in problem.cost_budgets]
        words = " and ".join(w for w, on in (("area", problem.budgets),
                                             ("cost", problem.cost_budgets)) if on)
        raise InputDataError(f"Marxan cannot express {words} budgets ({labels}); remove them "
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
        files["input/pu_id_map.csv"] = table_text(
            Table({"id": ids, "pu_id": raw_ids}), ",", quote_header=False)
    locked_in, locked_out = problem.locked_masks()
    status = np.where(locked_in, 2, np.where(locked_out, 3, 0))
    cost = np.array(kind.unit_objective(problem), dtype=np.float64)
    for lp in problem.linear_penalties:
        cost = cost + lp.penalty * lp.amount
    if (cost < 0).any():
        raise InputDataError("cost plus linear penalties is negative for some units; Marxan "
                             "needs costs >= 0")
    pu = Table({"id": ids, "cost": cost, "status": status})
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
    spec = Table({"id": np.arange(1, len(feats) + 1),
                         "target": np.maximum(targets - held_before, 0.0),
                         "spf": float(spf),
                         "name": [re.sub(r"[\s,;\t\"']+", "_", f) for f in feats]})
    k, j = np.nonzero(unprotected > 0)
    order = np.lexsort((k, j))  # Marxan reads puvspr sorted by unit
    puvspr = Table({"species": k[order] + 1, "pu": ids[j[order]],
                           "amount": unprotected[k[order], j[order]]})
    bp = problem.boundary_penalty
    edge_factor = bp.edge_factor if bp is not None else 1.0
    bi, bj, length = problem.pu.boundary_indices()
    exposed = np.nan_to_num(units["exposed_km"].to_numpy(np.float64)) * edge_factor
    has = exposed > 0
    bound = Table({
        "id1": np.concatenate([ids[has], ids[bi]]),
        "id2": np.concatenate([ids[has], ids[bj]]),
        "boundary": np.concatenate([exposed[has], length]),
    })
    blm_value = float(blm) if blm is not None else (bp.penalty if bp is not None else 0.0)
    files["input/pu.dat"] = table_text(pu, ",", quote_header=False)
    files["input/spec.dat"] = table_text(spec, ",", quote_header=False)
    files["input/puvspr.dat"] = table_text(puvspr, ",", quote_header=False)
    files["input/bound.dat"] = table_text(bound, ",", quote_header=False)
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
