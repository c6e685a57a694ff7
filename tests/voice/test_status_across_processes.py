"""With Redis, an event published by one process reaches a socket served by another."""

import asyncio

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD
from tests.factories import make_user
from voice.services.calls import call_check_and_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker_thread_db")]


def session_cookie(user) -> str:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_a_status_published_here_reaches_a_socket_served_by_daphne(asgi_server):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is unset: the in-memory channel layer cannot cross processes")
    user = await sync_to_async(make_user)()
    other = await sync_to_async(make_user)()
    headers = {"Origin": asgi_server, "Cookie": await sync_to_async(session_cookie)(user)}
    other_headers = {"Origin": asgi_server, "Cookie": await sync_to_async(session_cookie)(other)}
    url = asgi_server.replace("http", "ws", 1) + "/ws/voice"

    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers=headers) as socket,
        http.ws_connect(url, headers=other_headers) as bystander,
    ):
        call = await sync_to_async(call_check_and_start)(user=user, mode="legacy")
        event = await asyncio.wait_for(socket.receive_json(), timeout=5)

        assert event == {
            "type": "call.status",
            "call": {**event["call"], "id": str(call.id), "status": "connecting"},
        }
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bystander.receive_json(), timeout=0.3)
