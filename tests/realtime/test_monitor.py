"""The call monitor in this process, against the simulator: it joins a new call's sideband with
the call's own key, ends calls past the longest-call and idle limits (hung up upstream, the page
told why), notices OpenAI ending a call, and lets go of calls that end or when it stops."""

import asyncio
import json
import logging
from datetime import timedelta

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from realtime.services import realtime_session_create
from simulator.recording import mask_authorization
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.simulator.sim_peer import eventually
from voice.models import Call, CallLease
from voice.monitor import CallMonitor
from voice.services.calls import call_check_and_start, call_mark_active, calls_expire_stale
from voice.services.hangups import call_end_and_hang_up
from voice.services.keys import api_key_set
from voiceproject.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]
USER_KEY = "sk-user-monitor-key-0000000000000user"


@pytest.fixture
async def monitor(upstream):
    monitor = CallMonitor(worker_id="test-monitor", sweep_seconds=0.1)
    running = asyncio.create_task(monitor.run())
    yield monitor
    monitor.stop()
    await asyncio.wait_for(running, 20)


@pytest.fixture
async def user():
    user = await sync_to_async(make_user)()
    await sync_to_async(api_key_set)(user=user, api_key=USER_KEY)
    return user


async def start_call(user, offer_sdp) -> Call:
    return (await realtime_session_create(user=user, offer_sdp=offer_sdp)).call


async def sim_call(upstream, call: Call) -> dict | None:
    calls = await asyncio.to_thread(upstream.calls)
    return next((c for c in calls if c["id"] == call.upstream_call_id), None)


async def joined(upstream, call: Call) -> dict:
    """Wait until the call's sideband is open at the simulator."""

    async def probe():
        found = await sim_call(upstream, call)
        return found if found and found["sidebands"] == 1 else None

    return await eventually(probe, within=10)


async def reloaded(call: Call) -> Call:
    return await Call.objects.aget(pk=call.pk)


async def ended(call: Call) -> Call:
    async def probe():
        current = await reloaded(call)
        return None if current.is_live else current

    return await eventually(probe, within=10)


async def status_socket(user) -> WebsocketCommunicator:
    client = Client()
    await sync_to_async(client.login)(username=user.username, password=PASSWORD)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = WebsocketCommunicator(
        application,
        "/ws/voice",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)],
    )
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def ended_status(socket: WebsocketCommunicator) -> dict:
    while True:
        event = await socket.receive_json_from(timeout=10)
        if event["type"] == "call.status" and event["call"]["status"] == "ended":
            return event["call"]


async def age(call: Call, **fields) -> None:
    """Move the call's clocks into the past, as if it had been running that long."""
    await Call.objects.filter(pk=call.pk).aupdate(**fields)


# --- joining ------------------------------------------------------------------------------------


async def test_a_new_call_is_joined_on_its_sideband_with_its_own_key(
    monitor, user, upstream, offer_sdp, caplog
):
    caplog.set_level(logging.DEBUG)
    call = await start_call(user, offer_sdp)

    await joined(upstream, call)

    [sideband] = await asyncio.to_thread(upstream.requests, "/v1/realtime")
    assert sideband["query"] == {"call_id": call.upstream_call_id}
    assert sideband["authorization"] == mask_authorization(f"Bearer {USER_KEY}")
    lease = await CallLease.objects.aget(call_id=call.pk)
    assert lease.owner == "test-monitor"
    assert USER_KEY not in caplog.text


async def test_speech_on_the_sideband_restarts_the_idle_clock(monitor, user, upstream, offer_sdp):
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    # A second sideband (like a tool server's) asks for a reply: `response.created` reaches the
    # monitor's sideband as it would for speech.
    url = upstream.base_url.replace("http", "ws", 1) + f"/realtime?call_id={call.upstream_call_id}"
    headers = {"Authorization": f"Bearer {USER_KEY}"}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, headers=headers) as other:
        await other.send_str(json.dumps({"type": "response.create"}))

        async def activity_recorded():
            return (await reloaded(call)).last_activity_at

        assert await eventually(activity_recorded, within=10) >= call.started_at


def test_only_a_call_quiet_past_the_idle_limit_counts_as_idle(transactional_db):
    quiet, talking, unwatched = (
        call_check_and_start(user=make_user(), mode=mode) for mode in ("legacy",) * 3
    )
    long_ago = timezone.now() - timedelta(minutes=6)
    Call.objects.update(status=Call.Status.ACTIVE, connected_at=long_ago, last_activity_at=long_ago)
    Call.objects.filter(pk=talking.pk).update(last_activity_at=timezone.now())
    # Nobody tracks its activity (no monitor joined it): only the other limits apply.
    Call.objects.filter(pk=unwatched.pk).update(last_activity_at=None)

    expired = calls_expire_stale()

    assert [call.pk for call in expired] == [quiet.pk]
    assert expired[0].ended_reason == "idle"


class RecordingTranscriber:
    """Stands in for the event handling: records what the watcher hands it, sends one client
    event on join, and fails on every event (which must not end the watch)."""

    joins: list[bool]
    events: list[dict]
    event_seen: asyncio.Event

    def __init__(self, *, call) -> None:
        self.call = call
        self.over_budget = False

    async def on_join(self, send, *, first: bool) -> None:
        self.joins.append(first)
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        }
        await send({"type": "conversation.item.create", "item": item})

    async def on_event(self, event: dict) -> None:
        if event["type"] == "session.created":  # every connection opens with one
            return
        self.events.append(event)
        self.event_seen.set()
        raise RuntimeError("a handler bug")

    async def ended(self) -> str:
        await asyncio.Event().wait()  # the assistant never ends this call
        return "assistant"

    async def on_end(self) -> None:
        self.finished = True


