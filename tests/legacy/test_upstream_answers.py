"""Odd answers from OpenAI's speech endpoints, which the simulator does not give (MockTransport)."""

import json

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.response import HttpResponseBase
from django.test import AsyncClient

from tests.factories import make_call
from voice import upstream

SSE = {"Content-Type": "text/event-stream"}


@pytest.mark.django_db(transaction=True)
async def test_speech_answered_with_an_empty_body_is_upstream_error(aapi, user, mock_upstream):
    mock_upstream(
        lambda request: httpx.Response(200, content=b"", headers={"Content-Type": "audio/mpeg"})
    )
    call = await sync_to_async(make_call)(user, mode="legacy")

    response = await aapi.post("/api/legacy/speech", {"call": str(call.id), "text": "Hello."})

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    await upstream.aclose_clients()


def chat_sse(*pieces: str, finish_reason: str | None) -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


async def done_event(aapi, user, body: bytes) -> dict:
    call = await sync_to_async(make_call)(user, mode="legacy")
    response = await aapi.post("/api/legacy/replies", {"call": str(call.id), "text": "Tell me"})
    stream = b"".join([chunk async for chunk in response.streaming_content]).decode()
    name, data = stream.strip().split("\n\n")[-1].splitlines()
    assert name == "event: done"
    return json.loads(data.removeprefix("data: "))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("finish_reason", "notice"),
    [("content_filter", "content filter"), ("length", "length limit")],
)
async def test_a_reply_the_model_did_not_finish_is_marked_incomplete_with_a_notice(
    aapi, user, mock_upstream, finish_reason, notice
):
    body = chat_sse("Here is", " part", finish_reason=finish_reason)
    mock_upstream(lambda request: httpx.Response(200, content=body, headers=SSE))

    done = await done_event(aapi, user, body)

    assert done["text"] == "Here is part"
    assert (done["finish_reason"], done["incomplete"]) == (finish_reason, True)
    assert notice in done["notice"]
    await upstream.aclose_clients()


@pytest.mark.django_db(transaction=True)
async def test_a_finished_reply_is_complete_without_a_notice(aapi, user, mock_upstream):
    body = chat_sse("All done.", finish_reason="stop")
    mock_upstream(lambda request: httpx.Response(200, content=body, headers=SSE))

    done = await done_event(aapi, user, body)

    assert (done["finish_reason"], done["incomplete"], done["notice"]) == ("stop", False, None)
    await upstream.aclose_clients()


def refusal(param: str | None) -> httpx.Response:
    error = {"message": "Refused.", "type": "invalid_request_error", "param": param, "code": None}
    return httpx.Response(400, json={"error": error})


async def transcribe(user) -> HttpResponseBase:
    """A multipart upload on the view's own event loop, where the mocked upstream client is."""
    call = await sync_to_async(make_call)(user, mode="legacy")
    client = AsyncClient()
    await sync_to_async(client.force_login)(user)
    audio = SimpleUploadedFile("turn.webm", b"\x1a\x45\xdf\xa3" + b"\0" * 64, "audio/webm")
    return await client.post("/api/legacy/transcriptions", {"call": str(call.id), "audio": audio})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("param", "status", "code"),
    [
        ("file", 400, "invalid_audio"),  # OpenAI could not decode the recording
        (None, 400, "invalid_audio"),  # "Invalid file format" names no field
        ("model", 502, "upstream_error"),  # the configured model: the server's fault
    ],
)
async def test_a_refused_transcription_is_told_apart_by_openais_param(
    user, worker_thread_db, mock_upstream, param, status, code
):
    mock_upstream(lambda request: refusal(param))

    response = await transcribe(user)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    await upstream.aclose_clients()
