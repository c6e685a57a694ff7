import subprocess
import sys
import threading
import time

import httpx
import pytest
from rest_framework.test import APIClient

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


SERVER_KEY = "sk-server-simulated-0000000000000000"


@pytest.fixture
def upstream(simulator, settings):
    """Point the app at the simulator, with a working server key and a clean record."""
    settings.OPENAI_BASE_URL = simulator.base_url
    settings.OPENAI_API_KEY = SERVER_KEY
    simulator.reset()
    return simulator
