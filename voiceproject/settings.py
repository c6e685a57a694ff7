"""Settings, read from the environment with django-environ (the table in docs/api.md;
`.env.example`).

The embedded default (no environment at all, DEBUG on) is SQLite and the in-memory channel layer.
With DEBUG off, every secret must be given: we fail at start-up rather than run with a dev value.
"""

import base64
import datetime
import hashlib
import os
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from voiceproject.middleware_list import MiddlewareList

# Lets Django's generic classes take type arguments at run time (`admin.ModelAdmin[Call]`), as
# django-stubs declares them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `.env` (the first `make run` writes one for development) fills in what the environment leaves
# unset. VOICE_ENV_FILE names another file, or "" for none: the test suite reads only its own.
ENV_FILE = os.environ.get("VOICE_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).exists():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)


def _required(name: str) -> str:
    value: str = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is false (see .env.example for what it is). "
            "For development, `make run` writes a .env with DEBUG=true and generated secrets."
        )
    return value


SECRET_KEY = (
    env.str("SECRET_KEY", default="") or "dev-only-insecure-secret-key-do-not-deploy"
    if DEBUG
    else _required("SECRET_KEY")
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "voice",
    "realtime",
    "legacy_voice",
]

# Django's usual stack; voiceproject.middleware runs the same classes without a thread hop per
# hook under ASGI (see its docstring). MiddlewareList lets Django's deploy checks see them.
MIDDLEWARE = MiddlewareList(
    [
        "voiceproject.middleware.SecurityMiddleware",
        "voiceproject.middleware.ContentSecurityPolicyMiddleware",
        "voice.middleware.ApiErrorMiddleware",
        "voiceproject.middleware.SessionMiddleware",
        "voiceproject.middleware.CommonMiddleware",
        "voiceproject.middleware.CsrfViewMiddleware",
        "voiceproject.middleware.AuthenticationMiddleware",
        "voiceproject.middleware.MessageMiddleware",
        "voiceproject.middleware.XFrameOptionsMiddleware",
        # Last, as django-axes asks: it turns a locked-out login into the lockout page.
        "axes.middleware.AxesMiddleware",
    ]
)

ROOT_URLCONF = "voiceproject.urls"
ASGI_APPLICATION = "voiceproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.csp",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Daphne serves requests from a thread pool: WAL lets readers run beside a writer, and
    # IMMEDIATE transactions queue writers up (for `timeout` seconds) instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Async requests each run their ORM work in a thread of their own: without a pool, every
    # request would open (and tear down) a PostgreSQL connection.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # The cache holds the request throttles' counters: shared, so limits hold across processes.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # One process only: fine for the embedded default, not for several server processes.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Failed logins (the login page and the admin's) are limited per account and per address,
# each on its own: guessing one account's password and trying one password on many accounts
# both hit the limit. A success resets the account's count; the lock lifts after the cool-off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "voiceproject.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "voiceproject.logins.client_ip"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (admin: Axes); successes need no table
# How many proxies in front of the app append to X-Forwarded-For; 0 trusts no header and
# uses the connection's address (a client could write any X-Forwarded-For it likes).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Production hardening (`manage.py check --deploy` checks all of it); every value is
# overridable, e.g. for a deployment behind a TLS-terminating proxy.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading binds the whole domain to HTTPS in browsers for good: the deployer's decision, so
# it is off by default and `check --deploy` says so (security.W021) until they make it.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that always sets (or strips) the header: otherwise a client could
    # claim HTTPS and skip the redirect.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = env.str(
    "SECURE_CROSS_ORIGIN_OPENER_POLICY", default="same-origin"
)
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere: pages load our own ES modules and stylesheets. Templates
# that need an inline block (the admin's) get a per-response nonce via {% csp_nonce_attr %}.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],  # the API and /ws/voice; WebRTC media is not fetched
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# The call page needs the microphone, for this origin only; nothing else is ever used.
PERMISSIONS_POLICY = {
    "microphone": ["self"],
    "autoplay": ["self"],  # the assistant's voice plays without a click of its own
    **{
        feature: []
        for feature in (
            "accelerometer",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "hid",
            "magnetometer",
            "midi",
            "payment",
            "serial",
            "usb",
        )
    },
}

