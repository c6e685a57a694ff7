"""OpenAPI pieces shared by every API view: the error body and the statuses that carry it,
built from the one list of codes (`voice.errors.ErrorCode`)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers

from voice.errors import ErrorCode, codes_by_status

ALL_CODES = sorted(str(code) for code in ErrorCode)


@extend_schema_field({"type": "string", "enum": ALL_CODES})
class ErrorCodeField(serializers.CharField):
    """The code, as an inline enum: a response with any other code breaks the schema."""


ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": ErrorCodeField(help_text="The status's description says when each occurs."),
                "message": serializers.CharField(help_text="A sentence a user can act on."),
            },
        ),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors only: every failure, by field.",
        ),
        "active_call": serializers.UUIDField(
            required=False, help_text="call_active only: the user's live call."
        ),
    },
)


def _error(codes: list[ErrorCode]) -> OpenApiResponse:
    description = "; ".join(f"`{code}`: {code.when}" for code in codes)
    return OpenApiResponse(ErrorSerializer, description=description)


# Every operation may answer with any of these; the codes are the same everywhere.
ERRORS = {status: _error(codes) for status, codes in codes_by_status().items()}
