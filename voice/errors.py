"""The error vocabulary of the voice module (docs/api.md "Errors").

Services raise `VoiceError`s; one exception handler turns them into
`{"error": {"code", "message"}}` with their code's status. Upstream failures are mapped to these
by the upstream client, once. The factories below build the errors whose message or body needs
more than a sentence.
"""

import math
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID


class ErrorCode(StrEnum):
    """Every code an error body can carry, each defined once with its HTTP status and when it
    happens. The exception handler, the schema (`voice.schema`) and docs/api.md's table all
    come from here (tests/voice/test_error_codes.py fails when the docs drift or the code base
    raises a code not defined here). Legacy replies use the same codes in their SSE `error`.

    A member compares equal to its string (`ErrorCode.NOT_FOUND == "not_found"`), so DRF's
    `ValidationError(..., code=ErrorCode.INVALID_SDP)` and JSON bodies take it as it is.
    """

    status: int
    when: str

    def __new__(cls, code: str, status: int, when: str) -> "ErrorCode":
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.when = when
        return member

    INVALID_REQUEST = (
        "invalid_request",
        400,
        "a malformed body (not JSON, nested too deeply), a missing or wrong field, a bad query "
        "parameter; the message names the field and the limit",
    )
    INVALID_SDP = (
        "invalid_sdp",
        400,
        "the SDP offer is not SDP text (or its base64), has no audio section, or OpenAI could "
        "not use it",
    )
    INVALID_VOICE = "invalid_voice", 400, "a voice this server does not offer"
    INSTRUCTIONS_TOO_LONG = "instructions_too_long", 400, "per-call instructions over the limit"
    INVALID_AUDIO = (
        "invalid_audio",
        400,
        "a recording that is not webm/ogg/wav/mp3/m4a audio, or that OpenAI could not decode",
    )
    NOT_AUTHENTICATED = "not_authenticated", 401, "no session or token, or a wrong token"
    BUDGET_EXCEEDED = (
        "budget_exceeded",
        402,
        "the month's budget of the server's key is spent (the body says when it resets: "
        "`resets_at`)",
    )
    PERMISSION_DENIED = (
        "permission_denied",
        403,
        "not allowed, e.g. a session write without the CSRF token, or another user's usage "
        "without staff rights",
    )
    NOT_FOUND = "not_found", 404, "no such URL or object, also for another user's objects"
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "the path exists, the method does not"
    NOT_ACCEPTABLE = (
        "not_acceptable",
        406,
        "the Accept header asks for a type this endpoint cannot give",
    )
    REALTIME_UNAVAILABLE = (
        "realtime_unavailable",
        409,
        "Realtime is turned off, or no key is usable under the policy",
    )
    LEGACY_UNAVAILABLE = (
        "legacy_unavailable",
        409,
        "no key is usable for a Legacy call under the policy",
    )
    CALL_ACTIVE = (
        "call_active",
        409,
        "the user already has a live call (the body names it: `active_call`); also deleting "
        "or typing into a conversation while a live call uses it",
    )
    CALL_ENDED = (
        "call_ended",
        409,
        "the call has ended (transcript saves: more than the grace period ago)",
    )
    PAYLOAD_TOO_LARGE = (
        "payload_too_large",
        413,
        "a body, upload, field count or list over its documented limit, or a call's transcript "
        "is full",
    )
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        415,
        "a Content-Type this endpoint does not parse",
    )
    THROTTLED = (
        "throttled",
        429,
        "too many requests or call starts; `Retry-After` says when to try again",
    )
    UPSTREAM_RATE_LIMITED = (
        "upstream_rate_limited",
        429,
        "OpenAI is rate limiting the key (its `Retry-After` is passed on)",
    )
    SERVER_ERROR = "server_error", 500, "a fault of ours, logged; never a traceback"
    KEY_UNREADABLE = (
        "key_unreadable",
        500,
        "a stored user key cannot be decrypted with the configured keys",
    )
    UPSTREAM_AUTH_FAILED = "upstream_auth_failed", 502, "OpenAI rejected the API key"
    UPSTREAM_ERROR = (
        "upstream_error",
        502,
        "OpenAI failed, refused our request or could not be reached",
    )
    UPSTREAM_TIMEOUT = "upstream_timeout", 504, "OpenAI did not answer in time"


