"""The user's own OpenAI key: encrypted at rest, shown only masked, never logged."""

import dataclasses
import logging
import traceback

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from voice import crypto
from voice.errors import VoiceError
from voice.models import KeyPolicy, UserApiKey
from voice.selectors import voice_config_get
from voice.services.keys import api_key_resolve, api_key_set

KEY = "sk-proj-Abcdefghijklmnopqrstuvwx1234wxyz"


def test_put_stores_the_key_and_answers_only_the_mask(api, user):
    response = api.put("/api/voice/key", {"api_key": KEY}, format="json")

    assert response.status_code == 200
    assert response.json() == {"configured": True, "masked": "sk-…wxyz"}
    assert KEY not in response.content.decode()
    assert api.get("/api/voice/key").json() == {"configured": True, "masked": "sk-…wxyz"}


def test_the_raw_database_column_never_contains_the_key(api, user):
    api.put("/api/voice/key", {"api_key": KEY}, format="json")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM voice_userapikey WHERE user_id = %s", [user.pk])
        row = cursor.fetchone()
    assert row is not None
    assert not any(KEY in str(value) or KEY[3:] in str(value) for value in row)


def test_delete_clears_the_key(api, user):
    api.put("/api/voice/key", {"api_key": KEY}, format="json")

    response = api.delete("/api/voice/key")

    assert response.json() == {"configured": False, "masked": None}
    assert not UserApiKey.objects.filter(user=user).exists()


@pytest.mark.parametrize("bad", ["", "hello", "sk-short", "pk-Abcdefghijklmnopqrstuvwx", None, 42])
def test_a_malformed_key_is_refused_without_echoing_it(api, bad):
    response = api.put("/api/voice/key", {"api_key": bad}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    if bad:
        assert str(bad) not in response.json()["error"]["message"]


def test_the_key_never_reaches_the_logs(api, user, caplog):
    caplog.set_level(logging.DEBUG)

    api.put("/api/voice/key", {"api_key": KEY}, format="json")
    api.put("/api/voice/key", {"api_key": KEY + " with spaces"}, format="json")
    api.post("/api/voice/key", {"api_key": KEY}, format="json")  # 405
    api.get("/api/voice/key")

    assert caplog.records, "expected the 4xx responses to be logged"
    assert KEY not in caplog.text
    assert KEY[-12:] not in caplog.text


def test_a_key_encrypted_under_an_old_key_still_decrypts_after_rotation(user, settings):
    old = settings.VOICE_ENCRYPTION_KEYS[0]
    api_key_set(user=user, api_key=KEY)
    config = voice_config_get()

    settings.VOICE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    assert api_key_resolve(user=user, config=config).value == KEY

    call_command("voice_rotate_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.VOICE_ENCRYPTION_KEYS = settings.VOICE_ENCRYPTION_KEYS[:1]  # old key retired
    assert api_key_resolve(user=user, config=config).value == KEY


def test_a_wrong_encryption_key_fails_clearly_on_use(user, settings, caplog):
    api_key_set(user=user, api_key=KEY)
    settings.VOICE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(VoiceError) as raised:
        api_key_resolve(user=user, config=voice_config_get())

    assert raised.value.code == "key_unreadable"
    assert "cannot be decrypted with VOICE_ENCRYPTION_KEYS" in caplog.text
    assert KEY not in caplog.text


def test_a_malformed_encryption_key_is_refused(settings):
    settings.VOICE_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    with pytest.raises(Exception, match="malformed key"):
        crypto.validate_configured_keys()


@pytest.mark.parametrize(
    ("policy", "user_key", "server_key", "expected"),
    [
        (KeyPolicy.USER_THEN_SERVER, KEY, "sk-server-0000000000000000", ("user", KEY)),
        (KeyPolicy.USER_THEN_SERVER, None, "sk-server-0000000000000000", ("server", None)),
        (KeyPolicy.USER, None, "sk-server-0000000000000000", None),
        (KeyPolicy.USER, KEY, "", ("user", KEY)),
        (KeyPolicy.SERVER, KEY, "sk-server-0000000000000000", ("server", None)),
        (KeyPolicy.SERVER, KEY, "", None),
    ],
)
def test_the_key_policy_decides_whose_key_pays(
    user, settings, policy, user_key, server_key, expected
):
    settings.OPENAI_API_KEY = server_key
    config = voice_config_get()
    config.key_policy = policy
    config.save()
    if user_key:
        api_key_set(user=user, api_key=user_key)

    resolved = api_key_resolve(user=user, config=config)

    if expected is None:
        assert resolved is None
    else:
        source, value = expected
        assert resolved.source == source
        assert resolved.value == (value or server_key)
        assert resolved.value not in repr(resolved)


@dataclasses.dataclass
class _Plan:  # the shape of realtime's and legacy's prepared calls
    api_key: str
    model: str


def _traceback_with_locals(resolved) -> str:
    """What an error tracker shows for a failure in code that holds the key."""
    try:
        key = resolved.value
        raise RuntimeError(_Plan(api_key=key, model="gpt-realtime"))
    except RuntimeError as exc:
        report = traceback.TracebackException.from_exception(exc, capture_locals=True)
        return "".join(report.format())


@pytest.mark.parametrize("whose", ["user", "server"])
def test_a_resolved_key_never_prints_in_clear(user, settings, whose):
    """Whatever holds the key (the pipelines copy it into their plans) prints it masked."""
    settings.OPENAI_API_KEY = "sk-server-secret-0000000000000000wxyz"
    if whose == "user":
        api_key_set(user=user, api_key=KEY)

    resolved = api_key_resolve(user=user, config=voice_config_get())

    clear = KEY if whose == "user" else settings.OPENAI_API_KEY
    assert resolved.source == whose
    assert f"Bearer {resolved.value}" == f"Bearer {clear}"  # a str to everything that uses it
    assert repr(resolved.value) == "Secret('…wxyz')"
    for printed in (repr(resolved), str(resolved), _traceback_with_locals(resolved)):
        assert clear not in printed
