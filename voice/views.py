"""The call page (HTML). The page's behaviour lives in its ES modules; this only renders it."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from voice import selectors
from voice.models import Call
from voice.serializers import CallSerializer
from voice.users import request_user

ID_PLACEHOLDER = uuid.UUID(int=0)


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
            "client_config": selectors.client_config(user=user),
            "simulator": settings.VOICE_SIMULATOR,
            "active_call": _call_data(selectors.call_live_get(user=user)),
            "api_key": selectors.api_key_data(user=user),
            # The page's API addresses come from {% url %}; those that take an id are rendered
            # with this one in its place, and the page's modules swap the real id in.
            "id_placeholder": ID_PLACEHOLDER,
        },
    )


def _call_data(call: Call | None) -> dict[str, Any] | None:
    return dict(CallSerializer(call).data) if call else None
