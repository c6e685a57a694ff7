"""Create the demo login for `make run` when the database has no user yet, and print it."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
# Where the generated password is kept, so later runs can print it again (git-ignored).
LOGIN_FILE = Path(settings.BASE_DIR) / ".demo-login"


class Command(BaseCommand):
    help = "Create a demo superuser if there is no user yet, and print the demo login."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if not User.objects.exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(DEMO_USERNAME, "demo@example.com", password)
            LOGIN_FILE.write_text(f"{DEMO_USERNAME} {password}\n")
            LOGIN_FILE.chmod(0o600)
        if LOGIN_FILE.exists() and User.objects.filter(username=DEMO_USERNAME).exists():
            username, password = LOGIN_FILE.read_text().split()
            self.stdout.write(self.style.SUCCESS(f"Demo login: {username} / {password}"))
        else:
            self.stdout.write("Log in with an existing user (manage.py createsuperuser makes one).")
