"""Bearer auth and fault injection, chosen by the API key, the same on every ``/v1`` endpoint.

A key containing ``fail-auth``, ``fail-rate``, ``fail-server``, ``fail-bad`` or ``fail-stall``
makes the request fail the way api.openai.com fails; any other Bearer value is accepted.
"""

import asyncio
import contextlib

from aiohttp import web

from .errors import error_response
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
# Set at shutdown so stalled requests return instead of holding the server open.
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)

MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from https://platform.openai.com/account/api-keys."
)


def mask_key(key: str) -> str:
    """OpenAI shows the first 8 characters (``sk-proj-``) and the last 4 of a rejected key."""
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def bearer_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def _invalid_key(key: str) -> web.Response:
    message = (
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    return error_response(401, message, code="invalid_api_key")


def _rate_limited(_key: str) -> web.Response:
    message = (
        "Rate limit reached for requests in organization org-simulator on requests per min "
        "(RPM): Limit 3, Used 3, Requested 1. Please try again in 7s."
    )
    return error_response(
        429, message, type_="requests", code="rate_limit_exceeded", headers={"Retry-After": "7"}
    )


def _server_error(_key: str) -> web.Response:
    message = "The server had an error while processing your request. Sorry about that!"
    return error_response(500, message, type_="server_error")


def _bad_request(_key: str) -> web.Response:
    return error_response(
        400, "Invalid request (simulated by a fail-bad API key).", code="invalid_value"
    )


IMMEDIATE_FAULTS = {
    "fail-auth": _invalid_key,
    "fail-rate": _rate_limited,
    "fail-server": _server_error,
    "fail-bad": _bad_request,
}


async def _stall(request: web.Request) -> web.Response:
    """Hold the request open until the client gives up, the stall times out, or we shut down."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            request.app[SHUTTING_DOWN].wait(), timeout=request.app[SETTINGS].stall_s
        )
    return error_response(503, "The simulated stall ended.", type_="server_error")


@web.middleware
async def faults_middleware(request: web.Request, handler):
    if not request.path.startswith("/v1/"):
        return await handler(request)
    key = bearer_key(request)
    if key is None:
        return error_response(401, MISSING_KEY_MESSAGE)
    for marker, fault in IMMEDIATE_FAULTS.items():
        if marker in key:
            return fault(key)
    if "fail-stall" in key:
        return await _stall(request)
    return await handler(request)
