"""The error vocabulary of the voice module (API.md "Errors").

Services raise `VoiceError`s; one exception handler turns them into
`{"error": {"code", "message"}}` with the status below. Upstream failures are mapped to these
by the upstream client, once.
"""

import math
from dataclasses import dataclass, field
from datetime import date

# Every code an error can carry, by the HTTP status that carries it, with when it happens: the
# schema and API.md's table list exactly these (tests/voice/test_error_codes.py checks the
# code base raises no other). Legacy replies use the same codes in their SSE `error` event.
CODES: dict[int, dict[str, str]] = {
    400: {
        "invalid_request": "a malformed body (not JSON, nested too deeply), a missing or wrong "
        "field, a bad query parameter; the message names the field and the limit",
        "invalid_sdp": "the SDP offer is not SDP text (or its base64), has no audio section, "
        "or OpenAI could not use it",
        "invalid_voice": "a voice this server does not offer",
        "instructions_too_long": "per-call instructions over the limit",
        "invalid_audio": "a recording that is not webm/ogg/wav/mp3/m4a audio, or undecodable",
    },
    401: {"not_authenticated": "no session or token, or a wrong token"},
    402: {
        "budget_exceeded": "the month's budget of the server's key is spent (the body says "
        "when it resets: resets_at)",
    },
    403: {"permission_denied": "not allowed, e.g. a session write without the CSRF token"},
    404: {"not_found": "no such URL or object, also for another user's objects"},
    405: {"method_not_allowed": "the path exists, the method does not"},
    406: {"not_acceptable": "the Accept header asks for a type this endpoint cannot give"},
    409: {
        "realtime_unavailable": "Realtime is turned off, or no key is usable under the policy",
        "legacy_unavailable": "no key is usable for a Legacy call under the policy",
        "call_active": "the user already has a live call (the body names it: active_call)",
        "call_ended": "the call has ended (transcript saves: more than the grace period ago)",
    },
    413: {
        "payload_too_large": "a body, upload, field count or list over its documented limit, "
        "or a call's transcript is full",
    },
    415: {"unsupported_media_type": "a Content-Type this endpoint does not parse"},
    429: {
        "throttled": "too many requests or call starts; Retry-After says when to try again",
        "upstream_rate_limited": "OpenAI is rate limiting the key (Retry-After passed on)",
    },
    500: {
        "server_error": "a fault of ours, logged; never a traceback",
        "key_unreadable": "a stored user key cannot be decrypted with the configured keys",
    },
    502: {
        "upstream_auth_failed": "OpenAI rejected the API key",
        "upstream_error": "OpenAI failed, refused our request or could not be reached",
    },
    504: {"upstream_timeout": "OpenAI did not answer in time"},
}


@dataclass
class VoiceError(Exception):
    message: str
    code: str = "invalid_request"
    status: int = 400
    extra: dict = field(default_factory=dict)  # more fields for the error body, e.g. active_call
    headers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def not_found(what: str = "That") -> VoiceError:
    return VoiceError(f"{what} was not found.", code="not_found", status=404)


def call_active(call_id) -> VoiceError:
    return VoiceError(
        "You already have a call in progress. End it before starting another.",
        code="call_active",
        status=409,
        extra={"active_call": str(call_id)},
    )


def call_ended(message: str = "This call has already ended.") -> VoiceError:
    return VoiceError(message, code="call_ended", status=409)


def throttled(*, wait_seconds: float) -> VoiceError:
    wait = max(1, math.ceil(wait_seconds))
    return VoiceError(
        f"You are starting calls too quickly. Try again in {wait} seconds.",
        code="throttled",
        status=429,
        headers={"Retry-After": str(wait)},
    )


def realtime_unavailable(message: str) -> VoiceError:
    return VoiceError(message, code="realtime_unavailable", status=409)


def payload_too_large(limit_bytes: int) -> VoiceError:
    return VoiceError(
        f"The request body is too large (the limit is {limit_bytes // 1024} KiB).",
        code="payload_too_large",
        status=413,
    )


def over_limit(message: str) -> VoiceError:
    """More than a documented limit (voice.limits) allows in one request or one call."""
    return VoiceError(message, code="payload_too_large", status=413)


def key_unreadable() -> VoiceError:
    return VoiceError(
        "The stored OpenAI key cannot be read by the server. Ask an administrator to check the "
        "encryption keys, or set your key again.",
        code="key_unreadable",
        status=500,
    )


def budget_exceeded(*, resets_at: date) -> VoiceError:
    return VoiceError(
        f"You have used this month's voice budget. It resets on "
        f"{resets_at.day} {resets_at:%B %Y} (UTC).",
        code="budget_exceeded",
        status=402,
        extra={"resets_at": resets_at.isoformat()},
    )
