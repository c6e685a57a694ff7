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
    # HSTS preloading is the deployer's opt-in: check --deploy warns (W021) until it is given.
    "SECURE_HSTS_PRELOAD": "true",
}


SECURITY_SETTINGS = {
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "OPENAI_BASE_URL",
    "OPENAI_ALLOW_INSECURE_BASE_URL",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    ignored = {*PRODUCTION, "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", *SECURITY_SETTINGS}
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


def test_a_plain_http_openai_base_url_refuses_to_start_in_production():
    result = manage("check", env={**PRODUCTION, "OPENAI_BASE_URL": "http://gateway.internal/v1"})

    assert result.returncode != 0
    assert "OPENAI_BASE_URL must start with https://" in result.stderr
    assert "OPENAI_ALLOW_INSECURE_BASE_URL=true" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {**PRODUCTION, "OPENAI_BASE_URL": "https://gateway.internal/v1"},
        {
            **PRODUCTION,
            "OPENAI_BASE_URL": "http://gateway.internal/v1",
            "OPENAI_ALLOW_INSECURE_BASE_URL": "true",
        },
        {"DEBUG": "true", "OPENAI_BASE_URL": "http://127.0.0.1:8100/v1"},
    ],
    ids=["https", "insecure-allowed", "debug"],
)
def test_an_openai_base_url_starts_when_https_allowed_or_debug(env):
    result = manage("check", env=env)

    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_openapi_schema_validates_without_warnings():
    result = manage("spectacular", "--validate", "--fail-on-warn", env={"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert "openapi: 3." in result.stdout


@pytest.mark.parametrize(
    ("broken", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
        ({"CSRF_COOKIE_SECURE": "false"}, "security.W016"),
        ({"SECURE_HSTS_INCLUDE_SUBDOMAINS": "false"}, "security.W005"),
    ],
)
def test_check_deploy_catches_a_weakened_production_setting(broken, warning):
    """These checks only run when Django sees its middleware installed: they must not be moot."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, **broken})

    assert result.returncode != 0
    assert warning in result.stderr


def test_the_security_middleware_counts_as_installed_for_djangos_checks(settings):
    for path in (
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ):
        assert path in settings.MIDDLEWARE, path


def test_a_stack_without_djangos_middleware_is_seen_as_missing_it():
    from voiceproject.middleware_list import MiddlewareList

    stack = MiddlewareList(
        ["voiceproject.middleware.CommonMiddleware", "voice.middleware.ApiErrorMiddleware"]
    )

    assert "django.middleware.common.CommonMiddleware" in stack
    assert "django.middleware.security.SecurityMiddleware" not in stack
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in stack
    assert "no.such.Middleware" not in stack
