"""The one way to reach OpenAI: a pooled `httpx.AsyncClient` per event loop, the auth header,
a total timeout, and the mapping of every upstream failure to docs/api.md's error codes.

`realtime.client` and `legacy_voice.client` add only their endpoints on top, so a failure is
mapped once and a fix lands everywhere. Keys never appear in a message or a log line.
"""

import asyncio
import logging
import math
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from django.conf import settings

from voice.errors import ErrorCode, VoiceError

logger = logging.getLogger(__name__)

# A TLS handshake per call is a real cost: keep connections alive across requests.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)
_KEY_RE = re.compile(r"\b(sk|ek|rk)-[A-Za-z0-9_\-*.…]{3,}")
MAX_UPSTREAM_MESSAGE_CHARS = 300


def build_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A new pooled client; tests swap the transport (`httpx.MockTransport`) here."""
    return httpx.AsyncClient(
        transport=transport,
        limits=_LIMITS,
        timeout=httpx.Timeout(
            settings.UPSTREAM_TIMEOUT_S, connect=min(5.0, settings.UPSTREAM_TIMEOUT_S)
        ),
        follow_redirects=False,
    )


def get_client() -> httpx.AsyncClient:
    """This event loop's client, made on first use (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = _clients[loop] = build_client()
    return client


def set_client(client: httpx.AsyncClient) -> None:
    """Install `client` for the running loop (tests inject a mock transport this way)."""
    _clients[asyncio.get_running_loop()] = client


async def aclose_clients() -> None:
    """Close this loop's client (ASGI lifespan shutdown)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def redact(text: str) -> str:
    """Upstream messages may quote a key (even masked): never pass one on."""
    text = _KEY_RE.sub("[redacted key]", text)
    return text[:MAX_UPSTREAM_MESSAGE_CHARS]


def _build(method: str, path: str, *, api_key: str, **kwargs: Any) -> httpx.Request:
    headers = {"Authorization": f"Bearer {api_key}", **kwargs.pop("headers", {})}
    return get_client().build_request(
        method, f"{settings.OPENAI_BASE_URL}{path}", headers=headers, **kwargs
    )


async def _send(
    request: httpx.Request, *, stream: bool = False, timeout_s: float | None = None
) -> httpx.Response:
    """Send within the total timeout (`UPSTREAM_TIMEOUT_S`, or a shorter `timeout_s`);
    transport failures become `VoiceError`s."""
    what = f"{request.method} {request.url.path}"
    try:
        async with asyncio.timeout(min(timeout_s or math.inf, settings.UPSTREAM_TIMEOUT_S)):
            return await get_client().send(request, stream=stream)
    except (TimeoutError, httpx.TimeoutException) as exc:
        logger.warning("Upstream %s timed out", what)
        raise upstream_timeout() from exc
    except httpx.TransportError as exc:
        logger.warning("Upstream %s failed: %s", what, exc.__class__.__name__)
        raise upstream_error("OpenAI could not be reached. Try again in a moment.") from exc


async def request(
    method: str,
    path: str,
    *,
    api_key: str,
    ok_statuses: tuple[int, ...] = (),
    timeout_s: float | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One upstream request under `OPENAI_BASE_URL`; any failure becomes a `VoiceError`.

    A status in `ok_statuses` is returned instead of raised, for callers that give it a
    meaning (a hangup answered 404 means the call had already ended). `timeout_s` shortens
    the total timeout for a request that must not hold its caller long.
    """
    request = _build(method, path, api_key=api_key, **kwargs)
    response = await _send(request, timeout_s=timeout_s)
    if response.is_success or response.status_code in ok_statuses:
        return response
    raise error_for_response(response, f"{method} {path}")


@asynccontextmanager
async def stream(
    method: str, path: str, *, api_key: str, lines: bool = True, **kwargs: Any
) -> AsyncIterator[AsyncIterator[Any]]:
    """A streamed upstream response: its lines (SSE) or its raw chunks, as they arrive.

    The total timeout covers the wait for the response to start; once it streams, each read
    has the same timeout, so a long reply is not cut off but a stalled one is.
    """
    response = await _send(_build(method, path, api_key=api_key, **kwargs), stream=True)
    try:
        if not response.is_success:
            await response.aread()
            raise error_for_response(response, f"{method} {path}")
        yield _mapped(response.aiter_lines() if lines else response.aiter_bytes(), path)
    finally:
        await response.aclose()


async def _mapped(chunks: AsyncIterator[Any], path: str) -> AsyncIterator[Any]:
    try:
        async for chunk in chunks:
            yield chunk
    except httpx.TimeoutException as exc:
        logger.warning("Upstream stream %s stalled", path)
        raise upstream_timeout() from exc
    except httpx.TransportError as exc:
        logger.warning("Upstream stream %s broke: %s", path, exc.__class__.__name__)
        raise upstream_error("The connection to OpenAI broke. Try again.") from exc


def error_for_response(response: httpx.Response, what: str) -> VoiceError:
    """Our error for OpenAI's refusal; OpenAI's status, `error.code` and `error.param` ride
    along as data, for callers that give a particular refusal its own meaning."""
    status = response.status_code
    message = _upstream_message(response)
    logger.warning("Upstream %s answered %s: %s", what, status, message)
    if status in (401, 403):
        error = key_rejected()
    elif status == 429:
        retry_after = response.headers.get("Retry-After", "")
        error = VoiceError(
            f"OpenAI is rate limiting this key. {message}".strip(),
            code=ErrorCode.UPSTREAM_RATE_LIMITED,
            headers={"Retry-After": retry_after} if retry_after.isdigit() else {},
        )
    elif status < 500:
        error = upstream_error(f"OpenAI refused the request: {message}" if message else "")
    else:
        error = upstream_error(f"OpenAI had a problem (status {status}). Try again in a moment.")
    error.upstream_status = status
    error.upstream_code = error_field(response, "code")
    error.upstream_param = error_field(response, "param")
    return error


def _upstream_message(response: httpx.Response) -> str:
    message = error_field(response, "message")
    return redact(message) if message else ""


def error_field(response: httpx.Response, name: str) -> str:
    """A field of OpenAI's error body (`{"error": {"message", "type", "param", "code"}}`),
    or "" when the body has no such field."""
    try:
        value = response.json()["error"][name]
    except (ValueError, KeyError, TypeError):
        return ""
    return str(value) if value is not None else ""


def key_rejected() -> VoiceError:
    return VoiceError(
        "OpenAI rejected the API key. Check the key (or ask an administrator) and try again.",
        code=ErrorCode.UPSTREAM_AUTH_FAILED,
    )


def upstream_error(message: str = "") -> VoiceError:
    return VoiceError(
        message or "OpenAI could not handle the request. Try again in a moment.",
        code=ErrorCode.UPSTREAM_ERROR,
    )


def upstream_timeout() -> VoiceError:
    return VoiceError(
        "OpenAI did not answer in time. Try again in a moment.",
        code=ErrorCode.UPSTREAM_TIMEOUT,
    )
