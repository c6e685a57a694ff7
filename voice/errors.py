"""The error vocabulary of the voice module (API.md "Errors").

Services raise `VoiceError`s; one exception handler turns them into
`{"error": {"code", "message"}}` with the status below. Upstream failures are mapped to these
by the upstream client, once.
"""

import math
from dataclasses import dataclass, field
from datetime import date


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


def call_ended() -> VoiceError:
    return VoiceError("This call has already ended.", code="call_ended", status=409)


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
