"""Tests of optimizer.io.marxan: reading Marxan projects, Marxan's own objective, output files,
problem -> Marxan, the ``carbonpark marxan`` command, and real Tasmanian projects."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import box_grid

from optimizer.cli import main
from optimizer.cli import marxan as cli
from optimizer.cli.deadline import write_reserve
from optimizer.errors import InputDataError
from optimizer.io.marxan import (
    MVBEST_COLUMNS,
    SUMMARY_COLUMNS,
    compare_with_marxan,
    feature_penalties,
    marxan_score,
    read_marxan,
    read_marxan_solution,
    read_marxan_summary,
    write_marxan_outputs,
    write_marxan_project,
)
from optimizer.model.problem import problem
from optimizer.plan.results import feature_representation, objective_value, solve

INPUT_DAT = """Input file for Annealing program.

General Parameters
BLM {blm}
PROP 0.5
NUMREPS 10

Input File
INPUTDIR input
SPECNAME spec.dat
PUNAME pu.dat
{puvspr_line}
BOUNDNAME bound.dat
{extra}
Save Files
SCENNAME output
SAVEBEST 3
OUTPUTDIR output
MISSLEVEL 0.95
"""


def _table(rows: list[list[object]], header: list[str], sep: str) -> str:
    return "\n".join(sep.join(str(v) for v in r) for r in [header, *rows]) + "\n"


def write_project(folder: Path, *, pu: pd.DataFrame, spec: pd.DataFrame, puvspr: pd.DataFrame,
                  bound: pd.DataFrame | None = None, blm: float = 0.0, sep: str = ",",
                  puvspr_name: str | None = "puvspr.dat", sporder_name: str | None = None,
                  files: dict[str, str] | None = None) -> Path:
    """A Marxan project in ``folder`` from tables (each written with ``sep``)."""
    inp = folder / "input"
    inp.mkdir(parents=True, exist_ok=True)
    tables = {"pu.dat": pu, "spec.dat": spec}
    data_name = puvspr_name or sporder_name
    tables[str(data_name)] = puvspr
    if bound is not None:
        tables["bound.dat"] = bound
    for name, df in tables.items():
        (inp / name).write_text(_table(df.to_numpy().tolist(), list(df.columns), sep))
    for name, text in (files or {}).items():
        (inp / name).write_text(text)
    puvspr_line = f"PUVSPRNAME {puvspr_name}" if puvspr_name else ""
    extra = f"MATRIXSPORDERNAME {sporder_name}\n" if sporder_name else ""
    text = INPUT_DAT.format(blm=blm, puvspr_line=puvspr_line, extra=extra)
    if bound is None:
        text = text.replace("BOUNDNAME bound.dat\n", "")
    (folder / "input.dat").write_text(text)
    return folder / "input.dat"


def grid_project(folder: Path, *, nrows: int = 2, ncols: int = 5, seed: int = 0, blm: float = 1.0,
                 status: dict[int, int] | None = None, prop: float = 0.4) -> Path:
    """A random nrows x ncols Marxan project on a square grid (edges 1, outer edges 1 each)."""
    rng = np.random.default_rng(seed)
    n = nrows * ncols
    ids = np.arange(1, n + 1) * 10
    st = np.zeros(n, dtype=int)
    for k, v in (status or {}).items():
        st[k] = v
    pu = pd.DataFrame({"id": ids, "cost": rng.integers(1, 20, n), "status": st})
    spec = pd.DataFrame({"id": [1, 2, 3], "prop": [prop, prop, 0.0],
                         "target": [0, 0, 3], "spf": [5, 5, 5], "name": ["alpha", "beta", "gamma"]})
    rows = []
    for s in (1, 2, 3):
        for u in ids:
            if rng.random() < 0.6:
                rows.append([s, u, int(rng.integers(1, 5))])
    puvspr = pd.DataFrame(rows, columns=["species", "pu", "amount"])
    r, c = np.divmod(np.arange(n), ncols)
    brow = []
    for k in range(n):
        outer = (r[k] == 0) + (r[k] == nrows - 1) + (c[k] == 0) + (c[k] == ncols - 1)
        if outer:
            brow.append([ids[k], ids[k], float(outer)])
        if c[k] < ncols - 1:
            brow.append([ids[k], ids[k + 1], 1.0])
        if r[k] < nrows - 1:
            brow.append([ids[k], ids[k + ncols], 1.0])
    bound = pd.DataFrame(brow, columns=["id1", "id2", "boundary"])
    return write_project(folder, pu=pu, spec=spec, puvspr=puvspr, bound=bound, blm=blm)


# ============================================================== parsing

def test_parser_reads_comma_tab_and_space_files_with_any_header_case(tmp_path):
    pu = pd.DataFrame({"ID": [1, 2, 3], "Cost": [1.5, 2, 3], "STATUS": [0, 2, 3]})
    spec = pd.DataFrame({"id": [7, 8], "prop": [0.5, 0.0], "target": [0, 2], "spf": [1, 1]})
    puvspr = pd.DataFrame({"species": [7, 7, 8], "pu": [1, 2, 3], "amount": [1.0, 3.0, 2.0]})
    bound = pd.DataFrame({"id1": [1, 1, 2], "id2": [1, 2, 3], "boundary": [4.0, 1.0, 2.0]})
    projects = [read_marxan(write_project(tmp_path / sep_name, pu=pu, spec=spec, puvspr=puvspr,
                                          bound=bound, sep=sep))
                for sep_name, sep in (("comma", ","), ("tab", "\t"), ("space", "  "))]
    for proj in projects:
        assert proj.pu["cost"].tolist() == [1.5, 2, 3]
        assert proj.pu["status"].tolist() == [0, 2, 3]
        assert proj.spec["name"].tolist() == ["feature 7", "feature 8"]  # default names
        assert proj.spec["marxan_target"].tolist() == [2.0, 2.0]  # 0.5 x 4, then target
        assert proj.bound["boundary"].sum() == 7.0
        fixed, _, _, length = proj.boundary_arrays()
        assert fixed.tolist() == [4.0, 0.0, 0.0] and length.tolist() == [1.0, 2.0]
    pd.testing.assert_frame_equal(projects[0].puvspr.to_pandas(), projects[2].puvspr.to_pandas())


def test_missing_optional_columns_take_marxan_defaults_and_quotes_are_stripped(tmp_path):
    inp = tmp_path / "input"
    inp.mkdir()
    (inp / "pu.dat").write_text('"id"\n1\n2\n')
    (inp / "spec.dat").write_text("id,target,name\n1,1,Acacia dealbata\n2,0,\n")
    (inp / "puvspr.dat").write_text("species,pu,amount\n1,2,1.5\n")
    (tmp_path / "input.dat").write_text("INPUTDIR input\nPUNAME pu.dat\nSPECNAME spec.dat\n"
                                        "PUVSPRNAME puvspr.dat\nSCENNAME myrun\nBLM 2\n")
    proj = read_marxan(tmp_path)  # the folder works too
    assert proj.pu["cost"].tolist() == [1.0, 1.0] and proj.pu["status"].tolist() == [0, 0]
    assert proj.spec["spf"].tolist() == [0.0, 0.0]  # the manual: missing values are 0
    assert proj.spec["column"].tolist() == ["acacia_dealbata", "feature_2"]
    assert proj.spec["name"].tolist() == ["Acacia dealbata", "feature 2"]
    assert proj.blm == 2.0 and proj.scenario == "myrun" and proj.misslevel == 1.0
    assert len(proj.bound) == 0 and proj.files["bound"] is None
    pu = proj.planning_units()
    assert pu.units["acacia_dealbata"].tolist() == [0.0, 1.5]
    assert pu.features.loc["acacia_dealbata", "label"] == "Acacia dealbata"


def test_sporder_fallback_and_a_missing_sporder_file(tmp_path):
    pu = pd.DataFrame({"id": [1, 2], "cost": [1, 1], "status": [0, 0]})
    spec = pd.DataFrame({"id": [1], "target": [1], "spf": [1]})
    puvspr = pd.DataFrame({"species": [1, 1], "pu": [1, 2], "amount": [1.0, 2.0]})
    # No PUVSPRNAME: the sporder file is the data.
    proj = read_marxan(write_project(tmp_path / "a", pu=pu, spec=spec, puvspr=puvspr,
                                     puvspr_name=None, sporder_name="sporder.dat", sep="\t"))
    assert proj.files["puvspr"].name == "sporder.dat" and proj.puvspr["amount"].sum() == 3.0
    # Named but missing sporder: a note, not an error.
    proj = read_marxan(write_project(tmp_path / "b", pu=pu, spec=spec, puvspr=puvspr,
                                     sporder_name="missing.dat"))
    assert proj.files["sporder"] is None and "missing.dat" in proj.notes[0]
    # Duplicate pair definitions: Marxan keeps the first.
    bound = pd.DataFrame({"id1": [1, 2], "id2": [2, 1], "boundary": [3.0, 5.0]})
    proj = read_marxan(write_project(tmp_path / "c", pu=pu, spec=spec, puvspr=puvspr, bound=bound))
    assert proj.bound["boundary"].tolist() == [3.0] and "defined twice" in proj.notes[0]


def test_other_settings_are_kept_as_text(tmp_path):
    proj = read_marxan(grid_project(tmp_path))
    assert proj.settings["NUMREPS"] == "10" and proj.numreps == 10 and proj.prop == 0.5
    assert proj.output_dir == tmp_path / "output" and proj.input_dir == tmp_path / "input"
    assert proj.initial.sum() == 0


# ============================================================== errors

def _err_project(tmp_path: Path, **changes: str) -> Path:
    files = {"pu.dat": "id,cost,status\n1,1,0\n2,2,0\n",
             "spec.dat": "id,prop,spf\n1,0.5,1\n",
             "puvspr.dat": "species,pu,amount\n1,1,1\n1,2,2\n",
             "bound.dat": "id1\tid2\tboundary\n1\t2\t1\n"}
    files.update(changes)
    inp = tmp_path / "input"
    inp.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (inp / name).write_text(text)
    (tmp_path / "input.dat").write_text("INPUTDIR input\nPUNAME pu.dat\nSPECNAME spec.dat\n"
                                        "PUVSPRNAME puvspr.dat\nBOUNDNAME bound.dat\n")
    return tmp_path / "input.dat"


@pytest.mark.parametrize(("changes", "message"), [
    ({"pu.dat": "name,cost\n1,1\n"}, r"pu.dat: the planning unit file lacks column\(s\) \['id'\]"),
    ({"pu.dat": "id,cost\n1,abc\n2,1\n"}, r"pu.dat: column 'cost' has the non-numeric value 'abc' "
                                          r"on line 2; use plain numbers"),
    ({"pu.dat": "id,cost\n1,1\n1,2\n"}, r"pu.dat: id 1 appears more than once \(line 3\)"),
    ({"pu.dat": "id,cost\n1,-1\n2,1\n"}, r"pu.dat: column 'cost' has the negative value '-1' on "
                                         r"line 2; values must be >= 0"),
    ({"pu.dat": "id,status\n1,5\n2,0\n"}, r"pu.dat: status must be 0, 1, 2 or 3; got '5'"),
    ({"pu.dat": "id\n1.5\n"}, r"pu.dat: column 'id' must hold whole-number ids; got '1.5'"),
    ({"spec.dat": "id,spf\n1,1\n"}, r"spec.dat: needs a 'prop' or 'target' column"),
    ({"puvspr.dat": "species,pu,amount\n1,9,1\n"},
     r"puvspr.dat: column 'pu' names id\(s\) \[9\] \(first on line 2\) that are not in pu.dat"),
    ({"puvspr.dat": "species,pu,amount\n4,1,1\n"},
     r"puvspr.dat: column 'species' names id\(s\) \[4\] .* not in spec.dat"),
    ({"puvspr.dat": "species,pu,amount\n1,1,-2\n"}, r"puvspr.dat: column 'amount' has the "
                                                    r"negative value '-2'"),
    ({"puvspr.dat": "species,pu,amount\n1,1,1\n1,1,2\n"},
     r"puvspr.dat: feature 1 in unit 1 is listed twice \(line 3\)"),
    ({"puvspr.dat": "species,pu\n1,1\n"}, r"puvspr.dat: the planning unit vs feature file lacks "
                                          r"column\(s\) \['amount'\]"),
    ({"bound.dat": "id1,id2,boundary\n1,3,1\n"},
     r"bound.dat: column 'id2' names id\(s\) \[3\] .* not in pu.dat"),
])
def test_input_errors_name_the_file_the_problem_and_the_fix(tmp_path, changes, message):
    with pytest.raises(InputDataError, match=message):
        read_marxan(_err_project(tmp_path, **changes))


def test_missing_files_are_input_errors(tmp_path):
    with pytest.raises(InputDataError, match=r"input.dat not found; give the path"):
        read_marxan(tmp_path / "nowhere")
    path = _err_project(tmp_path)
    (tmp_path / "input" / "bound.dat").unlink()
    with pytest.raises(InputDataError, match=r"bound.dat: boundary length file not found \(named "
                                             r"by BOUNDNAME in input.dat\)"):
        read_marxan(path)


def test_unsupported_spec_columns_are_refused_by_to_problem(tmp_path):
    proj = read_marxan(_err_project(tmp_path, **{"spec.dat": "id,prop,targetocc\n1,0.5,2\n"}))
    with pytest.raises(InputDataError, match=r"occurrence targets \(targetocc\) for feature id\(s\) "
                                             r"\[1\]; carbonpark cannot express these"):
        proj.to_problem()
    # Marxan's score still counts occurrence targets (averaged with the amount target).
    s = marxan_score(proj, np.array([1.0, 0.0]))
    assert s["shortfall"] == pytest.approx(0.5 + 1)


def test_solution_reader_errors(tmp_path):
    with pytest.raises(InputDataError, match="solution file not found"):
        read_marxan_solution(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("PUID,SOLUTION\n1,x\n")
    with pytest.raises(InputDataError, match=r"bad.csv: line 2 is not 'id,solution'"):
        read_marxan_solution(bad)
    bad.write_text("PUID,SOLUTION\n1,3\n")
    with pytest.raises(InputDataError, match="solution values must be 0 or 1"):
        read_marxan_solution(bad)
    proj = read_marxan(grid_project(tmp_path / "p"))
    partial = pd.Series([1], index=[10])
    with pytest.raises(InputDataError, match=r"no value for planning unit id\(s\) \[20, 30"):
        marxan_score(proj, partial)


# ============================================================== Marxan's objective

def test_boundary_accounting_on_a_hand_computed_2x2_grid(tmp_path):
    #  1 | 2      shared edges: 1-2 (3), 1-3 (2), 2-4 (2), 3-4 (3);
    #  --+--      self (exposed) boundaries: 1: 5, 2: 5, 3: 5, 4: 5
    #  3 | 4
    pu = pd.DataFrame({"id": [1, 2, 3, 4], "cost": [1, 2, 3, 4], "status": [0, 0, 0, 0]})
    spec = pd.DataFrame({"id": [1], "target": [1], "spf": [1]})
    puvspr = pd.DataFrame({"species": [1, 1, 1, 1], "pu": [1, 2, 3, 4], "amount": [1, 1, 1, 1]})
    bound = pd.DataFrame({"id1": [1, 1, 2, 3, 1, 2, 3, 4], "id2": [2, 3, 4, 4, 1, 2, 3, 4],
                          "boundary": [3, 2, 2, 3, 5, 5, 5, 5]})
    proj = read_marxan(write_project(tmp_path, pu=pu, spec=spec, puvspr=puvspr, bound=bound,
                                     blm=0.5, sep="\t"))
    s = marxan_score(proj, np.array([1, 1, 0, 0]))
    # Selected {1, 2}: self 5 + 5, edges to unselected 1-3 (2) and 2-4 (2); 1-2 is inside.
    assert s["boundary"] == 14 and s["connectivity_edge"] == 14
    assert s["connectivity_in"] == 3 and s["connectivity_out"] == 5 + 5 + 3
    assert s["connectivity_total"] == 20 + 10
    assert s["connectivity_in_fraction"] == pytest.approx(3 / 30)
    assert s["cost"] == 3 and s["score"] == pytest.approx(3 + 0.5 * 14) and s["penalty"] == 0
    assert marxan_score(proj, np.array([1, 0, 0, 1]))["boundary"] == 5 + 5 + 3 + 2 + 2 + 3
    # The same plan as our problem: score = our min-set objective.
    p = proj.to_problem()
    assert objective_value(p, np.array([1.0, 1, 0, 0])) == pytest.approx(s["score"])


def _reference_penalties(proj, blm, sporder: pd.DataFrame | None = None):
    """Marxan's computePenalties (units in pu.dat order) or, given the sporder table,
    computePenaltiesOptimise (units in that file's order), translated line by line."""
    ids = proj.pu["id"].tolist()
    cost = proj.pu["cost"].tolist()
    status = proj.pu["status"].tolist()
    fixed, bi, bj, bl = proj.boundary_arrays()
    conn = [fixed[k] for k in range(len(ids))]
    for a, b, length in zip(bi, bj, bl, strict=True):
        conn[a] += length
        conn[b] += length
    amount = {(r.spec_index, r.pu_index): r.amount for r in proj.puvspr.to_pandas().itertuples()}
    out = []
    pos = {u: k for k, u in enumerate(ids)}
    for isp, target in enumerate(proj.targets()):
        scan = list(range(len(ids)))
        if sporder is not None:
            sid = proj.spec["id"][isp]
            scan = [pos[u] for u in sporder.loc[sporder["species"] == sid, "pu"]]
        pen, ftarget, occ = 0.0, 0.0, 0
        for j in scan if sporder is not None else range(len(ids)):
            if status[j] == 2:
                ftarget += amount.get((isp, j), 0.0)
                occ += 1
                pen += cost[j] + conn[j] * blm
        if ftarget >= target:
            out.append(pen)
            continue
        used = [s if s >= 2 else 0 for s in status]
        while True:
            fbest = 0.0
            imax = 0
            fbestrat = 0.0
            ibest = -1
            for j in scan:
                r = amount.get((isp, j), 0.0)
                if used[j] == 0 and r > 0:
                    fcost = cost[j] + conn[j] * blm
                    if fcost == 0:
                        fcost = 1e-14
                    if r >= target - ftarget and (imax == 0 or (imax == 1 and fcost < fbest)):
                        imax, ibest, fbest = 1, j, fcost
                    elif fbestrat < r / fcost:
                        fbest, fbestrat, ibest = fcost, r / fcost, j
            if fbest > 0:
                used[ibest] = 1
                ftarget += amount[(isp, ibest)]
                pen += fbest
            if not (ftarget < target and fbest > 0):
                break
        if fbest == 0:
            base = ftarget if ftarget else 1e-14
            pen *= target / base if base < target else 0.0
        out.append(pen)
    return np.array(out)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_penalty_matches_a_literal_translation_of_marxan(tmp_path, seed):
    path = grid_project(tmp_path, nrows=3, ncols=6, seed=seed, status={0: 2, 5: 3, 7: 1},
                        prop=0.3 + 0.1 * seed)
    if seed % 2:  # zero costs (Marxan's 1e-14) and an unreachable absolute target
        pu = pd.read_csv(tmp_path / "input" / "pu.dat")
        pu.loc[[1, 2], "cost"] = 0
        pu.to_csv(tmp_path / "input" / "pu.dat", index=False)
        (tmp_path / "input" / "spec.dat").write_text("id,prop,target,spf\n1,0.5,0,5\n2,0,1000,5\n"
                                                     "3,0,3,5\n")
    proj = read_marxan(path)
    for blm in (0.0, 0.7):
        np.testing.assert_allclose(feature_penalties(proj, blm), _reference_penalties(proj, blm),
                                   rtol=1e-12)
    # With a sporder file (here: units in reverse order) Marxan scans that file's order.
    pv = pd.read_csv(tmp_path / "input" / "puvspr.dat")
    sporder = pv.sort_values(["species", "pu"], ascending=[True, False])
    sporder.to_csv(tmp_path / "input" / "sporder.dat", sep="\t", index=False)
    text = (tmp_path / "input.dat").read_text() + "MATRIXSPORDERNAME sporder.dat\n"
    (tmp_path / "input.dat").write_text(text)
    proj = read_marxan(path)
    assert proj.greedy_order is not None
    for blm in (0.0, 0.7):
        np.testing.assert_allclose(feature_penalties(proj, blm),
                                   _reference_penalties(proj, blm, sporder), rtol=1e-12)


def test_score_brute_force_min_set_optimum_equals_min_score_over_feasible_plans(tmp_path):
    proj = read_marxan(grid_project(tmp_path, nrows=2, ncols=5, seed=3, blm=0.8,
                                    status={0: 2, 9: 3}))
    p = proj.to_problem()
    sol = solve(p, gap=0.0)
    best_score, best_obj = np.inf, np.inf
    for bits in itertools.product((0.0, 1.0), repeat=proj.n_units):
        x = np.array(bits)
        s = marxan_score(proj, x)
        feasible = (s["targets_met"] == s["features"]) and s["locks_violated"] == 0
        if not feasible:
            assert s["penalty"] > 0 or s["locks_violated"] > 0
            continue
        assert s["penalty"] == 0 and s["shortfall"] == 0 and s["mpm"] == 1
        obj = objective_value(p, x)
        assert s["score"] == pytest.approx(obj)
        best_score, best_obj = min(best_score, s["score"]), min(best_obj, obj)
    assert sol.objective == pytest.approx(best_obj)
    assert best_score == pytest.approx(best_obj)
    assert marxan_score(proj, sol)["score"] == pytest.approx(sol.objective)


# ============================================================== output files

def test_outputs_have_marxan_headers_round_trip_and_leave_no_temp_files(tmp_path):
    proj = read_marxan(grid_project(tmp_path / "p", seed=1, blm=0.5))
    sol = solve(proj.to_problem(), gap=0.0)
    worse = np.ones(proj.n_units)
    files = write_marxan_outputs(proj, [worse, sol], tmp_path / "out", scenario="scen")
    assert sorted(files) == ["best", "mv00001", "mv00002", "mvbest", "r00001", "r00002", "ssoln",
                             "sum"]
    assert not [f for f in os.listdir(tmp_path / "out") if f.endswith(".tmp")]
    best = read_marxan_solution(files["best"])
    assert (best.to_numpy() == sol.x).all() and best.index.tolist() == proj.pu["id"].tolist()
    assert (tmp_path / "out" / "scen_best.csv").read_text().startswith("PUID,SOLUTION\n")
    summary = read_marxan_summary(files["sum"])
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary["Run_Number"].tolist() == [1, 2]
    ours = marxan_score(proj, sol)
    row = summary.iloc[1]
    assert row["Score"] == ours["score"] and row["Cost"] == ours["cost"]
    assert row["Connectivity"] == ours["boundary"] and row["Planning_Units"] == ours["units"]
    assert summary.loc[0, "Planning_Units"] == proj.n_units
    mv = pd.read_csv(files["mvbest"])
    assert tuple(mv.columns) == MVBEST_COLUMNS
    assert (mv["Target Met"] == "yes").all() and (mv["MPM"] == 1).all()
    ssoln = pd.read_csv(files["ssoln"]).set_index("planning_unit")["number"]
    assert (ssoln.loc[proj.pu["id"]].to_numpy() == 1 + sol.x).all()
    # The comma .txt flavour (SAVE* = 2) and the plain .dat flavour (SAVE* = 1).
    txt = write_marxan_outputs(proj, sol, tmp_path / "txt", save_format=2)
    assert txt["best"].name == "output_best.txt"
    assert txt["best"].read_text().startswith('"planning_unit","solution"\n')
    assert (read_marxan_solution(txt["best"]).to_numpy() == sol.x).all()
    dat = write_marxan_outputs(proj, sol, tmp_path / "dat", save_format=1)
    assert "\t" in dat["sum"].read_text().splitlines()[0]
    assert (read_marxan_solution(dat["best"]).to_numpy() == sol.x).all()
    assert read_marxan_summary(dat["sum"])["Score"].iloc[0] == ours["score"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    proj = read_marxan(grid_project(tmp_path / "p"))
    x = np.ones(proj.n_units)
    files = write_marxan_outputs(proj, x, tmp_path / "out")
    before = files["best"].read_text()

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_marxan_outputs(proj, np.zeros(proj.n_units), tmp_path / "out")
    assert files["best"].read_text() == before
    assert not [f for f in os.listdir(tmp_path / "out") if f.endswith(".tmp")]


def test_compare_with_marxan_scores_both_plans(tmp_path):
    proj = read_marxan(grid_project(tmp_path / "p", seed=2, blm=0.3))
    sol = solve(proj.to_problem(), gap=0.0)
    theirs = tmp_path / "output_best.csv"
    theirs.write_text("PUID,SOLUTION\n" + "".join(f"{i},1\n" for i in proj.pu["id"]))
    table = compare_with_marxan(proj, theirs, sol)
    assert list(table.columns) == ["marxan", "carbonpark", "difference"]
    assert table.loc["units", "marxan"] == proj.n_units
    assert table.loc["score", "carbonpark"] == pytest.approx(sol.objective)
    assert table.loc["score", "difference"] < 0  # all units cost more than the optimum


# ============================================================== problem -> Marxan

def test_write_marxan_project_round_trip_keeps_the_optimum(tmp_path):
    pa = np.array([0.0, 0.6, 0.3, 0.0, 0.0, 0.1, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0])
    pu = box_grid(3, 4, seed=5, pa=pa, n_species=3)
    p = (problem(pu).add_relative_targets({"sp_1": 0.5, "sp_2": 0.4, "biomass": 0.3})
         .add_min_set_objective().add_boundary_penalty(0.2, edge_factor=0.5)
         .add_locked_out(ids=[103]).add_linear_penalty("biomass", 0.01))
    ours = solve(p, gap=0.0)
    path = write_marxan_project(p, tmp_path / "mx")
    assert path == tmp_path / "mx" / "input.dat" and (tmp_path / "mx" / "output").is_dir()
    proj = read_marxan(path)
    assert proj.blm == pytest.approx(0.2)
    assert proj.pu["status"].tolist().count(2) == 1 and proj.pu["status"].tolist().count(3) == 1
    theirs = solve(proj.to_problem(), gap=0.0)
    assert theirs.objective == pytest.approx(ours.objective, rel=1e-9)
    assert marxan_score(proj, ours.x)["score"] == pytest.approx(objective_value(p, ours))
    rep = feature_representation(p, theirs.x, ["sp_1", "sp_2", "biomass"])
    assert rep["met"].all()  # Marxan's reduced targets are our targets


def test_write_marxan_project_refuses_what_marxan_cannot_express(tmp_path):
    pu = box_grid(2, 3, seed=1)
    with pytest.raises(InputDataError, match="Marxan solves min-set problems only; this problem's "
                                             "objective is max_utility"):
        write_marxan_project(problem(pu).add_max_utility_objective(2.0), tmp_path)
    with pytest.raises(InputDataError, match=r"Marxan cannot express area budgets \(\['total'\]\)"):
        write_marxan_project(problem(pu).add_relative_targets(0.3).add_min_set_objective()
                             .add_area_budget(max_km2=3), tmp_path)
    with pytest.raises(InputDataError, match="objective is min_shortfall"):
        write_marxan_project(problem(pu).add_relative_targets(0.3)
                             .add_min_shortfall_objective(2.0), tmp_path)


# ============================================================== the BLM a plan was solved with

def _raw_grid_score(folder: Path, x: np.ndarray, blm: float) -> float:
    """cost + blm * Marxan's connectivity from the raw pu.dat and bound.dat (no carbonpark code)."""
    pu = pd.read_csv(folder / "input" / "pu.dat")
    bound = pd.read_csv(folder / "input" / "bound.dat")
    sel = dict(zip(pu["id"], x, strict=True))
    xi, xj = bound["id1"].map(sel).to_numpy(), bound["id2"].map(sel).to_numpy()
    same = (bound["id1"] == bound["id2"]).to_numpy()
    length = bound["boundary"].to_numpy(np.float64)
    connectivity = (length[same] * xi[same]).sum() + (length[~same] * np.abs(xi - xj)[~same]).sum()
    return float(pu["cost"].to_numpy(np.float64) @ x + blm * connectivity)


def test_scores_use_the_blm_the_plan_was_solved_with(tmp_path):
    path = grid_project(tmp_path / "p", nrows=3, ncols=4, seed=6, blm=1.0)
    proj = read_marxan(path)
    assert proj.blm == 1.0
    p = proj.to_problem(0.3)
    sol = solve(p, gap=0.0)
    assert sol.info["boundary_penalty"] == 0.3
    expected = _raw_grid_score(tmp_path / "p", sol.x, 0.3)
    assert expected != pytest.approx(_raw_grid_score(tmp_path / "p", sol.x, 1.0))
    score = marxan_score(proj, sol)
    assert score["blm"] == 0.3 and score["penalty"] == 0
    assert score["score"] == pytest.approx(expected, rel=1e-12)
    assert score["score"] == pytest.approx(sol.objective, rel=1e-9)
    # a bare array carries nothing: input.dat's BLM, unless the problem is given
    assert marxan_score(proj, sol.x)["score"] == pytest.approx(_raw_grid_score(tmp_path / "p",
                                                                               sol.x, 1.0))
    assert marxan_score(proj, sol.x, problem=p)["score"] == pytest.approx(expected, rel=1e-12)
    assert marxan_score(proj, sol, blm=0.3)["score"] == pytest.approx(expected, rel=1e-12)
    files = write_marxan_outputs(proj, sol, tmp_path / "out")
    assert read_marxan_summary(files["sum"]).loc[0, "Score"] == pytest.approx(expected, rel=1e-12)
    theirs = pd.Series(1, index=proj.pu["id"])
    table = compare_with_marxan(proj, theirs, sol)
    assert table.loc["score", "carbonpark"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["score", "marxan"] == pytest.approx(
        _raw_grid_score(tmp_path / "p", np.ones(proj.n_units), 0.3), rel=1e-12)


def test_an_explicit_blm_that_disagrees_with_the_plan_is_refused(tmp_path):
    proj = read_marxan(grid_project(tmp_path / "p", seed=6, blm=1.0))
    p = proj.to_problem(0.3)
    sol = solve(p, gap=0.0)
    message = r"^blm=1 disagrees with the BLM 0.3 the plan was solved with; .*drop blm="
    with pytest.raises(InputDataError, match=message):
        marxan_score(proj, sol, blm=1)
    with pytest.raises(InputDataError, match=message):
        write_marxan_outputs(proj, sol, tmp_path / "out", blm=1)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputDataError, match=message):
        compare_with_marxan(proj, sol.x, sol, blm=1)
    with pytest.raises(InputDataError, match=r"the problem's boundary penalty 0.5 disagrees with "
                                             r"the BLM 0.3 the plan was solved with"):
        marxan_score(proj, sol, problem=proj.to_problem(0.5))
    other = solve(proj.to_problem(0.5), gap=0.0)
    with pytest.raises(InputDataError, match=r"the BLM 0.3 plan 1 was solved with disagrees with "
                                             r"the BLM 0.5 plan 2 was solved with"):
        write_marxan_outputs(proj, [sol, other], tmp_path / "out")


def test_a_negative_blm_is_an_input_error(tmp_path):
    proj = read_marxan(grid_project(tmp_path / "p", seed=1, blm=1.0))
    with pytest.raises(InputDataError, match=r"^blm must be a number >= 0 \(the boundary length "
                                             r"modifier; 0 turns the boundary penalty off\); got -1"):
        proj.to_problem(-1)
    with pytest.raises(InputDataError, match=r"^blm must be a number >= 0 .*got nan"):
        proj.to_problem(float("nan"))
    with pytest.raises(InputDataError, match=r"^blm must be a number >= 0"):
        marxan_score(proj, np.ones(proj.n_units), blm=-0.5)
    path = grid_project(tmp_path / "q", seed=1, blm=-1.0)
    with pytest.raises(InputDataError, match=r"input.dat: BLM must be a number >= 0 .*got -1.0"):
        read_marxan(path)


def test_no_blm_in_input_dat_is_marxans_default_0_with_a_note(tmp_path):
    path = grid_project(tmp_path / "p", seed=1, blm=2.0)
    text = path.read_text()
    path.write_text(text.replace("BLM 2.0\n", ""))
    proj = read_marxan(path)
    assert proj.blm == 0.0 and "input.dat has no BLM; using Marxan's default 0" in proj.notes
    path.write_text(text.replace("BLM 2.0\n", "CM 0.25\n"))  # Marxan's old name for BLM
    proj = read_marxan(path)
    assert proj.blm == 0.25 and not any("no BLM" in n for n in proj.notes)


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"input.dat: the file is empty, not a Marxan input.dat; give the project's input.dat"),
    (b"\n  \n", r"input.dat: the file is empty"),
    (b"II*\x00\x08\x00\x00\x00" + bytes(64), r"input.dat: is a TIFF/GeoTIFF image, not a Marxan "
                                             r"input.dat"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", r"input.dat: is a binary file, not a Marxan input.dat"),
    (b"id,cost,status\n1,1,0\n2,3,0\n", r"input.dat: not a Marxan input.dat \(none of Marxan's "
                                        r"keys such as PUNAME, SPECNAME, BLM or INPUTDIR is set\)"),
])
def test_an_input_dat_that_is_not_one_is_refused(tmp_path, content, message):
    path = _err_project(tmp_path)
    path.write_bytes(content)
    with pytest.raises(InputDataError, match=message):
        read_marxan(path)


