"""GET/POST/DELETE /api/voice/token: a user makes, rotates and revokes their own API token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_user

URL = "/api/voice/token"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    return with_token(key).get("/api/voice/config").status_code == 200


def test_without_a_token_get_says_so(api):
    response = api.get(URL)

    assert response.status_code == 200
    assert response.json() == {"configured": False, "created_at": None}


def test_post_creates_a_token_shown_once_and_it_authenticates(api, user):
    created = api.post(URL)
    shown = api.get(URL)

    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["configured"] is True
    assert body["token"] == Token.objects.get(user=user).key
    assert works(body["token"])
    assert shown.json() == {"configured": True, "created_at": body["created_at"]}
    assert body["token"] not in shown.content.decode()


def test_post_again_rotates_the_old_token_stops_working(api):
    old = api.post(URL).json()["token"]

    new = api.post(URL).json()["token"]

    assert new != old
    assert not works(old)
    assert works(new)


def test_delete_revokes_with_204(api, user):
    key = api.post(URL).json()["token"]

    response = api.delete(URL)

    assert response.status_code == 204
    assert not works(key)
    assert not Token.objects.filter(user=user).exists()
    assert api.get(URL).json()["configured"] is False


def test_an_integration_revokes_its_own_token(user):
    key = Token.objects.create(user=user).key

    response = with_token(key).delete(URL)

    assert response.status_code == 204
    assert not works(key)


def test_only_the_users_own_token_changes(api, other_user):
    theirs = Token.objects.create(user=other_user).key

    api.post(URL)
    api.delete(URL)

    assert works(theirs)


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_anonymous_requests_get_401(anonymous, method):
    response = getattr(anonymous, method)(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("method", ["post", "delete"])
def test_session_writes_need_the_csrf_token(user, method):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    Token.objects.create(user=user)

    response = getattr(client, method)(URL)

    assert response.status_code == 403
    assert Token.objects.filter(user=user).exists()  # neither rotated nor revoked


def test_token_changes_are_throttled_per_user(api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"voice_token": "3/min"})
    for _ in range(3):
        assert api.post(URL).status_code == 201

    response = api.post(URL)
    someone_else = APIClient()
    someone_else.force_login(make_user())

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert someone_else.get(URL).status_code == 200


def test_the_schema_documents_the_token_endpoint(api):
    operations = api.get("/api/schema", HTTP_ACCEPT="application/json").json()["paths"][URL]

    assert set(operations) >= {"get", "post", "delete"}
    assert "201" in operations["post"]["responses"]
    assert "204" in operations["delete"]["responses"]
