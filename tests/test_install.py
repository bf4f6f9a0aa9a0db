"""The package as a user gets it: a wheel of the repository, installed outside the repository.

The wheel is built from a copy of the repository's files (those git tracks or would add)
with the venv's own setuptools (``pip wheel --no-build-isolation``: nothing downloaded),
installed with ``pip install --no-deps --target`` into a folder of its own, and run by this
venv's Python with only that folder added (``PYTHONPATH``) from a folder outside the
repository: the installed package answers, not the checkout. It must hold every package,
the app and its settings, the demo data and the example scenarios; find those inside the
installed package; solve an example scenario; and ``carbonpark app`` must serve the app
and stop on Ctrl-C with exit code 0, leaving no process behind. Nothing is written into
the installed package.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.install, pytest.mark.timeout(300)]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a command; its stdout and stderr (the test fails, showing them, unless it exits 0)."""
    run = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                         check=False)
    assert run.returncode == 0, f"{' '.join(args)} exited {run.returncode}:\n{run.stdout}{run.stderr}"
    return run.stdout + run.stderr


def _sources() -> list[str]:
    """The repository's files as a clean clone has them, plus new files not yet committed."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the wheel test builds from the files git knows; this is not a git checkout")
    return [f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """(wheel, installed folder, environment): the repository built and installed under a temp folder."""
    import setuptools

    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.fail(f"setuptools {setuptools.__version__} cannot build carbonpark (pyproject.toml "
                    "needs >= 77); `make .venv/.stamp-test` installs the test extra's")
    tmp = tmp_path_factory.mktemp("install")
    src, dist, site = tmp / "src", tmp / "dist", tmp / "site"
    files = _sources()
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_bytes((ROOT / f).read_bytes())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _run([*pip, "wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist)],
         cwd=tmp)
    (wheel,) = dist.glob("carbonpark-*.whl")
    _run([*pip, "install", "--no-deps", "--no-index", "--no-compile", "--target", str(site),
          str(wheel)], cwd=tmp)
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1",
           "XDG_CACHE_HOME": str(tmp / "cache"), "CARBONPARK_APP_CELL_KM": "80"}
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    yield wheel, site, env
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before, "wrote into the package"


def test_the_wheel_holds_the_package_the_app_the_demo_data_and_the_scenarios(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "optimizer").rglob("__init__.py")}
    assert packages <= names, f"packages missing from pyproject.toml: {sorted(packages - names)}"
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "optimizer" / "app").glob("*.py")}
    assert "optimizer/app/main.py" in pages and pages <= names
    assert "optimizer/app/streamlit_config/config.toml" in names
    # The app's script is the repository's app.py itself, and the only file of the
    # repository's root the wheel ships (pyproject.toml maps optimizer.app.entry to it).
    assert sorted(n for n in names if n.startswith("optimizer/app/entry/")) == ["optimizer/app/entry/app.py"]
    assert zipfile.ZipFile(wheel).read("optimizer/app/entry/app.py") == (ROOT / "app.py").read_bytes()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"optimizer"}
    tracked = _sources()
    demo = [f for f in tracked if f.startswith("data/demo/") or f == "data/demo.toml"]
    scenarios = [f for f in tracked if f.startswith("scenarios/") and f.endswith(".toml")]
    assert len(demo) > 5 and len(scenarios) > 5
    assert {f"optimizer/examples/{f}" for f in demo + scenarios} <= names


def test_the_installed_package_finds_its_data_and_solves(installed, tmp_path):
    _, site, env = installed
    code = ("import optimizer, optimizer.datasets as d\n"
            "f = d.example_files()\n"
            "print(optimizer.__file__, f.manifest, f.scenarios, f.installed, f.grid_cache, sep='\\n')\n")
    out = _run([sys.executable, "-c", code], cwd=tmp_path, env=env).split("\n")
    package, manifest, scenarios, flag, cache = out[:5]
    assert Path(package) == site / "optimizer" / "__init__.py"
    assert Path(manifest) == site / "optimizer" / "examples" / "data" / "demo.toml"
    assert Path(scenarios) == site / "optimizer" / "examples" / "scenarios"
    assert flag == "True" and Path(cache) == Path(env["XDG_CACHE_HOME"]) / "carbonpark"
    assert "carbonpark" in _run([sys.executable, "-m", "optimizer.cli", "--version"], cwd=tmp_path,
                                env=env)
    # `carbonpark` as pip installed it (site/bin), on an installed example at 80 km.
    scenario = Path(scenarios) / "balanced.toml"
    out = _run([str(site / "bin" / "carbonpark"), "solve", str(scenario), "--out", "plan",
                "--set", "grid.cell_km=80", "--set", f'grid.cache="{tmp_path / "grids"}"'],
               cwd=tmp_path, env=env)
    assert "wrote plan" in out and (tmp_path / "plan" / "summary.json").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_carbonpark_app_serves_the_installed_app_and_stops_on_ctrl_c(installed, tmp_path):
    _, site, env = installed
    port = _free_port()
    log = tmp_path / "app.log"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with log.open("wb") as out:
        proc = subprocess.Popen([str(site / "bin" / "carbonpark"), "app", "--server.headless", "true",
                                 "--server.port", str(port)], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, health = time.monotonic() + 60, None
        while health is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                with no_proxy.open(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                    health = (r.status, r.read())
            except OSError:
                time.sleep(0.3)
        assert health == (200, b"ok"), log.read_text(errors="replace")[-3000:]
        with no_proxy.open(f"http://localhost:{port}/", timeout=5) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole process group
        assert proc.wait(timeout=30) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with pytest.raises(ProcessLookupError):  # nothing of the group is left
        os.killpg(proc.pid, 0)
    text = log.read_text(errors="replace")
    assert f"http://localhost:{port}" in text
    assert str(site / "optimizer" / "app" / "entry" / "app.py") in text


def test_the_installed_app_script_draws_the_installed_pages(installed, tmp_path):
    """The script `carbonpark app` serves (app.py, installed) runs the installed pages: the
    Data page of the demo country (80 km), with Streamlit's own test runner."""
    _, site, env = installed
    script = site / "optimizer" / "app" / "entry" / "app.py"
    code = ("from streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({str(script)!r}, default_timeout=240).run()\n"
            "assert not at.exception, [e.value for e in at.exception]\n"
            "assert not at.error, [e.value for e in at.error]\n"
            "import optimizer.app.data_page as page\n"
            "print(page.__file__, at.title[0].value, at.metric[0].label, sep='\\n')\n")
    out = _run([sys.executable, "-c", code], cwd=tmp_path, env=env, timeout=280).splitlines()
    assert Path(out[0]) == site / "optimizer" / "app" / "data_page.py"
    assert out[1:3] == ["Data", "Planning units"]
