"""POST /api/realtime/session against the running simulator: both request forms, what went
upstream, every error mapping and rule."""

import base64
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from simulator.recording import mask_authorization
from tests.conftest import SERVER_KEY
from tests.factories import make_call, make_conversation
from tests.simulator.sdk_types import client_event_problems, session_request_problems
from tests.waiting import wait_for
from voice.models import Call, KeyPolicy, ToolSetting
from voice.selectors import voice_config_get
from voice.services.keys import api_key_set
from voice.tools import enabled_tools, realtime_tool_definitions

USER_KEY = "sk-user-own-key-0000000000000000user"
OVERSIZE_OFFER = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + "a=x\r\n" * 20_000  # > 64 KiB


def start(api, offer_sdp, **fields):
    return api.post("/api/realtime/session", {"sdp": offer_sdp, **fields}, format="json")


def set_policy(policy: str) -> None:
    config = voice_config_get()
    config.key_policy = policy
    config.save()


def test_json_form_answers_with_the_call_and_the_sdp(api, user, upstream, offer_sdp):
    response = start(api, offer_sdp)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sdp"].startswith("v=0")
    assert "m=audio" in body["sdp"]
    assert body["call"]["status"] == "connecting"
    assert body["call"]["mode"] == "realtime"
    assert body["call"]["model"] == "gpt-realtime-2.1"
    assert body["call"]["voice"] == "marin"
    assert response["Location"] == f"/api/calls/{body['call']['id']}"
    call = Call.objects.get(pk=body["call"]["id"])
    assert call.user == user
    assert call.upstream_call_id.startswith("rtc_")
    assert call.upstream_call_id in {c["id"] for c in upstream.calls()}


def test_raw_sdp_form_answers_with_sdp(api, upstream, offer_sdp):
    response = api.post(
        "/api/realtime/session?voice=cedar",
        offer_sdp,
        content_type="application/sdp",
    )

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/sdp"
    assert response.content.decode().startswith("v=0")
    call_id = response["Location"].rsplit("/", 1)[-1]
    assert Call.objects.get(pk=call_id).voice == "cedar"


def test_a_base64_offer_is_accepted(api, upstream, offer_sdp):
    response = start(api, base64.b64encode(offer_sdp.encode()).decode())

    assert response.status_code == 201


def test_upstream_receives_the_offer_and_the_session_config(api, upstream, offer_sdp):
    config = voice_config_get()
    config.instructions = "Be brief."
    config.transcription_model = "gpt-4o-transcribe"
    config.save()

    start(api, offer_sdp, voice="cedar", instructions="Speak French.")

    [received] = upstream.requests("/v1/realtime/calls")
    assert received["authorization"] == mask_authorization(f"Bearer {SERVER_KEY}")
    assert received["content_type"].startswith("multipart/form-data")
    assert received["form"]["sdp"].startswith("v=0")
    assert received["session"] == {
        "type": "realtime",
        "model": "gpt-realtime-2.1",
        "instructions": "Be brief.\n\nSpeak French.",
        "audio": {
            "input": {
                "transcription": {"model": "gpt-4o-transcribe"},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"voice": "cedar"},
        },
        "tools": realtime_tool_definitions(enabled_tools()),
        "tool_choice": "auto",
    }
    assert session_request_problems(received["session"]) == []
    assert {tool["name"] for tool in received["session"]["tools"]} >= {
        "end_call",
        "search_conversations",
        "current_time",
    }


def test_a_tool_the_admin_turned_off_is_not_offered(api, upstream, offer_sdp):
    ToolSetting.objects.create(name="search_conversations", enabled=False)

    start(api, offer_sdp)

    [received] = upstream.requests("/v1/realtime/calls")
    offered = {tool["name"] for tool in received["session"]["tools"]}
    assert "search_conversations" not in offered and "end_call" in offered
    problems = client_event_problems({"type": "session.update", "session": received["session"]})
    assert problems == []  # the session's tools have the SDK's shape


def test_every_tool_turned_off_offers_none(api, upstream, offer_sdp):
    for tool in enabled_tools():
        ToolSetting.objects.update_or_create(name=tool.name, defaults={"enabled": False})

    start(api, offer_sdp)

    [received] = upstream.requests("/v1/realtime/calls")
    assert "tools" not in received["session"] and "tool_choice" not in received["session"]


