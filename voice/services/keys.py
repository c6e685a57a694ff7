"""Users' OpenAI keys: storing them encrypted, and choosing which key pays for a call."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from voice import crypto, errors
from voice.models import KeyPolicy, UserApiKey, VoiceConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedKey:
    # A `Secret`: whatever copies it along (the pipelines' call plans) prints it masked too.
    value: crypto.Secret = field(repr=False)
    source: str  # "user" | "server"


@transaction.atomic
def api_key_set(*, user: User, api_key: str) -> UserApiKey:
    row, _ = UserApiKey.objects.update_or_create(
        user=user,
        defaults={"encrypted_key": crypto.encrypt(api_key), "last4": api_key[-4:]},
    )
    return row


@transaction.atomic
def api_key_clear(*, user: User) -> None:
    UserApiKey.objects.filter(user=user).delete()


def api_key_resolve(*, user: User, config: VoiceConfig) -> ResolvedKey | None:
    """The key that pays for this user's calls under the admin's policy, or None."""
    if config.key_policy_allows(KeyPolicy.USER):
        row = UserApiKey.objects.filter(user=user).first()
        if row is not None:
            try:
                return ResolvedKey(crypto.decrypt(row.encrypted_key), "user")
            except crypto.KeyDecryptionError as exc:
                logger.error("User %s: %s", user.pk, exc)
                raise errors.key_unreadable() from exc
    if config.key_policy_allows(KeyPolicy.SERVER) and settings.OPENAI_API_KEY:
        return ResolvedKey(crypto.Secret(settings.OPENAI_API_KEY), "server")
    return None
