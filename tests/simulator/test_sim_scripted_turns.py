"""Scripted turns and expiry on canned calls (no WebRTC peer), as the call monitor's tests and the
benchmark drive them: ``POST /_sim/calls/{id}/turn`` and ``/expire``, seen from the sideband."""

import asyncio

from tests.simulator.sim_peer import SESSION, TURN_SEQUENCE

LONG_REPLY = "Here is a long enough reply to be cut off somewhere in its middle, as people do."


def _types(sideband) -> list[str]:
    return [event["type"] for event in sideband.events.entries]


async def _response_done(sideband, response_id: str) -> dict:
    return await sideband.events.wait(
        lambda e: e["type"] == "response.done" and e["response"]["id"] == response_id
    )


async def _calls(http) -> dict:
    return {call["id"]: call for call in (await http.get("/_sim/calls")).json()}


async def test_a_turn_plays_speech_reply_audio_and_late_transcript(http, canned_call, sidebands):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    turn = await http.post(f"/_sim/calls/{call_id}/turn", json={"text": "Book a table for two."})
    assert turn.status_code == 200, turn.text
    result = turn.json()
    assert result["transcript"] == "Book a table for two."
    assert result["response_status"] == "completed" and result["interrupted_by_item_id"] is None
    stopped = await sideband.event("output_audio_buffer.stopped")
    completed = await sideband.event("conversation.item.input_audio_transcription.completed")
    types = _types(sideband)
    positions = [types.index(t) for t in TURN_SEQUENCE]
    assert positions == sorted(positions), types
    assert types.index(completed["type"]) > types.index("response.created")  # late, as upstream
    assert completed["item_id"] == result["item_id"]
    assert completed["transcript"] == "Book a table for two."
    assert completed["usage"]["input_token_details"]["audio_tokens"] > 0
    committed = await sideband.event("input_audio_buffer.committed")
    assert committed == {**committed, "item_id": result["item_id"], "previous_item_id": None}
    done = await sideband.event("response.done")
    assert done["response"]["id"] == result["response_id"] == stopped["response_id"]
    usage = done["response"]["usage"]
    assert usage["output_token_details"]["audio_tokens"] > 0
    assert usage["input_token_details"]["audio_tokens"] > 0  # it heard the user's speech
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    (call,) = (await _calls(http)).values()
    assert [(i["role"], i["source"], i["text"]) for i in call["items"]] == [
        ("user", "audio", "Book a table for two."),
        ("assistant", "model", "Okay, got it."),
    ]


async def test_turns_chain_items_and_the_reply_reads_the_whole_conversation(
    http, canned_call, sidebands
):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    first = (await http.post(f"/_sim/calls/{call_id}/turn", json={})).json()
    second = (await http.post(f"/_sim/calls/{call_id}/turn", json={})).json()
    assert first["transcript"] == "Hello, can you hear me?"  # the scripted user texts, in turn
    assert second["transcript"] == "What is the weather like today?"
    await _response_done(sideband, second["response_id"])
    first_done, second_done = sideband.of_type("response.done")
    first_reply = first_done["response"]["output"][0]["id"]
    committed = await sideband.event("input_audio_buffer.committed", item_id=second["item_id"])
    assert committed["previous_item_id"] == first_reply
    later, earlier = second_done["response"]["usage"], first_done["response"]["usage"]
    assert later["input_tokens"] > earlier["input_tokens"]
    assert later["input_token_details"]["cached_tokens"] == earlier["input_tokens"]
    call = (await _calls(http))[call_id]
    assert call["replies"][1]["context_item_ids"] == [i["id"] for i in call["items"][:3]]


