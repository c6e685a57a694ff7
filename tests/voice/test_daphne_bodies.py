"""Under daphne, request bodies reach Django unparsed: a malformed multipart body gets our
JSON error, not Twisted's bare 400 (found by tests/fuzz)."""

import httpx
import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/legacy/transcriptions", 400, "invalid_request"),  # parses multipart
        ("/api/legacy/speech", 415, "unsupported_media_type"),  # JSON only
    ],
)
def test_a_malformed_multipart_body_gets_a_json_error(user, asgi_server, path, status, code):
    token = Token.objects.create(user=user)

    response = httpx.post(
        f"{asgi_server}{path}",
        content=b'{"text": "not multipart"}',
        headers={
            "Authorization": f"Token {token.key}",
            "Content-Type": "multipart/form-data; boundary=xyz",
        },
        timeout=10,
    )

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
