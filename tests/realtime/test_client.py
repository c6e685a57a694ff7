"""realtime.client: which upstream 400s are the browser's offer and which are ours."""

import httpx
import pytest

from realtime import client
from voice import upstream
from voice.errors import VoiceError


async def refusal(body: dict) -> VoiceError:
    handler = lambda request: httpx.Response(400, json=body)  # noqa: E731
    upstream.set_client(upstream.build_client(httpx.MockTransport(handler)))
    try:
        with pytest.raises(VoiceError) as raised:
            await client.calls_create(api_key="sk-test", offer_sdp="v=0\r\n", session={})
    finally:
        await upstream.aclose_clients()
    return raised.value


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Invalid offer.", "param": "sdp", "code": None},
        {"message": "Failed to parse the SDP: bad m-line", "param": None, "code": None},
    ],
)
async def test_a_400_about_the_offer_is_invalid_sdp(error):
    refused = await refusal({"error": error})

    assert (refused.status, refused.code) == (400, "invalid_sdp")
    assert error["message"] in refused.message


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "Unknown model 'x'.", "param": "session.model", "code": None}},
        {"not": "openai's shape"},
    ],
)
async def test_any_other_400_is_our_request_and_a_502(body):
    refused = await refusal(body)

    assert (refused.status, refused.code) == (502, "upstream_error")
