"""The legacy pipeline: speech-to-text → a streamed reply → speech, through our server.

Messages are saved as they happen: the user's words when the reply is asked for, the
assistant's when it is complete, or as far as it got (interrupted) when the caller hangs up
or talks over it mid-stream.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser

from legacy_voice import client
from legacy_voice.speakable import speakable
from voice import errors
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
from voice.services.calls import call_check_and_start
from voice.services.keys import ResolvedKey, api_key_resolve
from voice.services.transcripts import transcript_upsert
from voice.services.usage import (
    units_from_chat,
    units_from_speech,
    units_from_transcription,
    usage_budget_check,
    usage_record,
)

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


def legacy_call_start(*, user: AbstractBaseUser, conversation_id: uuid.UUID | None) -> Call:
    config = voice_config_get()
    _api_key(user=user, config=config)
    return call_check_and_start(
        user=user,
        mode=Mode.LEGACY,
        conversation_id=conversation_id,
        model=config.llm_model,
        voice=_tts_voice(user=user, config=config),
        config=config,
    )


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
    history = [
        m
        for m in conversation_messages(conversation=prepared.call.conversation)
        if m.item_id != user_item_id
    ]
    previous = history[-1].item_id if history else None
    earlier = conversation_context(conversation_id=prepared.call.conversation_id)  # before ours
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
    """The assistant's message; a cut-off reply only if the client has not saved what was
    heard (it knows better than the server how far the speech got)."""
    item = {"item_id": item_id, "role": Message.Role.ASSISTANT, "text": text}
    transcript_upsert(
        call=call,
        items=[{**item, "interrupted": interrupted, "previous_item_id": previous}],
        keep_existing=interrupted,
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
    yield _sse("done", {"message_id": item_id, "text": full})


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
    spoken = speakable(text)
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
