"""Reads of the voice module. A user only ever reaches their own rows: others' are not found."""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import (
    Coalesce,
    Greatest,
    Lower,
    StrIndex,
    Substr,
    TruncDate,
)
from django.utils import timezone
from rest_framework.authtoken.models import Token

from voice import errors, limits, search
from voice.models import (
    Call,
    CallLimits,
    Conversation,
    ConversationTerm,
    KeyPolicy,
    KeySource,
    Message,
    Price,
    Unit,
    UsageRecord,
    UserApiKey,
    UserBudget,
    VoiceConfig,
    VoicePreference,
)


def voice_config_get() -> VoiceConfig:
    """The singleton, created from the defaults on first use."""
    config, _ = VoiceConfig.objects.get_or_create(pk=VoiceConfig.SINGLETON_PK)
    return config


def preference_get(*, user: User) -> VoicePreference:
    """The user's saved preference, or the unsaved defaults."""
    return VoicePreference.objects.filter(user=user).first() or VoicePreference(user=user)


def call_list(*, user: User) -> QuerySet[Call]:
    return Call.objects.filter(user=user).order_by("-started_at")


def call_get(*, user: User, call_id: UUID) -> Call:
    call = Call.objects.filter(user=user, pk=call_id).first()
    if call is None:
        raise errors.not_found("That call")
    return call


def call_live_get(*, user: User) -> Call | None:
    """The user's live call, unless it is stale (it will be ended at the next start)."""
    call = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
    limits = CallLimits.of(voice_config_get())
    if call is None or call.stale_reason(now=timezone.now(), limits=limits):
        return None
    return call


class _ListedFields(TypedDict):
    message_count: int
    has_calls: bool
    snippet: str | None


if TYPE_CHECKING:  # WithAnnotations takes its second argument for type checkers only
    from django_stubs_ext import WithAnnotations

    # A conversation as `conversation_list` and `conversation_search` give it.
    ListedConversation = WithAnnotations[Conversation, _ListedFields]


def conversation_list(*, user: User) -> "QuerySet[ListedConversation]":
    """The user's conversations, most recent activity first, each with `message_count`,
    `has_calls` and `snippet` (None: nothing was searched).

    The counts are subqueries rather than a join with GROUP BY: the database computes them for
    the page of rows it returns, not for every conversation the user has."""
    messages = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Conversation.objects.filter(user=user)
        .annotate(
            message_count=Coalesce(Subquery(messages), 0),
            has_calls=Exists(Call.objects.filter(conversation=OuterRef("pk"))),
            snippet=Value(None, output_field=CharField()),
        )
        .order_by("-updated_at", "-pk")
    )


def conversation_search(*, user: User, query: str) -> "QuerySet[ListedConversation]":
    """The user's conversations in which every word of `query` occurs, case-insensitively, in
    the title or in any message (words may be in different messages), most recent activity
    first; `snippet` is the text around the first word in the newest message that has all
    the words (else the newest that has the first one; None when only the title has it).

    PostgreSQL matches whole words in the conversations' search index (the last word also as a
    prefix, for type-ahead; `voice.search`), other databases substrings. A query with no
    words is the plain list. Refuses (400) a query over `search.QUERY_MAX_CHARS` or
    `search.QUERY_MAX_WORDS`.
    """
    if len(query) > search.QUERY_MAX_CHARS:
        raise errors.VoiceError(
            f"Search for at most {search.QUERY_MAX_CHARS} characters.",
            code=errors.ErrorCode.INVALID_REQUEST,
        )
    vendor = connection.vendor
    words = search.search_words(query, vendor=vendor)
    if len(words) > search.QUERY_MAX_WORDS:
        raise errors.VoiceError(
            f"Search for at most {search.QUERY_MAX_WORDS} words.",
            code=errors.ErrorCode.INVALID_REQUEST,
        )
    conversations = conversation_list(user=user)
    if not words:
        return conversations
    if vendor == "postgresql":
        terms = ConversationTerm.objects.filter(user=user)
        for position, word in enumerate(words):
            lookup = search.term_lookup(word, last=position == len(words) - 1)
            conversations = conversations.filter(
                pk__in=terms.filter(**lookup).values("conversation_id")
            )
    else:
        # Tool lines are not what was said: a search's own line must not match its words.
        own_messages = Message.objects.filter(conversation__user=user).exclude(
            role=Message.Role.TOOL
        )
        for word in words:
            in_messages = own_messages.filter(text__icontains=word).values("conversation_id")
            conversations = conversations.filter(Q(title__icontains=word) | Q(pk__in=in_messages))
    # Replaces the list's `snippet` (None), as Django lets a later annotation do; the plugin
    # takes it for a redefinition.
    return conversations.annotate(snippet=_snippet(words))  # type: ignore[no-redef]


