"""The call lifecycle: connecting → active → ended | failed, one live call per user.

Every status change is saved here and published as `call.status` to the user's sockets after
commit (`_call_transition`, `_publish_status`); nothing else publishes call status. Hanging
calls up upstream is `voice.services.hangups`' business.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from voice import crypto, errors
from voice.events import publish_monitor_wake, publish_to_user
from voice.models import (
    Call,
    CallLease,
    CallLimits,
    Conversation,
    EndReason,
    Message,
    VoiceConfig,
)
from voice.selectors import api_key_source, voice_config_get
from voice.serializers import CallSerializer
from voice.services.keys import ResolvedKey
from voice.services.usage import usage_budget_check

logger = logging.getLogger(__name__)

START_RATE_WINDOW = timedelta(minutes=1)


def _call_transition(*, call: Call, status: str, **fields: Any) -> Call:
    call.status = status
    for name, value in fields.items():
        setattr(call, name, value)
    call.save(update_fields=["status", *fields])
    _publish_status(call)
    return call


def _publish_status(call: Call) -> None:
    publish_to_user(
        user_id=call.user_id, message={"type": "call.status", "call": CallSerializer(call).data}
    )


def _locked(call: Call) -> Call:
    return Call.objects.select_for_update().get(pk=call.pk)


def call_start_check(
    *, user: User, config: VoiceConfig, key: ResolvedKey | None = None
) -> list[Call]:
    """The rules for starting a call: no live call (stale ones are ended first), at most
    `call_starts_per_minute` starts in any minute, counted from the calls table so the limit
    holds across server processes, and budget left when the server's key pays. Reads only; a
    write only when stale calls need ending. `key`: the key already resolved to pay for the
    call, which saves looking up who would pay.

    Returns the stale calls it ended, so they can be hung up upstream.
    """
    now = timezone.now()
    window_start = now - START_RATE_WINDOW
    calls = list(
        Call.objects.filter(user=user).filter(
            Q(status__in=Call.LIVE_STATUSES) | Q(started_at__gt=window_start)
        )
    )
    expired = _expire(_stale(calls, now=now, limits=CallLimits.of(config)), now=now)
    live = next((c for c in calls if c.is_live and c not in expired), None)
    if live is not None:
        raise errors.call_active(live.id)
    starts = sorted(c.started_at for c in calls if c.started_at > window_start)
    if len(starts) >= config.call_starts_per_minute:
        oldest_counted = starts[-config.call_starts_per_minute]
        raise errors.throttled(
            wait_seconds=(oldest_counted + START_RATE_WINDOW - now).total_seconds()
        )
    # Before any upstream cost: a month's budget of the server's key spent is a 402.
    key_source = key.source if key is not None else api_key_source(user=user, config=config)
    usage_budget_check(user=user, key_source=key_source)
    return expired


def call_start(
    *,
    user: User,
    mode: str,
    conversation_id: UUID | None = None,
    model: str = "",
    voice: str = "",
    key: ResolvedKey | None = None,
    timezone: str = "",
) -> Call:
    """Record a call after `call_start_check`, as `connecting`, with the key that pays for it
    (kept encrypted until the call is hung up). A new conversation is made with it.

    The one-live-call constraint refuses a start that raced past the check.
    """
    fields = {"mode": mode, "model": model, "voice": voice, "timezone": timezone}
    if key is not None:
        fields |= {"key_source": key.source, "api_key_encrypted": crypto.encrypt(key.value)}
    try:
        call = _call_insert(user=user, conversation_id=conversation_id, **fields)
    except IntegrityError as exc:  # another request won the race for the one live slot
        live = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
        raise errors.call_active(live.id if live else "") from exc
    return call


@transaction.atomic
def _call_insert(*, user: User, conversation_id: UUID | None, **fields: Any) -> Call:
    if conversation_id is None:
        conversation = Conversation.objects.create(user=user)
    else:
        # Locked, so a concurrent delete of the conversation either waits for this call (and
        # is refused: it has a live call) or wins (and this start finds no conversation).
        found = (
            Conversation.objects.select_for_update().filter(user=user, pk=conversation_id).first()
        )
        if found is None:
            raise errors.not_found("That conversation")
        conversation = found
    call = Call.objects.create(user=user, conversation=conversation, **fields)
    _publish_status(call)
    return call


def call_check_and_start(
    *,
    user: User,
    mode: str,
    conversation_id: UUID | None = None,
    model: str = "",
    voice: str = "",
    config: VoiceConfig | None = None,
    timezone: str = "",
) -> Call:
    """`call_start_check`, then `call_start`: for a pipeline with no upstream handshake, whose
    requests record the call's activity (`call_activity_touch`), so its idle clock starts now."""
    call_start_check(user=user, config=config or voice_config_get())
    call = call_start(
        user=user,
        mode=mode,
        conversation_id=conversation_id,
        model=model,
        voice=voice,
        timezone=timezone,
    )
    call_activity_touch(call_ids=[call.pk], at=call.started_at)
    call.last_activity_at = call.started_at
    return call


def call_upstream_attach(*, call: Call, upstream_call_id: str) -> Call | None:
    """Upstream answered the start: record its call id and wake the call monitor.

    None when the call ended meanwhile (the user pressed End while the offer was in flight):
    the caller must hang the new upstream call up itself. One conditional UPDATE, atomic
    against a concurrent end: this is on every start's path.
    """
    live = Call.objects.filter(pk=call.pk, status__in=Call.LIVE_STATUSES)
    if not live.update(upstream_call_id=upstream_call_id):
        return None
    call.upstream_call_id = upstream_call_id
    publish_monitor_wake()
    return call


