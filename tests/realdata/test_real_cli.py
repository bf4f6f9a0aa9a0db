"""The real-data part of tests/cli/test_cli.py: 1 test on ../shared/data (tasmania-marxan).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

import pytest

from optimizer.cli import main

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


def test_a_truncated_marxan_file_is_a_one_line_error(tmp_path, capsys):
    import shutil

    from helpers import shared

    src = shared("tasmania-marxan")
    shutil.copytree(src, tmp_path / "p")
    pu = tmp_path / "p" / "input" / "pu.dat"
    pu.write_text(pu.read_text()[:300])  # cut mid-line, as an interrupted copy would
    assert main(["marxan", str(tmp_path / "p" / "input.dat"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pu.dat" in err


