"""``--set table.key=value`` overrides of a scenario, for quick what-ifs.

`apply_overrides` sets any scenario key by its dotted path (``budget.share=0.1``,
``solver.time_limit=30``, ``weights.carbon=2``), the value parsed as TOML (a bare word
that is not TOML is taken as a string), then validates the result with the same models
as a file, so a mistake is the same one-line error naming the key and the nearest name.
Setting one key of ``[budget]`` replaces the others (a budget is exactly one of them);
``grid.path`` replaces ``grid.manifest`` and ``grid.cell_km`` (a grid folder has its cells),
``grid.manifest`` replaces ``grid.path``. A path given with ``--set`` (``grid.path``,
``grid.manifest``, ``grid.cache``) is relative to the current folder, as any path on a
command line (git, GDAL), not to the scenario's folder; it is recorded absolute. The
overridden scenario's `Scenario.hash` is its own.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optimizer.errors import ScenarioError
from optimizer.scenario.file import Scenario

__all__ = ["apply_overrides", "parse_override"]

_BUDGET_KEYS = ("km2", "share", "total_protection")

#: The keys whose values are paths: relative to the current folder when given with --set.
PATH_KEYS = ("grid.path", "grid.manifest", "grid.cache")

#: What setting a ``[grid]`` key removes: the keys it cannot go with.
_GRID_REPLACES = {"path": ("manifest", "cell_km"), "manifest": ("path",)}


def parse_override(text: str) -> tuple[str, Any]:
    """``"budget.share=0.1"`` -> ``("budget.share", 0.1)`` (the value parsed as TOML).

    Examples
    --------
    >>> parse_override("budget.share=0.1")
    ('budget.share', 0.1)
    >>> parse_override("solver.backend = highs")
    ('solver.backend', 'highs')
    >>> parse_override("weights = {carbon = 2}")
    ('weights', {'carbon': 2})
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise ScenarioError(f"--set {text!r}: write KEY=VALUE with a dotted key, e.g. --set "
                            "budget.share=0.1")
    if any(not part.strip() for part in key.split(".")):
        raise ScenarioError(f"--set {text!r}: the key {key!r} has an empty part; write e.g. "
                            "budget.share=0.1")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if any(c in raw for c in "\"'[]{}=,") or raw[0].isdigit() or raw[0] in "+-.":
            raise ScenarioError(f"--set {key}: the value {raw!r} is not a TOML value; write a "
                                "number (0.1), true/false, a \"string\", [a, list] or "
                                "{an = inline table}") from None
        value = raw  # a bare word: a string
    return key, value


def apply_overrides(scenario: Scenario, sets: Sequence[str]) -> tuple[Scenario, dict[str, Any]]:
    """The scenario with each ``KEY=VALUE`` of ``sets`` applied, validated; and the overrides.

    Examples
    --------
    >>> s = Scenario.loads('schema_version = 1\\ngrid.path = "g"\\nbudget.share = 0.1')
    >>> t, done = apply_overrides(s, ["budget.km2=5000", "solver.gap=0.01"])
    >>> t.budget.km2, t.budget.share, t.solver.gap, done
    (5000.0, None, 0.01, {'budget.km2': 5000.0, 'solver.gap': 0.01})
    >>> apply_overrides(s, ["budget.shar=0.2"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optimizer.errors.ScenarioError: scenario with --set budget.shar=0.2: [budget] unknown key ...

    A path is relative to the current folder:

    >>> import os
    >>> t, done = apply_overrides(s, ["grid.path=grids/g10"])
    >>> done["grid.path"] == os.path.join(os.getcwd(), "grids", "g10") == t.grid.path
    True
    """
    if not sets:
        return scenario, {}
    data = copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
    done: dict[str, Any] = {}
    for text in sets:
        key, value = parse_override(text)
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a "
                                    "table; set it directly, e.g. --set "
                                    f"{'.'.join(parts[:i + 1])}=...")
            node = child
        if parts[:-1] == ["budget"] and parts[-1] in _BUDGET_KEYS:
            for other in _BUDGET_KEYS:
                node.pop(other, None)
        if parts[:-1] == ["grid"]:
            for other in _GRID_REPLACES.get(parts[-1], ()):
                node.pop(other, None)
        if key in PATH_KEYS and isinstance(value, str):
            value = os.path.abspath(Path(value).expanduser())  # as a shell user means it
        if isinstance(value, int) and not isinstance(value, bool):
            value = _as_float_where_needed(scenario, parts, value)
        node[parts[-1]] = value
        done[key] = value
    source = f"{scenario.source} with --set {' '.join(sets)}"
    return Scenario.from_dict(data, base=scenario.base, source=source), done


def _as_float_where_needed(scenario: Scenario, parts: list[str], value: int) -> int | float:
    """``--set budget.km2=5000`` means 5000.0: an integer given for a float key (strict models)."""
    from pydantic import BaseModel

    model: Any = type(scenario)
    for part in parts:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return float(value) if model is dict else value
        field = model.model_fields.get(part)
        if field is None:
            return value
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), ann)
        if model is ann and args and float in args and int not in args:
            return float(value)
        if ann is float:
            return float(value)
        if getattr(ann, "__origin__", None) is dict:
            model = dict
    return float(value) if model is dict else value
