"""The raw `application/sdp` request form of POST /api/realtime/session."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import BaseParser

from realtime.sdp import MAX_SDP_BYTES
from voice.errors import payload_too_large


class SdpParser(BaseParser):
    media_type = "application/sdp"

    # DRF's parsers return a mapping; this one's `request.data` is the offer's bytes, which the
    # view reads as such.
    def parse(  # type: ignore[override]
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        """The body's bytes, read no further than one byte past the cap."""
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > MAX_SDP_BYTES:
            raise payload_too_large(MAX_SDP_BYTES)
        body: bytes = stream.read(MAX_SDP_BYTES + 1) if stream is not None else b""
        return body
