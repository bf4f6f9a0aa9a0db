"""The catalogue of bad inputs: a user's mistake, the one-line error it gets, and nothing lost.

Every case is written as the mistake a user makes at the command line (or in the Python
API), and asserts the exit code, the one-line message, and that no input or unrelated
file changed (the tree is hashed before and after). Grow it with every new command.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from optimizer.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def tree_hash(root: Path) -> dict[str, str]:
    """Relative path -> sha256 and mode of every file under ``root`` (folders too, as '<dir>')."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() + f" {p.stat().st_mode:o}"
    return out


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``carbonpark argv``; return the exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *, exit_code: int = 2, contains: str = "") -> str:
    """The command failed with ``exit_code`` and a single ``carbonpark: error:`` line."""
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("carbonpark: warning:")]
    assert code == exit_code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("carbonpark: error: "), err
    assert "internal error" not in lines[0] and "this is a bug" not in lines[0], err
    assert contains in lines[0], err
    return lines[0]


@pytest.fixture
def demo_inputs_unchanged():
    """Fails the test if any file of the shipped demo data changed."""
    before = tree_hash(DEMO)
    yield
    assert tree_hash(DEMO) == before


# ================================================================ outputs never destroy anything
# (cases for issue 10, section 2: grid/gap/marxan outputs, --overwrite, permissions)

# ================================================================ units checked by dimension
# (cases for issue 10, section 3)

# ================================================================ check early, blame the right side
# (cases for issue 10, section 6)

# ================================================================ marxan scores and the marxan command
# (cases for issue 10, sections 4 and 7)

# ================================================================ solvers: interrupts, limits, backends
# (cases for issue 10, sections 1, 5 and 7)
