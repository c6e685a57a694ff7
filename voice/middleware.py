"""The core's middleware. HTTP: every response under /api/ keeps docs/api.md's JSON error shape,
whatever produced it. Websocket handshakes: the origin check (scheme, host and port) and
token authentication for integrations."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from voice.exception_handlers import response_for_status

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# ASGI's callables, as far as these middlewares look into them.
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
GetResponse = Callable[[HttpRequest], Any]  # an HttpResponse, or an awaitable of one


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if not _is_api(request) or response.status_code < 400 or response.streaming:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    replacement = response_for_status(response.status_code)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            replacement[header] = response[header]
    return replacement


class ApiErrorMiddleware:
    """Turns Django's HTML error pages (unknown URL, 405, crashes) into JSON under /api/."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:  # a response, or a coroutine of one
        if iscoroutinefunction(self):
            return self._acall(request)
        return _as_json_error(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return _as_json_error(request, await self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
            return None
        if isinstance(exception, Http404):
            return response_for_status(404)
        if isinstance(exception, PermissionDenied):
            return response_for_status(403)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return response_for_status(500)


# --- websocket handshakes ----------------------------------------------------------------------


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {
        name.decode("latin1").lower(): value.decode("latin1") for name, value in scope["headers"]
    }


def _http_scheme(scope: dict[str, Any], headers: dict[str, str]) -> str:
    """The page's scheme, as Django's `request.is_secure()` would see it (proxy header first)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = headers.get(meta_name.removeprefix("HTTP_").replace("_", "-").lower())
        if forwarded is not None:
            return "https" if forwarded.split(",", 1)[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") == "wss" else "http"


def _trusted(origin: str) -> bool:
    """Listed in CSRF_TRUSTED_ORIGINS, with Django's `https://*.example.com` wildcards."""
    parsed = urlsplit(origin)
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        pattern = urlsplit(trusted)
        if origin == trusted or (
            pattern.netloc.startswith("*")
            and pattern.scheme == parsed.scheme
            and is_same_domain(parsed.netloc, pattern.netloc[1:])
        ):
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = _headers(scope)
    origin = headers.get("origin")
    if origin is None:
        # Browsers always send Origin on a websocket handshake, so a handshake without one is
        # not a page riding on a victim's cookie: allowed only with a token of its own.
        return "authorization" in headers
    host = headers.get("host", "")
    if not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return False
    own = f"{_http_scheme(scope, headers)}://{host}"
    return origin.lower() == own.lower() or _trusted(origin)


class SameOriginValidator:
    """Refuses handshakes from any other origin: scheme, host and port must all match the
    site's (channels' AllowedHostsOriginValidator compares the host alone, so a page served
    over plain HTTP or on another port of the same host would pass)."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await WebsocketDenier()(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _token_in_query(scope: dict[str, Any]) -> bool:
    query = scope.get("query_string", b"").decode("latin1")
    return any("token" in name.lower() for name, _ in parse_qsl(query, keep_blank_values=True))


def _token_user_sync(key: str) -> User | None:
    try:
        user: User = TokenAuthentication().authenticate_credentials(key)[0]
    except AuthenticationFailed:
        return None
    return user


async def _token_user(key: str) -> User | None:
    found: User | None = await database_sync_to_async(_token_user_sync)(key)
    return found


class TokenAuthMiddleware(BaseMiddleware):
    """`Authorization: Token <token>` on the handshake authenticates the socket, like the REST
    API (integrations; browsers cannot set the header and use the session cookie). A wrong
    token is anonymous, never the cookie's user. A token in the URL is refused unread: URLs
    end up in access logs and browser history."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        scope = dict(scope)
        scheme, _, key = _headers(scope).get("authorization", "").partition(" ")
        if _token_in_query(scope):
            scope["user"] = AnonymousUser()
        elif scheme.lower() == "token":
            key = key.strip()
            user = await _token_user(key) if key else None
            scope["user"] = user or AnonymousUser()
            scope["auth_token"] = key if user else None
        return await super().__call__(scope, receive, send)
