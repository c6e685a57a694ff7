"""`tool_call_run`: only registered, enabled tools run, with checked arguments, for the call's
own user, within the admin's timeout and per-call limit; the model always gets a short JSON
answer, and the transcript one line per call, pushed to the user's sockets."""

import asyncio
import json
import threading
from datetime import datetime

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from tests.factories import make_call, make_conversation, make_message, make_user
from voice.events import user_group_name
from voice.models import Call, Message, ToolSetting
from voice.selectors import voice_config_get
from voice.services.tool_calls import OUTPUT_MAX_CHARS, tool_call_run, tool_item_id
from voice.tools import ToolContext, ToolError, unregister, voice_tool

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]

ran: list[dict] = []


@pytest.fixture(autouse=True)
def test_tools():
    """Tools registered for these tests only."""
    ran.clear()

    @voice_tool(line="Noted '{word}'")
    def note(context: ToolContext, word: str, times: int = 1) -> dict:
        """Note a word."""
        ran.append({"word": word, "thread": threading.get_ident(), "user": context.user.pk})
        return {"noted": word * times}

    @voice_tool
    def explode(context: ToolContext) -> str:
        """Always fails."""
        raise RuntimeError("secret detail 42")

    @voice_tool
    def refuse(context: ToolContext) -> str:
        """Fails with a reason for the model."""
        raise ToolError("That order does not exist.")

    @voice_tool
    async def dawdle(context: ToolContext) -> str:
        """Takes its time."""
        await asyncio.sleep(30)
        return "late"

    @voice_tool
    def chatter(context: ToolContext) -> str:
        """Says far too much."""
        return "blah " * 5_000

    yield
    for name in ("note", "explode", "refuse", "dawdle", "chatter"):
        unregister(name)


@pytest.fixture
async def call():
    user = await sync_to_async(make_user)()
    return await sync_to_async(make_call)(user, timezone="Europe/Paris")


async def run(call: Call, name: str, arguments: dict | str = "{}", call_id: str = "call_1"):
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return await tool_call_run(call=call, name=name, arguments=text, call_id=call_id)


async def tool_messages(call: Call) -> list[Message]:
    return [m async for m in Message.objects.filter(call=call, role="tool").order_by("pk")]


async def test_a_tool_runs_off_the_event_loop_and_its_call_is_saved_and_pushed(call):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(user_group_name(call.user_id), channel)

    outcome = await run(call, "note", {"word": "lease", "times": 2})

    assert json.loads(outcome.output) == {"ok": True, "result": {"noted": "leaselease"}}
    assert (outcome.ok, outcome.ends_call, outcome.line) == (True, False, "Noted 'lease'")
    assert ran[0]["thread"] != threading.get_ident() and ran[0]["user"] == call.user_id
    [message] = await tool_messages(call)
    assert message.item_id == outcome.item_id == tool_item_id(call=call, call_id="call_1")
    assert message.text == "Noted 'lease'"
    assert message.tool == {"name": "note", "arguments": {"word": "lease", "times": 2}, "ok": True}
    pushed = await asyncio.wait_for(layer.receive(channel), 5)
    assert pushed["type"] == "call.transcript" and pushed["call_id"] == str(call.pk)
    assert pushed["item"]["role"] == "tool" and pushed["item"]["text"] == "Noted 'lease'"
    assert pushed["item"]["tool"] == message.tool


async def test_an_unknown_tool_is_refused_with_a_reason_and_noted(call):
    outcome = await run(call, "delete_everything")

    assert json.loads(outcome.output) == {
        "ok": False,
        "error": "There is no tool called 'delete_everything' here.",
    }
    [message] = await tool_messages(call)
    assert message.tool["ok"] is False
    assert message.text == "Tried to use 'delete_everything', which is not available (failed)"


async def test_a_tool_the_admin_turned_off_never_runs(call):
    await ToolSetting.objects.acreate(name="note", enabled=False)

    outcome = await run(call, "note", {"word": "x"})

    assert not outcome.ok and "no tool called 'note'" in outcome.output
    assert ran == []


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ("{not json", "not valid JSON"),
        ({"word": 3}, "word must be a string"),
        ({}, "Missing required argument(s): word"),
        ({"word": "x", "as_admin": True}, "Unknown argument(s): as_admin"),
    ],
)
async def test_arguments_that_do_not_fit_the_schema_never_reach_the_tool(call, arguments, reason):
    outcome = await run(call, "note", arguments)

    assert not outcome.ok
    assert reason in json.loads(outcome.output)["error"]
    assert ran == []
    [message] = await tool_messages(call)
    assert (message.text, message.tool["ok"]) == ("Tried to use note (failed)", False)


async def test_a_tool_that_raises_gives_an_error_result_without_its_details(call):
    outcome = await run(call, "explode")

    assert json.loads(outcome.output) == {
        "ok": False,
        "error": "The tool failed with an internal error.",
    }
    assert "secret" not in outcome.output


