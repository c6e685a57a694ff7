"""REST endpoints of the core (API.md): configuration, preferences, key, calls, conversations.

Each view validates the request's shape, calls one service or selector and serializes the
answer. Errors leave through `voice.exception_handlers`.
"""

from datetime import UTC
from urllib.parse import urlencode

from adrf.views import APIView as AsyncAPIView
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from voice import errors, limits, selectors
from voice.models import EndReason, Message, Mode
from voice.schema import ERRORS
from voice.serializers import CallSerializer, ItemSerializer
from voice.services import calls as call_services
from voice.services import keys as key_services
from voice.services import preferences as preference_services
from voice.services import tokens as token_services
from voice.services import transcripts as transcript_services
from voice.services.hangups import call_end_and_hang_up
from voice.validators import ITEM_ID_MESSAGE, ITEM_ID_PATTERN, OPENAI_KEY_PATTERN

# --- configuration and preferences -------------------------------------------------------------


class _RealtimeConfigSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["disabled", "no_api_key"], allow_null=True)
    model = serializers.CharField()
    voices = serializers.ListField(child=serializers.CharField())
    default_voice = serializers.CharField()


class _LegacyConfigSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["no_api_key"], allow_null=True)
    stt = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    tts = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    voices = serializers.ListField(child=serializers.CharField())


class PreferenceOutputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Mode.choices)
    voice = serializers.CharField()


class VoiceConfigApi(APIView):
    @extend_schema_serializer(component_name="VoiceConfig")
    class OutputSerializer(serializers.Serializer):
        realtime = _RealtimeConfigSerializer()
        legacy = _LegacyConfigSerializer()
        preference = PreferenceOutputSerializer()

    @extend_schema(
        summary="What this user can use: realtime and legacy availability, voices, preference",
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.client_config(user=request.user))


