"""Re-encrypt every stored key under the newest VOICE_ENCRYPTION_KEYS entry: users' own keys and
the keys live calls keep until they are hung up.

Rotation: prepend a new key, deploy, run this, then drop the old key.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import QuerySet

from voice import crypto
from voice.models import Call, UserApiKey


class Command(BaseCommand):
    help = "Re-encrypt stored OpenAI keys (users' and calls') with the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = self._rotate(UserApiKey.objects.all(), "encrypted_key", "User {row.user_id}")
            calls = self._rotate(
                Call.objects.exclude(api_key_encrypted=""), "api_key_encrypted", "Call {row.pk}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {users} user key(s) and {calls} call key(s).")
        )

    def _rotate(self, rows: QuerySet[Any], field: str, label: str) -> int:
        rotated = 0
        for row in rows.select_for_update():
            try:
                setattr(row, field, crypto.rotate(getattr(row, field)))
            except crypto.KeyDecryptionError as exc:
                raise CommandError(f"{label.format(row=row)}: {exc} Nothing was changed.") from exc
            row.save(update_fields=[field])
            rotated += 1
        return rotated
