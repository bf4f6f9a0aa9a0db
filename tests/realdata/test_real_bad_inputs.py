"""The real-data part of tests/cli/test_bad_inputs.py: 1 test on ../shared/data (tasmania-marxan).

Each needs the datasets beside the repository; `-m "not realdata"` leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli, tree_hash

#: Every test here reads ../shared/data (see helpers.shared): `-m "not realdata"` runs offline.
pytestmark = pytest.mark.realdata


# ================================================================ outputs never destroy anything
# (cases for issue 10, section 2: grid/gap/marxan outputs, --overwrite, permissions)


# ================================================================ units checked by dimension
# (cases for issue 10, section 3)


# ================================================================ check early, blame the right side
# (cases for issue 10, section 6)


# ================================================================ marxan scores and the marxan command
# (cases for issue 10, sections 4 and 7)

@pytest.fixture
def marxan_copy(tmp_path: Path) -> Path:
    """A copy of the real Tasmanian Marxan project (its OUTPUTDIR is inside it)."""
    import shutil

    from helpers import shared

    return Path(shutil.copytree(shared("tasmania-marxan"), tmp_path / "tasmania-marxan"))


def _geotiff(folder: Path) -> Path:
    import numpy as np
    from affine import Affine
    from helpers import write_raster

    return write_raster(folder / "cost.tif", np.ones((3, 3), dtype=np.float32),
                        transform=Affine(1000, 0, 0, 0, -1000, 3000))


@pytest.mark.parametrize(("mistake", "message"), [
    ("negative --blm", "--blm must be a number >= 0 (the boundary length modifier; 0 turns the "
                       "boundary penalty off); got -1"),
    ("negative BLM in input.dat", "input.dat: BLM must be a number >= 0"),
    ("empty input.dat", "input.dat: the file is empty, not a Marxan input.dat; give the "
                        "project's input.dat"),
    ("a GeoTIFF as input.dat", "cost.tif: is a TIFF/GeoTIFF image, not a Marxan input.dat"),
    ("a CSV as input.dat", "pu.dat: not a Marxan input.dat (none of Marxan's keys"),
    ("no PUNAME and no pu.dat", "input.dat: sets no PUNAME and there is no pu.dat in"),
    ("--score-only with a missing file", "nothere.csv: Marxan solution file not found"),
    ("--score-only without --compare", "--score-only scores a Marxan solution file: give it "
                                       "with --compare FILE"),
    ("--time-limit 0", "--time-limit must be a positive number of seconds; got 0"),
])
def test_marxan_user_mistakes(marxan_copy, capsys, mistake, message):
    project = marxan_copy
    input_dat = project / "input.dat"
    argv: list[object] = ["marxan", input_dat]
    if mistake == "negative --blm":
        argv += ["--blm", "-1"]
    elif mistake == "negative BLM in input.dat":
        input_dat.write_text(input_dat.read_text().replace("BLM 1", "BLM -1"))
    elif mistake == "empty input.dat":
        input_dat.write_text("")
    elif mistake == "a GeoTIFF as input.dat":
        argv = ["marxan", _geotiff(project)]
    elif mistake == "a CSV as input.dat":
        argv = ["marxan", project / "input" / "pu.dat"]
    elif mistake == "no PUNAME and no pu.dat":
        input_dat.write_text(input_dat.read_text().replace("PUNAME pu.dat", ""))
        (project / "input" / "pu.dat").rename(project / "input" / "units.dat")
    elif mistake == "--score-only with a missing file":
        argv += ["--compare", project / "output" / "nothere.csv", "--score-only"]
    elif mistake == "--score-only without --compare":
        argv += ["--score-only"]
    elif mistake == "--time-limit 0":
        argv += ["--time-limit", "0"]
    before = tree_hash(project)
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, contains=message)
    assert tree_hash(project) == before


# ================================================================ solvers: interrupts, limits, backends
# (cases for issue 10, sections 1, 5 and 7)


# ==== scenarios
# (`carbonpark scenario check` with bad files: exit 2, one line, nothing written or changed)


# ================================================================ solve and frontier commands


