"""Tests of the pandas-free Marxan path: `marxan_model` is ``compile(project.to_problem(blm))``
array for array, the `Table` reader's edge cases, and the command's messages where the
`Problem` path still words them (issue 23 item 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizer.cli import main
from optimizer.errors import InputDataError
from optimizer.io.marxan import Table, marxan_model, read_marxan
from optimizer.io.marxan.model import marxan_penalty, unreachable_targets
from optimizer.io.marxan.tables import read_table, table_text, text_column
from optimizer.model.compile import CompiledModel, compile
from optimizer.plan.solving import diagnose, solve, solve_model


def _project(folder: Path, *, sep: str = ",", ids: list[int] | None = None,
             status: list[int] | None = None, prop: tuple[float, ...] = (0.3, 0.0, 0.5),
             target: tuple[float, ...] = (0.0, 4.0, 0.0), blm: str = "BLM 0.5",
             bound_extra: str = "") -> Path:
    """A 3 x 4 grid project: features 1-3, shared edges 1, outer edges as self-boundaries."""
    ids = ids or list(range(1, 13))
    status = status or [0] * 12
    rng = np.random.default_rng(len(folder.name))
    inp = folder / "input"
    inp.mkdir(parents=True)

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        lines = [sep.join(header)] + [sep.join(str(v) for v in r) for r in rows]
        (inp / name).write_text("\n".join(lines) + "\n")

    write("pu.dat", ["id", "cost", "status"],
          [[u, round(float(rng.uniform(1, 9)), 3), s] for u, s in zip(ids, status, strict=True)])
    write("spec.dat", ["id", "prop", "target", "spf", "name"],
          [[k + 1, p, t, 10, f'"sp {k + 1}"'] for k, (p, t) in enumerate(zip(prop, target,
                                                                             strict=True))])
    write("puvspr.dat", ["species", "pu", "amount"],
          [[k, u, int(rng.integers(1, 5))] for u in ids for k in (1, 2, 3) if rng.random() < 0.7])
    rows: list[list[object]] = []
    for p in range(12):
        r, c = divmod(p, 4)
        outer = (r == 0) + (r == 2) + (c == 0) + (c == 3)
        if outer:
            rows.append([ids[p], ids[p], float(outer)])
        if c < 3:
            rows.append([ids[p + 1], ids[p], 1.0])  # either order: kept as the lower id first
        if r < 2:
            rows.append([ids[p], ids[p + 4], 1.5])
    write("bound.dat", ["id1", "id2", "boundary"], rows)
    if bound_extra:
        with open(inp / "bound.dat", "a") as fh:
            fh.write(bound_extra)
    (folder / "input.dat").write_text(f"{blm}\nINPUTDIR input\nPUNAME pu.dat\nSPECNAME spec.dat\n"
                                      "PUVSPRNAME puvspr.dat\nBOUNDNAME bound.dat\n")
    return folder / "input.dat"


def assert_same_model(a: CompiledModel, b: CompiledModel) -> None:
    """Every array and block equal, dtypes included."""
    for name in ("sense", "offset", "n_units", "row_blocks", "col_blocks"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("c", "row_lower", "row_upper", "col_lower", "col_upper", "integrality",
                 "unit_of_col", "x_fixed", "unit_ids", "edge_x_cols", "shortfall_rows"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a.A, name), getattr(b.A, name)), name
    assert a.A.shape == b.A.shape


@pytest.mark.parametrize("sep", [",", "\t", " "])
@pytest.mark.parametrize("blm", [0.0, 0.5, None])
def test_marxan_model_is_compile_of_to_problem(tmp_path, sep, blm):
    # Ids out of order (pairs re-oriented), locks of both kinds, relative and absolute
    # targets, a pair defined twice: the arrays match the Problem path's exactly.
    path = _project(tmp_path / "p", sep=sep, ids=[50, 7, 31, 12, 90, 3, 44, 18, 61, 25, 70, 9],
                    status=[0, 2, 0, 3, 0, 0, 1, 0, 2, 0, 0, 3],
                    bound_extra=f"7{sep}50{sep}9.0\n")
    project = read_marxan(path)
    assert "defined twice" in project.notes[0]
    assert_same_model(marxan_model(project, blm), compile(project.to_problem(blm)))
    expected = project.blm if blm is None else blm
    assert marxan_penalty(project, blm) == expected


def test_marxan_model_solves_to_the_problem_paths_plan(tmp_path):
    project = read_marxan(_project(tmp_path / "p"))
    p = project.to_problem()
    fast = solve_model(marxan_model(project), "highs", gap=0.0,
                       boundary_penalty=marxan_penalty(project))
    slow = solve(p, "highs", gap=0.0)
    assert fast.objective == slow.objective and np.array_equal(fast.x, slow.x)
    assert fast.info["boundary_penalty"] == slow.info["boundary_penalty"] == 0.5


def test_marxan_model_refuses_what_to_problem_refuses(tmp_path):
    project = read_marxan(_project(tmp_path / "a", prop=(1.5, 0.0, 0.5)))
    with pytest.raises(InputDataError) as slow:
        project.to_problem()
    with pytest.raises(InputDataError) as fast:
        marxan_model(project)
    assert str(fast.value) == str(slow.value) and "write 30% as 0.3" in str(fast.value)
    with pytest.raises(InputDataError, match="blm must be a number >= 0"):
        marxan_model(project, -1.0)


def test_unreachable_targets_flag_what_diagnose_refuses(tmp_path, capsys):
    project = read_marxan(_project(tmp_path / "a", target=(0.0, 1e6, 0.0)))
    assert unreachable_targets(project).tolist() == [False, True, False]
    assert diagnose(project.to_problem())
    assert not unreachable_targets(read_marxan(_project(tmp_path / "b"))).any()
    # A target of the whole of a feature is in reach: not flagged.
    assert not unreachable_targets(read_marxan(_project(tmp_path / "c", prop=(1.0, 1.0, 1.0)))).any()
    # The command words it as the Problem's diagnosis does.
    code = main(["marxan", str(project.path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "feature 'sp_2' (sp 2) can reach at most" in err
    assert "its target is 1e+06" in err and not (tmp_path / "out").exists()


def test_table_reader_edge_cases(tmp_path):
    f = tmp_path / "t.dat"
    f.write_text("id,cost,\n1,2,\n\n2\n")  # a trailing delimiter, a blank line, a short row
    t = read_table(f, "planning unit", "PUNAME", ["id"])
    assert t.columns == ["id", "cost"] and t["cost"].tolist() == ["2", ""]
    f.write_text("id,cost\n1,2,3\n")
    with pytest.raises(InputDataError, match=r"line 2 has 3 fields, the header 2"):
        read_table(f, "planning unit", "PUNAME", ["id"])
    f.write_text("\n\n")
    with pytest.raises(InputDataError, match=r"No columns to parse from file"):
        read_table(f, "planning unit", "PUNAME", ["id"])
    f.write_text('  "ID"   "Cost"\n  1   "2.5"\n')  # spaces, quotes, any case
    t = read_table(f, "planning unit", "PUNAME", ["id"])  # numbers only: parsed as numbers
    assert t.columns == ["id", "cost"] and t["cost"].tolist() == [2.5]
    assert text_column(t, "cost").tolist() == ["2.5"]  # as written, for messages
    f.write_text("id,,cost\n1,5,-2\n")  # an unnamed column of numbers is kept; messages quote
    t = read_table(f, "planning unit", "PUNAME", ["id"])
    assert t.columns == ["id", "unnamed: 1", "cost"] and text_column(t, "cost").tolist() == ["-2"]
    f.write_text("id,ID\n1,2\n")
    with pytest.raises(InputDataError, match=r"column\(s\) \['id'\] appear twice"):
        read_table(f, "planning unit", "PUNAME", ["id"])


def test_table_text_writes_as_pandas_to_csv():
    pd = pytest.importorskip("pandas")
    t = Table({"id": np.array([3, 1]), "x": np.array([0.1, np.nan]),
               "name": np.array(["a,b", 'q"r'], dtype=object)})
    t["spf"] = 10.0  # one value for every row
    expected = pd.DataFrame(t.to_pandas()).to_csv(sep=",", header=False, index=False,
                                                  lineterminator="\n")
    assert table_text(t, ",", quote_header=True) == '"id","x","name","spf"\n' + expected
    assert len(t.take(np.array([True, False]))) == 1 and "Table(2 rows" in repr(t)
