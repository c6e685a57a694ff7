"""Start-up refuses to run a deployment with missing or malformed secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-production-secret-" + "x" * 40 + "-with-enough-entropy-9f3k",
    "VOICE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "voice.example.com",
    "DATABASE_URL": "sqlite:////tmp/voice-settings-check.sqlite3",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    ignored = {*PRODUCTION, "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    clean["DJANGO_SETTINGS_MODULE"] = "voiceproject.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "VOICE_ENCRYPTION_KEYS"])
def test_debug_off_without_a_secret_refuses_to_start(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is false" in result.stderr


def test_a_malformed_encryption_key_refuses_to_start():
    result = manage("check", env={**PRODUCTION, "VOICE_ENCRYPTION_KEYS": "short"})

    assert result.returncode != 0
    assert "VOICE_ENCRYPTION_KEYS holds a malformed key" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_openapi_schema_validates_without_warnings():
    result = manage("spectacular", "--validate", "--fail-on-warn", env={"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert "openapi: 3." in result.stdout


def test_the_security_middleware_is_installed_as_subclasses_of_djangos(settings):
    """Django's W001–W003 are silenced for these: prove the protections are still there."""
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.csrf import CsrfViewMiddleware
    from django.middleware.security import SecurityMiddleware
    from django.utils.module_loading import import_string

    installed = [import_string(path) for path in settings.MIDDLEWARE]

    for required in (SecurityMiddleware, CsrfViewMiddleware, XFrameOptionsMiddleware):
        assert any(issubclass(cls, required) for cls in installed), required
