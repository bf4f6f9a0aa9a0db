"""One-line messages for what is wrong in a scenario file.

`validation_message` turns the first error of a pydantic ``ValidationError`` into
``"<file>: [<table>] <what>; <fix>"``: an unknown key names the nearest valid key, a
wrong type names the field, what was given and what is expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ValidationError

from optimizer.errors import InputDataError, ScenarioError, did_you_mean

_EXPECTED = {
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
    "list_type": "an array", "literal_error": "", "string_pattern_mismatch": "",
}


def _walk(model: type[BaseModel], data: Any, loc: tuple[Any, ...]
          ) -> tuple[type[BaseModel], list[str], str | None]:
    """The innermost model, the table path and the key that ``loc`` points at.

    Union branch tags (``'float'``, ``'dict[str,float]'``) that pydantic adds to a
    location are skipped: only steps that exist in the data count.
    """
    path: list[str] = []
    key: str | None = None
    table: type[BaseModel] = model
    current: type[BaseModel] | None = model
    for i, step in enumerate(loc):
        if isinstance(step, int) and isinstance(data, list) and 0 <= step < len(data):
            path[-1] = f"{path[-1]}[{step + 1}]" if path else f"[{step + 1}]"
            data = data[step]
            continue
        if not (isinstance(step, str) and isinstance(data, dict)):
            continue
        if step not in data and not (i == len(loc) - 1 and current is not None
                                     and step in current.model_fields):
            continue  # a union branch tag, not a key
        field = current.model_fields.get(step) if current is not None else None
        sub = _submodel(field.annotation) if field is not None else None
        data = data.get(step)
        if sub is not None and isinstance(data, dict | list):
            path.append(step)
            table = current = sub
            key = None
        else:
            key = step if key is None else f"{key}.{step}"
            current = None
    return table, path, key


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _table(path: list[str]) -> str:
    return f"[{'.'.join(path)}] " if path else ""


def validation_message(exc: ValidationError, data: dict[str, Any], model: type[BaseModel],
                       source: str) -> str:
    """One line for the first error of ``exc`` (the file is ``source``)."""
    errors = exc.errors()
    walked = [_walk(model, data, tuple(e["loc"])) for e in errors]
    # Of a union's errors, the one that reaches deepest into the data is the one meant.
    depth = [len(w[1]) + (len(w[2].split(".")) if w[2] else 0) for w in walked]
    i = max(range(len(errors)), key=lambda j: (depth[j], -j))
    first = errors[i]
    table_model, path, key = walked[i]
    where = f"{source}: {_table(path)}"
    kind = first["type"]
    if kind == "extra_forbidden":
        valid = list(table_model.model_fields)
        name = key.rsplit(".", 1)[-1] if key else "?"
        hint = did_you_mean(name, valid) or f"; valid keys: {', '.join(valid)}"
        table = "top-level key" if not path else "unknown key"
        return f"{where}{'unknown ' if not path else ''}{table} {name!r}{hint}"
    if kind == "missing":
        return f"{where}missing key {key!r}; add it (see `carbonpark scenario schema`)"
    if kind == "value_error":
        text = str(first["ctx"].get("error", first["msg"])) if first.get("ctx") else first["msg"]
        return f"{where}{text}"
    given = first.get("input")
    bound = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
             "less_than_equal": "<="}.get(kind)
    if bound:
        limit = next(iter(first["ctx"].values()))
        return f"{where}{key}: must be {bound} {limit:g}; got {_show(given)}"
    if key == "schema_version" and not path:
        return f"{where}schema_version {given!r} is not supported; write schema_version = 1"
    same = [e for e, w in zip(errors, walked, strict=True) if w[1:] == (path, key)]
    wants = []
    for e in same:
        want = _EXPECTED.get(e["type"], "")
        if e["type"] == "literal_error":
            want = f"one of {e['ctx']['expected']}"
        elif e["type"] == "string_pattern_mismatch":
            want = "highs, cut, auto or pulp:<solver name>"
        elif not want:
            want = e["msg"].lower().replace("input should be ", "")
        if want not in wants:
            wants.append(want)
    hint = ""
    if isinstance(given, str) and first["type"] == "literal_error":
        hint = did_you_mean(given, [c.strip("' ") for c in
                                    first["ctx"]["expected"].replace(" or ", ",").split(",")])
    return (f"{where}{key or 'value'}: expected {' or '.join(wants)}; got "
            f"{_show(given)}{hint}")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


@contextmanager
def blame_scenario(scenario: Any, table: str) -> Iterator[None]:
    """Re-raise an `InputDataError` as a one-line `ScenarioError` naming the file and table.

    ``scenario`` is anything with a ``source`` (the file messages name): a `Scenario`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from optimizer.errors import InputDataError
    >>> try:
    ...     with blame_scenario(SimpleNamespace(source="a.toml"), "grid"):
    ...         raise InputDataError("no such folder")
    ... except ScenarioError as exc:
    ...     print(exc)
    a.toml: [grid] no such folder
    """
    try:
        yield
    except ScenarioError:
        raise
    except InputDataError as exc:
        where = f"[{table}] " if table else ""
        raise ScenarioError(f"{scenario.source}: {where}{exc}") from None
