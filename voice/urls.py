"""The core's REST endpoints, mounted under /api/ (no trailing slashes, as API.md writes them)."""

from django.urls import path

from voice import apis

urlpatterns = [
    path("voice/config", apis.VoiceConfigApi.as_view(), name="voice-config"),
    path("voice/preferences", apis.VoicePreferencesApi.as_view(), name="voice-preferences"),
    path("voice/key", apis.ApiKeyApi.as_view(), name="voice-key"),
    path("voice/token", apis.ApiTokenApi.as_view(), name="voice-token"),
    path("voice/usage", apis.UsageApi.as_view(), name="voice-usage"),
    path("calls", apis.CallListApi.as_view(), name="call-list"),
    path("calls/<uuid:call_id>", apis.CallDetailApi.as_view(), name="call-detail"),
    path(
        "calls/<uuid:call_id>/transcript",
        apis.CallTranscriptApi.as_view(),
        name="call-transcript",
    ),
    path("calls/<uuid:call_id>/active", apis.CallActiveApi.as_view(), name="call-active"),
    path("calls/<uuid:call_id>/end", apis.CallEndApi.as_view(), name="call-end"),
    path("conversations", apis.ConversationListApi.as_view(), name="conversation-list"),
    path(
        "conversations/<uuid:conversation_id>",
        apis.ConversationDetailApi.as_view(),
        name="conversation-detail",
    ),
]
