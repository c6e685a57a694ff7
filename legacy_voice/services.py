"""The legacy pipeline: speech-to-text → a streamed reply → speech, through our server.

Messages are saved as they happen: the user's words when the reply is asked for, the
assistant's when it is complete, or as far as it got (interrupted) when the caller hangs up
or talks over it mid-stream.
"""

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from legacy_voice import client
from legacy_voice.speakable import speakable
from voice import errors, upstream
from voice.db import release_connection
from voice.errors import VoiceError
from voice.models import Call, Message, Mode, UsageRecord, VoiceConfig
from voice.selectors import (
    call_get,
    conversation_context,
    conversation_messages,
    preference_get,
    voice_config_get,
)
from voice.services.calls import call_activity_touch, call_check_and_start
from voice.services.keys import ResolvedKey, api_key_resolve
from voice.services.transcripts import transcript_room_check, transcript_upsert
from voice.services.usage import (
    units_from_chat,
    units_from_speech,
    units_from_transcription,
    usage_budget_check,
    usage_record,
)

logger = logging.getLogger(__name__)

# How long OpenAI's verdict on a key is trusted: an accepted key is rarely revoked within
# minutes; a rejected one is asked again soon, since its owner may fix it upstream.
KEY_ACCEPTED_CACHE_S = 300
KEY_REJECTED_CACHE_S = 30
SPEECH_FORMATS = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "pcm": "audio/pcm;rate=24000",  # headerless 24 kHz 16-bit little-endian mono
}


def legacy_unavailable() -> VoiceError:
    return VoiceError(
        "No OpenAI key is available for voice calls. Add your own key, or ask an administrator "
        "to set one up.",
        code="legacy_unavailable",
        status=409,
    )


def _api_key(*, user: AbstractBaseUser, config: VoiceConfig) -> ResolvedKey:
    key = api_key_resolve(user=user, config=config)
    if key is None:
        raise legacy_unavailable()
    return key


async def legacy_call_start(*, user: AbstractBaseUser, conversation_id: uuid.UUID | None) -> Call:
    """Start a Legacy call once OpenAI has accepted the key that will pay for it: a rejected
    key fails here (502 upstream_auth_failed, no call), not after the caller's first words."""
    api_key = await sync_to_async(_start_key)(user=user)
    await _key_verified(api_key)
    return await sync_to_async(_legacy_call_record)(user=user, conversation_id=conversation_id)


def _start_key(*, user: AbstractBaseUser) -> str:
    api_key = _api_key(user=user, config=voice_config_get()).value
    release_connection()  # not held while the key is checked upstream
    return api_key


def _legacy_call_record(*, user: AbstractBaseUser, conversation_id: uuid.UUID | None) -> Call:
    config = voice_config_get()
    return call_check_and_start(
        user=user,
        mode=Mode.LEGACY,
        conversation_id=conversation_id,
        model=config.llm_model,
        voice=_tts_voice(user=user, config=config),
        config=config,
    )


async def _key_verified(api_key: str) -> None:
    """Raise upstream_auth_failed when OpenAI rejects `api_key`. The verdict is cached per
    key (under its SHA-256, never the key), so starts do not cost a request each; a check
    that says nothing (a timeout, a gateway without /models) lets the call start, uncached."""
    cache_key = "voice:legacy-key-check:" + hashlib.sha256(api_key.encode()).hexdigest()
    accepted = await cache.aget(cache_key)
    if accepted is None:
        accepted = await _key_accepted_upstream(api_key)
        if accepted is not None:
            ttl = KEY_ACCEPTED_CACHE_S if accepted else KEY_REJECTED_CACHE_S
            await cache.aset(cache_key, accepted, ttl)
    if accepted is False:
        raise upstream.key_rejected()


async def _key_accepted_upstream(api_key: str) -> bool | None:
    try:
        await client.key_check(api_key=api_key)
    except VoiceError as exc:
        if exc.code == "upstream_auth_failed":
            return False
        logger.warning("Legacy key check inconclusive (%s): starting the call anyway", exc.code)
        return None
    return True


def _live_call(*, user: AbstractBaseUser, call_id: uuid.UUID) -> Call:
    call = call_get(user=user, call_id=call_id)
    if call.mode != Mode.LEGACY:
        raise VoiceError("That call is not a Legacy call.", code="invalid_request")
    if not call.is_live:
        raise errors.call_ended()
    return call


