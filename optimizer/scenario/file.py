"""`Scenario`: a scenario file read, validated, written back and hashed.

The tables are the models of `optimizer.scenario.models`; this module adds what a file
needs: reading TOML with one-line errors (`Scenario.load`, `Scenario.loads`), writing it
back (`Scenario.dumps`, `Scenario.dump`), paths relative to the file (`Scenario.base`),
and the stable hash (`Scenario.hash`). Building the problem is in
`optimizer.scenario.build`.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr, ValidationError

from optimizer.atomic import write_text_atomic
from optimizer.errors import ScenarioError
from optimizer.inputs.toml_kinds import check_toml_kind
from optimizer.scenario.build import describe, grid_hash, load_grid, to_problem
from optimizer.scenario.lock_files import file_digest, locks_digest
from optimizer.scenario.messages import validation_message
from optimizer.scenario.models import ScenarioModel
from optimizer.scenario.zone_tables import to_zoned_problem

if TYPE_CHECKING:
    from optimizer.grid.build import PlanningUnits
    from optimizer.model.problem import Problem
    from optimizer.model.zones import ZonedProblem

#: Keys left out of the hash: they name or describe a scenario but change no result.
_UNHASHED = {"name", "description"}


class Scenario(ScenarioModel):
    """A validated scenario: grid, objective, budget, weights, targets, locks, penalties, solver.

    Make one with `Scenario.load` (a file), `Scenario.loads` (TOML text) or from keyword
    arguments (``Scenario.model_validate(dict)``; paths are then relative to the current
    folder, or to ``base``). See ``carbonpark scenario schema`` for every key.

    Examples
    --------
    >>> from optimizer.scenario import Scenario
    >>> s = Scenario.loads('''
    ... schema_version = 1
    ... [grid]
    ... path = "grids/demo"
    ... [budget]
    ... share = 0.1
    ... [weights]
    ... carbon = 1
    ... ''')
    >>> s.objective.kind, s.budget.share, s.weights
    ('max_utility', 0.1, {'carbon': 1.0})
    >>> Scenario.loads(s.dumps()) == s
    True
    >>> Scenario.loads('schema_version = 1\\n[grid]\\npath = "g"\\n[budget]\\nshar = 0.1')
    Traceback (most recent call last):
    ...
    optimizer.errors.ScenarioError: scenario: [budget] unknown key 'shar'; did you mean 'share'?
    """

    _base: Path = PrivateAttr(default_factory=Path)
    _source: str = PrivateAttr("scenario")

    # ---------------------------------------------------------- reading
    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario file; its paths are relative to its folder.

        Raises
        ------
        ScenarioError
            The file is missing or not TOML, or a key or value is wrong: one line naming
            the file, the table and key, what was wrong and the fix.
        """
        path = Path(path)
        if path.is_dir():
            raise ScenarioError(f"{path}: is a folder, not a scenario file; give the .toml file")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path}: scenario file not found; check the path") from None
        except UnicodeDecodeError:
            raise ScenarioError(f"{path}: not a scenario file (not UTF-8 text); give the .toml "
                                "file") from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror})") from None
        return cls.loads(text, base=path.parent, source=str(path))

    @classmethod
    def loads(cls, text: str, *, base: str | Path | None = None, source: str = "scenario"
              ) -> Scenario:
        """Validate a scenario from TOML text; paths are relative to ``base`` (default: cwd)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{source}: not valid TOML ({exc})") from None
        return cls.from_dict(data, base=base, source=source)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: str | Path | None = None,
                  source: str = "scenario") -> Scenario:
        """Validate a scenario from a mapping (as TOML would give it)."""
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: a scenario is a table of keys; got "
                                f"{type(data).__name__}")
        check_toml_kind(data, "scenario", source, ScenarioError)
        try:
            scenario = cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(validation_message(exc, data, ScenarioModel, source)) from None
        scenario._base = Path(base) if base is not None else Path()
        scenario._source = source
        return scenario

    # ---------------------------------------------------------- writing
    def to_dict(self) -> dict[str, Any]:
        """The scenario as TOML-ready data (keys left unset are omitted)."""
        return self.model_dump(mode="json", exclude_none=True)

    def dumps(self) -> str:
        """The scenario as TOML text; `Scenario.loads` gives it back unchanged."""
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def dump(self, path: str | Path) -> Path:
        """Write the scenario as a TOML file (atomically); returns the path.

        Paths in the scenario are written as they are: relative paths stay relative to
        the scenario's `base`, so write beside the original (or use absolute paths).
        """

        return write_text_atomic(path, self.dumps())

    # ---------------------------------------------------------- facts
    @property
    def base(self) -> Path:
        """The folder that relative paths are resolved against (the file's folder)."""
        return self._base

    @property
    def source(self) -> str:
        """The file (or ``"scenario"``) that messages name."""
        return self._source

    def resolve(self, path: str) -> Path:
        """A path of the scenario, resolved against `base`."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self._base / p

    def content_hash(self) -> str:
        """SHA-256 of the normalised content alone (no grid): key order, whitespace,
        comments, ``name``, ``description`` and the grid's path do not count."""
        data = self.model_dump(mode="json", exclude=_UNHASHED)
        data["grid"] = {k: v for k, v in data["grid"].items()
                        if k not in ("path", "manifest", "cache")}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def hash(self) -> str:
        """Stable hash of the scenario: its normalised content plus the grid's content hash.

        Two files that differ only in key order, whitespace, comments, name or description
        hash alike; any value, or any byte of the grid (or of the layers and manifest it is
        built from, or of a polygon lock's file), changes it. Used for caching and by sweeps.
        """

        locks = locks_digest(self)  # polygon lock files: their bytes too (none: as before)
        conn = self.penalties.connectivity  # a connectivity file: its bytes too
        if conn is not None and conn.file is not None and self.resolve(conn.file).is_file():
            locks += f":{file_digest(self.resolve(conn.file))}"
        text = f"{self.content_hash()}:{grid_hash(self)}" + (f":{locks}" if locks else "")
        return hashlib.sha256(text.encode()).hexdigest()

    # ---------------------------------------------------------- building
    def load_grid(self, *, progress: bool = False, max_units: int | None = None
                  ) -> PlanningUnits:
        """The planning units: read the grid folder, or build (once, cached) from the manifest.

        ``progress`` and ``max_units``: as for `optimizer.grid.build.build_grid`, when built.
        """

        return load_grid(self, progress=progress, max_units=max_units)

    def to_problem(self, pu: PlanningUnits | None = None) -> Problem:
        """The `Problem` this scenario states, built through the public ``add_*`` methods.

        Parameters
        ----------
        pu : PlanningUnits, optional
            The planning units (default: `load_grid`).

        Examples
        --------
        >>> from optimizer.datasets import tiny_grid
        >>> from optimizer.scenario import Scenario
        >>> s = Scenario.loads('''
        ... schema_version = 1
        ... grid.path = "unused: the units are given"
        ... budget.km2 = 2
        ... weights.carbon = 1
        ... ''')
        >>> p = s.to_problem(tiny_grid())
        >>> p.objective.kind, p.total_budget().max_km2
        ('max_utility', 2.0)
        """

        return to_problem(self, self.load_grid() if pu is None else pu)

    def to_zoned_problem(self, pu: PlanningUnits | None = None, base: Problem | None = None
                         ) -> ZonedProblem:
        """The scenario's problem with its ``[[zones]]`` (`optimizer.model.zones`).

        ``base`` is `to_problem`'s problem when the caller has it (built here otherwise).
        """
        pu = self.load_grid() if pu is None else pu
        return to_zoned_problem(self, pu, self.to_problem(pu) if base is None else base)

    def describe(self, pu: PlanningUnits | None = None) -> str:
        """A one-paragraph summary of the scenario (with the budget in km² when ``pu`` is given)."""

        return describe(self, pu)
