"""Browser tests: Debian Chromium driven by Playwright, fake media devices, against daphne
serving the test database and the simulator playing OpenAI over real WebRTC."""

import os
import shutil
import wave
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.e2e.speech import write_speech_wav

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.e2e


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

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are plain blocking calls, which is what this setting allows.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
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
