"""The legacy pipeline endpoints: transcriptions, chat completions and speech."""

import io
import json
import wave

import pytest

from simulator.audio import decode, espeak_available, tone_speech

ENGINES = [
    "tone",
    pytest.param(
        "espeak",
        marks=pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed"),
    ),
]


def _wav(pcm: bytes, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


SPEECH_WAV = _wav(tone_speech("Hello there, how are you today?", 16000))
SILENT_WAV = _wav(bytes(16000 * 2))


async def _transcribe(http, data: bytes, filename: str = "turn.wav", **fields):
    files = {"file": (filename, data, "audio/wav")}
    return await http.post(
        "/v1/audio/transcriptions", files=files, data={"model": "gpt-4o-transcribe", **fields}
    )


async def test_transcription_of_speech_is_the_scripted_text_and_silence_is_empty(http):
    spoken = await _transcribe(http, SPEECH_WAV)
    assert spoken.status_code == 200
    assert spoken.json()["text"] == "Hello, can you hear me?"
    assert spoken.json()["usage"]["type"] == "tokens"
    silent = await _transcribe(http, SILENT_WAV)
    assert silent.json()["text"] == ""
    second = await _transcribe(http, SPEECH_WAV, response_format="text")
    assert second.headers["Content-Type"].startswith("text/plain")
    assert second.text.strip() == "What is the weather like today?"  # the script cycles


async def test_transcription_rejects_bad_audio_and_oversized_files(http):
    garbage = await _transcribe(http, b"not audio at all" * 100)
    assert garbage.status_code == 400
    assert garbage.json()["error"]["param"] == "file"
    unknown_type = await _transcribe(http, SPEECH_WAV, filename="notes.txt")
    assert unknown_type.status_code == 400
    assert "Invalid file format" in unknown_type.json()["error"]["message"]
    too_big = await _transcribe(http, bytes(25 * 1024 * 1024 + 1))
    assert too_big.status_code == 413
    no_model = await http.post("/v1/audio/transcriptions", files={"file": ("a.wav", SPEECH_WAV)})
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"


async def test_transcription_streams_deltas_then_done(http):
    files = {"file": ("turn.wav", SPEECH_WAV, "audio/wav")}
    data = {"model": "gpt-4o-mini-transcribe", "stream": "true"}
    async with http.stream("POST", "/v1/audio/transcriptions", files=files, data=data) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) async for line in stream.aiter_lines() if line]
    assert {e["type"] for e in events[:-1]} == {"transcript.text.delta"}
    assert events[-1]["type"] == "transcript.text.done"
    assert "".join(e["delta"] for e in events[:-1]) == events[-1]["text"] != ""


CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about owls"}]}


async def test_streamed_chat_has_openai_chunk_format_and_ends_with_done(http):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with http.stream("POST", "/v1/chat/completions", json=body) as stream:
        lines = [line async for line in stream.aiter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    *content, last, usage = chunks
    assert last["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in content)
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in content)
    assert "Tell me about owls" in text
    assert text.count(".") == 5  # five sentences by default


async def test_chat_without_stream_returns_a_completion_and_validates_input(http):
    response = await http.post("/v1/chat/completions", json=CHAT)
    completion = response.json()
    assert completion["object"] == "chat.completion"
    assert "owls" in completion["choices"][0]["message"]["content"]
    missing_model = await http.post("/v1/chat/completions", json={"messages": CHAT["messages"]})
    assert missing_model.status_code == 400 and missing_model.json()["error"]["param"] == "model"
    no_messages = await http.post("/v1/chat/completions", json={"model": "m", "messages": []})
    assert no_messages.status_code == 400


async def _speech(http, text: str, response_format: str, voice: str = "coral") -> bytes:
    body = {
        "model": "gpt-4o-mini-tts",
        "input": text,
        "voice": voice,
        "response_format": response_format,
    }
    async with http.stream("POST", "/v1/audio/speech", json=body) as stream:
        assert stream.status_code == 200
        assert stream.headers["Transfer-Encoding"] == "chunked"
        return b"".join([chunk async for chunk in stream.aiter_bytes()])


@pytest.mark.parametrize("engine", ENGINES)
async def test_speech_duration_grows_with_the_text(http, engine):
    await http.post("/_sim/config", json={"synth": engine})
    short = await _speech(http, "Hi there.", "pcm")
    long = await _speech(http, "Hi there. " * 6 + "This sentence makes it a lot longer.", "pcm")
    assert len(short) > 24000 * 2 * 0.3  # pcm: 24 kHz s16le mono, headerless
    assert len(long) > 3 * len(short)


@pytest.mark.parametrize("engine", ENGINES)
async def test_speech_in_wav_and_mp3_decodes_to_audio(http, engine):
    await http.post("/_sim/config", json={"synth": engine})
    wav = await _speech(http, "Testing the wave format.", "wav")
    assert wav[:4] == b"RIFF" and wav[8:16] == b"WAVEfmt "
    assert int.from_bytes(wav[24:28], "little") == 24000
    mp3 = await _speech(http, "Testing the mp3 format.", "mp3")
    decoded = decode(mp3, 24000)
    assert len(decoded) > 24000 * 2 * 0.5


async def test_speech_rejects_unknown_voice_and_long_input(http):
    body = {"model": "tts-1", "input": "Hi", "voice": "robot"}
    response = await http.post("/v1/audio/speech", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == "voice"
    response = await http.post(
        "/v1/audio/speech", json={**body, "voice": "nova", "input": "x" * 4097}
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "input"


@pytest.mark.parametrize("response_format", ["opus", "aac", "flac"])
async def test_speech_in_compressed_formats_decodes(http, response_format):
    data = await _speech(http, "Compressed formats work too.", response_format)
    assert len(decode(data, 24000)) > 24000 * 2 * 0.5
