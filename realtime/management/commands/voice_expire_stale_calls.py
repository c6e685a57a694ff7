"""End calls nobody finished and hang them up at OpenAI (run from cron; every call start also
does it for its user)."""

from django.core.management.base import BaseCommand

from realtime.services import calls_expire_and_hang_up


class Command(BaseCommand):
    help = "End calls stuck connecting for over a minute or active past the configured maximum."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Ended {calls_expire_and_hang_up()} stale call(s).")