def test_a_table_neither_named_nor_at_its_default_name_is_refused(tmp_path):
    path = _err_project(tmp_path)
    path.write_text("INPUTDIR input\nSPECNAME spec.dat\nPUVSPRNAME puvspr.dat\nBLM 1\n")
    assert read_marxan(path).n_units == 2  # pu.dat is Marxan's default name
    (tmp_path / "input" / "pu.dat").rename(tmp_path / "input" / "units.dat")
    with pytest.raises(InputDataError, match=r"input.dat: sets no PUNAME and there is no pu.dat "
                                             r"in .*input; add a line 'PUNAME <planning unit "
                                             r"file>' to input.dat"):
        read_marxan(path)
    path.write_text("INPUTDIR input\nPUNAME units.dat\nSPECNAME spec.dat\nBLM 1\n")
    (tmp_path / "input" / "puvspr.dat").rename(tmp_path / "input" / "amounts.dat")
    with pytest.raises(InputDataError, match=r"sets no PUVSPRNAME and there is no puvspr.dat or "
                                             r"puvspr2.dat in"):
        read_marxan(path)


# ============================================================== CLI

def test_cli_marxan_solves_writes_and_compares(tmp_path, capsys):
    path = grid_project(tmp_path / "p", seed=4, blm=0.5)
    proj = read_marxan(path)
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("PUID,SOLUTION\n" + "".join(f"{i},1\n" for i in proj.pu["id"]))
    code = main(["marxan", str(path), "--out", str(tmp_path / "out"), "--gap", "0",
                 "--time-limit", "30", "--compare", str(theirs)])
    out = capsys.readouterr().out
    assert code == 0
    assert "targets met: 3/3; status optimal (proven gap 0)" in out
    assert "carbonpark" in out and "marxan" in out
    assert (tmp_path / "out" / "output_best.csv").exists()
    score = marxan_score(proj, read_marxan_solution(tmp_path / "out" / "output_best.csv"))
    assert f"score {score['score']:,.2f} = cost {score['cost']:,.2f} + BLM 0.5 x boundary " in out
    row = next(ln for ln in out.splitlines() if ln.startswith("score "))
    assert re.fullmatch(r"[\d,]+\.\d\d", row.split()[1]) and "e+" not in out
    assert re.search(r"^start-up \d+\.\d s, read \d+\.\d s, solve \d+\.\d s, score and write "
                     r"\d+\.\d s; total \d+\.\d s of the 30 s limit$", out, re.M), out
    table = out[out.index("compared with"):]
    assert re.search(r"^score +143\.00 +\d+\.\d\d +-\d+\.\d\d$", table, re.M), table
    assert re.search(r"^units +10 +3 +-7$", table, re.M), table


