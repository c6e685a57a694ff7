"""Which call monitor worker watches which live call: leases in the database.

A worker claims the live calls of the watched modes that have an upstream call and a kept key,
and no lease, or a lease not renewed in time (its worker died). A new call's lease is an INSERT
only one worker can win (the call is its primary key); expired leases are taken with
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never wait on each other (on SQLite
`skip_locked` does nothing, and one worker runs there). Renewing and releasing touch only the
worker's own rows.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from voice.models import Call, CallLease, CallQuerySet
from voice.services.calls import call_api_key

# A worker renews every RENEW_EVERY; a lease missed for LEASE_TTL is taken over, so a dead
# worker's calls are re-joined within LEASE_TTL plus one sweep (under 15 s).
LEASE_TTL = timedelta(seconds=12)
RENEW_EVERY = timedelta(seconds=4)


@dataclass(frozen=True)
class ClaimedCall:
    call: Call
    api_key: str | None = field(repr=False)  # None: the kept key cannot be read


def _watchable(modes: list[str]) -> CallQuerySet:
    return (
        Call.objects.live()
        .filter(mode__in=modes)
        .exclude(upstream_call_id="")
        .exclude(api_key_encrypted="")
    )


def call_leases_claim(
    *, owner: str, modes: list[str], limit: int, take_over: bool = True
) -> list[ClaimedCall]:
    """Take up to `limit` unwatched calls for worker `owner` (with `take_over`, also calls whose
    worker stopped renewing); returns those it won. Three queries for new calls alone."""
    now = timezone.now()
    lease = {"owner": owner, "expires_at": now + LEASE_TTL, "renewed_at": now}
    watchable = _watchable(modes)
    fresh = list(watchable.filter(lease__isnull=True).values_list("pk", flat=True)[:limit])
    if fresh:
        CallLease.objects.bulk_create(
            [CallLease(call_id=pk, **lease) for pk in fresh], ignore_conflicts=True
        )
    expired = []
    if take_over:
        expired = _take_expired(
            CallLease.objects.filter(expires_at__lte=now, call__in=watchable), lease, limit
        )
    if not fresh and not expired:
        return []
    calls = Call.objects.filter(pk__in=[*fresh, *expired], lease__owner=owner)
    return [ClaimedCall(call=call, api_key=call_api_key(call=call)) for call in calls]


def _take_expired(leases: QuerySet[CallLease], lease: dict[str, Any], limit: int) -> list[UUID]:
    """Take over leases their workers stopped renewing. The lock is taken only when there are
    some: on SQLite every write transaction would queue the web requests' writes behind it."""
    if not leases.exists():
        return []
    with transaction.atomic():
        taken = list(
            leases.select_for_update(skip_locked=True, of=("self",)).values_list(
                "call_id", flat=True
            )[:limit]
        )
        CallLease.objects.filter(pk__in=taken).update(**lease)
    return taken


def call_leases_renew(*, owner: str, call_ids: set[UUID]) -> set[UUID]:
    """Extend `owner`'s leases on the calls still live; returns the calls it still holds (the
    others ended, or another worker took them over after a missed renewal)."""
    if not call_ids:
        return set()
    now = timezone.now()
    held = CallLease.objects.filter(
        owner=owner, call_id__in=call_ids, call__status__in=Call.LIVE_STATUSES
    )
    held.update(expires_at=now + LEASE_TTL, renewed_at=now)
    return set(held.values_list("call_id", flat=True))


def call_leases_release(*, owner: str, call_ids: set[UUID] | None = None) -> None:
    """Drop `owner`'s leases (all of them, or on `call_ids`), so another worker may claim the
    calls at once; leases of calls that ended while nobody held them go too."""
    leases = CallLease.objects.filter(owner=owner)
    if call_ids is not None:
        leases = leases.filter(call_id__in=call_ids)
    leases.delete()
    CallLease.objects.filter(expires_at__lte=timezone.now()).exclude(
        call__status__in=Call.LIVE_STATUSES
    ).delete()
