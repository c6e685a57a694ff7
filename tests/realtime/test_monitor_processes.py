"""`manage.py voice_monitor` as real processes on the test database, against the simulator:
one worker joins a new call and lets go of it on SIGTERM; on PostgreSQL, two workers watch each
call exactly once, and the calls of one killed with SIGKILL are taken over within 15 s."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection

from realtime.services import realtime_session_create
from tests.conftest import SERVER_KEY, _test_database_url
from tests.factories import make_user
from tests.waiting import wait_for
from voice.models import Call, CallLease

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_DEADLINE_S = 15  # issue 10: a dead worker's calls are re-joined within 15 s


@pytest.fixture
def start_worker(upstream):
    workers: list[subprocess.Popen] = []
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "OPENAI_BASE_URL": upstream.base_url,
        "OPENAI_API_KEY": SERVER_KEY,
        "LOG_LEVEL": "WARNING",
    }

    def start(worker_id: str, sweep_seconds: float = 0.5) -> subprocess.Popen:
        args = ["manage.py", "voice_monitor", "--worker-id", worker_id]
        args += ["--sweep-seconds", str(sweep_seconds)]
        worker = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        workers.append(worker)
        assert worker.stdout is not None
        assert "Call monitor" in worker.stdout.readline()  # it is up and sweeping
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=20)


def start_calls(count: int, offer_sdp: str) -> list[Call]:
    users = [make_user() for _ in range(count)]

    async def start_all():
        return [(await realtime_session_create(user=u, offer_sdp=offer_sdp)).call for u in users]

    return async_to_sync(start_all)()


def sidebands(upstream, calls: list[Call]) -> dict[str, int]:
    ids = {call.upstream_call_id for call in calls}
    return {c["id"]: c["sidebands"] for c in upstream.calls() if c["id"] in ids}


def owners(calls: list[Call]) -> dict:
    leases = CallLease.objects.filter(call__in=calls).values_list("call_id", "owner")
    return dict(leases)


def test_a_worker_joins_a_new_call_and_lets_it_go_on_sigterm(start_worker, upstream, offer_sdp):
    worker = start_worker("solo")
    [call] = start_calls(1, offer_sdp)

    wait_for(lambda: sidebands(upstream, [call]) == {call.upstream_call_id: 1})
    assert owners([call]) == {call.pk: "solo"}

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=20) == 0
    assert "its calls were released" in worker.stdout.read()
    assert owners([call]) == {}
    wait_for(lambda: sidebands(upstream, [call]) == {call.upstream_call_id: 0})
    call.refresh_from_db()
    assert call.is_live


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("several workers need PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.mark.usefixtures("postgresql")
def test_two_workers_watch_each_call_once_and_take_over_a_killed_ones(
    start_worker, upstream, offer_sdp
):
    first, second = start_worker("first"), start_worker("second")
    calls = start_calls(6, offer_sdp)

    wait_for(lambda: set(sidebands(upstream, calls).values()) == {1} and len(owners(calls)) == 6)
    assert set(sidebands(upstream, calls).values()) == {1}  # none watched twice
    held = owners(calls)
    victim, survivor = (first, "second") if "first" in held.values() else (second, "first")

    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)

    def taken_over():
        return set(owners(calls).values()) == {survivor} and set(
            sidebands(upstream, calls).values()
        ) == {1}

    wait_for(taken_over, seconds=TAKEOVER_DEADLINE_S)
    assert Call.objects.live().filter(pk__in=[c.pk for c in calls]).count() == 6


def test_a_start_wakes_the_workers_through_redis(start_worker, upstream, offer_sdp):
    """With Redis, a start is picked up without waiting for a sweep (the workers sweep every
    minute here, so only the wake-up can explain a join)."""
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is unset: a start cannot wake a worker in another process")
    start_worker("woken", sweep_seconds=60)
    [call] = start_calls(1, offer_sdp)

    wait_for(lambda: sidebands(upstream, [call]) == {call.upstream_call_id: 1})
