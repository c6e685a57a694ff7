"""Publishing call events to a user's channel-layer group, after the database commit.

Every process serving that user's sockets relays them (`voice.consumers`). Publishing waits for
the commit so a socket never hears of a row another process cannot read yet.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)


# Every call monitor worker listens here; a start wakes them so a new call is watched at once.
MONITOR_GROUP = "voice.monitor"
MONITOR_WAKE = {"type": "monitor.wake"}


def user_group_name(user_id: int) -> str:
    return f"voice.user.{user_id}"


def publish_to_user(*, user_id: int, message: dict[str, Any]) -> None:
    """Send `message` (a dict with a dotted "type") to the user's sockets once committed."""
    transaction.on_commit(lambda: _send(user_id, message), robust=True)


def publish_monitor_wake() -> None:
    """Wake the call monitor workers once committed (their periodic sweep is the backstop)."""
    transaction.on_commit(lambda: _send_to_group(MONITOR_GROUP, dict(MONITOR_WAKE)), robust=True)


def _send(user_id: int, message: dict[str, Any]) -> None:
    _send_to_group(user_group_name(user_id), message)


def _send_to_group(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # Best effort: the database already holds the truth; pages re-read it, monitors sweep.
        logger.exception("Could not publish %s to %s", message.get("type"), group)


def socket_credential(kind: str, secret: str) -> str:
    """What a socket was opened with ("session" key or API "token"), as a digest: the channel
    layer (a shared Redis) never carries a session key or a token."""
    return salted_hmac(
        "voice.socket-credential", f"{kind}:{secret}", algorithm="sha256"
    ).hexdigest()


def credential_ended(*, user_id: int, kind: str, secret: str) -> None:
    """Close the user's sockets opened with this session or token (logout, token revoked)."""
    publish_to_user(
        user_id=user_id,
        message={"type": "auth.ended", "credential": socket_credential(kind, secret)},
    )


def session_logged_out(
    sender: object, request: HttpRequest | None, user: User | None, **kwargs: object
) -> None:
    """`user_logged_out` receiver: that session's sockets close; the user's others stay."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        credential_ended(user_id=user.pk, kind="session", secret=session_key)
