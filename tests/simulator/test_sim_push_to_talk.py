"""Push-to-talk against the simulator, as the call page runs it on a session without turn
detection: press clears the input buffer (and cuts a reply being spoken), release commits what
was said and asks for the reply. Every client event sent is a valid SDK client event."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.simulator.sdk_types import client_event_problems, server_event_problems
from tests.simulator.sim_peer import SESSION, eventually

ROOT = Path(__file__).resolve().parents[2]
MANUAL = {**SESSION, "audio": {**SESSION["audio"], "input": {**SESSION["audio"]["input"]}}}
MANUAL["audio"]["input"]["turn_detection"] = None
LONG_REPLY = (
    "Here is a rather long answer, so that there is plenty of time to press the button and "
    "talk over it before it ends, and it keeps going for quite a while longer."
)


async def _manual_call(http, peers):
    peer = peers()
    await peer.connect(http, session=MANUAL)
    created = await peer.event("session.created")
    assert created["session"]["audio"]["input"]["turn_detection"] is None
    return peer


def _send(peer, *events: dict) -> None:
    for event in events:
        assert client_event_problems(event) == [], event
        peer.send(event)


async def _voiced_ms(http) -> int:
    (call,) = (await http.get("/_sim/calls")).json()
    return call["mic_voiced_ms"]


async def _transcript(peer, item_id: str) -> str:
    completed = await peer.event(
        "conversation.item.input_audio_transcription.completed", item_id=item_id
    )
    return completed["transcript"]


async def test_speech_is_answered_only_when_committed_and_asked_for(http, peers):
    peer = await _manual_call(http, peers)
    await peer.mic.speak(600)  # talking while nobody holds the button
    await eventually(lambda: _voiced_ms(http))  # it reached the simulator
    assert not peer.of_type("input_audio_buffer.speech_started")
    assert not peer.of_type("input_audio_buffer.committed")
    assert not peer.of_type("response.created")

    _send(peer, {"type": "input_audio_buffer.clear"})  # press: what came before is dropped
    await peer.event("input_audio_buffer.cleared")
    await peer.mic.speak(500)
    _send(peer, {"type": "input_audio_buffer.commit"}, {"type": "response.create"})  # release

    committed = await peer.event("input_audio_buffer.committed")
    done = await peer.event("response.done")
    assert done["response"]["status"] == "completed"
    assert await _transcript(peer, committed["item_id"]) == "Hello, can you hear me?"
    (call,) = (await http.get("/_sim/calls")).json()
    assert [item["role"] for item in call["items"]] == ["user", "assistant"]
    assert len(call["replies"]) == 1
    assert all(server_event_problems(event) == [] for event in peer.events.entries)


async def test_a_hold_without_speech_commits_silence_with_an_empty_transcript(http, peers):
    peer = await _manual_call(http, peers)
    _send(peer, {"type": "input_audio_buffer.clear"})
    await peer.event("input_audio_buffer.cleared")

    async def buffered_a_while() -> bool:  # about 300 ms of (silent) microphone frames
        (call,) = (await http.get("/_sim/calls")).json()
        return call["mic_frames"] > 20

    await eventually(buffered_a_while)
    _send(peer, {"type": "input_audio_buffer.commit"})

    committed = await peer.event("input_audio_buffer.committed")
    assert await _transcript(peer, committed["item_id"]) == ""
    assert not peer.of_type("response.created")  # nobody asked for a reply
    assert await _voiced_ms(http) == 0


async def test_pressing_while_the_reply_plays_cuts_it_and_the_next_turn_follows_it(http, peers):
    await http.post("/_sim/config", json={"assistant_texts": [LONG_REPLY, "Okay."]})
    peer = await _manual_call(http, peers)
    _send(peer, {"type": "input_audio_buffer.clear"})
    await peer.mic.speak(400)
    _send(peer, {"type": "input_audio_buffer.commit"}, {"type": "response.create"})
    await peer.event("response.output_audio_transcript.delta")

    _send(  # press while the assistant speaks
        peer,
        {"type": "input_audio_buffer.clear"},
        {"type": "response.cancel"},
        {"type": "output_audio_buffer.clear"},
    )
    cancelled = await peer.event("response.done")
    cleared = await peer.event("output_audio_buffer.cleared")
    assert cancelled["response"]["status"] == "cancelled"
    assert cancelled["response"]["status_details"]["reason"] == "client_cancelled"
    assert cleared["response_id"] == cancelled["response"]["id"]
    await peer.mic.speak(400)
    _send(peer, {"type": "input_audio_buffer.commit"}, {"type": "response.create"})

    await peer.events.wait(lambda e: len(peer.of_type("response.done")) == 2)
    commits = peer.of_type("input_audio_buffer.committed")
    cut_item = cancelled["response"]["output"][0]["id"]
    assert commits[1]["previous_item_id"] == cut_item
    assert peer.of_type("response.done")[1]["response"]["status"] == "completed"
    assert not peer.of_type("error")


def test_what_the_call_page_sends_on_press_and_release_is_valid_sdk_client_events():
    """The events come from the page's own module (push_to_talk.js), run in node."""
    if not shutil.which("node"):
        pytest.skip("node is not installed (make system-packages installs it)")
    script = (
        "import('./voice/static/voice/js/push_to_talk.js').then((m) => console.log(JSON.stringify(["
        "...m.pressEvents({ responseActive: true, speaking: true }),"
        "...m.releaseEvents({ heldMs: 5000 }), ...m.releaseEvents({ heldMs: 0 })])))"
    )
    ran = subprocess.run(
        ["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    events = json.loads(ran.stdout)

    assert [event["type"] for event in events] == [
        "input_audio_buffer.clear",
        "response.cancel",
        "output_audio_buffer.clear",
        "input_audio_buffer.commit",
        "response.create",
        "input_audio_buffer.clear",
    ]
    assert {json.dumps(event): client_event_problems(event) for event in events} == {
        json.dumps(event): [] for event in events
    }
