"""Audio uploads for speech-to-text: refused early when larger than OpenAI accepts."""

from rest_framework.parsers import MultiPartParser

from voice.errors import payload_too_large

MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's limit for /audio/transcriptions
MULTIPART_OVERHEAD = 64 * 1024


class AudioUploadParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if declared.isdigit() and int(declared) > MAX_AUDIO_BYTES + MULTIPART_OVERHEAD:
            raise payload_too_large(MAX_AUDIO_BYTES)
        return super().parse(stream, media_type, parser_context)
