"""A JSON parser that refuses bodies over `VOICE_MAX_JSON_BODY_BYTES` with 413.

DRF reads the request stream directly, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so the
cap is enforced here, before a large body is held in memory. A body within the cap can still
nest deeper than the decoder recurses (`[` × 100,000 is 100 KB): that is a 400 too.
"""

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from voice import errors


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        limit = settings.VOICE_MAX_JSON_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise errors.payload_too_large(limit)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise errors.payload_too_large(limit)
        try:
            parsed: dict[str, Any] = json.loads(raw.decode(settings.DEFAULT_CHARSET))
            return parsed
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The request body is not valid JSON ({exc}).") from exc
        except RecursionError as exc:
            raise ParseError("The request body's JSON is nested too deeply.") from exc
