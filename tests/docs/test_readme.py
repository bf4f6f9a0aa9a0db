"""Every Python snippet in the README runs as written, and the numbers it quotes hold.

The snippets run in order from a scratch folder laid out like the repository (``data/``
beside it, ``../shared/data`` above it), so what they write lands in the scratch folder.
"""

from __future__ import annotations

import re
import warnings

import pytest
from helpers import ROOT, shared_data

README = (ROOT / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.fixture
def repo_like(tmp_path, monkeypatch):
    """A scratch working folder with ``data`` and ``../shared`` pointing at the real ones."""
    work = tmp_path / "repo"
    work.mkdir()
    (work / "data").symlink_to(ROOT / "data")
    if shared_data().exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(shared_data())
    monkeypatch.chdir(work)
    return work


def _run(code: str, namespace: dict) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NodataWarning etc.: shown to users, not asserted here
        exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_the_readme_has_the_snippets_this_test_knows():
    assert len(SNIPPETS) == 4
    assert SNIPPETS[0].startswith("from optimizer import LayerSpec, build_grid")
    assert SNIPPETS[3].startswith("from optimizer.io import raster_planning_units")


def test_grid_and_plan_snippets_run_and_quote_their_numbers(repo_like, capsys):
    ns = _run(SNIPPETS[0], {})
    pu = ns["pu"]
    assert len(pu) == 1488 and "# 1,488 units" in SNIPPETS[0]
    assert "11.3% protected" in SNIPPETS[0] and "protected: 11.3% of the area" in repr(pu)
    assert (repo_like / "out" / "grid" / "units.parquet").exists()
    ns = _run(SNIPPETS[1], ns)
    sol, rep = ns["sol"], ns["rep"]
    assert sol.describe().startswith("within the requested gap of 0.1% (proven gap ")
    before, after = rep.loc["biomass", ["share_before", "share_after"]]
    assert f"{before:.1%} -> {after:.1%} of biomass carbon" in SNIPPETS[1]
    out = capsys.readouterr().out
    assert "A conservation planning problem" in out and "boundary: 1e-05 per km" in out


