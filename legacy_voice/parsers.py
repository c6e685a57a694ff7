"""Audio uploads for speech-to-text: refused early when larger than OpenAI accepts."""

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.utils.datastructures import MultiValueDict
from rest_framework.parsers import DataAndFiles, MultiPartParser

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict

from voice.errors import payload_too_large

MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's limit for /audio/transcriptions
MULTIPART_OVERHEAD = 64 * 1024


class AudioUploadParser(MultiPartParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> "DataAndFiles[_ImmutableQueryDict, MultiValueDict[str, Any]]":
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if declared.isdigit() and int(declared) > MAX_AUDIO_BYTES + MULTIPART_OVERHEAD:
            raise payload_too_large(MAX_AUDIO_BYTES)
        return super().parse(stream, media_type, parser_context)
