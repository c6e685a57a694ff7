"""Failed-login limits (django-axes): whose address a login comes from, and the lockout page.

`X-Forwarded-For` is a list each proxy appends to; only the entries our own proxies added can
be believed, so with `TRUSTED_PROXY_COUNT = n` the client is the n-th address from the right.
Anything to its left was written by the client and is ignored.
"""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
    if len(forwarded) < proxies:
        return remote  # the request did not come through all of our proxies
    return forwarded[-proxies]


def lockout_response(request: HttpRequest, *args: object) -> HttpResponse:
    """429 with the login page's look and a Retry-After (axes passes varying extra arguments)."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    response = render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
