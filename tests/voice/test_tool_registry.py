"""The tool registry: the JSON schema the model sees comes from the function's signature and
docstring, a definition the model could not use fails at registration, and the model's
arguments are checked against the schema before a tool ever runs."""

import enum
import json
from typing import Literal, Optional

import pytest
from openai.types.chat import ChatCompletionToolParam
from openai.types.realtime import RealtimeFunctionTool
from pydantic import TypeAdapter

from voice.tools import (
    ArgumentsError,
    ToolContext,
    ToolDefinitionError,
    chat_tool_definitions,
    enabled_tools,
    realtime_tool_definitions,
    registered_tool,
    registered_tools,
    tool_build,
    unregister,
    voice_tool,
)
from voice.tools.schema import arguments_parse


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


def every_type(
    context: ToolContext,
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    colour: Colour,
    size: Literal["s", "m", "l"],
    tags: list[str],
    note: str | None,
    level: Optional[int] = None,  # noqa: UP045 - the old spelling must work too
    limit: int = 5,
) -> dict:
    """Exercise every parameter type.

    More text that the model does not need.

    Args:
        text: some words
            that go on over two lines.
        count (int): how many.
        colour: a colour.
    """
    return {}


def test_each_type_has_its_schema_and_defaults_or_none_make_a_parameter_optional():
    tool = tool_build(every_type)

    assert tool.description == "Exercise every parameter type."
    assert tool.schema == {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "some words that go on over two lines."},
            "count": {"type": "integer", "description": "how many."},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "colour": {"type": "string", "enum": ["red", "green"], "description": "a colour."},
            "size": {"type": "string", "enum": ["s", "m", "l"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
            "level": {"type": "integer"},
            "limit": {"type": "integer"},
        },
        "required": ["text", "count", "ratio", "flag", "colour", "size", "tags"],
        "additionalProperties": False,
    }


def test_definitions_have_the_shapes_of_the_realtime_session_and_of_chat_completions():
    tool = tool_build(every_type)

    [realtime] = realtime_tool_definitions([tool])
    [chat] = chat_tool_definitions([tool])

    parsed = RealtimeFunctionTool.model_validate(realtime, strict=True)
    assert parsed.name == "every_type" and not parsed.model_extra
    TypeAdapter(ChatCompletionToolParam).validate_python(chat)
    assert chat["function"]["parameters"] == realtime["parameters"] == tool.schema


def no_annotation(context, query) -> str:
    """Look something up."""
    return query


def no_docstring(context: ToolContext, query: str) -> str:
    return query


async def dict_parameter(context: ToolContext, options: dict) -> str:
    """Take a dict."""
    return ""


def starred(context: ToolContext, *queries: str) -> str:
    """Take many."""
    return ""


def no_context() -> str:
    """Take nothing at all."""
    return ""


def described_wrongly(context: ToolContext, query: str) -> str:
    """Look something up.

    Args:
        qeury: a typo.
    """
    return query


@pytest.mark.parametrize(
    ("function", "complaint"),
    [
        (no_annotation, "needs a type annotation"),
        (no_docstring, "needs a docstring"),
        (dict_parameter, "is not a type a tool can take"),
        (starred, "named parameters only"),
        (no_context, "first parameter must take the ToolContext"),
        (described_wrongly, "describes no parameter"),
    ],
)
def test_a_definition_the_model_could_not_use_fails_at_registration(function, complaint):
    with pytest.raises(ToolDefinitionError, match=complaint):
        voice_tool(function)
    assert registered_tool(function.__name__) is None


def test_a_bad_name_and_a_name_taken_by_another_function_are_refused():
    with pytest.raises(ToolDefinitionError, match="a name is"):
        voice_tool(name="look up!")(every_type)
    with pytest.raises(ToolDefinitionError, match="already registered"):
        voice_tool(name="current_time")(every_type)


def test_a_line_that_cannot_be_filled_in_is_refused_at_registration():
    with pytest.raises(ToolDefinitionError, match="line cannot be filled in"):
        voice_tool(name="bad_line", line="Looked up {0}")(no_context_but_one)
    with pytest.raises(ToolDefinitionError, match="line cannot be filled in"):
        voice_tool(name="bad_line", line="Looked up {limit:%Z}")(no_context_but_one)


def test_registering_returns_the_function_and_the_same_function_may_register_again():
    try:
        assert voice_tool(every_type) is every_type
        assert voice_tool(every_type) is every_type  # a module imported twice
        assert registered_tool("every_type").function is every_type
    finally:
        unregister("every_type")


def test_the_built_ins_are_discovered_at_start_up():
    names = {tool.name for tool in registered_tools()}
    assert {"end_call", "search_conversations", "current_time"} <= names
    assert registered_tool("end_call").ends_call


@pytest.mark.django_db
def test_a_tool_the_admin_turned_off_is_not_enabled_and_one_without_a_row_is():
    from voice.models import ToolSetting

    ToolSetting.objects.create(name="current_time", enabled=False)

    names = {tool.name for tool in enabled_tools()}

    assert "current_time" not in names
    assert {"end_call", "search_conversations"} <= names


# --- arguments ----------------------------------------------------------------------------------

VALID = {
    "text": "hi",
    "count": 3,
    "ratio": 1,
    "flag": True,
    "colour": "green",
    "size": "m",
    "tags": ["a", "b"],
    "note": None,
}


def test_valid_arguments_become_keyword_arguments_with_enum_members():
    kwargs = arguments_parse(json.dumps(VALID), tool_build(every_type).parameters)

    assert kwargs == {**VALID, "ratio": 1.0, "colour": Colour.GREEN}
    assert isinstance(kwargs["ratio"], float)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"count": "3"}, "count must be an integer"),
        ({"count": True}, "count must be an integer"),
        ({"flag": 1}, "flag must be true or false"),
        ({"colour": "blue"}, 'colour must be one of: "red", "green"'),
        ({"size": "xl"}, "size must be one of"),
        ({"tags": "a"}, "tags must be a list"),
        ({"tags": ["a", 2]}, r"tags\[1\] must be a string"),
        ({"text": None}, "text must be a string"),
        ({"text": "x" * 2001}, "longer than 2000"),
        ({"extra": 1}, "Unknown argument"),
    ],
)
def test_arguments_that_do_not_fit_the_schema_are_refused_with_a_reason(change, complaint):
    with pytest.raises(ArgumentsError, match=complaint):
        arguments_parse(json.dumps({**VALID, **change}), tool_build(every_type).parameters)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("{", "not valid JSON"), ("[1]", "must be a JSON object"), ("{}", "Missing required")],
)
def test_arguments_that_are_not_a_json_object_of_the_parameters_are_refused(text, complaint):
    with pytest.raises(ArgumentsError, match=complaint):
        arguments_parse(text, tool_build(every_type).parameters)


def test_a_whole_float_counts_as_an_integer_and_empty_arguments_as_none_given():
    params = tool_build(every_type).parameters
    assert arguments_parse(json.dumps({**VALID, "count": 3.0}), params)["count"] == 3
    assert arguments_parse("", tool_build(no_context_but_one).parameters) == {}


def no_context_but_one(context: ToolContext, limit: int = 1) -> int:
    """Take one optional number."""
    return limit