@dataclass(frozen=True)
class _Prepared:
    user: AbstractBaseUser
    key: ResolvedKey
    config: VoiceConfig
    call: Call

    @property
    def api_key(self) -> str:
        return self.key.value


def _prepare(*, user, call_id) -> _Prepared:
    """Every Legacy request: the user's live Legacy call, a key, and budget left when the
    server's key pays (checked at each request, so a call cannot run past the budget)."""
    call = _live_call(user=user, call_id=call_id)
    call_activity_touch(call_ids=[call.pk])  # each turn restarts the call's idle clock
    config = voice_config_get()
    key = _api_key(user=user, config=config)
    usage_budget_check(user=user, key_source=key.source)
    release_connection()
    return _Prepared(user=user, key=key, config=config, call=call)


def _record_usage(prepared: _Prepared, *, kind: str, model: str, units: dict) -> None:
    """After the upstream answer (never in its way): one usage row for the call."""
    usage_record(
        user=prepared.user,
        call=prepared.call,
        kind=kind,
        model=model,
        key_source=prepared.key.source,
        units=units,
    )
    release_connection()


async def transcription_create(
    *, user: AbstractBaseUser, call_id: uuid.UUID, audio: bytes, filename: str, content_type: str
) -> str:
    """The caller's words; "" for silence (the model is never asked to guess)."""
    prepared = await sync_to_async(_prepare)(user=user, call_id=call_id)
    try:
        transcription = await client.transcribe(
            api_key=prepared.api_key,
            model=prepared.config.stt_model,
            audio=audio,
            filename=filename,
            content_type=content_type,
        )
    except VoiceError as exc:
        if exc.code == "upstream_error" and "refused" in exc.message:
            raise VoiceError(
                "The recording could not be decoded. Try again.", code="invalid_audio"
            ) from exc
        raise
    if transcription.usage:
        await sync_to_async(_record_usage)(
            prepared,
            kind=UsageRecord.Kind.TRANSCRIPTION,
            model=prepared.config.stt_model,
            units=units_from_transcription(transcription.usage),
        )
    return transcription.text.strip()


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _start_reply(*, user, call_id, text, user_item_id) -> tuple[_Prepared, list[dict], str, str]:
    """Save the user's words and build the model's context, in one thread hop."""
    prepared = _prepare(user=user, call_id=call_id)
    user_item_id = user_item_id or f"user_{uuid.uuid4().hex}"
    assistant_item_id = f"asst_{uuid.uuid4().hex}"
    # The last item, which the new words follow (a retry may already have saved them).
    recent = conversation_messages(conversation=prepared.call.conversation, limit=2)
    history = [m for m in recent if m.item_id != user_item_id]
    previous = history[-1].item_id if history else None
    earlier = conversation_context(conversation_id=prepared.call.conversation_id)  # before ours
    # The words and the reply it starts: refused before any cost when the call is full.
    transcript_room_check(call=prepared.call, item_ids=[user_item_id, assistant_item_id])
    transcript_upsert(
        call=prepared.call,
        items=[
            {"item_id": user_item_id, "role": "user", "text": text, "previous_item_id": previous}
        ],
    )
    context = [{"role": "system", "content": prepared.config.instructions}]
    context += [{"role": m.role, "content": m.text} for m in earlier if m.item_id != user_item_id]
    context.append({"role": "user", "content": text})
    release_connection()
    return prepared, context, user_item_id, assistant_item_id


def _save_reply(call: Call, item_id: str, previous: str, text: str, interrupted: bool) -> None:
    """The assistant's message, unless the client saved it first: the reply's id is new to
    this request, so an earlier save is the page's "as heard" text of a reply cut off while it
    still streamed, and the page knows better than the server how far the speech got."""
    item = {"item_id": item_id, "role": Message.Role.ASSISTANT, "text": text}
    transcript_upsert(
        call=call,
        items=[{**item, "interrupted": interrupted, "previous_item_id": previous}],
        keep_existing=True,
    )


def _finish_reply(prepared: _Prepared, item_id: str, previous: str, text: str, usage) -> None:
    """The whole reply and what it cost, in one thread hop after the stream."""
    _save_reply(prepared.call, item_id, previous, text, False)
    if usage:
        _record_usage(
            prepared,
            kind=UsageRecord.Kind.REPLY,
            model=prepared.config.llm_model,
            units=units_from_chat(usage),
        )


