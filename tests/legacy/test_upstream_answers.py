"""Odd answers from OpenAI's speech endpoints, which the simulator does not give (MockTransport)."""

import json

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.conftest import SERVER_KEY
from tests.factories import make_call
from voice import upstream

SSE = {"Content-Type": "text/event-stream"}


@pytest.fixture
def mock_upstream(settings):
    settings.OPENAI_API_KEY = SERVER_KEY
    settings.OPENAI_BASE_URL = "http://upstream.test/v1"

    def install(handler) -> None:
        upstream.set_client(upstream.build_client(httpx.MockTransport(handler)))

    return install


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