# How much of the matching message a search result shows, and how much of it before the match.
SNIPPET_CHARS = 160
SNIPPET_LEAD_CHARS = 50


def _snippet(words: list[str]) -> Coalesce:
    """The text around the first word, from the newest message with every word, else from the
    newest with the first one. Found by substring on every database: it runs for the rows of
    one page only, and must find the word in the text to cut around it anyway."""
    messages = Message.objects.filter(conversation=OuterRef("pk")).exclude(role=Message.Role.TOOL)
    every_word = messages
    for word in words:
        every_word = every_word.filter(text__icontains=word)
    first_word = messages.filter(text__icontains=words[0])
    return Coalesce(_snippet_of(every_word, words[0]), _snippet_of(first_word, words[0]))


def _snippet_of(messages: QuerySet[Message], word: str) -> Subquery:
    """`SNIPPET_CHARS` of the newest message's text, from a little before `word`. Kept to a
    few SQL functions: the expression is built for every search, and Django's compiler time
    grows with each node of it."""
    found = StrIndex(Lower("text"), Value(word))
    window = Substr("text", Greatest(found - SNIPPET_LEAD_CHARS, Value(1)), SNIPPET_CHARS)
    newest = messages.order_by("-created_at", "-pk").values(snippet=window)
    return Subquery(newest[:1], output_field=CharField())


def conversation_get(*, user: User, conversation_id: UUID) -> Conversation:
    conversation = Conversation.objects.filter(user=user, pk=conversation_id).first()
    if conversation is None:
        raise errors.not_found("That conversation")
    return conversation


def conversation_latest(*, user: User) -> Conversation | None:
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


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]  # in conversation order
    earlier: str | None  # the cursor of the page before this one; None at the start


def _message_page(messages: QuerySet[Message], *, before: int | None, limit: int) -> MessagePage:
    """The latest `limit` messages that arrived before the cursor `before`, in conversation
    order. Pages are cut by arrival and ordered by the `previous_item_id` chain within the
    page, so reading never loads a whole conversation; an item whose predecessor is on an
    earlier page starts its page."""
    if before is not None:
        messages = messages.filter(pk__lt=before)
    latest = list(messages.order_by("-pk")[: limit + 1])
    earlier = str(latest[limit - 1].pk) if len(latest) > limit else None
    return MessagePage(messages=messages_in_order(latest[:limit]), earlier=earlier)


def call_transcript_page(
    *, call: Call, before: int | None = None, limit: int = limits.READ_PAGE_DEFAULT
) -> MessagePage:
    return _message_page(Message.objects.filter(call=call), before=before, limit=limit)


def conversation_message_page(
    *, conversation: Conversation, before: int | None = None, limit: int = limits.READ_PAGE_DEFAULT
) -> MessagePage:
    messages = Message.objects.filter(conversation=conversation)
    return _message_page(messages, before=before, limit=limit)


def conversation_messages(
    *, conversation: Conversation, limit: int = limits.READ_PAGE_DEFAULT
) -> list[Message]:
    """The conversation's latest `limit` messages, in conversation order."""
    return conversation_message_page(conversation=conversation, limit=limit).messages


def api_key_available(*, user: User, config: VoiceConfig) -> bool:
    """Whether a key would resolve under the policy, without decrypting anything."""
    if config.key_policy_allows(KeyPolicy.USER) and UserApiKey.objects.filter(user=user).exists():
        return True
    return config.key_policy_allows(KeyPolicy.SERVER) and bool(settings.OPENAI_API_KEY)


