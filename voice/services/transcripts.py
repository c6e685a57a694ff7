"""Saving transcript items: an idempotent upsert keyed by (conversation, item_id), and the
limits a client's saves are held to (`voice.limits`)."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from voice import errors, limits, search
from voice.events import publish_to_user
from voice.models import Call, Conversation, Message
from voice.serializers import ItemSerializer

TITLE_MAX_CHARS = 80


@transaction.atomic
def transcript_save(*, call: Call, items: list[dict[str, Any]]) -> list[Message]:
    """A client's save (POST /api/calls/<id>/transcript): refused once the call ended more
    than `LATE_SAVE_GRACE` ago, or when it would take the call past its item limit.

    The call row is locked first, so concurrent saves to one call are counted one at a time.
    """
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.ended_at and timezone.now() - call.ended_at > limits.LATE_SAVE_GRACE:
        minutes = int(limits.LATE_SAVE_GRACE.total_seconds() // 60)
        raise errors.call_ended(
            f"This call ended more than {minutes} minutes ago: its transcript is closed."
        )
    item_ids = [item["item_id"] for item in items]
    tool_item = (
        Message.objects.filter(
            conversation=call.conversation_id, item_id__in=item_ids, role=Message.Role.TOOL
        )
        .values_list("item_id", flat=True)
        .first()
    )
    if tool_item is not None:  # the server's record of what the assistant did
        raise errors.VoiceError(f"Item {tool_item} records a tool call: it cannot be changed.")
    transcript_room_check(call=call, item_ids=item_ids)
    return transcript_upsert(call=call, items=items)


def transcript_room_check(*, call: Call, item_ids: Iterable[str]) -> None:
    """Refuse items that would take `call` past `TRANSCRIPT_ITEMS_PER_CALL` (413); items
    already saved are replaced, not added, so a retry always fits."""
    if call.conversation_id is None:  # a failed start: transcript_upsert refuses it
        return
    wanted = set(item_ids)
    known = set(
        Message.objects.filter(
            conversation_id=call.conversation_id, item_id__in=wanted
        ).values_list("item_id", flat=True)
    )
    added = len(wanted - known)
    if not added:
        return
    if Message.objects.filter(call=call).count() + added > limits.TRANSCRIPT_ITEMS_PER_CALL:
        raise errors.over_limit(
            f"A call keeps at most {limits.TRANSCRIPT_ITEMS_PER_CALL:,} transcript items, "
            "and this one is full."
        )


@transaction.atomic
def transcript_upsert(
    *, call: Call, items: list[dict[str, Any]], keep_existing: bool = False
) -> list[Message]:
    """Insert or replace items of `call` by `item_id`; retries and concurrent saves never
    duplicate (see `_messages_upsert`). Each saved item is published as `call.transcript`."""
    if call.conversation_id is None:  # a start that failed before anything was said
        raise errors.call_ended()
    saved = _messages_upsert(
        conversation_id=call.conversation_id, call=call, items=items, keep_existing=keep_existing
    )
    for message in saved:
        publish_to_user(
            user_id=call.user_id,
            message={
                "type": "call.transcript",
                "call_id": str(call.id),
                "item": ItemSerializer(message).data,
            },
        )
    return saved


@transaction.atomic
def conversation_messages_upsert(
    *, conversation: Conversation, items: list[dict[str, Any]], keep_existing: bool = False
) -> list[Message]:
    """Items typed (and replied to) outside any call: the same upsert, with no call, and
    nothing published (the `call.transcript` push belongs to a call)."""
    return _messages_upsert(
        conversation_id=conversation.pk, call=None, items=items, keep_existing=keep_existing
    )


def _messages_upsert(
    *, conversation_id: UUID, call: Call | None, items: list[dict[str, Any]], keep_existing: bool
) -> list[Message]:
    """Insert or replace items by `item_id`, within a transaction.

    A later text for an item replaces the earlier one; `previous_item_id` and `source` are kept
    when a later save does not know them. With `keep_existing`, items already saved are left as
    they are (a server-side fallback must not overwrite what the client saved).
    """
    latest = {item["item_id"]: item for item in items}  # within one request, the last wins
    known = {
        item_id: (previous, source, text)
        for item_id, previous, source, text in Message.objects.filter(
            conversation_id=conversation_id, item_id__in=latest
        ).values_list("item_id", "previous_item_id", "source", "text")
    }
    rows = [
        Message(
            conversation_id=conversation_id,
            call=call,
            item_id=item_id,
            previous_item_id=item.get("previous_item_id") or known.get(item_id, ("",))[0],
            role=item["role"],
            text=item["text"],
            interrupted=item.get("interrupted", False),
            # A save that does not say how the turn was made keeps what an earlier one said.
            source=item.get("source") or known.get(item_id, ("", Message.Source.VOICE))[1],
        )
        for item_id, item in latest.items()
    ]
    if keep_existing:
        rows = [row for row in rows if row.item_id not in known]
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        latest = {row.item_id: latest[row.item_id] for row in rows}
    else:
        # One INSERT … ON CONFLICT DO UPDATE: atomic against a concurrent save of the same item.
        Message.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["conversation", "item_id"],
            update_fields=[
                "role",
                "text",
                "interrupted",
                "previous_item_id",
                "source",
                "updated_at",
            ],
        )
    saved = list(Message.objects.filter(conversation_id=conversation_id, item_id__in=latest))
    _touch_conversation(conversation_id, saved)
    _index(conversation_id, saved, known_texts={i: known[i][2] for i in known})
    return saved


def _index(conversation_id: UUID, saved: list[Message], *, known_texts: dict[str, str]) -> None:
    """Keep the conversation's search index: new messages' words are added; a changed text (a
    reply cut to what was heard) rebuilds it, so the words it lost stop matching."""
    if any(m.item_id in known_texts and known_texts[m.item_id] != m.text for m in saved):
        search.search_index_rebuild(conversation_id=conversation_id)
    else:
        added = [m.text for m in saved if m.item_id not in known_texts and m.text]
        search.search_index_add(conversation_id=conversation_id, texts=added)


def _touch_conversation(conversation_id: UUID, saved: list[Message]) -> None:
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    conversation.updated_at = timezone.now()
    fields = ["updated_at"]
    first_user_text = next((m.text for m in saved if m.role == "user" and m.text.strip()), "")
    if not conversation.title and first_user_text:
        conversation.title = _title_from(first_user_text)
        fields.append("title")
    conversation.save(update_fields=fields)


def _title_from(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= TITLE_MAX_CHARS:
        return text
    return text[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"


@transaction.atomic
def transcript_fill(*, call: Call, items: list[dict[str, Any]]) -> list[Message]:
    """The call monitor's save: fill in what the page has not saved, never overwrite it.

    An item nobody saved is inserted; an item saved whole that the monitor knows was cut off
    becomes interrupted with the monitor's heard text (the page died before it could say so);
    anything else the page saved wins, above all its "as heard" text of an interrupted reply.
    """
    if call.conversation_id is None:  # a failed start: nothing was said
        return []
    existing = {
        m.item_id: m
        for m in Message.objects.filter(
            conversation_id=call.conversation_id, item_id__in=[i["item_id"] for i in items]
        )
    }
    missing = [item for item in items if item["item_id"] not in existing]
    cut_off = [
        item
        for item in items
        if item.get("interrupted")
        and item["item_id"] in existing
        and not existing[item["item_id"]].interrupted
    ]
    saved = transcript_upsert(call=call, items=missing, keep_existing=True) if missing else []
    if cut_off:
        saved += transcript_upsert(call=call, items=cut_off)
    return saved
