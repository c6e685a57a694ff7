"""Encryption at rest for users' OpenAI keys: Fernet, with rotation through MultiFernet.

`VOICE_ENCRYPTION_KEYS` lists Fernet keys newest first. Tokens are made with the newest and
read with any, so prepending a key rotates without breaking stored rows.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


class Secret(str):
    """A key in clear: a plain `str` wherever it is used, masked wherever it is printed.

    `repr` is what dataclasses, tracebacks' local-variable dumps, debuggers and error trackers
    show, so any object that holds one (a resolved key, a call plan, a prepared request)
    prints `Secret('…abcd')` instead of the key.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret('…{self[-4:]}')" if len(self) >= 16 else "Secret('…')"


class KeyDecryptionError(Exception):
    """A stored key cannot be read with the configured encryption keys."""


def validate_configured_keys() -> None:
    _multi_fernet()


@cache
def _multi_fernet() -> MultiFernet:
    keys = settings.VOICE_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("VOICE_ENCRYPTION_KEYS must list at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "VOICE_ENCRYPTION_KEYS holds a malformed key: each must be 32 url-safe base64-encoded "
            "bytes, as made by `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        ) from exc


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: object) -> None:
    if setting == "VOICE_ENCRYPTION_KEYS":
        _multi_fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _multi_fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> Secret:
    try:
        return Secret(_multi_fernet().decrypt(token.encode()).decode())
    except InvalidToken as exc:
        raise KeyDecryptionError(
            "A stored OpenAI key cannot be decrypted with VOICE_ENCRYPTION_KEYS: the key it was "
            "encrypted with is missing (keep old keys listed after new ones when rotating)."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key (for `manage.py voice_rotate_keys`)."""
    try:
        return _multi_fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise KeyDecryptionError("A stored key cannot be decrypted for rotation.") from exc
