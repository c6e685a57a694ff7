"""Scripted tool calls in chat completions (the ``tool_script`` knob), checked against the
official ``openai`` SDK: its chunk and completion types, and its own client reading the stream."""

import json

import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.simulator.sdk_types import undeclared_fields
from tests.simulator.sim_peer import KEY

SEARCH = {
    "match": "lease",
    "name": "search_conversations",
    "arguments": {"query": "lease"},
    "answer": "Here is what I found: {output}",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_conversations",
            "description": "Search the user's conversations.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
ASKED = [{"role": "user", "content": "What did we say about the lease?"}]


def problems(model: type[pydantic.BaseModel], data: dict) -> list[str]:
    """Strict SDK validation, then every field the SDK type does not declare."""
    try:
        parsed = model.model_validate(data, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{error['loc']}: {error['msg']}" for error in exc.errors()]
    return [f"undeclared field {name}" for name in undeclared_fields(parsed)]


async def chunks(http, **body) -> list[dict]:
    request = {"model": "gpt-4o-mini", "stream": True, **body}
    request.setdefault("stream_options", {"include_usage": True})
    async with http.stream("POST", "/v1/chat/completions", json=request) as stream:
        assert stream.status_code == 200, await stream.aread()
        lines = [line async for line in stream.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


def tool_result(call_id: str, output: str) -> list[dict]:
    called = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": "search_conversations", "arguments": '{"query": "lease"}'},
            }
        ],
    }
    return [*ASKED, called, {"role": "tool", "tool_call_id": call_id, "content": output}]


@pytest.fixture
async def scripted(http):
    response = await http.post("/_sim/config", json={"tool_script": [SEARCH]})
    assert response.status_code == 200, response.text


async def test_a_matching_turn_streams_a_tool_call_as_openai_does(http, scripted):
    stream = await chunks(http, messages=ASKED, tools=TOOLS)

    assert [p for chunk in stream for p in problems(ChatCompletionChunk, chunk)] == []
    *calls, finish, usage = stream
    first = calls[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and first["content"] is None
    [named] = first["tool_calls"]
    assert (named["index"], named["type"], named["function"]) == (
        0,
        "function",
        {"name": "search_conversations", "arguments": ""},
    )
    assert named["id"].startswith("call_")
    pieces = [c["choices"][0]["delta"]["tool_calls"][0] for c in calls[1:]]
    assert len(pieces) > 1 and {p["index"] for p in pieces} == {0}
    assert all("id" not in p and "name" not in p["function"] for p in pieces)
    assert json.loads("".join(p["function"]["arguments"] for p in pieces)) == {"query": "lease"}
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0


async def test_the_follow_up_with_the_tool_result_streams_the_answer(http, scripted):
    messages = tool_result("call_1", '{"found": "the lease ends in May"}')

    stream = await chunks(http, messages=messages, tools=TOOLS)

    assert [p for chunk in stream for p in problems(ChatCompletionChunk, chunk)] == []
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in stream if c["choices"])
    assert text == 'Here is what I found: {"found": "the lease ends in May"}'
    assert stream[-2]["choices"][0]["finish_reason"] == "stop"


async def test_the_sdks_own_client_reads_the_call_and_the_answer(sim, scripted):
    client = openai.AsyncOpenAI(api_key=KEY, base_url=f"{sim.base_url}/v1", max_retries=0)
    async with client:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=ASKED, tools=TOOLS, stream=True
        )
        arguments, call_id, finish = "", None, None
        async for chunk in stream:
            for choice in chunk.choices:
                for call in choice.delta.tool_calls or []:
                    call_id = call.id or call_id
                    arguments += call.function.arguments or ""
                finish = choice.finish_reason or finish
        assert finish == "tool_calls" and json.loads(arguments) == {"query": "lease"}
        answer = await client.chat.completions.create(
            model="gpt-4o-mini", messages=tool_result(call_id, "nothing"), tools=TOOLS
        )
    assert answer.choices[0].message.content == "Here is what I found: nothing"


async def test_an_unstreamed_tool_call_is_a_valid_completion(http, scripted):
    body = {"model": "gpt-4o-mini", "messages": ASKED, "tools": TOOLS}

    completion = (await http.post("/v1/chat/completions", json=body)).json()

    assert problems(ChatCompletion, completion) == []
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "search_conversations"


async def test_no_tool_is_called_when_none_is_offered_or_the_words_do_not_match(http, scripted):
    unoffered = await chunks(http, messages=ASKED)
    unmatched = await chunks(http, messages=[{"role": "user", "content": "Hello"}], tools=TOOLS)

    for stream in (unoffered, unmatched):
        assert stream[-2]["choices"][0]["finish_reason"] == "stop"
        assert not any(c["choices"][0]["delta"].get("tool_calls") for c in stream[:-1])


async def test_matching_steps_are_taken_one_per_round_in_order(http):
    second = {**SEARCH, "name": "current_time", "arguments": {}, "answer": "It is {output}."}
    await http.post("/_sim/config", json={"tool_script": [SEARCH, second]})

    after_one = await chunks(http, messages=tool_result("call_1", "found"), tools=TOOLS)
    after_two = await chunks(
        http,
        messages=[
            *tool_result("call_1", "found"),
            {"role": "assistant", "tool_calls": [_call("call_2", "current_time")]},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        ],
        tools=TOOLS,
    )

    assert after_one[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == (
        "current_time"
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in after_two[:-1])
    assert text == "It is noon."


def _call(call_id: str, name: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


@pytest.mark.parametrize(
    ("messages", "tools"),
    [
        ([*ASKED, {"role": "tool", "tool_call_id": "call_x", "content": "orphan"}], TOOLS),
        ([*ASKED, {"role": "assistant", "tool_calls": [_call("call_1", "f")]}], TOOLS),
        (tool_result("call_1", "x")[:2] + ASKED, TOOLS),
        (ASKED, [{"type": "function", "function": {"name": "bad name!"}}]),
        (ASKED, [{"type": "code_interpreter"}]),
        (ASKED, {"type": "function"}),
    ],
)
async def test_tool_messages_and_tools_are_checked_as_openai_checks_them(http, messages, tools):
    body = {"model": "gpt-4o-mini", "messages": messages, "tools": tools}

    response = await http.post("/v1/chat/completions", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "script",
    [
        [{**SEARCH, "match": " "}],
        [{**SEARCH, "name": "two words"}],
        [{**SEARCH, "arguments": "{}"}],
        [{**SEARCH, "extra": 1}],
        {"match": "x"},
    ],
)
async def test_a_bad_tool_script_is_refused_and_changes_nothing(http, script):
    response = await http.post("/_sim/config", json={"tool_script": script})

    assert response.status_code == 400
    assert (await http.get("/_sim/config")).json()["tool_script"] == []
