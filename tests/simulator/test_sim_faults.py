"""Auth and fault injection by API key, the same on every /v1 endpoint."""

import asyncio

import httpx
import pytest

from tests.simulator.sim_peer import eventually

ENDPOINTS = [
    ("POST", "/v1/realtime/calls"),
    ("POST", "/v1/realtime/calls/rtc_x/hangup"),
    ("GET", "/v1/realtime?call_id=rtc_x"),
    ("POST", "/v1/audio/transcriptions"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/audio/speech"),
    ("GET", "/v1/models"),
]
FAULTS = [
    ("fail-auth", 401, "invalid_request_error", "invalid_api_key"),
    ("fail-rate", 429, "requests", "rate_limit_exceeded"),
    ("fail-server", 500, "server_error", None),
    ("fail-bad", 400, "invalid_request_error", "invalid_value"),
]


def _assert_openai_error(response: httpx.Response, status: int, type_: str, code) -> dict:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"]) == (type_, code)
    return error


@pytest.mark.parametrize(("marker", "status", "type_", "code"), FAULTS)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_fault_keys_fail_every_endpoint_the_openai_way(
    sim, method, path, marker, status, type_, code
):
    async with sim.client(f"sk-proj-{marker}-abcdefghijklmnopxyz9") as client:
        response = await client.request(method, path)
    _assert_openai_error(response, status, type_, code)
    if marker == "fail-rate":
        assert response.headers["Retry-After"] == "7"


async def test_rejected_key_is_masked_like_openai_does(sim):
    async with sim.client("sk-proj-fail-auth-secretsecretxyz9") as client:
        response = await client.post("/v1/chat/completions", json={})
    message = response.json()["error"]["message"]
    assert message.startswith("Incorrect API key provided: sk-proj-")
    assert "secret" not in message and "*" in message and "xyz9." in message


async def test_missing_or_non_bearer_auth_is_401(sim):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
        async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
            response = await client.post("/v1/chat/completions", json={})
        error = _assert_openai_error(response, 401, "invalid_request_error", None)
        assert "didn't provide an API key" in error["message"]


async def test_stall_key_holds_the_request_until_the_client_gives_up(sim):
    async with sim.client("sk-fail-stall", timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/chat/completions", json={})


async def test_stalled_request_is_released_when_the_server_shuts_down(sim):
    async with sim.client("sk-fail-stall") as client:
        pending = asyncio.ensure_future(client.post("/v1/audio/speech", json={}))
        await _recorded(sim, "/v1/audio/speech")
        await sim.runner.cleanup()
        response = await asyncio.wait_for(pending, 5)
    assert response.status_code == 503


async def _recorded(sim, path: str) -> None:
    async with sim.client() as control:

        async def seen():
            return (await control.get("/_sim/requests", params={"path": path})).json()

        await eventually(seen)


async def test_any_other_key_is_accepted(sim):
    async with sim.client("whatever") as client:
        response = await client.post(
            "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user"}]}
        )
    assert response.status_code == 200
