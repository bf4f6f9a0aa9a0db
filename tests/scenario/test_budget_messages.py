"""Odd budgets in the planner's words (issue 22, "Weak"): one line naming [budget] and the fix,
exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "balanced.toml"


@pytest.mark.parametrize(("budget", "words"), [
    ("{km2 = 1e30}", "[budget] km2 = 1e+30 is more than the whole study area (2,199,999 km²)"),
    ("{km2 = inf}", "[budget] km2: expected a finite number; got inf"),
    ("{total_protection = 0.05}", "[budget] total_protection = 0.05 is at or below today's "
                                  "protection (11.3% of the land): there is nothing to add; "
                                  "raise it above 0.113"),
])
def test_an_odd_budget_is_one_line_about_the_budget(budget, words, tmp_path, capsys):
    out = tmp_path / "plan"
    code, _, err = run_cli(["solve", SCENARIO, "--set", f"budget={budget}", "--out", out], capsys)
    line = assert_one_line_error(code, err, contains=words)
    assert "[weights]" not in line and "e+30 km²" not in line and not out.exists()
