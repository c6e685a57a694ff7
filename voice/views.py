"""The call page (HTML). The page's behaviour lives in its ES modules; this only renders it."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from voice import selectors
from voice.models import Call
from voice.serializers import ApiKeyOutputSerializer, CallSerializer, ClientConfigSerializer
from voice.users import request_user

ID_PLACEHOLDER = uuid.UUID(int=0)

# Every address the page's modules use, by URL name, with the name of its id argument for
# routes that take one. The page gets them once (json_script "voice-urls", read by
# static/js/urls.js), so no module writes a path of its own.
PAGE_ROUTES: dict[str, str | None] = {
    "voice-config": None,
    "voice-preferences": None,
    "voice-key": None,
    "voice-usage": None,
    "call-list": None,
    "call-detail": "call_id",
    "call-transcript": "call_id",
    "call-active": "call_id",
    "call-end": "call_id",
    "conversation-list": None,
    "conversation-detail": "conversation_id",
    "conversation-export": "conversation_id",
    "conversation-message-create": "conversation_id",
    "realtime-session": None,
    "legacy-call-create": None,
    "legacy-transcribe": None,
    "legacy-reply": None,
    "legacy-speech": None,
}


@login_required
def call_page(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    conversation_id = request.GET.get("conversation")
    conversation = None
    if conversation_id:
        conversation = selectors.conversation_get_or_none(
            user=user, conversation_id=conversation_id
        )
    conversation = conversation or selectors.conversation_latest(user=user)
    messages = selectors.conversation_messages(conversation=conversation) if conversation else []
    return render(
        request,
        "voice/call.html",
        {
            "conversation": conversation,
            "messages": messages,
            "client_config": ClientConfigSerializer(selectors.client_config(user=user)).data,
            "simulator": settings.VOICE_SIMULATOR,
            "active_call": _call_data(selectors.call_live_get(user=user)),
            "api_key": ApiKeyOutputSerializer(selectors.api_key_data(user=user)).data,
            "page_urls": page_urls(),
        },
    )


def page_urls() -> dict[str, Any]:
    """The page's addresses (PAGE_ROUTES and the status socket), reversed like {% url %} does;
    those that take an id are rendered with ID_PLACEHOLDER in its place, and the page's modules
    swap the real id in."""
    routes = {
        name: reverse(name, kwargs={argument: ID_PLACEHOLDER} if argument else None)
        for name, argument in PAGE_ROUTES.items()
    }
    # The socket's route is the ASGI router's (voice/routing.py), not the root URLconf's.
    routes["voice-status"] = reverse("voice-status", urlconf="voice.routing")
    return {"placeholder": str(ID_PLACEHOLDER), "routes": routes}


def _call_data(call: Call | None) -> dict[str, Any] | None:
    return dict(CallSerializer(call).data) if call else None
