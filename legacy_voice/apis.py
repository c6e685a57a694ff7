"""The legacy pipeline's endpoints (API.md): start a call, transcribe, reply (SSE), speak.

Async views (adrf) for the same reason as the realtime session: each waits on OpenAI, and the
reply and the speech stream for seconds; none may hold a worker thread meanwhile.
"""

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from legacy_voice import services
from legacy_voice.parsers import MAX_AUDIO_BYTES, AudioUploadParser
from legacy_voice.speakable import MAX_SPEECH_CHARS
from voice.errors import payload_too_large
from voice.schema import ERRORS
from voice.selectors import voice_config_get
from voice.serializers import CallSerializer
from voice.validators import ITEM_ID_PATTERN

# What OpenAI's transcription accepts from a browser recorder, by type and by first bytes.
AUDIO_TYPES = {
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


def _sse_response(events) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    return response


class LegacyCallCreateApi(AsyncAPIView):
    class InputSerializer(serializers.Serializer):
        conversation = serializers.UUIDField(required=False, allow_null=True)

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
        call = await services.legacy_call_start(
            user=request.user, conversation_id=serializer.validated_data.get("conversation")
        )
        return Response(
            CallSerializer(call).data, status=201, headers={"Location": f"/api/calls/{call.id}"}
        )


class TranscriptionCreateApi(AsyncAPIView):
    parser_classes = [AudioUploadParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_transcriptions"

    class InputSerializer(serializers.Serializer):
        audio = serializers.FileField(help_text="webm, ogg, wav, mp3 or m4a; at most 25 MB.")
        call = serializers.UUIDField(help_text="The live Legacy call this speech belongs to.")

        def validate_audio(self, audio):
            if audio.size > MAX_AUDIO_BYTES:
                raise payload_too_large(MAX_AUDIO_BYTES)
            kind = _audio_kind(audio)
            if kind is None:
                raise serializers.ValidationError(
                    "Send webm, ogg, wav, mp3 or m4a audio.", code="invalid_audio"
                )
            audio.kind = kind
            return audio

    @extend_schema_serializer(component_name="Transcription")
    class OutputSerializer(serializers.Serializer):
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
            user=request.user,
            call_id=serializer.validated_data["call"],
            audio=audio.read(),
            filename=f"speech.{audio.kind}",
            content_type=sorted(AUDIO_TYPES[audio.kind][0])[0],
        )
        return Response({"text": text})


def _audio_kind(audio) -> str | None:
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
    class InputSerializer(serializers.Serializer):
        call = serializers.UUIDField()
        text = serializers.CharField(max_length=4000, help_text="What the caller said.")
        item_id = serializers.RegexField(
            ITEM_ID_PATTERN,
            required=False,
            help_text="The id to save the caller's words under (the client shows them at once); "
            "a retry with the same id never saves them twice.",
        )

    @extend_schema(
        summary="Stream the assistant's reply (server-sent events)",
        description=(
            "`event: start` `{user_item_id, item_id}`, then `event: delta` `{text}` as the reply "
            "streams, then `event: done` `{message_id, text, finish_reason, incomplete, notice}` "
            "or `event: error` `{code, message}`. In `done`, `finish_reason` is OpenAI's "
            '(`"stop"`, or `"length"` / `"content_filter"` for a reply the model did not '
            "finish; null if it never said); `incomplete` is true when it is not `stop`, and "
            "`notice` is then a sentence to show the user (else null). Both messages are "
            "saved; a reply cut short by the caller leaving is saved as far as it got, marked "
            "interrupted."
        ),
        request=InputSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.STR, description="text/event-stream"),
            **ERRORS,
        },
    )
    async def post(self, request: Request) -> StreamingHttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = services.reply_stream(
            user=request.user,
            call_id=serializer.validated_data["call"],
            text=serializer.validated_data["text"],
            user_item_id=serializer.validated_data.get("item_id"),
        )
        return _sse_response(await _started(events))


async def _started(stream):
    """`stream`, once its first item is produced: a failure before that (a refused key, a
    rate limit) is raised here and answered as plain JSON, not as a broken stream."""
    first = await anext(stream)

    async def resumed():
        yield first
        async for item in stream:
            yield item

    return resumed()


class SpeechCreateApi(AsyncAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "legacy_speech"

    @extend_schema_serializer(component_name="SpeechCreate")
    class InputSerializer(serializers.Serializer):
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
                    f"{voice!r} is not one of the voices offered here.", code="invalid_voice"
                )
            return voice

    @extend_schema(
        summary="Speak a text of the live Legacy call: the audio streams as it is synthesized",
        request=InputSerializer,
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="audio"), **ERRORS},
    )
    async def post(self, request: Request) -> StreamingHttpResponse:
        serializer = self.InputSerializer(data=request.data)
        await sync_to_async(serializer.is_valid)(raise_exception=True)
        fields = serializer.validated_data
        audio = await _started(
            services.speech_stream(
                user=request.user,
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
