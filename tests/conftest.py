"""Fixtures and hooks only; shared builders and the real-data paths are in helpers.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import helpers
import pytest
from helpers import DEMO_MANIFEST

ROOT = Path(__file__).resolve().parents[1]


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


# ------------------------------------------------------------------ the app's server
# `app_url`: `streamlit run app.py` on a free localhost port, one per test module (40 km demo
# grid unless CARBONPARK_APP_CELL_KM says otherwise, the user's cache in a temporary folder).

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    cache = tmp_path_factory.mktemp("cache")  # the user's cache, where downloads name their grid
    os.environ["XDG_CACHE_HOME"] = str(cache)
    env = {**os.environ, "CARBONPARK_APP_CELL_KM": os.environ.get("CARBONPARK_APP_CELL_KM", "40"),
           "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cache)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "localhost", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
