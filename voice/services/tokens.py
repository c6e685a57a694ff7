"""Users' API tokens for integrations (DRF authtoken, one per user): made, rotated and revoked
by their owner. A token is shown once, when it is made; after that only whether one exists.
A token that stops working also closes the /ws/voice sockets it opened."""

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

from voice import events


@transaction.atomic
def api_token_rotate(*, user: User) -> Token:
    """A new token for `user`; the old one (if any) stops working at once."""
    api_token_revoke(user=user)
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user: User) -> None:
    """The token stops working, and the sockets it opened close (once committed)."""
    for key in Token.objects.filter(user=user).values_list("key", flat=True):
        events.credential_ended(user_id=user.pk, kind="token", secret=key)
    Token.objects.filter(user=user).delete()
