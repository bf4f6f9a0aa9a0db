"""The sweep file: a base scenario and the parameters to vary, expanded into runs.

A *sweep file* (TOML) names a base scenario file and the parameters to vary, each a
dotted scenario key (``budget.share``, ``weights.carbon``, ``penalties.boundary.penalty``,
``area_budgets[0].max_km2`` ...) with a list of values, combined as a product (every
combination) or zipped (the i-th value of each). `Sweep.load` reads one and `Sweep.runs`
expands it into `Run`\\ s: full scenarios (validated, hashed), each with how it is solved
(`optimizer.studies.sweep_worker.solve_methods`). `optimizer.studies.sweep` runs them.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.errors import ScenarioError, did_you_mean
from optimizer.inputs.toml_kinds import check_toml_kind
from optimizer.plan.comparison import plan_name
from optimizer.scenario import Scenario
from optimizer.scenario.inputs import scenario_inputs
from optimizer.studies.sweep_worker import solve_methods

__all__ = ["Run", "Sweep", "set_key"]

_SWEEP_KEYS = {"schema_version", "name", "description", "base", "combine", "path",
               "parameters", "set"}
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[(\d+)\])?$")
#: Keys of ``[budget]``: setting one replaces the others (a budget has exactly one).
_BUDGET_KEYS = ("km2", "share", "total_protection")
#: `Run.method` of a run read from the nested path of the cut solver, then polished by a

# ============================================================== the sweep file

def set_key(data: dict[str, Any], key: str, value: Any, *, source: str = "sweep") -> None:
    """Set the dotted scenario ``key`` (``a.b``, ``a[0].b``) in ``data`` in place.

    Setting one key of ``budget`` drops the others (a budget has exactly one kind).

    Examples
    --------
    >>> d = {"budget": {"km2": 5.0}, "area_budgets": [{"region": "north", "max_km2": 1.0}]}
    >>> set_key(d, "budget.share", 0.1); set_key(d, "area_budgets[0].max_km2", 2.0)
    >>> d
    {'budget': {'share': 0.1}, 'area_budgets': [{'region': 'north', 'max_km2': 2.0}]}
    """
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        m = _KEY.match(part)
        if m is None:
            raise ScenarioError(f"{source}: parameter {key!r} is not a dotted scenario key; "
                                "write e.g. budget.share or area_budgets[0].max_km2")
        name, index = m.group(1), m.group(3)
        last = i == len(parts) - 1
        if last and index is None:
            if parts[:-1] == ["budget"] and name in _BUDGET_KEYS:
                for other in _BUDGET_KEYS:
                    node.pop(other, None)
            node[name] = value
            return
        if index is None:
            node = node.setdefault(name, {})
        else:
            items = node.get(name)
            if not isinstance(items, list) or int(index) >= len(items):
                n = len(items) if isinstance(items, list) else 0
                raise ScenarioError(f"{source}: parameter {key!r}: the base scenario has {n} "
                                    f"{name} entr{'y' if n == 1 else 'ies'}; index from 0 to "
                                    f"{n - 1}" if n else f"{source}: parameter {key!r}: the "
                                    f"base scenario has no {name}; add one to the base first")
            if last:
                items[int(index)] = value
                return
            node = items[int(index)]
        if not isinstance(node, dict):
            raise ScenarioError(f"{source}: parameter {key!r}: {name} is a value, not a table")


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its parameters (dotted key -> value), scenario and method.

    ``hash`` names the run's result (``runs/<hash>.parquet``): the scenario's hash and
    ``method`` (how it is solved: ``solve:<backend>``, `PATH_POLISH` or `PATH_READ`), so
    results of two methods never stand in for each other.
    """

    index: int
    params: dict[str, Any]
    scenario: Scenario
    scenario_hash: str
    method: str

    @property
    def hash(self) -> str:
        """The run's hash: of its scenario's hash and its method."""
        return hashlib.sha256(f"{self.scenario_hash}|{self.method}".encode()).hexdigest()

    @property
    def name(self) -> str:
        """The scenario's name with the run's parameters, e.g. ``balanced (budget.share=0.1)``."""
        return plan_name({"scenario": {"name": self.scenario.name or "run",
                                       "overrides": {k: _text(v) for k, v in self.params.items()}}})


