"""Tool calls in chat completions, scripted by the ``tool_script`` knob.

A step ``{"match", "name", "arguments", "answer"}`` applies when the last user message contains
its ``match`` (any case, as the Realtime side matches a turn). The steps that apply are taken
in order, one per round: while a step is left and the request offers ``tools``, the model
calls that step's tool; otherwise it answers with the last step's ``answer``, ``{output}``
replaced by the last tool result. A request without ``tools`` never gets a tool call, as with
OpenAI, but the named tool need not be among those offered: a script can play a model that
invents a name.

Requests are checked as OpenAI checks them: the shape of ``tools``, and that tool results
answer the ``tool_calls`` before them, each one exactly.
"""

import json
import re
import secrets
from dataclasses import dataclass

from aiohttp import web

from .errors import bad_request

FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class ToolCall:
    """The model calls one tool this round."""

    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


def next_tool_call(body: dict, script: list[dict]) -> ToolCall | None:
    steps, rounds = _steps_and_rounds(body["messages"], script)
    if not body.get("tools") or rounds >= len(steps):
        return None
    step = steps[rounds]
    return ToolCall(
        id=f"call_{secrets.token_hex(12)}",
        name=step["name"],
        arguments=json.dumps(step["arguments"]),
    )


def scripted_answer(body: dict, script: list[dict]) -> str | None:
    """The text after the tool results, or None when no tool was called for this turn."""
    steps, rounds = _steps_and_rounds(body["messages"], script)
    if not rounds or not steps:
        return None
    output = _content(body["messages"][-1]) if body["messages"][-1]["role"] == "tool" else ""
    return steps[min(rounds, len(steps)) - 1]["answer"].replace("{output}", output)


def _steps_and_rounds(messages: list[dict], script: list[dict]) -> tuple[list[dict], int]:
    """The steps that apply to the last user message, and the tool rounds since it."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    if last_user < 0:
        return [], 0
    said = _content(messages[last_user]).lower()
    steps = [step for step in script if step["match"].lower() in said]  # as Realtime matches
    rounds = sum(1 for m in messages[last_user + 1 :] if m["role"] == "assistant" and _calls(m))
    return steps, rounds


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _calls(message: dict) -> list:
    calls = message.get("tool_calls")
    return calls if isinstance(calls, list) else []


def tools_problem(body: dict) -> web.Response | None:
    tools = body.get("tools", [])
    if not isinstance(tools, list) or not all(_is_function_tool(t) for t in tools):
        return bad_request(
            "Invalid 'tools': each tool is {'type': 'function', 'function': {'name', "
            "'description'?, 'parameters'?}} with a name of 1-64 [a-zA-Z0-9_-].",
            param="tools",
            code="invalid_value",
        )
    return _tool_messages_problem(body["messages"])


def _is_function_tool(tool) -> bool:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return False
    function = tool.get("function")
    return (
        isinstance(function, dict)
        and isinstance(function.get("name"), str)
        and FUNCTION_NAME.fullmatch(function["name"]) is not None
        and isinstance(function.get("parameters", {}), dict)
    )


def _tool_messages_problem(messages: list[dict]) -> web.Response | None:
    """OpenAI's two rules: a tool message answers an open tool call of the assistant message
    before it, and every tool call is answered before the conversation goes on."""
    waiting: set[str] = set()
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            if message.get("tool_call_id") not in waiting:
                return bad_request(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            waiting.discard(message["tool_call_id"])
            continue
        if waiting:
            return _unanswered(waiting)
        waiting = {c.get("id") for c in _calls(message) if isinstance(c, dict)}
    return _unanswered(waiting) if waiting else None


def _unanswered(ids: set[str]) -> web.Response:
    return bad_request(
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        f"{', '.join(sorted(map(str, ids)))}",
        param="messages",
    )