def test_the_callers_time_zone_is_kept_with_the_call_in_both_forms(api, upstream, offer_sdp):
    body = start(api, offer_sdp, timezone="Europe/Paris").json()
    Call.objects.filter(pk=body["call"]["id"]).update(status="ended")
    raw = api.post(
        "/api/realtime/session?timezone=America/New_York",
        offer_sdp,
        content_type="application/sdp",
    )

    assert Call.objects.get(pk=body["call"]["id"]).timezone == "Europe/Paris"
    assert Call.objects.get(pk=raw["Location"].rsplit("/", 1)[-1]).timezone == "America/New_York"


def test_an_overlong_time_zone_is_refused_before_any_upstream_call(api, upstream, offer_sdp):
    response = start(api, offer_sdp, timezone="x" * 65)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert upstream.requests("/v1/realtime/calls") == []


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd"])
def test_a_time_zone_this_server_does_not_know_starts_the_call_in_utc(
    api, upstream, offer_sdp, zone
):
    response = start(api, offer_sdp, timezone=zone)

    assert response.status_code == 201, response.content
    assert Call.objects.get(pk=response.json()["call"]["id"]).timezone == ""


def upstream_turn_detection(upstream):
    return upstream.requests("/v1/realtime/calls")[-1]["session"]["audio"]["input"][
        "turn_detection"
    ]


def test_a_push_to_talk_call_goes_up_without_turn_detection(api, upstream, offer_sdp):
    response = start(api, offer_sdp, push_to_talk=True)

    assert response.status_code == 201, response.content
    assert response.json()["push_to_talk"] is True
    assert upstream_turn_detection(upstream) is None


def test_without_the_field_a_call_follows_the_users_push_to_talk_preference(
    api, upstream, offer_sdp
):
    first = start(api, offer_sdp)
    assert first.json()["push_to_talk"] is False
    assert upstream_turn_detection(upstream)["type"] == "server_vad"
    api.post(f"/api/calls/{first.json()['call']['id']}/end", {}, format="json")
    api.patch("/api/voice/preferences", {"push_to_talk": True}, format="json")

    second = start(api, offer_sdp)

    assert second.status_code == 201, second.content
    assert second.json()["push_to_talk"] is True
    assert upstream_turn_detection(upstream) is None


def test_the_field_overrides_the_preference_for_that_call(api, upstream, offer_sdp):
    api.patch("/api/voice/preferences", {"push_to_talk": True}, format="json")

    response = start(api, offer_sdp, push_to_talk=False)

    assert response.json()["push_to_talk"] is False
    assert upstream_turn_detection(upstream)["type"] == "server_vad"


def test_under_the_admins_manual_turns_every_call_is_push_to_talk(api, upstream, offer_sdp):
    config = voice_config_get()
    config.turn_detection = "manual"
    config.save()

    response = start(api, offer_sdp, push_to_talk=False)

    assert response.json()["push_to_talk"] is True
    assert upstream_turn_detection(upstream) is None


def test_the_raw_form_takes_push_to_talk_in_the_query(api, upstream, offer_sdp):
    response = api.post(
        "/api/realtime/session?push_to_talk=true", offer_sdp, content_type="application/sdp"
    )

    assert response.status_code == 201, response.content
    assert upstream_turn_detection(upstream) is None


def test_a_push_to_talk_that_is_not_a_boolean_is_refused_before_upstream(api, upstream, offer_sdp):
    response = start(api, offer_sdp, push_to_talk="loud")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("push_to_talk:")
    assert not upstream.requests("/v1/realtime/calls")


@pytest.mark.parametrize(
    ("policy", "user_key", "expected_key"),
    [
        (KeyPolicy.SERVER, USER_KEY, SERVER_KEY),
        (KeyPolicy.USER, USER_KEY, USER_KEY),
        (KeyPolicy.USER_THEN_SERVER, USER_KEY, USER_KEY),
        (KeyPolicy.USER_THEN_SERVER, None, SERVER_KEY),
    ],
)
def test_the_key_policy_picks_the_bearer_key(
    api, user, upstream, offer_sdp, policy, user_key, expected_key
):
    set_policy(policy)
    if user_key:
        api_key_set(user=user, api_key=user_key)

    assert start(api, offer_sdp).status_code == 201

    [received] = upstream.requests("/v1/realtime/calls")
    assert received["authorization"] == mask_authorization(f"Bearer {expected_key}")


