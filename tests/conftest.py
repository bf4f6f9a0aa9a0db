"""Fixtures and hooks only; shared builders and the real-data paths are in helpers.py."""

from __future__ import annotations

import pytest
from helpers import DEMO_MANIFEST


@pytest.fixture(scope="session")
def demo_grid():
    """The demo country on 20 km cells (built once per test session)."""
    from optimizer.cli import _build_from_manifest

    return _build_from_manifest(DEMO_MANIFEST, cell_km=20, progress=False)
