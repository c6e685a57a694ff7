"""voice.upstream: the pooled client and the one mapping of upstream failures (MockTransport)."""

import asyncio

import httpx
import pytest

from voice import upstream
from voice.errors import VoiceError


def install(handler) -> None:
    upstream.set_client(upstream.build_client(httpx.MockTransport(handler)))


async def fail_with(status: int, body: dict | None = None, headers=None) -> VoiceError:
    install(lambda request: httpx.Response(status, json=body or {}, headers=headers))
    with pytest.raises(VoiceError) as raised:
        await upstream.request("POST", "/realtime/calls", api_key="sk-test-000000000000000000")
    return raised.value


async def test_one_pooled_client_per_event_loop():
    first = upstream.get_client()

    assert upstream.get_client() is first
    other_loop_client = await asyncio.to_thread(lambda: asyncio.run(_client_in_new_loop()))
    assert other_loop_client is not first
    await upstream.aclose_clients()
    assert first.is_closed


async def _client_in_new_loop() -> httpx.AsyncClient:
    client = upstream.get_client()
    await upstream.aclose_clients()
    return client


async def test_requests_carry_the_bearer_key_under_the_base_url(settings):
    settings.OPENAI_BASE_URL = "http://upstream.test/v1"
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers["Authorization"]
        return httpx.Response(200, text="ok")

    install(handler)
    await upstream.request("POST", "/realtime/calls", api_key="sk-abc")

    assert seen == {"url": "http://upstream.test/v1/realtime/calls", "auth": "Bearer sk-abc"}


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_key_is_upstream_auth_failed(status):
    error = await fail_with(
        status, {"error": {"message": "Incorrect API key provided: sk-ab***yz"}}
    )

    assert (error.status, error.code) == (502, "upstream_auth_failed")
    assert "sk-" not in error.message


async def test_rate_limiting_keeps_retry_after():
    error = await fail_with(429, {"error": {"message": "Slow down"}}, headers={"Retry-After": "12"})

    assert (error.status, error.code) == (429, "upstream_rate_limited")
    assert error.headers == {"Retry-After": "12"}
    assert "Slow down" in error.message


async def test_other_4xx_carry_upstreams_message_with_keys_redacted():
    error = await fail_with(400, {"error": {"message": "Bad session for key sk-proj-abcdef123"}})

    assert (error.status, error.code) == (502, "upstream_error")
    assert error.message == "OpenAI refused the request: Bad session for key [redacted key]"


async def test_a_very_long_upstream_message_is_cut():
    error = await fail_with(422, {"error": {"message": "x" * 5000}})

    assert len(error.message) < 400


async def test_5xx_is_upstream_error_without_upstreams_internals():
    error = await fail_with(503, {"error": {"message": "shard 7 exploded"}})

    assert (error.status, error.code) == (502, "upstream_error")
    assert "shard" not in error.message


async def test_a_non_json_error_body_still_maps():
    install(lambda request: httpx.Response(418, text="<html>teapot</html>"))

    with pytest.raises(VoiceError) as raised:
        await upstream.request("GET", "/x", api_key="sk-a")

    assert raised.value.code == "upstream_error"
    assert "teapot" not in raised.value.message


async def test_a_connection_failure_is_upstream_error():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    install(refuse)

    with pytest.raises(VoiceError) as raised:
        await upstream.request("GET", "/x", api_key="sk-a")

    assert (raised.value.status, raised.value.code) == (502, "upstream_error")


async def test_the_total_timeout_is_upstream_timeout(settings):
    settings.UPSTREAM_TIMEOUT_S = 0.05

    async def stall(request):
        await asyncio.Event().wait()  # never answers; the total timeout must cut it

    upstream.set_client(upstream.build_client(httpx.MockTransport(stall)))

    with pytest.raises(VoiceError) as raised:
        await upstream.request("GET", "/x", api_key="sk-a")

    assert (raised.value.status, raised.value.code) == (504, "upstream_timeout")


async def test_an_allowed_status_is_returned_not_raised():
    install(lambda request: httpx.Response(404, json={"error": {"message": "gone"}}))

    response = await upstream.request("POST", "/x", api_key="sk-a", ok_statuses=(404,))

    assert response.status_code == 404


async def test_the_asgi_lifespan_shutdown_closes_the_pooled_client():
    from voiceproject.asgi import application

    client = upstream.get_client()
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message["type"])

    await application({"type": "lifespan"}, receive, send)

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert client.is_closed


async def test_a_refusal_carries_openais_status_code_and_param_as_data():
    error = await fail_with(
        400,
        {
            "error": {
                "message": "Audio file might be corrupted or unsupported",
                "type": "invalid_request_error",
                "param": "file",
                "code": "invalid_value",
            }
        },
    )

    assert (error.status, error.code) == (502, "upstream_error")
    assert (error.upstream_status, error.upstream_code, error.upstream_param) == (
        400,
        "invalid_value",
        "file",
    )


async def test_a_transport_failure_has_no_upstream_status():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    install(handler)
    with pytest.raises(VoiceError) as raised:
        await upstream.request("POST", "/realtime/calls", api_key="sk-test-000000000000000000")

    assert (raised.value.code, raised.value.upstream_status) == ("upstream_error", None)
