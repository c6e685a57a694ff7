"""Ending calls upstream: through the pipeline registry, with the key that started each call.

A hangup that fails is retried (bounded); a call whose hangup still failed keeps its key, and
the call monitor's sweep tries again (`calls_hang_up_pending`) until OpenAI's own session cap
has certainly ended it. One failure never stops the others. Keys never reach a log line.
"""

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.utils import timezone

from voice import upstream
from voice.errors import ErrorCode, VoiceError
from voice.models import Call
from voice.pipelines import HangUp, pipeline_for
from voice.selectors import call_get
from voice.services.calls import call_api_key, call_api_key_forget, call_end, calls_expire_stale

logger = logging.getLogger(__name__)

HANGUP_RETRY_DELAYS_S = (0.5, 2.0)  # three attempts in all
# An end path may still be hanging a call up itself for this long; the sweep leaves it alone.
PENDING_HANGUP_GRACE = timedelta(seconds=30)
# OpenAI ends every Realtime session within an hour (docs/openai-realtime.md §0.6): no hangup
# needed after that.
UPSTREAM_SESSION_CAP = timedelta(minutes=60)


async def call_hang_up(*, call: Call, attempts: int = len(HANGUP_RETRY_DELAYS_S) + 1) -> bool:
    """Hang an ended call up upstream with its own key, then forget the key.

    False when every attempt failed: the key stays, for `calls_hang_up_pending`.
    """
    hang_up = pipeline_for(call.mode).hang_up
    api_key = call_api_key(call=call) if hang_up and call.upstream_call_id else None
    if hang_up and call.upstream_call_id and api_key is None:
        logger.warning("Call %s: no key kept to hang it up upstream", call.id)
    if (
        hang_up is not None
        and api_key is not None
        and not await _hang_up_with_retries(hang_up, call, api_key, attempts)
    ):
        return False
    await sync_to_async(call_api_key_forget)(call=call)
    return True


async def _hang_up_with_retries(hang_up: HangUp, call: Call, api_key: str, attempts: int) -> bool:
    delays = [*HANGUP_RETRY_DELAYS_S[: attempts - 1], None]
    for attempt, delay in enumerate(delays, start=1):
        try:
            await hang_up(call=call, api_key=api_key)
            return True
        except VoiceError as exc:
            logger.warning(
                "Call %s: upstream hangup failed (%s), attempt %d of %d",
                call.id,
                exc.code,
                attempt,
                len(delays),
            )
            if exc.code == ErrorCode.UPSTREAM_AUTH_FAILED:
                return True  # the key itself is refused: no retry can hang up with it
            if delay is not None:
                await asyncio.sleep(delay)
    return False


async def calls_hang_up(calls: list[Call], *, attempts: int | None = None) -> None:
    """Hang several calls up at once; one that fails, however, never stops the others."""
    options = {} if attempts is None else {"attempts": attempts}
    results = await asyncio.gather(
        *(call_hang_up(call=call, **options) for call in calls), return_exceptions=True
    )
    for call, result in zip(calls, results, strict=True):
        if isinstance(result, BaseException):
            # The class name only: an exception's text could quote what it was called with.
            logger.error("Call %s: hangup crashed (%s)", call.id, type(result).__name__)


_background: set[asyncio.Task[Any]] = set()


def run_in_background(work: Awaitable[Any]) -> None:
    """Run `work` beside the request that started it, which does not wait for it (a hangup
    nobody is waiting on)."""
    task = asyncio.ensure_future(work)
    _background.add(task)  # keep a reference until done, or the task may be collected
    task.add_done_callback(_background.discard)


def calls_hang_up_soon(calls: list[Call]) -> None:
    """Hang calls up without waiting (a request must not wait for others' hangups)."""
    if calls:
        run_in_background(calls_hang_up(calls))


async def call_finish(*, call: Call, reason: str) -> Call:
    """End a call for a reason the server found (a limit, OpenAI ended it) and hang it up."""
    ended = await sync_to_async(call_end)(call=call, reason=reason)
    await call_hang_up(call=ended)
    return ended


def _end(*, user: User, call_id: UUID, reason: str) -> tuple[Call, bool]:
    call = call_get(user=user, call_id=call_id)
    was_live = call.is_live
    return call_end(call=call, reason=reason), was_live


async def call_end_and_hang_up(*, user: User, call_id: UUID, reason: str) -> Call:
    """End one of the user's calls (either mode) and hang it up upstream, so OpenAI stops the
    session even if the browser never closes its connection. One attempt, so the page is not
    kept waiting; a failure is retried by the call monitor's sweep."""
    call, was_live = await sync_to_async(_end)(user=user, call_id=call_id, reason=reason)
    if was_live:
        await call_hang_up(call=call, attempts=1)
    return call


def _pending_hangups() -> list[Call]:
    now = timezone.now()
    kept = Call.objects.exclude(status__in=Call.LIVE_STATUSES).exclude(api_key_encrypted="")
    kept.filter(started_at__lt=now - UPSTREAM_SESSION_CAP).update(api_key_encrypted="")
    return list(kept.filter(ended_at__lt=now - PENDING_HANGUP_GRACE))


async def calls_hang_up_pending() -> int:
    """Retry the hangups that failed earlier (their calls still hold a key). Returns how many
    calls it tried."""
    pending = await sync_to_async(_pending_hangups)()
    await calls_hang_up(pending)
    return len(pending)


def calls_expire_and_hang_up() -> int:
    """For the cron command: one sweep of stale calls and pending hangups, then close the
    upstream client this event loop made."""

    async def sweep() -> int:
        try:
            expired = await sync_to_async(calls_expire_stale)()
            await calls_hang_up(expired)
            await calls_hang_up_pending()
            return len(expired)
        finally:
            await upstream.aclose_clients()

    # async_to_sync, not asyncio.run: the ORM hops then run on this thread and its connection.
    return async_to_sync(sweep)()
