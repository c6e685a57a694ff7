import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import connection, connections
from rest_framework.test import APIClient

from scripts.wait_for_port import wait_for_port
from tests.factories import make_user

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("mallory")


@pytest.fixture
def api(user) -> APIClient:
    """A client logged in as `user` through a Django session, with CSRF checks on."""
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=user.username, password=PASSWORD)
    client.get("/accounts/login/")  # sets the CSRF cookie
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


@pytest.fixture
def anonymous(db) -> APIClient:
    return APIClient()


class Simulator:
    """The local OpenAI stand-in, running as its own process (`python -m simulator`)."""

    def __init__(self, process: subprocess.Popen, base_url: str) -> None:
        self.process = process
        self.base_url = base_url  # …/v1, what OPENAI_BASE_URL points at
        self.root = base_url.removesuffix("/v1")

    def requests(self, path: str | None = None) -> list[dict]:
        params = {"path": path} if path else None
        return httpx.get(f"{self.root}/_sim/requests", params=params, timeout=5).json()

    def calls(self) -> list[dict]:
        return httpx.get(f"{self.root}/_sim/calls", timeout=5).json()

    def configure(self, **knobs) -> None:
        httpx.post(f"{self.root}/_sim/config", json=knobs, timeout=5).raise_for_status()

    def reset(self) -> None:
        httpx.delete(f"{self.root}/_sim/requests", timeout=5).raise_for_status()
        self.configure(**self.defaults)

    defaults: dict = {}


@pytest.fixture(scope="session")
def simulator():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline and "listening on" not in line:
        line = process.stdout.readline()  # blocks until the simulator says it is ready
        if not line and process.poll() is not None:
            break
    if "listening on" not in line:
        process.kill()
        pytest.fail(f"the simulator did not start: {line!r}")
    # Keep draining its output, so a full pipe can never stall it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    sim = Simulator(process, line.split("listening on", 1)[1].strip())
    knobs = httpx.get(f"{sim.root}/_sim/config", timeout=5).json()
    sim.defaults = {k: v for k, v in knobs.items() if k not in {"host", "port"}}
    yield sim
    process.terminate()
    process.wait(timeout=10)


SERVER_KEY = "sk-server-simulated-000000000000serv"


@pytest.fixture
def upstream(simulator, settings):
    """Point the app at the simulator, with a working server key and a clean record."""
    settings.OPENAI_BASE_URL = simulator.base_url
    settings.OPENAI_API_KEY = SERVER_KEY
    simulator.reset()
    return simulator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker, simulator):
    """daphne on the test database, pointed at the simulator (HTTP and websockets)."""
    port = _free_port()
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "OPENAI_BASE_URL": simulator.base_url,
        "OPENAI_API_KEY": SERVER_KEY,
        "VOICE_SIMULATOR": "true",
        "VOICE_SERVE_STATIC": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "voiceproject.asgi:application",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )
    if not wait_for_port("127.0.0.1", port, 30):
        server.kill()
        pytest.fail("daphne did not start for the browser tests")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
async def worker_thread_db():
    """For async tests: the ORM runs in asgiref's worker thread, whose connection outlives the
    test; close it, or PostgreSQL refuses to drop the test database at the end."""
    yield
    await sync_to_async(connections.close_all)()


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    while its browser is open, and async tests cannot start their own beside it."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Request throttles count in the cache: each test starts with none spent."""
    cache.clear()
