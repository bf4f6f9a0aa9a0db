"""The reference of every scenario key, generated from the models (it cannot drift)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from optimizer.scenario.models import TABLES, ScenarioModel


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"array of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[0])} = {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return {float: "number", int: "integer", str: "string", bool: "boolean"}.get(
        annotation, str(annotation))


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "-"
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, bool):
        return str(value).lower()
    if value in ([], {}):
        return "empty"
    return repr(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _rows(model: type[BaseModel]) -> list[tuple[str, str, str, str, str]]:
    table = TABLES[model]
    out = []
    for key, field in model.model_fields.items():
        out.append((table or "(top level)", key, _type_name(field.annotation), _default(field),
                    field.description or ""))
    return out


def schema_reference() -> str:
    """Every table and key of a scenario file: type, default and description.

    Examples
    --------
    >>> from optimizer.scenario import schema_reference
    >>> print(schema_reference().splitlines()[0])
    Scenario file reference (schema_version = 1). Tables in [brackets]; [[double]] tables repeat.
    """
    lines = ["Scenario file reference (schema_version = 1). Tables in [brackets]; [[double]] "
             "tables repeat.", ""]
    repeated = {"area_budgets", "locks.locked_in", "locks.land_cover_out", "locks.above",
                "penalties.linear", "zones"}
    for model in TABLES:
        name = TABLES[model]
        header = ("top-level keys" if not name else f"[[{name}]]" if name in repeated
                  else f"[{name}]")
        if model is not ScenarioModel:
            doc = (model.__doc__ or "").split(":", 1)[-1].strip()
            header += f" - {doc}"
        else:
            header += " - " + (model.__doc__ or "").strip()
        if name == "locks.locked_in":
            header = "[[locks.locked_in]] and [[locks.locked_out]] - units by column or by id"
        lines.append(header)
        for _, key, typ, default, desc in _rows(model):
            lines.append(f"  {key:<17} {typ:<38} default {default:<20} {desc}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
