"""``[penalties.connectivity]`` and ``[constraints]`` (issue 24 item 5) end to end: through
``carbonpark solve`` (summary.json's ``connectivity`` restated from solution.parquet and the
CSV by hand) and ``carbonpark scenario check``; the planner's mistakes as one line naming the
table, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, box_grid, console_rows, run_cli

from optimizer.scenario import Scenario

LINKS = "id1,id2,boundary\n100,101,2.0\n101,104,1.5\n104,108,3.0\n102,105,0.5\n"


def grid():
    rng = np.random.default_rng(0)
    feats = {"biomass": ("carbon_stock", rng.uniform(0, 10, 9).round(2)),
             "sp_1": ("biodiversity", rng.uniform(0, 1, 9).round(2)),
             "con": ("other", rng.uniform(0, 1, 9).round(2))}
    return box_grid(3, 3, features=feats)


@pytest.fixture
def folder(tmp_path):
    from optimizer import write_grid

    write_grid(grid(), tmp_path / "grid")
    (tmp_path / "links.csv").write_text(LINKS, encoding="utf-8")
    return tmp_path


def scenario_text(extra: str) -> str:
    return ('schema_version = 1\n[grid]\npath = "grid"\n[budget]\nkm2 = 3\n'
            f"[weights]\nbiomass = 1\n{extra}")


def kept_by_hand(x: np.ndarray) -> float:
    """The CSV's links whose two units are both selected, summed (pu_id 100 + k is unit k)."""
    links = pd.read_csv(pd.io.common.StringIO(LINKS))
    return float(sum(b for a, c, b in links.itertuples(index=False) if x[a - 100] and x[c - 100]))


def test_solve_reports_the_connectivity_kept(folder, capsys):
    text = scenario_text('[penalties.connectivity]\npenalty = 0.2\nfile = "links.csv"\n'
                         "[constraints]\ncontiguous = true\n")
    (folder / "s.toml").write_text(text, encoding="utf-8")
    p = Scenario.load(folder / "s.toml").to_problem(grid())
    assert p.connectivity_penalty.matrix.nnz == 8 and p.park_constraint.contiguous
    code, out, err = run_cli(["solve", folder / "s.toml", "--out", folder / "plan"], capsys)
    assert code == 0, err
    summary = json.loads((folder / "plan" / "summary.json").read_text(encoding="utf-8"))
    x = pd.read_parquet(folder / "plan" / "solution.parquet")["x"].to_numpy() > 0.5
    conn = summary["connectivity"]
    assert conn["kept"] == pytest.approx(kept_by_hand(x)) and conn["kept"] > 0
    assert conn["term"] == pytest.approx(0.2 * kept_by_hand(x))  # max utility: a reward
    assert conn["symmetric"] is True and conn["penalty"] == 0.2
    assert summary["patches"]["count"] == 1  # contiguous
    assert summary["definitions"]["connectivity_kept"]["path"] == "connectivity.kept"
    assert console_rows(out)["connectivity kept / term"] == (
        f"{conn['kept']:,.4g} / {conn['term']:.4g} (penalty 0.2)"), out
    code, out, err = run_cli(["scenario", "check", folder / "s.toml"], capsys)
    assert code == 0, err
    assert "connectivity (symmetric, links.csv, 8 links): 0.2" in out
    assert "contiguity: one connected park" in out


def test_conductance_makes_prioritizrs_connectivity_matrix(folder):
    text = scenario_text('[penalties.connectivity]\npenalty = 1\nconductance = "con"\n'
                         "[constraints]\nneighbours = 1\nmin_park_km2 = 2\n")
    (folder / "s.toml").write_text(text, encoding="utf-8")
    pu = grid()
    p = Scenario.load(folder / "s.toml").to_problem(pu)
    con = pu.units["con"].to_numpy()
    m = p.connectivity_penalty.matrix
    assert m[0, 1] == pytest.approx((con[0] + con[1]) / 2)  # 1 km edge x mean conductance
    assert m[0, 4] == 0  # diagonal neighbours share no edge
    assert p.neighbour_constraint.k == 1 and p.park_constraint.min_km2 == 2.0


@pytest.mark.parametrize(("extra", "files", "words"), [
    ('[penalties.connectivity]\npenalty = 1\nfile = "missing.csv"\n', {},
     "[penalties.connectivity] connectivity file"),
    ('[penalties.connectivity]\npenalty = 1\nfile = "bad.csv"\n',
     {"bad.csv": "id1,id2,boundary\n100,999,1\n"},
     "names 1 row(s) with pu_id not in the grid, e.g. [999]"),
    ('[penalties.connectivity]\npenalty = 1\nfile = "bad.csv"\n',
     {"bad.csv": "from,to,boundary\n100,101,1\n"}, "lacks column(s) ['id1', 'id2']"),
    ('[penalties.connectivity]\npenalty = 1\nfile = "bad.csv"\n',
     {"bad.csv": "id1,id2,boundary\n100,101,1\n101,100,2\n"},
     "is asymmetric: 100->101 is 1 but 101->100 is 2"),
    ('[penalties.connectivity]\npenalty = 1\nfile = "links.csv"\nconductance = "con"\n', {},
     "give one of file or conductance, not both"),
    ("[constraints]\nneighbours = -1\n", {}, "neighbours"),
])
@pytest.mark.parametrize("command", ["solve", "check"])
def test_mistakes_are_one_line(extra, files, words, command, folder, capsys):
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "s.toml").write_text(scenario_text(extra), encoding="utf-8")
    out = folder / "plan"
    argv = (["solve", folder / "s.toml", "--out", out] if command == "solve"
            else ["scenario", "check", folder / "s.toml"])
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, contains=words)
    assert not out.exists()
