"""A user's conversations: list and search, start, read, rename, delete, export.

A typed turn (`POST /api/conversations/<id>/messages`) takes the Legacy reply path, so its view
lives with that pipeline (`legacy_voice.apis.ConversationMessageCreateApi`).
"""

from collections.abc import AsyncIterator, Iterable
from typing import IO, Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from voice import exports, search, selectors
from voice.apis.paging import LINK_HEADER, PAGING, PageQuerySerializer, earlier_link, page_query
from voice.models import Conversation
from voice.schema import ERRORS
from voice.serializers import ItemSerializer
from voice.services import conversations as conversation_services
from voice.users import request_user

TITLE_MAX_CHARS = Conversation._meta.get_field("title").max_length


class TitleField(serializers.CharField):
    """A title the user gives: one line (runs of blanks and line breaks become one space), not
    blank, at most the column's length."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=TITLE_MAX_CHARS, **kwargs)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):  # DRF would take 5 or true as "5", "True"
            raise serializers.ValidationError("A title must be a string.")
        return " ".join(super().to_internal_value(data).split())

    def run_validation(self, data: object = serializers.empty) -> str:
        title: str = super().run_validation(data)
        if not title:
            raise serializers.ValidationError("A title cannot be blank.")
        return title


class ConversationSerializer(serializers.Serializer[Any]):
    """A conversation in the list."""

    id = serializers.UUIDField()
    title = serializers.CharField(help_text='"" until its first user turn or a rename.')
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="Its last activity: the list's order.")
    message_count = serializers.IntegerField()
    has_calls = serializers.BooleanField(help_text="Whether any voice call took place in it.")
    snippet = serializers.CharField(
        allow_null=True,
        help_text="When searching: the text around the first word, from the newest message "
        "with every word (else with the first one); null otherwise, or when only the title "
        "matched.",
    )


class ConversationListApi(ListAPIView[Conversation]):
    serializer_class = ConversationSerializer

    class QuerySerializer(serializers.Serializer[Any]):
        search = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=search.QUERY_MAX_CHARS,
            help_text="Only conversations in which every word occurs (case-insensitive), in "
            "the title or any message; on PostgreSQL the last word also matches as a prefix. "
            f"At most {search.QUERY_MAX_WORDS} words.",
        )
        page = serializers.IntegerField(required=False, min_value=1, max_value=10**9)

    @extend_schema_serializer(component_name="ConversationCreate")
    class InputSerializer(serializers.Serializer[Any]):
        title = TitleField(required=False, help_text="Else it follows the first user turn.")

    def get_queryset(self) -> QuerySet[Conversation]:
        query = self.QuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        words = query.validated_data.get("search", "")
        return selectors.conversation_search(user=request_user(self.request), query=words)

    @extend_schema(
        summary="The user's conversations, most recently active first (paginated, searchable)",
        parameters=[QuerySerializer],
        responses={200: ConversationSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start an empty conversation (e.g. for a first typed turn)",
        request=InputSerializer,
        responses={201: ConversationSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request_user(request)
        conversation = conversation_services.conversation_create(
            user=user, **serializer.validated_data
        )
        created = selectors.conversation_list(user=user).get(pk=conversation.pk)
        location = {"Location": f"/api/conversations/{conversation.pk}"}
        return Response(ConversationSerializer(created).data, status=201, headers=location)


class ConversationMessageSerializer(ItemSerializer):
    call = serializers.UUIDField(
        source="call_id", allow_null=True, help_text="null: typed outside any call."
    )


class ConversationDetailApi(APIView):
    @extend_schema_serializer(component_name="ConversationDetail")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        title = serializers.CharField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        messages = serializers.SerializerMethodField(help_text="In conversation order (one page).")

        @extend_schema_field(ConversationMessageSerializer(many=True))
        def get_messages(self, conversation: Conversation) -> Any:
            # The page the view read (a MessagePage), not an attribute stuck on the model.
            page: selectors.MessagePage = self.context["page"]
            return ConversationMessageSerializer(page.messages, many=True).data

    @extend_schema_serializer(component_name="ConversationUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        title = TitleField(
            help_text=f"One line, 1–{TITLE_MAX_CHARS} characters after blanks are collapsed; "
            "never replaced by the automatic title afterwards."
        )

    @extend_schema(
        summary="One conversation with its messages (paged: the latest by default)",
        description=PAGING,
        parameters=[PageQuerySerializer, LINK_HEADER],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request, conversation_id: UUID) -> Response:
        conversation = selectors.conversation_get(
            user=request_user(request), conversation_id=conversation_id
        )
        return self._answer(request, conversation)

    @extend_schema(
        summary="Rename a conversation",
        description="Answers like GET (the latest page of messages).",
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
    )
    def patch(self, request: Request, conversation_id: UUID) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = conversation_services.conversation_rename(
            user=request_user(request), conversation_id=conversation_id, **serializer.validated_data
        )
        return self._answer(request, conversation)

    @extend_schema(
        summary="Delete a conversation and its messages",
        description="409 `call_active` while a live call uses it. Its ended calls stay in "
        "`GET /api/calls` (with `conversation` null), and their usage in the usage report.",
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, conversation_id: UUID) -> Response:
        conversation_services.conversation_delete(
            user=request_user(request), conversation_id=conversation_id
        )
        return Response(status=204)

    def _answer(self, request: Request, conversation: Conversation) -> Response:
        query = page_query(request)
        page = selectors.conversation_message_page(conversation=conversation, **query)
        headers = earlier_link(request, page, query["limit"])
        output = self.OutputSerializer(conversation, context={"page": page})
        return Response(output.data, headers=headers)


# --- export -----------------------------------------------------------------------------------


class FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file to export, not one of DRF's renderers (which it would
    otherwise be, answering 404 for `md`): the answer is the file, or a JSON error."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))  # DRF passes the view's list of renderers
        return renderer, renderer.media_type


class ConversationExportApi(APIView):
    content_negotiation_class = FileFormatNegotiation
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "conversation_export"

    class QuerySerializer(serializers.Serializer[Any]):
        format = serializers.ChoiceField(
            choices=list(exports.FORMATS),
            default="md",
            help_text="md: Markdown to read; json: the conversation, its calls and messages.",
        )

    @extend_schema(
        operation_id="conversation_export",
        summary="Download one conversation as Markdown or JSON",
        description=(
            "An attachment named after the day it began, its title and its id. Both formats "
            "have every message in conversation order with its role, time (UTC), how it was "
            "made (`source`: spoken or typed) and whether it was interrupted, and the calls: "
            "when each started and ended, its mode and why it ended."
        ),
        parameters=[QuerySerializer],
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="Markdown"),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`{id, title, created_at, updated_at, exported_at, calls: [<call>], "
                "messages: [<item> + call]}`",
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, conversation_id: UUID) -> HttpResponse:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        extension = query.validated_data["format"]
        conversation = selectors.conversation_get(
            user=request_user(request), conversation_id=conversation_id
        )
        export = exports.conversation_export_get(conversation=conversation)
        response = HttpResponse(
            exports.export_render(export, extension), content_type=exports.FORMATS[extension]
        )
        filename = exports.export_filename(conversation, extension)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


class ConversationsExportApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "conversation_export"

    @extend_schema(
        operation_id="conversations_export_all",
        summary="Download all the user's conversations: a zip with each as .md and .json",
        description=(
            f"Refused (413 `payload_too_large`) past {exports.ZIP_MAX_BYTES // 1024 // 1024} MB "
            "zipped: then export conversations one by one."
        ),
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="zip"),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        archive = exports.conversations_zip(user=request_user(request))
        response = StreamingHttpResponse(_chunks(archive), content_type="application/zip")
        filename = f"conversations-{timezone.now():%Y-%m-%d}.zip"
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


async def _chunks(file: IO[bytes], size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """The file, read off the event loop (a sync iterator would be read whole into memory
    under ASGI first), then closed (a temporary file: deleted)."""
    read = sync_to_async(file.read, thread_sensitive=False)
    try:
        while chunk := await read(size):
            yield chunk
    finally:
        file.close()
