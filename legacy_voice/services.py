"""The legacy pipeline: speech-to-text → a streamed reply → speech, through our server.

Messages are saved as they happen: the user's words when the reply is asked for, the
assistant's when it is complete, or as far as it got (interrupted) when the caller hangs up
or talks over it mid-stream.
"""

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.cache import cache

from legacy_voice import client
from legacy_voice.events import (
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyEvent,
    ReplyStart,
    ReplyToolCall,
)
from legacy_voice.speakable import speakable
from voice import errors, limits, upstream
from voice.db import release_connection
from voice.errors import ErrorCode, VoiceError
from voice.models import Call, Conversation, Message, Mode, UsageRecord, VoiceConfig
from voice.selectors import (
    call_get,
    conversation_context,
    conversation_get,
    conversation_messages,
    preference_get,
    voice_config_get,
)
from voice.services.calls import call_activity_touch, call_check_and_start
from voice.services.keys import ResolvedKey, api_key_resolve
from voice.services.tool_calls import tool_call_run
from voice.services.transcripts import (
    conversation_messages_upsert,
    transcript_room_check,
    transcript_upsert,
)
from voice.services.usage import (
    units_from_chat,
    units_from_speech,
    units_from_transcription,
    usage_budget_check,
    usage_record,
)
from voice.tools import chat_tool_definitions, enabled_tools

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


def _api_key(*, user: User, config: VoiceConfig) -> ResolvedKey:
    key = api_key_resolve(user=user, config=config)
    if key is None:
        raise errors.legacy_unavailable()
    return key


async def legacy_call_start(
    *, user: User, conversation_id: uuid.UUID | None, timezone: str = ""
) -> Call:
    """Start a Legacy call once OpenAI has accepted the key that will pay for it: a rejected
    key fails here (502 upstream_auth_failed, no call), not after the caller's first words."""
    api_key = await sync_to_async(_start_key)(user=user)
    await _key_verified(api_key)
    return await sync_to_async(_legacy_call_record)(
        user=user, conversation_id=conversation_id, timezone=timezone
    )


def _start_key(*, user: User) -> str:
    api_key = _api_key(user=user, config=voice_config_get()).value
    release_connection()  # not held while the key is checked upstream
    return api_key


