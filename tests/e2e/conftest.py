"""Browser tests: Debian Chromium driven by Playwright, fake media devices, against daphne
serving the test database and the simulator playing OpenAI over real WebRTC."""

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import PASSWORD, SERVER_KEY
from tests.e2e.speech import write_speech_wav

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are plain blocking calls, which is what this setting allows.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    import socket

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
        **os.environ,
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
        cwd=ROOT,
        env=env,
    )
    from scripts.wait_for_port import wait_for_port

    if not wait_for_port("127.0.0.1", port, 30):
        server.kill()
        pytest.fail("daphne did not start for the browser tests")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """The fake microphone: a question, a pause for the reply, then talking over it."""
    path = tmp_path_factory.mktemp("audio") / "caller.wav"
    write_speech_wav(path)
    with wave.open(str(path)) as wav:
        assert wav.getnframes() > 0
    return path


@pytest.fixture(scope="session")
def browser(speech_wav):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--autoplay-policy=no-user-gesture-required",
                f"--use-file-for-fake-audio-capture={speech_wav}",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser, asgi_server):
    context = browser.new_context(
        base_url=asgi_server, permissions=["microphone"], viewport={"width": 1100, "height": 800}
    )
    context.set_default_timeout(20_000)
    yield context
    context.close()


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


@pytest.fixture
def page(context, user):
    page = context.new_page()
    log_in(page, user.username)
    return page
