"""End calls nobody finished (run from cron; call starts also do it for their user)."""

from django.core.management.base import BaseCommand

from voice.services.calls import calls_expire_stale


class Command(BaseCommand):
    help = "End calls stuck connecting for over a minute or active past the configured maximum."

    def handle(self, *args, **options) -> None:
        expired = calls_expire_stale()
        self.stdout.write(f"Ended {len(expired)} stale call(s).")
