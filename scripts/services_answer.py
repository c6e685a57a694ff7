"""Exit 0 when both PostgreSQL and Redis answer at the given URLs, else 1 (with the reason).

`make test` uses it to decide whether the second leg of the suite can run here.
"""

import sys

import psycopg
import redis


def main(database_url: str, redis_url: str) -> int:
    try:
        # Connect to the maintenance database: the test database is created by pytest-django.
        with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            pass
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as exc:
        print(f"services not reachable: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
