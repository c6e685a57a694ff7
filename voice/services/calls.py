"""The call lifecycle: connecting → active → ended | failed, one live call per user.

Every status change is saved here and published as `call.status` to the user's sockets after
commit (`_call_transition`, `_publish_status`); nothing else publishes call status.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from voice import errors
from voice.events import publish_to_user
from voice.models import Call, Conversation, VoiceConfig
from voice.selectors import api_key_source, voice_config_get
from voice.serializers import CallSerializer
from voice.services.usage import usage_budget_check

START_RATE_WINDOW = timedelta(minutes=1)


def _call_transition(*, call: Call, status: str, **fields) -> Call:
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


def call_start_check(*, user: AbstractBaseUser, config: VoiceConfig) -> list[Call]:
    """The rules for starting a call: no live call (stale ones are ended first), at most
    `call_starts_per_minute` starts in any minute, counted from the calls table so the limit
    holds across server processes, and budget left when the server's key pays. Reads only; a
    write only when stale calls need ending.

    Returns the stale calls it ended, so a pipeline can hang them up upstream.
    """
    now = timezone.now()
    window_start = now - START_RATE_WINDOW
    calls = list(
        Call.objects.filter(user=user).filter(
            Q(status__in=Call.LIVE_STATUSES) | Q(started_at__gt=window_start)
        )
    )
    expired = _expire(_stale(calls, now=now, max_minutes=config.max_call_minutes), now=now)
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
    usage_budget_check(user=user, key_source=api_key_source(user=user, config=config))
    return expired


def call_start(
    *,
    user: AbstractBaseUser,
    mode: str,
    conversation_id: UUID | None = None,
    model: str = "",
    voice: str = "",
    upstream_call_id: str = "",
    failed_reason: str = "",
) -> Call:
    """Record a call after `call_start_check`: `connecting`, or `failed` with `failed_reason`
    when it never got going (kept for the history and the start throttle).

    The one-live-call constraint refuses a start that raced past the check.
    """
    fields = {"status": Call.Status.CONNECTING}
    if failed_reason:
        fields = {"status": Call.Status.FAILED, "ended_at": timezone.now()}
    try:
        call = _call_insert(
            user=user,
            conversation_id=conversation_id,
            mode=mode,
            model=model,
            voice=voice,
            upstream_call_id=upstream_call_id,
            ended_reason=failed_reason,
            **fields,
        )
    except IntegrityError as exc:  # another request won the race for the one live slot
        live = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
        raise errors.call_active(live.id if live else "") from exc
    return call


@transaction.atomic
def _call_insert(*, user: AbstractBaseUser, conversation_id: UUID | None, **fields) -> Call:
    if conversation_id is None:
        conversation = Conversation.objects.create(user=user)
    else:
        conversation = Conversation.objects.filter(user=user, pk=conversation_id).first()
        if conversation is None:
            raise errors.not_found("That conversation")
    call = Call.objects.create(user=user, conversation=conversation, **fields)
    _publish_status(call)
    return call


def call_check_and_start(
    *,
    user: AbstractBaseUser,
    mode: str,
    conversation_id: UUID | None = None,
    model: str = "",
    voice: str = "",
    config: VoiceConfig | None = None,
) -> Call:
    """`call_start_check`, then `call_start`: for a pipeline with no upstream handshake."""
    call_start_check(user=user, config=config or voice_config_get())
    return call_start(
        user=user, mode=mode, conversation_id=conversation_id, model=model, voice=voice
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
def call_end(*, call: Call, reason: str = "hangup", failed: bool = False) -> Call:
    """End (or fail) a live call; ending an ended call changes nothing."""
    call = _locked(call)
    if not call.is_live:
        return call
    status = Call.Status.FAILED if failed else Call.Status.ENDED
    return _call_transition(call=call, status=status, ended_at=timezone.now(), ended_reason=reason)


def _stale(calls: list[Call], *, now: datetime, max_minutes: int) -> list[tuple[Call, str]]:
    reasons = ((call, call.stale_reason(now=now, max_minutes=max_minutes)) for call in calls)
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
    *, user: AbstractBaseUser | None = None, config: VoiceConfig | None = None
) -> list[Call]:
    """End live calls nobody finished (a closed tab, a lost network) so no one stays locked out.

    Returns the calls it ended, so the caller can hang them up upstream.
    """
    now = timezone.now()
    live = Call.objects.filter(status__in=Call.LIVE_STATUSES)
    if user is not None:
        live = live.filter(user=user)
    max_minutes = (config or voice_config_get()).max_call_minutes
    return _expire(_stale(list(live), now=now, max_minutes=max_minutes), now=now)


def call_context_claim(*, call: Call) -> bool:
    """Whether the caller is the one to send the call its conversation's earlier turns: true
    once per call, across monitor workers (one UPDATE wins), so a takeover never repeats them."""
    claimed = Call.objects.filter(pk=call.pk, context_sent_at__isnull=True).update(
        context_sent_at=timezone.now()
    )
    return claimed == 1
