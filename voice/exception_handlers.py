"""One mapping from every error to docs/api.md's shape: `{"error": {"code", "message"}}`.

DRF calls `api_exception_handler` for errors raised in API views; `ApiErrorMiddleware` covers
what happens outside them (unknown URLs, crashes), so nothing under /api/ is ever an HTML page
or a traceback.
"""

import logging
import math
from typing import Any

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

from voice.errors import ErrorCode, VoiceError, error_code

logger = logging.getLogger(__name__)

# A validation failure keeps its code when it is one of ours that a field check may raise
# (e.g. `invalid_sdp`, `payload_too_large`); DRF's own codes (`required`, `max_length`, …) are
# all `invalid_request`.
_VALIDATION_STATUSES = {400, 413}

# What a status says when nothing more specific raised it (DRF's exceptions, Django's 404, …).
_GENERIC_ERRORS = {
    code.status: (code, message)
    for code, message in (
        (ErrorCode.INVALID_REQUEST, "The request is not valid."),
        (
            ErrorCode.NOT_AUTHENTICATED,
            "Log in first, or send an `Authorization: Token …` header.",
        ),
        (ErrorCode.PERMISSION_DENIED, "You do not have permission to do that."),
        (ErrorCode.NOT_FOUND, "Not found."),
        (ErrorCode.METHOD_NOT_ALLOWED, "That method is not allowed here."),
        (
            ErrorCode.NOT_ACCEPTABLE,
            "This endpoint cannot answer in the type the Accept header asks for.",
        ),
        (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
        (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "That content type is not supported here."),
        (ErrorCode.THROTTLED, "Too many requests. Wait a moment and try again."),
        (ErrorCode.SERVER_ERROR, "Something went wrong on our side. Please try again."),
    )
}


def error_response(
    code: ErrorCode,
    message: str,
    *,
    status: int | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """The error body; the status is the code's own unless a generic code stands in for a
    status that has none of its own (an unusual 4xx/5xx from DRF or Django)."""
    body: dict[str, Any] = {"error": {"code": str(code), "message": message}}
    body.update(extra or {})
    return JsonResponse(body, status=status or code.status, headers=headers)


def response_for_status(status: int) -> JsonResponse:
    code, message = _GENERIC_ERRORS.get(status, _GENERIC_ERRORS[500 if status >= 500 else 400])
    return error_response(code, message, status=status)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    if isinstance(exc, VoiceError):
        return error_response(exc.code, exc.message, extra=exc.extra, headers=exc.headers)
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
        memory_kib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        message = (
            f"The request body is too large (the limit is {memory_kib} KiB, uploaded files aside)."
        )
    elif isinstance(exc, TooManyFieldsSent):
        fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = f"The request has too many fields (the limit is {fields})."
    elif isinstance(exc, TooManyFilesSent):
        files = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        message = f"The request has too many files (the limit is {files})."
    else:
        logger.warning("Suspicious request refused: %s", exc.__class__.__name__)
        return response_for_status(400)
    return error_response(ErrorCode.PAYLOAD_TOO_LARGE, message)


def _api_exception_response(exc: exceptions.APIException) -> JsonResponse:
    status = exc.status_code
    code, _ = _GENERIC_ERRORS.get(status, _GENERIC_ERRORS[500 if status >= 500 else 400])
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        code = ErrorCode.NOT_AUTHENTICATED
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)  # set on Throttled (the stubs do not declare it)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    message = (
        _GENERIC_ERRORS[401][1] if isinstance(exc, exceptions.NotAuthenticated) else exc.detail
    )
    return error_response(code, str(message), status=status, headers=headers)


def _validation_response(exc: exceptions.ValidationError) -> JsonResponse:
    """The first failure decides code and message; `fields` lists every failure by field."""
    messages = _flatten(exc.detail)
    codes = _flatten(exc.get_codes())
    field, message = messages[0] if messages else ("", "The request is not valid.")
    code = _validation_code(codes[0][1] if codes else "")
    if field and field != "non_field_errors":
        message = f"{field}: {message}"
    fields: dict[str, list[str]] = {}
    for name, text in messages:
        fields.setdefault(name or "non_field_errors", []).append(str(text))
    return error_response(code, str(message), extra={"fields": fields})


def _validation_code(raised: str) -> ErrorCode:
    code = error_code(raised)
    if code is None or code.status not in _VALIDATION_STATUSES:
        return ErrorCode.INVALID_REQUEST
    return code


def _flatten(detail: object, prefix: str = "") -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]]
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