@transaction.atomic
def call_start_failed(*, call: Call, reason: str, new_conversation: bool) -> Call:
    """Upstream refused the start (or it was abandoned): the call is `failed` with `reason`,
    kept for the history and the start throttle, and frees the slot. A conversation made for
    this start goes again while it is empty, so a failed start leaves no empty conversation."""
    call = _locked(call)
    conversation_id = call.conversation_id
    if call.is_live:
        fields = {"ended_at": timezone.now(), "ended_reason": reason, "api_key_encrypted": ""}
        _call_transition(call=call, status=Call.Status.FAILED, **fields)
    if new_conversation and conversation_id and not _conversation_used(conversation_id, call):
        Conversation.objects.filter(pk=conversation_id).delete()  # the call's link goes null
        call.conversation_id = None
    return call


def _conversation_used(conversation_id: UUID, call: Call) -> bool:
    return (
        Message.objects.filter(conversation_id=conversation_id).exists()
        or Call.objects.filter(conversation_id=conversation_id).exclude(pk=call.pk).exists()
    )


@transaction.atomic
def call_mark_active(*, call: Call) -> Call:
    """The client's media path is up. Idempotent; an ended call stays ended."""
    call = _locked(call)
    if call.status == Call.Status.ACTIVE:
        return call
    if call.status != Call.Status.CONNECTING:
        raise errors.call_ended()
    return _call_transition(call=call, status=Call.Status.ACTIVE, connected_at=timezone.now())


@transaction.atomic
def call_end(*, call: Call, reason: str = EndReason.USER, failed: bool = False) -> Call:
    """End (or fail) a live call; ending an ended call changes nothing."""
    call = _locked(call)
    if not call.is_live:
        return call
    status = Call.Status.FAILED if failed else Call.Status.ENDED
    return _call_transition(call=call, status=status, ended_at=timezone.now(), ended_reason=reason)


def call_activity_touch(*, call_ids: list[UUID], at: datetime | None = None) -> None:
    """Someone spoke in these calls: restart their idle clocks. One UPDATE, no lock."""
    if call_ids:
        Call.objects.filter(pk__in=call_ids).update(last_activity_at=at or timezone.now())


def call_idle_clocks_start(*, call_ids: list[UUID]) -> None:
    """A call monitor now tracks these calls' activity: their idle clocks run from now, unless
    one already runs (a call taken over keeps its clock)."""
    if call_ids:
        Call.objects.filter(pk__in=call_ids, last_activity_at__isnull=True).update(
            last_activity_at=timezone.now()
        )


def call_api_key(*, call: Call) -> str | None:
    """The key that started the call, or None when none is kept (or it cannot be read)."""
    if not call.api_key_encrypted:
        return None
    try:
        return crypto.decrypt(call.api_key_encrypted)
    except crypto.KeyDecryptionError as exc:
        logger.error("Call %s: %s", call.id, exc)
        return None


def call_api_key_forget(*, call: Call) -> None:
    """The call is over and hung up: its key is no longer needed, so it is no longer kept."""
    Call.objects.filter(pk=call.pk).exclude(status__in=Call.LIVE_STATUSES).update(
        api_key_encrypted=""
    )
    call.api_key_encrypted = ""


def _stale(calls: list[Call], *, now: datetime, limits: CallLimits) -> list[tuple[Call, str]]:
    reasons = ((call, call.stale_reason(now=now, limits=limits)) for call in calls)
    return [(call, reason) for call, reason in reasons if reason]


def _expire(stale: list[tuple[Call, str]], *, now: datetime) -> list[Call]:
    """End the stale calls found by a read; the write lock is taken only when there are some
    (on SQLite a write transaction would serialize every call start behind it)."""
    if not stale:
        return []
    expired = []
    with transaction.atomic():
        for call, reason in stale:
            locked = _locked(call)
            if locked.is_live:  # another process may have ended it meanwhile
                expired.append(
                    _call_transition(
                        call=locked, status=Call.Status.ENDED, ended_at=now, ended_reason=reason
                    )
                )
    return expired


def calls_expire_stale(
    *,
    user: User | None = None,
    config: VoiceConfig | None = None,
    leased_by_others_than: str | None = None,
) -> list[Call]:
    """End live calls nobody finished (a closed tab, a lost network), or that passed the longest
    call or the idle limit, so no one stays locked out and nothing runs on unwatched.

    With `leased_by_others_than` (a call monitor worker's id), calls another worker holds a
    live lease on are left to that worker. Returns the calls it ended, for hanging up.
    """
    now = timezone.now()
    limits = CallLimits.of(config or voice_config_get())
    stale = Call.objects.stale(now=now, limits=limits)
    if user is not None:
        stale = stale.filter(user=user)
    if leased_by_others_than is not None:
        held = CallLease.objects.filter(expires_at__gt=now).exclude(owner=leased_by_others_than)
        stale = stale.exclude(pk__in=held.values("call_id"))
    calls = list(stale)
    return _expire(_stale(calls, now=now, limits=limits), now=now)


def call_context_claim(*, call: Call) -> bool:
    """Whether the caller is the one to send the call its conversation's earlier turns: true
    once per call, across monitor workers (one UPDATE wins), so a takeover never repeats them."""
    claimed = Call.objects.filter(pk=call.pk, context_sent_at__isnull=True).update(
        context_sent_at=timezone.now()
    )
    return claimed == 1
