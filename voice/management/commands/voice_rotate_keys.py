"""Re-encrypt every stored user key under the newest VOICE_ENCRYPTION_KEYS entry.

Rotation: prepend a new key, deploy, run this, then drop the old key.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from voice import crypto
from voice.models import UserApiKey


class Command(BaseCommand):
    help = "Re-encrypt stored user OpenAI keys with the newest encryption key."

    def handle(self, *args, **options) -> None:
        rotated = 0
        with transaction.atomic():
            for row in UserApiKey.objects.select_for_update():
                try:
                    row.encrypted_key = crypto.rotate(row.encrypted_key)
                except crypto.KeyDecryptionError as exc:
                    raise CommandError(f"User {row.user_id}: {exc} Nothing was changed.") from exc
                row.save(update_fields=["encrypted_key"])
                rotated += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rotated} key(s)."))