def test_the_users_preferred_voice_is_used(api, upstream, offer_sdp):
    api.patch("/api/voice/preferences", {"voice": "sage"}, format="json")

    assert start(api, offer_sdp).json()["call"]["voice"] == "sage"


def test_a_tts_only_preferred_voice_falls_back_to_the_default(api, upstream, offer_sdp):
    api.patch("/api/voice/preferences", {"voice": "onyx"}, format="json")

    assert start(api, offer_sdp).json()["call"]["voice"] == "marin"


def test_the_call_continues_the_given_conversation(api, user, upstream, offer_sdp):
    conversation = make_conversation(user)

    body = start(api, offer_sdp, conversation=str(conversation.id)).json()

    assert body["call"]["conversation"] == str(conversation.id)


# --- errors from upstream ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("sk-fail-auth-000000000000000000", 502, "upstream_auth_failed"),
        ("sk-fail-rate-000000000000000000", 429, "upstream_rate_limited"),
        ("sk-fail-server-0000000000000000", 502, "upstream_error"),
        ("sk-fail-bad-00000000000000000000", 502, "upstream_error"),
    ],
)
def test_upstream_failures_map_to_the_contract_codes(
    api, upstream, offer_sdp, settings, key, status, code
):
    settings.OPENAI_API_KEY = key

    response = start(api, offer_sdp)

    assert response.status_code == status
    body = response.json()
    assert body["error"]["code"] == code
    assert key not in response.content.decode()
    call = Call.objects.get()
    assert call.status == Call.Status.FAILED
    assert call.ended_reason == code


