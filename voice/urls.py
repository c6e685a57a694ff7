"""The core's REST endpoints, mounted under /api/ (no trailing slashes, as docs/api.md writes
them)."""

from django.urls import path

from voice.apis import calls, config, conversations, token, usage

urlpatterns = [
    path("voice/config", config.VoiceConfigApi.as_view(), name="voice-config"),
    path("voice/preferences", config.VoicePreferencesApi.as_view(), name="voice-preferences"),
    path("voice/key", config.ApiKeyApi.as_view(), name="voice-key"),
    path("voice/token", token.ApiTokenApi.as_view(), name="voice-token"),
    path("voice/usage", usage.UsageApi.as_view(), name="voice-usage"),
    path("calls", calls.CallListApi.as_view(), name="call-list"),
    path("calls/<uuid:call_id>", calls.CallDetailApi.as_view(), name="call-detail"),
    path(
        "calls/<uuid:call_id>/transcript",
        calls.CallTranscriptApi.as_view(),
        name="call-transcript",
    ),
    path("calls/<uuid:call_id>/active", calls.CallActiveApi.as_view(), name="call-active"),
    path("calls/<uuid:call_id>/end", calls.CallEndApi.as_view(), name="call-end"),
    path("conversations", conversations.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/export",
        conversations.ConversationsExportApi.as_view(),
        name="conversations-export",
    ),
    path(
        "conversations/<uuid:conversation_id>",
        conversations.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
    path(
        "conversations/<uuid:conversation_id>/export",
        conversations.ConversationExportApi.as_view(),
        name="conversation-export",
    ),
]
