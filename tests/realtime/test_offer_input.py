"""An SDP offer that is not valid text is `invalid_sdp` in every form (issue 9, item 2)."""

import base64
import json

import pytest

from voice.models import Call

SURROGATE_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
)


def assert_invalid_sdp(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_sdp"
    assert not Call.objects.exists()


def test_a_lone_surrogate_in_a_json_offer_is_invalid_sdp(api):
    # json.dumps escapes the lone surrogate as \\ud800, which any JSON decoder accepts.
    body = json.dumps({"sdp": SURROGATE_OFFER + "a=x:\ud800\r\n"})

    assert_invalid_sdp(api.post("/api/realtime/session", body, content_type="application/json"))


@pytest.mark.parametrize("encoded", [b"\xed\xa0\x80", b"\xff\xfe"])
def test_a_raw_offer_that_is_not_utf8_is_invalid_sdp(api, encoded):
    body = SURROGATE_OFFER.encode() + b"a=x:" + encoded + b"\r\n"

    assert_invalid_sdp(api.post("/api/realtime/session", body, content_type="application/sdp"))


def test_a_base64_offer_hiding_a_surrogate_is_invalid_sdp(api):
    hidden = base64.b64encode(SURROGATE_OFFER.encode() + b"a=x:\xed\xa0\x80\r\n").decode()

    response = api.post("/api/realtime/session", {"sdp": hidden}, format="json")

    assert_invalid_sdp(response)


def test_an_offer_openai_cannot_use_is_invalid_sdp_not_a_502(api, upstream):
    # Passes our own check (v=0, an audio section) but has no ICE or DTLS attributes.
    offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

    response = api.post("/api/realtime/session", {"sdp": offer}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_sdp"
    assert error["message"].startswith("OpenAI refused the SDP offer: ")
    assert len(upstream.requests("/v1/realtime/calls")) == 1
    assert Call.objects.get().status == Call.Status.FAILED
