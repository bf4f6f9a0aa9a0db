"""The frontier of a scenario that has none (issue 22, "Weak"): in the scenario's words, not
Python's ("needs a base problem with add_max_utility_objective(budget_km2=...)")."""

from __future__ import annotations

from pathlib import Path

from helpers import assert_one_line_error, run_cli

MANIFEST = Path(__file__).resolve().parents[2] / "data" / "demo.toml"


def test_a_min_set_scenario_has_no_frontier_and_says_why_in_scenario_words(tmp_path, capsys):
    scenario = tmp_path / "min_set.toml"
    scenario.write_text(f'schema_version = 1\nname = "ms"\n[grid]\nmanifest = "{MANIFEST}"\n'
                        'cell_km = 40\n[objective]\nkind = "min_set"\n[targets]\nrelative = 0.2\n')
    out = tmp_path / "frontier"
    code, _, err = run_cli(["frontier", scenario, "--out", out], capsys)
    line = assert_one_line_error(code, err, contains='[objective] kind = "min_set" has no frontier')
    assert 'needs kind = "max_utility" with a [budget]' in line and "carbonpark solve" in line
    assert "add_max_utility_objective" not in line and not out.exists()