class VoicePreferencesApi(APIView):
    @extend_schema_serializer(component_name="PreferencesUpdate")
    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=Mode.choices, required=False)
        voice = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=50,
            help_text="One of the configured voices; blank for the default voice.",
        )

        def validate_voice(self, voice: str) -> str:
            config = selectors.voice_config_get()
            if voice and voice not in {*config.voices, *config.tts_voices}:
                raise serializers.ValidationError(
                    f"{voice!r} is not one of the voices offered here.", code="invalid_voice"
                )
            return voice

    @extend_schema(
        summary="The user's mode and voice", responses={200: PreferenceOutputSerializer, **ERRORS}
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.preference_data(user=request.user))

    @extend_schema(
        summary="Change the user's mode and/or voice",
        request=InputSerializer,
        responses={200: PreferenceOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preference_services.preference_update(user=request.user, **serializer.validated_data)
        return Response(selectors.preference_data(user=request.user))


# --- the user's own OpenAI key -----------------------------------------------------------------


class ApiKeyOutputSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    masked = serializers.CharField(allow_null=True, help_text="e.g. sk-…abcd; never the key.")


class ApiKeyApi(APIView):
    @extend_schema_serializer(component_name="ApiKeyUpdate")
    class InputSerializer(serializers.Serializer):
        api_key = serializers.RegexField(
            OPENAI_KEY_PATTERN,
            write_only=True,
            help_text="An OpenAI API key (sk-…). Stored encrypted; never returned.",
            error_messages={"invalid": "That does not look like an OpenAI API key (sk-…)."},
        )

    @extend_schema(
        summary="Whether the user has their own key (masked)",
        responses={200: ApiKeyOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.api_key_data(user=request.user))

    @extend_schema(
        summary="Set or replace the user's own OpenAI key",
        request=InputSerializer,
        responses={200: ApiKeyOutputSerializer, **ERRORS},
    )
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key_services.api_key_set(user=request.user, **serializer.validated_data)
        return Response(selectors.api_key_data(user=request.user))

    @extend_schema(
        summary="Remove the user's own key", responses={200: ApiKeyOutputSerializer, **ERRORS}
    )
    def delete(self, request: Request) -> Response:
        key_services.api_key_clear(user=request.user)
        return Response(selectors.api_key_data(user=request.user))


# --- the user's API token (for integrations) --------------------------------------------------


_NO_STORE = {"Cache-Control": "no-store"}


class ApiTokenOutputSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)


class ApiTokenApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "voice_token"

    @extend_schema_serializer(component_name="ApiTokenCreated")
    class CreatedSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField(
            help_text="Shown this once, never again: send it as `Authorization: Token <token>`."
        )

    @extend_schema(
        summary="Whether the user has an API token (never the token)",
        responses={200: ApiTokenOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(ApiTokenOutputSerializer(selectors.api_token_data(user=request.user)).data)

    @extend_schema(
        summary="Create or rotate the user's API token (the old one stops working)",
        request=None,
        responses={201: CreatedSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        token = token_services.api_token_rotate(user=request.user)
        body = {"configured": True, "created_at": token.created, "token": token.key}
        # The only time the token is sent: keep it out of every cache on the way.
        return Response(self.CreatedSerializer(body).data, status=201, headers=_NO_STORE)

    @extend_schema(
        summary="Revoke the user's API token", request=None, responses={204: None, **ERRORS}
    )
    def delete(self, request: Request) -> Response:
        token_services.api_token_revoke(user=request.user)
        return Response(status=204)


# --- calls ------------------------------------------------------------------------------------


class CallListApi(ListAPIView):
    serializer_class = CallSerializer

    def get_queryset(self):
        return selectors.call_list(user=self.request.user)

    @extend_schema(
        summary="The user's calls, newest first (paginated)",
        responses={200: CallSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class PageQuerySerializer(serializers.Serializer):
    """`?before=&limit=` on the reads that list a transcript (the latest page by default)."""

    before = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,  # a message id; PostgreSQL's bigint refuses anything larger
        help_text="A cursor from the `Link` header of the page read before: the page before it.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=limits.READ_PAGE_MAX,
        default=limits.READ_PAGE_DEFAULT,
        help_text=f"Items per page (default {limits.READ_PAGE_DEFAULT}, "
        f"at most {limits.READ_PAGE_MAX}).",
    )


def _page_query(request: Request) -> dict:
    query = PageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _earlier_link(request: Request, page: selectors.MessagePage, limit: int) -> dict:
    """RFC 8288 `Link: <…?before=…>; rel="prev"` when earlier items exist: the body keeps
    API.md's shape exactly, as on an unpaged read."""
    if page.earlier is None:
        return {}
    query = urlencode({"before": page.earlier, "limit": limit})
    return {"Link": f'<{request.path}?{query}>; rel="prev"'}


_PAGING = (
    f"The latest {limits.READ_PAGE_DEFAULT} items by default, in conversation order (the "
    "`previous_item_id` chain within the page). When earlier items exist, the response has "
    '`Link: </api/…?before=<cursor>&limit=<n>>; rel="prev"`, the page before. `?limit=` '
    f"sets the page size (at most {limits.READ_PAGE_MAX})."
)
_LINK_HEADER = OpenApiParameter(
    "Link",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='`<url>; rel="prev"`: the page of earlier items, when there is one.',
)


class CallDetailApi(APIView):
    @extend_schema_serializer(component_name="CallDetail")
    class OutputSerializer(CallSerializer):
        transcript = ItemSerializer(many=True, help_text="In conversation order (one page).")
        cost = serializers.DecimalField(
            max_digits=12,
            decimal_places=6,
            help_text="USD so far, whoever paid (Realtime usage arrives as each response ends).",
        )

    @extend_schema(
        summary="One call with its transcript (paged: the latest items by default)",
        description=_PAGING,
        parameters=[PageQuerySerializer, _LINK_HEADER],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request, call_id) -> Response:
        call = selectors.call_get(user=request.user, call_id=call_id)
        query = _page_query(request)
        page = selectors.call_transcript_page(call=call, **query)
        call.transcript = page.messages
        call.cost = selectors.call_cost(call=call)
        headers = _earlier_link(request, page, query["limit"])
        return Response(self.OutputSerializer(call).data, headers=headers)


class TranscriptItemInputSerializer(serializers.Serializer):
    item_id = serializers.RegexField(
        ITEM_ID_PATTERN,
        help_text=f"OpenAI's item id, or the client's (1–{limits.ITEM_ID_MAX_CHARS} of "
        "A–Z a–z 0–9 _ . : -).",
        error_messages={"invalid": ITEM_ID_MESSAGE},
    )
    role = serializers.ChoiceField(choices=Message.Role.choices)
    text = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=limits.TRANSCRIPT_ITEM_TEXT_CHARS,
        help_text=f"At most {limits.TRANSCRIPT_ITEM_TEXT_CHARS:,} characters.",
    )
    interrupted = serializers.BooleanField(required=False, default=False)
    previous_item_id = serializers.RegexField(
        ITEM_ID_PATTERN,
        required=False,
        allow_null=True,
        error_messages={"invalid": ITEM_ID_MESSAGE},
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("previous_item_id") == attrs["item_id"]:
            raise serializers.ValidationError("An item cannot follow itself.")
        return attrs


class CallTranscriptApi(APIView):
    @extend_schema_serializer(component_name="TranscriptSave")
    class InputSerializer(serializers.Serializer):
        items = TranscriptItemInputSerializer(
            many=True,
            allow_empty=False,
            help_text=f"At most {limits.TRANSCRIPT_ITEMS_PER_REQUEST} items per request.",
        )

        def to_internal_value(self, data):
            # Counted before any item is validated: a long list costs nothing to refuse.
            items = data.get("items") if isinstance(data, dict) else None
            if isinstance(items, list) and len(items) > limits.TRANSCRIPT_ITEMS_PER_REQUEST:
                raise errors.over_limit(
                    f"Send at most {limits.TRANSCRIPT_ITEMS_PER_REQUEST} items per request."
                )
            return super().to_internal_value(data)

    @extend_schema_serializer(component_name="TranscriptSaved")
    class OutputSerializer(serializers.Serializer):
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
    def post(self, request: Request, call_id) -> Response:
        call = selectors.call_get(user=request.user, call_id=call_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = transcript_services.transcript_save(
            call=call, items=serializer.validated_data["items"]
        )
        return Response({"saved": len(saved)})


class CallActiveApi(APIView):
    @extend_schema(
        summary="Report that the call's media path is up (connecting → active)",
        request=None,
        responses={200: CallSerializer, **ERRORS},
    )
    def post(self, request: Request, call_id) -> Response:
        call = selectors.call_get(user=request.user, call_id=call_id)
        call = call_services.call_mark_active(call=call)
        return Response(CallSerializer(call).data)


class CallEndApi(AsyncAPIView):
    class InputSerializer(serializers.Serializer):
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
    async def post(self, request: Request, call_id) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        call = await call_end_and_hang_up(
            user=request.user, call_id=call_id, reason=serializer.validated_data["reason"]
        )
        return Response(CallSerializer(call).data)


# --- conversations ----------------------------------------------------------------------------


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    message_count = serializers.IntegerField()


class ConversationListApi(ListAPIView):
    serializer_class = ConversationSerializer

    def get_queryset(self):
        return selectors.conversation_list(user=self.request.user)

    @extend_schema(
        summary="The user's conversations, most recently active first (paginated)",
        responses={200: ConversationSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ConversationMessageSerializer(ItemSerializer):
    call = serializers.UUIDField(source="call_id", allow_null=True)


class ConversationDetailApi(APIView):
    @extend_schema_serializer(component_name="ConversationDetail")
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        title = serializers.CharField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        messages = ConversationMessageSerializer(
            many=True, source="page.messages", help_text="In conversation order (one page)."
        )

    @extend_schema(
        summary="One conversation with its messages (paged: the latest by default)",
        description=_PAGING,
        parameters=[PageQuerySerializer, _LINK_HEADER],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request, conversation_id) -> Response:
        conversation = selectors.conversation_get(
            user=request.user, conversation_id=conversation_id
        )
        query = _page_query(request)
        conversation.page = selectors.conversation_message_page(conversation=conversation, **query)
        headers = _earlier_link(request, conversation.page, query["limit"])
        return Response(self.OutputSerializer(conversation).data, headers=headers)


# --- usage and budget -------------------------------------------------------------------------

MAX_USAGE_DAYS = 366


class UsageQuerySerializer(serializers.Serializer):
    """`from` is a Python keyword, so the fields are declared here rather than as attributes."""

    def get_fields(self) -> dict:
        return {
            "from": serializers.DateField(
                required=False, help_text="First day (UTC), YYYY-MM-DD; default: the 1st."
            ),
            "to": serializers.DateField(
                required=False, help_text="Last day (UTC), included; default: today."
            ),
            "group": serializers.ChoiceField(choices=["day", "call"], default="day"),
            "user": serializers.RegexField(
                r"^(all|[1-9][0-9]{0,17})$",
                required=False,
                help_text="Staff only: a user id, or `all` for everyone. Default: yourself.",
            ),
        }

    def validate(self, attrs: dict) -> dict:
        today = timezone.now().astimezone(UTC).date()
        attrs.setdefault("to", today)
        attrs.setdefault("from", attrs["to"].replace(day=1))
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError("`from` must not be after `to`.")
        if (attrs["to"] - attrs["from"]).days >= MAX_USAGE_DAYS:
            raise serializers.ValidationError(f"Ask for at most {MAX_USAGE_DAYS} days at a time.")
        return attrs


class UsageUnitsSerializer(serializers.Serializer):
    text_in = serializers.IntegerField(help_text="Text input tokens, not cached.")
    text_in_cached = serializers.IntegerField()
    text_out = serializers.IntegerField()
    audio_in = serializers.IntegerField(help_text="Audio input tokens, not cached.")
    audio_in_cached = serializers.IntegerField()
    audio_out = serializers.IntegerField()
    audio_seconds = serializers.DecimalField(max_digits=14, decimal_places=3)
    characters = serializers.IntegerField()


class UsageRowSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="With group=day: the UTC day.")
    call = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="With group=call: the call (null once its conversation was deleted).",
    )
    cost = serializers.DecimalField(max_digits=20, decimal_places=6)
    units = UsageUnitsSerializer()

    def to_representation(self, row: dict) -> dict:
        """A row has `date` or `call`, whichever it was grouped by."""
        data = super().to_representation(row)
        return {name: value for name, value in data.items() if name in row}


class BudgetSerializer(serializers.Serializer):
    monthly_usd = serializers.DecimalField(
        max_digits=10, decimal_places=2, allow_null=True, help_text="null: unlimited."
    )
    spent_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text="This month, of the server's key only."
    )
    resets_at = serializers.DateField(help_text="The 1st of next month, 00:00 UTC.")


class UsageApi(APIView):
    @extend_schema_serializer(component_name="Usage")
    class OutputSerializer(serializers.Serializer):
        currency = serializers.ChoiceField(choices=["USD"])
        total_cost = serializers.DecimalField(max_digits=20, decimal_places=6)
        results = UsageRowSerializer(many=True)
        budget = BudgetSerializer(allow_null=True, help_text="null with user=all.")

    @extend_schema(
        summary="Usage and cost per day or per call, and this month's budget",
        description=(
            "Costs are USD strings to the micro-dollar, at the prices of the moment each use "
            "was recorded. Days are UTC; budgets count calendar months in UTC and only what "
            "the server's key paid. Staff may pass `user=<id>` or `user=all`."
        ),
        parameters=[UsageQuerySerializer],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subject = selectors.usage_subject(
            viewer=request.user, user=query.validated_data.get("user")
        )
        report = selectors.usage_report(
            user=subject,
            start=query.validated_data["from"],
            end=query.validated_data["to"],
            group=query.validated_data["group"],
        )
        budget = selectors.budget_get(user=subject) if subject is not None else None
        data = {"currency": "USD", **report, "budget": budget}
        return Response(self.OutputSerializer(data).data)
