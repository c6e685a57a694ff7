"""OpenAPI pieces shared by every API view: the error body and the statuses that carry it."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text="snake_case, e.g. call_active"),
                "message": serializers.CharField(help_text="A sentence a user can act on."),
            },
        ),
    },
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


ERRORS = {
    400: _error(
        "invalid_request, invalid_sdp, invalid_voice, instructions_too_long, invalid_audio"
    ),
    401: _error("not_authenticated"),
    402: _error(
        "budget_exceeded (with resets_at): the month's budget of the server's key is spent"
    ),
    403: _error("permission_denied (e.g. a missing CSRF token with session auth)"),
    404: _error("not_found: also for another user's objects"),
    409: _error(
        "realtime_unavailable, legacy_unavailable (no usable key), call_active (with "
        "active_call), call_ended"
    ),
    413: _error("payload_too_large"),
    429: _error("throttled (with Retry-After), upstream_rate_limited"),
}
