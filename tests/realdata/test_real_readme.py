"""Every Python snippet in the README runs as written, and the numbers it quotes hold.

The snippets run in order from a scratch folder laid out like the repository (``data/``
beside it, ``../shared/data`` above it), so what they write lands in the scratch folder.
"""

from __future__ import annotations

import re
import warnings

import pytest
from helpers import ROOT, shared, shared_data

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata

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


def test_marxan_snippet_scores_at_the_blm_it_was_solved_with(repo_like):
    shared("tasmania-marxan")
    ns = _run(SNIPPETS[2], {})
    score = ns["marxan_score"](ns["project"], ns["sol"])
    assert f"score {score['score']:,.2f}" in SNIPPETS[2]
    assert (repo_like / "output").is_dir() and (repo_like / "as_marxan" / "input.dat").exists()


def test_prioritizr_snippet_reads_washington_and_tasmania(repo_like):
    shared("washington")
    shared("tasmania")
    ns = _run(SNIPPETS[3], {})
    assert len(ns["pu"]) == 1130  # Tasmania's polygons
    assert len(ns["p"].targets) == 33
