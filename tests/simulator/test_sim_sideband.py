"""The sideband as the server's call monitor uses it: joining by call_id, the events it sees,
earlier turns sent with conversation.item.create, and how it ends."""

import asyncio

import aiohttp
import pytest

from tests.simulator.sdk_types import client_event_problems
from tests.simulator.sim_peer import KEY, SESSION


def _message(role: str, text: str, **fields) -> dict:
    part = "input_text" if role == "user" else "output_text"
    return {"type": "message", "role": role, "content": [{"type": part, "text": text}], **fields}


def _create(item: dict, previous_item_id: str | None = None, **fields) -> dict:
    event = {"type": "conversation.item.create", "item": item, **fields}
    if previous_item_id is not None:
        event["previous_item_id"] = previous_item_id
    assert client_event_problems(event) == []  # what the monitor sends is valid for the SDK
    return event


async def _call(http, call_id: str) -> dict:
    return next(c for c in (await http.get("/_sim/calls")).json() if c["id"] == call_id)


async def _added(sideband, count: int) -> list[dict]:
    await sideband.events.wait(lambda e: len(sideband.of_type("conversation.item.done")) >= count)
    return sideband.of_type("conversation.item.added")


async def test_joining_needs_a_key_and_an_open_call(sim, http, canned_call):
    call_id = await canned_call()
    url = f"{sim.base_url}/v1/realtime?call_id={call_id}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 401
        assert (await http.post(f"/v1/realtime/calls/{call_id}/hangup")).status_code == 200
        async with session.get(url, headers={"Authorization": f"Bearer {KEY}"}) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "call_not_found"


async def test_earlier_turns_go_first_and_the_first_reply_reads_them(http, canned_call, sidebands):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    created = await sideband.event("session.created")
    assert created["session"]["audio"]["output"]["voice"] == "cedar"
    first = _message("user", "I would like pasta.", id="item_history_1")
    await sideband.send(_create(first, "root"))
    await sideband.send(_create(_message("assistant", "Pasta it is."), "item_history_1"))
    user_added, assistant_added = await _added(sideband, 2)
    assert user_added["previous_item_id"] is None  # "root": first in the conversation
    assert user_added["item"] == {
        **first,
        "object": "realtime.item",
        "status": "completed",
    }
    assert assistant_added["previous_item_id"] == "item_history_1"
    assert assistant_added["item"]["content"] == [{"type": "output_text", "text": "Pasta it is."}]
    turn = (await http.post(f"/_sim/calls/{call_id}/turn", json={"text": "And wine?"})).json()
    committed = await sideband.event("input_audio_buffer.committed")
    assert committed["previous_item_id"] == assistant_added["item"]["id"]
    call = await _call(http, call_id)
    assert [
        (i["role"], i["text"], i["source"], i["before_first_response"]) for i in call["items"]
    ] == [
        ("user", "I would like pasta.", "client", True),
        ("assistant", "Pasta it is.", "client", True),
        ("user", "And wine?", "audio", True),
        ("assistant", "Okay, got it.", "model", False),
    ]
    (reply,) = call["replies"]
    assert reply["id"] == turn["response_id"]
    assert reply["context_item_ids"] == [item["id"] for item in call["items"][:3]]


async def test_items_insert_where_previous_item_id_says(http, canned_call, sidebands):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    await http.post(f"/_sim/calls/{call_id}/turn", json={"text": "Hello."})
    await sideband.send(_create(_message("user", "Late history."), "root"))
    late = (await _added(sideband, 3))[-1]
    assert late["previous_item_id"] is None
    await sideband.send(_create(_message("assistant", "Late answer."), late["item"]["id"]))
    await sideband.send(_create(_message("user", "Typed at the end.")))  # no id: appended
    await _added(sideband, 5)
    call = await _call(http, call_id)
    assert [(i["text"], i["before_first_response"]) for i in call["items"]] == [
        ("Late history.", False),
        ("Late answer.", False),
        ("Hello.", True),
        ("Okay, got it.", False),
        ("Typed at the end.", False),
    ]


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        (_create(_message("user", "Lost."), "item_missing"), "item_not_found", "previous_item_id"),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "input_text", "text": "Wrong part type."}],
                },
            },
            "invalid_value",
            "item.content[0].type",
        ),
        (
            {"type": "conversation.item.create", "item": {"type": "message", "role": "bot"}},
            "invalid_value",
            "item.role",
        ),
    ],
)
async def test_bad_items_get_an_error_event_and_change_nothing(
    http, canned_call, sidebands, event, code, param
):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    await sideband.send({**event, "event_id": "evt_monitor_1"})
    error = await sideband.event("error")
    assert error["error"]["code"] == code and error["error"]["param"] == param
    assert error["error"]["event_id"] == "evt_monitor_1"
    assert (await _call(http, call_id))["items"] == []


async def test_an_item_id_cannot_be_used_twice(http, canned_call, sidebands):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    await sideband.send(_create(_message("user", "Once.", id="item_once")))
    await sideband.send(_create(_message("user", "Twice.", id="item_once")))
    error = await sideband.event("error")
    assert error["error"]["param"] == "item.id"
    assert [i["text"] for i in (await _call(http, call_id))["items"]] == ["Once."]


async def test_the_sideband_sees_what_the_data_channel_sees_in_the_same_order(
    http, peers, sidebands
):
    peer = peers()
    await peer.connect(http, session=SESSION)
    await peer.event("session.created")
    sideband = await sidebands(peer.call_id)
    await sideband.event("session.created")
    await peer.mic.speak(600)
    await peer.event("output_audio_buffer.stopped")
    await peer.event("conversation.item.input_audio_transcription.completed")
    last = peer.events.entries[-1]["event_id"]
    await sideband.events.wait(lambda e: e["event_id"] == last)
    on_channel = [e["event_id"] for e in peer.events.entries[1:]]
    on_sideband = [e["event_id"] for e in sideband.events.entries[1:]]
    assert on_sideband == on_channel and len(on_channel) > 15
    # Each connection opens with its own session.created, which the other does not see.
    assert peer.events.entries[0]["event_id"] != sideband.events.entries[0]["event_id"]


async def test_hangup_closes_sidebands_with_1000_after_their_last_events(
    http, canned_call, sidebands
):
    call_id = await canned_call()
    first, second = await sidebands(call_id), await sidebands(call_id)
    await first.send(_create(_message("user", "Just before the end.")))
    await first.event("conversation.item.done")
    assert (await http.post(f"/v1/realtime/calls/{call_id}/hangup")).status_code == 200
    for sideband in (first, second):
        assert await asyncio.wait_for(sideband.closed, 5) == 1000
        assert sideband.events.entries[-1]["type"] == "conversation.item.done"
    assert (await _call(http, call_id))["sidebands"] == 0
