"""Turn taking as the admin sets it and each user chooses it: the configuration's turn detection
fields, the push-to-talk preference, and the Realtime session object they produce, checked
against the official SDK's types."""

import pytest
from django.test import Client

from realtime.services import session_config_build, turn_detection_build
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.simulator.sdk_types import session_request_problems
from tests.voice.test_pages_and_admin import config_form
from voice.models import TurnDetection, VoicePreference
from voice.selectors import voice_config_get


def configure(**fields) -> None:
    config = voice_config_get()
    for name, value in fields.items():
        setattr(config, name, value)
    config.full_clean()
    config.save()


# --- the admin -------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(db) -> Client:
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.login(username=admin.username, password=PASSWORD)
    return client


def test_the_admin_sets_server_vad_settings_and_the_push_to_talk_default(admin_client_):
    form = config_form(
        turn_detection="server_vad",
        vad_threshold="0.8",
        vad_silence_duration_ms="900",
        vad_prefix_padding_ms="0",
        push_to_talk_default="on",
    )
    del form["vad_interrupt_response"]  # an unticked box is not sent

    response = admin_client_.post("/admin/voice/voiceconfig/1/change/", form)

    assert response.status_code == 302, response.content
    config = voice_config_get()
    assert config.turn_detection == TurnDetection.SERVER_VAD
    assert (config.vad_threshold, config.vad_silence_duration_ms) == (0.8, 900)
    assert config.vad_prefix_padding_ms == 0
    assert config.vad_interrupt_response is False and config.vad_create_response is True
    assert config.push_to_talk_default is True


def test_the_admin_may_choose_manual_turns(admin_client_):
    response = admin_client_.post(
        "/admin/voice/voiceconfig/1/change/", config_form(turn_detection="manual")
    )

    assert response.status_code == 302, response.content
    assert voice_config_get().turn_detection == TurnDetection.MANUAL


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("turn_detection", "null"),
        ("vad_threshold", "0"),  # hears the room
        ("vad_threshold", "1"),  # hears nobody
        ("vad_threshold", "half"),
        ("vad_silence_duration_ms", "100"),  # every breath would end a turn
        ("vad_silence_duration_ms", "3001"),
        ("vad_silence_duration_ms", "-1"),
        ("vad_prefix_padding_ms", "1001"),
        ("vad_eagerness", "eager"),
    ],
)
def test_the_admin_refuses_turn_detection_outside_its_bounds(admin_client_, field, value):
    before = voice_config_get().updated_at

    response = admin_client_.post(
        "/admin/voice/voiceconfig/1/change/", config_form(**{field: value})
    )

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert voice_config_get().updated_at == before


def test_the_admin_page_explains_each_choice(admin_client_):
    voice_config_get()
    html = admin_client_.get("/admin/voice/voiceconfig/1/change/").content.decode()

    assert "Realtime turn taking" in html
    for words in ("Semantic VAD", "Manual (push-to-talk only)", "pressing it stops a reply"):
        assert words in html, words
    assert "0.1–0.95" in html and "200–3000 ms" in html


# --- what goes upstream ----------------------------------------------------------------------


def session_turn(config, *, push_to_talk: bool = False):
    session = session_config_build(config=config, voice="marin", push_to_talk=push_to_talk)
    assert session_request_problems(session) == []
    return session["audio"]["input"]["turn_detection"]


@pytest.mark.django_db
def test_server_vad_sends_its_own_settings_only():
    configure(
        turn_detection="server_vad",
        vad_threshold=0.7,
        vad_silence_duration_ms=800,
        vad_prefix_padding_ms=200,
        vad_eagerness="high",  # a semantic VAD setting: not sent
        vad_interrupt_response=False,
    )

    assert session_turn(voice_config_get()) == {
        "type": "server_vad",
        "threshold": 0.7,
        "prefix_padding_ms": 200,
        "silence_duration_ms": 800,
        "create_response": True,
        "interrupt_response": False,
    }


@pytest.mark.django_db
def test_semantic_vad_sends_its_eagerness_only():
    configure(turn_detection="semantic_vad", vad_eagerness="low", vad_threshold=0.9)

    assert session_turn(voice_config_get()) == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["server_vad", "semantic_vad", "manual"])
def test_push_to_talk_sends_no_turn_detection_whatever_the_admin_chose(kind):
    configure(turn_detection=kind)

    assert session_turn(voice_config_get(), push_to_talk=True) is None


@pytest.mark.django_db
def test_manual_turns_send_no_turn_detection_without_push_to_talk():
    configure(turn_detection="manual")

    assert turn_detection_build(config=voice_config_get(), push_to_talk=False) is None


# --- the user's preference -------------------------------------------------------------------


def test_push_to_talk_follows_the_admins_default_until_the_user_chooses(api, user):
    assert api.get("/api/voice/preferences").json()["push_to_talk"] is False
    configure(push_to_talk_default=True)
    assert api.get("/api/voice/preferences").json()["push_to_talk"] is True

    chosen = api.patch("/api/voice/preferences", {"push_to_talk": False}, format="json")

    assert chosen.status_code == 200
    assert chosen.json() == {"mode": "realtime", "voice": "marin", "push_to_talk": False}
    assert VoicePreference.objects.get(user=user).push_to_talk is False
    back = api.patch("/api/voice/preferences", {"push_to_talk": None}, format="json")
    assert back.json()["push_to_talk"] is True  # null: the admin's default again
    assert VoicePreference.objects.get(user=user).push_to_talk is None


def test_other_changes_keep_the_push_to_talk_choice(api, user):
    api.patch("/api/voice/preferences", {"push_to_talk": True}, format="json")

    api.patch("/api/voice/preferences", {"mode": "legacy", "voice": "cedar"}, format="json")

    assert api.get("/api/voice/preferences").json() == {
        "mode": "legacy",
        "voice": "cedar",
        "push_to_talk": True,
    }


@pytest.mark.parametrize("value", ["sometimes", 3, [True], {"on": True}])
def test_a_push_to_talk_that_is_not_true_or_false_is_invalid_request(api, value):
    response = api.patch("/api/voice/preferences", {"push_to_talk": value}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["message"].startswith("push_to_talk:")


def test_the_client_config_carries_the_preference_and_the_turn_detection(api):
    configure(turn_detection="manual", push_to_talk_default=True)

    body = api.get("/api/voice/config").json()

    assert body["realtime"]["turn_detection"] == "manual"
    assert body["preference"] == {"mode": "realtime", "voice": "marin", "push_to_talk": True}


def test_preferences_need_a_login(client, db):
    response = client.patch(
        "/api/voice/preferences", {"push_to_talk": True}, content_type="application/json"
    )

    assert response.status_code in (401, 403)
    assert not VoicePreference.objects.exists()