async def test_a_tool_error_tells_the_model_why(call):
    outcome = await run(call, "refuse")

    assert json.loads(outcome.output)["error"] == "That order does not exist."


async def test_a_tool_past_the_timeout_is_given_up(call):
    await sync_to_async(voice_config_get)()
    await type(await sync_to_async(voice_config_get)()).objects.aupdate(tool_timeout_s=1)
    started = asyncio.get_running_loop().time()

    outcome = await run(call, "dawdle")

    assert asyncio.get_running_loop().time() - started < 5
    assert json.loads(outcome.output) == {
        "ok": False,
        "error": "The tool took longer than 1 seconds and was given up.",
    }
    [message] = await tool_messages(call)
    assert message.tool["ok"] is False


async def test_calls_past_the_per_call_limit_are_refused_and_not_saved(call):
    config = await sync_to_async(voice_config_get)()
    await type(config).objects.aupdate(max_tool_calls_per_call=2)

    outcomes = await asyncio.gather(
        *(run(call, "note", {"word": str(n)}, call_id=f"call_{n}") for n in range(4))
    )

    assert sorted(outcome.ok for outcome in outcomes) == [False, False, True, True]
    refused = [json.loads(o.output)["error"] for o in outcomes if not o.ok]
    assert refused == ["This call has used all 2 of its tool calls."] * 2
    assert len(await tool_messages(call)) == 2 and len(ran) == 2


async def test_the_same_tool_call_runs_once(call):
    await run(call, "note", {"word": "a"})
    again = await run(call, "note", {"word": "a"})

    assert not again.ok and len(ran) == 1


async def test_a_tool_call_in_an_ended_call_is_refused(call):
    await Call.objects.filter(pk=call.pk).aupdate(status=Call.Status.ENDED)

    outcome = await run(call, "note", {"word": "a"})

    assert not outcome.ok and ran == [] and await tool_messages(call) == []


async def test_a_long_result_is_cut_to_the_cap_and_says_so(call):
    outcome = await run(call, "chatter")

    assert len(outcome.output) <= OUTPUT_MAX_CHARS
    answer = json.loads(outcome.output)
    assert answer["ok"] and answer["truncated"] and answer["result_start"].startswith('"blah')


async def test_the_line_goes_after_the_item_it_follows(call):
    spoken = await sync_to_async(make_message)(call, item_id="item_user_1")

    outcome = await tool_call_run(
        call=call,
        name="note",
        arguments='{"word": "x"}',
        call_id="c",
        previous_item_id="item_user_1",
    )

    [message] = await tool_messages(call)
    assert message.previous_item_id == spoken.item_id and outcome.ok


# --- the built-ins ------------------------------------------------------------------------------


def _conversation_with(user, title: str, *texts: str):
    conversation = make_conversation(user, title=title)
    call = make_call(user, conversation=conversation, status=Call.Status.ENDED)
    for text in texts:
        make_message(call, text=text)
    return conversation


async def test_search_finds_the_users_own_conversations_and_never_another_users(call):
    other = await sync_to_async(make_user)()
    await sync_to_async(_conversation_with)(
        call.user, "Flat hunting", "The lease runs for two years.", "Rent is due monthly."
    )
    await sync_to_async(_conversation_with)(other, "Mallory's", "My lease is secret: 1234.")
    await sync_to_async(_conversation_with)(call.user, "Holidays", "Pack the lease? No, sunscreen.")
    # The conversation going on now, which holds the question itself, is not a result.
    await sync_to_async(make_message)(call, text="What did we say about the lease?")

    outcome = await run(call, "search_conversations", {"query": "LEASE years"})

    answer = json.loads(outcome.output)
    assert answer["ok"] and outcome.line == "Searched your conversations for 'LEASE years'"
    assert [r["title"] for r in answer["result"]["results"]] == ["Flat hunting"]
    assert answer["result"]["results"][0]["snippet"] == "The lease runs for two years."
    everything = await run(call, "search_conversations", {"query": "lease"}, call_id="call_2")
    titles = [r["title"] for r in json.loads(everything.output)["result"]["results"]]
    assert titles == ["Holidays", "Flat hunting"]  # newest first
    assert "secret" not in everything.output


async def test_current_time_is_in_the_callers_time_zone(call):
    outcome = await run(call, "current_time")

    answer = json.loads(outcome.output)["result"]
    assert answer["timezone"] == "Europe/Paris"
    offset = datetime.fromisoformat(answer["iso"]).utcoffset().total_seconds()
    assert offset in (3600, 7200)


async def test_end_call_asks_for_the_end_of_the_call(call):
    outcome = await run(call, "end_call")

    assert outcome.ok and outcome.ends_call and outcome.line == "Ended the call"
