"""Which carbonpark TOML file a table is: a grid manifest, a scenario or a sweep file.

The three kinds of TOML file carbonpark reads look alike (each has a ``[grid]`` table), so a
file of one kind given where another is expected used to fail on a key of the wrong schema
("[grid] unknown key 'study_area'"). Each reader calls `check_toml_kind` before validating:
a file of another kind gets one line saying what it is and the command that takes it.

Examples
--------
>>> toml_kind({"grid": {"study_area": "a.gpkg"}, "layers": []})
'manifest'
>>> toml_kind({"schema_version": 1, "base": "balanced.toml", "parameters": {}})
'sweep'
>>> toml_kind({"grid": {"manifest": "../data/demo.toml"}, "budget": {"share": 0.1}})
'scenario'
>>> check_toml_kind({"grid": {}, "layers": []}, "scenario", "demo.toml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
optimizer.errors.InputDataError: demo.toml: this is a grid manifest (it lists [[layers]]), not a scenario; ...
"""

from __future__ import annotations

from typing import Any, Literal

from optimizer.errors import InputDataError

__all__ = ["TomlKind", "check_toml_kind", "toml_kind"]

TomlKind = Literal["manifest", "scenario", "sweep"]

#: Each kind in words (with what gives it away) and the command that takes a file of it.
_WORDS: dict[str, tuple[str, str, str]] = {
    "manifest": ("a grid manifest", " (it lists [[layers]])",
                 "name it in a scenario's [grid] manifest = \"...\", or build its grid with "
                 "`carbonpark grid {path}`"),
    "scenario": ("a scenario", "", "solve it with `carbonpark solve {path}` (or check it with "
                 "`carbonpark scenario check {path}`)"),
    "sweep": ("a sweep file", " (it has base and parameters)",
              "run it with `carbonpark sweep {path}`"),
}

#: Top-level keys only a scenario has.
_SCENARIO_KEYS = frozenset({"objective", "budget", "weights", "targets", "locks", "penalties",
                            "solver", "area_budgets", "closure"})


def toml_kind(data: Any) -> TomlKind | None:
    """The kind of carbonpark file a parsed TOML table is, or None when it is none of them."""
    if not isinstance(data, dict):
        return None
    if "layers" in data:
        return "manifest"
    if "base" in data and "parameters" in data:
        return "sweep"
    grid = data.get("grid")
    if _SCENARIO_KEYS & set(data) or (isinstance(grid, dict) and {"manifest", "path"} & set(grid)):
        return "scenario"
    return None


def check_toml_kind(data: Any, expected: TomlKind, source: str,
                    error: type[InputDataError] = InputDataError) -> None:
    """Raise ``error`` (one line) when ``data`` is plainly another kind of carbonpark file.

    A table of no recognisable kind passes: the reader's own schema names what is wrong.
    """
    kind = toml_kind(data)
    if kind is None or kind == expected:
        return
    what, why, use = _WORDS[kind]
    raise error(f"{source}: this is {what}{why}, not {_WORDS[expected][0]}; "
                + use.format(path=source))
