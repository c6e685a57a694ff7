"""One mapping from every error to API.md's shape: `{"error": {"code", "message"}}`.

DRF calls `api_exception_handler` for errors raised in API views; `ApiErrorMiddleware` covers
what happens outside them (unknown URLs, crashes), so nothing under /api/ is ever an HTML page
or a traceback.
"""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from rest_framework import exceptions

from voice.errors import VoiceError

logger = logging.getLogger(__name__)

# Validation codes that API.md names; any other validation failure is `invalid_request`.
_CONTRACT_VALIDATION_CODES = {
    "invalid_sdp",
    "invalid_voice",
    "instructions_too_long",
    "invalid_audio",
    "payload_too_large",
}
_STATUS_CODES = {
    400: ("invalid_request", "The request is not valid."),
    401: ("not_authenticated", "Log in first, or send an `Authorization: Token …` header."),
    403: ("permission_denied", "You do not have permission to do that."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "That method is not allowed here."),
    406: ("not_acceptable", "This endpoint cannot answer in the type the Accept header asks for."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "That content type is not supported here."),
    429: ("throttled", "Too many requests. Wait a moment and try again."),
    500: ("server_error", "Something went wrong on our side. Please try again."),
}


def error_response(
    code: str, message: str, status: int, *, extra: dict | None = None, headers=None
) -> JsonResponse:
    body = {"error": {"code": code, "message": message}}
    body.update(extra or {})
    return JsonResponse(body, status=status, headers=headers)


def response_for_status(status: int) -> JsonResponse:
    code, message = _STATUS_CODES.get(status, _STATUS_CODES[500 if status >= 500 else 400])
    return error_response(code, message, status)


def api_exception_handler(exc: Exception, context: dict) -> JsonResponse:
    if isinstance(exc, VoiceError):
        return error_response(
            exc.code, exc.message, exc.status, extra=exc.extra, headers=exc.headers
        )
    if isinstance(exc, SuspiciousOperation):
        return response_for_suspicious_request(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return response_for_status(500)


def response_for_suspicious_request(exc: SuspiciousOperation) -> JsonResponse:
    """Django refuses a body past its DATA_UPLOAD_* limits while DRF parses it (or while the
    CSRF check reads it): over a limit is 413, anything else it finds suspicious is 400."""
    if isinstance(exc, RequestDataTooBig):
        limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KiB, uploaded files aside"
        message = f"The request body is too large (the limit is {limit})."
    elif isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = f"The request has too many fields (the limit is {limit})."
    elif isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        message = f"The request has too many files (the limit is {limit})."
    else:
        logger.warning("Suspicious request refused: %s", exc.__class__.__name__)
        return response_for_status(400)
    return error_response("payload_too_large", message, 413)


def _api_exception_response(exc: exceptions.APIException) -> JsonResponse:
    status = exc.status_code
    code, _ = _STATUS_CODES.get(status, (exc.default_code, None))
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        code = "not_authenticated"
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    message = _STATUS_CODES[401][1] if isinstance(exc, exceptions.NotAuthenticated) else exc.detail
    return error_response(code, str(message), status, headers=headers)


def _validation_response(exc: exceptions.ValidationError) -> JsonResponse:
    """The first failure decides code and message; `fields` lists every failure by field."""
    messages = _flatten(exc.detail)
    codes = _flatten(exc.get_codes())
    field, message = messages[0] if messages else ("", "The request is not valid.")
    code = codes[0][1] if codes and codes[0][1] in _CONTRACT_VALIDATION_CODES else "invalid_request"
    if field and field != "non_field_errors":
        message = f"{field}: {message}"
    fields = {}
    for name, text in messages:
        fields.setdefault(name or "non_field_errors", []).append(str(text))
    status = 413 if code == "payload_too_large" else 400
    return error_response(code, str(message), status, extra={"fields": fields})


def _flatten(detail, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(detail, dict):
        pairs = []
        for key, value in detail.items():
            pairs += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            pairs += _flatten(value, f"{prefix}[{index}]" if nested else prefix)
        return pairs
    return [(prefix, str(detail))]
