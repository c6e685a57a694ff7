"""A tool's JSON schema from its Python signature, and the model's arguments checked against it.

The model writes the arguments as JSON text; nothing it writes reaches a tool unchecked: the
text must be an object of the declared parameters (no others), each of its declared type,
within the caps below, and enums are handed over as the Enum members the function declared.
"""

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ARGUMENTS_MAX_CHARS = 16_000  # the model's JSON text for one call
STRING_MAX_CHARS = 2_000  # one string argument
LIST_MAX_ITEMS = 100  # one list argument
DESCRIPTION_MAX_CHARS = 1_024  # OpenAI's limit on a function's description

_NONE_TYPES = (type(None),)
_SCALARS: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class ToolDefinitionError(TypeError):
    """A function that cannot be offered to the model as it is written (raised at import)."""


class ArgumentsError(ValueError):
    """The model's arguments do not fit the tool's schema; the message says how, for the model."""


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any  # the declared type, None stripped from an Optional
    schema: dict[str, Any]
    required: bool
    nullable: bool


def _is_optional(annotation: Any) -> tuple[bool, Any]:
    """(True, X) for `X | None` / `Optional[X]`, else (False, annotation)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a not in _NONE_TYPES]
        if len(members) == 1 and len(members) < len(typing.get_args(annotation)):
            return True, members[0]
    return False, annotation


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {type(value) for value in values}
    if len(kinds) != 1 or next(iter(kinds)) not in (str, int):
        raise ToolDefinitionError("Enum and Literal values must all be strings or all integers.")
    return {"type": "string" if kinds == {str} else "integer", "enum": values}


def type_schema(annotation: Any, *, where: str) -> dict[str, Any]:
    """The JSON schema of one annotation: str, int, float, bool, an Enum, a Literal, or a
    list of one of those."""
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return _enum_schema([member.value for member in annotation])
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return _enum_schema(list(typing.get_args(annotation)))
    if origin is list:
        (item,) = typing.get_args(annotation) or (None,)
        if item is None or typing.get_origin(item) is list:
            raise ToolDefinitionError(f"{where}: a list needs one item type, e.g. list[str].")
        return {"type": "array", "items": type_schema(item, where=where)}
    raise ToolDefinitionError(
        f"{where}: {annotation!r} is not a type a tool can take (str, int, float, bool, an Enum, "
        "a Literal, a list of those, or one of them | None)."
    )


def parameters_of(function: Callable[..., Any], *, name: str) -> list[Parameter]:
    """The model-facing parameters: every one after the first (the `ToolContext`)."""
    signature = inspect.signature(function)
    declared = list(signature.parameters.values())
    if not declared or declared[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise ToolDefinitionError(f"Tool {name}: its first parameter must take the ToolContext.")
    hints = typing.get_type_hints(function)
    parameters = []
    for parameter in declared[1:]:
        where = f"Tool {name}, parameter {parameter.name}"
        if parameter.kind not in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            raise ToolDefinitionError(f"{where}: tools take named parameters only.")
        if parameter.name not in hints:
            raise ToolDefinitionError(f"{where}: it needs a type annotation.")
        nullable, annotation = _is_optional(hints[parameter.name])
        has_default = parameter.default is not inspect.Parameter.empty
        parameters.append(
            Parameter(
                name=parameter.name,
                annotation=annotation,
                schema=type_schema(annotation, where=where),
                required=not (has_default or nullable),
                nullable=nullable,
            )
        )
    return parameters


_ARGS_HEADER = re.compile(r"^(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^(\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")


def describe(function: Callable[..., Any], *, name: str) -> tuple[str, dict[str, str]]:
    """The docstring's first paragraph, and each parameter's text from a simple `Args:`
    section (`name: text` or `name (type): text`, continued on more-indented lines)."""
    doc = inspect.getdoc(function)
    if not doc or not doc.strip():
        raise ToolDefinitionError(f"Tool {name}: it needs a docstring, the model's description.")
    first_paragraph = re.split(r"\n\s*\n", doc.strip())[0]
    if _ARGS_HEADER.match(first_paragraph.splitlines()[0]):
        raise ToolDefinitionError(f"Tool {name}: its docstring must begin with what it does.")
    summary = " ".join(first_paragraph.split())[:DESCRIPTION_MAX_CHARS]
    return summary, _argument_texts(doc.splitlines())


def _argument_texts(lines: list[str]) -> dict[str, str]:
    start = next((i + 1 for i, line in enumerate(lines) if _ARGS_HEADER.match(line)), None)
    if start is None:
        return {}
    texts: dict[str, str] = {}
    indent: int | None = None  # of the argument lines; deeper lines continue one
    current = None
    for line in lines[start:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            break  # the next section
        indent = depth if indent is None else indent
        matched = _ARG_LINE.match(line.strip())
        if depth == indent and matched:
            current = matched.group(1)
            texts[current] = matched.group(2).strip()
        elif depth > indent and current is not None:
            texts[current] = f"{texts[current]} {line.strip()}".strip()
    return texts


def parameters_schema(parameters: list[Parameter], descriptions: dict[str, str]) -> dict[str, Any]:
    properties = {}
    for parameter in parameters:
        schema = dict(parameter.schema)
        if parameter.name in descriptions:
            schema["description"] = descriptions[parameter.name]
        properties[parameter.name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": [p.name for p in parameters if p.required],
        "additionalProperties": False,
    }


# --- the model's arguments ----------------------------------------------------------------------


def arguments_parse(text: str, parameters: list[Parameter]) -> dict[str, Any]:
    """The model's JSON arguments as keyword arguments for the function, or `ArgumentsError`."""
    if len(text) > ARGUMENTS_MAX_CHARS:
        raise ArgumentsError(f"The arguments are longer than {ARGUMENTS_MAX_CHARS} characters.")
    try:
        given = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ArgumentsError("The arguments are not valid JSON.") from None
    if not isinstance(given, dict):
        raise ArgumentsError("The arguments must be a JSON object.")
    declared = {parameter.name: parameter for parameter in parameters}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ArgumentsError(f"Unknown argument(s): {', '.join(unknown)}.")
    missing = [p.name for p in parameters if p.required and p.name not in given]
    if missing:
        raise ArgumentsError(f"Missing required argument(s): {', '.join(missing)}.")
    kwargs: dict[str, Any] = {}
    for name, value in given.items():
        parameter = declared[name]
        if value is None and parameter.nullable:
            kwargs[name] = None
            continue
        kwargs[name] = _value(value, parameter.annotation, where=name)
    return kwargs