def test_rate_limiting_passes_retry_after_on(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-rate-000000000000000000"

    response = start(api, offer_sdp)

    assert response["Retry-After"] == "7"


def test_a_bad_request_carries_upstreams_message(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-bad-00000000000000000000"

    message = start(api, offer_sdp).json()["error"]["message"]

    assert message.startswith("OpenAI refused the request: ")
    assert "Invalid request" in message


def test_a_stalled_upstream_is_a_504(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-stall-00000000000000000"
    settings.UPSTREAM_TIMEOUT_S = 0.5

    response = start(api, offer_sdp)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_an_unreachable_upstream_is_a_502(api, user, offer_sdp, settings):
    settings.OPENAI_API_KEY = SERVER_KEY
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port

    response = start(api, offer_sdp)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


def test_a_failed_start_frees_the_slot_for_a_retry(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = "sk-fail-server-0000000000000000"
    assert start(api, offer_sdp).status_code == 502

    settings.OPENAI_API_KEY = SERVER_KEY
    assert start(api, offer_sdp).status_code == 201


def test_no_key_ever_reaches_a_response_or_the_logs(api, user, upstream, offer_sdp, caplog):
    caplog.set_level(logging.DEBUG)
    api_key_set(user=user, api_key=USER_KEY)
    bodies = [start(api, offer_sdp).content.decode()]
    call_id = json.loads(bodies[0])["call"]["id"]
    bodies.append(api.post(f"/api/calls/{call_id}/end").content.decode())
    api.put("/api/voice/key", {"api_key": "sk-fail-auth-000000000000000000"}, format="json")
    bodies.append(start(api, offer_sdp).content.decode())

    for secret in (USER_KEY, SERVER_KEY, "sk-fail-auth-000000000000000000"):
        assert secret not in caplog.text
        assert all(secret not in body for body in bodies)


# --- our own rules ----------------------------------------------------------------------------


def test_realtime_disabled_is_409(api, upstream, offer_sdp):
    config = voice_config_get()
    config.realtime_enabled = False
    config.save()

    response = start(api, offer_sdp)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "realtime_unavailable"
    assert upstream.requests("/v1/realtime/calls") == []


def test_no_usable_key_is_409(api, upstream, offer_sdp, settings):
    settings.OPENAI_API_KEY = ""

    response = start(api, offer_sdp)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "realtime_unavailable"


def test_a_second_call_is_refused_with_the_active_ones_id(api, user, upstream, offer_sdp):
    live = make_call(user, mode="legacy", status=Call.Status.ACTIVE)

    response = start(api, offer_sdp)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_active"
    assert response.json()["active_call"] == str(live.id)
    assert upstream.requests("/v1/realtime/calls") == []


def test_a_stale_call_does_not_lock_the_user_out(api, user, upstream, offer_sdp):
    stuck = make_call(user, status=Call.Status.CONNECTING)
    Call.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timedelta(minutes=2))

    assert start(api, offer_sdp).status_code == 201

    stuck.refresh_from_db()
    assert stuck.status == Call.Status.ENDED


def test_a_call_past_the_maximum_is_ended_and_hung_up(api, user, upstream, offer_sdp):
    first = start(api, offer_sdp).json()["call"]
    Call.objects.filter(pk=first["id"]).update(
        status=Call.Status.ACTIVE, connected_at=timezone.now() - timedelta(minutes=31)
    )
    upstream_id = Call.objects.get(pk=first["id"]).upstream_call_id

    assert start(api, offer_sdp).status_code == 201

    assert Call.objects.get(pk=first["id"]).ended_reason == "max_duration"
    hangups = wait_for(lambda: upstream.requests(f"/v1/realtime/calls/{upstream_id}/hangup"))
    assert len(hangups) == 1


def test_call_starts_are_throttled_per_user(api, user, upstream, offer_sdp):
    config = voice_config_get()
    config.call_starts_per_minute = 3
    config.save()
    for _ in range(3):
        make_call(user, status=Call.Status.ENDED)

    response = start(api, offer_sdp)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert upstream.requests("/v1/realtime/calls") == []


def test_older_starts_do_not_count_against_the_throttle(api, user, upstream, offer_sdp):
    config = voice_config_get()
    config.call_starts_per_minute = 1
    config.save()
    old = make_call(user, status=Call.Status.ENDED)
    Call.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(seconds=61))

    assert start(api, offer_sdp).status_code == 201


@pytest.mark.parametrize(
    ("sdp", "status", "code"),
    [
        ("hello", 400, "invalid_sdp"),
        ("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\n", 400, "invalid_sdp"),  # no audio section
        ("", 400, "invalid_sdp"),
        (42, 400, "invalid_sdp"),
        (
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + "a=x\r\n" * 20_000,
            413,
            "payload_too_large",
        ),
    ],
)
def test_a_bad_offer_is_refused_before_any_upstream_call(api, upstream, sdp, status, code):
    response = start(api, sdp)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert upstream.requests("/v1/realtime/calls") == []
    assert not Call.objects.exists()


def test_a_raw_offer_over_64_kib_is_413(api, upstream):
    response = api.post("/api/realtime/session", OVERSIZE_OFFER, content_type="application/sdp")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_unknown_voice_is_invalid_voice(api, upstream, offer_sdp):
    response = start(api, offer_sdp, voice="onyx")  # a TTS voice, not a Realtime one

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_voice"


def test_instructions_over_4000_characters_are_refused(api, upstream, offer_sdp):
    response = start(api, offer_sdp, instructions="x" * 4001)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "instructions_too_long"


def test_another_users_conversation_is_not_found(api, other_user, upstream, offer_sdp):
    theirs = make_conversation(other_user)

    response = start(api, offer_sdp, conversation=str(theirs.id))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert upstream.requests("/v1/realtime/calls") == []


def test_anonymous_is_refused(anonymous, upstream, offer_sdp):
    response = anonymous.post("/api/realtime/session", {"sdp": offer_sdp}, format="json")

    assert response.status_code == 401


def test_session_auth_needs_the_csrf_token(api, upstream, offer_sdp):
    api.credentials()

    response = start(api, offer_sdp)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


# --- ending ------------------------------------------------------------------------------------


def test_end_hangs_the_call_up_upstream_once(api, upstream, offer_sdp):
    body = start(api, offer_sdp).json()
    upstream_id = Call.objects.get(pk=body["call"]["id"]).upstream_call_id

    first = api.post(
        f"/api/calls/{body['call']['id']}/end", {"reason": "user_hangup"}, format="json"
    )
    second = api.post(f"/api/calls/{body['call']['id']}/end", format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "ended"
    assert len(upstream.requests(f"/v1/realtime/calls/{upstream_id}/hangup")) == 1
    [sim_call] = [c for c in upstream.calls() if c["id"] == upstream_id]
    assert sim_call["hung_up"] is True


def test_end_succeeds_when_upstream_already_forgot_the_call(api, user, upstream):
    call = make_call(user, upstream_call_id="rtc_unknown000")

    response = api.post(f"/api/calls/{call.id}/end")

    assert response.status_code == 200
    assert response.json()["status"] == "ended"
