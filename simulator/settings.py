"""The simulator's knobs: one dataclass, filled from CLI flags, ``SIM_*`` environment variables
and, at runtime, ``POST /_sim/config``.

Every field is a knob: its CLI flag is ``--field-name`` and its environment fallback is
``SIM_FIELD_NAME``. List fields are written as ``a|b|c`` on the command line and in the
environment, and as JSON arrays through ``/_sim/config``.
"""

import argparse
import dataclasses
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field

DEFAULT_USER_TEXTS = [
    "Hello, can you hear me?",
    "What is the weather like today?",
    "Tell me something interesting.",
    "Thank you, that is all.",
]
DEFAULT_ASSISTANT_TEXTS = [
    "Yes, I can hear you clearly. How can I help you today?",
    "It looks sunny and mild, with a light breeze in the afternoon.",
    "Octopuses have three hearts, and two of them stop beating when they swim.",
    "You are welcome. Have a wonderful day.",
]
SYNTH_ENGINES = ("auto", "espeak", "tone")
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_SCRIPT_FIELDS = {"match": str, "name": str, "arguments": dict, "answer": str}


def _knob(default, help_text: str, *, runtime: bool = True):
    """A dataclass field carrying its help text; ``runtime=False`` ones only apply at startup."""
    return field(default=default, metadata={"help": help_text, "runtime": runtime})


@dataclass
class Settings:
    host: str = _knob("127.0.0.1", "interface to bind", runtime=False)
    port: int = _knob(8100, "port to listen on (0 picks a free one)", runtime=False)
    latency_ms: int = _knob(0, "delay before answering POST /v1/realtime/calls")
    canned_sdp: bool = _knob(False, "answer /realtime/calls with a fixed SDP and no WebRTC peer")
    transcription_delay_ms: int = _knob(
        600, "delay of the user transcription after commit (lands after response.created)"
    )
    stt_latency_ms: int = _knob(300, "delay before answering /v1/audio/transcriptions")
    llm_ttft_ms: int = _knob(300, "chat completions: time to the first token")
    llm_tokens_per_s: float = _knob(50.0, "chat completions: tokens per second after the first")
    tts_ttfb_ms: int = _knob(200, "audio/speech: time to the first audio byte")
    max_session_s: float = _knob(3600.0, "realtime session length before session_expired")
    stall_s: float = _knob(600.0, "how long a fail-stall key holds a request open")
    chat_sentences: int = _knob(5, "sentences in a scripted chat completion")
    vad_rms: float = _knob(
        400.0, "mic RMS (s16) that counts as speech at turn_detection.threshold 0.5"
    )
    vad_start_ms: int = _knob(300, "continuous speech needed before speech_started")
    synth: str = _knob("auto", "speech engine: auto (espeak-ng when installed), espeak, tone")
    user_texts: list[str] = field(
        default_factory=lambda: list(DEFAULT_USER_TEXTS),
        metadata={"help": "scripted user transcripts (cycled)", "runtime": True},
    )
    assistant_texts: list[str] = field(
        default_factory=lambda: list(DEFAULT_ASSISTANT_TEXTS),
        metadata={"help": "scripted assistant replies (cycled)", "runtime": True},
    )
    tool_script: list[dict] = field(
        default_factory=list,
        metadata={
            "help": "scripted function calls: a JSON list of {match, name, arguments, answer}; "
            "a user turn containing `match` gets a call of `name`, and the reply to its output "
            "is `answer` with {output} replaced by the output",
            "runtime": True,
        },
    )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def update(self, changes: dict) -> None:
        """Apply a partial update, validating every key first so a bad one changes nothing."""
        coerced = {name: _coerce_json(name, value) for name, value in changes.items()}
        for name, value in coerced.items():
            setattr(self, name, value)


def _fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Settings)}


def _field_type(name: str) -> type:
    hint = typing.get_type_hints(Settings)[name]
    return list if isinstance(hint, types.GenericAlias) else hint


def _coerce_json(name: str, value):
    spec = _fields().get(name)
    if spec is None or not spec.metadata["runtime"]:
        raise ValueError(f"unknown or startup-only setting: {name}")
    kind = _field_type(name)
    if name == "tool_script":
        return _tool_script(value)
    if kind is list:
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise ValueError(f"{name} must be a non-empty list of strings")
        return list(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a boolean")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a {kind.__name__}")
    return _validated(name, kind(value))


def _validated(name: str, value):
    if name == "synth" and value not in SYNTH_ENGINES:
        raise ValueError(f"synth must be one of {', '.join(SYNTH_ENGINES)}")
    if isinstance(value, (int, float)) and value < 0:
        raise ValueError(f"{name} must not be negative")
    if name == "llm_tokens_per_s" and value <= 0:
        raise ValueError("llm_tokens_per_s must be positive")
    return value


def _tool_script(value) -> list[dict]:
    """Each entry: `match` (a word of the user's turn, any case), `name` (the function), and
    optionally `arguments` (an object, default {}) and `answer` (default "{output}")."""
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ValueError("tool_script must be a list of objects")
    script = []
    for entry in value:
        unknown = set(entry) - set(TOOL_SCRIPT_FIELDS)
        if unknown:
            raise ValueError(f"tool_script: unknown field(s) {', '.join(sorted(unknown))}")
        entry = {"arguments": {}, "answer": "{output}", **entry}
        for key, kind in TOOL_SCRIPT_FIELDS.items():
            if not isinstance(entry.get(key), kind):
                raise ValueError(f"tool_script: {key} must be a {kind.__name__}")
        if not entry["match"].strip() or not TOOL_NAME_RE.match(entry["name"]):
            raise ValueError("tool_script: match must be a word and name a function name")
        script.append(entry)
    return script


def _parse_text(kind: type, raw: str, name: str = ""):
    if name == "tool_script":
        return _tool_script(json.loads(raw))
    if kind is list:
        return [part.strip() for part in raw.split("|") if part.strip()]
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return kind(raw)


EPILOG = """\
fault injection: an API key containing fail-auth (401), fail-rate (429), fail-server (500),
fail-bad (400) or fail-stall (held open for --stall-s) fails every /v1 request that way.

test control (no auth):
  GET  /_sim/config, POST /_sim/config     read, retune runtime knobs (JSON object)
  GET  /_sim/requests[?path=], DELETE      the request record (keys masked), clear it
  GET  /_sim/calls                         calls, with each conversation's items in order
  POST /_sim/calls/{id}/turn               {"text"?, "interrupt"?}: play one user turn
  POST /_sim/calls/{id}/expire             end a call as the 60-minute cap does
simulator/README.md gives the event sequences.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Local stand-in for the OpenAI API (Realtime WebRTC + legacy endpoints).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, spec in _fields().items():
        flag = "--" + name.replace("_", "-")
        env = "SIM_" + name.upper()
        kind = _field_type(name)
        help_text = f"{spec.metadata['help']} [env {env}]"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parser.add_argument(
                flag, type=lambda raw, k=kind, n=name: _parse_text(k, raw, n), help=help_text
            )
    return parser


def settings_from(argv: list[str] | None = None, environ=os.environ) -> Settings:
    """CLI flags win over ``SIM_*`` environment variables, which win over the defaults."""
    args = vars(build_parser().parse_args(argv))
    settings = Settings()
    for name in _fields():
        env_value = environ.get("SIM_" + name.upper())
        if args[name] is not None:
            value = args[name]
        elif env_value is not None:
            value = _parse_text(_field_type(name), env_value, name)
        else:
            continue
        setattr(settings, name, _validated(name, value))
    return settings