def _text(value: Any) -> str:
    """A parameter value as written in a name: numbers as Python writes them, text as is."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


@dataclass
class Sweep:
    """A base scenario and its parameters, expanded into `Run`\\ s (`Sweep.runs`).

    Make one with `Sweep.load` (a sweep file) or `Sweep.from_dict`.
    """

    name: str
    base: Scenario
    parameters: dict[str, list[Any]]
    combine: str = "product"
    path: str = "auto"
    fixed: dict[str, Any] = field(default_factory=dict)
    source: str = "sweep"
    description: str = ""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sweep:
        """Read a sweep file; its ``base`` is relative to the file's folder."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{p}: sweep file not found; check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{p}: cannot read the sweep file ({exc})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{p}: not valid TOML ({exc})") from None
        return cls.from_dict(data, base_dir=p.parent, source=str(p))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_dir: str | os.PathLike[str] = ".",
                  source: str = "sweep") -> Sweep:
        """A sweep from a mapping (as TOML would give it); see the module docstring."""
        check_toml_kind(data, "sweep", source, ScenarioError)
        unknown = sorted(set(data) - _SWEEP_KEYS)
        if unknown:
            raise ScenarioError(f"{source}: unknown key {unknown[0]!r}"
                                f"{did_you_mean(unknown[0], sorted(_SWEEP_KEYS))}")
        if data.get("schema_version") != 1:
            raise ScenarioError(f"{source}: schema_version must be 1; got "
                                f"{data.get('schema_version')!r}")
        base = data.get("base")
        if isinstance(base, str):
            scenario = Scenario.load(Path(base_dir) / base)
        elif isinstance(base, dict):
            scenario = Scenario.from_dict(base, base=Path(base_dir), source=f"{source} [base]")
        else:
            raise ScenarioError(f"{source}: give base = a scenario file, or a [base] table")
        combine = data.get("combine", "product")
        if combine not in ("product", "zip"):
            raise ScenarioError(f"{source}: combine must be 'product' or 'zip'; got {combine!r}")
        nested = data.get("path", "auto")
        if nested not in ("auto", "never"):
            raise ScenarioError(f"{source}: path must be 'auto' or 'never'; got {nested!r}")
        params = data.get("parameters", {})
        if not isinstance(params, dict) or not params:
            raise ScenarioError(f"{source}: give a [parameters] table of scenario key = [values]")
        for key, values in params.items():
            if not isinstance(values, list) or not values:
                raise ScenarioError(f"{source}: [parameters] {key!r} must be a non-empty list "
                                    f"of values; got {values!r}")
        if combine == "zip" and len({len(v) for v in params.values()}) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in params.items())
            raise ScenarioError(f"{source}: combine = 'zip' needs lists of one length; got {sizes}")
        sweep = cls(name=str(data.get("name", "")), base=scenario, parameters=dict(params),
                    combine=combine, path=nested, fixed=dict(data.get("set", {})),
                    source=source, description=str(data.get("description", "")))
        sweep.runs  # validate every run now: a mistake is named before any work  # noqa: B018
        return sweep

    @property
    def combinations(self) -> list[dict[str, Any]]:
        """The parameters of each run, in order."""
        keys = list(self.parameters)
        values = (itertools.product(*self.parameters.values()) if self.combine == "product"
                  else zip(*self.parameters.values(), strict=True))
        return [dict(zip(keys, v, strict=True)) for v in values]

    @property
    def runs(self) -> list[Run]:
        """Every run (validated scenarios), duplicates (same hash) dropped."""
        if not hasattr(self, "_runs"):

            base = self.base.to_dict()
            for key, value in self.fixed.items():
                set_key(base, key, value, source=f"{self.source} [set]")
            found: list[tuple[dict[str, Any], Scenario, str]] = []
            seen: set[str] = set()
            for params in self.combinations:
                data = copy.deepcopy(base)
                for key, value in params.items():
                    set_key(data, key, value, source=self.source)
                label = ", ".join(f"{k} = {v!r}" for k, v in params.items())
                s = Scenario.from_dict(data, base=self.base.base,
                                       source=f"{self.source} (run {label})")
                h = s.hash
                if h not in seen:
                    seen.add(h)
                    found.append((params, s, h))
            methods = solve_methods([s for _, s, _ in found], self.path)
            self._runs = [Run(i, params, s, h, method)
                          for i, ((params, s, h), method) in enumerate(zip(found, methods,
                                                                          strict=True))]
        return self._runs

    @property
    def inputs(self) -> list[Path]:
        """Every path the sweep reads: its file, then what its base and each run read
        (`optimizer.scenario.inputs.scenario_inputs`); never written into or over."""
        out = [Path(self.source)] if os.path.isfile(self.source) else []
        seen: set[tuple[object, ...]] = set()
        for s in [self.base, *(r.scenario for r in self.runs)]:
            g = s.grid
            key = (s.source if s is self.base else None, str(s.base), g.path, g.manifest, g.cache)
            if key not in seen:  # runs that share a grid read the same files
                seen.add(key)
                out += scenario_inputs(s)
        return list(dict.fromkeys(out))

    def describe(self) -> str:
        """One line: name, number of runs, parameters."""
        keys = ", ".join(f"{k} ({len(v)})" for k, v in self.parameters.items())
        return (f"Sweep {self.name or self.source!r}: {len(self.runs)} runs, {self.combine} of "
                f"{keys}, base {self.base.source}.")

