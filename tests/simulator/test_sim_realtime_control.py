"""Barge-in, client events, the sideband, hangup, expiry and offer validation on a realtime call."""

import aiohttp

from tests.simulator.sim_peer import KEY, SESSION, eventually

LONG_REPLY = (
    "Here is a rather long answer, so that there is plenty of time to interrupt it before it "
    "ends, and it keeps going for quite a while longer."
)
LONG_LAST_WORD = "Fine supercalifragilisticexpialidocious"


async def _connected(http, peers, session=SESSION):
    peer = peers()
    await peer.connect(http, session=session)
    await peer.event("session.created")
    return peer


async def test_speech_during_response_audio_cancels_it_and_clears_playback(http, peers):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_REPLY, "Okay."]})
    peer = await _connected(http, peers)
    await peer.mic.speak(600)
    await peer.event("response.output_audio_transcript.delta")
    await peer.mic.speak(600)
    cancelled = await peer.event("response.done")
    cleared = await peer.event("output_audio_buffer.cleared")
    response = cancelled["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert cleared["response_id"] == response["id"]
    second_start = peer.of_type("input_audio_buffer.speech_started")[1]
    transcript_done = await peer.event("response.output_audio_transcript.done")
    item_done = await peer.event("response.output_item.done")
    assert transcript_done["transcript"] == LONG_REPLY  # what was generated, not what was heard
    assert item_done["item"]["status"] == "incomplete"
    order = [peer.index(e) for e in (second_start, transcript_done, item_done, cancelled, cleared)]
    assert order == sorted(order)
    assert not [e for e in peer.of_type("output_audio_buffer.stopped")]
    # The interrupting speech becomes the next user turn, after the cut-off assistant item.
    second_commit = (await _nth(peer, "input_audio_buffer.committed", 2))[1]
    assert second_commit["previous_item_id"] == item_done["item"]["id"]
    assert (await _nth(peer, "response.done", 2))[1]["response"]["status"] == "completed"


async def _nth(peer, type_: str, count: int) -> list[dict]:
    await peer.events.wait(lambda e: len(peer.of_type(type_)) >= count)
    return peer.of_type(type_)


async def test_speech_after_generation_finished_still_clears_queued_audio(http, peers):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_LAST_WORD]})
    peer = await _connected(http, peers)
    await peer.mic.speak(600)
    done = await peer.event("response.done")
    assert done["response"]["status"] == "completed"
    await peer.mic.speak(400)
    cleared = await peer.event("output_audio_buffer.cleared")
    assert cleared["response_id"] == done["response"]["id"]
    assert not peer.of_type("output_audio_buffer.stopped")


async def test_typed_turn_gets_a_spoken_reply_quoting_it(http, peers):
    peer = await _connected(http, peers)
    peer.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What time is it?"}],
            },
        }
    )
    peer.send({"type": "response.create"})
    added = await peer.event("conversation.item.added")
    assert added["item"]["content"][0]["text"] == "What time is it?"
    transcript = await peer.event("response.output_audio_transcript.done")
    assert transcript["transcript"].startswith('You wrote "What time is it?".')
    await peer.event("output_audio_buffer.stopped")
    assert (await peer.event("response.done"))["response"]["output"][0]["id"] == transcript[
        "item_id"
    ]


async def test_client_events_are_answered_like_the_real_api(http, peers):
    peer = await _connected(http, peers)
    peer.send({"type": "response.cancel", "event_id": "evt_cancel"})
    error = await peer.event("error")
    assert error["error"]["code"] == "response_cancel_not_active"
    assert error["error"]["event_id"] == "evt_cancel"
    peer.send({"type": "no.such.event", "event_id": "evt_unknown"})
    unknown = (await _nth(peer, "error", 2))[1]
    assert unknown["error"]["param"] == "type" and unknown["error"]["event_id"] == "evt_unknown"
    peer.send({"type": "session.update", "session": {"instructions": "No type."}})
    missing_type = (await _nth(peer, "error", 3))[2]
    assert missing_type["error"]["param"] == "session.type"
    # Before any response there is no response_id to name, so a clear is not answered;
    # client events are handled in order, so a cleared would arrive before session.updated.
    peer.send({"type": "output_audio_buffer.clear"})
    peer.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "instructions": "Speak like a pirate."},
        }
    )
    updated = await peer.event("session.updated")
    assert updated["session"]["instructions"] == "Speak like a pirate."
    assert updated["session"]["audio"]["output"]["voice"] == "cedar"  # partial update
    assert not peer.of_type("output_audio_buffer.cleared")


async def test_response_cancel_stops_generation_with_client_cancelled(http, peers):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_REPLY]})
    peer = await _connected(http, peers)
    peer.send({"type": "response.create"})
    await peer.event("response.output_audio_transcript.delta")
    peer.send({"type": "response.cancel"})
    peer.send({"type": "output_audio_buffer.clear"})
    done = await peer.event("response.done")
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    cleared = await peer.event("output_audio_buffer.cleared")
    assert cleared["response_id"] == done["response"]["id"]


