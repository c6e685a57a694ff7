"""The realtime call lifecycle: take the user's one call slot, proxy the SDP offer upstream
with our session config, record OpenAI's call id; and hang realtime calls up upstream.

Async: the upstream call can take seconds and must never hold a worker. The ORM work runs in
two `sync_to_async` hops (before and after the upstream call) to keep the overhead small. The
call is recorded in the first, before anything goes upstream, so the one-live-call rule and
the start throttle hold for parallel starts: only one of them ever reaches OpenAI.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from realtime import client
from voice import errors
from voice.db import release_connection
from voice.errors import ErrorCode, VoiceError
from voice.models import Call, EndReason, Mode, TurnDetection, VoiceConfig, VoicePreference
from voice.selectors import preference_get, push_to_talk_resolve, voice_config_get
from voice.services.calls import (
    call_start,
    call_start_check,
    call_start_failed,
    call_upstream_attach,
)
from voice.services.hangups import calls_hang_up_soon, run_in_background
from voice.services.keys import api_key_resolve
from voice.tools import Tool, enabled_tools, realtime_tool_definitions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealtimeSession:
    call: Call
    answer_sdp: str
    # The call runs on held turns (push-to-talk, or the admin's manual turns): the session's
    # turn detection is null, so the page commits each turn and asks for each reply.
    push_to_talk: bool


def turn_detection_build(*, config: VoiceConfig, push_to_talk: bool) -> dict[str, Any] | None:
    """OpenAI's `audio.input.turn_detection` for one call: null (the client commits each turn
    and asks for the reply) under push-to-talk or the admin's manual turns, else the chosen
    VAD with only the settings of its type."""
    if push_to_talk or config.turn_detection == TurnDetection.MANUAL:
        return None
    turn: dict[str, Any] = {"type": config.turn_detection}
    if config.turn_detection == TurnDetection.SEMANTIC_VAD:
        turn["eagerness"] = config.vad_eagerness
    else:
        turn["threshold"] = config.vad_threshold
        turn["prefix_padding_ms"] = config.vad_prefix_padding_ms
        turn["silence_duration_ms"] = config.vad_silence_duration_ms
    turn["create_response"] = config.vad_create_response
    turn["interrupt_response"] = config.vad_interrupt_response
    return turn


def session_config_build(
    *,
    config: VoiceConfig,
    voice: str,
    instructions: str = "",
    push_to_talk: bool = False,
    tools: Sequence[Tool] = (),
) -> dict[str, Any]:
    """The GA session object sent with the offer (docs/api.md "What goes upstream"). Without any
    instructions the field is left out, so OpenAI applies its own default; the enabled tools
    are offered (the call monitor runs the calls the model makes, on the sideband)."""
    session: dict[str, Any] = {"type": "realtime", "model": config.realtime_model}
    combined = "\n\n".join(part for part in (config.instructions, instructions) if part)
    if combined:
        session["instructions"] = combined
    session["audio"] = {
        "input": {
            "transcription": {"model": config.transcription_model},
            "turn_detection": turn_detection_build(config=config, push_to_talk=push_to_talk),
        },
        "output": {"voice": voice},
    }
    if tools:
        session["tools"] = realtime_tool_definitions(list(tools))
        session["tool_choice"] = "auto"
    return session


def _voice_for(
    *, config: VoiceConfig, requested: str | None, preference: VoicePreference | None
) -> str:
    if requested:
        if requested not in config.voices:
            raise VoiceError(
                f"{requested!r} is not a Realtime voice here. Pick one of: "
                f"{', '.join(config.voices)}.",
                code=ErrorCode.INVALID_VOICE,
            )
        return requested
    preferred = preference.voice if preference is not None else ""
    return preferred if preferred in config.voices else config.default_voice


@dataclass(frozen=True)
class _Reservation:
    call: Call
    api_key: str = field(repr=False)
    session: dict[str, Any]
    expired: list[Call]

    @property
    def push_to_talk(self) -> bool:
        return self.session["audio"]["input"]["turn_detection"] is None


def _reserve(
    *,
    user: User,
    voice: str | None,
    instructions: str,
    conversation_id: UUID | None,
    push_to_talk: bool | None,
    timezone: str,
) -> _Reservation:
    """Everything before the upstream call, in one thread hop: the rules, then the call row
    (`connecting`, with its key), which takes the user's one live slot."""
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
    # Read once, and only when the request leaves the voice or the turns to the user's choice.
    preference = preference_get(user=user) if not voice or push_to_talk is None else None
    voice = _voice_for(config=config, requested=voice, preference=preference)
    if push_to_talk is None:
        assert preference is not None  # read above whenever push_to_talk is None
        push_to_talk = push_to_talk_resolve(preference=preference, config=config)
    expired = call_start_check(user=user, config=config, key=key)
    session = session_config_build(
        config=config,
        voice=voice,
        instructions=instructions,
        push_to_talk=push_to_talk,
        tools=enabled_tools(),
    )
    call = call_start(
        user=user,
        mode=Mode.REALTIME,
        conversation_id=conversation_id,
        model=session["model"],
        voice=voice,
        key=key,
        timezone=timezone,
    )
    release_connection()  # not held while the upstream answers
    return _Reservation(call=call, api_key=key.value, session=session, expired=expired)


