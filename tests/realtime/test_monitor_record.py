"""What the call monitor keeps of a Realtime call with no page saving anything: every item the
simulator produced, in order, once; a continued conversation's memory, sent before the first
reply; and a call that spends the user's budget, hung up."""

import asyncio

import httpx
import pytest
from asgiref.sync import sync_to_async

from realtime.services import realtime_session_create
from realtime.transcriber import CallTranscriber
from tests.factories import make_call, make_message, make_price, make_usage, make_user
from tests.realtime.test_monitor import ended, joined, monitor, sim_call, start_call, user
from tests.simulator.sim_peer import eventually
from voice.models import Call, Message, VoiceConfig
from voice.selectors import messages_in_order
from voice.services.hangups import call_end_and_hang_up

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]
__all__ = ["monitor", "user"]  # fixtures shared with test_monitor


@pytest.fixture
def canned(upstream):
    """Calls without a WebRTC peer: turns are played through the simulator's control API."""
    upstream.configure(canned_sdp=True, transcription_delay_ms=50)
    return upstream


async def turn(upstream, call: Call, *, hung_up_during_it: bool = False, **body) -> dict:
    url = f"{upstream.root}/_sim/calls/{call.upstream_call_id}/turn"
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(url, json=body)
    if hung_up_during_it:  # the simulator answers 409 when the call ends before the turn does
        assert response.status_code == 409, response.text
        return {}
    response.raise_for_status()
    return response.json()


async def continue_call(user, offer_sdp, conversation_id) -> Call:
    created = await realtime_session_create(
        user=user, offer_sdp=offer_sdp, conversation_id=conversation_id
    )
    return created.call


async def saved(call: Call) -> list[Message]:
    assert call.conversation_id is not None
    return await sync_to_async(messages_in_order)(
        [m async for m in Message.objects.filter(conversation_id=call.conversation_id)]
    )


async def settled(call: Call, count: int) -> list[Message]:
    """The conversation once `count` items are saved (the user transcription lands late)."""

    async def probe():
        messages = await saved(call)
        return messages if len(messages) >= count else None

    return await eventually(probe, within=15)


async def test_with_no_page_every_item_is_saved_in_order_once(monitor, user, canned, offer_sdp):
    call = await start_call(user, offer_sdp)
    await joined(canned, call)

    first = await turn(canned, call)
    cut = await turn(canned, call, interrupt=True)
    await settled(call, 4)
    await call_end_and_hang_up(user=user, call_id=call.id, reason="user")
    await ended(call)

    produced = [i for i in (await sim_call(canned, call))["items"] if i["type"] == "message"]
    messages = await settled(call, len(produced))
    assert [(m.item_id, m.role) for m in messages] == [(i["id"], i["role"]) for i in produced]
    assert len({m.item_id for m in messages}) == len(messages)
    by_id = {m.item_id: m for m in messages}
    assert by_id[first["item_id"]].text == first["transcript"]
    reply = by_id[(await sim_call(canned, call))["replies"][0]["item_id"]]
    assert reply.text and not reply.interrupted
    cut_reply = [m for m in messages if m.role == "assistant"][1]
    assert cut_reply.interrupted  # cut off by the caller's next words, saved as heard
    assert cut["response_status"] == "cancelled"


async def test_a_continued_conversation_gets_its_earlier_turns_before_the_first_reply(
    monitor, user, canned, offer_sdp
):
    earlier = await sync_to_async(make_call)(user, status="ended")
    await sync_to_async(make_message)(earlier, item_id="u0", role="user", text="I am Alice.")
    await sync_to_async(make_message)(
        earlier,
        item_id="a0",
        role="assistant",
        text="Nice to meet you, Alice.",
        previous_item_id="u0",
    )

    call = await continue_call(user, offer_sdp, earlier.conversation_id)
    await joined(canned, call)
    await eventually(lambda: _client_items(canned, call, 2), within=10)
    await turn(canned, call)

    simulated = await sim_call(canned, call)
    memory = [i for i in simulated["items"] if i["source"] == "client"]
    assert [(i["role"], i["text"]) for i in memory] == [
        ("user", "I am Alice."),
        ("assistant", "Nice to meet you, Alice."),
    ]
    assert all(i["before_first_response"] for i in memory)
    assert simulated["items"][: len(memory)] == memory  # ahead of anything said in this call
    assert {i["id"] for i in memory} <= set(simulated["replies"][0]["context_item_ids"])
    messages = await settled(call, 4)
    assert not any(m.item_id.startswith("mem_") for m in messages)  # memory is not re-saved


async def test_the_memory_is_sent_once_even_when_another_worker_takes_the_call_over(
    monitor, user, canned, offer_sdp
):
    earlier = await sync_to_async(make_call)(user, status="ended")
    await sync_to_async(make_message)(earlier, item_id="u0", role="user", text="I am Alice.")
    call = await continue_call(user, offer_sdp, earlier.conversation_id)
    await joined(canned, call)
    await eventually(lambda: _client_items(canned, call, 1), within=10)

    sent = []

    async def send(event):
        sent.append(event)

    await CallTranscriber(call=await Call.objects.aget(pk=call.pk)).on_join(send, first=True)

    assert sent == []


async def _client_items(upstream, call, count) -> bool:
    found = await sim_call(upstream, call)
    return bool(found and sum(i["source"] == "client" for i in found["items"]) == count)


async def test_a_call_that_spends_the_budget_of_the_servers_key_is_hung_up(
    monitor, canned, offer_sdp
):
    payer = await sync_to_async(make_user)()  # no key of their own: the server's key pays
    await sync_to_async(make_price)("gpt-realtime-2.1", audio_in="32", audio_out="64")
    await VoiceConfig.objects.aupdate_or_create(pk=1, defaults={"monthly_budget_usd": "1.00"})
    await sync_to_async(make_usage)(payer, cost="0.999999")  # one cent short of the budget
    call = await start_call(payer, offer_sdp)
    await joined(canned, call)

    # Its response.done costs more than what is left: hung up before the audio even ends.
    await turn(canned, call, hung_up_during_it=True)

    done = await ended(call)
    assert done.ended_reason == "budget_exceeded"
    hangups = f"/v1/realtime/calls/{call.upstream_call_id}/hangup"
    await eventually(lambda: asyncio.to_thread(canned.requests, hangups))  # after the end


async def test_a_sideband_that_drops_is_joined_again_and_nothing_is_lost(
    monitor, user, canned, offer_sdp
):
    call = await start_call(user, offer_sdp)
    await joined(canned, call)
    await turn(canned, call)

    async with httpx.AsyncClient(timeout=10) as http:
        dropped = await http.post(
            f"{canned.root}/_sim/calls/{call.upstream_call_id}/drop-sidebands"
        )
    assert dropped.json() == {"dropped": 1}

    async def joined_again():
        found = await sim_call(canned, call)
        return found["sideband_joins"] == 2 and found["sidebands"] == 1

    await eventually(joined_again, within=20)  # the backoff's first step is under a second
    await turn(canned, call)
    messages = await settled(call, 4)
    produced = [i for i in (await sim_call(canned, call))["items"] if i["type"] == "message"]
    assert [(m.item_id, m.role) for m in messages] == [(i["id"], i["role"]) for i in produced]
    assert (await Call.objects.aget(pk=call.pk)).is_live  # a blip is not the end of the call