async def reply_stream(
    *, user: AbstractBaseUser, call_id: uuid.UUID, text: str, user_item_id: str | None = None
) -> AsyncIterator[str]:
    """The reply as server-sent events: start, delta…, then done or error. OpenAI refusing
    the request (a bad key, a rate limit) raises before the first event instead."""
    prepared, context, user_item_id, item_id = await sync_to_async(_start_reply)(
        user=user, call_id=call_id, text=text, user_item_id=user_item_id
    )
    save = sync_to_async(_save_reply)
    parts: list[str] = []
    async with client.chat_stream(
        api_key=prepared.api_key, model=prepared.config.llm_model, messages=context
    ) as deltas:
        yield _sse("start", {"user_item_id": user_item_id, "item_id": item_id})
        try:
            async for delta in deltas:
                parts.append(delta)
                yield _sse("delta", {"text": delta})
        except VoiceError as exc:
            if parts:
                await save(prepared.call, item_id, user_item_id, "".join(parts), True)
            yield _sse("error", {"code": exc.code, "message": exc.message})
            return
        except (asyncio.CancelledError, GeneratorExit):  # the caller hung up or talked over it
            if parts:
                partial = save(prepared.call, item_id, user_item_id, "".join(parts), True)
                await asyncio.shield(partial)
            raise
    full = "".join(parts)
    await sync_to_async(_finish_reply)(prepared, item_id, user_item_id, full, deltas.usage)
    yield _sse("done", {"message_id": item_id, "text": full, **_finish(deltas.finish_reason)})


_CUT_SHORT = {
    "length": "The reply was cut short: it reached the model's length limit.",
    "content_filter": "The reply was stopped by OpenAI's content filter.",
}


def _finish(reason: str | None) -> dict:
    """How the reply ended, for `done`: a reply the model did not finish (a length limit, the
    content filter) is `incomplete`, with a `notice` the page can show as it is."""
    incomplete = reason not in (None, "stop")
    notice = _CUT_SHORT.get(reason, f"The reply ended early ({reason}).") if incomplete else None
    return {"finish_reason": reason, "incomplete": incomplete, "notice": notice}


async def speech_stream(
    *,
    user: AbstractBaseUser,
    call_id: uuid.UUID,
    text: str,
    voice: str | None,
    response_format: str,
) -> AsyncIterator[bytes]:
    """The spoken text's audio as it is synthesized; markdown and reasoning are not read.
    Only for the user's live Legacy call, so the server's key is no general text-to-speech
    service. OpenAI refusing raises before the first chunk."""
    # Off the event loop: the text work is linear, but a few milliseconds of CPU per sentence
    # would still stall every other request this process serves.
    spoken = await sync_to_async(speakable, thread_sensitive=False)(text)
    if not spoken:
        raise VoiceError("There is nothing to say in that text.", code="invalid_request")
    prepared, preferred_voice = await sync_to_async(_speech_setup)(user=user, call_id=call_id)
    model = prepared.config.tts_model
    async with client.speech(
        api_key=prepared.api_key,
        model=model,
        text=spoken,
        voice=voice or preferred_voice,
        response_format=response_format,
        instructions="Speak naturally and warmly, at a relaxed pace.",
    ) as audio:
        try:
            async for chunk in audio:
                if chunk:
                    yield chunk
        finally:  # cut short too (the caller talked over it): what was asked for is recorded
            units = units_from_speech(audio.usage, characters=len(spoken))
            record = sync_to_async(_record_usage)(
                prepared, kind=UsageRecord.Kind.SPEECH, model=model, units=units
            )
            await asyncio.shield(record)


def _speech_setup(*, user, call_id) -> tuple[_Prepared, str]:
    prepared = _prepare(user=user, call_id=call_id)
    return prepared, _tts_voice(user=user, config=prepared.config)


def _tts_voice(*, user, config: VoiceConfig) -> str:
    """The user's voice when speech has it, else the default, else the first offered."""
    for voice in (preference_get(user=user).voice, config.default_voice):
        if voice in config.tts_voices:
            return voice
    return config.tts_voices[0]
