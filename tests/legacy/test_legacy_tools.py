"""Tools in a Legacy reply, against the running simulator's scripted tool calls: the model's
calls run through `tool_call_run`, their lines stream as `tool` events and are saved between
the caller's words and the reply, and the reply goes on with the results."""

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.factories import make_call, make_earlier_conversation
from tests.legacy.test_legacy_api import STREAMING, events
from tests.legacy.test_upstream_answers import SSE, chat_sse
from voice import upstream
from voice.models import Call, Message, ToolSetting, UsageRecord, VoiceConfig
from voice.tools import ToolContext, unregister, voice_tool

pytestmark = [STREAMING, pytest.mark.usefixtures("worker_thread_db")]


def step(match: str, name: str, answer: str, **arguments) -> dict:
    return {"match": match, "name": name, "arguments": arguments, "answer": answer}


@pytest.fixture(autouse=True)
def failing_tools():
    """A tool that raises and one that outlasts the timeout, for these tests only."""

    @voice_tool
    def explode(context: ToolContext) -> str:
        """Always fails."""
        raise RuntimeError("secret detail 42")

    @voice_tool
    async def dawdle(context: ToolContext) -> str:
        """Takes its time."""
        await asyncio.sleep(30)
        return "late"

    yield
    unregister("explode")
    unregister("dawdle")


async def ask(aapi, call: dict, text: str) -> list[tuple[str, dict]]:
    response = await aapi.post("/api/legacy/replies", {"call": call["id"], "text": text})
    assert response.status_code == 200
    return await events(response)


async def saved(call: dict) -> list[Message]:
    return [m async for m in Message.objects.filter(call_id=call["id"]).order_by("pk")]


def named(stream, name: str) -> list[dict]:
    return [data for event, data in stream if event == name]


def in_chain_order(messages: list[Message]) -> list[Message]:
    """The conversation order the `previous_item_id` chain gives (what the API shows)."""
    following = {m.previous_item_id: m for m in messages}
    first = next(m for m in messages if m.previous_item_id not in {x.item_id for x in messages})
    ordered = [first]
    while ordered[-1].item_id in following:
        ordered.append(following[ordered[-1].item_id])
    return ordered


async def test_the_assistant_searches_earlier_conversations_and_answers_with_the_result(
    aapi, user, other_user, legacy_call, fast_upstream
):
    await sync_to_async(make_earlier_conversation)(
        user, "The lease ends in May, remember that.", mode="legacy"
    )
    await sync_to_async(make_earlier_conversation)(other_user, "My lease is a secret of mallory's.")
    fast_upstream.configure(
        tool_script=[step("lease", "search_conversations", "I found: {output}", query="lease")]
    )

    stream = await ask(aapi, legacy_call, "What did we say about the lease?")

    names = [name for name, _ in stream]
    assert names[:2] == ["start", "tool"] and names[-1] == "done"
    assert set(names[2:-1]) == {"delta"}
    [tool] = named(stream, "tool")
    assert tool["line"] == "Searched your conversations for 'lease'"
    assert (tool["name"], tool["ok"]) == ("search_conversations", True)
    done = stream[-1][1]
    assert "The lease ends in May" in done["text"] and "mallory" not in done["text"]
    assert done["text"] == "".join(d["text"] for d in named(stream, "delta"))
    assert (done["finish_reason"], done["incomplete"], "end_call" in done) == ("stop", False, False)
    user_words, line, reply = in_chain_order(await saved(legacy_call))
    assert (user_words.role, line.role, reply.role) == ("user", "tool", "assistant")
    assert line.item_id == tool["item_id"] and line.text == tool["line"]
    assert line.tool == {
        "name": "search_conversations",
        "arguments": {"query": "lease"},
        "ok": True,
    }
    assert reply.item_id == done["message_id"] and reply.text == done["text"]
    first, second = fast_upstream.requests("/v1/chat/completions")
    offered = {t["function"]["name"] for t in first["json"]["tools"]}
    assert {"search_conversations", "current_time", "end_call"} <= offered
    called, result = second["json"]["messages"][-2:]
    assert called["tool_calls"][0]["function"]["name"] == "search_conversations"
    assert result["tool_call_id"] == called["tool_calls"][0]["id"]
    assert json.loads(result["content"])["ok"] is True
    kinds = UsageRecord.objects.filter(call_id=legacy_call["id"]).values_list("kind", flat=True)
    assert await sync_to_async(list)(kinds) == ["reply", "reply"]  # one per round


