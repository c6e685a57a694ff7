"""Test control: knobs at runtime, the request record, and the command line."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from simulator.recording import mask_authorization
from simulator.settings import settings_from
from simulator.vad import VoiceActivityDetector
from tests.simulator.sim_peer import KEY

PROJECT = Path(__file__).resolve().parents[2]


async def test_config_can_be_read_and_retuned_at_runtime(http):
    config = (await http.get("/_sim/config")).json()
    assert config["llm_ttft_ms"] == 0 and config["max_session_s"] == 3600
    changed = await http.post("/_sim/config", json={"llm_ttft_ms": 250, "user_texts": ["Hi."]})
    assert changed.json()["llm_ttft_ms"] == 250 and changed.json()["user_texts"] == ["Hi."]
    for bad in ({"no_such_knob": 1}, {"port": 1}, {"llm_ttft_ms": "soon"}, {"synth": "x"}):
        assert (await http.post("/_sim/config", json=bad)).status_code == 400
    assert (await http.get("/_sim/config")).json()["llm_ttft_ms"] == 250


@pytest.mark.parametrize(
    "script",
    [
        {"match": "x", "name": "f"},
        [{"match": "", "name": "f"}],
        [{"match": "x", "name": "not a name"}],
        [{"match": "x", "name": "f", "arguments": "{}"}],
        [{"match": "x", "name": "f", "when": "now"}],
    ],
)
async def test_a_tool_script_entry_that_cannot_be_played_is_refused(http, script):
    response = await http.post("/_sim/config", json={"tool_script": script})

    assert response.status_code == 400
    assert (await http.get("/_sim/config")).json()["tool_script"] == []


async def test_a_tool_script_gets_its_defaults(http):
    script = [{"match": "time", "name": "current_time"}]

    changed = (await http.post("/_sim/config", json={"tool_script": script})).json()

    assert changed["tool_script"] == [{**script[0], "arguments": {}, "answer": "{output}"}]


async def test_requests_are_recorded_with_form_fields_session_and_upload_summary(http):
    session = {"type": "realtime", "model": "gpt-realtime"}
    await http.post(
        "/v1/realtime/calls",
        files={"sdp": (None, "not an offer"), "session": (None, json.dumps(session))},
    )
    await http.post(
        "/v1/audio/transcriptions",
        files={"file": ("clip.webm", b"\x1a\x45\xdf\xa3" * 10, "audio/webm")},
        data={"model": "whisper-1"},
    )
    await http.post("/v1/chat/completions", json={"model": "m"})
    (call,) = (await http.get("/_sim/requests", params={"path": "/v1/realtime/calls"})).json()
    assert call["authorization"] == "Bearer sk-…6789"
    assert call["content_type"].startswith("multipart/form-data")
    assert call["form"]["sdp"] == "not an offer"
    assert call["session"] == session
    records = (await http.get("/_sim/requests")).json()
    upload = records[1]["form"]["file"]
    assert upload == {"filename": "clip.webm", "content_type": "audio/webm", "size": 40}
    assert records[1]["form"]["model"] == "whisper-1"
    assert records[2]["json"] == {"model": "m"}
    assert (await http.delete("/_sim/requests")).status_code == 204
    assert (await http.get("/_sim/requests")).json() == []


async def test_the_record_never_holds_a_key_in_clear(sim, http, canned_call, sidebands):
    other = "sk-proj-AnotherUsersKey-abcd"
    call_id = await canned_call()
    await sidebands(call_id, key=other)
    async with sim.client(key=other) as client:
        await client.post(f"/v1/realtime/calls/{call_id}/hangup")
    no_scheme = {"Authorization": "sk-no-scheme-1234567"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=no_scheme) as client:
        await client.post("/v1/chat/completions", json={})
    raw = (await http.get("/_sim/requests")).text
    assert KEY not in raw and other not in raw and "sk-no-scheme-1234567" not in raw
    records = (await http.get("/_sim/requests")).json()
    assert [(r["path"], r["authorization"]) for r in records] == [
        ("/v1/realtime/calls", "Bearer sk-…6789"),
        ("/v1/realtime", "Bearer sk-…abcd"),  # the sideband join, told apart by its last 4
        ("/v1/realtime/calls/" + call_id + "/hangup", "Bearer sk-…abcd"),
        ("/v1/chat/completions", "sk-…4567"),
    ]
    assert mask_authorization("Bearer short-key") == "Bearer …"


def test_cli_flags_win_over_environment_which_wins_over_defaults():
    env = {"SIM_LLM_TTFT_MS": "120", "SIM_USER_TEXTS": "One.|Two.", "SIM_CANNED_SDP": "1"}
    settings = settings_from(["--llm-ttft-ms", "80", "--port", "9000"], environ=env)
    assert (settings.llm_ttft_ms, settings.port, settings.canned_sdp) == (80, 9000, True)
    assert settings.user_texts == ["One.", "Two."]
    assert settings_from([], environ={}).llm_ttft_ms == 300


def test_vad_needs_sustained_energy_to_start_and_silence_to_stop():
    vad = VoiceActivityDetector(rms_threshold=400, start_ms=300, silence_ms=500, prefix_ms=300)
    changes = [vad.feed(2000 if 1000 <= i * 20 < 2000 else 0, 20) for i in range(200)]
    started, stopped = [c for c in changes if c]
    assert (started.kind, started.audio_ms) == ("started", 700)  # onset 1000 minus prefix 300
    assert (stopped.kind, stopped.audio_ms) == ("stopped", 2500)
    blip = VoiceActivityDetector(rms_threshold=400, start_ms=300, silence_ms=500, prefix_ms=0)
    assert not any(blip.feed(2000 if i < 10 else 0, 20) for i in range(100))  # 200 ms: no turn


async def test_command_line_server_announces_itself_and_stops_on_sigterm():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--port",
        "0",
        cwd=PROJECT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "SIM_LLM_TOKENS_PER_S": "77"},
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("simulator listening on http://127.0.0.1:")
        base = line.split()[-1].removesuffix("/v1")
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/_sim/config")).json()["llm_tokens_per_s"] == 77
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
