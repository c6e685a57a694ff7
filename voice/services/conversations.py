"""Conversations as the user manages them: start an empty one, rename, delete.

Messages reach a conversation through the transcript services (`voice.services.transcripts`)
and the Legacy reply path; its automatic title comes from its first user turn there, and only
while it has no title, so a title the user gave is never replaced.
"""

from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from voice import errors, search
from voice.models import Call, Conversation


@transaction.atomic
def conversation_create(*, user: User, title: str = "") -> Conversation:
    """An empty conversation, e.g. for a first typed turn; its title follows that turn unless
    one is given here."""
    conversation = Conversation.objects.create(user=user, title=title)
    if title:
        search.search_index_rebuild(conversation_id=conversation.pk)
    return conversation


@transaction.atomic
def conversation_rename(*, user: User, conversation_id: UUID, title: str) -> Conversation:
    """Set the title the user chose (validated by the caller: stripped, not blank, capped)."""
    conversation = _locked(user=user, conversation_id=conversation_id)
    conversation.title = title
    # updated_at is the list's order, "last activity": a rename is no new turn.
    Conversation.objects.filter(pk=conversation.pk).update(title=title)
    search.search_index_rebuild(conversation_id=conversation.pk)
    return conversation


@transaction.atomic
def conversation_delete(*, user: User, conversation_id: UUID) -> None:
    """Delete the conversation and its messages. Refused (409 call_active) while a live call
    uses it; its ended calls and their usage records stay, for the history and the budget.

    The row is locked first: a call start on this conversation takes the same lock, so a start
    and a delete never interleave (`voice.services.calls._call_insert`)."""
    conversation = _locked(user=user, conversation_id=conversation_id)
    live = Call.objects.filter(conversation=conversation, status__in=Call.LIVE_STATUSES).first()
    if live is not None:
        raise errors.call_active(
            live.pk, "This conversation has a call in progress. End the call before deleting it."
        )
    conversation.delete()


def _locked(*, user: User, conversation_id: UUID) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update().filter(user=user, pk=conversation_id).first()
    )
    if conversation is None:
        raise errors.not_found("That conversation")
    return conversation