# --- The voice module -------------------------------------------------------------------------

OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1").rstrip("/")
# Keys travel in every upstream request's header: over plain HTTP only to a private gateway
# the deployer vouches for (or, with DEBUG, the local simulator).
OPENAI_ALLOW_INSECURE_BASE_URL = env.bool("OPENAI_ALLOW_INSECURE_BASE_URL", default=False)
if not (DEBUG or OPENAI_ALLOW_INSECURE_BASE_URL or OPENAI_BASE_URL.startswith("https://")):
    raise ImproperlyConfigured(
        f"OPENAI_BASE_URL must start with https:// when DEBUG is false (it is "
        f"{OPENAI_BASE_URL!r}): API keys would cross the network in clear. For a private "
        "gateway you trust, set OPENAI_ALLOW_INSECURE_BASE_URL=true."
    )
UPSTREAM_TIMEOUT_S = env.float("UPSTREAM_TIMEOUT_S", default=15.0)
# Set by `make run` when it serves against the local simulator: the page shows a badge.
VOICE_SIMULATOR = env.bool("VOICE_SIMULATOR", default=False)
# The ASGI app serves /static/ itself (like runserver) for development and the browser tests;
# a deployment serves collected static files from its web server instead.
VOICE_SERVE_STATIC = env.bool("VOICE_SERVE_STATIC", default=DEBUG)


def _dev_encryption_key(secret: str) -> str:
    digest = hashlib.sha256(b"voice.user-api-keys:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


# Fernet keys for users' OpenAI keys at rest, newest first: prepend a new key to rotate,
# keep the old ones until `manage.py voice_rotate_keys` has re-encrypted every row.
VOICE_ENCRYPTION_KEYS = env.list("VOICE_ENCRYPTION_KEYS", default=[])
if not VOICE_ENCRYPTION_KEYS:
    if not DEBUG:
        _required("VOICE_ENCRYPTION_KEYS")
    VOICE_ENCRYPTION_KEYS = [_dev_encryption_key(SECRET_KEY)]

# Request bodies under /api/ are capped; uploads have their own, larger cap.
VOICE_MAX_JSON_BODY_BYTES = env.int("VOICE_MAX_JSON_BODY_BYTES", default=512 * 1024)

REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["voice.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "voice.exception_handlers.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per user, per endpoint; speech is asked for sentence by sentence, hence the higher rate.
    "DEFAULT_THROTTLE_RATES": {
        "legacy_transcriptions": env.str("THROTTLE_LEGACY_TRANSCRIPTIONS", default="60/min"),
        "legacy_replies": env.str("THROTTLE_LEGACY_REPLIES", default="60/min"),
        "legacy_speech": env.str("THROTTLE_LEGACY_SPEECH", default="300/min"),
        "voice_token": env.str("THROTTLE_VOICE_TOKEN", default="10/min"),
        "conversation_export": env.str("THROTTLE_CONVERSATION_EXPORT", default="30/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Voice calls API",
    "DESCRIPTION": (
        "Voice calls between a logged-in user and an AI assistant: OpenAI Realtime over WebRTC "
        "(the server proxies the SDP offer so the API key never reaches the browser) and a "
        "speech-to-text → LLM → text-to-speech fallback. Authenticate with the Django session "
        "(send the CSRF token on writes) or `Authorization: Token <token>`. Every error is "
        '`{"error": {"code": "<snake_case>", "message": "<sentence>"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads its assets from our own static files: it works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Speech-to-text and text-to-speech offer the same two engines: one enum for both.
    "ENUM_NAME_OVERRIDES": {
        "SpeechEngineEnum": ["server", "browser"],
        # An item's role (tool items are the server's) and the roles a client may save.
        "ItemRoleEnum": "voice.models.Message.Role",
        "SavedRoleEnum": ["user", "assistant"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One line per upstream request is noise; failures are logged by voice.upstream.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failed logins and lockouts, not every start-up
    },
}
