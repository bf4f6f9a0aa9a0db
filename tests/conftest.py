"""Fixtures and hooks only; shared builders and the real-data paths are in helpers.py."""

from __future__ import annotations

import helpers
import pytest
from helpers import DEMO_MANIFEST


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # helpers.shared() fails a test that reaches it without the realdata marker.
    helpers.current_test = item


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    helpers.current_test = None


@pytest.fixture(scope="session")
def demo_grid():
    """The demo country on 20 km cells (built once per test session)."""
    from optimizer.grid.manifest import build_grid_from_manifest

    return build_grid_from_manifest(DEMO_MANIFEST, cell_km=20, progress=False)
