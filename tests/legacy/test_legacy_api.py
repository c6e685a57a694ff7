"""The legacy endpoints against the running simulator: STT, streamed replies, speech."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from simulator.recording import mask_authorization
from tests.conftest import SERVER_KEY
from tests.factories import make_call
from tests.legacy.conftest import wav_bytes
from voice.models import Call, Message, VoiceConfig

# Streamed answers are read on the view's own event loop, as under daphne: an async client,
# whose ORM work runs in a worker thread and so needs committed test data.
STREAMING = pytest.mark.django_db(transaction=True)


def transcribe(api, call_id, data: bytes, name="speech.wav", content_type="audio/wav"):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return api.post(
        "/api/legacy/transcriptions", {"audio": upload, "call": call_id}, format="multipart"
    )


async def body(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


async def events(response) -> list[tuple[str, dict]]:
    text = (await body(response)).decode()
    parsed = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def test_a_legacy_call_starts_connecting(api, fast_upstream):
    response = api.post("/api/legacy/calls", {}, format="json")

    assert response.status_code == 201
    assert response.json()["mode"] == "legacy"
    assert response.json()["status"] == "connecting"


def test_a_legacy_call_is_refused_while_another_call_is_live(api, user, fast_upstream):
    live = make_call(user, mode="realtime")

    response = api.post("/api/legacy/calls", {}, format="json")

    assert response.status_code == 409
    assert response.json()["active_call"] == str(live.id)


def test_speech_is_transcribed_with_the_admins_model(api, legacy_call, fast_upstream):
    response = transcribe(api, legacy_call["id"], wav_bytes(speech=True))

    assert response.status_code == 200, response.content
    assert response.json()["text"]
    [received] = fast_upstream.requests("/v1/audio/transcriptions")
    assert received["form"]["model"] == "gpt-4o-mini-transcribe"
    assert received["authorization"] == mask_authorization(f"Bearer {SERVER_KEY}")


def test_silence_is_an_empty_text_not_invented_words(api, legacy_call):
    response = transcribe(api, legacy_call["id"], wav_bytes(speech=False))

    assert response.json() == {"text": ""}


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("notes.txt", b"hello there, not audio", "text/plain"),
        ("speech.wav", b"RIFF....this is not a wav file", "audio/wav"),
        ("speech.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64, "audio/webm"),  # header, no audio
        ("speech.wav", b"", "audio/wav"),
    ],
)
def test_bad_audio_is_invalid_audio(api, legacy_call, name, data, content_type):
    response = transcribe(api, legacy_call["id"], data, name=name, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_audio", "invalid_request"}
    if data:
        assert response.json()["error"]["code"] == "invalid_audio"


def test_audio_over_25_mb_is_413(api, legacy_call):
    big = b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * (25 * 1024 * 1024)

    response = transcribe(api, legacy_call["id"], big)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_transcribing_for_an_ended_call_is_call_ended(api, user, fast_upstream):
    call = make_call(user, mode="legacy", status=Call.Status.ENDED)

    response = transcribe(api, str(call.id), wav_bytes())

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_ended"


def test_another_users_call_is_not_found(api, other_user, fast_upstream):
    call = make_call(other_user, mode="legacy")

    assert transcribe(api, str(call.id), wav_bytes()).status_code == 404
    reply = api.post("/api/legacy/replies", {"call": str(call.id), "text": "hi"}, format="json")
    assert reply.status_code == 404


@STREAMING
async def test_a_reply_streams_and_both_messages_are_saved(aapi, legacy_call, fast_upstream):
    response = await aapi.post(
        "/api/legacy/replies",
        {"call": legacy_call["id"], "text": "Tell me about whales"},
        format="json",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    stream = await events(response)
    names = [name for name, _ in stream]
    assert names[0] == "start" and names[-1] == "done"
    assert names.count("delta") > 1
    done = stream[-1][1]
    assert done["text"] == "".join(data["text"] for name, data in stream if name == "delta")
    assert (done["finish_reason"], done["incomplete"], done["notice"]) == ("stop", False, None)
    messages = await sync_to_async(list)(
        Message.objects.filter(call_id=legacy_call["id"]).order_by("created_at")
    )
    assert [(m.role, m.interrupted) for m in messages] == [("user", False), ("assistant", False)]
    assert messages[0].text == "Tell me about whales"
    assert messages[1].item_id == done["message_id"] == stream[0][1]["item_id"]
    assert messages[1].previous_item_id == messages[0].item_id
    [received] = fast_upstream.requests("/v1/chat/completions")
    assert received["json"]["stream"] is True
    assert received["json"]["messages"][0]["role"] == "system"
    assert received["json"]["messages"][-1] == {"role": "user", "content": "Tell me about whales"}


@STREAMING
async def test_the_conversation_so_far_is_sent_as_context(aapi, legacy_call, fast_upstream):
    for text in ("First question", "Second question"):
        await events(
            await aapi.post("/api/legacy/replies", {"call": legacy_call["id"], "text": text})
        )

    second = fast_upstream.requests("/v1/chat/completions")[-1]["json"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == "First question"


@STREAMING
async def test_the_admins_context_size_is_what_a_reply_remembers(aapi, legacy_call, fast_upstream):
    await VoiceConfig.objects.aupdate_or_create(pk=1, defaults={"context_messages": 1})
    for text in ("First question", "Second question"):
        await events(
            await aapi.post("/api/legacy/replies", {"call": legacy_call["id"], "text": text})
        )

    second = fast_upstream.requests("/v1/chat/completions")[-1]["json"]["messages"]
    assert [m["role"] for m in second] == ["system", "assistant", "user"]
    assert second[-1]["content"] == "Second question"


def test_a_refused_reply_is_a_plain_error_and_the_words_are_kept(
    api, legacy_call, fast_upstream, settings
):
    settings.OPENAI_API_KEY = "sk-fail-server-0000000000000000"

    response = api.post(
        "/api/legacy/replies", {"call": legacy_call["id"], "text": "hi"}, format="json"
    )

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert Message.objects.get(call_id=legacy_call["id"]).text == "hi"


def test_a_reply_needs_text(api, legacy_call):
    response = api.post(
        "/api/legacy/replies", {"call": legacy_call["id"], "text": ""}, format="json"
    )

    assert response.status_code == 400


@STREAMING
async def test_speech_streams_audio_in_the_asked_format(aapi, legacy_call, fast_upstream):
    response = await aapi.post(
        "/api/legacy/speech",
        {
            "call": legacy_call["id"],
            "text": "Hello **there**, friend.",
            "voice": "nova",
            "format": "wav",
        },
        format="json",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    audio = await body(response)
    assert audio[:4] == b"RIFF" and len(audio) > 10_000
    [received] = fast_upstream.requests("/v1/audio/speech")
    assert received["json"]["input"] == "Hello there, friend."  # markdown is not read aloud
    assert received["json"]["voice"] == "nova"
    assert received["json"]["model"] == "gpt-4o-mini-tts"


def test_speech_with_an_unknown_voice_is_invalid_voice(api, legacy_call):
    response = api.post(
        "/api/legacy/speech",
        {"call": legacy_call["id"], "text": "Hi", "voice": "darth"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_voice"


def test_speech_of_only_code_is_refused(api, legacy_call):
    response = api.post(
        "/api/legacy/speech",
        {"call": legacy_call["id"], "text": "```\nprint(1)\n```"},
        format="json",
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("sk-fail-auth-000000000000000000", 502, "upstream_auth_failed"),
        ("sk-fail-rate-000000000000000000", 429, "upstream_rate_limited"),
        ("sk-fail-server-0000000000000000", 502, "upstream_error"),
    ],
)
def test_upstream_failures_map_on_every_legacy_endpoint(
    api, legacy_call, settings, key, status, code
):
    settings.OPENAI_API_KEY = key

    answers = [
        transcribe(api, legacy_call["id"], wav_bytes()),
        api.post("/api/legacy/replies", {"call": legacy_call["id"], "text": "hi"}, format="json"),
        api.post(
            "/api/legacy/speech", {"call": legacy_call["id"], "text": "Hello."}, format="json"
        ),
    ]

    for response in answers:
        assert response.status_code == status, response.content
        assert response.json()["error"]["code"] == code
        assert key not in response.content.decode()


def test_without_a_key_legacy_is_unavailable(api, fast_upstream, settings):
    settings.OPENAI_API_KEY = ""

    response = api.post("/api/legacy/calls", {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "legacy_unavailable"


@STREAMING
async def test_a_retried_reply_with_the_same_item_id_saves_the_words_once(
    aapi, legacy_call, fast_upstream
):
    request = {"call": legacy_call["id"], "text": "Only once", "item_id": "user_abc123"}

    await events(await aapi.post("/api/legacy/replies", request))
    await events(await aapi.post("/api/legacy/replies", request))

    users = await sync_to_async(list)(
        Message.objects.filter(call_id=legacy_call["id"], role="user")
    )
    assert [m.item_id for m in users] == ["user_abc123"]
    second = fast_upstream.requests("/v1/chat/completions")[-1]["json"]["messages"]
    assert [m["content"] for m in second if m["role"] == "user"] == ["Only once"]


def test_each_legacy_endpoint_is_throttled_per_user(api, legacy_call, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(
        ScopedRateThrottle,
        "THROTTLE_RATES",
        {"legacy_transcriptions": "2/min", "legacy_replies": "2/min", "legacy_speech": "2/min"},
    )
    speech = {"call": legacy_call["id"], "text": "Hi."}
    for _ in range(2):
        assert api.post("/api/legacy/speech", speech, format="json").status_code == 200

    response = api.post("/api/legacy/speech", speech, format="json")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert transcribe(api, legacy_call["id"], wav_bytes()).status_code == 200  # its own budget


@STREAMING
async def test_the_callers_as_heard_save_made_mid_stream_is_not_overwritten_by_the_whole_reply(
    aapi, legacy_call, fast_upstream
):
    """The page saves a reply as far as it was heard when the caller hangs up or talks over
    it; the server's save of the whole reply, landing later, must leave that alone."""
    response = await aapi.post(
        "/api/legacy/replies", {"call": legacy_call["id"], "text": "Tell me a long story"}
    )
    chunks = aiter(response.streaming_content)
    start = (await anext(chunks)).decode()
    assert start.startswith("event: start")
    item_id = json.loads(start.split("data: ", 1)[1])["item_id"]
    heard = {"item_id": item_id, "role": "assistant", "text": "Once", "interrupted": True}
    saved = await aapi.post(f"/api/calls/{legacy_call['id']}/transcript", {"items": [heard]})
    assert saved.status_code == 200

    rest = b"".join([chunk async for chunk in chunks]).decode()

    assert "event: done" in rest  # the whole reply was generated, and saved by the server…
    message = await Message.objects.aget(call_id=legacy_call["id"], item_id=item_id)
    assert (message.text, message.interrupted) == ("Once", True)  # …without replacing this


