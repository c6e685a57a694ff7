"""Django's own middleware, run on the event loop when serving ASGI.

Under ASGI, `MiddlewareMixin` hops to a worker thread for every `process_request` and
`process_response`. Each hop is cheap alone, but a request crosses a dozen of them: measured
under daphne, 6 ms for a request that does nothing (bench/realtime_proxy.py). These hooks only
look at headers, cookies and URLs, so they run inline; the one that can write to the database
(saving a modified session) still runs in a thread.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, common, csp, csrf, security


class InlineHooksMixin:
    """Async path for a `MiddlewareMixin` whose hooks do no blocking I/O."""

    get_response: Callable[[HttpRequest], Any]  # set by MiddlewareMixin

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        process_request = getattr(self, "process_request", None)
        response = process_request(request) if process_request else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = await self.aprocess_response(request, response)
        return response

    async def aprocess_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # The Django middleware this is mixed into has the hook; the mixin itself does not.
        process_response: Callable[[HttpRequest, HttpResponse], HttpResponse]
        process_response = getattr(self, "process_response")  # noqa: B009
        return process_response(request, response)


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    """Django's, plus the Permissions-Policy header, which Django does not set."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault(
                "Permissions-Policy", permissions_policy(settings.PERMISSIONS_POLICY)
            )
        return response


def permissions_policy(features: dict[str, list[str]]) -> str:
    """`{"microphone": ["self"], "camera": []}` → `microphone=(self), camera=()`."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in features.items())


class ContentSecurityPolicyMiddleware(InlineHooksMixin, csp.ContentSecurityPolicyMiddleware):
    pass


class CommonMiddleware(InlineHooksMixin, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooksMixin, csrf.CsrfViewMiddleware):
    # Safe inline while the secret lives in a cookie; with CSRF_USE_SESSIONS it would be read
    # from the session store.
    pass


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass


class SessionMiddleware(InlineHooksMixin, sessions.SessionMiddleware):
    async def aprocess_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST):
            return await sync_to_async(self.process_response)(request, response)  # saves to the DB
        return self.process_response(request, response)


class AuthenticationMiddleware(InlineHooksMixin, auth.AuthenticationMiddleware):
    # Sets up a lazy request.user; the database is only read when a view asks for it.
    pass


class MessageMiddleware(InlineHooksMixin, messages.MessageMiddleware):
    async def aprocess_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        storage = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            # Messages that overflow the cookie are kept in the session: a database write.
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)
