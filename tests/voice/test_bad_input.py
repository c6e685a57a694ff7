"""Malformed and oversized request bodies get docs/api.md's 4xx, never a 500 (issue 9, item 2)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def token_api(user) -> APIClient:
    """Token auth: no CSRF check, so the body is first read by the view's parser."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture(params=["session", "token"])
def any_api(request, api, token_api) -> APIClient:
    return api if request.param == "session" else token_api


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def test_json_nested_deeper_than_the_decoder_recurses_is_invalid_request(any_api, settings):
    body = "[" * 100_000  # 100 KB: well under the body cap
    assert len(body) < settings.VOICE_MAX_JSON_BODY_BYTES

    response = any_api.patch("/api/voice/preferences", body, content_type="application/json")

    error = assert_error(response, 400, "invalid_request")
    assert "nested too deeply" in error["message"]


def test_a_json_body_over_djangos_in_memory_limit_is_413(any_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"voice": "' + "x" * 2000 + '"}'

    response = any_api.patch("/api/voice/preferences", body, content_type="application/json")

    assert_error(response, 413, "payload_too_large")


def upload(name: str = "speech.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"RIFF\x00\x00\x00\x00WAVE", content_type="audio/wav")


def transcribe(client, fields: dict):
    return client.post("/api/legacy/transcriptions", fields, format="multipart")


def test_a_multipart_text_field_over_djangos_in_memory_limit_is_413(any_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = transcribe(any_api, {"audio": upload(), "call": "x" * 2000})

    error = assert_error(response, 413, "payload_too_large")
    assert "1 KiB" in error["message"]


def test_a_multipart_body_with_too_many_fields_is_413(any_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    response = transcribe(any_api, {"audio": upload(), **{f"f{n}": "x" for n in range(11)}})

    error = assert_error(response, 413, "payload_too_large")
    assert "too many fields (the limit is 10)" in error["message"]


def test_a_multipart_body_with_too_many_files_is_413(any_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2

    response = transcribe(any_api, {f"audio{n}": upload() for n in range(3)})

    error = assert_error(response, 413, "payload_too_large")
    assert "too many files (the limit is 2)" in error["message"]
