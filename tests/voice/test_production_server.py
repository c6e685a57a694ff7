"""The production command (scripts/serve-production) serves HTTP and the status websocket from
several worker processes sharing one port, and stops cleanly on SIGTERM."""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from scripts.wait_for_port import wait_for_port
from tests.conftest import PASSWORD, SERVER_KEY, _free_port, _test_database_url
from tests.factories import make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_thread_db"),
    pytest.mark.skipif(
        importlib.util.find_spec("uvicorn") is None,
        reason="uvicorn (the production server, a base dependency) is not installed here",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2


@pytest.fixture
def production_server(simulator):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "PYTHON": sys.executable,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "OPENAI_BASE_URL": simulator.base_url,
        "OPENAI_API_KEY": SERVER_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([str(ROOT / "scripts" / "serve-production")], env=env)
    try:
        if not wait_for_port("127.0.0.1", port, 30):
            pytest.fail("scripts/serve-production did not start listening")
        yield server, f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def worker_pids(pid: int) -> list[int]:
    """The server processes under uvicorn's parent (beside them runs multiprocessing's
    resource tracker, which serves nothing)."""
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        pids = [int(child) for child in children.read().split()]
    return [child for child in pids if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def session_cookie(user) -> str:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_the_production_command_serves_http_and_websockets_from_two_workers(
    production_server,
):
    server, url = production_server
    user = await sync_to_async(make_user)()
    token = await sync_to_async(Token.objects.create)(user=user)
    headers = {"Origin": url, "Cookie": await sync_to_async(session_cookie)(user)}

    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{url}/api/calls", headers={"Authorization": f"Token {token.key}"}
        ) as response:
            assert response.status == 200, await response.text()
        async with http.ws_connect(f"{url}/ws/voice", headers=headers) as socket:
            await socket.send_str("not json")  # the consumer answers: the socket is ours
            reply = await socket.receive_json(timeout=10)
            assert reply["error"]["code"] == "invalid_message"

    # uvicorn's parent holds the socket; the workers (spawned once it listens) serve it.
    assert len(worker_pids(server.pid)) == WORKERS
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0
