"""A TOML file of one kind given where another is expected (issue 22, "Weak"): one line saying
what the file is and the command that takes it, before any work, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[2]
MANIFEST, SCENARIO = ROOT / "data" / "demo.toml", ROOT / "scenarios" / "balanced.toml"
SWEEP = ROOT / "scenarios" / "sweep_budget_weight.toml"

CASES = [
    (["solve", MANIFEST], "this is a grid manifest (it lists [[layers]]), not a scenario",
     f"`carbonpark grid {MANIFEST}`"),
    (["scenario", "check", MANIFEST], "this is a grid manifest", "not a scenario"),
    (["frontier", MANIFEST], "this is a grid manifest", "not a scenario"),
    (["solve", SWEEP], "this is a sweep file (it has base and parameters), not a scenario",
     f"`carbonpark sweep {SWEEP}`"),
    (["sweep", SCENARIO], "this is a scenario, not a sweep file", f"`carbonpark solve {SCENARIO}`"),
    (["sweep", MANIFEST], "this is a grid manifest", "not a sweep file"),
    (["grid", SCENARIO], "this is a scenario, not a grid manifest", f"`carbonpark solve {SCENARIO}`"),
    (["grid", SWEEP], "this is a sweep file", "not a grid manifest"),
]


@pytest.mark.parametrize(("argv", "what", "fix"), CASES, ids=lambda v: None)
def test_a_file_of_another_kind_says_what_it_is_and_which_command_takes_it(
        argv, what, fix, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli([*argv, "--out", out] if argv[0] != "scenario" else argv, capsys)
    line = assert_one_line_error(code, err, contains=what)
    assert fix in line
    assert not out.exists()  # refused before any work
