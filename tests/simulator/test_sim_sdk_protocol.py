"""Protocol drift: every event the simulator sends, on the data channel and on the sideband, along
every path it has, is checked against the official ``openai`` SDK's Realtime types, with no field
the types do not declare. The client events these tests send are checked the same way, so what
the simulator accepts is what the SDK would send."""

import asyncio
import re
from collections import defaultdict
from pathlib import Path

import simulator
from tests.simulator.sdk_types import client_event_problems, server_event_problems
from tests.simulator.sim_peer import SESSION

# Long enough to be talked over or cancelled after a few words; the replies alternate.
REPLIES = ["Okay.", "This reply goes on for long enough to be talked over."]
# Every server event type the simulator can send; the tests below must see each one, so a path
# that stops producing events is noticed rather than silently validated as empty.
SERVER_EVENT_TYPES = {
    "session.created",
    "session.updated",
    "error",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.retrieved",
    "conversation.item.deleted",
    "conversation.item.truncated",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_audio.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.done",
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
}


def test_the_list_above_names_every_event_type_the_simulator_can_send():
    source = "".join(path.read_text() for path in Path(simulator.__file__).parent.glob("*.py"))
    emitted = set(re.findall(r'(?:emit|_event)\(\s*"([a-z_.]+)"', source))
    assert emitted == SERVER_EVENT_TYPES


def _problems_by_type(*logs) -> dict[str, set[str]]:
    problems = defaultdict(set)
    for log in logs:
        for event in log:
            for problem in server_event_problems(event):
                problems[event["type"]].add(problem)
    return dict(problems)


def _types(*logs) -> set[str]:
    return {event["type"] for log in logs for event in log}


async def _send(client, event: dict) -> None:
    """Send a client event that the SDK's own types accept."""
    assert client_event_problems(event) == [], event
    result = client.send(event)
    if asyncio.iscoroutine(result):
        await result


def _user_text(text: str, **fields) -> dict:
    content = [{"type": "input_text", "text": text}]
    return {"type": "message", "role": "user", "content": content, **fields}


async def _count(log, type_: str, count: int) -> None:
    await log.events.wait(lambda e: len(log.of_type(type_)) >= count)


async def _webrtc_paths(http, peer, sideband) -> None:
    """Spoken turns with late transcripts, barge-in, typed and text-only replies, a cancel,
    session updates and the item and buffer client events, then hangup."""
    await peer.mic.speak(600)
    await peer.event("output_audio_buffer.stopped")
    await peer.event("conversation.item.input_audio_transcription.completed")
    await peer.mic.speak(600)  # the longer reply's turn
    await peer.events.wait(lambda e: len(peer.of_type("output_audio_buffer.started")) >= 2)
    await peer.mic.speak(600)  # barge-in
    await peer.event("conversation.item.truncated")
    await _count(peer, "response.done", 3)  # the interrupting turn's own reply
    await _send(peer, {"type": "conversation.item.create", "item": _user_text("Typed.")})
    await _send(peer, {"type": "response.create"})
    await _count(peer, "response.done", 4)
    await _send(peer, {"type": "response.create", "response": {"output_modalities": ["text"]}})
    await peer.event("response.output_text.done")
    await _send(peer, {"type": "response.create"})
    await _count(peer, "response.output_audio_transcript.delta", 2)
    await _send(peer, {"type": "response.cancel"})
    await _send(peer, {"type": "output_audio_buffer.clear"})
    await peer.events.wait(lambda e: e.get("response", {}).get("status") == "cancelled")
    item_id = peer.of_type("conversation.item.done")[0]["item"]["id"]
    await _send(sideband, {"type": "conversation.item.retrieve", "item_id": item_id})
    await _send(sideband, {"type": "conversation.item.truncate", "item_id": item_id,
                           "content_index": 0, "audio_end_ms": 100})  # fmt: skip
    await _send(sideband, {"type": "conversation.item.delete", "item_id": item_id})
    await _send(sideband, {"type": "conversation.item.delete", "item_id": item_id})  # gone
    await _send(sideband, {"type": "session.update", "session": {"type": "realtime"}})
    await sideband.send({"type": "session.update", "session": {}})  # invalid on purpose
    await sideband.send({"type": "no.such.event"})
    await _count(sideband, "error", 3)
    assert (await http.post(f"/v1/realtime/calls/{peer.call_id}/hangup")).status_code == 200
    await asyncio.wait_for(sideband.closed, 5)


async def test_every_event_of_a_webrtc_call_and_its_sideband_is_a_valid_sdk_event(
    http, peers, sidebands
):
    await http.post("/_sim/config", json={"assistant_texts": REPLIES})
    peer = peers()
    await peer.connect(http, session=SESSION)
    await peer.event("session.created")
    sideband = await sidebands(peer.call_id)
    await _webrtc_paths(http, peer, sideband)
    logs = (peer.events.entries, sideband.events.entries)
    assert _problems_by_type(*logs) == {}
    # Every type is checked somewhere: this call sends all but the manual buffer's clear and
    # the function call's (both checked below).
    assert SERVER_EVENT_TYPES - _types(*logs) == {
        "input_audio_buffer.cleared",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
    }