def push_to_talk_resolve(*, preference: VoicePreference, config: VoiceConfig) -> bool:
    """Whether the user talks by holding a button: their own choice, else the admin's default.
    (Realtime calls under the admin's manual turns are push-to-talk whatever this says.)"""
    if preference.push_to_talk is None:
        return config.push_to_talk_default
    return preference.push_to_talk


def preference_data(*, user: User) -> dict[str, Any]:
    preference = preference_get(user=user)
    config = voice_config_get()
    return {
        "mode": preference.mode,
        "voice": preference.voice or config.default_voice,
        "push_to_talk": push_to_talk_resolve(preference=preference, config=config),
    }


def api_key_data(*, user: User) -> dict[str, Any]:
    row = UserApiKey.objects.filter(user=user).first()
    return {"configured": row is not None, "masked": row.masked if row else None}


def api_token_data(*, user: User) -> dict[str, Any]:
    """Whether the user has an API token, and since when; never the token itself."""
    created = Token.objects.filter(user=user).values_list("created", flat=True).first()
    return {"configured": created is not None, "created_at": created}


def client_config(*, user: User) -> dict[str, Any]:
    """What the call page needs to offer: each mode's availability (with the reason), voices."""
    config = voice_config_get()
    has_key = api_key_available(user=user, config=config)
    realtime_reason: str | None
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
            "turn_detection": config.turn_detection,
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


def conversation_get_or_none(*, user: User, conversation_id: str) -> Conversation | None:
    """For a page's query string: a malformed or foreign id is simply no conversation."""
    try:
        return conversation_get(user=user, conversation_id=UUID(conversation_id))
    except (ValueError, errors.VoiceError):
        return None


# Earlier turns sent into a continued call, newest kept: a cap by characters as well as by
# count, so a few very long messages cannot blow up the model's context (or its price).
CONTEXT_MAX_CHARS = 12_000


def conversation_context(
    *, conversation_id: UUID, exclude_call: Call | None = None, max_messages: int | None = None
) -> list[Message]:
    """The conversation's latest turns with text, oldest first, within the admin's
    `context_messages` and `CONTEXT_MAX_CHARS`: what both modes remember of earlier calls."""
    limit = voice_config_get().context_messages if max_messages is None else max_messages
    if limit <= 0:
        return []
    # A tool's line is our record of what the assistant did, not a turn anyone said.
    messages = (
        Message.objects.filter(conversation_id=conversation_id)
        .exclude(text="")
        .exclude(role=Message.Role.TOOL)
    )
    if exclude_call is not None:
        messages = messages.exclude(call=exclude_call)
    latest = messages_in_order(messages.order_by("-created_at", "-pk")[: limit * 2])[-limit:]
    kept, total = [], 0
    for message in reversed(latest):
        total += len(message.text)
        if total > CONTEXT_MAX_CHARS:
            break
        kept.append(message)
    return kept[::-1]


# --- usage, prices and budgets -----------------------------------------------------------------


SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def api_key_source(*, user: User, config: VoiceConfig) -> str | None:
    """Who would pay for this user's calls ("user" or "server"), like `api_key_resolve` but
    without decrypting anything: None when no key is usable."""
    if config.key_policy_allows(KeyPolicy.USER) and UserApiKey.objects.filter(user=user).exists():
        return KeySource.USER
    if config.key_policy_allows(KeyPolicy.SERVER) and settings.OPENAI_API_KEY:
        return KeySource.SERVER
    return None


def price_table(*, model: str) -> dict[str, Decimal]:
    """USD per unit (see `UNIT_PER`) for `model`: its own rows, else, for a dated snapshot
    (gpt-4o-mini-tts-2025-12-15), those of the model it is a snapshot of."""
    rows = list(Price.objects.filter(model=model))
    if not rows and SNAPSHOT_SUFFIX.search(model):
        rows = list(Price.objects.filter(model=SNAPSHOT_SUFFIX.sub("", model)))
    return {row.unit: row.usd for row in rows}


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) around `now`: budgets reset at 00:00 UTC on the 1st."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True)
class Budget:
    monthly_usd: Decimal | None  # None: unlimited
    spent_usd: Decimal  # this month, of the server's key
    resets_at: date

    @property
    def exceeded(self) -> bool:
        return self.monthly_usd is not None and self.spent_usd >= self.monthly_usd


