"""Write a local `.env` for development on the first `make run`: DEBUG on and freshly made
secrets, so every `manage.py` command (createsuperuser, shell, …) works in a fresh checkout
without knowing what to set. An existing `.env` is never touched. Usage: dev_env.py [PATH]."""

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """\
# Written by `make run` for local development; it is never overwritten, so edit it freely.
# .env.example explains every variable. Not for production: DEBUG is on.
DEBUG=true
SECRET_KEY={secret_key}
VOICE_ENCRYPTION_KEYS={encryption_key}
"""


def write_dev_env(path: Path) -> bool:
    """Create `path` with development settings; False (and no change) when it exists."""
    content = TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50),
        encryption_key=Fernet.generate_key().decode(),
    )
    try:
        # O_EXCL: never overwrite, even if another `make run` wrote it a moment ago.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write(content)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".env"
    if write_dev_env(target):
        print(f"Wrote {target.name} with DEBUG=true and new development secrets (see .env.example)")
