"""Seed a benchmark database: `python -m bench.seed USERS STARTS_PER_MINUTE [--own-keys]` prints,
one user per line, "user_id api_token session_key" (run with the benchmark's environment).
With --own-keys every user has an OpenAI key of their own stored (encrypted), the realistic
Realtime path: that key pays, so the server's budget is never consulted."""

import sys

import django

BACKEND = "django.contrib.auth.backends.ModelBackend"


def main(users: int, starts_per_minute: int, *, own_keys: bool = False) -> None:
    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from voice import crypto
    from voice.models import UserApiKey
    from voice.selectors import voice_config_get

    config = voice_config_get()
    config.call_starts_per_minute = starts_per_minute
    config.save()
    User = get_user_model()
    created = User.objects.bulk_create([User(username=f"bench{n}") for n in range(users)])
    tokens = Token.objects.bulk_create(
        [Token(user=user, key=Token.generate_key()) for user in created]
    )
    if own_keys:
        UserApiKey.objects.bulk_create(
            [
                UserApiKey(user=user, encrypted_key=crypto.encrypt(key), last4=key[-4:])
                for user in created
                for key in [f"sk-bench-user-key-{user.pk:014d}"]
            ]
        )
    for user, token in zip(created, tokens, strict=True):
        session = SessionStore()
        session.update(
            {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: BACKEND, HASH_SESSION_KEY: ""}
        )
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        print(user.pk, token.key, session.session_key)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), own_keys="--own-keys" in sys.argv[3:])
