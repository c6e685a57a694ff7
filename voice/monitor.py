"""The call monitor: a worker (`manage.py voice_monitor`, any number of them) that owns every
live call from the answer to the hangup, whatever the browser does.

Each sweep (every `sweep_seconds`) it records who spoke, claims unwatched calls
(`voice.services.leases`), renews its leases, and ends the calls past a limit (connect timeout,
longest call, idle) with their own keys. Between sweeps, a call start wakes the workers through
the channel layer, and they claim the new call at once. For each call it holds, the call's
pipeline `watch`es it (the realtime sideband); a watch that reports OpenAI ended the call ends
ours too. A worker that stops releases its leases; one that dies loses them within `LEASE_TTL`,
and another worker takes its calls over.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError, connections

from voice import upstream
from voice.events import MONITOR_GROUP, MONITOR_WAKE
from voice.pipelines import WatchedCall, pipeline_for, watched_modes
from voice.services.calls import (
    call_activity_touch,
    call_idle_clocks_start,
    calls_expire_stale,
)
from voice.services.hangups import call_finish, calls_hang_up, calls_hang_up_pending
from voice.services.leases import (
    RENEW_EVERY,
    ClaimedCall,
    call_leases_claim,
    call_leases_release,
    call_leases_renew,
)

logger = logging.getLogger(__name__)

CLAIM_BATCH = 200  # calls claimed per sweep, so one worker cannot starve the others at start-up
PENDING_HANGUPS_EVERY_S = 30.0
LISTEN_RETRY_S = 2.0
LISTEN_READY_S = 5.0  # how long a starting worker waits to hear wake-ups before sweeping
SHUTDOWN_GRACE_S = 10.0
GROUP_REJOIN_S = 3600.0  # channel layers may expire group memberships (in-memory: a day)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def default_sweep_seconds() -> float:
    """With the in-memory channel layer no start can wake a worker in another process: the
    sweep is the only wake-up, so it runs often; with Redis it is only the backstop."""
    return 1.0 if isinstance(get_channel_layer(), InMemoryChannelLayer) else 2.0


class CallMonitor:
    def __init__(self, *, worker_id: str, sweep_seconds: float) -> None:
        self.worker_id = worker_id
        self.sweep_seconds = sweep_seconds
        self._watchers: dict[UUID, asyncio.Task[None] | None] = {}  # None: held, cannot be watched
        self._spoke: set[UUID] = set()  # calls with activity since the last sweep
        self._background: set[asyncio.Task[Any]] = set()  # hangups under way
        self._wake = asyncio.Event()
        self._listening = asyncio.Event()  # joined the wake-up group
        self._stopping = asyncio.Event()
        self._renewed_at = self._pending_at = time.monotonic()

    @property
    def watching(self) -> set[UUID]:
        return set(self._watchers)

    def stop(self) -> None:
        """Finish the current sweep, release every lease and return from `run` (SIGTERM)."""
        self._stopping.set()
        self._wake.set()

    async def run(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Sweep until stopped. `on_ready()` is called once the worker hears wake-ups (a start
        made before that would only be found by the next sweep) and has swept once."""
        listener = asyncio.create_task(self._listen())
        try:
            with contextlib.suppress(TimeoutError):  # Redis away: the sweep still works
                async with asyncio.timeout(LISTEN_READY_S):
                    await self._listening.wait()
            while not self._stopping.is_set():
                await self._safely(self._sweep)
                if on_ready is not None:
                    on_ready()
                    on_ready = None
                await self._claim_on_wake_until(time.monotonic() + self.sweep_seconds)
        finally:
            listener.cancel()
            await self._shut_down()

    async def _claim_on_wake_until(self, deadline: float) -> None:
        """Between sweeps, claim the new calls a wake-up announces, and nothing else: a call
        start waits for no sweep, and the sideband is joined within milliseconds."""
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    await self._wake.wait()
            except TimeoutError:
                return
            self._wake.clear()
            await self._safely(partial(self._claim, take_over=False))

    async def _safely(self, work: Callable[[], Awaitable[Any]]) -> None:
        try:
            await work()
        except DatabaseError as exc:
            logger.error("Call monitor: the database failed (%s)", type(exc).__name__)
            await sync_to_async(connections.close_all)()  # reconnect at the next sweep
        except Exception:
            logger.exception("Call monitor: a sweep failed")

    # --- one sweep ----------------------------------------------------------------------------

    async def _sweep(self) -> None:
        await self._record_activity()
        await self._claim(take_over=True)
        now = time.monotonic()
        if now - self._renewed_at >= RENEW_EVERY.total_seconds():
            self._renewed_at = now
            await self._renew()
        expired = await sync_to_async(calls_expire_stale)(leased_by_others_than=self.worker_id)
        if expired:  # hung up beside the sweep: retries must not hold up new calls' claims
            self._in_background(calls_hang_up(expired))
            await self._stop_watching({call.pk for call in expired})
        if now - self._pending_at >= PENDING_HANGUPS_EVERY_S:
            self._pending_at = now
            self._in_background(calls_hang_up_pending())

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # referenced until done, and awaited at shutdown
        task.add_done_callback(self._background.discard)

    async def _record_activity(self) -> None:
        """Persist who spoke since the last sweep in one UPDATE: the idle limit's clock
        survives a takeover, and the limits below see it."""
        if self._spoke:
            spoke, self._spoke = list(self._spoke), set()
            await sync_to_async(call_activity_touch)(call_ids=spoke)

    async def _claim(self, *, take_over: bool) -> None:
        modes = watched_modes()
        if not modes:
            return
        claimed = await sync_to_async(call_leases_claim)(
            owner=self.worker_id, modes=modes, limit=CLAIM_BATCH, take_over=take_over
        )
        new = [claim for claim in claimed if claim.call.pk not in self._watchers]
        for claim in new:
            self._watchers[claim.call.pk] = self._start_watch(claim)
        # After the watchers set off, so no join waits for it.
        await sync_to_async(call_idle_clocks_start)(call_ids=[c.call.pk for c in new])

    async def _renew(self) -> None:
        held = self.watching
        still = await sync_to_async(call_leases_renew)(owner=self.worker_id, call_ids=held)
        await self._stop_watching(held - still)  # ended elsewhere, or taken over

    # --- watching one call --------------------------------------------------------------------

    def _start_watch(self, claim: ClaimedCall) -> asyncio.Task[None] | None:
        if claim.api_key is None:
            logger.error("Call %s: its kept key cannot be read; not watching it", claim.call.id)
            return None
        watched = WatchedCall(
            call=claim.call,
            api_key=claim.api_key,
            on_activity=partial(self._spoke.add, claim.call.pk),
        )
        return asyncio.create_task(self._watch(watched), name=f"watch {claim.call.id}")

    async def _watch(self, watched: WatchedCall) -> None:
        call = watched.call
        watch = pipeline_for(call.mode).watch
        assert watch is not None  # only calls of modes that have a watch are claimed
        try:
            reason = await watch(watched=watched)
        except Exception as exc:  # a bug in a watcher must not take the worker down
            logger.error("Call %s: watching failed (%s)", call.id, type(exc).__name__)
            reason = None
        if reason:
            await call_finish(call=call, reason=reason)
        self._watchers.pop(call.pk, None)
        await sync_to_async(call_leases_release)(owner=self.worker_id, call_ids={call.pk})

    async def _stop_watching(self, call_ids: set[UUID]) -> None:
        """Cancel the watchers of calls that ended or were taken over, and drop our leases."""
        if not call_ids:
            return
        tasks = [task for pk in call_ids if (task := self._watchers.pop(pk, None))]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sync_to_async(call_leases_release)(owner=self.worker_id, call_ids=call_ids)

    # --- wake-ups and shutdown ----------------------------------------------------------------

    async def _listen(self) -> None:
        """Wake at once when a call starts (the channel layer's `voice.monitor` group)."""
        layer = get_channel_layer()
        if layer is None:  # nothing to hear: the sweep is the only wake-up
            self._listening.set()
        while layer is not None:
            try:
                channel = await layer.new_channel()
                await layer.group_add(MONITOR_GROUP, channel)
                self._listening.set()
                async with asyncio.timeout(GROUP_REJOIN_S):
                    while True:
                        if (await layer.receive(channel)).get("type") == MONITOR_WAKE["type"]:
                            self._wake.set()
            except TimeoutError:
                continue
            except Exception as exc:  # Redis away: the sweep still runs; listen again soon
                logger.warning("Monitor wake-ups interrupted (%s)", type(exc).__name__)
                await asyncio.sleep(LISTEN_RETRY_S)

    async def _shut_down(self) -> None:
        """Hand every call over: the leases go (even if the database fails on one step, the
        others still run), and the other workers are woken to claim the calls at once."""
        await self._safely(self._record_activity)
        await self._safely(partial(self._stop_watching, self.watching))
        await self._safely(partial(sync_to_async(call_leases_release), owner=self.worker_id))
        with contextlib.suppress(TimeoutError):  # let hangups under way finish, within bounds
            async with asyncio.timeout(SHUTDOWN_GRACE_S):
                await asyncio.gather(*self._background, return_exceptions=True)
        layer = get_channel_layer()
        if layer is not None:  # the calls just released are claimed by the others at once
            with contextlib.suppress(Exception):
                await layer.group_send(MONITOR_GROUP, dict(MONITOR_WAKE))
        await upstream.aclose_clients()
        await sync_to_async(connections.close_all)()
