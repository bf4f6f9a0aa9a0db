"""Scenario files: a planning question as TOML, validated, hashed and turned into a `Problem`.

A scenario names the grid (a grid folder, or a grid manifest plus ``cell_km``), the
objective, the budget, weights, targets, per-region and per-ecosystem budgets, locks,
penalties and solver options. It is validated by pydantic (``extra="forbid"``,
``schema_version = 1``); every mistake is one line naming the file, the table and key,
and the fix. Paths are relative to the file. ``carbonpark scenario schema`` prints every
key; ``carbonpark scenario check FILE`` validates a file and prints its problem.

* `Scenario` - `Scenario.load`, `Scenario.dumps` / `Scenario.dump`, `Scenario.hash`,
  `Scenario.to_problem` (through the public ``add_*`` methods only).
* `solve_scenario` - load or build the grid, build the problem, solve it.
* `schema_reference` - the reference of every key, generated from the models.

This package imports pydantic; ``import optimizer`` does not import it.
"""

from optimizer.scenario.file import Scenario
from optimizer.scenario.models import SCHEMA_VERSION
from optimizer.scenario.reference import schema_reference
from optimizer.scenario.solve import solve_scenario

__all__ = ["SCHEMA_VERSION", "Scenario", "schema_reference", "solve_scenario"]
