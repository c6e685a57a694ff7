"""Each realtime call keeps the key that started it: hangups and the cleanup use that key,
whatever key the user holds later; it is never shown and forgotten once the call is hung up."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from simulator.recording import mask_authorization
from tests.conftest import SERVER_KEY
from voice import crypto
from voice.models import Call
from voice.services.keys import api_key_set

USER_KEY = "sk-user-first-key-00000000000000first"
NEW_USER_KEY = "sk-user-second-key-0000000000000second"
FAILING_KEY = "sk-fail-server-0000000000000000"


def start(api, offer_sdp) -> Call:
    response = api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")
    assert response.status_code == 201, response.content
    return Call.objects.get(pk=response.json()["call"]["id"])


def hangups_of(upstream, call: Call) -> list[dict]:
    return upstream.requests(f"/v1/realtime/calls/{call.upstream_call_id}/hangup")


def test_a_call_keeps_the_key_that_started_it_encrypted(api, user, upstream, offer_sdp):
    api_key_set(user=user, api_key=USER_KEY)

    call = start(api, offer_sdp)

    assert call.key_source == "user"
    assert USER_KEY not in call.api_key_encrypted
    assert crypto.decrypt(call.api_key_encrypted) == USER_KEY
    detail = api.get(f"/api/calls/{call.id}").content.decode()
    assert USER_KEY not in detail and call.api_key_encrypted not in detail


def test_the_hangup_uses_the_calls_own_key_after_the_user_changed_theirs(
    api, user, upstream, offer_sdp
):
    api_key_set(user=user, api_key=USER_KEY)
    call = start(api, offer_sdp)
    assert api.put("/api/voice/key", {"api_key": NEW_USER_KEY}, format="json").status_code == 200

    assert api.post(f"/api/calls/{call.id}/end").status_code == 200

    [hangup] = hangups_of(upstream, call)
    assert hangup["authorization"] == mask_authorization(f"Bearer {USER_KEY}")
    call.refresh_from_db()
    assert call.api_key_encrypted == ""  # hung up: the key is no longer kept


def test_a_server_paid_call_records_where_its_key_came_from(api, upstream, offer_sdp):
    call = start(api, offer_sdp)

    assert call.key_source == "server"
    assert crypto.decrypt(call.api_key_encrypted) == SERVER_KEY


def test_a_failed_start_keeps_no_key(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = FAILING_KEY

    assert api.post("/api/realtime/session", {"sdp": offer_sdp}, format="json").status_code == 502

    assert Call.objects.get().api_key_encrypted == ""


def test_the_cron_command_ends_stale_calls_and_hangs_them_up_with_their_keys(
    api, user, upstream, offer_sdp
):
    api_key_set(user=user, api_key=USER_KEY)
    call = start(api, offer_sdp)
    Call.objects.filter(pk=call.pk).update(
        status=Call.Status.ACTIVE, connected_at=timezone.now() - timedelta(minutes=31)
    )
    api_key_set(user=user, api_key=NEW_USER_KEY)

    out = StringIO()
    call_command("voice_expire_stale_calls", stdout=out)

    assert "Ended 1 stale call(s)." in out.getvalue()
    call.refresh_from_db()
    assert (call.status, call.ended_reason) == (Call.Status.ENDED, "max_duration")
    [hangup] = hangups_of(upstream, call)
    assert hangup["authorization"] == mask_authorization(f"Bearer {USER_KEY}")
