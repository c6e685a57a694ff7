"""The Realtime session object: GA defaults, the caller's requested config merged over them,
and partial ``session.update``s merged over that.
"""

import copy
import secrets
import time

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_INSTRUCTIONS = (
    "You are a helpful, witty and friendly AI. Act like a human, but remember that you aren't a "
    "human. Talk quickly. You should always call a function if you can."
)
DEFAULT_TURN_DETECTION = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
# semantic_vad has no silence setting; these stand in for its eagerness levels.
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


class SessionError(ValueError):
    def __init__(self, message: str, *, param: str, code: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def _defaults(max_session_s: float) -> dict:
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": f"sess_{secrets.token_hex(12)}",
        "model": DEFAULT_MODEL,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "expires_at": int(time.time() + max_session_s),
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(DEFAULT_TURN_DETECTION),
            },
            "output": {"format": dict(pcm), "voice": "marin", "speed": 1.0},
        },
    }


def validate_type(session) -> None:
    """GA requires ``session.type``; this simulator, like the brief, serves only ``realtime``."""
    if not isinstance(session, dict):
        raise SessionError(
            "Invalid type for 'session': expected an object.", param="session", code="invalid_type"
        )
    if "type" not in session:
        raise SessionError(
            "Missing required parameter: 'session.type'.",
            param="session.type",
            code="missing_required_parameter",
        )
    if session["type"] != "realtime":
        raise SessionError(
            f"Invalid value: '{session['type']}'. Supported values are: 'realtime'.",
            param="session.type",
            code="invalid_value",
        )


def _merge(base: dict, changes: dict) -> dict:
    """Deep merge where an explicit ``None`` clears a value (``turn_detection: null``)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _dig(mapping, *keys):
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping


def _apply(base: dict, changes: dict) -> dict:
    merged = _merge(base, changes)
    turn = _dig(changes, "audio", "input", "turn_detection")
    if isinstance(turn, dict) and turn.get("type") not in (None, _turn_type(base)):
        # Switching VAD type starts from the new type's own defaults.
        merged["audio"]["input"]["turn_detection"] = _turn_defaults(turn)
    return merged


def _turn_defaults(turn: dict) -> dict:
    if turn["type"] == "server_vad":
        return {**DEFAULT_TURN_DETECTION, **turn}
    defaults = {"eagerness": "auto", "create_response": True, "interrupt_response": True}
    return {**defaults, **turn}


def create_session(requested: dict | None, *, max_session_s: float) -> dict:
    return _apply(_defaults(max_session_s), requested or {})


def update_session(current: dict, changes: dict) -> dict:
    """``session.update``: anything but the model, the id and the expiry may change."""
    validate_type(changes)
    fixed = {key: current[key] for key in ("id", "object", "model", "expires_at")}
    return {**_apply(current, changes), **fixed}


def _turn_type(session: dict) -> str | None:
    turn = _dig(session, "audio", "input", "turn_detection")
    return turn.get("type") if isinstance(turn, dict) else None


def turn_detection(session: dict) -> dict | None:
    turn = _dig(session, "audio", "input", "turn_detection")
    return turn if isinstance(turn, dict) else None


def silence_ms(turn: dict) -> int:
    if turn["type"] == "semantic_vad":
        return SEMANTIC_SILENCE_MS.get(turn.get("eagerness", "auto"), 500)
    return int(turn.get("silence_duration_ms") or 500)


def transcription_model(session: dict) -> str | None:
    return _dig(session, "audio", "input", "transcription", "model")


def voice(session: dict) -> str:
    configured = _dig(session, "audio", "output", "voice")
    return configured if isinstance(configured, str) else "marin"  # custom {"id": ...} voices


def speed(session: dict) -> float:
    configured = _dig(session, "audio", "output", "speed")
    return float(configured) if isinstance(configured, (int, float)) else 1.0


def output_modalities(session: dict) -> list:
    return session.get("output_modalities") or ["audio"]
