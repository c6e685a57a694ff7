"""Seed a benchmark database: `python -m bench.seed USERS STARTS_PER_MINUTE` prints the users'
API tokens, one per line (run with the benchmark's environment)."""

import sys

import django


def main(users: int, starts_per_minute: int) -> None:
    django.setup()
    from django.contrib.auth import get_user_model
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
    print("\n".join(token.key for token in tokens))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
