"""End calls nobody finished and hang them up upstream, with each call's own key.

The call monitor (`manage.py voice_monitor`) does this every few seconds; this command is for a
deployment that runs no monitor, or a one-off cleanup. Every call start also does it for its user.
"""

from typing import Any

from django.core.management.base import BaseCommand

from voice.services.hangups import calls_expire_and_hang_up


class Command(BaseCommand):
    help = (
        "End calls stuck connecting for over a minute, active past the longest call, or idle "
        "past the idle limit, and retry hangups that failed earlier."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Ended {calls_expire_and_hang_up()} stale call(s).")
