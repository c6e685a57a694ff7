"""A WebRTC call against the simulator: offer/answer, the data channel, a spoken turn with its
response and its audio, canned answers and the latency knob."""

import asyncio

import pytest

from simulator.audio import espeak_available
from simulator.sdp import CANNED_ANSWER
from tests.simulator.sim_peer import SESSION, TURN_SEQUENCE


async def test_multipart_offer_is_answered_with_201_location_and_sdp(http, peers):
    peer = peers()
    response = await peer.connect(http, session=SESSION)
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/sdp")
    assert response.headers["Location"].startswith("/v1/realtime/calls/rtc_")
    assert response.text.startswith("v=0") and "m=application" in response.text
    created = await peer.event("session.created")
    session = created["session"]
    assert session["model"] == "gpt-realtime"
    assert session["instructions"] == "Be brief."
    assert session["audio"]["output"]["voice"] == "cedar"
    assert session["audio"]["input"]["transcription"]["model"] == "gpt-4o-mini-transcribe"
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 300
    assert session["audio"]["input"]["turn_detection"]["create_response"] is True


async def test_raw_sdp_offer_is_answered_and_gets_default_session(http, peers):
    peer = peers()
    response = await peer.connect(http, raw=True)
    assert response.status_code == 201
    session = (await peer.event("session.created"))["session"]
    assert session["type"] == "realtime"
    assert session["audio"]["input"]["transcription"] is None  # off unless asked for, as upstream
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"


async def test_speech_burst_produces_user_turn_response_audio_and_late_transcript(http, peers):
    peer = peers()
    await peer.connect(http, session=SESSION)
    await peer.event("session.created")
    await peer.mic.speak(600)
    stopped = await peer.event("output_audio_buffer.stopped")
    await peer.event("conversation.item.input_audio_transcription.completed")
    types = [e["type"] for e in peer.events.entries]
    expected_order = TURN_SEQUENCE
    positions = [types.index(t) for t in expected_order]
    assert positions == sorted(positions), types
    started = peer.of_type("input_audio_buffer.speech_started")[0]
    committed = await peer.event("input_audio_buffer.committed")
    user_item_id = started["item_id"]
    assert user_item_id.startswith("item_")
    assert committed["item_id"] == user_item_id
    assert committed["previous_item_id"] is None
    assert (
        peer.of_type("input_audio_buffer.speech_stopped")[0]["audio_end_ms"]
        > started["audio_start_ms"]
    )
    user_added, assistant_added = peer.of_type("conversation.item.added")[:2]
    assert user_added["item"]["role"] == "user"
    assert user_added["item"]["content"][0]["type"] == "input_audio"
    assert assistant_added["item"]["role"] == "assistant"
    assert assistant_added["previous_item_id"] == user_item_id
    done = await peer.event("response.done")
    assert done["response"]["id"].startswith("resp_")
    assert done["response"]["status"] == "completed"
    assert done["response"]["usage"]["total_tokens"] > 0
    assert stopped["response_id"] == done["response"]["id"]
    transcript = await peer.event("response.output_audio_transcript.done")
    deltas = peer.of_type("response.output_audio_transcript.delta")
    assert "".join(d["delta"] for d in deltas) == transcript["transcript"] == "Okay, got it."
    # The user transcript comes from a separate ASR pass: it lands after the response began.
    completed = await peer.event("conversation.item.input_audio_transcription.completed")
    assert completed["item_id"] == user_item_id
    assert completed["transcript"] == "Hello, can you hear me?"
    assert peer.index(completed) > types.index("response.created")
    event_ids = [e["event_id"] for e in peer.events.entries]
    assert len(set(event_ids)) == len(event_ids)


@pytest.mark.parametrize("engine", ["tone", "espeak"])
async def test_response_audio_arrives_on_the_remote_track_and_silence_surrounds_it(
    http, peers, engine
):
    if engine == "espeak" and not espeak_available():
        pytest.skip("espeak-ng is not installed")
    await http.post("/_sim/config", json={"synth": engine})
    peer = peers()
    await peer.connect(http, session=SESSION)
    await peer.event("session.created")
    await peer.remote_frames.wait(lambda f: True)
    await peer.mic.speak(600)
    await peer.event("output_audio_buffer.started")
    loud_at, _rms = await peer.remote_frames.wait(lambda f: f[1] > 500)
    before_started = [r for t, r in peer.remote_frames.entries if t < loud_at - 1.0]
    assert before_started and max(before_started) < 50  # silence between responses
    await peer.event("output_audio_buffer.stopped")
    settled = len(peer.remote_frames.entries)
    await peer.remote_frames.wait(lambda f: peer.remote_frames.entries.index(f) > settled + 25)
    assert max(r for _, r in peer.remote_frames.entries[settled + 10 :]) < 50


async def test_canned_sdp_mode_answers_instantly_without_a_peer(sim, http, peers):
    await http.post("/_sim/config", json={"canned_sdp": True})
    peer = peers()
    sdp = await peer.offer()
    response = await http.post(
        "/v1/realtime/calls", content=sdp, headers={"Content-Type": "application/sdp"}
    )
    assert response.status_code == 201
    assert response.text == CANNED_ANSWER
    calls = (await http.get("/_sim/calls")).json()
    assert calls[0]["canned"] is True and calls[0]["connection_state"] is None
    call_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert (await http.post(f"/v1/realtime/calls/{call_id}/hangup")).status_code == 200


async def test_latency_knob_delays_the_answer(http, peers):
    await http.post("/_sim/config", json={"latency_ms": 300})
    peer = peers()
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await peer.connect(http, raw=True)
    assert response.status_code == 201
    assert loop.time() - started >= 0.3