async def test_an_interrupting_turn_cuts_the_reply_as_barge_in_does(http, canned_call, sidebands):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_REPLY, "Okay."]})
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    cut = (await http.post(f"/_sim/calls/{call_id}/turn", json={"interrupt": True})).json()
    assert cut["response_status"] == "cancelled"
    next_item = cut["interrupted_by_item_id"]
    truncated = await sideband.event("conversation.item.truncated")
    done = await _response_done(sideband, cut["response_id"])
    cleared = await sideband.event("output_audio_buffer.cleared")
    barge_in = await sideband.event("input_audio_buffer.speech_started", item_id=next_item)
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert done["response"]["output"][0]["status"] == "incomplete"
    assert cleared["response_id"] == cut["response_id"]
    reply_item = done["response"]["output"][0]["id"]
    assert truncated["item_id"] == reply_item and truncated["content_index"] == 0
    assert truncated["audio_end_ms"] > 0
    order = [sideband.events.entries.index(e) for e in (barge_in, done, cleared, truncated)]
    assert order == sorted(order)
    heard = sideband.of_type("response.output_audio_transcript.delta")
    assert 0 < len(heard) < len(LONG_REPLY.split())  # cut partway through
    assert not sideband.of_type("output_audio_buffer.stopped")
    # The next turn is the interrupting speech itself: it ends, and follows the cut reply.
    follow = (await http.post(f"/_sim/calls/{call_id}/turn", json={"text": "Stop."})).json()
    assert follow["item_id"] == next_item and follow["response_status"] == "completed"
    committed = await sideband.event("input_audio_buffer.committed", item_id=next_item)
    assert committed["previous_item_id"] == reply_item
    assert len(sideband.of_type("input_audio_buffer.speech_started")) == 2
    items = (await _calls(http))[call_id]["items"]
    assert [(i["role"], i["status"]) for i in items] == [
        ("user", "completed"),
        ("assistant", "incomplete"),
        ("user", "completed"),
        ("assistant", "completed"),
    ]


async def test_expire_ends_the_call_like_the_sixty_minute_cap(http, canned_call, sidebands):
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    expired = await http.post(f"/_sim/calls/{call_id}/expire")
    assert expired.status_code == 200
    assert expired.json()["state"] == "closed" and expired.json()["end_reason"] == "session expired"
    error = await sideband.event("error")
    assert error["error"]["code"] == "session_expired"
    assert error["error"]["message"] == "Your session hit the maximum duration of 60 minutes."
    assert await asyncio.wait_for(sideband.closed, 5) == 1000
    assert sideband.events.entries[-1] is error  # the error is the last thing it hears
    assert (await http.post(f"/_sim/calls/{call_id}/expire")).status_code == 404
    assert (await http.post(f"/_sim/calls/{call_id}/turn", json={})).status_code == 404


async def test_a_hangup_during_a_turn_ends_the_turn_and_the_sideband(http, canned_call, sidebands):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_REPLY]})
    call_id = await canned_call()
    sideband = await sidebands(call_id)
    turn = asyncio.create_task(http.post(f"/_sim/calls/{call_id}/turn", json={}))
    await sideband.event("output_audio_buffer.started")
    assert (await http.post(f"/v1/realtime/calls/{call_id}/hangup")).status_code == 200
    assert (await turn).status_code == 409
    assert await asyncio.wait_for(sideband.closed, 5) == 1000
    call = (await _calls(http))[call_id]
    assert call["hung_up"] is True and call["end_reason"] == "hung up"


async def test_turn_requests_are_checked(http, canned_call):
    call_id = await canned_call()
    url = f"/_sim/calls/{call_id}/turn"
    for bad in ([], {"text": 3}, {"text": " "}, {"interrupt": "yes"}, {"speed": 2}):
        response = await http.post(url, json=bad)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert (await http.post("/_sim/calls/rtc_nope/turn", json={})).status_code == 404
    manual = {**SESSION, "audio": {"input": {"turn_detection": None}}}
    manual_id = await canned_call(manual)
    refused = await http.post(f"/_sim/calls/{manual_id}/turn", json={})
    assert refused.status_code == 409 and "turn detection is off" in refused.json()["error"]
