"""Checking the browser's SDP offer before it costs an upstream call."""

import base64
import binascii
import re

from voice.errors import ErrorCode, VoiceError, payload_too_large

MAX_SDP_BYTES = 64 * 1024
_AUDIO_SECTION = re.compile(r"^m=audio ", re.MULTILINE)


def _invalid(message: str) -> VoiceError:
    return VoiceError(message, code=ErrorCode.INVALID_SDP)


def offer_from_text(raw: str | bytes) -> str:
    """The offer as text, from plain SDP or its base64; refuses anything else."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_SDP_BYTES:
            raise payload_too_large(MAX_SDP_BYTES)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid("The SDP offer is not text.") from exc
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate, from a JSON "\ud800" escape
        raise _invalid("The SDP offer is not valid text.") from exc
    if size > MAX_SDP_BYTES:
        raise payload_too_large(MAX_SDP_BYTES)
    text = raw.strip()
    if not text.startswith("v=0"):
        text = _from_base64(text)
    if not text.startswith("v=0") or not _AUDIO_SECTION.search(text):
        raise _invalid("The SDP offer must start with v=0 and offer an audio track (m=audio).")
    return "\r\n".join(text.splitlines()) + "\r\n"  # SDP lines end in CRLF (RFC 8866)


def _from_base64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8").strip()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid("The SDP offer must be SDP text (v=0 …) or its base64 encoding.") from exc
