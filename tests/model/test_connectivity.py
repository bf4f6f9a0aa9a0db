"""Connectivity penalties (issue 24 item 5): ``Problem.add_connectivity_penalty``, symmetric
and asymmetric as prioritizr defines them, every backend against brute force over all 0/1
plans on tiny grids (the penalty restated here as a double loop over the matrix, not through
`ConnectivityPenalty.terms`), the merge with the boundary pairs, the ``z`` block for pair terms
the objective pushes down, and the user's mistakes as one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import all_selections, box_grid, reference_feasible, reference_objective

from optimizer.errors import InputDataError, SolverError
from optimizer.model.compile import compile
from optimizer.model.problem import problem
from optimizer.plan.results import objective_value, solve
from optimizer.solvers.cut import CutSolver
from optimizer.solvers.cut.form import has_cut_form

PA = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def grid(seed: int = 0):
    rng = np.random.default_rng(seed)
    feats = {"biomass": ("carbon_stock", rng.uniform(0, 10, 9).round(2)),
             "sp_1": ("biodiversity", rng.uniform(0, 1, 9).round(2)),
             "sp_2": ("biodiversity", np.where(rng.random(9) < 0.6, 1.0, 0.0))}
    feats["sp_2"][1][0] = 1.0
    return box_grid(3, 3, features=feats, pa=PA)


def matrix(seed: int, *, symmetric: bool, negative: bool = False, diagonal: bool = False):
    rng = np.random.default_rng(100 + seed)
    d = np.where(rng.random((9, 9)) < 0.35, rng.uniform(0.1, 1.0, (9, 9)).round(2), 0.0)
    if negative:
        d[rng.random((9, 9)) < 0.3] *= -1
    if symmetric:
        d = np.triu(d, 1) + np.triu(d, 1).T
    if diagonal:
        np.fill_diagonal(d, rng.uniform(-0.2, 0.3, 9).round(2))
    else:
        np.fill_diagonal(d, 0.0)
    return d


def penalised(d: np.ndarray, x: np.ndarray, symmetric: bool) -> float:
    """E(x) by hand: symmetric, minus each kept pair once (i < j) and the kept diagonal;
    asymmetric, the connectivity lost from each selected unit to each unselected one, minus
    the kept diagonal (prioritizr's code)."""
    n = len(x)
    e = -sum(d[i, i] for i in range(n) if x[i])
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if symmetric and i < j and x[i] and x[j]:
                e -= d[i, j]
            if not symmetric and x[i] and not x[j]:
                e += d[i, j]
    return e


def reference(p, d, symmetric, penalty, x) -> float:
    sign = -1.0 if p.objective.kind == "max_utility" else 1.0
    return reference_objective(p, x) + sign * penalty * penalised(d, x, symmetric)


def brute(p, d, symmetric, penalty) -> float:
    sense = 1.0 if p.objective.kind == "max_utility" else -1.0
    best = -np.inf
    for x in all_selections(p.n_units):
        if reference_feasible(p, x):
            best = max(best, sense * reference(p, d, symmetric, penalty, x))
    return sense * best


def build(kind: str, d, symmetric: bool, penalty: float, *, lock: bool = False,
          boundary: float = 0.0):
    p = problem(grid())
    if lock:
        p = p.add_locked_in(ids=[101]).add_locked_out(ids=[107])
    if kind == "max_utility":
        p = p.add_max_utility_objective(3.0, weights={"biomass": 1, "sp_1": 1})
    else:
        p = p.add_min_set_objective().add_relative_targets({"sp_1": 0.4, "sp_2": 0.5})
    if boundary:
        p = p.add_boundary_penalty(boundary)
    return p.add_connectivity_penalty(penalty, sp.csr_matrix(d), symmetric=symmetric)


CASES = [  # kind, symmetric, penalty, lock, boundary, negative values, diagonal
    ("max_utility", True, 0.3, False, 0.0, False, False),
    ("max_utility", True, 0.5, True, 0.02, False, True),
    ("max_utility", False, 0.3, False, 0.0, False, False),
    ("max_utility", False, 0.4, True, 0.01, False, True),
    ("min_set", True, 1.5, False, 0.0, False, False),
    ("min_set", True, 2.0, True, 0.5, False, True),
    ("min_set", False, 1.0, False, 0.0, False, False),
    ("min_set", False, 1.5, True, 0.3, False, True),
]


@pytest.mark.parametrize("backend", ["highs", "cut", "auto"])
@pytest.mark.parametrize(("kind", "symmetric", "penalty", "lock", "boundary", "neg", "diag"),
                         CASES)
def test_every_backend_matches_brute_force(backend, kind, symmetric, penalty, lock, boundary,
                                           neg, diag):
    d = matrix(len(kind) + int(symmetric), symmetric=symmetric, negative=neg, diagonal=diag)
    p = build(kind, d, symmetric, penalty, lock=lock, boundary=boundary)
    best = brute(p, d, symmetric, penalty)
    m = compile(p)
    assert has_cut_form(m)[0]  # non-negative data, positive penalty: a cut function
    options = {"concurrent": False} if backend == "auto" else {}
    sol = solve(p, backend, gap=0.0, **options)
    x = (sol.x > 0.5).astype(float)
    assert reference_feasible(p, x)
    assert sol.objective == pytest.approx(reference(p, d, symmetric, penalty, x), abs=1e-9)
    assert objective_value(p, x) == pytest.approx(sol.objective, abs=1e-9)
    assert sol.objective == pytest.approx(best, abs=1e-7)


@pytest.mark.parametrize(("kind", "symmetric", "penalty"), [
    ("max_utility", True, 0.4), ("max_utility", False, 0.3), ("min_set", True, 1.0),
    ("min_set", False, -1.0), ("max_utility", True, -0.3), ("max_utility", False, -0.5)])
def test_negative_values_or_penalty_need_highs_and_match_brute_force(kind, symmetric, penalty):
    """Pair terms the objective pushes down get a ``z`` column and ``z >= x_i + x_j - 1``;
    auto names why it takes HiGHS, the cut solver refuses in one line."""
    d = matrix(3, symmetric=symmetric, negative=penalty > 0, diagonal=True)
    p = build(kind, d, symmetric, penalty, lock=True, boundary=0.05)
    m = compile(p)
    zb = m.block("z", rows=False)
    assert zb.stop > zb.start and m.block("product").stop - m.block("product").start == \
        zb.stop - zb.start
    ok, why = has_cut_form(m)
    assert not ok and "reward keeping units apart" in why
    with pytest.raises(SolverError, match="no cut form; use solver='highs'"):
        CutSolver().solve(m)
    best = brute(p, d, symmetric, penalty)
    for backend in ("highs", "auto"):
        sol = solve(p, backend, gap=0.0)
        x = (sol.x > 0.5).astype(float)
        assert sol.objective == pytest.approx(reference(p, d, symmetric, penalty, x), abs=1e-9)
        assert sol.objective == pytest.approx(best, abs=1e-7)
    assert len(m.col_names()) == m.n_cols and len(m.row_names()) == m.n_rows


def test_pairs_merge_with_the_boundary_pairs():
    """One ``y`` column per pair of free units: a connectivity pair on a boundary edge adds
    to that edge's cost (boundary ``-2 lambda L``, connectivity ``-p D``)."""
    d = np.zeros((9, 9))
    d[0, 1] = d[1, 0] = 0.7  # units 100, 101 share an edge
    d[0, 8] = d[8, 0] = 0.2  # 100 and 108: no edge
    p = build("min_set", d, True, 2.0, boundary=0.5)
    m = compile(p)
    base = compile(problem(grid()).add_min_set_objective()
                   .add_relative_targets({"sp_1": 0.4, "sp_2": 0.5}).add_boundary_penalty(0.5))
    yb = m.block("y", rows=False)
    assert yb.stop - yb.start == base.block("y", rows=False).stop - \
        base.block("y", rows=False).start + 1  # the edge 100-108 is new, 100-101 merged
    cols = {tuple(sorted(m.unit_of_col[e])): c for e, c in
            zip(m.edge_x_cols, m.c[yb.start:yb.stop], strict=True)}
    assert cols[(0, 1)] == pytest.approx(-2 * 0.5 * 1.0 - 2.0 * 0.7)
    assert cols[(0, 8)] == pytest.approx(-2.0 * 0.2)


def test_a_table_keyed_by_pu_id_equals_the_matrix():
    d = matrix(1, symmetric=True)
    i, j = np.nonzero(np.triu(d))
    ids = np.arange(100, 109)
    table = pd.DataFrame({"id1": ids[i], "id2": ids[j], "boundary": d[i, j]})
    p = problem(grid())
    a = p.add_connectivity_penalty(1.0, table).connectivity_penalty.matrix.toarray()
    np.testing.assert_allclose(a, d)
    both = pd.concat([table, table.rename(columns={"id1": "id2", "id2": "id1"})])
    b = p.add_connectivity_penalty(1.0, both).connectivity_penalty.matrix.toarray()
    np.testing.assert_allclose(b, d)
    asym = p.add_connectivity_penalty(1.0, table, symmetric=False).connectivity_penalty
    np.testing.assert_allclose(asym.matrix.toarray(), np.triu(d))


def test_a_csv_path_is_read(tmp_path):
    path = tmp_path / "links.csv"
    path.write_text("id1,id2,boundary\n100,101,2.5\n104,108,1\n")
    cp = problem(grid()).add_connectivity_penalty(1.0, path).connectivity_penalty
    assert cp.label == "links.csv" and cp.matrix[1, 0] == 2.5 and cp.matrix[8, 4] == 1.0


# ---------------------------------------------------------------- the user's mistakes

def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(("data", "symmetric", "message"), [
    (np.zeros((8, 9)), True, "connectivity matrix has shape (8, 9); expected (9, 9)"),
    (np.full((9, 9), np.nan), True, "connectivity matrix has 81 missing or infinite value(s)"),
    (np.triu(np.ones((9, 9)), 1), True, "connectivity data (matrix) is asymmetric: 100->101 is "
     "1 but 101->100 is 0"),
    (pd.DataFrame({"id1": [100], "id2": [999], "boundary": [1.0]}), True,
     "connectivity table (table) names 1 row(s) with pu_id not in the grid, e.g. [999]"),
    (pd.DataFrame({"a": [100], "b": [101], "boundary": [1.0]}), True,
     "connectivity table (table) lacks column(s) ['id1', 'id2']"),
    (pd.DataFrame({"id1": [100], "id2": [101], "boundary": [np.nan]}), True,
     "connectivity table (table) has 1 missing or non-numeric boundary value(s)"),
    (pd.DataFrame({"id1": [100, 101], "id2": [101, 100], "boundary": [1.0, 2.0]}), True,
     "is asymmetric: 100->101 is 1 but 101->100 is 2"),
    (pd.DataFrame({"id1": [100, 100], "id2": [101, 101], "boundary": [1.0, 2.0]}), False,
     "lists a pair (id1, id2) more than once"),
    ("no/such.csv", True, "connectivity file 'no/such.csv' does not exist"),
    ([[1, 2]], True, "connectivity data must be a scipy.sparse matrix, a numpy array"),
])
def test_bad_data_is_a_one_line_error(data, symmetric, message):
    with pytest.raises(InputDataError) as exc:
        problem(grid()).add_connectivity_penalty(1.0, data, symmetric=symmetric)
    assert message in one_line(exc)


def test_a_bad_penalty_is_a_one_line_error():
    with pytest.raises(InputDataError) as exc:
        problem(grid()).add_connectivity_penalty(float("nan"), np.zeros((9, 9)))
    assert one_line(exc) == "connectivity penalty must be finite; got nan"


def test_sub_models_refuse_pairs_the_objective_pushes_down():
    """`CompiledModel.restrict` (the cut solver's and importance's sub-models) does not carry
    ``z`` columns: it says so in one line rather than drop them."""
    d = matrix(2, symmetric=True)
    m = compile(build("max_utility", d, True, -0.5))
    assert m.block("z", rows=False).stop > 0
    with pytest.raises(SolverError) as exc:
        m.restrict(np.arange(2), np.zeros(m.n_x))
    assert str(exc.value).startswith("this model has pair terms that reward keeping units apart")