@pytest.mark.parametrize(
    ("tool", "says"),
    [
        ("explode", "The tool failed with an internal error."),
        ("dawdle", "The tool took longer than 1 seconds and was given up."),
        ("delete_everything", "There is no tool called 'delete_everything' here."),
    ],
)
async def test_a_tool_that_raises_times_out_or_does_not_exist_is_explained_not_fatal(
    aapi, legacy_call, fast_upstream, tool, says
):
    await VoiceConfig.objects.aupdate_or_create(pk=1, defaults={"tool_timeout_s": 1})
    fast_upstream.configure(tool_script=[step("please", tool, "Sorry: {output}")])

    stream = await ask(aapi, legacy_call, "Do it please")

    [line] = named(stream, "tool")
    assert (line["name"], line["ok"]) == (tool, False) and line["line"].endswith("(failed)")
    done = stream[-1][1]
    assert done["text"] == f"Sorry: {json.dumps({'ok': False, 'error': says})}"
    assert "secret detail" not in done["text"]
    roles = [m.role for m in in_chain_order(await saved(legacy_call))]
    assert roles == ["user", "tool", "assistant"]


async def test_a_model_that_keeps_calling_tools_is_stopped_after_four_rounds(
    aapi, legacy_call, fast_upstream
):
    script = [step("time", "current_time", f"Answer {n}: {{output}}") for n in range(1, 11)]
    fast_upstream.configure(tool_script=script)

    stream = await ask(aapi, legacy_call, "What time is it?")

    assert len(named(stream, "tool")) == 4
    assert stream[-1][1]["text"].startswith("Answer 4: ")
    requests = fast_upstream.requests("/v1/chat/completions")
    assert ["tools" in r["json"] for r in requests] == [True, True, True, True, False]
    roles = [m.role for m in in_chain_order(await saved(legacy_call))]
    assert roles == ["user", "tool", "tool", "tool", "tool", "assistant"]


async def test_end_call_says_goodbye_then_done_tells_the_page_to_end_the_call(
    aapi, legacy_call, fast_upstream
):
    fast_upstream.configure(tool_script=[step("goodbye", "end_call", "Goodbye, talk soon.")])

    stream = await ask(aapi, legacy_call, "Thanks, goodbye!")

    [line] = named(stream, "tool")
    assert (line["name"], line["ok"], line["line"]) == ("end_call", True, "Ended the call")
    done = stream[-1][1]
    assert (done["text"], done["end_call"]) == ("Goodbye, talk soon.", True)
    # The goodbye is said with no tools offered; the page ends the call once it is spoken.
    assert "tools" not in fast_upstream.requests("/v1/chat/completions")[-1]["json"]
    assert (await Call.objects.aget(pk=legacy_call["id"])).is_live


async def test_a_tool_the_admin_turned_off_is_not_offered(aapi, legacy_call, fast_upstream):
    await ToolSetting.objects.acreate(name="search_conversations", enabled=False)

    await ask(aapi, legacy_call, "Hello")

    [sent] = fast_upstream.requests("/v1/chat/completions")
    offered = {t["function"]["name"] for t in sent["json"]["tools"]}
    assert "search_conversations" not in offered and "end_call" in offered