def _legacy_call_record(*, user: User, conversation_id: uuid.UUID | None, timezone: str) -> Call:
    config = voice_config_get()
    return call_check_and_start(
        user=user,
        mode=Mode.LEGACY,
        conversation_id=conversation_id,
        model=config.llm_model,
        voice=_tts_voice(user=user, config=config),
        config=config,
        timezone=timezone,
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
        if exc.code == ErrorCode.UPSTREAM_AUTH_FAILED:
            return False
        logger.warning("Legacy key check inconclusive (%s): starting the call anyway", exc.code)
        return None
    return True


def _live_call(*, user: User, call_id: uuid.UUID) -> Call:
    call = call_get(user=user, call_id=call_id)
    if call.mode != Mode.LEGACY:
        raise VoiceError("That call is not a Legacy call.", code=ErrorCode.INVALID_REQUEST)
    if not call.is_live:
        raise errors.call_ended()
    return call


@dataclass(frozen=True)
class _Prepared:
    user: User
    key: ResolvedKey
    config: VoiceConfig
    call: Call | None  # None: a typed turn outside any call
    conversation: Conversation

    @property
    def api_key(self) -> str:
        return self.key.value

    @property
    def reply_source(self) -> str:
        """A reply in a call is spoken; outside one it is read."""
        return Message.Source.VOICE if self.call else Message.Source.TEXT


def _prepare(*, user: User, call_id: uuid.UUID) -> _Prepared:
    """Every Legacy request: the user's live Legacy call, a key, and budget left when the
    server's key pays (checked at each request, so a call cannot run past the budget)."""
    call = _live_call(user=user, call_id=call_id)
    call_activity_touch(call_ids=[call.pk])  # each turn restarts the call's idle clock
    # Only a start that failed leaves a call without its conversation, and it is not live.
    assert call.conversation is not None
    return _paid(user=user, call=call, conversation=call.conversation)


def _prepare_typed(*, user: User, conversation_id: uuid.UUID) -> _Prepared:
    """A typed turn outside a call: the user's conversation, with no live call in it (that
    call takes the turn: `POST /api/legacy/replies`, or the Realtime data channel), room for
    the turn, a key and budget left, as for a call's turn."""
    conversation = conversation_get(user=user, conversation_id=conversation_id)
    live = Call.objects.filter(conversation=conversation, status__in=Call.LIVE_STATUSES).first()
    if live is not None:
        raise errors.call_active(
            live.pk, "This conversation has a call in progress: type into the call instead."
        )
    typed = Message.objects.filter(conversation=conversation, call=None).count()
    if typed + 2 > limits.TYPED_ITEMS_PER_CONVERSATION:  # the words and their reply
        raise errors.over_limit(
            f"A conversation keeps at most {limits.TYPED_ITEMS_PER_CONVERSATION:,} typed "
            "messages outside calls, and this one is full: start a new conversation."
        )
    return _paid(user=user, call=None, conversation=conversation)


def _paid(*, user: User, call: Call | None, conversation: Conversation) -> _Prepared:
    config = voice_config_get()
    key = _api_key(user=user, config=config)
    usage_budget_check(user=user, key_source=key.source)
    release_connection()
    return _Prepared(user=user, key=key, config=config, call=call, conversation=conversation)


def _record_usage(prepared: _Prepared, *, kind: str, model: str, units: dict[str, Any]) -> None:
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
    *, user: User, call_id: uuid.UUID, audio: bytes, filename: str, content_type: str
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
        # OpenAI refuses audio it cannot decode with a 400 about the file (or about nothing
        # in particular); a 400 about the model is the configuration's fault, not the caller's.
        if exc.upstream_status == 400 and exc.upstream_param != "model":
            raise VoiceError(
                "The recording could not be decoded. Try again.", code=ErrorCode.INVALID_AUDIO
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


# Rounds of tool calls one reply may make (each is a chat completion that calls tools, and is
# followed by another with their results); the request after the last offers no tools, so the
# model answers with what it has. The admin's per-call limit is enforced by the tool run.
TOOL_ROUNDS = 4


@dataclass
class _Reply:
    """One reply in the making, across its rounds (one chat completion each)."""

    prepared: _Prepared
    context: list[
        dict[str, Any]
    ]  # what the model is sent; each round adds its tool calls and results
    tools: list[dict[str, Any]]  # the enabled tools, as Chat Completions' definitions
    user_item_id: str
    item_id: str
    previous: str  # the item the reply follows: the caller's words, then each tool's line
    parts: list[str] = field(default_factory=list)
    end_call: bool = False  # a tool (end_call) asked for the call to end after this reply
    started: bool = False  # the first event is out: failures are events from now on
    # The latest round's: its usage (until recorded), finish reason, text and calls to run.
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    said: str = ""
    tool_calls: list[client.ToolCall] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def tools_offered(self, round_index: int) -> list[dict[str, Any]] | None:
        """None once the rounds are used up, or once the call is ending: then only words.
        A typed turn outside a call is offered none: a tool runs within a call's limits."""
        if not self.tools or round_index >= TOOL_ROUNDS or self.end_call:
            return None
        return self.tools


def _start_reply(
    *,
    user: User,
    call_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
    text: str,
    user_item_id: str | None,
    source: str,
) -> _Reply:
    """Save the user's words and build the model's context, in one thread hop."""
    if call_id is not None:
        prepared = _prepare(user=user, call_id=call_id)
    else:
        assert conversation_id is not None  # reply_stream's callers give one or the other
        prepared = _prepare_typed(user=user, conversation_id=conversation_id)
    user_item_id = user_item_id or f"user_{uuid.uuid4().hex}"
    assistant_item_id = f"asst_{uuid.uuid4().hex}"
    # The last item, which the new words follow (a retry may already have saved them).
    recent = conversation_messages(conversation=prepared.conversation, limit=2)
    history = [m for m in recent if m.item_id != user_item_id]
    previous = history[-1].item_id if history else None
    earlier = conversation_context(conversation_id=prepared.conversation.pk)  # before ours
    words = {
        "item_id": user_item_id,
        "role": "user",
        "text": text,
        "previous_item_id": previous,
        "source": source,
    }
    if prepared.call is not None:
        # The words and the reply it starts: refused before any cost when the call is full.
        transcript_room_check(call=prepared.call, item_ids=[user_item_id, assistant_item_id])
        transcript_upsert(call=prepared.call, items=[words])
    else:
        conversation_messages_upsert(conversation=prepared.conversation, items=[words])
    context = [{"role": "system", "content": prepared.config.instructions}]
    context += [{"role": m.role, "content": m.text} for m in earlier if m.item_id != user_item_id]
    context.append({"role": "user", "content": text})
    tools = chat_tool_definitions(enabled_tools()) if prepared.call is not None else []
    release_connection()
    return _Reply(
        prepared=prepared,
        context=context,
        tools=tools,
        user_item_id=user_item_id,
        item_id=assistant_item_id,
        previous=user_item_id,
    )


def _save_reply(reply: _Reply, *, interrupted: bool) -> None:
    """The assistant's message, unless the client saved it first: the reply's id is new to
    this request, so an earlier save is the page's "as heard" text of a reply cut off while it
    still streamed, and the page knows better than the server how far the speech got."""
    prepared = reply.prepared
    item = {
        "item_id": reply.item_id,
        "role": Message.Role.ASSISTANT,
        "text": reply.text,
        "interrupted": interrupted,
        "previous_item_id": reply.previous,
        "source": prepared.reply_source,
    }
    if prepared.call is not None:
        transcript_upsert(call=prepared.call, items=[item], keep_existing=True)
    else:
        conversation_messages_upsert(
            conversation=prepared.conversation, items=[item], keep_existing=True
        )


def _round_usage_record(reply: _Reply, usage: dict[str, Any] | None) -> None:
    """What one round cost (each chat completion is billed on its own)."""
    if usage:
        _record_usage(
            reply.prepared,
            kind=UsageRecord.Kind.REPLY,
            model=reply.prepared.config.llm_model,
            units=units_from_chat(usage),
        )


def _finish_reply(reply: _Reply, usage: dict[str, Any] | None) -> None:
    """The whole reply and what its last round cost, in one thread hop after the stream."""
    _save_reply(reply, interrupted=False)
    _round_usage_record(reply, usage)


async def reply_stream(
    *,
    user: User,
    call_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    text: str,
    user_item_id: str | None = None,
    source: str = Message.Source.VOICE,
) -> AsyncGenerator[ReplyEvent, None]:
    """The reply as it streams: start, delta…, a line for each tool the model runs, then done
    or error. OpenAI refusing the first request (a bad key, a rate limit) raises before the
    first event instead. `source` says how the caller's words were made: spoken, or typed
    into the call. The text before and after tool calls streams as it comes, so speech
    starts at the first words.

    A turn of the live Legacy call `call_id`, or, with `conversation_id` instead, a typed turn
    outside any call (both messages `source="text"`, no tools: they run within a call)."""
    reply = await sync_to_async(_start_reply)(
        user=user,
        call_id=call_id,
        conversation_id=conversation_id,
        text=text,
        user_item_id=user_item_id,
        source=source,
    )
    try:
        for round_index in range(TOOL_ROUNDS + 1):
            # Each step closed with this generator, so a caller who leaves mid-round also
            # closes that round's upstream response at once.
            async with aclosing(_round(reply, round_index)) as events:
                async for event in events:
                    yield event
            if not reply.tool_calls:
                break
            await sync_to_async(_round_usage_record)(reply, reply.usage)
            reply.usage = None
            async with aclosing(_tool_calls_run(reply)) as events:
                async for event in events:
                    yield event
            if reply.end_call and reply.parts:  # the goodbye came with the call: nothing to add
                break
    except VoiceError as exc:
        if not reply.started:
            raise
        if reply.parts:
            await sync_to_async(_save_reply)(reply, interrupted=True)
        yield ReplyError(code=exc.code, message=exc.message)
        return
    except (asyncio.CancelledError, GeneratorExit):  # the caller hung up or talked over it
        if reply.parts:
            await asyncio.shield(sync_to_async(_save_reply)(reply, interrupted=True))
        raise
    await sync_to_async(_finish_reply)(reply, reply.usage)
    yield _done(reply)


async def _round(reply: _Reply, round_index: int) -> AsyncGenerator[ReplyEvent, None]:
    """One chat completion: its text as it streams; then its usage, finish reason and the
    tool calls to run (none when tools were not offered: a model cannot call those)."""
    offered = reply.tools_offered(round_index)
    async with client.chat_stream(
        api_key=reply.prepared.api_key,
        model=reply.prepared.config.llm_model,
        messages=reply.context,
        tools=offered,
    ) as stream:
        if not reply.started:
            reply.started = True
            yield ReplyStart(user_item_id=reply.user_item_id, item_id=reply.item_id)
        said: list[str] = []
        async for piece in stream:
            delta = _apart(reply, said, piece)
            said.append(delta)
            reply.parts.append(delta)
            yield ReplyDelta(text=delta)
    reply.usage, reply.finish_reason = stream.usage, stream.finish_reason
    reply.tool_calls = stream.tool_calls if offered else []
    reply.said = "".join(said)


def _apart(reply: _Reply, said: list[str], piece: str) -> str:
    """A round's first words, kept apart from the previous round's by a space: the model
    writes each round as if alone ("Let me check." then "It is noon."), and the sentences
    must not run together on the page or in the speech."""
    joined = said or not reply.parts or reply.parts[-1][-1:].isspace() or piece[:1].isspace()
    return piece if joined else f" {piece}"


async def _tool_calls_run(reply: _Reply) -> AsyncGenerator[ReplyEvent, None]:
    """Run the round's tool calls in order, each through `tool_call_run` (which checks it,
    enforces the admin's limits, and saves its line right after the previous item), and add
    the calls and their results to the context, as OpenAI needs them for the next round."""
    calls = reply.tool_calls
    message = {"role": "assistant", "content": reply.said or None}
    reply.context.append({**message, "tool_calls": [c.as_message_part() for c in calls]})
    live_call = reply.prepared.call
    assert live_call is not None  # tools are offered only in a call (`tools_offered`)
    for call in calls:
        outcome = await tool_call_run(
            call=live_call,
            name=call.name,
            arguments=call.arguments,
            call_id=call.id,
            previous_item_id=reply.previous,
        )
        reply.previous = outcome.item_id or reply.previous
        reply.end_call = reply.end_call or outcome.ends_call
        reply.context.append({"role": "tool", "tool_call_id": call.id, "content": outcome.output})
        yield ReplyToolCall(
            line=outcome.line, name=call.name[:64], ok=outcome.ok, item_id=outcome.item_id
        )


_CUT_SHORT: dict[str | None, str] = {
    "length": "The reply was cut short: it reached the model's length limit.",
    "content_filter": "The reply was stopped by OpenAI's content filter.",
}


def _done(reply: _Reply) -> ReplyDone:
    """The whole reply and how it ended: one the model did not finish (a length limit, the
    content filter) is `incomplete`, with a `notice` the page can show as it is. A reply that
    ends with a tool call (its goodbye said with `end_call`) is complete."""
    reason = reply.finish_reason
    incomplete = reason not in (None, "stop", "tool_calls")
    notice = _CUT_SHORT.get(reason, f"The reply ended early ({reason}).") if incomplete else None
    return ReplyDone(
        message_id=reply.item_id,
        text=reply.text,
        finish_reason=reason,
        incomplete=incomplete,
        notice=notice,
        end_call=reply.end_call,
    )


async def speech_stream(
    *,
    user: User,
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
        raise VoiceError("There is nothing to say in that text.", code=ErrorCode.INVALID_REQUEST)
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


def _speech_setup(*, user: User, call_id: uuid.UUID) -> tuple[_Prepared, str]:
    prepared = _prepare(user=user, call_id=call_id)
    return prepared, _tts_voice(user=user, config=prepared.config)


def _tts_voice(*, user: User, config: VoiceConfig) -> str:
    """The user's voice when speech has it, else the default, else the first offered."""
    for voice in (preference_get(user=user).voice, config.default_voice):
        if voice in config.tts_voices:
            return voice
    first: str = config.tts_voices[0]
    return first
