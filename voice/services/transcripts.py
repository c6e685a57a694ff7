"""Saving transcript items: an idempotent upsert keyed by (conversation, item_id)."""

from django.db import transaction
from django.utils import timezone

from voice import errors
from voice.events import publish_to_user
from voice.models import Call, Conversation, Message
from voice.serializers import ItemSerializer

TITLE_MAX_CHARS = 80


@transaction.atomic
def transcript_upsert(
    *, call: Call, items: list[dict], keep_existing: bool = False
) -> list[Message]:
    """Insert or replace items by `item_id`; retries and concurrent saves never duplicate.

    A later text for an item replaces the earlier one; `previous_item_id` is kept when a later
    save does not know it. With `keep_existing`, items already saved are left as they are (a
    server-side fallback must not overwrite what the client saved). Each saved item is
    published as `call.transcript`.
    """
    if call.conversation_id is None:  # a start that failed before anything was said
        raise errors.call_ended()
    latest = {item["item_id"]: item for item in items}  # within one request, the last wins
    known_previous = dict(
        Message.objects.filter(
            conversation_id=call.conversation_id, item_id__in=latest
        ).values_list("item_id", "previous_item_id")
    )
    rows = [
        Message(
            conversation_id=call.conversation_id,
            call=call,
            item_id=item_id,
            previous_item_id=item.get("previous_item_id") or known_previous.get(item_id, ""),
            role=item["role"],
            text=item["text"],
            interrupted=item.get("interrupted", False),
        )
        for item_id, item in latest.items()
    ]
    if keep_existing:
        rows = [row for row in rows if row.item_id not in known_previous]
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        latest = {row.item_id: latest[row.item_id] for row in rows}
    else:
        # One INSERT … ON CONFLICT DO UPDATE: atomic against a concurrent save of the same item.
        Message.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["conversation", "item_id"],
            update_fields=["role", "text", "interrupted", "previous_item_id", "updated_at"],
        )
    saved = list(Message.objects.filter(conversation_id=call.conversation_id, item_id__in=latest))
    _touch_conversation(call.conversation_id, saved)
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


def _touch_conversation(conversation_id, saved: list[Message]) -> None:
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