async def realtime_session_create(
    *,
    user: User,
    offer_sdp: str,
    voice: str | None = None,
    instructions: str = "",
    conversation_id: UUID | None = None,
    push_to_talk: bool | None = None,
    timezone: str = "",
) -> RealtimeSession:
    """Take the slot, post the offer upstream, then record the upstream call id (which wakes
    the call monitor). A refused start frees the slot again, as a `failed` call.
    `push_to_talk` None follows the user's preference (or the admin's default)."""
    reservation = await sync_to_async(_reserve)(
        user=user,
        voice=voice,
        instructions=instructions,
        conversation_id=conversation_id,
        push_to_talk=push_to_talk,
        timezone=timezone,
    )
    calls_hang_up_soon(reservation.expired)
    new_conversation = conversation_id is None
    created = await _create_upstream(reservation, offer_sdp, new_conversation=new_conversation)
    try:
        call = await sync_to_async(call_upstream_attach)(
            call=reservation.call, upstream_call_id=created.call_id
        )
    except BaseException:  # the database failed, or the client went away: hang up
        await asyncio.shield(_abandon(reservation, created.call_id, new_conversation))
        raise
    if call is None:  # ended (End pressed) while the offer was in flight
        await asyncio.shield(_abandon(reservation, created.call_id, new_conversation))
        raise errors.call_ended()
    return RealtimeSession(
        call=call, answer_sdp=created.answer_sdp, push_to_talk=reservation.push_to_talk
    )


async def _create_upstream(
    reservation: _Reservation, offer_sdp: str, *, new_conversation: bool
) -> client.CreatedCall:
    fail = sync_to_async(call_start_failed)
    # Shielded: a client that goes away mid-offer does not stop OpenAI from creating the call,
    # so its answer is still awaited, and the call it names hung up.
    creating = asyncio.ensure_future(
        client.calls_create(
            api_key=reservation.api_key, offer_sdp=offer_sdp, session=reservation.session
        )
    )
    try:
        return await asyncio.shield(creating)
    except VoiceError as exc:
        await fail(call=reservation.call, reason=exc.code, new_conversation=new_conversation)
        raise
    except BaseException:  # the client went away mid-offer: free the slot at once
        run_in_background(_hang_up_when_created(creating, reservation.api_key))
        await asyncio.shield(
            fail(
                call=reservation.call,
                reason=EndReason.PAGE_CLOSED,
                new_conversation=new_conversation,
            )
        )
        raise


async def _hang_up_when_created(creating: asyncio.Future[client.CreatedCall], api_key: str) -> None:
    """Wait for OpenAI's answer to an abandoned offer (within the upstream timeout) and hang
    up the call it created: nobody will ever use it, and it would run on the key."""
    try:
        created = await creating
        await client.calls_hangup(api_key=api_key, call_id=created.call_id)
    except VoiceError as exc:  # refused (nothing to hang up), or the hangup failed
        logger.warning("An abandoned start's upstream call: %s", exc.code)


async def _abandon(
    reservation: _Reservation, upstream_call_id: str, new_conversation: bool
) -> None:
    """A start that got an upstream call but will not use it: hang that up, free the slot."""
    try:
        await client.calls_hangup(api_key=reservation.api_key, call_id=upstream_call_id)
    except VoiceError as exc:
        logger.warning("Call %s: hanging up an unused call failed (%s)", reservation.call, exc.code)
    await sync_to_async(call_start_failed)(
        call=reservation.call, reason=EndReason.PAGE_CLOSED, new_conversation=new_conversation
    )


async def realtime_call_hang_up(*, call: Call, api_key: str) -> None:
    """The pipeline's hangup (registered in `RealtimeConfig.ready`); a call OpenAI no longer
    knows (404) had already ended, which is success."""
    await client.calls_hangup(api_key=api_key, call_id=call.upstream_call_id)
