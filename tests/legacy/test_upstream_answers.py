"""Odd answers from OpenAI's speech endpoints, which the simulator does not give (MockTransport)."""

import httpx
import pytest

from tests.conftest import SERVER_KEY
from voice import upstream


@pytest.fixture
def mock_upstream(settings):
    settings.OPENAI_API_KEY = SERVER_KEY
    settings.OPENAI_BASE_URL = "http://upstream.test/v1"

    def install(handler) -> None:
        upstream.set_client(upstream.build_client(httpx.MockTransport(handler)))

    return install


@pytest.mark.django_db(transaction=True)
async def test_speech_answered_with_an_empty_body_is_upstream_error(aapi, mock_upstream):
    mock_upstream(
        lambda request: httpx.Response(200, content=b"", headers={"Content-Type": "audio/mpeg"})
    )

    response = await aapi.post("/api/legacy/speech", {"text": "Hello."})

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    await upstream.aclose_clients()
