"""Reads of the voice module. A user only ever reaches their own rows: others' are not found."""

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet
from django.utils import timezone

from voice import errors
from voice.models import (
    Call,
    CallLimits,
    Conversation,
    KeyPolicy,
    Message,
    UserApiKey,
    VoiceConfig,
    VoicePreference,
)


def voice_config_get() -> VoiceConfig:
    """The singleton, created from the defaults on first use."""
    config, _ = VoiceConfig.objects.get_or_create(pk=VoiceConfig.SINGLETON_PK)
    return config


def preference_get(*, user: AbstractBaseUser) -> VoicePreference:
    """The user's saved preference, or the unsaved defaults."""
    return VoicePreference.objects.filter(user=user).first() or VoicePreference(user=user)


def call_list(*, user: AbstractBaseUser) -> QuerySet[Call]:
    return Call.objects.filter(user=user).order_by("-started_at")


def call_get(*, user: AbstractBaseUser, call_id: UUID) -> Call:
    call = Call.objects.filter(user=user, pk=call_id).first()
    if call is None:
        raise errors.not_found("That call")
    return call


def call_live_get(*, user: AbstractBaseUser) -> Call | None:
    """The user's live call, unless it is stale (it will be ended at the next start)."""
    call = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
    limits = CallLimits.of(voice_config_get())
    if call is None or call.stale_reason(now=timezone.now(), limits=limits):
        return None
    return call


def conversation_list(*, user: AbstractBaseUser) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(user=user)
        .annotate(message_count=Count("messages"))
        .order_by("-updated_at")
    )


def conversation_get(*, user: AbstractBaseUser, conversation_id: UUID) -> Conversation:
    conversation = Conversation.objects.filter(user=user, pk=conversation_id).first()
    if conversation is None:
        raise errors.not_found("That conversation")
    return conversation


def conversation_latest(*, user: AbstractBaseUser) -> Conversation | None:
    return Conversation.objects.filter(user=user).order_by("-updated_at").first()


def messages_in_order(messages: Iterable[Message]) -> list[Message]:
    """Conversation order: each item right after its `previous_item_id`, else by arrival.

    OpenAI reports a user's transcription asynchronously, often after the reply that follows it;
    the chain of previous ids puts it back before the reply.
    """
    arrived = sorted(messages, key=lambda m: (m.created_at, m.pk))
    known = {m.item_id for m in arrived}
    followers: dict[str, list[Message]] = defaultdict(list)
    roots = []
    for message in arrived:
        previous = message.previous_item_id
        if previous and previous in known and previous != message.item_id:
            followers[previous].append(message)
        else:
            roots.append(message)
    ordered: list[Message] = []
    placed: set[str] = set()
    for message in roots + arrived:  # `arrived` again picks up any cycle no root reaches
        stack = [message]
        while stack:
            current = stack.pop()
            if current.item_id in placed:
                continue
            placed.add(current.item_id)
            ordered.append(current)
            stack.extend(reversed(followers[current.item_id]))
    return ordered


def call_transcript(*, call: Call) -> list[Message]:
    return messages_in_order(Message.objects.filter(call=call))


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return messages_in_order(Message.objects.filter(conversation=conversation))


def api_key_available(*, user: AbstractBaseUser, config: VoiceConfig) -> bool:
    """Whether a key would resolve under the policy, without decrypting anything."""
    if config.key_policy_allows(KeyPolicy.USER) and UserApiKey.objects.filter(user=user).exists():
        return True
    return config.key_policy_allows(KeyPolicy.SERVER) and bool(settings.OPENAI_API_KEY)


def preference_data(*, user: AbstractBaseUser) -> dict:
    preference = preference_get(user=user)
    return {"mode": preference.mode, "voice": preference.voice or voice_config_get().default_voice}


def api_key_data(*, user: AbstractBaseUser) -> dict:
    row = UserApiKey.objects.filter(user=user).first()
    return {"configured": row is not None, "masked": row.masked if row else None}


def client_config(*, user: AbstractBaseUser) -> dict:
    """What the call page needs to offer: each mode's availability (with the reason), voices."""
    config = voice_config_get()
    has_key = api_key_available(user=user, config=config)
    if not config.realtime_enabled:
        realtime_reason = "disabled"
    else:
        realtime_reason = None if has_key else "no_api_key"
    return {
        "realtime": {
            "available": realtime_reason is None,
            "reason": realtime_reason,
            "model": config.realtime_model,
            "voices": config.voices,
            "default_voice": config.default_voice,
        },
        "legacy": {
            "available": has_key,
            "reason": None if has_key else "no_api_key",
            "stt": ["server", "browser"],
            "tts": ["server", "browser"],
            "voices": config.tts_voices,
        },
        "preference": preference_data(user=user),
    }


def conversation_get_or_none(
    *, user: AbstractBaseUser, conversation_id: str
) -> Conversation | None:
    """For a page's query string: a malformed or foreign id is simply no conversation."""
    try:
        return conversation_get(user=user, conversation_id=UUID(conversation_id))
    except (ValueError, errors.VoiceError):
        return None
