"""ASGI entry point: HTTP to Django; websockets through the origin check (scheme, host and
port), then session or token authentication."""

import inspect
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from voice.middleware import (  # noqa: E402
    Receive,
    SameOriginValidator,
    Scope,
    Send,
    TokenAuthMiddleware,
)
from voice.routing import websocket_urlpatterns  # noqa: E402


def _daphne_leaves_bodies_to_django() -> None:
    """Under daphne, Twisted parses every form and multipart body itself before Django sees
    it: a 25 MB upload is decoded twice, the first time on the reactor thread, and a malformed
    one is answered with a bare `400 Bad Request` that never reaches our error handling.
    Django parses bodies itself, so Twisted's parsing is turned off (Twisted ≥ 24.10 has the
    switch; an older one keeps its behaviour)."""
    try:
        from daphne import http_protocol
        from twisted.web import http
    except ImportError:  # served by another ASGI server
        return
    if "parsePOSTFormSubmission" not in inspect.signature(http.Request).parameters:
        return

    class RawBodyRequest(http_protocol.WebRequest):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    http_protocol.WebRequest = RawBodyRequest  # what daphne's HTTPFactory builds per request


_daphne_leaves_bodies_to_django()

http_app = django_asgi_app
if settings.VOICE_SERVE_STATIC:  # development and browser tests; deployments use a web server
    http_app = ASGIStaticFilesHandler(django_asgi_app)


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI lifespan (uvicorn sends it; daphne does not): close the pooled upstream client."""
    from voice import upstream

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await upstream.aclose_clients()
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "lifespan": lifespan,
        "http": http_app,
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
