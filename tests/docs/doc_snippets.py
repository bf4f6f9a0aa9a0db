"""The code blocks of the README and docs/, for the tests that run them.

Every fenced block of ``README.md``, ``CONTRIBUTING.md``, ``CHANGELOG.md`` and ``docs/**/*.md`` carries a
language: ``python``, ``sh``, ``toml`` or ``text``.

* ``python`` blocks run. The blocks of one page run in order in one namespace, from a
  scratch folder laid out like the repository (``data/`` and ``scenarios/`` in it,
  ``../shared/data`` above it), so what they write lands in the scratch folder. A block
  that reads ``../shared/data`` is a real-data block: it runs on its own in
  ``tests/realdata/test_real_readme.py``; the others run in ``tests/docs/test_snippets.py``.
* ``sh`` blocks: every ``carbonpark ...`` line parses with the real argument parser, and a
  few fast ones run (`tests/docs/test_snippets.py`); every ``make X`` names a Makefile target.
* ``toml`` blocks validate as what they are: a grid manifest, a scenario or a sweep file.

A block is skipped only when the line right above its fence says why::

    <!-- snippet-skip: the reason, in words -->

(an HTML comment: invisible on the rendered page).
"""

from __future__ import annotations

import re
import shlex
import shutil
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The Markdown files whose blocks are tested.
DOC_FILES: tuple[Path, ...] = (ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md",
                               *sorted((ROOT / "docs").rglob("*.md")))
LANGUAGES = ("python", "sh", "toml", "text")
SHARED = "../shared/data/"

_FENCE = re.compile(r"^\s*```(\S*)\s*$")
_SKIP = re.compile(r"^<!--\s*snippet-skip:(.*)-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None = None  # the reason given above the fence; None when it runs

    @property
    def page(self) -> str:
        """The file, relative to the repository."""
        return self.path.relative_to(ROOT).as_posix()

    @property
    def name(self) -> str:
        """``page:line``, for test ids and messages."""
        return f"{self.page}:{self.line}"

    @property
    def realdata(self) -> bool:
        """Whether the block reads the real datasets of ../shared/data."""
        return SHARED in self.code

    def datasets(self) -> list[str]:
        """The ../shared/data folders the block reads (for `helpers.shared`)."""
        return sorted(set(re.findall(r"\.\./shared/data/([\w.-]+)/", self.code)))


def read_blocks(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start + 1}: code block never closed")
        skip = None
        if start > 0 and (s := _SKIP.match(lines[start - 1].strip())):
            skip = s.group(1).strip()
        code = textwrap.dedent("\n".join(lines[start + 1:i]) + "\n")
        out.append(Block(path, start + 1, lang, code, skip))
        i += 1
    return out


def all_blocks(lang: str | None = None) -> list[Block]:
    """The blocks of every documentation file, optionally of one language."""
    blocks = [b for p in DOC_FILES for b in read_blocks(p)]
    return [b for b in blocks if lang is None or b.lang == lang]


def python_pages(*, realdata: bool) -> dict[str, list[Block]]:
    """Per page, its python blocks that run (real-data ones or the others), in order."""
    pages: dict[str, list[Block]] = {}
    for b in all_blocks("python"):
        if b.skip is None and b.realdata == realdata:
            pages.setdefault(b.page, []).append(b)
    return pages


def run_python(block: Block, namespace: dict) -> dict:
    """Run one python block in ``namespace`` (warnings shown to users are not asserted here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block.code, block.name, "exec"), namespace)
    return namespace


def commands(block: Block, program: str) -> list[list[str]]:
    """The command lines of a shell block that start with ``program``, split as the shell does."""
    out = []
    text = block.code.replace("\\\n", " ")
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == program:
            out.append(words[1:])
    return out


def repo_like(tmp_path: Path, shared_data: Path) -> Path:
    """A scratch working folder laid out like the repository; returns it (chdir there yourself).

    ``data`` points at the real one; ``scenarios`` is a copy (a scenario's grid cache is
    written beside it); ``../shared/data`` points at the real datasets when they are there.
    """
    work = tmp_path / "repo"
    work.mkdir()
    (work / "data").symlink_to(ROOT / "data")
    shutil.copytree(ROOT / "scenarios", work / "scenarios",
                    ignore=shutil.ignore_patterns(".carbonpark-cache"))
    if shared_data.exists():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(shared_data)
    return work