@STREAMING
async def test_the_spoken_text_is_prepared_off_the_event_loop(
    aapi, legacy_call, fast_upstream, monkeypatch
):
    import threading

    from legacy_voice import services

    prepared_in = []

    def recording_speakable(text: str) -> str:
        prepared_in.append(threading.get_ident())
        return text

    monkeypatch.setattr(services, "speakable", recording_speakable)

    response = await aapi.post("/api/legacy/speech", {"call": legacy_call["id"], "text": "Hello."})
    await body(response)

    assert response.status_code == 200
    assert prepared_in and prepared_in[0] != threading.get_ident()


@STREAMING
async def test_text_that_froze_the_server_is_spoken_at_once(aapi, legacy_call, fast_upstream):
    text = "One" + "\n" * 4000 + "two"
    response = await aapi.post("/api/legacy/speech", {"call": legacy_call["id"], "text": text})
    await body(response)

    assert response.status_code == 200
    [received] = fast_upstream.requests("/v1/audio/speech")
    assert received["json"]["input"] == "One two"


def test_a_reply_in_a_full_call_is_refused_before_any_cost(
    api, legacy_call, fast_upstream, monkeypatch
):
    from voice import limits

    monkeypatch.setattr(limits, "TRANSCRIPT_ITEMS_PER_CALL", 1)

    response = api.post(
        "/api/legacy/replies", {"call": legacy_call["id"], "text": "hi"}, format="json"
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert fast_upstream.requests("/v1/chat/completions") == []
    assert not Message.objects.exists()
