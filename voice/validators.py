"""Validators shared by the models, the admin forms and the API serializers."""

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from voice import limits

MODEL_ID_RE = r"^[a-z0-9][a-z0-9._:-]{0,99}$"
validate_model_id = RegexValidator(
    MODEL_ID_RE, "A model id is lowercase letters, digits, '.', '_', ':' or '-' (e.g. gpt-4o-mini)."
)
_VOICE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_SERVER_VAD_KEYS = {
    "threshold",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
    "create_response",
    "interrupt_response",
}
_SEMANTIC_VAD_KEYS = {"eagerness", "create_response", "interrupt_response"}


def validate_voice_list(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("List at least one voice, as a JSON list of names.")
    for voice in value:
        if not isinstance(voice, str) or not _VOICE_RE.match(voice):
            raise ValidationError(f"{voice!r} is not a voice name (lowercase letters and digits).")
    if len(set(value)) != len(value):
        raise ValidationError("Each voice may appear only once.")


def validate_turn_detection(value: object) -> None:
    """Accept what the Realtime API accepts: null (manual turns), server_vad or semantic_vad.

    The validator of the JSON field that turn detection was until migration 0006: 0001 names
    it. The configuration now has a field per setting (`VoiceConfig.turn_detection`, `vad_*`).
    """
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") not in {"server_vad", "semantic_vad"}:
        raise ValidationError('Use null, or an object whose "type" is server_vad or semantic_vad.')
    allowed = _SERVER_VAD_KEYS if value["type"] == "server_vad" else _SEMANTIC_VAD_KEYS
    unknown = set(value) - allowed - {"type"}
    if unknown:
        raise ValidationError(f"Unknown turn detection settings: {', '.join(sorted(unknown))}.")
    for flag in ("create_response", "interrupt_response"):
        if flag in value and not isinstance(value[flag], bool):
            raise ValidationError(f"{flag} must be true or false.")
    if value["type"] == "semantic_vad":
        if value.get("eagerness", "auto") not in {"low", "medium", "high", "auto"}:
            raise ValidationError("eagerness must be low, medium, high or auto.")
        return
    threshold = value.get("threshold", 0.5)
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValidationError("threshold must be a number from 0 to 1.")
    for key in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        amount = value.get(key, 0)
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 60_000:
            raise ValidationError(f"{key} must be a whole number of milliseconds (0–60000).")


TIMEZONE_MAX_CHARS = 64
# Read once: `available_timezones()` walks the time zone database on every call.
KNOWN_TIMEZONES = frozenset(zoneinfo.available_timezones())


def validate_timezone(value: object) -> None:
    """An IANA time zone name this server knows (`Europe/Paris`), as browsers report them."""
    if not isinstance(value, str) or not value:
        return  # blank: unknown, UTC is used
    if len(value) > TIMEZONE_MAX_CHARS or value not in KNOWN_TIMEZONES:
        raise ValidationError(f"{value[:TIMEZONE_MAX_CHARS]!r} is not a known IANA time zone.")


# OpenAI keys: sk-, sk-proj-, sk-svcacct-… followed by url-safe characters.
OPENAI_KEY_PATTERN = r"^sk-[A-Za-z0-9_\-]{16,250}$"

# Transcript item ids: OpenAI's ("item_…") or a client's own.
ITEM_ID_PATTERN = limits.ITEM_ID_PATTERN
ITEM_ID_MESSAGE = (
    f"An item id is 1–{limits.ITEM_ID_MAX_CHARS} letters, digits, '_', '.', ':' or '-'."
)
