"""The legacy pipeline's endpoints (docs/api.md): start a call, transcribe, reply (SSE), speak.

Async views (adrf) for the same reason as the realtime session: each waits on OpenAI, and the
reply and the speech stream for seconds; none may hold a worker thread meanwhile.
"""

import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any
from uuid import UUID

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import UploadedFile
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from legacy_voice import services
from legacy_voice.events import (
    ReplyDelta,
    ReplyDone,
    ReplyError,
    ReplyEvent,
    ReplyStart,
    ReplyToolCall,
)
from legacy_voice.parsers import MAX_AUDIO_BYTES, AudioUploadParser
from legacy_voice.speakable import MAX_SPEECH_CHARS
from voice.errors import ErrorCode, payload_too_large
from voice.models import Message
from voice.schema import ERRORS
from voice.selectors import voice_config_get
from voice.serializers import CallSerializer, timezone_field
from voice.users import request_user
from voice.validators import ITEM_ID_PATTERN

# A typed turn: the same as a spoken turn's text (`ReplyCreateApi`).
TYPED_TEXT_MAX_CHARS = 4000
# What OpenAI's transcription accepts from a browser recorder, by type and by first bytes.
AUDIO_TYPES: dict[str, tuple[set[str], Callable[[bytes], bool]]] = {
    "webm": ({"audio/webm", "video/webm"}, lambda head: head.startswith(b"\x1a\x45\xdf\xa3")),
    "ogg": ({"audio/ogg", "application/ogg"}, lambda head: head.startswith(b"OggS")),
    "wav": (
        {"audio/wav", "audio/x-wav", "audio/wave"},
        lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE",
    ),
    "mp3": (
        {"audio/mpeg", "audio/mp3"},
        lambda h: h.startswith(b"ID3") or h[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    ),
    "m4a": ({"audio/mp4", "audio/x-m4a", "audio/m4a"}, lambda head: head[4:8] == b"ftyp"),
}


def _sse_response(events: AsyncIterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    return response


SSE_NAMES: dict[type[ReplyEvent], str] = {
    ReplyStart: "start",
    ReplyDelta: "delta",
    ReplyToolCall: "tool",
    ReplyDone: "done",
    ReplyError: "error",
}

# The reply streams' answer, under its own media type, described event by event as OpenAPI 3.2
# does for text/event-stream (what schemathesis checks each event against).
SSE_RESPONSE = OpenApiResponse(
    {
        "type": "object",
        "properties": {
            "event": {"type": "string", "enum": list(SSE_NAMES.values())},
            # OpenAPI 3.0 has no contentMediaType to say so: the text is a JSON object.
            "data": {"type": "string", "description": "The event's fields, as a JSON object."},
        },
        "required": ["event", "data"],
    },
    description="Server-sent events, one JSON object per event (see above).",
)


def sse_event(event: ReplyEvent) -> str:
    """One reply event on the wire (docs/api.md): `event: <name>` and its fields as JSON data."""
    data = dataclasses.asdict(event)
    if isinstance(event, ReplyDone) and not event.end_call:
        del data["end_call"]  # said only when it happens: `done` is otherwise as it always was
    return f"event: {SSE_NAMES[type(event)]}\ndata: {json.dumps(data)}\n\n"


async def _sse_events(events: AsyncGenerator[ReplyEvent, None]) -> AsyncIterator[str]:
    # Closed with the response, so a caller who leaves reaches the service at once (it saves
    # the reply as far as it got), not whenever the abandoned generator is collected.
    async with aclosing(events):
        async for event in events:
            yield sse_event(event)


class LegacyCallCreateApi(AsyncAPIView):
    class InputSerializer(serializers.Serializer[Any]):
        conversation = serializers.UUIDField(required=False, allow_null=True)
        timezone = timezone_field()

    @extend_schema(
        summary="Start a Legacy call (speech-to-text → reply → speech)",
        description=(
            "The key that will pay for the call (by the key policy) is checked with OpenAI "
            "first (`GET /models`, the verdict cached for 5 minutes): a rejected key is 502 "
            "`upstream_auth_failed` and no call is started. A check that times out or fails "
            "otherwise does not block the start."
        ),
        request=extend_schema_serializer(component_name="LegacyCallCreate")(InputSerializer),
        responses={201: CallSerializer, **ERRORS},
    )
    async def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        call = await services.legacy_call_start(
            user=request_user(request),
            conversation_id=fields.get("conversation"),
            timezone=fields.get("timezone", ""),
        )
        return Response(
            CallSerializer(call).data, status=201, headers={"Location": f"/api/calls/{call.id}"}
        )


class TranscriptionCreateApi(AsyncAPIView):
    parser_classes = [AudioUploadParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_transcriptions"

    class InputSerializer(serializers.Serializer[Any]):
        audio = serializers.FileField(help_text="webm, ogg, wav, mp3 or m4a; at most 25 MB.")
        call = serializers.UUIDField(help_text="The live Legacy call this speech belongs to.")

        def validate_audio(self, audio: Any) -> Any:  # an UploadedFile, given its `kind` here
            if audio.size > MAX_AUDIO_BYTES:
                raise payload_too_large(MAX_AUDIO_BYTES)
            kind = _audio_kind(audio)
            if kind is None:
                raise serializers.ValidationError(
                    "Send webm, ogg, wav, mp3 or m4a audio.", code=ErrorCode.INVALID_AUDIO
                )
            audio.kind = kind
            return audio

    @extend_schema_serializer(component_name="Transcription")
    class OutputSerializer(serializers.Serializer[Any]):
        text = serializers.CharField(help_text='The words heard; "" for silence.')

    @extend_schema(
        summary="Transcribe one utterance",
        request={
            "multipart/form-data": extend_schema_serializer(component_name="TranscriptionCreate")(
                InputSerializer
            )
        },
        responses={200: OutputSerializer, **ERRORS},
    )
    async def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        audio = serializer.validated_data["audio"]
        text = await services.transcription_create(
            user=request_user(request),
            call_id=serializer.validated_data["call"],
            audio=audio.read(),
            filename=f"speech.{audio.kind}",
            content_type=sorted(AUDIO_TYPES[audio.kind][0])[0],
        )
        return Response(self.OutputSerializer({"text": text}).data)


def _audio_kind(audio: UploadedFile[bytes]) -> str | None:
    declared = (audio.content_type or "").split(";")[0].strip().lower()
    head = audio.read(16)
    audio.seek(0)
    for kind, (types, looks_like) in AUDIO_TYPES.items():
        if declared in types and looks_like(head):
            return kind
    return None


class ReplyCreateApi(AsyncAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_replies"

    @extend_schema_serializer(component_name="ReplyCreate")
    class InputSerializer(serializers.Serializer[Any]):
        call = serializers.UUIDField()
        text = serializers.CharField(
            max_length=TYPED_TEXT_MAX_CHARS, help_text="What the caller said (or typed)."
        )
        item_id = serializers.RegexField(
            ITEM_ID_PATTERN,
            required=False,
            help_text="The id to save the caller's words under (the client shows them at once); "
            "a retry with the same id never saves them twice.",
        )
        # A field named `source`: the stubs take it for `Field.source` (a str).
        source = serializers.ChoiceField(  # type: ignore[assignment]
            choices=Message.Source.choices,
            default=Message.Source.VOICE,
            help_text="text: the caller typed these words into the call instead of saying them.",
        )

    @extend_schema(
        summary="Stream the assistant's reply (server-sent events)",
        description=(
            "`event: start` `{user_item_id, item_id}`, then `event: delta` `{text}` as the reply "
            "streams, then `event: done` `{message_id, text, finish_reason, incomplete, notice}` "
            "or `event: error` `{code, message}`. In `done`, `finish_reason` is OpenAI's "
            '(`"stop"`, or `"length"` / `"content_filter"` for a reply the model did not '
            "finish; null if it never said); `incomplete` is true when it is not `stop` (or "
            "`tool_calls`), and `notice` is then a sentence to show the user (else null). Both "
            "messages are saved; a reply cut short by the caller leaving is saved as far as it "
            "got, marked interrupted.\n\n"
            "Tools: the admin's enabled tools are offered to the model. Each tool it calls "
            "runs (checked, limited and timed out as in Realtime) and is announced by `event: "
            "tool` `{line, name, ok, item_id}` (`line`: the transcript's readable line, saved "
            "as the item `item_id` between the caller's words and the reply; `item_id` null "
            "when the call was refused before it was recorded); the reply then goes on with the "
            "results, for at most 4 rounds of tool calls. When the assistant ends the call "
            '(`end_call`), `done` also carries `"end_call": true`: the client speaks the '
            "reply to the end, then ends the call with reason `assistant`."
        ),
        request=InputSerializer,
        responses={(200, "text/event-stream"): SSE_RESPONSE, **ERRORS},
    )
    async def post(self, request: Request) -> StreamingHttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = services.reply_stream(
            user=request_user(request),
            call_id=serializer.validated_data["call"],
            text=serializer.validated_data["text"],
            user_item_id=serializer.validated_data.get("item_id"),
            source=serializer.validated_data["source"],
        )
        return _sse_response(await _started(_sse_events(events)))


class ConversationMessageCreateApi(AsyncAPIView):
    """A typed turn outside a call. It lives with the Legacy pipeline, whose reply path it
    takes (the core imports no pipeline); its URL is the conversation's."""

    # One budget of replies per user, typed or spoken: the same scope as /api/legacy/replies.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_replies"

    @extend_schema_serializer(component_name="ConversationMessageCreate")
    class InputSerializer(serializers.Serializer[Any]):
        text = serializers.CharField(
            max_length=TYPED_TEXT_MAX_CHARS,
            help_text=f"What the user typed (at most {TYPED_TEXT_MAX_CHARS:,} characters; "
            "leading and trailing blanks are dropped).",
        )
        item_id = serializers.RegexField(
            ITEM_ID_PATTERN,
            required=False,
            help_text="The id to save the words under (the client shows them at once); a retry "
            "with the same id never saves them twice.",
        )

    @extend_schema(
        summary="Type a turn outside a call: the reply streams as text (server-sent events)",
        description=(
            "The same stream as `POST /api/legacy/replies`: `event: start` `{user_item_id, "
            "item_id}`, `event: delta` `{text}`…, then `event: done` `{message_id, text, "
            "finish_reason, incomplete, notice}` or `event: error` `{code, message}`. Both "
            'messages are saved in the conversation with `"source": "text"` and no call. Paid '
            "and limited like a Legacy call's turn (the key policy, the monthly budget: 402 "
            "`budget_exceeded`; no usable key: 409 `legacy_unavailable`) and throttled with "
            "Legacy replies. 409 `call_active` while a live call uses the conversation (type "
            "into the call instead); 404 for a conversation that is not the user's."
        ),
        request=InputSerializer,
        responses={(200, "text/event-stream"): SSE_RESPONSE, **ERRORS},
    )
    async def post(self, request: Request, conversation_id: UUID) -> StreamingHttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = services.reply_stream(
            user=request_user(request),
            conversation_id=conversation_id,
            text=serializer.validated_data["text"],
            user_item_id=serializer.validated_data.get("item_id"),
            source=Message.Source.TEXT,
        )
        return _sse_response(await _started(_sse_events(events)))


async def _started[T](stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """`stream`, once its first item is produced: a failure before that (a refused key, a
    rate limit) is raised here and answered as plain JSON, not as a broken stream."""
    first = await anext(stream)

    async def resumed() -> AsyncIterator[T]:
        yield first
        async for item in stream:
            yield item

    return resumed()


class SpeechCreateApi(AsyncAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_speech"

    @extend_schema_serializer(component_name="SpeechCreate")
    class InputSerializer(serializers.Serializer[Any]):
        call = serializers.UUIDField(help_text="The live Legacy call this speech belongs to.")
        text = serializers.CharField(
            max_length=MAX_SPEECH_CHARS,
            help_text=f"At most {MAX_SPEECH_CHARS} characters (OpenAI's limit); markdown, code "
            "and reasoning are not read aloud.",
        )
        voice = serializers.CharField(required=False, allow_blank=True, max_length=50)
        format = serializers.ChoiceField(choices=list(services.SPEECH_FORMATS), default="mp3")

        def validate_voice(self, voice: str) -> str:
            if voice and voice not in voice_config_get().tts_voices:
                raise serializers.ValidationError(
                    f"{voice!r} is not one of the voices offered here.",
                    code=ErrorCode.INVALID_VOICE,
                )
            return voice

    @extend_schema(
        summary="Speak a text of the live Legacy call: the audio streams as it is synthesized",
        request=InputSerializer,
        responses={
            **{
                (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="audio")
                for media_type in services.SPEECH_FORMATS.values()
            },
            **ERRORS,
        },
    )
    async def post(self, request: Request) -> StreamingHttpResponse:
        serializer = self.InputSerializer(data=request.data)
        await sync_to_async(serializer.is_valid)(raise_exception=True)
        fields = serializer.validated_data
        audio = await _started(
            services.speech_stream(
                user=request_user(request),
                call_id=fields["call"],
                text=fields["text"],
                voice=fields.get("voice"),
                response_format=fields["format"],
            )
        )
        response = StreamingHttpResponse(
            audio, content_type=services.SPEECH_FORMATS[fields["format"]]
        )
        response["Cache-Control"] = "no-store"
        return response
