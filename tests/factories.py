"""Small factories for the models; each makes a valid row with overridable fields."""

import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model

from voice.models import Call, Conversation, Message, Price, UsageRecord
from voice.search import search_index_rebuild

_numbers = itertools.count(1)


def make_user(username: str | None = None, **fields):
    username = username or f"user{next(_numbers)}"
    return get_user_model().objects.create_user(
        username=username, password="correct horse battery staple", **fields
    )


def make_conversation(user, **fields) -> Conversation:
    conversation = Conversation.objects.create(user=user, **fields)
    if conversation.title:
        search_index_rebuild(conversation_id=conversation.pk)  # as a rename would
    return conversation


def make_call(user, *, conversation=None, **fields) -> Call:
    fields.setdefault("mode", "realtime")
    fields.setdefault("status", Call.Status.ACTIVE)
    conversation = conversation or make_conversation(user)
    return Call.objects.create(user=user, conversation=conversation, **fields)


def make_message(call: Call, **fields) -> Message:
    fields.setdefault("item_id", f"item_{next(_numbers)}")
    fields.setdefault("role", "user")
    fields.setdefault("text", "hello")
    assert call.conversation is not None
    message = Message.objects.create(conversation=call.conversation, call=call, **fields)
    # Searchable on PostgreSQL, as a message saved through the transcript services is.
    search_index_rebuild(conversation_id=call.conversation.pk)
    return message


def make_earlier_conversation(user, text: str, *, mode: str = "realtime", **fields) -> Conversation:
    """A conversation of an ended call in which `text` was said: what the tool tests have the
    assistant search for (`search_conversations`)."""
    conversation = make_conversation(user, **fields)
    make_message(make_call(user, conversation=conversation, mode=mode, status="ended"), text=text)
    return conversation


def make_price(model: str, **usd_per_unit) -> list[Price]:
    """Prices of `model`, e.g. make_price("gpt-4o-mini", text_in="0.15", text_out="0.60")."""
    return [
        Price.objects.update_or_create(model=model, unit=unit, defaults={"usd": Decimal(usd)})[0]
        for unit, usd in usd_per_unit.items()
    ]


def make_usage(user, *, cost: str, call=None, **fields) -> UsageRecord:
    fields.setdefault("kind", UsageRecord.Kind.REPLY)
    fields.setdefault("model", "gpt-4o-mini")
    fields.setdefault("key_source", "server")
    return UsageRecord.objects.create(user=user, call=call, cost=Decimal(cost), **fields)
