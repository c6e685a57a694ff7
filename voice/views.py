"""The call page (HTML). The page's behaviour lives in its ES modules; this only renders it."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from voice import selectors
from voice.models import Call
from voice.serializers import CallSerializer


@login_required
def call_page(request: HttpRequest) -> HttpResponse:
    conversation_id = request.GET.get("conversation")
    conversation = None
    if conversation_id:
        conversation = selectors.conversation_get_or_none(
            user=request.user, conversation_id=conversation_id
        )
    conversation = conversation or selectors.conversation_latest(user=request.user)
    messages = selectors.conversation_messages(conversation=conversation) if conversation else []
    return render(
        request,
        "voice/call.html",
        {
            "conversation": conversation,
            "messages": messages,
            "client_config": selectors.client_config(user=request.user),
            "simulator": settings.VOICE_SIMULATOR,
            "active_call": _call_data(selectors.call_live_get(user=request.user)),
            "api_key": selectors.api_key_data(user=request.user),
        },
    )


def _call_data(call: Call | None) -> dict | None:
    return CallSerializer(call).data if call else None
