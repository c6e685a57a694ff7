"""The call lifecycle: connecting → active → ended | failed, one live call per user.

Every status change is saved here and published as `call.status` to the user's sockets after
commit (`_call_transition`, `_publish_status`); nothing else publishes call status.
"""

from datetime import timedelta
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from voice import errors
from voice.events import publish_to_user
from voice.models import Call, Conversation, VoiceConfig
from voice.selectors import voice_config_get
from voice.serializers import CallSerializer

# A browser that never reports its media path up within this time has given up.
CONNECTING_TIMEOUT = timedelta(seconds=60)
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


def _conversation_for_call(*, user: AbstractBaseUser, conversation_id: UUID | None) -> Conversation:
    if conversation_id is None:
        return Conversation.objects.create(user=user)
    conversation = Conversation.objects.filter(user=user, pk=conversation_id).first()
    if conversation is None:
        raise errors.not_found("That conversation")
    return conversation


def _check_start_rate(*, user: AbstractBaseUser, per_minute: int) -> None:
    """At most `per_minute` starts in any minute, counted from the calls table so the limit
    holds across server processes."""
    now = timezone.now()
    recent = list(
        Call.objects.filter(user=user, started_at__gt=now - START_RATE_WINDOW)
        .order_by("-started_at")
        .values_list("started_at", flat=True)[:per_minute]
    )
    if len(recent) >= per_minute:
        raise errors.throttled(wait_seconds=(recent[-1] + START_RATE_WINDOW - now).total_seconds())


@transaction.atomic
def call_start(
    *,
    user: AbstractBaseUser,
    mode: str,
    conversation_id: UUID | None = None,
    model: str = "",
    voice: str = "",
    config: VoiceConfig | None = None,
) -> Call:
    """Record a new `connecting` call; refuse it while another of the user's calls is live,
    or when the user starts calls faster than the admin allows."""
    config = config or voice_config_get()
    calls_expire_stale(user=user, config=config)
    _check_start_rate(user=user, per_minute=config.call_starts_per_minute)
    live = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
    if live is not None:
        raise errors.call_active(live.id)
    conversation = _conversation_for_call(user=user, conversation_id=conversation_id)
    try:
        with transaction.atomic():
            call = Call.objects.create(
                user=user, mode=mode, conversation=conversation, model=model, voice=voice
            )
    except IntegrityError as exc:  # another request won the race for the one live slot
        live = Call.objects.filter(user=user, status__in=Call.LIVE_STATUSES).first()
        raise errors.call_active(live.id if live else "") from exc
    _publish_status(call)
    return call


@transaction.atomic
def call_set_upstream(*, call: Call, upstream_call_id: str) -> Call:
    call.upstream_call_id = upstream_call_id
    call.save(update_fields=["upstream_call_id"])
    return call


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


def _stale_reason(call: Call, *, now, max_minutes: int) -> str | None:
    if call.status == Call.Status.CONNECTING and call.started_at < now - CONNECTING_TIMEOUT:
        return "connect_timeout"
    began = call.connected_at or call.started_at
    if call.status == Call.Status.ACTIVE and began < now - timedelta(minutes=max_minutes):
        return "max_duration"
    return None


@transaction.atomic
def calls_expire_stale(
    *, user: AbstractBaseUser | None = None, config: VoiceConfig | None = None
) -> list[Call]:
    """End live calls nobody finished (a closed tab, a lost network) so no one stays locked out.

    Returns the calls it ended, so the caller can hang up those still open upstream.
    """
    now = timezone.now()
    max_minutes = (config or voice_config_get()).max_call_minutes
    live = Call.objects.select_for_update().filter(status__in=Call.LIVE_STATUSES)
    if user is not None:
        live = live.filter(user=user)
    expired = []
    for call in live:
        reason = _stale_reason(call, now=now, max_minutes=max_minutes)
        if reason:
            expired.append(
                _call_transition(
                    call=call, status=Call.Status.ENDED, ended_at=now, ended_reason=reason
                )
            )
    return expired
