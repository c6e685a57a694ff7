"""`manage.py voice_monitor`: the call monitor worker (see `voice.monitor`).

Run any number of them (PostgreSQL and Redis for more than one); SIGTERM or Ctrl+C stops one
gracefully, releasing its calls to the others at once.
"""

import asyncio
import signal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from voice.monitor import CallMonitor, default_sweep_seconds, default_worker_id


class Command(BaseCommand):
    help = "Watch every live call (the Realtime sideband) and enforce the call limits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--worker-id",
            default=None,
            help="This worker's name in the call leases (default: host:pid:random).",
        )
        parser.add_argument(
            "--sweep-seconds",
            type=float,
            default=None,
            help="Seconds between sweeps (default: 1 with the in-memory channel layer, where "
            "the sweep is the only wake-up; 2 with Redis, where call starts wake the workers).",
        )

    def handle(
        self, *args: Any, worker_id: str | None, sweep_seconds: float | None, **options: Any
    ) -> None:
        monitor = CallMonitor(
            worker_id=worker_id or default_worker_id(),
            sweep_seconds=sweep_seconds or default_sweep_seconds(),
        )
        asyncio.run(self._serve(monitor))
        self.stdout.write(f"Call monitor {monitor.worker_id} stopped; its calls were released.")

    def _ready(self, monitor: CallMonitor) -> None:
        """The first line a process manager (or a test) waits for: the worker hears call
        starts and has swept once."""
        upstream = urlsplit(settings.OPENAI_BASE_URL)  # never its userinfo, if it has one
        port = f":{upstream.port}" if upstream.port else ""
        self.stdout.write(
            f"Call monitor {monitor.worker_id}: sweeping every {monitor.sweep_seconds:g} s, "
            f"upstream {upstream.scheme}://{upstream.hostname}{port}",
        )
        self.stdout.flush()

    async def _serve(self, monitor: CallMonitor) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, monitor.stop)
        await monitor.run(on_ready=lambda: self._ready(monitor))
