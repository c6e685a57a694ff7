"""Ending calls upstream from the core: the pipeline registry, each call's own key, retries,
pending hangups, the cron command and key rotation, against the running simulator."""

import ast
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from tests.factories import make_call
from voice import crypto
from voice.models import Call, Mode
from voice.pipelines import pipeline_for, watched_modes
from voice.services import hangups
from voice.services.hangups import call_hang_up, calls_hang_up, calls_hang_up_pending

ROOT = Path(__file__).resolve().parents[2]
USER_KEY = "sk-user-first-key-00000000000000first"
NEW_USER_KEY = "sk-user-second-key-0000000000000second"
FAILING_KEY = "sk-fail-server-0000000000000000"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(hangups, "HANGUP_RETRY_DELAYS_S", (0.01, 0.01))


def start(api, offer_sdp) -> Call:
    response = api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")
    assert response.status_code == 201, response.content
    return Call.objects.get(pk=response.json()["call"]["id"])


def ended_call(user, *, key: str, upstream_call_id: str, **fields) -> Call:
    fields.setdefault("ended_at", timezone.now() - timedelta(minutes=1))
    return make_call(
        user,
        status=Call.Status.ENDED,
        upstream_call_id=upstream_call_id,
        key_source="user",
        api_key_encrypted=crypto.encrypt(key),
        **fields,
    )


def hangups_of(upstream, call: Call) -> list[dict]:
    return upstream.requests(f"/v1/realtime/calls/{call.upstream_call_id}/hangup")


# --- the registry -------------------------------------------------------------------------------


def _imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_core_imports_no_pipeline():
    sources = list((ROOT / "voice").rglob("*.py"))
    assert len(sources) > 20  # the walk found the core

    imports = {
        (path.relative_to(ROOT), module) for path in sources for module in _imported_modules(path)
    }

    pipeline_imports = [
        (path, module)
        for path, module in imports
        if module.split(".")[0] in {"realtime", "legacy_voice"}
    ]
    assert pipeline_imports == []


def test_each_pipeline_registers_what_the_core_needs():
    realtime, legacy = pipeline_for(Mode.REALTIME), pipeline_for(Mode.LEGACY)

    assert realtime.hang_up is not None and realtime.watch is not None
    assert legacy.hang_up is None and legacy.watch is None
    assert watched_modes() == [Mode.REALTIME]
    with pytest.raises(LookupError):
        pipeline_for("carrier_pigeon")


# --- each call keeps its own key ----------------------------------------------------------------


def test_rotation_re_encrypts_the_keys_calls_keep(user, settings):
    old = settings.VOICE_ENCRYPTION_KEYS[0]
    live = make_call(user, api_key_encrypted=crypto.encrypt(USER_KEY), key_source="user")
    settings.VOICE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]

    out = StringIO()
    call_command("voice_rotate_keys", stdout=out)

    assert "1 call key(s)" in out.getvalue()
    settings.VOICE_ENCRYPTION_KEYS = settings.VOICE_ENCRYPTION_KEYS[:1]  # the old key retired
    live.refresh_from_db()
    assert crypto.decrypt(live.api_key_encrypted) == USER_KEY


# --- retries and pending hangups ----------------------------------------------------------------


def test_a_failing_hangup_is_retried_then_kept_pending_with_its_key(user, upstream):
    call = ended_call(user, key=FAILING_KEY, upstream_call_id="rtc_flaky0001")

    done = async_to_sync(call_hang_up)(call=call)

    assert done is False
    assert len(hangups_of(upstream, call)) == 3
    call.refresh_from_db()
    assert call.api_key_encrypted != ""  # kept, so the monitor's sweep can try again


def test_a_hangup_answered_404_counts_as_ended(user, upstream):
    call = ended_call(user, key=USER_KEY, upstream_call_id="rtc_forgotten01")

    assert async_to_sync(call_hang_up)(call=call) is True

    assert len(hangups_of(upstream, call)) == 1
    call.refresh_from_db()
    assert call.api_key_encrypted == ""


def test_one_failing_hangup_never_stops_the_others(user, other_user, upstream, caplog):
    failing = ended_call(user, key=FAILING_KEY, upstream_call_id="rtc_flaky0002")
    fine = ended_call(other_user, key=USER_KEY, upstream_call_id="rtc_fine0002")

    async_to_sync(calls_hang_up)([failing, fine])

    assert len(hangups_of(upstream, fine)) == 1
    fine.refresh_from_db()
    assert fine.api_key_encrypted == ""
    assert FAILING_KEY not in caplog.text and USER_KEY not in caplog.text


def test_the_sweep_retries_pending_hangups_and_forgets_keys_past_openais_cap(user, upstream):
    pending = ended_call(user, key=USER_KEY, upstream_call_id="rtc_pending0003")
    just_ended = ended_call(
        user, key=USER_KEY, upstream_call_id="rtc_justnow0003", ended_at=timezone.now()
    )
    ancient = ended_call(user, key=USER_KEY, upstream_call_id="rtc_ancient0003")
    Call.objects.filter(pk=ancient.pk).update(started_at=timezone.now() - timedelta(hours=2))

    assert async_to_sync(calls_hang_up_pending)() == 1

    assert len(hangups_of(upstream, pending)) == 1
    assert hangups_of(upstream, just_ended) == []  # its end path may still be hanging it up
    assert hangups_of(upstream, ancient) == []  # OpenAI ended it long ago
    keys = dict(Call.objects.values_list("upstream_call_id", "api_key_encrypted"))
    assert keys["rtc_pending0003"] == keys["rtc_ancient0003"] == ""
    assert keys["rtc_justnow0003"] != ""
