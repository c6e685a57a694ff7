"""Admin: users' keys (write-only, shown masked), the voice configuration singleton, and
read-only calls and conversations with their messages."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from voice import selectors
from voice.models import Call, Conversation, Message, UserApiKey, VoiceConfig, VoicePreference
from voice.services import keys as key_services
from voice.validators import OPENAI_KEY_PATTERN


class UserApiKeyForm(forms.ModelForm):
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

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("api_key"):
            self.add_error("api_key", "Enter the key to store.")
        return cleaned


@admin.register(UserApiKey)
class UserApiKeyAdmin(admin.ModelAdmin):
    form = UserApiKeyForm
    list_display = ["user", "masked", "updated_at"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["masked", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # Through the service, so encryption happens in exactly one place.
        if form.cleaned_data.get("api_key"):
            saved = key_services.api_key_set(user=obj.user, api_key=form.cleaned_data["api_key"])
            obj.pk, obj.encrypted_key, obj.last4 = saved.pk, saved.encrypted_key, saved.last4


@admin.register(VoiceConfig)
class VoiceConfigAdmin(admin.ModelAdmin):
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
                    "turn_detection",
                ]
            },
        ),
        ("Legacy mode", {"fields": ["stt_model", "llm_model", "tts_model", "tts_voices"]}),
        ("Both modes", {"fields": ["instructions", "key_policy", "context_messages"]}),
        (
            "Limits",
            {"fields": ["max_call_minutes", "idle_hangup_minutes", "call_starts_per_minute"]},
        ),
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """There is one configuration: the list goes straight to it."""
        config = selectors.voice_config_get()
        return HttpResponseRedirect(reverse("admin:voice_voiceconfig_change", args=[config.pk]))


@admin.register(VoicePreference)
class VoicePreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "mode", "voice", "updated_at"]
    list_filter = ["mode"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Calls and transcripts are records of what happened: viewable, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "role", "text", "interrupted", "item_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CallMessageInline(MessageInline):
    fk_name = "call"


class KeepsLiveCallsAdmin(ReadOnlyAdmin):
    """Ended records may be deleted; a live call may not, nor a conversation holding one:
    OpenAI's session and the user's page would go on with no record to end. Django's delete
    confirmation lists the live calls as protected and refuses, one object or a selection."""

    def live_calls(self, objs) -> list[Call]:
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        live = [f"{call} (live: end it first)" for call in self.live_calls(objs)]
        return deleted, counts, perms_needed, [*protected, *live]


@admin.register(Call)
class CallAdmin(KeepsLiveCallsAdmin):
    list_display = ["id", "user", "mode", "status", "model", "started_at", "ended_reason"]
    list_filter = ["mode", "status"]
    search_fields = ["user__username", "user__email", "upstream_call_id", "id"]
    date_hierarchy = "started_at"
    inlines = [CallMessageInline]

    def live_calls(self, objs) -> list[Call]:
        return [call for call in objs if call.is_live]


@admin.register(Conversation)
class ConversationAdmin(KeepsLiveCallsAdmin):
    list_display = ["__str__", "user", "created_at", "updated_at"]
    search_fields = ["user__username", "user__email", "title"]
    inlines = [MessageInline]

    def live_calls(self, objs) -> list[Call]:
        ids = [conversation.pk for conversation in objs]
        return list(Call.objects.filter(conversation__in=ids, status__in=Call.LIVE_STATUSES))
