"""One status vocabulary (issue 21 §4): "optimal" only at proven gap 0, everywhere it shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.plan.comparison import comparison_table
from optimizer.solvers.base import Solution, SolveStatus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> dict[str, Path]:
    """The demo's `balanced` solved at its gap of 0.1% and at gap 0, each with its report."""
    root = tmp_path_factory.mktemp("status")
    text = (ROOT / "scenarios" / "balanced.toml").read_text(encoding="utf-8")
    scenario = root / "balanced.toml"
    scenario.write_text(text.replace('"../data/demo.toml"',
                                     json.dumps(str(ROOT / "data" / "demo.toml"))), encoding="utf-8")
    out = {}
    for name, sets in (("gap", []), ("zero", ["--set", "solver.gap=0"])):
        folder = root / name
        assert main(["solve", str(scenario), "--out", str(folder), *sets]) == 0
        assert main(["report", str(folder), "--out", str(root / f"{name}.html")]) == 0
        out[name] = folder
    assert main(["report", str(out["gap"]), str(out["zero"]), "--out", str(root / "both.html")]) == 0
    return out


def _status_row(html: str) -> str:
    return re.search(r'<td class="t">status</td><td class="t">(.*?)</td>', html).group(1)


def test_a_plan_proven_within_the_requested_gap_is_within_gap_not_optimal(solved, capsys):
    s = json.loads((solved["gap"] / "summary.json").read_text())
    assert 0 < s["gap"] <= 1e-3  # proven within the 0.1% asked, but not proven optimal
    assert s["status"] == "within_gap" and s["status_text"].startswith("within_gap (proven gap ")
    html = (solved["gap"].parent / "gap.html").read_text(encoding="utf-8")
    assert _status_row(html) == s["status_text"]
    assert f'<p class="meta">{s["status_text"]};' in html
    assert "optimal" not in _status_row(html)


def test_a_plan_proven_at_gap_0_is_optimal(solved):
    s = json.loads((solved["zero"] / "summary.json").read_text())
    assert s["gap"] == 0 and s["status"] == "optimal" and s["status_text"] == "optimal (proven gap 0)"
    html = (solved["zero"].parent / "zero.html").read_text(encoding="utf-8")
    assert _status_row(html) == "optimal (proven gap 0)"


def test_the_comparison_shows_the_same_status_words(solved):
    summaries = [json.loads((solved[k] / "summary.json").read_text()) for k in ("gap", "zero")]
    assert list(comparison_table(summaries)["status"]) == ["within_gap", "optimal"]
    html = (solved["gap"].parent / "both.html").read_text(encoding="utf-8")
    side = html[html.index("<h2>Side by side</h2>"):html.index("Density inside protection")]
    assert ">within_gap<" in side and ">optimal<" in side
    # A summary written before within_gap existed ("optimal" at gap 0.028%) reads within_gap.
    old = {**summaries[0], "status": "optimal", "gap": 0.00028}
    assert comparison_table([old])["status"].iloc[0] == "within_gap"


def test_a_solver_never_hands_back_optimal_with_a_proven_gap_above_0():
    sol = Solution(SolveStatus.OPTIMAL, np.ones(2), 10.0, 10.0028, 0.00028, 1.0, "highs",
                   requested_gap=1e-3)
    assert sol.status is SolveStatus.WITHIN_GAP and sol.is_optimal  # solved as asked
    assert sol.describe() == "within_gap (proven gap 0.028%, within the requested gap of 0.1%)"
    exact = Solution(SolveStatus.OPTIMAL, np.ones(2), 10.0, 10.0, 0.0, 1.0, "highs")
    assert exact.status is SolveStatus.OPTIMAL and exact.is_optimal
    late = Solution(SolveStatus.FEASIBLE, np.ones(2), 10.0, 12.0, 0.2, 1.0, "highs")
    assert late.status is SolveStatus.FEASIBLE and not late.is_optimal
    assert pd.Series([str(s.status) for s in (sol, exact, late)]).tolist() == [
        "within_gap", "optimal", "feasible"]
