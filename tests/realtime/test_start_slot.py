"""The realtime start takes the user's one call slot before anything goes upstream, through a
real server (daphne) and the simulator: parallel starts reach OpenAI once, a start ended while
its offer is in flight is hung up, and a failed start leaves no empty conversation."""

import asyncio
import contextlib

import httpx
import pytest
from asgiref.sync import sync_to_async
from rest_framework.authtoken.models import Token

from tests.factories import make_conversation, make_user
from tests.waiting import wait_for
from voice.models import Call, Conversation
from voice.selectors import voice_config_get

PARALLEL_STARTS = 8


@pytest.fixture
def token_user(transactional_db):
    user = make_user()
    return user, Token.objects.create(user=user).key


async def _start(http: httpx.AsyncClient, token: str, offer_sdp: str) -> httpx.Response:
    return await http.post(
        "/api/realtime/session",
        json={"sdp": offer_sdp},
        headers={"Authorization": f"Token {token}"},
    )


def test_parallel_starts_by_one_user_reach_upstream_once(
    asgi_server, upstream, offer_sdp, token_user
):
    user, token = token_user

    async def start_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=asgi_server, timeout=30) as http:
            starts = (_start(http, token, offer_sdp) for _ in range(PARALLEL_STARTS))
            return await asyncio.gather(*starts)

    responses = asyncio.run(start_all())

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, [r.content for r in responses]
    refused = [r.json()["error"]["code"] for r in responses if r.status_code != 201]
    assert set(refused) <= {"call_active", "throttled"}
    assert len(upstream.requests("/v1/realtime/calls")) == 1
    assert [r for r in upstream.requests() if r["path"].endswith("/hangup")] == []
    assert Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).count() == 1


def test_a_start_ended_while_its_offer_is_in_flight_is_hung_up(
    asgi_server, upstream, offer_sdp, token_user
):
    user, token = token_user
    upstream.configure(latency_ms=1500)

    async def start_then_end() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=asgi_server, timeout=30) as http:
            starting = asyncio.ensure_future(_start(http, token, offer_sdp))
            reserved = await sync_to_async(wait_for)(
                lambda: Call.objects.filter(user=user, status="connecting").first()
            )
            ended = await http.post(
                f"/api/calls/{reserved.id}/end", headers={"Authorization": f"Token {token}"}
            )
            return await starting, ended

    started, ended = asyncio.run(start_then_end())

    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert started.status_code == 409
    assert started.json()["error"]["code"] == "call_ended"
    [hangup] = [r for r in upstream.requests() if r["path"].endswith("/hangup")]
    [created] = [c for c in upstream.calls() if hangup["path"].split("/")[-2] == c["id"]]
    assert created["hung_up"] is True
    assert not Conversation.objects.filter(user=user).exists()


def test_empty_instructions_are_left_out_of_the_upstream_session(api, upstream, offer_sdp):
    config = voice_config_get()
    config.instructions = ""
    config.save()

    api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")

    [received] = upstream.requests("/v1/realtime/calls")
    assert "instructions" not in received["session"]


def test_a_failed_start_leaves_no_empty_conversation(api, user, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-server-0000000000000000"

    response = api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")

    assert response.status_code == 502
    assert not Conversation.objects.filter(user=user).exists()
    failed = Call.objects.get(user=user)
    assert failed.status == Call.Status.FAILED and failed.conversation is None
    assert api.get(f"/api/calls/{failed.id}").json()["conversation"] is None


def test_a_failed_start_keeps_the_conversation_it_continued(
    api, user, upstream, offer_sdp, settings
):
    conversation = make_conversation(user)
    settings.OPENAI_API_KEY = "sk-fail-server-0000000000000000"

    api.post(
        "/api/realtime/session",
        {"sdp": offer_sdp, "conversation": str(conversation.id)},
        format="json",
    )

    assert Call.objects.get(user=user).conversation == conversation


def test_transcripts_for_a_start_that_failed_are_refused(api, user, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-server-0000000000000000"
    api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")
    failed = Call.objects.get(user=user)

    response = api.post(
        f"/api/calls/{failed.id}/transcript",
        {"items": [{"item_id": "item_1", "role": "user", "text": "hello"}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_ended"


def test_a_page_that_goes_away_mid_offer_leaves_no_call_running_at_openai(
    asgi_server, upstream, offer_sdp, token_user
):
    """The client disconnects while OpenAI is still answering: OpenAI creates the call anyway,
    so the server waits for that answer and hangs the call up."""
    user, token = token_user
    upstream.configure(latency_ms=1500)
    earlier = {c["id"] for c in upstream.calls()}

    async def start_then_leave() -> None:
        async with httpx.AsyncClient(base_url=asgi_server, timeout=30) as http:
            starting = asyncio.ensure_future(_start(http, token, offer_sdp))
            await sync_to_async(wait_for)(
                lambda: Call.objects.filter(user=user, status="connecting").exists()
            )
            starting.cancel()  # the tab closed: the connection drops mid-offer
            with contextlib.suppress(asyncio.CancelledError):
                await starting

    asyncio.run(start_then_leave())

    def created_by_this_start():
        return [c for c in upstream.calls() if c["id"] not in earlier]

    wait_for(lambda: len(created_by_this_start()) == 1, seconds=10)  # OpenAI made the call
    wait_for(lambda: created_by_this_start()[0]["hung_up"], seconds=10)  # and we hung it up
    call = wait_for(lambda: Call.objects.filter(user=user).exclude(status="connecting").first())
    assert (call.status, call.ended_reason) == ("failed", "page_closed")
