"""POST /api/realtime/session: the SDP offer/answer proxy (docs/api.md), in its JSON and raw forms.

The view is async end to end (adrf's APIView): the upstream call may take seconds, and under
daphne it must never hold a worker thread while it waits. adrf keeps DRF's authentication,
CSRF, parsers, exception handler and schema generation, which a plain async Django view would
have to re-implement; the sync parts (auth, the ORM) run in `sync_to_async` hops.
"""

from typing import Any

from adrf.views import APIView as AsyncAPIView
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from realtime.parsers import SdpParser
from realtime.sdp import offer_from_text
from realtime.services import realtime_session_create
from voice.defaults import INSTRUCTIONS_MAX_CHARS
from voice.errors import ErrorCode
from voice.parsers import BoundedJSONParser
from voice.schema import ERRORS
from voice.serializers import CallSerializer, timezone_field
from voice.users import request_user


@extend_schema_field(OpenApiTypes.STR)
class SdpOfferField(serializers.Field[str, str | bytes, str, Any]):
    """SDP text, or its base64; checked before any upstream call is made."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str | bytes):
            raise serializers.ValidationError(
                "Send the SDP offer as text.", code=ErrorCode.INVALID_SDP
            )
        return offer_from_text(data)

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_serializer(component_name="RealtimeSessionRequest")
class SessionInputSerializer(serializers.Serializer[Any]):
    sdp = SdpOfferField(help_text="The browser's SDP offer, plain or base64 (at most 64 KiB).")
    voice = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="A Realtime voice from /api/voice/config; default: the user's preference.",
    )
    instructions = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Extra instructions for this call, added after the configured ones "
        f"(at most {INSTRUCTIONS_MAX_CHARS} characters).",
    )
    conversation = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Continue this conversation of the user's; default: a new one.",
    )
    timezone = timezone_field()
    push_to_talk = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="The caller holds a button to talk: the session gets no turn detection, "
        "the client commits each turn and asks for the reply. Default: the user's preference.",
    )

    def validate_instructions(self, value: str) -> str:
        if len(value) > INSTRUCTIONS_MAX_CHARS:
            raise serializers.ValidationError(
                f"Instructions may be at most {INSTRUCTIONS_MAX_CHARS} characters.",
                code=ErrorCode.INSTRUCTIONS_TOO_LONG,
            )
        return value


@extend_schema_serializer(component_name="RealtimeSession")
class SessionOutputSerializer(serializers.Serializer[Any]):
    # Serializes a realtime.services.RealtimeSession.
    call = CallSerializer()
    sdp = serializers.CharField(
        source="answer_sdp", help_text="The SDP answer for setRemoteDescription."
    )
    push_to_talk = serializers.BooleanField(
        help_text="Whether this call runs on held turns (asked for, or the administrator's "
        "manual turns): send `input_audio_buffer.commit` and `response.create` per turn."
    )


class RealtimeSessionCreateApi(AsyncAPIView):
    parser_classes = [BoundedJSONParser, SdpParser]

    @extend_schema(
        summary="Start a Realtime call: proxy the SDP offer to OpenAI, answer with its SDP",
        description=(
            "JSON form: `{sdp, voice?, instructions?, conversation?, timezone?, push_to_talk?}` "
            "→ 201 `{call, sdp, push_to_talk}`. Raw form: the offer as the body with "
            "`Content-Type: application/sdp` and "
            "`?voice=&conversation=&instructions=&timezone=&push_to_talk=` → 201 with the answer "
            "SDP as the body. Both set `Location: /api/calls/<id>`. The API key stays on the "
            "server; one live call per user; starts are throttled per user."
        ),
        request={"application/json": SessionInputSerializer, "application/sdp": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter("voice", str, description="Raw form only."),
            OpenApiParameter("conversation", OpenApiTypes.UUID, description="Raw form only."),
            OpenApiParameter("instructions", str, description="Raw form only."),
            OpenApiParameter("timezone", str, description="Raw form only."),
            OpenApiParameter("push_to_talk", bool, description="Raw form only."),
        ],
        responses={201: SessionOutputSerializer, **ERRORS},
    )
    async def post(self, request: Request) -> Response | HttpResponse:
        raw = request.content_type.startswith(SdpParser.media_type)
        data = {"sdp": request.data, **request.query_params.dict()} if raw else request.data
        serializer = SessionInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        session = await realtime_session_create(
            user=request_user(request),
            offer_sdp=fields["sdp"],
            voice=fields.get("voice"),
            instructions=fields.get("instructions", ""),
            conversation_id=fields.get("conversation"),
            timezone=fields.get("timezone", ""),
            push_to_talk=fields.get("push_to_talk"),
        )
        location = {"Location": f"/api/calls/{session.call.id}"}
        if raw:
            return HttpResponse(
                session.answer_sdp, status=201, content_type="application/sdp", headers=location
            )
        return Response(SessionOutputSerializer(session).data, status=201, headers=location)
