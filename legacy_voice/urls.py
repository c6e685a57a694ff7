from django.urls import path

from legacy_voice import apis

urlpatterns = [
    path("legacy/calls", apis.LegacyCallCreateApi.as_view(), name="legacy-call-create"),
    path("legacy/transcriptions", apis.TranscriptionCreateApi.as_view(), name="legacy-transcribe"),
    path("legacy/replies", apis.ReplyCreateApi.as_view(), name="legacy-reply"),
    path("legacy/speech", apis.SpeechCreateApi.as_view(), name="legacy-speech"),
    # A typed turn outside a call takes the Legacy reply path, under the conversation's URL.
    path(
        "conversations/<uuid:conversation_id>/messages",
        apis.ConversationMessageCreateApi.as_view(),
        name="conversation-message-create",
    ),
]
