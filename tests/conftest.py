"""Fixtures and hooks only; shared builders and the real-data paths are in helpers.py."""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from helpers import DEMO_MANIFEST

TESTS = Path(__file__).resolve().parent


def _uses_shared(code: types.CodeType, globals_: dict, seen: set) -> bool:
    """Whether ``code`` names helpers.shared, or calls a function in tests/ that does."""
    if code in seen:
        return False
    seen.add(code)
    for name in code.co_names:
        if name == "shared":
            return True
        obj = globals_.get(name)
        if (isinstance(obj, types.FunctionType) and obj.__code__.co_filename.startswith(str(TESTS))
                and obj is not helpers.shared and _uses_shared(obj.__code__, obj.__globals__, seen)):
            return True
    return any(isinstance(c, types.CodeType) and _uses_shared(c, globals_, seen)
               for c in code.co_consts)


def _functions(item: pytest.Item) -> Iterator[types.FunctionType]:
    """The test function and every fixture function it requests, directly or not."""
    if isinstance(item, pytest.Function):
        yield inspect.unwrap(item.function)
        for name in item.fixturenames:
            for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
                yield inspect.unwrap(fixturedef.func)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that reads ../shared/data (helpers.shared, in the test, a fixture or a helper
    # it calls) is marked realdata, so `pytest -m "not realdata"` runs offline.
    for item in items:
        if item.get_closest_marker("realdata") is None and any(
                _uses_shared(f.__code__, f.__globals__, set()) for f in _functions(item)
                if isinstance(f, types.FunctionType)):
            item.add_marker(pytest.mark.realdata)


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
    from optimizer.cli.grid import _build_from_manifest

    return _build_from_manifest(DEMO_MANIFEST, cell_km=20, progress=False)
