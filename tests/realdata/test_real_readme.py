"""Every python block of the README and docs/ that reads ../shared/data runs, and its numbers hold.

The blocks are found by tests/docs/doc_snippets.py (a block is a real-data one when it
names ``../shared/data/``); each runs on its own from a scratch folder laid out like the
repository, with ``../shared/data`` above it, so what it writes lands in the scratch folder.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from helpers import ROOT, shared, shared_data

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


def _doc_snippets():
    """tests/docs/doc_snippets.py (tests/docs is not a package: load it by its path)."""
    if "doc_snippets" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "doc_snippets", ROOT / "tests" / "docs" / "doc_snippets.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["doc_snippets"] = module
        spec.loader.exec_module(module)
    return sys.modules["doc_snippets"]


snippets = _doc_snippets()
BLOCKS = [b for blocks in snippets.python_pages(realdata=True).values() for b in blocks]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    work = snippets.repo_like(tmp_path, shared_data())
    monkeypatch.chdir(work)
    return work


def test_the_real_data_blocks_are_the_ones_this_test_knows():
    assert {b.code.splitlines()[0] for b in BLOCKS} == set(CHECKS), \
        "a real-data block was added or changed its first line: add its check below"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_real_data_block_runs_and_quotes_its_numbers(block, scratch):
    for folder in block.datasets():
        shared(folder)  # skips when the dataset is absent
    ns = snippets.run_python(block, {})
    CHECKS[block.code.splitlines()[0]](ns, block.code, scratch)


def _marxan(ns: dict, code: str, work) -> None:
    score = ns["marxan_score"](ns["project"], ns["sol"])
    assert f"score {score['score']:,.2f}" in code
    assert (work / "output").is_dir() and (work / "as_marxan" / "input.dat").exists()


def _prioritizr(ns: dict, code: str, work) -> None:
    assert len(ns["pu"]) == 1130  # Tasmania's polygons
    assert len(ns["p"].targets) == 33


#: The first line of each real-data block -> what it must show, beyond running.
CHECKS = {
    "from optimizer import solve": _marxan,
    "from optimizer.io import raster_planning_units, polygon_planning_units, prioritizr_problem":
        _prioritizr,
}