async def _canned_paths(http, call_id: str, manual_id: str, sideband, manual) -> None:
    """Earlier turns, scripted and interrupted turns, the manual buffer, tool output, expiry."""
    await _send(sideband, {"type": "conversation.item.create", "previous_item_id": "root",
                           "item": _user_text("Earlier.", id="item_earlier")})  # fmt: skip
    assistant = {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Earlier reply."}]}  # fmt: skip
    await _send(sideband, {"type": "conversation.item.create", "item": assistant,
                           "previous_item_id": "item_earlier"})  # fmt: skip
    await _send(sideband, {"type": "conversation.item.create", "previous_item_id": "item_nope",
                           "item": _user_text("Lost.")})  # fmt: skip
    for body in ({}, {"interrupt": True}, {"text": "Carry on."}):
        assert (await http.post(f"/_sim/calls/{call_id}/turn", json=body)).status_code == 200
    output = {"type": "function_call_output", "call_id": "call_1", "output": "{}"}
    await _send(manual, {"type": "conversation.item.create", "item": output})
    await _send(manual, {"type": "input_audio_buffer.commit"})  # nothing buffered: an error
    await _send(manual, {"type": "input_audio_buffer.clear"})
    await manual.event("input_audio_buffer.cleared")
    for ended in (call_id, manual_id):
        assert (await http.post(f"/_sim/calls/{ended}/expire")).status_code == 200
    await asyncio.wait_for(asyncio.gather(sideband.closed, manual.closed), 5)


async def test_every_event_of_canned_calls_on_their_sidebands_is_a_valid_sdk_event(
    http, canned_call, sidebands
):
    await http.post("/_sim/config", json={"assistant_texts": REPLIES})
    call_id = await canned_call()
    manual_id = await canned_call({**SESSION, "audio": {"input": {"turn_detection": None}}})
    sideband, manual = await sidebands(call_id), await sidebands(manual_id)
    await _canned_paths(http, call_id, manual_id, sideband, manual)
    logs = (sideband.events.entries, manual.events.entries)
    assert _problems_by_type(*logs) == {}
    assert "input_audio_buffer.cleared" in _types(*logs)
    assert {e["error"]["code"] for e in sideband.of_type("error")} == {
        "item_not_found",
        "session_expired",
    }


SEARCH_TOOL = {
    "type": "function",
    "name": "search_conversations",
    "description": "Search the user's conversations.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
}
FUNCTION_CALL_EVENTS = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def _of_response(log, response_id: str) -> list[str]:
    """The types of a response's events, in order, deltas counted once."""
    types: list[str] = []
    for event in log:
        ids = (event.get("response_id"), event.get("response", {}).get("id"))
        its_item = event["type"].startswith("conversation.item") and "call_id" in event.get(
            "item", {}
        )
        if (response_id in ids or its_item) and (not types or types[-1] != event["type"]):
            types.append(event["type"])
    return types


async def test_a_scripted_function_call_is_the_same_valid_sdk_events_on_both_connections(
    http, peers, sidebands
):
    script = [{"match": "LEASE", "name": "search_conversations",
               "arguments": {"query": "lease"}, "answer": "I found: {output}"}]  # fmt: skip
    await http.post("/_sim/config", json={"tool_script": script})
    peer = peers()
    await peer.connect(http, session={**SESSION, "tools": [SEARCH_TOOL], "tool_choice": "auto"})
    await peer.event("session.created")
    sideband = await sidebands(peer.call_id)

    turn = await http.post(f"/_sim/calls/{peer.call_id}/turn", json={"text": "The lease?"})

    done = await sideband.event("response.function_call_arguments.done")
    assert (done["name"], done["arguments"]) == ("search_conversations", '{"query": "lease"}')
    assert done["response_id"] == turn.json()["response_id"]
    for log in (peer.events.entries, sideband.events.entries):
        assert _of_response(log, done["response_id"]) == FUNCTION_CALL_EVENTS
    [call_done] = [e for e in sideband.of_type("response.done") if e["response"]["output"]]
    assert call_done["response"]["output"][0]["call_id"] == done["call_id"]
    output = {"type": "function_call_output", "id": "tool_0123456789abcdef0123456789a",
              "call_id": done["call_id"], "output": '{"ok": true}'}  # fmt: skip
    await _send(sideband, {"type": "conversation.item.create", "item": output})
    await _send(sideband, {"type": "response.create"})
    answer = await peer.event("response.output_audio_transcript.done")
    assert answer["transcript"] == 'I found: {"ok": true}'
    assert _problems_by_type(peer.events.entries, sideband.events.entries) == {}


async def test_a_function_the_session_does_not_offer_is_never_called(http, canned_call, sidebands):
    script = [{"match": "lease", "name": "search_conversations"}]
    await http.post("/_sim/config", json={"tool_script": script})
    call_id = await canned_call()  # offers no tools
    sideband = await sidebands(call_id)

    await http.post(f"/_sim/calls/{call_id}/turn", json={"text": "The lease?"})

    assert sideband.of_type("response.function_call_arguments.done") == []
    assert sideband.of_type("response.output_audio_transcript.done")
