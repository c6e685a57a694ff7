"""Keeps every response under /api/ in API.md's JSON error shape, whatever produced it."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from voice.exception_handlers import response_for_status

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if not _is_api(request) or response.status_code < 400 or response.streaming:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    replacement = response_for_status(response.status_code)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            replacement[header] = response[header]
    return replacement


class ApiErrorMiddleware:
    """Turns Django's HTML error pages (unknown URL, 405, crashes) into JSON under /api/."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        return _as_json_error(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return _as_json_error(request, await self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not _is_api(request):
            return None
        if isinstance(exception, Http404):
            return response_for_status(404)
        if isinstance(exception, PermissionDenied):
            return response_for_status(403)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return response_for_status(500)
