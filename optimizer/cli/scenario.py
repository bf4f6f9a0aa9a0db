"""``carbonpark scenario``: check a scenario file, print the reference of every key."""

from __future__ import annotations

import argparse
from pathlib import Path


def _add_scenario(sub: argparse._SubParsersAction) -> None:
    from optimizer.cli.parser import _Parser

    p = sub.add_parser("scenario", help="check scenario files; print the scenario reference")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    check = actions.add_parser(
        "check", help="validate a scenario file, build its problem and print it")
    check.add_argument("file", type=Path, help="scenario file (TOML)")
    check.set_defaults(func=cmd_check)
    schema = actions.add_parser("schema", help="print every table and key of a scenario file")
    schema.set_defaults(func=cmd_schema)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a scenario, build (or read) its grid and problem, print both summaries."""
    from optimizer.scenario import Scenario

    scenario = Scenario.load(args.file)
    pu = scenario.load_grid()
    problem = scenario.to_problem(pu)
    zoned = scenario.to_zoned_problem(pu, problem) if scenario.zones else None
    print(scenario.describe(pu))
    print(f"Scenario hash {scenario.hash[:16]}.")
    print()
    print(problem)
    if zoned is not None:  # each zone as resolved: its units allowed and contributions
        print("zones (every selected unit in one):")
        for zi, name in enumerate(zoned.names):
            shares = ", ".join(f"{f} {c:g}" for f, c in zip(zoned.features,
                                                            zoned.contribution[zi], strict=True))
            print(f"  {name}: {int(zoned.allowed[zi].sum()):,} units allowed; holds {shares}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the reference of every scenario key (generated from the models)."""
    from optimizer.scenario import schema_reference

    print(schema_reference(), end="")
    return 0
