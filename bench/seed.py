"""Seed a benchmark database: `python -m bench.seed USERS STARTS_PER_MINUTE` prints, one user per
line, "user_id api_token session_key" (run with the benchmark's environment)."""

import sys

import django

BACKEND = "django.contrib.auth.backends.ModelBackend"


def main(users: int, starts_per_minute: int) -> None:
    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from voice.selectors import voice_config_get

    config = voice_config_get()
    config.call_starts_per_minute = starts_per_minute
    config.save()
    User = get_user_model()
    created = User.objects.bulk_create([User(username=f"bench{n}") for n in range(users)])
    tokens = Token.objects.bulk_create(
        [Token(user=user, key=Token.generate_key()) for user in created]
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
    main(int(sys.argv[1]), int(sys.argv[2]))
