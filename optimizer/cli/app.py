"""``carbonpark app``: the Streamlit app of the installed package (`optimizer.app.main`).

Runs ``python -m streamlit run`` on the app's script, the repository's top-level
``app.py``: a wheel ships it as ``optimizer/app/entry/app.py``, a checkout (or an editable
install) has it beside the package. That script is the one file that imports Streamlit;
this command, like the rest of the library, never does. The app's Streamlit settings
(the repository's ``.streamlit/config.toml``: local only, headless, no usage statistics,
no error details; a wheel ships it as ``optimizer/app/streamlit_config/config.toml``) are
given as command-line options, so they hold whatever folder the app is started from. Every
other argument goes to Streamlit as it is (``--server.port 8502``, ``--server.headless
false``); those given win over the settings. Streamlit prints the URL; Ctrl-C stops the
app (exit code 0). Without Streamlit (the ``app`` extra) the error is one line saying
what to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optimizer.errors import OptimizerError

#: The app's Streamlit script (the repository's ``app.py``): shipped in the package (a wheel),
#: or the checkout's own.
APP_SCRIPTS = (Path(__file__).resolve().parents[1] / "app" / "entry" / "app.py",
               Path(__file__).resolve().parents[2] / "app.py")
APP_SCRIPT = next((p for p in APP_SCRIPTS if p.is_file()), APP_SCRIPTS[0])

#: The app's Streamlit settings: shipped in the package (a wheel), or the checkout's own.
SETTINGS_FILES = (Path(__file__).resolve().parents[1] / "app" / "streamlit_config" / "config.toml",
                  Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml")

INSTALL_HINT = 'pip install "carbonpark[app]"'


def _add_app(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "app", help="start the Streamlit app (options after it go to Streamlit)",
        description="Start carbonpark's Streamlit app from the installed package and print its "
                    "URL; Ctrl-C stops it. Every other option goes to `streamlit run`, e.g. "
                    "`carbonpark app --server.port 8502` or `--server.headless false` to open a "
                    f"browser. Needs the app extra: {INSTALL_HINT}.",
        usage="carbonpark app [-h] [STREAMLIT OPTION ...]")
    p.set_defaults(func=cmd_app, passthrough=[])


def settings() -> dict[str, Any]:
    """The app's Streamlit settings (``{section: {key: value}}``), empty when none is found."""
    path = next((p for p in SETTINGS_FILES if p.is_file()), None)
    if path is None:
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def streamlit_options(config: Mapping[str, Mapping[str, Any]], given: Sequence[str]) -> list[str]:
    """``config`` as ``--section.key=value`` options, but for the options in ``given``.

    Examples
    --------
    >>> streamlit_options({"server": {"headless": True, "port": 8501}, "theme": {"base": "light"}},
    ...                   ["--server.port", "9000"])
    ['--server.headless=true', '--theme.base=light']
    """
    named = {a[2:].split("=", 1)[0] for a in given if a.startswith("--")}
    out = []
    for section, table in config.items():
        for key, value in table.items():
            if f"{section}.{key}" not in named:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                out.append(f"--{section}.{key}={text}")
    return out


def cmd_app(args: argparse.Namespace) -> int:
    """Run the app with Streamlit until Ctrl-C (exit code 0), else Streamlit's exit code."""
    if importlib.util.find_spec("streamlit") is None:
        raise OptimizerError(f"the app needs Streamlit, which is not installed: {INSTALL_HINT}")
    given = list(args.passthrough)
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
               *streamlit_options(settings(), given), *given]
    print(f"carbonpark app: {APP_SCRIPT} (Ctrl-C stops it)", flush=True)
    return run_until_stopped(command)


def run_until_stopped(command: Sequence[str]) -> int:
    """Run ``command``; its exit code, or 0 once it has stopped after Ctrl-C.

    Ctrl-C in a terminal reaches the command too (one process group), and Streamlit stops
    itself; Ctrl-C or SIGTERM sent to this process alone is passed on. The command is
    terminated, then killed, if it has not stopped 10 s later.
    """
    proc = subprocess.Popen(command)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: _stop(proc)) if main_thread else None
    try:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            try:
                proc.wait(timeout=2)  # stopping on the terminal's own Ctrl-C
            except subprocess.TimeoutExpired:
                _stop(proc)
            return 0
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        _end(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ask the command to stop as Ctrl-C does (POSIX), else terminate it."""
    if proc.poll() is not None:
        return
    if os.name == "posix":
        proc.send_signal(signal.SIGINT)
    else:
        proc.terminate()


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Wait up to 10 s for the command to end, then terminate it, and kill it 5 s later."""
    try:
        proc.wait(timeout=10)
        return
    except subprocess.TimeoutExpired:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
