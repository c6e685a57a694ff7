"""/ws/voice: authenticated, origin-checked, and only ever the user's own events."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.conftest import PASSWORD
from tests.factories import make_user
from voice.consumers import CLOSE_NOT_AUTHENTICATED
from voice.services.calls import call_check_and_start, call_end
from voice.services.transcripts import transcript_upsert
from voiceproject.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]
ORIGIN = (b"origin", b"http://localhost")


def session_cookie(user) -> bytes:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/voice", headers=headers)
    return communicator


async def open_socket(user) -> WebsocketCommunicator:
    cookie = await sync_to_async(session_cookie)(user)
    communicator = await connect([ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_an_anonymous_socket_is_closed_with_4401():
    communicator = await connect([ORIGIN])

    connected, code = await communicator.connect(timeout=5)

    assert not connected
    assert code == CLOSE_NOT_AUTHENTICATED


async def test_a_foreign_origin_is_refused():
    user = await sync_to_async(make_user)()
    cookie = await sync_to_async(session_cookie)(user)
    communicator = await connect([(b"origin", b"https://evil.example"), (b"cookie", cookie)])

    connected, _ = await communicator.connect(timeout=5)

    assert not connected


async def test_the_user_hears_their_call_status_and_transcript():
    user = await sync_to_async(make_user)()
    socket = await open_socket(user)

    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    created = await socket.receive_json_from(timeout=5)
    await sync_to_async(transcript_upsert)(
        call=call, items=[{"item_id": "u1", "role": "user", "text": "hi"}]
    )
    item = await socket.receive_json_from(timeout=5)
    await sync_to_async(call_end)(call=call, reason="hangup")
    ended = await socket.receive_json_from(timeout=5)

    assert created["type"] == "call.status"
    assert created["call"]["id"] == str(call.id)
    assert created["call"]["status"] == "connecting"
    assert item["type"] == "call.transcript"
    assert item["call_id"] == str(call.id)
    assert item["item"]["item_id"] == "u1"
    assert item["item"]["text"] == "hi"
    assert ended["call"]["status"] == "ended"
    await socket.disconnect()


async def test_nobody_hears_another_users_events():
    alice, mallory = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    alice_socket = await open_socket(alice)
    mallory_socket = await open_socket(mallory)

    await sync_to_async(call_check_and_start)(user=alice, mode="realtime")
    await alice_socket.receive_json_from(timeout=5)  # delivered to alice …
    mallory_call = await sync_to_async(call_check_and_start)(user=mallory, mode="legacy")
    own = await mallory_socket.receive_json_from(timeout=5)

    # … and mallory's first message is her own call: alice's event never reached her.
    assert own["call"]["id"] == str(mallory_call.id)
    assert await mallory_socket.receive_nothing(timeout=0.2)
    await alice_socket.disconnect()
    await mallory_socket.disconnect()


async def test_every_open_page_of_the_user_hears_the_change():
    user = await sync_to_async(make_user)()
    sockets = [await open_socket(user) for _ in range(3)]

    call = await sync_to_async(call_check_and_start)(user=user, mode="realtime")
    received = await asyncio.gather(*(s.receive_json_from(timeout=5) for s in sockets))

    assert {r["call"]["id"] for r in received} == {str(call.id)}
    for socket in sockets:
        await socket.disconnect()
