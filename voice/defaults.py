"""The seed values of the admin's voice configuration (docs/api.md), and the known voices.

Model ids are data, not code: OpenAI retires them, so the admin can change every one.
"""

from typing import Any

REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_VOICE = "marin"
# Realtime voices (docs/openai-realtime.md §5); marin and cedar are recommended.
REALTIME_VOICES = [
    "marin",
    "cedar",
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
]
# Text-to-speech adds three voices that Realtime does not have.
TTS_VOICES = [*REALTIME_VOICES, "fable", "onyx", "nova"]
TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
STT_MODEL = "gpt-4o-mini-transcribe"
LLM_MODEL = "gpt-4o-mini"
TTS_MODEL = "gpt-4o-mini-tts"
MAX_CALL_MINUTES = 30
CALL_STARTS_PER_MINUTE = 10
IDLE_HANGUP_MINUTES = 5  # a tab forgotten in the background must not run for an hour
CONTEXT_MESSAGES = 20
INSTRUCTIONS_MAX_CHARS = 4000
TOOL_TIMEOUT_S = 10
MAX_TOOL_CALLS_PER_CALL = 20

INSTRUCTIONS = (
    "You are a friendly, concise voice assistant. Answer in short spoken sentences, "
    "without lists, markdown or code unless asked. If you did not catch what the user said, "
    "ask them to repeat it instead of guessing."
)


# Server VAD, sent explicitly since the GA default is not documented (docs/openai-realtime.md
# §1). The bounds keep an admin's choice usable: a threshold of 1 never hears anyone and 0 hears
# the room; under 200 ms of silence every breath ends a turn, past 3 s every answer is late.
VAD_THRESHOLD = 0.5
VAD_THRESHOLD_MIN = 0.1
VAD_THRESHOLD_MAX = 0.95
VAD_SILENCE_DURATION_MS = 500
VAD_SILENCE_DURATION_MS_MIN = 200
VAD_SILENCE_DURATION_MS_MAX = 3000
VAD_PREFIX_PADDING_MS = 300
VAD_PREFIX_PADDING_MS_MAX = 1000


def turn_detection() -> dict[str, Any]:
    """The seed of the JSON field that turn detection was until migration 0006 (which still
    names this function in 0001): server VAD with the defaults above."""
    return {
        "type": "server_vad",
        "threshold": VAD_THRESHOLD,
        "prefix_padding_ms": VAD_PREFIX_PADDING_MS,
        "silence_duration_ms": VAD_SILENCE_DURATION_MS,
        "create_response": True,
        "interrupt_response": True,
    }


def realtime_voices() -> list[str]:
    return list(REALTIME_VOICES)


def tts_voices() -> list[str]:
    return list(TTS_VOICES)
