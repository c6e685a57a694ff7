"""The tools a host project offers the assistant: `@voice_tool` registers a function, once, at
import (each installed app's `voice_tools` module is imported at start-up, like `admin`).

A tool is an ordinary function, sync or async, whose first parameter receives a `ToolContext`
(the calling user, the call, the user's time zone) and whose other parameters are typed
keywords: the model sees them as the function's JSON schema, and the docstring's first
paragraph as its description. Mistakes in a definition fail at import, never mid-call.
"""

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload
from zoneinfo import ZoneInfo

from voice.tools.schema import (
    Parameter,
    ToolDefinitionError,
    describe,
    parameters_of,
    parameters_schema,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from voice.models import Call

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's rule for function names
LINE_MAX_CHARS = 200
LINE_VALUE_MAX_CHARS = 60


@dataclass(frozen=True)
class ToolContext:
    """What a tool knows of who is asking: it acts for `user`, and for no one else."""

    user: "User"
    call: "Call"
    timezone: ZoneInfo


class ToolError(Exception):
    """Raised by a tool to tell the model, in words, why it could not do what was asked; any
    other exception reaches the model only as "the tool failed"."""


@dataclass(frozen=True)
class Tool:
    name: str
    function: Callable[..., Any] = field(repr=False)
    description: str
    parameters: list[Parameter]
    schema: dict[str, Any]  # the JSON schema of the parameters
    ends_call: bool = False
    line: str | None = None  # e.g. "Searched your conversations for '{query}'"

    @property
    def is_async(self) -> bool:
        return asyncio.iscoroutinefunction(self.function)

    def line_for(self, arguments: Mapping[str, Any]) -> str:
        """One readable line for the transcript, with the arguments filled in (shortened)."""
        if self.line is None:
            return f"Used {self.name.replace('_', ' ')}"
        values = _LineValues({k: _short(v) for k, v in arguments.items()})
        return self.line.format_map(values)[:LINE_MAX_CHARS]


class _LineValues(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _short(value: Any) -> str:
    value = getattr(value, "value", value)  # an Enum member reads as its value
    if isinstance(value, list):
        value = ", ".join(str(getattr(v, "value", v)) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= LINE_VALUE_MAX_CHARS else text[: LINE_VALUE_MAX_CHARS - 1] + "…"


_registry: dict[str, Tool] = {}


@overload
def voice_tool(function: Callable[..., Any], /) -> Callable[..., Any]: ...
@overload
def voice_tool(
    *, name: str | None = None, line: str | None = None, ends_call: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def voice_tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    line: str | None = None,
    ends_call: bool = False,
) -> Any:
    """Register `function` as a tool the assistant may call (`@voice_tool` or
    `@voice_tool(name=…, line=…)`); the function itself is returned unchanged.

    `line` is the transcript's line for a call, with `{argument}` placeholders; `ends_call`
    marks a tool after whose answer the call ends (the built-in `end_call`).
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        tool = tool_build(function, name=name, line=line, ends_call=ends_call)
        known = _registry.get(tool.name)
        if known is not None and _qualified(known.function) != _qualified(function):
            raise ToolDefinitionError(
                f"Tool {tool.name}: already registered by {_qualified(known.function)}."
            )
        _registry[tool.name] = tool
        return function

    return register(function) if function is not None else register


def tool_build(
    function: Callable[..., Any],
    *,
    name: str | None = None,
    line: str | None = None,
    ends_call: bool = False,
) -> Tool:
    """The `Tool` for a function, or `ToolDefinitionError` saying what to fix."""
    name = name or function.__name__
    if not NAME_RE.match(name):
        raise ToolDefinitionError(f"Tool {name!r}: a name is 1-64 of a-z A-Z 0-9 _ -.")
    if not callable(function):
        raise ToolDefinitionError(f"Tool {name}: it must be a function.")
    parameters = parameters_of(function, name=name)
    description, argument_texts = describe(function, name=name)
    unknown = sorted(set(argument_texts) - {p.name for p in parameters})
    if unknown:
        raise ToolDefinitionError(f"Tool {name}: its docstring describes no parameter {unknown}.")
    try:
        (line or "").format_map(_LineValues())
    except (ValueError, IndexError, AttributeError, KeyError) as exc:
        raise ToolDefinitionError(f"Tool {name}: its line cannot be filled in ({exc}).") from None
    return Tool(
        name=name,
        function=function,
        description=description,
        parameters=parameters,
        schema=parameters_schema(parameters, argument_texts),
        ends_call=ends_call,
        line=line,
    )


def _qualified(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def registered_tools() -> list[Tool]:
    """Every registered tool, by name."""
    return [_registry[name] for name in sorted(_registry)]


def registered_tool(name: str) -> Tool | None:
    return _registry.get(name)


def unregister(name: str) -> None:
    """Forget a tool (tests, and a host project replacing a built-in with its own)."""
    _registry.pop(name, None)


def enabled_tools() -> list[Tool]:
    """The registered tools the admin has not turned off (no `ToolSetting` row: on)."""
    from voice.models import ToolSetting

    off = set(ToolSetting.objects.filter(enabled=False).values_list("name", flat=True))
    return [tool for tool in registered_tools() if tool.name not in off]


def realtime_tool_definitions(tools: list[Tool]) -> list[dict[str, Any]]:
    """The Realtime session's `tools` (GA: flat function objects)."""
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.schema}
        for t in tools
    ]


def chat_tool_definitions(tools: list[Tool]) -> list[dict[str, Any]]:
    """Chat Completions' `tools` (the function nested under `function`)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.schema},
        }
        for t in tools
    ]
