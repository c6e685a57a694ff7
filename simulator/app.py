"""The aiohttp application: routes, middlewares and the shared state they use.

``create_app(settings)`` is all a test needs to run the simulator in-process; ``__main__.py``
runs the same app as a server.
"""

import asyncio

from aiohttp import web

from . import control, legacy, models, realtime
from .faults import SETTINGS, SHUTTING_DOWN, faults_middleware
from .realtime import CALLS, CallRegistry
from .recording import RECORDER, Recorder, recorder_middleware
from .script import Script
from .settings import Settings

# Bodies larger than OpenAI's 25 MB upload limit are still read, so the transcription endpoint
# can answer 413 in OpenAI's shape; beyond this the recorder refuses them itself.
MAX_BODY_BYTES = 64 * 1024 * 1024


async def _on_shutdown(app: web.Application) -> None:
    app[SHUTTING_DOWN].set()
    await app[CALLS].close_all()


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES + 1,
        middlewares=[recorder_middleware(MAX_BODY_BYTES), faults_middleware],
    )
    app[SETTINGS] = settings
    app[SHUTTING_DOWN] = asyncio.Event()
    app[RECORDER] = Recorder()
    app[CALLS] = CallRegistry()
    app[legacy.SCRIPT] = Script(settings)
    app.router.add_post("/v1/realtime/calls", realtime.create_call)
    app.router.add_post("/v1/realtime/calls/{call_id}/hangup", realtime.hangup)
    app.router.add_get("/v1/realtime", realtime.sideband)
    app.router.add_post("/v1/audio/transcriptions", legacy.transcriptions)
    app.router.add_post("/v1/chat/completions", legacy.chat_completions)
    app.router.add_post("/v1/audio/speech", legacy.speech)
    app.router.add_get("/v1/models", models.list_models)
    control.add_routes(app)
    app.on_shutdown.append(_on_shutdown)
    return app
