"""One error shape under /api/, authentication on every endpoint, CSRF for session auth."""

import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

ENDPOINTS = [
    ("get", "/api/voice/config"),
    ("get", "/api/voice/preferences"),
    ("patch", "/api/voice/preferences"),
    ("get", "/api/voice/key"),
    ("put", "/api/voice/key"),
    ("delete", "/api/voice/key"),
    ("get", "/api/calls"),
    ("get", f"/api/calls/{uuid.uuid4()}"),
    ("post", f"/api/calls/{uuid.uuid4()}/transcript"),
    ("post", f"/api/calls/{uuid.uuid4()}/active"),
    ("post", f"/api/calls/{uuid.uuid4()}/end"),
    ("get", "/api/conversations"),
    ("get", f"/api/conversations/{uuid.uuid4()}"),
    ("get", "/api/schema"),
    ("post", "/api/realtime/session"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_anonymous_requests_with_401(anonymous, method, path):
    response = getattr(anonymous, method)(path, {}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_token_auth_works_without_csrf(user):
    token = Token.objects.create(user=user)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.patch("/api/voice/preferences", {"mode": "legacy"}, format="json")

    assert response.status_code == 200


def test_a_wrong_token_is_not_authenticated(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")

    response = client.get("/api/voice/config")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_writes_without_the_csrf_token_are_refused(api):
    api.credentials()  # drop the X-CSRFToken header

    response = api.patch("/api/voice/preferences", {"mode": "legacy"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in response.json()["error"]["message"]


def test_an_unknown_api_url_is_a_json_404(api):
    response = api.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_wrong_method_is_a_json_405(api):
    response = api.post("/api/voice/config", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_invalid_request(api):
    response = api.patch(
        "/api/voice/preferences", b'{"mode": "legacy",', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_json_415(api):
    response = api.patch("/api/voice/preferences", b"mode=legacy", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_an_oversize_body_is_413(api, settings):
    settings.VOICE_MAX_JSON_BODY_BYTES = 1024
    body = '{"voice": "' + "x" * 2000 + '"}'

    response = api.patch("/api/voice/preferences", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_crash_is_a_json_500_without_a_traceback(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals sk-should-not-leak")

    monkeypatch.setattr("voice.selectors.client_config", explode)

    response = api.get("/api/voice/config")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "Traceback" not in response.content.decode()
    assert "sk-should-not-leak" not in response.content.decode()