def tool_call_sse(name: str, arguments: str) -> bytes:
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": name}}
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "Let me look."}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [first]}}]},
        *[
            {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": p}]}}]}
            for p in ({"arguments": arguments[:5]}, {"arguments": arguments[5:]})
        ],
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    return "".join([*(f"data: {json.dumps(c)}\n\n" for c in chunks), "data: [DONE]\n\n"]).encode()


async def test_a_failure_after_a_tool_is_an_error_event_and_the_words_so_far_are_kept(
    aapi, user, mock_upstream
):
    answers = iter(
        [
            httpx.Response(200, content=tool_call_sse("current_time", "{}"), headers=SSE),
            httpx.Response(500, json={"error": {"message": "boom", "type": "server_error"}}),
        ]
    )
    mock_upstream(lambda _: next(answers))
    call = await sync_to_async(make_call)(user, mode="legacy")

    stream = await ask(aapi, {"id": str(call.id)}, "What time is it?")

    assert [name for name, _ in stream] == ["start", "delta", "tool", "error"]
    assert stream[-1][1]["code"] == "upstream_error"
    roles = [(m.role, m.interrupted) for m in in_chain_order(await saved({"id": call.id}))]
    assert roles == [("user", False), ("tool", False), ("assistant", True)]
    await upstream.aclose_clients()


async def test_text_before_a_tool_call_streams_and_both_rounds_make_one_reply(
    aapi, user, mock_upstream
):
    answers = iter(
        [
            httpx.Response(200, content=tool_call_sse("current_time", "{}"), headers=SSE),
            httpx.Response(200, content=chat_sse("It is noon.", finish_reason="stop"), headers=SSE),
        ]
    )
    sent: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return next(answers)

    mock_upstream(answer)
    call = await sync_to_async(make_call)(user, mode="legacy")

    stream = await ask(aapi, {"id": str(call.id)}, "What time is it?")

    assert [name for name, _ in stream] == ["start", "delta", "tool", "delta", "done"]
    # Each round's words as the model wrote them, kept apart on the page and in the speech.
    assert [d["text"] for d in named(stream, "delta")] == ["Let me look.", " It is noon."]
    assert stream[-1][1]["text"] == "Let me look. It is noon."
    called = sent[1]["messages"][-2]
    assert called["content"] == "Let me look."
    assert called["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "current_time", "arguments": "{}"},
        }
    ]
    await upstream.aclose_clients()


def sse(*chunks: dict) -> bytes:
    return "".join([*(f"data: {json.dumps(c)}\n\n" for c in chunks), "data: [DONE]\n\n"]).encode()


def piece(index: int, **fields) -> dict:
    return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}}]}


async def test_calls_made_at_once_arrive_interleaved_and_run_in_their_order(
    aapi, user, mock_upstream
):
    time_call = {"id": "call_a", "type": "function", "function": {"name": "current_time"}}
    search = {"id": "call_b", "type": "function", "function": {"name": "search_conversations"}}
    parallel = sse(
        piece(1, **search),
        piece(0, **time_call),
        piece(1, function={"arguments": '{"query": '}),
        piece(0, function={"arguments": "{}"}),
        piece(1, function={"arguments": '"lease"}'}),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    )
    answers = iter([parallel, chat_sse("Done.", finish_reason="stop")])
    sent: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, content=next(answers), headers=SSE)

    mock_upstream(answer)
    call = await sync_to_async(make_call)(user, mode="legacy")

    stream = await ask(aapi, {"id": str(call.id)}, "Time and lease?")

    assert [d["name"] for d in named(stream, "tool")] == ["current_time", "search_conversations"]
    called, *results = sent[1]["messages"][-3:]
    assert [c["function"] for c in called["tool_calls"]] == [
        {"name": "current_time", "arguments": "{}"},
        {"name": "search_conversations", "arguments": '{"query": "lease"}'},
    ]
    assert [r["tool_call_id"] for r in results] == ["call_a", "call_b"]
    roles = [m.role for m in in_chain_order(await saved({"id": call.id}))]
    assert roles == ["user", "tool", "tool", "assistant"]
    await upstream.aclose_clients()


async def test_more_tool_calls_at_once_than_we_run_is_an_upstream_error(aapi, user, mock_upstream):
    flood = sse(*(piece(i, id=f"call_{i}", function={"name": "current_time"}) for i in range(33)))
    mock_upstream(lambda _: httpx.Response(200, content=flood, headers=SSE))
    call = await sync_to_async(make_call)(user, mode="legacy")

    stream = await ask(aapi, {"id": str(call.id)}, "Hi")

    assert [name for name, _ in stream] == ["start", "error"]
    assert stream[-1][1]["code"] == "upstream_error"
    assert not await Message.objects.filter(call=call, role="tool").aexists()
    await upstream.aclose_clients()