def error_code(value: str) -> ErrorCode | None:
    """The code spelled `value`, or None when there is no such code."""
    member = ErrorCode._value2member_map_.get(value)
    return member if isinstance(member, ErrorCode) else None


def codes_by_status() -> dict[int, list[ErrorCode]]:
    """The codes grouped under their status, statuses ascending (the schema's and docs' order)."""
    grouped: dict[int, list[ErrorCode]] = {}
    for code in sorted(ErrorCode, key=lambda code: code.status):
        grouped.setdefault(code.status, []).append(code)
    return grouped


def error_table_markdown() -> str:
    """docs/api.md's error table (between its `error-table` markers): `make docs` writes it,
    and a test fails when the file differs."""
    lines = ["| status | code | when |", "|---|---|---|"]
    lines += [f"| {code.status} | `{code}` | {code.when} |" for code in ErrorCode]
    return "\n".join(lines)


class VoiceError(Exception):
    """A domain error: its code (which fixes the HTTP status) and a sentence a user can act on.

    `extra` adds fields to the error body (e.g. `active_call`), `headers` to the response.
    An error that comes from OpenAI's answer carries OpenAI's status, `error.code` and
    `error.param` as data (`upstream_*`), so a caller can tell refusals apart without reading
    the message.
    """

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INVALID_REQUEST,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        upstream_status: int | None = None,
        upstream_code: str = "",
        upstream_param: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        resolved = error_code(code)  # a plain string is taken too, but must be a defined code
        if resolved is None:
            raise ValueError(f"{code!r} is not a code defined in voice.errors.ErrorCode")
        self.code = resolved
        self.extra = extra or {}
        self.headers = headers or {}
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code
        self.upstream_param = upstream_param

    @property
    def status(self) -> int:
        return self.code.status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def not_found(what: str = "That") -> VoiceError:
    return VoiceError(f"{what} was not found.", code=ErrorCode.NOT_FOUND)


def call_active(
    call_id: UUID | str,
    message: str = "You already have a call in progress. End it before starting another.",
) -> VoiceError:
    return VoiceError(
        message,
        code=ErrorCode.CALL_ACTIVE,
        extra={"active_call": str(call_id)},
    )


def call_ended(message: str = "This call has already ended.") -> VoiceError:
    return VoiceError(message, code=ErrorCode.CALL_ENDED)


def throttled(*, wait_seconds: float) -> VoiceError:
    wait = max(1, math.ceil(wait_seconds))
    return VoiceError(
        f"You are starting calls too quickly. Try again in {wait} seconds.",
        code=ErrorCode.THROTTLED,
        headers={"Retry-After": str(wait)},
    )


def realtime_unavailable(message: str) -> VoiceError:
    return VoiceError(message, code=ErrorCode.REALTIME_UNAVAILABLE)


def payload_too_large(limit_bytes: int) -> VoiceError:
    return VoiceError(
        f"The request body is too large (the limit is {limit_bytes // 1024} KiB).",
        code=ErrorCode.PAYLOAD_TOO_LARGE,
    )


def over_limit(message: str) -> VoiceError:
    """More than a documented limit (voice.limits) allows in one request or one call."""
    return VoiceError(message, code=ErrorCode.PAYLOAD_TOO_LARGE)


def key_unreadable() -> VoiceError:
    return VoiceError(
        "The stored OpenAI key cannot be read by the server. Ask an administrator to check the "
        "encryption keys, or set your key again.",
        code=ErrorCode.KEY_UNREADABLE,
    )


def budget_exceeded(*, resets_at: date) -> VoiceError:
    return VoiceError(
        f"You have used this month's voice budget. It resets on "
        f"{resets_at.day} {resets_at:%B %Y} (UTC).",
        code=ErrorCode.BUDGET_EXCEEDED,
        extra={"resets_at": resets_at.isoformat()},
    )


def legacy_unavailable() -> VoiceError:
    return VoiceError(
        "No OpenAI key is available for voice calls. Add your own key, or ask an administrator "
        "to set one up.",
        code=ErrorCode.LEGACY_UNAVAILABLE,
    )


def permission_denied(message: str) -> VoiceError:
    return VoiceError(message, code=ErrorCode.PERMISSION_DENIED)