async def test_the_watcher_hands_the_transcriber_a_sender_and_every_event(
    monitor, user, upstream, offer_sdp, monkeypatch
):
    monkeypatch.setattr("realtime.sideband.CallTranscriber", RecordingTranscriber)
    RecordingTranscriber.joins, RecordingTranscriber.events = [], []
    RecordingTranscriber.event_seen = asyncio.Event()
    call = await start_call(user, offer_sdp)

    async def item_sent():
        found = await sim_call(upstream, call)
        return found and "conversation.item.create" in found["client_events"]

    await eventually(item_sent, within=10)
    await asyncio.wait_for(RecordingTranscriber.event_seen.wait(), 10)
    assert RecordingTranscriber.joins == [True]
    assert RecordingTranscriber.events[0]["type"] == "conversation.item.added"
    assert call.pk in monitor.watching  # the failing handler lost its events, not the watch
    assert (await sim_call(upstream, call))["sidebands"] == 1


# --- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "minutes_ago", "reason"),
    [("connected_at", 31, "max_duration"), ("last_activity_at", 6, "idle")],
    ids=["longest", "idle"],
)
async def test_a_call_past_a_limit_is_ended_hung_up_and_the_page_told_why(
    monitor, user, upstream, offer_sdp, clock, minutes_ago, reason
):
    call = await sync_to_async(call_mark_active)(call=await start_call(user, offer_sdp))
    await joined(upstream, call)
    assert (await reloaded(call)).last_activity_at is not None  # the idle clock runs from the join
    socket = await status_socket(user)

    await age(call, **{clock: timezone.now() - timedelta(minutes=minutes_ago)})

    pushed = await ended_status(socket)
    assert (pushed["id"], pushed["ended_reason"]) == (str(call.id), reason)
    hangups = f"/v1/realtime/calls/{call.upstream_call_id}/hangup"
    [hangup] = await eventually(lambda: asyncio.to_thread(upstream.requests, hangups))
    assert hangup["authorization"] == mask_authorization(f"Bearer {USER_KEY}")
    assert (await sim_call(upstream, call))["hung_up"] is True
    await eventually(lambda: _no_lease(call))
    await socket.disconnect()


async def _no_lease(call: Call) -> bool:
    return not await CallLease.objects.filter(call_id=call.pk).aexists()


async def test_a_legacy_call_past_the_longest_call_is_ended(monitor, user):
    call = await sync_to_async(call_check_and_start)(user=user, mode="legacy")
    await age(call, status="active", connected_at=timezone.now() - timedelta(minutes=31))

    assert (await ended(call)).ended_reason == "max_duration"


async def test_a_call_that_never_connected_is_ended_and_hung_up(monitor, user, upstream, offer_sdp):
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    await age(call, started_at=timezone.now() - timedelta(minutes=2))

    assert (await ended(call)).ended_reason == "connect_timeout"
    assert await eventually(lambda: _hung_up(upstream, call))


async def _hung_up(upstream, call: Call) -> bool:
    found = await sim_call(upstream, call)
    return found is not None and found["hung_up"]


# --- OpenAI ends the call -----------------------------------------------------------------------


async def test_a_call_hung_up_at_openai_ends_here_as_upstream_ended(
    monitor, user, upstream, offer_sdp
):
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    async with aiohttp.ClientSession() as http:
        hangup = f"{upstream.base_url}/realtime/calls/{call.upstream_call_id}/hangup"
        await http.post(hangup, headers={"Authorization": "Bearer sk-someone-else-000000"})

    assert (await ended(call)).ended_reason == "upstream_ended"


async def test_a_session_openai_expired_ends_here_as_upstream_ended(
    monitor, user, upstream, offer_sdp
):
    upstream.configure(max_session_s=1.5)
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    assert (await ended(call)).ended_reason == "upstream_ended"
    found = await sim_call(upstream, call)
    assert "error" in found["event_types"]  # the session_expired event reached the sideband


# --- letting go ---------------------------------------------------------------------------------


async def test_a_call_ended_by_its_user_is_let_go(monitor, user, upstream, offer_sdp):
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    await call_end_and_hang_up(user=user, call_id=call.pk, reason="user")

    await eventually(lambda: _no_lease(call))
    assert not monitor.watching
    assert (await reloaded(call)).ended_reason == "user"


async def test_stopping_releases_every_lease_and_closes_the_sidebands(user, upstream, offer_sdp):
    monitor = CallMonitor(worker_id="stopping", sweep_seconds=0.1)
    running = asyncio.create_task(monitor.run())
    call = await start_call(user, offer_sdp)
    await joined(upstream, call)

    monitor.stop()
    await asyncio.wait_for(running, 20)

    assert not await CallLease.objects.aexists()
    assert (await reloaded(call)).is_live  # stopping a worker ends no call
    await eventually(lambda: _sidebands_closed(upstream, call))


async def _sidebands_closed(upstream, call: Call) -> bool:
    found = await sim_call(upstream, call)
    return found is not None and found["sidebands"] == 0
