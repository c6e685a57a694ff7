"""The first `make run` writes a development .env (never over one), and with it every
manage.py command works in a fresh checkout: createsuperuser without knowing about DEBUG."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from scripts.dev_env import write_dev_env

ROOT = Path(__file__).resolve().parents[2]


def read_env(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_it_writes_debug_and_fresh_secrets_readable_only_by_the_owner(tmp_path):
    first, second = tmp_path / "one.env", tmp_path / "two.env"

    assert write_dev_env(first)
    write_dev_env(second)

    values = read_env(first)
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50  # what check --deploy asks of a secret key
    Fernet(values["VOICE_ENCRYPTION_KEYS"])  # a valid Fernet key, or this raises
    assert values["SECRET_KEY"] != read_env(second)["SECRET_KEY"]
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_an_existing_env_is_never_overwritten(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DEBUG=false\nSECRET_KEY=mine\n")

    assert not write_dev_env(path)
    assert path.read_text() == "DEBUG=false\nSECRET_KEY=mine\n"


def manage(*args: str, env_file: Path, database: Path) -> subprocess.CompletedProcess:
    """manage.py as a newcomer runs it: no DEBUG, no secrets in the environment."""
    unset = {"DEBUG", "SECRET_KEY", "VOICE_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("DJANGO")}
    env.update(
        VOICE_ENV_FILE=str(env_file),
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SUPERUSER_PASSWORD="a fresh checkout's admin",
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_createsuperuser_works_after_the_env_is_written(tmp_path):
    env_file, database = tmp_path / ".env", tmp_path / "fresh.sqlite3"
    subprocess.run([sys.executable, "scripts/dev_env.py", str(env_file)], cwd=ROOT, check=True)
    assert manage("migrate", "--noinput", env_file=env_file, database=database).returncode == 0

    result = manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "root@example.com",
        env_file=env_file,
        database=database,
    )

    assert result.returncode == 0, result.stderr
    assert "Superuser created" in result.stdout


def test_without_an_env_the_error_says_how_to_get_one(tmp_path):
    result = manage("check", env_file=tmp_path / "missing.env", database=tmp_path / "x.sqlite3")

    assert result.returncode != 0
    assert "`make run` writes a .env with DEBUG=true" in result.stderr
