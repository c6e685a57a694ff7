"""The seed values of the admin's voice configuration (API.md), and the known voices.

Model ids are data, not code: OpenAI retires them, so the admin can change every one.
"""

REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_VOICE = "marin"
# Realtime voices (reference §5); marin and cedar are recommended.
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

INSTRUCTIONS = (
    "You are a friendly, concise voice assistant. Answer in short spoken sentences, "
    "without lists, markdown or code unless asked. If you did not catch what the user said, "
    "ask them to repeat it instead of guessing."
)


def turn_detection() -> dict:
    """Server VAD, set explicitly since the GA default is not documented (reference §1)."""
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }


def realtime_voices() -> list[str]:
    return list(REALTIME_VOICES)


def tts_voices() -> list[str]:
    return list(TTS_VOICES)