async def test_sideband_mirrors_events_and_accepts_session_update(sim, http, peers):
    peer = await _connected(http, peers)
    url = f"{sim.base_url}/v1/realtime?call_id={peer.call_id}"
    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
        greeting = await ws.receive_json(timeout=5)
        assert greeting["type"] == "session.created"  # each connection opens with its own
        await ws.send_json(
            {"type": "session.update", "session": {"type": "realtime", "instructions": "Sideband."}}
        )
        mirrored = await ws.receive_json(timeout=5)
        assert mirrored["type"] == "session.updated"
        on_channel = await peer.event("session.updated")
        assert on_channel["event_id"] == mirrored["event_id"]
        assert on_channel["session"]["instructions"] == "Sideband."


async def test_sideband_needs_auth_and_a_known_call(sim, http):
    async with aiohttp.ClientSession() as session:
        url = f"{sim.base_url}/v1/realtime?call_id=rtc_nope"
        async with session.get(url) as response:
            assert response.status == 401
        async with session.get(url, headers={"Authorization": f"Bearer {KEY}"}) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "call_not_found"


async def test_hangup_closes_the_call_and_unknown_ids_are_404(http, peers):
    peer = await _connected(http, peers)
    response = await http.post(f"/v1/realtime/calls/{peer.call_id}/hangup")
    assert response.status_code == 200 and response.content == b""
    (call,) = (await http.get("/_sim/calls")).json()
    assert call["state"] == "closed" and call["hung_up"] is True
    assert call["data_channel"] == "oai-events"
    assert (await http.post(f"/v1/realtime/calls/{peer.call_id}/hangup")).status_code == 404
    unknown = await http.post("/v1/realtime/calls/rtc_unknown/hangup")
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code"}


async def test_session_expires_with_session_expired_error(http, peers):
    await http.post("/_sim/config", json={"max_session_s": 0.5})
    peer = await _connected(http, peers)
    error = await peer.event("error")
    assert error["error"]["code"] == "session_expired"

    async def closed_call():
        (call,) = (await http.get("/_sim/calls")).json()
        return call if call["state"] == "closed" else None

    assert (await eventually(closed_call))["hung_up"] is False


async def test_invalid_offers_and_sessions_are_rejected_with_400(http):
    bad_sdp = await http.post(
        "/v1/realtime/calls", content="hello", headers={"Content-Type": "application/sdp"}
    )
    assert bad_sdp.status_code == 400
    assert bad_sdp.json()["error"]["type"] == "invalid_request_error"
    wrong_type = await http.post(
        "/v1/realtime/calls",
        files={"sdp": (None, "v=0\r\n"), "session": (None, '{"type": "transcription"}')},
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"]["param"] == "session.type"
    no_sdp = await http.post("/v1/realtime/calls", files={"session": (None, '{"type":"realtime"}')})
    assert no_sdp.status_code == 400 and no_sdp.json()["error"]["param"] == "sdp"


async def test_calls_listing_shows_mic_audio_and_detected_speech(http, peers):
    peer = await _connected(http, peers)
    await peer.mic.speak(600)
    await peer.event("input_audio_buffer.speech_stopped")
    peer.send({"type": "response.cancel"})
    await peer.event("response.done")
    (call,) = (await http.get("/_sim/calls")).json()
    assert call["state"] == "open" and call["mic_frames"] > 20 and call["mic_max_rms"] > 1000
    assert call["speech"][0]["end_ms"] > call["speech"][0]["start_ms"]
    assert "session.created" in call["event_types"]
    assert call["client_events"] == ["response.cancel"]


async def test_text_only_response_streams_output_text_without_audio(http, peers):
    peer = await _connected(http, peers)
    peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    done = await peer.event("response.output_text.done")
    deltas = peer.of_type("response.output_text.delta")
    assert "".join(d["delta"] for d in deltas) == done["text"] == "Okay, got it."
    assert (await peer.event("response.done"))["response"]["status"] == "completed"
    assert not peer.of_type("output_audio_buffer.started")


async def test_manual_turns_commit_on_request_and_respond_only_when_asked(sim, http, peers):
    manual = {**SESSION, "audio": {"input": {"turn_detection": None}}}
    peer = await _connected(http, peers, session=manual)
    peer.send({"type": "input_audio_buffer.clear"})
    await peer.event("input_audio_buffer.cleared")

    async def mic_frames() -> int:
        (call,) = (await http.get("/_sim/calls")).json()
        return call["mic_frames"]

    cleared_at = await mic_frames()

    async def new_audio_buffered() -> bool:  # at least 200 ms since the clear
        return await mic_frames() > cleared_at + 10

    await eventually(new_audio_buffered)
    peer.send({"type": "input_audio_buffer.commit"})
    committed = await peer.event("input_audio_buffer.committed")
    await peer.event("conversation.item.done", previous_item_id=None)
    assert not peer.of_type("response.created") and not peer.of_type("error")
    peer.send({"type": "response.create"})
    created = await peer.event("response.created")
    added = await peer.event("conversation.item.added", previous_item_id=committed["item_id"])
    assert added["item"]["role"] == "assistant" and created["response"]["status"] == "in_progress"
