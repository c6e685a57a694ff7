"""ASGI entry point: HTTP to Django; websockets through the origin check (scheme, host and
port), then session or token authentication."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
# Set Django up before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from voice.middleware import SameOriginValidator, TokenAuthMiddleware  # noqa: E402
from voice.routing import websocket_urlpatterns  # noqa: E402

http_app = django_asgi_app
if settings.VOICE_SERVE_STATIC:  # development and browser tests; deployments use a web server
    http_app = ASGIStaticFilesHandler(django_asgi_app)


async def lifespan(scope, receive, send) -> None:
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