def budget_limit(*, user: User, config: VoiceConfig | None = None) -> Decimal | None:
    """The user's monthly budget: the admin's override for them, else the configuration's."""
    override = UserBudget.objects.filter(user=user).first()
    if override is not None:
        return override.monthly_usd
    return (config or voice_config_get()).monthly_budget_usd


def budget_get(*, user: User, now: datetime | None = None) -> Budget:
    """This month's budget and what the user spent of the server's key against it."""
    start, end = month_bounds(now or timezone.now())
    spent = UsageRecord.objects.filter(
        user=user, key_source=KeySource.SERVER, created_at__gte=start, created_at__lt=end
    ).aggregate(total=Sum("cost"))["total"]
    return Budget(monthly_usd=budget_limit(user=user), spent_usd=_usd(spent), resets_at=end.date())


def call_cost(*, call: Call) -> Decimal:
    """What the call has cost so far, whoever paid."""
    return _usd(UsageRecord.objects.filter(call=call).aggregate(total=Sum("cost"))["total"])


def _usd(amount: Decimal | None) -> Decimal:
    """A sum of costs, to the micro-dollar (SQLite sums decimals with more places)."""
    return (amount or Decimal(0)).quantize(Decimal("0.000001"))


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


_UNIT_SUMS = {f"sum_{unit}": Sum(unit) for unit in Unit.values} | {"sum_cost": Sum("cost")}


def _usage_row(row: Mapping[str, Any]) -> dict[str, Any]:
    units = {unit: row[f"sum_{unit}"] or 0 for unit in Unit.values}
    units[Unit.AUDIO_SECONDS] = Decimal(units[Unit.AUDIO_SECONDS]).quantize(Decimal("0.001"))
    return {"cost": _usd(row["sum_cost"]), "units": units}


def usage_report(*, user: User | None, start: date, end: date, group: str) -> dict[str, Any]:
    """Usage from `start` to `end` (whole UTC days, both included), per day or per call, with
    the total; `user` None means everyone's (for staff)."""
    records = UsageRecord.objects.filter(
        created_at__gte=_utc_midnight(start), created_at__lt=_utc_midnight(end + timedelta(1))
    )
    if user is not None:
        records = records.filter(user=user)
    if group == "call":
        calls = records.values("call").annotate(first=Min("created_at"), **_UNIT_SUMS)
        results = [{"call": r["call"], **_usage_row(r)} for r in calls.order_by("first")]
    else:
        days = records.annotate(date=TruncDate("created_at", tzinfo=UTC)).values("date")
        sums = days.annotate(**_UNIT_SUMS).order_by("date")
        results = [{"date": r["date"], **_usage_row(r)} for r in sums]
    total = records.aggregate(total=Sum("cost"))["total"]
    return {"total_cost": _usd(total), "results": results}


def usage_subject(*, viewer: User, user: str | None) -> User | None:
    """Whose usage `viewer` asked for: their own by default; staff may name a user id, or
    "all" (None) for everyone's."""
    if user is None or user == str(viewer.pk):
        return viewer
    if not viewer.is_staff:
        raise errors.permission_denied("Only staff can see other users' usage.")
    if user == "all":
        return None
    subject = get_user_model().objects.filter(pk=int(user)).first()
    if subject is None:
        raise errors.not_found("That user")
    return subject


def usage_totals(*, records: QuerySet[UsageRecord]) -> dict[str, Any]:
    """The summed units and cost of `records`."""
    return _usage_row(records.order_by().aggregate(**_UNIT_SUMS))


def usage_per_user_day(*, records: QuerySet[UsageRecord]) -> list[dict[str, Any]]:
    """`records` summed per UTC day and user, newest day first."""
    rows = (
        records.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "user__username")
        .annotate(**_UNIT_SUMS)
        .order_by("-day", "user__username")
    )
    return [{"day": r["day"], "username": r["user__username"], **_usage_row(r)} for r in rows]
