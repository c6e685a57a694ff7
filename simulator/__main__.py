"""``python -m simulator``: serve the simulated OpenAI API until SIGINT or SIGTERM.

The "simulator listening on ..." line is printed only once the socket accepts connections;
``make run`` and tests wait for it.
"""

import asyncio
import logging
import signal
import sys

try:
    from aiohttp import web
except ImportError:  # the app's own install does not carry the simulator's dependencies
    sys.exit("The simulator needs its extra: pip install 'django-voice[simulator]'")

from .app import create_app
from .settings import Settings, settings_from


async def serve(settings: Settings) -> None:
    # handler_cancellation: a client that gives up (e.g. on a fail-stall key) ends its handler.
    runner = web.AppRunner(create_app(settings), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"simulator listening on http://{settings.host}:{port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()  # runs on_shutdown: closes every peer connection


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings_from()))


if __name__ == "__main__":
    main()
