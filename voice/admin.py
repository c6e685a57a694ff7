"""Admin: users' keys (write-only, shown masked), the voice configuration singleton,
read-only calls and conversations with their messages, and usage: editable prices, per-user
budgets, and every billable use with totals per user and day (CSV too)."""

import csv
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from voice import selectors
from voice.models import (
    PRICE_UNIT_LABELS,
    Call,
    Conversation,
    EndReason,
    Message,
    Price,
    ToolSetting,
    Unit,
    UsageRecord,
    UserApiKey,
    UserBudget,
    VoiceConfig,
    VoicePreference,
)
from voice.services import keys as key_services
from voice.services.calls import call_end
from voice.services.hangups import calls_hang_up
from voice.services.tool_settings import tool_settings_switch, tool_settings_sync
from voice.tools import registered_tool
from voice.validators import OPENAI_KEY_PATTERN


class UserApiKeyForm(forms.ModelForm[UserApiKey]):
    api_key = forms.RegexField(
        label="OpenAI API key",
        regex=OPENAI_KEY_PATTERN,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        required=False,
        help_text="Write-only: stored encrypted and never shown again. Leave blank to keep the "
        "current key; delete this entry to clear it.",
        error_messages={"invalid": "That does not look like an OpenAI API key (sk-…)."},
    )

    class Meta:
        model = UserApiKey
        fields = ["user"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk and not cleaned.get("api_key"):
            self.add_error("api_key", "Enter the key to store.")
        return cleaned


@admin.register(UserApiKey)
class UserApiKeyAdmin(admin.ModelAdmin[UserApiKey]):
    form = UserApiKeyForm
    list_display = ["user", "masked", "updated_at"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["masked", "updated_at"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: UserApiKey | None = None
    ) -> list[str] | tuple[str, ...]:
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: UserApiKey, form: forms.Form, change: bool
    ) -> None:
        # Through the service, so encryption happens in exactly one place.
        if form.cleaned_data.get("api_key"):
            saved = key_services.api_key_set(user=obj.user, api_key=form.cleaned_data["api_key"])
            obj.pk, obj.encrypted_key, obj.last4 = saved.pk, saved.encrypted_key, saved.last4


@admin.register(VoiceConfig)
class VoiceConfigAdmin(admin.ModelAdmin[VoiceConfig]):
    fieldsets = [
        (
            "Realtime mode",
            {
                "fields": [
                    "realtime_enabled",
                    "realtime_model",
                    "voices",
                    "default_voice",
                    "transcription_model",
                ]
            },
        ),
        (
            "Realtime turn taking",
            {
                "description": (
                    "When the assistant answers in a Realtime call. Only the settings of the "
                    "chosen turn detection apply: threshold, silence and padding for server "
                    "VAD, eagerness for semantic VAD. A user with push-to-talk on (and every "
                    "user under Manual) talks only while holding the button: no detection "
                    "runs for that call, releasing the button sends the turn and asks for "
                    "the reply, and pressing it stops a reply being spoken."
                ),
                "fields": [
                    "turn_detection",
                    ("vad_threshold", "vad_silence_duration_ms", "vad_prefix_padding_ms"),
                    "vad_eagerness",
                    ("vad_interrupt_response", "vad_create_response"),
                    "push_to_talk_default",
                ],
            },
        ),
        ("Legacy mode", {"fields": ["stt_model", "llm_model", "tts_model", "tts_voices"]}),
        ("Both modes", {"fields": ["instructions", "key_policy", "context_messages"]}),
        (
            "Limits",
            {
                "fields": [
                    "max_call_minutes",
                    "idle_hangup_minutes",
                    "call_starts_per_minute",
                    "monthly_budget_usd",
                ]
            },
        ),
        (
            "Tools",
            {
                "fields": ["tool_timeout_s", "max_tool_calls_per_call"],
                "description": "Which tools the assistant may use is set under Tools.",
            },
        ),
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: VoiceConfig | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseRedirect:
        """There is one configuration: the list goes straight to it."""
        config = selectors.voice_config_get()
        return HttpResponseRedirect(reverse("admin:voice_voiceconfig_change", args=[config.pk]))


@admin.register(VoicePreference)
class VoicePreferenceAdmin(admin.ModelAdmin[VoicePreference]):
    list_display = ["user", "mode", "voice", "push_to_talk", "updated_at"]
    list_filter = ["mode", "push_to_talk"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


class ReadOnlyAdmin[M: Model](admin.ModelAdmin[M]):
    """Calls and transcripts are records of what happened: viewable, never edited here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


class MessageInline(admin.TabularInline[Message, Message]):
    model = Message
    fields = ["created_at", "role", "text", "interrupted", "tool", "item_id"]
    readonly_fields = ["created_at", "role", "text", "interrupted", "tool", "item_id"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class CallMessageInline(MessageInline):
    fk_name = "call"


class KeepsLiveCallsAdmin[M: Model](ReadOnlyAdmin[M]):
    """Ended records may be deleted; a live call may not, nor a conversation holding one:
    OpenAI's session and the user's page would go on with no record to end. Django's delete
    confirmation lists the live calls as protected and refuses, one object or a selection."""

    def live_calls(self, objs: Iterable[M]) -> list[Call]:
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Sequence[M] | QuerySet[M], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        live = [f"{call} (live: end it first)" for call in self.live_calls(objs)]
        return deleted, counts, perms_needed, [*protected, *live]


@admin.register(Call)
class CallAdmin(KeepsLiveCallsAdmin[Call]):
    list_display = ["id", "user", "mode", "status", "model", "started_at", "ended_reason"]
    list_filter = ["mode", "status", "ended_reason"]
    search_fields = ["user__username", "user__email", "upstream_call_id", "id"]
    date_hierarchy = "started_at"
    inlines = [CallMessageInline]
    actions = ["end_calls"]

    @admin.action(description="End the selected live calls (hung up at OpenAI)")
    def end_calls(self, request: HttpRequest, queryset: QuerySet[Call]) -> None:
        ended = [call_end(call=call, reason=EndReason.ADMIN) for call in queryset if call.is_live]
        # One attempt each: the monitor's sweep retries a hangup that fails (the key is kept).
        async_to_sync(calls_hang_up)(ended, attempts=1)
        self.message_user(request, f"Ended {len(ended)} live call(s).", messages.SUCCESS)

    def live_calls(self, objs: Iterable[Call]) -> list[Call]:
        return [call for call in objs if call.is_live]


@admin.register(Conversation)
class ConversationAdmin(KeepsLiveCallsAdmin[Conversation]):
    list_display = ["__str__", "user", "created_at", "updated_at"]
    search_fields = ["user__username", "user__email", "title"]
    inlines = [MessageInline]

    def live_calls(self, objs: Iterable[Conversation]) -> list[Call]:
        ids = [conversation.pk for conversation in objs]
        return list(Call.objects.filter(conversation__in=ids, status__in=Call.LIVE_STATUSES))


@admin.register(ToolSetting)
class ToolSettingAdmin(admin.ModelAdmin[ToolSetting]):
    """Every registered tool (`voice.tools`), with what the model is told it does, and a
    switch: a tool turned off is neither offered to the model nor run."""

    list_display = ["name", "enabled", "description", "registered"]
    list_editable = ["enabled"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    fields = ["name", "enabled", "description", "parameters", "updated_at"]
    readonly_fields = ["name", "description", "parameters", "updated_at"]
    actions = ["turn_on", "turn_off"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the rows come from the registry

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        tool_settings_sync()  # a tool registered since the last visit shows up, on
        return super().changelist_view(request, extra_context)

    @admin.display(description="what the model is told")
    def description(self, setting: ToolSetting) -> str:
        tool = registered_tool(setting.name)
        return tool.description if tool else "—"

    @admin.display(description="parameters")
    def parameters(self, setting: ToolSetting) -> str:
        tool = registered_tool(setting.name)
        if tool is None:
            return "—"
        return ", ".join(p.name for p in tool.parameters) or "none"

    @admin.display(boolean=True, description="registered")
    def registered(self, setting: ToolSetting) -> bool:
        return registered_tool(setting.name) is not None

    @admin.action(description="Turn the selected tools on")
    def turn_on(self, request: HttpRequest, queryset: QuerySet[ToolSetting]) -> None:
        changed = tool_settings_switch(names=[s.name for s in queryset], enabled=True)
        self.message_user(request, f"Turned {changed} tool(s) on.", messages.SUCCESS)

    @admin.action(description="Turn the selected tools off")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[ToolSetting]) -> None:
        changed = tool_settings_switch(names=[s.name for s in queryset], enabled=False)
        self.message_user(request, f"Turned {changed} tool(s) off.", messages.SUCCESS)


# --- usage, prices and budgets -----------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return response


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin[Price]):
    list_display = ["model", "unit", "usd", "per", "updated_at"]
    list_editable = ["usd"]
    list_filter = ["unit"]
    search_fields = ["model"]

    @admin.display(description="USD per")
    def per(self, price: Price) -> str:
        return PRICE_UNIT_LABELS[price.unit]


@admin.register(UserBudget)
class UserBudgetAdmin(admin.ModelAdmin[UserBudget]):
    list_display = ["user", "monthly_usd", "spent_this_month", "updated_at"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    @admin.display(description="spent this month (server key, USD)")
    def spent_this_month(self, budget: UserBudget) -> Decimal:
        return selectors.budget_get(user=budget.user).spent_usd


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin[UsageRecord]):
    """Every billable use, filterable by date, model, key source and kind; the list shows the
    total of what is filtered, and the summary the same per user and day (both as CSV)."""

    change_list_template = "admin/voice/usagerecord/change_list.html"
    list_display = ["created_at", "user", "kind", "model", "key_source", "cost", "call"]
    list_filter = [("created_at", admin.DateFieldListFilter), "key_source", "kind", "model"]
    search_fields = ["user__username", "user__email", "model"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    actions = ["export_csv"]

    def has_delete_permission(self, request: HttpRequest, obj: UsageRecord | None = None) -> bool:
        return False  # the month's spending is what budgets count

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("summary/", view(self.summary_view), name="voice_usagerecord_summary"),
            path("summary.csv", view(self.summary_csv), name="voice_usagerecord_summary_csv"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = response.context_data if isinstance(response, TemplateResponse) else None
        changelist = (context or {}).get("cl")
        if context is not None and changelist is not None:
            totals = selectors.usage_totals(records=changelist.queryset)
            context["usage_total"] = totals["cost"]
        return response

    @admin.action(description="Export the selected records as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[UsageRecord]) -> HttpResponse:
        header = ["created_at", "user", "call", "kind", "model", "key_source", *Unit.values]
        records = queryset.select_related("user").order_by("created_at")
        return _csv_response(
            "voice-usage.csv", [*header, "cost_usd"], (_record_row(r) for r in records)
        )

    def summary_view(self, request: HttpRequest) -> HttpResponse:
        return self._summary(request, self._summary_page)

    def summary_csv(self, request: HttpRequest) -> HttpResponse:
        return self._summary(request, self._summary_file)

    def _summary(
        self,
        request: HttpRequest,
        answer: Callable[[HttpRequest, QuerySet[UsageRecord]], HttpResponse],
    ) -> HttpResponse:
        """The records the changelist shows for the same query string, per user and day."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            records = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:  # a hand-edited query string
            return HttpResponseRedirect(reverse("admin:voice_usagerecord_summary"))
        return answer(request, records)

    def _summary_page(self, request: HttpRequest, records: QuerySet[UsageRecord]) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Usage per user and day",
            "opts": self.model._meta,
            "units": Unit.values,
            "rows": selectors.usage_per_user_day(records=records),
            "totals": selectors.usage_totals(records=records),
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/voice/usagerecord/summary.html", context)

    def _summary_file(self, request: HttpRequest, records: QuerySet[UsageRecord]) -> HttpResponse:
        rows = (
            [row["day"], row["username"], *row["units"].values(), row["cost"]]
            for row in selectors.usage_per_user_day(records=records)
        )
        header = ["day", "user", *Unit.values, "cost_usd"]
        return _csv_response("voice-usage-per-user-day.csv", header, rows)


def _record_row(record: UsageRecord) -> list[Any]:
    return [
        record.created_at.isoformat(),
        record.user.get_username(),
        record.call_id,
        record.kind,
        record.model,
        record.key_source,
        *record.units.values(),
        record.cost,
    ]
