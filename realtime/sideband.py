"""The realtime pipeline's `watch`: the call's sideband WebSocket (docs/openai-realtime.md §3),
from the call monitor's claim until the call ends (also when the assistant ends it: `end_call`).

One connection per call, opened with the key that started the call. Every server event goes to
the call's `CallTranscriber`; speech and replies restart the call's idle clock. OpenAI ending the
call (an `error` event `session_expired`, or the sideband gone and a reconnect refused with 404)
returns `upstream_ended`; any other drop is retried with jittered, capped backoff while the call
lives. The monitor cancels the watch when the call ends here or its lease is lost.
"""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from realtime.transcriber import CallTranscriber
from voice.models import Call, EndReason
from voice.pipelines import WatchedCall

logger = logging.getLogger(__name__)
# The WebSocket library logs handshake headers, the key among them, at DEBUG: never let it.
_connection_logger = logging.getLogger(f"{__name__}.connection")
_connection_logger.setLevel(logging.WARNING)

UPSTREAM_ENDED = EndReason.UPSTREAM_ENDED
BUDGET_EXCEEDED = EndReason.BUDGET_EXCEEDED
# Someone spoke, or a reply began: the events that count as activity for the idle limit.
ACTIVITY_EVENTS = frozenset(
    {
        "input_audio_buffer.speech_started",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
    }
)
BACKOFF_FIRST_S = 0.25
BACKOFF_CAP_S = 15.0
MAX_EVENT_BYTES = 16 * 1024 * 1024  # a response.done with long outputs exceeds the 1 MiB default


def sideband_url(upstream_call_id: str) -> str:
    """`{OPENAI_BASE_URL with http→ws, https→wss}/realtime?call_id=…`."""
    scheme, _, rest = settings.OPENAI_BASE_URL.partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}[scheme.lower()]
    return f"{ws_scheme}://{rest}/realtime?{urlencode({'call_id': upstream_call_id})}"


def reconnect_delay(failures: int) -> float:
    """Full jitter: uniform up to an exponential cap, so many calls dropped together by one
    network blip do not all reconnect in the same instant."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** (failures - 1)))  # noqa: S311


async def watch(*, watched: WatchedCall) -> str | None:
    """Follow the call's sideband until the call must end (returns why: `upstream_ended`,
    `budget_exceeded`), or until the monitor cancels the watch (the call ended here, or the
    lease was lost); either way the transcriber saves what the call left unsaved."""
    handler = CallTranscriber(call=watched.call)
    try:
        return await _first_of(_follow_until_ended(watched, handler), handler.ended())
    finally:
        # Shielded: a cancelled watch still saves the reply that was cut off by the end.
        await asyncio.shield(_guarded(watched.call, handler.on_end()))


async def _first_of(*works: Awaitable[str | None]) -> str | None:
    """The result of whichever finishes first; the others are cancelled."""
    tasks = [asyncio.ensure_future(work) for work in works]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _follow_until_ended(watched: WatchedCall, handler: CallTranscriber) -> str:
    call = watched.call
    failures = 0
    joined = False
    while True:
        try:
            async with _connect(watched) as sideband:
                failures = 0
                await _guarded(call, handler.on_join(_sender(sideband), first=not joined))
                joined = True
                reason = await _follow(sideband, handler, watched)
                if reason:
                    return reason
        except InvalidStatus as exc:
            if exc.response.status_code == 404:  # OpenAI no longer knows the call
                return UPSTREAM_ENDED
            logger.warning("Call %s: sideband refused (%s)", call.id, exc.response.status_code)
        except (OSError, TimeoutError, WebSocketException) as exc:
            logger.info("Call %s: sideband dropped (%s)", call.id, type(exc).__name__)
        failures += 1
        await asyncio.sleep(reconnect_delay(failures))


def _connect(watched: WatchedCall) -> connect:
    return connect(
        sideband_url(watched.call.upstream_call_id),
        additional_headers={"Authorization": f"Bearer {watched.api_key}"},
        open_timeout=settings.UPSTREAM_TIMEOUT_S,
        max_size=MAX_EVENT_BYTES,
        compression=None,  # small JSON events; a deflate context per call costs more than it saves
        logger=_connection_logger,
    )


def _sender(sideband: ClientConnection) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def send(event: dict[str, Any]) -> None:
        await sideband.send(json.dumps(event))

    return send


async def _follow(
    sideband: ClientConnection, handler: CallTranscriber, watched: WatchedCall
) -> str | None:
    """Feed the events to the handler until the socket closes (None), or until the call must
    end: OpenAI said the session is over (`upstream_ended`), or the response just recorded
    spent the user's budget of the server's key (`budget_exceeded`)."""
    async for message in sideband:
        try:
            event = json.loads(message)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind in ACTIVITY_EVENTS:
            watched.on_activity()
        await _guarded(watched.call, handler.on_event(event))
        if kind == "error" and (event.get("error") or {}).get("code") == "session_expired":
            return UPSTREAM_ENDED
        if handler.over_budget:
            return BUDGET_EXCEEDED
    return None


async def _guarded(call: Call, work: Awaitable[None]) -> None:
    """A failing handler loses that event, never the call's watch."""
    try:
        await work
    except (asyncio.CancelledError, WebSocketException):
        raise
    except Exception as exc:
        logger.error("Call %s: sideband handler failed (%s)", call.id, type(exc).__name__)
