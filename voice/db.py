"""Database connections in async requests.

An async view's ORM work runs in a thread of its own for each request, and Django keeps that
thread's connection until the request ends: a view that awaits a slow upstream would hold a
pooled PostgreSQL connection all the while, so N waiting requests would need N connections.
"""

from django.db import connection


def release_connection() -> None:
    """Return this thread's pooled connection before a long wait (no-op without a pool)."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()
