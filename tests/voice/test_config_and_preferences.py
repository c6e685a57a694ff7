"""GET /api/voice/config and GET|PATCH /api/voice/preferences."""

import pytest

from voice.models import KeyPolicy, VoicePreference
from voice.selectors import voice_config_get
from voice.services.keys import api_key_set


def test_without_any_key_both_modes_say_no_api_key(api, settings):
    settings.OPENAI_API_KEY = ""

    body = api.get("/api/voice/config").json()

    assert body["realtime"]["available"] is False
    assert body["realtime"]["reason"] == "no_api_key"
    assert body["legacy"] == {
        "available": False,
        "reason": "no_api_key",
        "stt": ["server", "browser"],
        "tts": ["server", "browser"],
        "voices": voice_config_get().tts_voices,
    }
    assert body["preference"] == {"mode": "realtime", "voice": "marin", "push_to_talk": False}


def test_the_server_key_makes_realtime_available(api, settings):
    settings.OPENAI_API_KEY = "sk-server-0000000000000000"

    realtime = api.get("/api/voice/config").json()["realtime"]

    assert realtime == {
        "available": True,
        "reason": None,
        "model": "gpt-realtime-2.1",
        "voices": voice_config_get().voices,
        "default_voice": "marin",
        "turn_detection": "server_vad",
    }


def test_a_user_key_counts_only_when_the_policy_allows_it(api, user, settings):
    settings.OPENAI_API_KEY = ""
    api_key_set(user=user, api_key="sk-user-00000000000000000000")
    config = voice_config_get()
    assert api.get("/api/voice/config").json()["realtime"]["available"] is True

    config.key_policy = KeyPolicy.SERVER
    config.save()

    assert api.get("/api/voice/config").json()["realtime"]["reason"] == "no_api_key"


def test_disabled_realtime_says_disabled(api, settings):
    settings.OPENAI_API_KEY = "sk-server-0000000000000000"
    config = voice_config_get()
    config.realtime_enabled = False
    config.save()

    body = api.get("/api/voice/config").json()

    assert body["realtime"]["available"] is False
    assert body["realtime"]["reason"] == "disabled"
    assert body["legacy"]["available"] is True


def test_patch_saves_mode_and_voice(api, user):
    response = api.patch(
        "/api/voice/preferences", {"mode": "legacy", "voice": "cedar"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"mode": "legacy", "voice": "cedar", "push_to_talk": False}
    assert api.get("/api/voice/preferences").json()["voice"] == "cedar"
    assert VoicePreference.objects.get(user=user).mode == "legacy"


def test_patch_changes_only_what_it_names(api):
    api.patch("/api/voice/preferences", {"voice": "cedar"}, format="json")
    api.patch("/api/voice/preferences", {"mode": "legacy"}, format="json")

    preference = api.get("/api/voice/preferences").json()
    assert (preference["mode"], preference["voice"]) == ("legacy", "cedar")


def test_a_blank_voice_falls_back_to_the_default(api):
    api.patch("/api/voice/preferences", {"voice": "cedar"}, format="json")

    response = api.patch("/api/voice/preferences", {"voice": ""}, format="json")

    assert response.json()["voice"] == "marin"


def test_an_unknown_voice_is_invalid_voice(api):
    response = api.patch("/api/voice/preferences", {"voice": "darth"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_voice"
    assert "darth" in response.json()["error"]["message"]


@pytest.mark.parametrize("mode", ["telepathy", "", None, 3])
def test_an_unknown_mode_is_invalid_request(api, mode):
    response = api.patch("/api/voice/preferences", {"mode": mode}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["message"].startswith("mode:")
    assert "mode" in body["fields"]


def test_preferences_are_per_user(api, other_user):
    api.patch("/api/voice/preferences", {"mode": "legacy"}, format="json")

    assert not VoicePreference.objects.filter(user=other_user).exists()
