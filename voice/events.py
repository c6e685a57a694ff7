"""Publishing call events to a user's channel-layer group, after the database commit.

Every process serving that user's sockets relays them (`voice.consumers`). Publishing waits for
the commit so a socket never hears of a row another process cannot read yet.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group_name(user_id: int) -> str:
    return f"voice.user.{user_id}"


def publish_to_user(*, user_id: int, message: dict) -> None:
    """Send `message` (a dict with a dotted "type") to the user's sockets once committed."""
    transaction.on_commit(lambda: _send(user_id, message), robust=True)


def _send(user_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group_name(user_id), message)
    except Exception:
        # Status push is best effort: the database already holds the truth, pages re-read it.
        logger.exception("Could not publish %s to user %s", message.get("type"), user_id)
