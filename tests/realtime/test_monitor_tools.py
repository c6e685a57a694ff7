"""Tools in a Realtime call, answered by the call monitor on the sideband against the
simulator: the model's function call runs for the call's own user, its output goes back with
`response.create`, the reply says what it found, and the transcript keeps the tool's line in
order; `end_call` ends the call once the goodbye was heard; a tool that fails or takes too long
gives the model an error, and the call goes on."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from tests.factories import make_call, make_earlier_conversation, make_user
from tests.realtime.test_monitor import ended, joined, monitor, sim_call, start_call, user
from tests.realtime.test_monitor_record import canned, saved, turn
from tests.simulator.sim_peer import eventually
from voice.models import Call, Message, VoiceConfig
from voice.services.tool_calls import tool_item_id
from voice.tools import ToolContext, unregister, voice_tool

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]
__all__ = ["canned", "monitor", "user"]  # fixtures shared with the other monitor tests

ANSWER = "Here is what I found: {output}"


async def reply_after(call: Call, line: Message) -> Message:
    """The assistant's reply saved right after the tool's line."""

    async def probe():
        messages = await saved(call)
        at = [m.item_id for m in messages].index(line.item_id)
        return messages[at + 1] if len(messages) > at + 1 else None

    return await eventually(probe, within=15)


async def tool_line(call: Call) -> Message:
    async def probe():
        line = await Message.objects.filter(call=call, role="tool").afirst()
        return line if line and line.tool["ok"] is not None else None

    return await eventually(probe, within=15)


async def test_the_assistant_searches_the_users_conversations_and_answers_with_what_it_found(
    monitor, user, canned, offer_sdp
):
    await sync_to_async(make_earlier_conversation)(
        user, "The lease runs until June.", title="Flat hunting"
    )
    mallory = await sync_to_async(make_user)()
    await sync_to_async(make_earlier_conversation)(mallory, "My lease is secret.")
    script = [{"match": "lease", "name": "search_conversations",
               "arguments": {"query": "lease"}, "answer": ANSWER}]  # fmt: skip
    canned.configure(tool_script=script)
    call = await start_call(user, offer_sdp)
    await joined(canned, call)

    asked = await turn(canned, call, text="What did we say about the lease?")

    line = await tool_line(call)
    reply = await reply_after(call, line)
    assert (line.text, line.tool) == (
        "Searched your conversations for 'lease'",
        {"name": "search_conversations", "arguments": {"query": "lease"}, "ok": True},
    )
    assert reply.role == "assistant" and "The lease runs until June." in reply.text
    assert "secret" not in reply.text
    messages = await eventually(lambda: _with_user_text(call), within=15)
    assert [(m.role, m.item_id) for m in messages] == [
        ("user", asked["item_id"]),
        ("tool", line.item_id),
        ("assistant", reply.item_id),
    ]
    simulated = await sim_call(canned, call)
    assert simulated["client_events"][-2:] == ["conversation.item.create", "response.create"]
    [output] = [i for i in simulated["items"] if i["type"] == "function_call_output"]
    assert output["id"] == line.item_id  # the reply follows the line in both records
    call_id = next(i for i in simulated["items"] if i["type"] == "function_call")["id"]
    assert line.item_id != call_id


async def _with_user_text(call: Call) -> list[Message] | None:
    messages = await saved(call)
    return messages if len(messages) == 3 and messages[0].text else None


async def test_end_call_ends_the_call_with_reason_assistant_once_the_goodbye_was_heard(
    monitor, user, canned, offer_sdp
):
    goodbye = "Goodbye, and good luck with the move."
    canned.configure(tool_script=[{"match": "bye", "name": "end_call", "answer": goodbye}])
    call = await start_call(user, offer_sdp)
    await joined(canned, call)

    await turn(canned, call, text="That is all, bye!")

    over = await ended(call)
    assert over.ended_reason == "assistant"
    simulated = await eventually(lambda: _hung_up(canned, call), within=10)
    assert "output_audio_buffer.stopped" in simulated["event_types"]  # before the hangup
    messages = await eventually(lambda: _count(call, 3), within=15)
    assert [m.role for m in messages] == ["user", "tool", "assistant"]
    assert messages[1].text == "Ended the call"
    said = messages[2]
    assert (said.text, said.interrupted) == (goodbye, False)  # heard to the end, then hung up


async def _hung_up(upstream, call: Call) -> dict | None:
    found = await sim_call(upstream, call)
    return found if found and found["hung_up"] else None


async def _count(call: Call, count: int) -> list[Message] | None:
    messages = await saved(call)
    return messages if len(messages) >= count and all(m.text for m in messages) else None


@pytest.fixture
def failing_tools():
    @voice_tool
    def broken_lookup(context: ToolContext, order: str) -> str:
        """Look up an order (always fails)."""
        raise RuntimeError("database is on fire")

    @voice_tool
    async def slow_lookup(context: ToolContext) -> str:
        """Look something up, slowly."""
        await asyncio.sleep(30)
        return "too late"

    yield
    unregister("broken_lookup")
    unregister("slow_lookup")


@pytest.mark.usefixtures("failing_tools")
async def test_a_tool_that_raises_or_times_out_gives_an_error_and_the_call_goes_on(
    monitor, user, canned, offer_sdp
):
    await VoiceConfig.objects.aupdate_or_create(pk=1, defaults={"tool_timeout_s": 1})
    script = [
        {"match": "order", "name": "broken_lookup", "arguments": {"order": "A1"},
         "answer": "Sorry: {output}"},
        {"match": "slow", "name": "slow_lookup", "answer": "Sorry: {output}"},
    ]  # fmt: skip
    canned.configure(tool_script=script, assistant_texts=["Still here."])
    call = await start_call(user, offer_sdp)
    await joined(canned, call)

    await turn(canned, call, text="Where is my order?")
    broken = await tool_line(call)
    first_answer = await reply_after(call, broken)
    await turn(canned, call, text="Try the slow way.")
    slow = await eventually(lambda: _line_of(call, "slow_lookup"), within=15)
    second_answer = await reply_after(call, slow)
    after = await turn(canned, call, text="Are you there?")

    assert (broken.text, broken.tool["ok"]) == ("Used broken lookup (failed)", False)
    assert json.loads(first_answer.text.removeprefix("Sorry: ")) == {
        "ok": False,
        "error": "The tool failed with an internal error.",
    }
    assert "took longer than 1 seconds" in second_answer.text
    assert after["response_status"] == "completed"
    assert (await Call.objects.aget(pk=call.pk)).is_live


async def _line_of(call: Call, name: str) -> Message | None:
    lines = [m async for m in Message.objects.filter(call=call, role="tool")]
    return next(
        (
            m
            for m in lines
            if m.tool is not None and m.tool["name"] == name and m.tool["ok"] is not None
        ),
        None,
    )


async def test_the_output_item_takes_the_tool_lines_id(user):
    call = await sync_to_async(make_call)(user)
    assert len(tool_item_id(call=call, call_id="call_abc")) <= 32  # OpenAI's item id limit
