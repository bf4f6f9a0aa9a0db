"""``--scheduler ADDR``: an address that is closed, or answers but is not Dask, is one line.

The planner's mistakes: the dashboard's port (8787, an HTTP server) or any other server
given as the scheduler, a scheduler not started yet. Each stops in seconds with one line
naming the address, before any work and before ``sweep`` makes its folder.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    DEMO_MANIFEST,
    ROOT,
    assert_one_line_error,
    box_grid,
    external_dask_cluster,
    run_cli,
    tree_hash,
)

from optimizer.distributed import check_scheduler
from optimizer.errors import InputDataError
from optimizer.studies.sweep import read_results


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(handler: type[socketserver.BaseRequestHandler]) -> Iterator[int]:
    """A real server on a free local port, in a thread; yields the port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sweep_file(tmp_path: Path) -> Path:
    from optimizer import write_grid

    write_grid(box_grid(4, 4, seed=2, n_species=2), tmp_path / "grid")
    (tmp_path / "base.toml").write_text(
        'schema_version = 1\nname = "small"\n[grid]\npath = "grid"\n[budget]\nshare = 0.2\n'
        '[weights]\ncarbon = 1\nbiodiversity = 1\n[solver]\nbackend = "cut"\n', encoding="utf-8")
    f = tmp_path / "sweep.toml"
    f.write_text('schema_version = 1\nbase = "base.toml"\n[parameters]\n'
                 '"budget.share" = [0.1, 0.2]\n', encoding="utf-8")
    return f


def _command(kind: str, tmp_path: Path) -> list[str]:
    if kind == "sweep":
        return ["sweep", str(_sweep_file(tmp_path)), "--out", str(tmp_path / "out"), "--no-progress"]
    return ["grid", str(DEMO_MANIFEST), "--out", str(tmp_path / "out"), "--cell-km", "50"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["sweep", "grid"])
def test_an_http_server_given_as_the_scheduler_is_one_line_in_seconds(kind, tmp_path):
    """`carbonpark sweep|grid --scheduler tcp://<an HTTP server>` (e.g. the dashboard's port):
    the old code hung with no output (or read "HTTP/1.0" as a 3 EiB frame length)."""
    argv = _command(kind, tmp_path)
    before = tree_hash(tmp_path)
    with _serve(_Quiet) as port:
        addr = f"tcp://127.0.0.1:{port}"
        t0 = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "optimizer.cli", *argv, "--scheduler", addr],
                             capture_output=True, text=True, timeout=90, check=False)
        elapsed = time.monotonic() - t0
    assert elapsed < 15, f"took {elapsed:.1f} s"  # a hang guard, not a performance target
    line = assert_one_line_error(run.returncode, run.stderr, contains=addr)
    assert "this is not a Dask scheduler (it answered like an HTTP server" in line
    assert "port 8786 by default, not the dashboard's 8787" in line
    assert not (tmp_path / "out").exists()  # sweep no longer makes its folder first
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize("kind", ["sweep", "grid"])
def test_a_closed_port_is_cannot_reach(kind, tmp_path, capsys):
    argv = _command(kind, tmp_path)
    addr = f"tcp://127.0.0.1:{_free_port()}"
    code, _, err = run_cli([*argv, "--scheduler", addr], capsys)
    assert_one_line_error(code, err, contains=f"cannot reach the Dask scheduler at {addr}: "
                                              "connection refused; start one with `dask scheduler`")
    assert not (tmp_path / "out").exists()


class _Silent(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        time.sleep(3)  # accepts, says nothing, answers nothing


class _Greets(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        time.sleep(1)


def test_servers_that_are_not_dask_are_named_for_what_they_did():
    silent = r"scheduler \(it accepted the connection but sent no Dask handshake"
    with _serve(_Silent) as port, pytest.raises(
            InputDataError, match=rf"^tcp://127.0.0.1:{port}: this is not a Dask {silent}"):
        check_scheduler(f"127.0.0.1:{port}", error=InputDataError, timeout=0.5)
    with _serve(_Greets) as port, pytest.raises(
            InputDataError, match=r"it greeted with 'SSH-2.0-OpenSSH_9.6'"):
        check_scheduler(f"tcp://127.0.0.1:{port}", error=InputDataError, timeout=2)


def test_addresses_that_do_not_parse_are_one_line():
    for bad in ("nowhere", "http://127.0.0.1:8786", "tcp://", "tcp://host:port"):
        with pytest.raises(InputDataError, match="tcp://host:8786"):
            check_scheduler(bad, error=InputDataError)


@pytest.mark.dask
@pytest.mark.timeout(180)
def test_a_real_scheduler_given_as_host_and_port_runs_the_sweep(tmp_path, capsys):
    """A bare ``host:port`` (as `dask scheduler` prints it, without tcp://) is a tcp:// address."""
    f = _sweep_file(tmp_path)
    with external_dask_cluster(workers=1) as addr:
        code, out, err = run_cli(["sweep", f, "--out", tmp_path / "out", "--no-progress",
                                  "--scheduler", addr.removeprefix("tcp://")], capsys)
    assert code == 0, err
    assert "2 of 2 runs" in out and len(read_results(tmp_path / "out")) == 2


@pytest.mark.dask
@pytest.mark.timeout(240)
def test_ctrl_c_in_a_dask_sweep_prints_no_worker_traceback(tmp_path):
    """Ctrl-C in a terminal signals the whole process group, Dask's worker processes too:
    they printed a 30-line KeyboardInterrupt traceback each before the sweep exited 130."""
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(
        f'schema_version = 1\nbase = "{ROOT / "scenarios" / "balanced.toml"}"\n'
        '[set]\n"penalties.boundary.penalty" = 1e-5\n[parameters]\n'
        '"budget.share" = [0.04, 0.07, 0.10, 0.13, 0.16, 0.20]\n'
        '"weights.carbon" = [0.0, 0.25, 0.5, 0.75, 1.0]\n', encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "optimizer.cli", "sweep", str(sweep_file), "--out", str(out),
           "--scheduler", "local", "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group, as a terminal's job
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "runs").glob("*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "distributed." not in err, err  # no log lines of closing workers or nannies
    lines = [x for x in err.splitlines()  # warnings: a grid built here the first time
             if x.strip() and not x.startswith("carbonpark: warning:")]
    assert len(lines) == 1 and lines[0].startswith("carbonpark: interrupted"), err
    assert len(list((out / "runs").glob("*.parquet"))) >= 3  # finished runs kept