def _value(value: Any, annotation: Any, *, where: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ArgumentsError(f"{where} must be true or false.")
    if annotation is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # models sometimes write 3.0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ArgumentsError(f"{where} must be an integer.")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ArgumentsError(f"{where} must be a number.")
    if annotation is str:
        if not isinstance(value, str):
            raise ArgumentsError(f"{where} must be a string.")
        if len(value) > STRING_MAX_CHARS:
            raise ArgumentsError(f"{where} is longer than {STRING_MAX_CHARS} characters.")
        return value
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if member.value == value and type(member.value) is type(value):
                return member
        raise ArgumentsError(f"{where} must be one of: {_choices(m.value for m in annotation)}.")
    if typing.get_origin(annotation) is typing.Literal:
        allowed = typing.get_args(annotation)
        if any(value == a and type(value) is type(a) for a in allowed):
            return value
        raise ArgumentsError(f"{where} must be one of: {_choices(allowed)}.")
    if typing.get_origin(annotation) is list:
        if not isinstance(value, list):
            raise ArgumentsError(f"{where} must be a list.")
        if len(value) > LIST_MAX_ITEMS:
            raise ArgumentsError(f"{where} has more than {LIST_MAX_ITEMS} items.")
        (item,) = typing.get_args(annotation)
        return [_value(v, item, where=f"{where}[{i}]") for i, v in enumerate(value)]
    raise ArgumentsError(f"{where} has a type this tool cannot take.")  # guarded at registration


def _choices(values: Iterable[Any]) -> str:
    return ", ".join(json.dumps(value) for value in values)
