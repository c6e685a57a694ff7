"""Settings for the test suite: production settings (DEBUG off) with test secrets filled in.

Testing with DEBUG off keeps the suite honest about what a deployment does; only the HTTPS
redirect is turned off, since the test client and the live test servers speak plain HTTP.
"""

import os

# A developer's .env (the first `make run` writes one with DEBUG=true) must not leak into the
# suite, nor into the servers and commands it starts: they inherit this.
os.environ.setdefault("VOICE_ENV_FILE", "")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-with-enough-entropy-0123456789")
# A fixed Fernet key (not derived from SECRET_KEY): rotation tests prepend their own keys.
os.environ.setdefault("VOICE_ENCRYPTION_KEYS", "GQbGz3oO2WqbVAd3Kl8rBSxRl5cMI8e1B1HQmnw2B2o=")
os.environ.setdefault("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
# The simulator and the test fakes answer over plain HTTP on loopback.
os.environ.setdefault("OPENAI_ALLOW_INSECURE_BASE_URL", "true")

from voiceproject.settings import *  # noqa: F403
from voiceproject.settings import BASE_DIR, DATABASES

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
AUTHENTICATION_BACKENDS = [
    "tests.login_backend.AxesBackendOutsideTestClientLogins",
    "django.contrib.auth.backends.ModelBackend",
]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that threads and live test servers share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
else:
    # A pool would keep connections to the test database open past the tests, and PostgreSQL
    # refuses to drop a database in use. (The benchmarks run with the pool.)
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
