"""A user's calls: the list, one with its transcript, transcript saves, active, end."""

from typing import Any
from uuid import UUID

from adrf.views import APIView as AsyncAPIView
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voice import errors, limits, selectors
from voice.apis.paging import LINK_HEADER, PAGING, PageQuerySerializer, earlier_link, page_query
from voice.models import Call, EndReason, Message
from voice.schema import ERRORS
from voice.serializers import CallSerializer, ItemSerializer
from voice.services import calls as call_services
from voice.services import transcripts as transcript_services
from voice.services.hangups import call_end_and_hang_up
from voice.users import request_user
from voice.validators import ITEM_ID_MESSAGE, ITEM_ID_PATTERN


class CallListApi(ListAPIView[Call]):
    serializer_class = CallSerializer

    def get_queryset(self) -> QuerySet[Call]:
        return selectors.call_list(user=request_user(self.request))

    @extend_schema(
        summary="The user's calls, newest first (paginated)",
        responses={200: CallSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# USD to the micro-dollar, as a string (docs/api.md): the formatting of every cost.
_COST = serializers.DecimalField(max_digits=12, decimal_places=6)


class CallDetailApi(APIView):
    @extend_schema_serializer(component_name="CallDetail")
    class OutputSerializer(CallSerializer):
        # What the view read beside the call comes in the context (`page`: a MessagePage,
        # `cost`): the model carries no attributes stuck on for the serializer's sake.
        # (A comment, not a docstring: that would become the schema's description.)
        transcript = serializers.SerializerMethodField(
            help_text="In conversation order (one page)."
        )
        cost = serializers.SerializerMethodField(
            help_text="USD so far, whoever paid (Realtime usage arrives as each response ends)."
        )

        @extend_schema_field(ItemSerializer(many=True))
        def get_transcript(self, call: Call) -> Any:
            page: selectors.MessagePage = self.context["page"]
            return ItemSerializer(page.messages, many=True).data

        @extend_schema_field(_COST)
        def get_cost(self, call: Call) -> Any:
            return _COST.to_representation(self.context["cost"])

    @extend_schema(
        summary="One call with its transcript (paged: the latest items by default)",
        description=PAGING,
        parameters=[PageQuerySerializer, LINK_HEADER],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request, call_id: UUID) -> Response:
        call = selectors.call_get(user=request_user(request), call_id=call_id)
        query = page_query(request)
        page = selectors.call_transcript_page(call=call, **query)
        context = {"page": page, "cost": selectors.call_cost(call=call)}
        headers = earlier_link(request, page, query["limit"])
        return Response(self.OutputSerializer(call, context=context).data, headers=headers)


class TranscriptItemInputSerializer(serializers.Serializer[Any]):
    item_id = serializers.RegexField(
        ITEM_ID_PATTERN,
        help_text=f"OpenAI's item id, or the client's (1–{limits.ITEM_ID_MAX_CHARS} of "
        "A–Z a–z 0–9 _ . : -).",
        error_messages={"invalid": ITEM_ID_MESSAGE},
    )
    # Tool items are the server's record of what the assistant did: never a client's to write.
    role = serializers.ChoiceField(
        choices=[(Message.Role.USER, "user"), (Message.Role.ASSISTANT, "assistant")]
    )
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=limits.TRANSCRIPT_ITEM_TEXT_CHARS,
        help_text=f"At most {limits.TRANSCRIPT_ITEM_TEXT_CHARS:,} characters.",
    )
    interrupted = serializers.BooleanField(required=False, default=False)
    # A field named `source`: the stubs take it for `Field.source` (a str).
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Message.Source.choices,
        required=False,
        help_text="text: a turn the user typed (e.g. sent over the Realtime data channel); "
        "default voice; a later save without it keeps what an earlier one said.",
    )
    previous_item_id = serializers.RegexField(
        ITEM_ID_PATTERN,
        required=False,
        allow_null=True,
        error_messages={"invalid": ITEM_ID_MESSAGE},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("previous_item_id") == attrs["item_id"]:
            raise serializers.ValidationError("An item cannot follow itself.")
        return attrs


class CallTranscriptApi(APIView):
    @extend_schema_serializer(component_name="TranscriptSave")
    class InputSerializer(serializers.Serializer[Any]):
        items = TranscriptItemInputSerializer(
            many=True,
            allow_empty=False,
            help_text=f"At most {limits.TRANSCRIPT_ITEMS_PER_REQUEST} items per request.",
        )

        def to_internal_value(self, data: Any) -> Any:
            # Counted before any item is validated: a long list costs nothing to refuse.
            items = data.get("items") if isinstance(data, dict) else None
            if isinstance(items, list) and len(items) > limits.TRANSCRIPT_ITEMS_PER_REQUEST:
                raise errors.over_limit(
                    f"Send at most {limits.TRANSCRIPT_ITEMS_PER_REQUEST} items per request."
                )
            return super().to_internal_value(data)

    @extend_schema_serializer(component_name="TranscriptSaved")
    class OutputSerializer(serializers.Serializer[Any]):
        saved = serializers.IntegerField()

    @extend_schema(
        summary="Save transcript items (idempotent upsert by item_id)",
        description=(
            "Retries never duplicate: a later text for the same `item_id` replaces the earlier "
            "one. `previous_item_id` (as OpenAI reports it) fixes the item's place, so a user "
            "transcription that arrives after the reply is still ordered before it.\n\n"
            f"Limits: at most {limits.TRANSCRIPT_ITEMS_PER_REQUEST} items per request and "
            f"{limits.TRANSCRIPT_ITEMS_PER_CALL:,} per call (413 `payload_too_large`), "
            f"{limits.TRANSCRIPT_ITEM_TEXT_CHARS:,} characters of text per item (400). "
            "Saves are accepted after the call ended for "
            f"{int(limits.LATE_SAVE_GRACE.total_seconds() // 60)} minutes, so the page can "
            "flush what it queued; later, 409 `call_ended`."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def post(self, request: Request, call_id: UUID) -> Response:
        call = selectors.call_get(user=request_user(request), call_id=call_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = transcript_services.transcript_save(
            call=call, items=serializer.validated_data["items"]
        )
        return Response(self.OutputSerializer({"saved": len(saved)}).data)


class CallActiveApi(APIView):
    @extend_schema(
        summary="Report that the call's media path is up (connecting → active)",
        request=None,
        responses={200: CallSerializer, **ERRORS},
    )
    def post(self, request: Request, call_id: UUID) -> Response:
        call = selectors.call_get(user=request_user(request), call_id=call_id)
        call = call_services.call_mark_active(call=call)
        return Response(CallSerializer(call).data)


class CallEndApi(AsyncAPIView):
    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.RegexField(
            r"^[a-z0-9_]{1,64}$",
            required=False,
            default=EndReason.USER,
            help_text="Why the call ended: user (the default: the caller hung up), page_closed, "
            "other_tab, or a client failure as a short snake_case code (e.g. ice_failed).",
        )

    @extend_schema(
        summary="End a call (idempotent); a realtime call is hung up at OpenAI too",
        request=InputSerializer,
        responses={200: CallSerializer, **ERRORS},
    )
    async def post(self, request: Request, call_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = await call_end_and_hang_up(
            user=request_user(request), call_id=call_id, reason=serializer.validated_data["reason"]
        )
        return Response(CallSerializer(call).data)