def test_cli_marxan_score_only_scores_marxans_plan_without_solving(tmp_path, capsys, monkeypatch):
    import optimizer.plan.solving

    path = grid_project(tmp_path / "p", nrows=40, ncols=30, seed=4, blm=10000.5)
    proj = read_marxan(path)
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("PUID,SOLUTION\n" + "".join(f"{i},1\n" for i in proj.pu["id"]))

    def no_solve(*args, **kwargs):
        raise AssertionError("--score-only must not solve")

    monkeypatch.setattr(optimizer.plan.solving, "solve_model", no_solve)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["marxan", str(path), "--compare", str(theirs), "--score-only"])
    out = capsys.readouterr().out
    assert code == 0, out
    score = marxan_score(proj, theirs)
    assert score["score"] > 1e6
    assert (f"score {score['score']:,.2f} = cost {score['cost']:,.2f} + BLM 10000.5 x boundary "
            f"{score['boundary']:,.2f} + penalty 0.00; 1,200 units selected") in out
    assert "no solve, no files written" in out
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    code = main(["marxan", str(path), "--compare", str(theirs), "--score-only", "--blm", "0"])
    assert f"cost {score['cost']:,.2f} + BLM 0 x" in capsys.readouterr().out


def test_cli_marxan_gives_the_solver_what_reading_leaves(tmp_path, capsys, monkeypatch):
    import optimizer.plan.solving

    path = grid_project(tmp_path / "p", seed=4, blm=0.5)
    proj = read_marxan(path)
    given = {}
    real = optimizer.plan.solving.solve_model

    def spy(model, solver, **options):
        given.update(options)
        return real(model, solver, **options)

    monkeypatch.setattr(optimizer.plan.solving, "solve_model", spy)
    assert main(["marxan", str(path), "--out", str(tmp_path / "out"), "--time-limit", "20"]) == 0
    out = capsys.readouterr().out
    # What start-up and reading left, less the reserve for writing (`write_reserve`).
    assert 15 < given["time_limit"] <= 20 - write_reserve(proj.n_units)
    assert given["gap"] == cli.MARXAN_GAP
    assert "of the 20 s limit" in out
    assert main(["marxan", str(path), "--out", str(tmp_path / "out2")]) == 0
    assert given["time_limit"] < cli.MARXAN_TIME_LIMIT and given["gap"] == cli.MARXAN_GAP
    assert f"of the {cli.MARXAN_TIME_LIMIT:g} s limit" in capsys.readouterr().out


def test_cli_marxan_help_states_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["marxan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {cli.MARXAN_TIME_LIMIT:g} s)" in text
    assert f"(default {cli.MARXAN_GAP:g}" in text
    assert "--score-only" in text


@pytest.mark.parametrize("solver", ["cut", "auto"])
def test_cli_marxan_other_solvers_reach_the_same_optimum(tmp_path, capsys, solver):
    path = grid_project(tmp_path / "p", seed=4, blm=0.5)
    scores = []
    for name in ("highs", solver):
        assert main(["marxan", str(path), "--out", str(tmp_path / name), "--gap", "0",
                     "--time-limit", "30", "--solver", name]) == 0
        line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("score"))
        scores.append(float(line.split()[1].replace(",", "")))
    assert scores[1] == pytest.approx(scores[0], rel=1e-9)


def test_cli_marxan_errors_are_one_line(tmp_path, capsys):
    assert main(["marxan", str(tmp_path / "missing" / "input.dat")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("carbonpark: error: ") and "input.dat not found" in err
    assert len(err.splitlines()) == 1


# ============================================================== real data


