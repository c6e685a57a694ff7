"""The realtime call lifecycle: proxy the SDP offer upstream with our session config, record
the call, and hang calls up upstream when they end.

Async: the upstream call can take seconds and must never hold a worker. The ORM work runs in
two `sync_to_async` hops (before and after the upstream call) to keep the overhead small.
"""

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser

from realtime import client
from voice import errors, upstream
from voice.db import release_connection
from voice.errors import VoiceError
from voice.models import Call, Mode, VoiceConfig
from voice.selectors import call_get, conversation_get, preference_get, voice_config_get
from voice.services.calls import call_end, call_start, call_start_check, calls_expire_stale
from voice.services.keys import api_key_resolve

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealtimeSession:
    call: Call
    answer_sdp: str


def session_config_build(*, config: VoiceConfig, voice: str, instructions: str = "") -> dict:
    """The GA session object sent with the offer (API.md "What goes upstream")."""
    combined = "\n\n".join(part for part in (config.instructions, instructions) if part)
    return {
        "type": "realtime",
        "model": config.realtime_model,
        "instructions": combined,
        "audio": {
            "input": {
                "transcription": {"model": config.transcription_model},
                "turn_detection": config.turn_detection,
            },
            "output": {"voice": voice},
        },
    }


def _voice_for(*, user: AbstractBaseUser, config: VoiceConfig, requested: str | None) -> str:
    if requested:
        if requested not in config.voices:
            raise VoiceError(
                f"{requested!r} is not a Realtime voice here. Pick one of: "
                f"{', '.join(config.voices)}.",
                code="invalid_voice",
            )
        return requested
    preferred = preference_get(user=user).voice
    return preferred if preferred in config.voices else config.default_voice


@dataclass(frozen=True)
class _Plan:
    api_key: str
    session: dict
    voice: str
    expired: list[Call]


def _plan(*, user, voice, instructions, conversation_id) -> _Plan:
    """Everything before the upstream call, in one thread hop and without a write lock."""
    config = voice_config_get()
    if not config.realtime_enabled:
        raise errors.realtime_unavailable(
            "Realtime calls are turned off by the administrator. Use Legacy mode instead."
        )
    key = api_key_resolve(user=user, config=config)
    if key is None:
        raise errors.realtime_unavailable(
            "No OpenAI key is available for Realtime calls. Add your own key, or ask an "
            "administrator to set one up."
        )
    voice = _voice_for(user=user, config=config, requested=voice)
    if conversation_id is not None:
        conversation_get(user=user, conversation_id=conversation_id)  # 404 before any cost
    expired = call_start_check(user=user, config=config)
    session = session_config_build(config=config, voice=voice, instructions=instructions)
    release_connection()  # not held while the upstream answers
    return _Plan(api_key=key.value, session=session, voice=voice, expired=expired)


async def realtime_session_create(
    *,
    user: AbstractBaseUser,
    offer_sdp: str,
    voice: str | None = None,
    instructions: str = "",
    conversation_id: UUID | None = None,
) -> RealtimeSession:
    """Check the rules, post the offer upstream, then record the call with its upstream id.

    The call row is written once, after the upstream answer, so a slow upstream holds no
    database lock; the one-live-call constraint still refuses a start that raced past the
    check, and that upstream call is hung up again.
    """
    plan = await sync_to_async(_plan)(
        user=user, voice=voice, instructions=instructions, conversation_id=conversation_id
    )
    for stale in plan.expired:
        _hangup_in_background(stale, plan.api_key)
    record = partial(
        call_start,
        user=user,
        mode=Mode.REALTIME,
        conversation_id=conversation_id,
        model=plan.session["model"],
        voice=plan.voice,
    )
    try:
        created = await client.calls_create(
            api_key=plan.api_key, offer_sdp=offer_sdp, session=plan.session
        )
    except VoiceError as exc:
        await sync_to_async(record)(failed_reason=exc.code)
        raise
    try:
        call = await sync_to_async(record)(upstream_call_id=created.call_id)
    except BaseException:  # refused by a racing start, or the client went away: hang up
        await asyncio.shield(client.calls_hangup(api_key=plan.api_key, call_id=created.call_id))
        raise
    return RealtimeSession(call=call, answer_sdp=created.answer_sdp)


async def realtime_call_hangup(*, call: Call, api_key: str | None = None) -> None:
    """Hang the call up upstream. Best effort: the call is already ended on our side."""
    if not call.upstream_call_id:
        return
    api_key = api_key or await sync_to_async(_api_key_value)(call)
    if api_key is None:
        logger.warning("Call %s: no key left to hang it up upstream", call.id)
        return
    try:
        await client.calls_hangup(api_key=api_key, call_id=call.upstream_call_id)
    except VoiceError as exc:
        logger.warning("Call %s: upstream hangup failed (%s)", call.id, exc.code)


def _api_key_value(call: Call) -> str | None:
    key = api_key_resolve(user=call.user, config=voice_config_get())
    return key.value if key else None


_background: set[asyncio.Task] = set()


def _hangup_in_background(call: Call, api_key: str) -> None:
    task = asyncio.create_task(realtime_call_hangup(call=call, api_key=api_key))
    _background.add(task)  # keep a reference until done, or the task may be collected
    task.add_done_callback(_background.discard)


def _end(*, user: AbstractBaseUser, call_id: UUID, reason: str) -> tuple[Call, bool]:
    call = call_get(user=user, call_id=call_id)
    was_live = call.is_live
    return call_end(call=call, reason=reason), was_live


async def call_end_and_hang_up(*, user: AbstractBaseUser, call_id: UUID, reason: str) -> Call:
    """End one of the user's calls (either mode); a live realtime call is hung up upstream too,
    so OpenAI stops the session even if the browser never closes its connection."""
    call, was_live = await sync_to_async(_end)(user=user, call_id=call_id, reason=reason)
    if was_live:
        await realtime_call_hangup(call=call)
    return call


def calls_expire_and_hang_up() -> int:
    """For the cron command: end every stale call and hang up those still open upstream."""

    async def hang_up(calls: list[Call]) -> None:
        await asyncio.gather(*(realtime_call_hangup(call=call) for call in calls))
        await upstream.aclose_clients()

    expired = calls_expire_stale()
    asyncio.run(hang_up([call for call in expired if call.upstream_call_id]))
    return len(expired)
