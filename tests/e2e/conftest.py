"""Browser tests: Debian Chromium driven by Playwright, fake media devices, against daphne
serving the test database and the simulator playing OpenAI over real WebRTC."""

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import wave
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.e2e.speech import write_speech_wav
from tests.waiting import wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def server_settled_before_flush(django_db_blocker):
    """Its end runs after the test's browser has closed and before pytest-django empties the
    database. A page closed mid-call makes the server end that call, writing to several tables;
    on PostgreSQL the flush's TRUNCATE meeting such a transaction halfway can deadlock, and the
    flush fails (seen in CI, failing the next test too). So wait, bounded, for the calls to end
    (a test may leave one live on purpose, as a killed browser does) and then for no other
    session of the test database to be inside a statement or transaction. This is
    housekeeping, not a check: what has not settled is left to the flush."""
    yield
    with django_db_blocker.unblock():
        for settled, seconds in ((_no_live_call, 3), (_no_busy_session, 5)):
            with contextlib.suppress(AssertionError):
                wait_for(settled, seconds)


def _no_live_call() -> bool:
    from voice.models import Call

    return not Call.objects.live().exists()


def _no_busy_session() -> bool:
    from django.db import connection

    if connection.vendor != "postgresql":
        return True  # SQLite: the flush waits for the writer's lock (busy timeout) instead
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        (busy,) = cursor.fetchone()
    return busy == 0


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """The fake microphone: a question, a pause for the reply, then talking over it."""
    path = tmp_path_factory.mktemp("audio") / "caller.wav"
    write_speech_wav(path)
    with wave.open(str(path)) as wav:
        assert wav.getnframes() > 0
    return path


@pytest.fixture(scope="session")
def calm_speech_wav(tmp_path_factory) -> Path:
    """A caller who asks once and then listens to the whole reply."""
    path = tmp_path_factory.mktemp("audio") / "calm-caller.wav"
    write_speech_wav(path, barge_in=False)
    return path


@pytest.fixture(scope="session")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are plain blocking calls, which is what this setting allows.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        yield playwright


def launch(playwright, wav: Path, *extra_args: str):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--autoplay-policy=no-user-gesture-required",
            f"--use-file-for-fake-audio-capture={wav}",
            *extra_args,
        ],
    )


@pytest.fixture(scope="session")
def browser(playwright, speech_wav):
    browser = launch(playwright, speech_wav)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def calm_browser(playwright, calm_speech_wav):
    browser = launch(playwright, calm_speech_wav)
    yield browser
    browser.close()


def new_context(browser, base_url: str, *, bypass_csp: bool = True):
    """A fresh browser profile. Tests that wait on page state (`wait_for_function`) need the
    page's Content-Security-Policy bypassed: Playwright polls with `eval`, which the policy
    rightly forbids. test_content_security_policy.py runs under the real policy."""
    context = browser.new_context(
        base_url=base_url,
        permissions=["microphone"],
        viewport={"width": 1100, "height": 800},
        bypass_csp=bypass_csp,
    )
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def context(browser, asgi_server):
    context = new_context(browser, asgi_server)
    yield context
    context.close()


@pytest.fixture
def calm_context(calm_browser, asgi_server):
    context = new_context(calm_browser, asgi_server)
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


@pytest.fixture
def call_monitor(asgi_server, simulator):
    """One `manage.py voice_monitor` process beside daphne, as `make run` and production have:
    it joins each Realtime call's sideband, saves its items and ends calls past their limits.
    A short sweep, since the in-memory channel layer cannot wake it across processes."""
    from tests.conftest import SERVER_KEY, _test_database_url

    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "OPENAI_BASE_URL": simulator.base_url,
        "OPENAI_API_KEY": SERVER_KEY,
        "LOG_LEVEL": "WARNING",
    }
    args = ["manage.py", "voice_monitor", "--worker-id", "e2e", "--sweep-seconds", "0.2"]
    worker = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert "Call monitor" in worker.stdout.readline()  # up and sweeping
    threading.Thread(target=worker.stdout.read, daemon=True).start()  # a full pipe never stalls it
    yield worker
    worker.terminate()
    worker.wait(timeout=20)
