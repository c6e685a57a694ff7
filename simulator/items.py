"""Builders for the GA Realtime objects that events carry: items, content parts, responses and
usage. Field names follow the official SDK's ``openai.types.realtime`` models, which the
simulator's tests validate every event against."""

import math

from . import sessions
from .script import tokens

# Audio is billed by duration: about 600 tokens per minute heard and 1200 per minute spoken.
AUDIO_IN_TOKENS_PER_S = 10
AUDIO_OUT_TOKENS_PER_S = 20


def user_audio_item(item_id: str) -> dict:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def assistant_item(run, status: str, content: list) -> dict:
    return {
        "id": run.item_id,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(run, status: str, arguments: str) -> dict:
    """The item of a scripted function call (``tool_script``), as the model makes one."""
    call = run.tool_call
    return {
        "id": run.item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "name": call["name"],
        "call_id": call["call_id"],
        "arguments": arguments,
    }


def function_ref(run) -> dict:
    return {
        "response_id": run.id,
        "item_id": run.item_id,
        "output_index": 0,
        "call_id": run.tool_call["call_id"],
    }


def content_part(run, text: str) -> dict:
    """The part in ``response.content_part.*`` events, whose types are ``audio``/``text``."""
    if run.audio:
        return {"type": "audio", "transcript": text}
    return {"type": "text", "text": text}


def item_part(run) -> dict:
    """The same part inside the assistant item, where GA names it ``output_audio``/``_text``."""
    if run.audio:
        return {"type": "output_audio", "transcript": run.text}
    return {"type": "output_text", "text": run.text}


def part_ref(run) -> dict:
    return {"response_id": run.id, "item_id": run.item_id, "output_index": 0, "content_index": 0}


def response(
    conversation, run, details: dict | None = None, output: list | None = None, usage=None
) -> dict:
    session = conversation.session
    output_audio = session["audio"]["output"]
    return {
        "object": "realtime.response",
        "id": run.id,
        "status": run.status,
        "status_details": details,
        "output": output or [],
        "conversation_id": conversation.conversation_id,
        "output_modalities": run.modalities,
        "max_output_tokens": session.get("max_output_tokens", "inf"),
        "audio": {"output": {"format": output_audio["format"], "voice": output_audio["voice"]}},
        "usage": usage,
        "metadata": None,
    }


def _audio_tokens(ms: float, per_second: int) -> int:
    return math.ceil(ms / 1000 * per_second)


def _input_tokens(conversation, run) -> tuple[int, int]:
    """Text and audio tokens of what the model read: its instructions and every item before
    its reply, so earlier turns sent by a client cost what they would upstream."""
    text = len(tokens(conversation.session.get("instructions") or ""))
    audio = 0
    for entry in run.context:
        if entry.audio_ms:
            audio += _audio_tokens(entry.audio_ms, AUDIO_IN_TOKENS_PER_S)
        else:
            text += len(tokens(entry.text or ""))
    return text, audio


def _cached(conversation, run) -> tuple[int, int]:
    """The prefix the previous reply already read is served from the prompt cache."""
    responses = list(conversation.responses.values())
    earlier = [r for r in responses[: responses.index(run)] if r.context]
    if not earlier:
        return 0, 0
    return _input_tokens(conversation, earlier[-1])


def response_usage(conversation, run) -> dict:
    text_in, audio_in = _input_tokens(conversation, run)
    cached_text, cached_audio = _cached(conversation, run)
    cached_text, cached_audio = min(cached_text, text_in), min(cached_audio, audio_in)
    written = run.tool_call["arguments"] if run.tool_call else run.text
    text_out = len(tokens(written))
    duration = run.playback.duration_ms if run.audio and run.playback else 0.0
    audio_out = _audio_tokens(duration, AUDIO_OUT_TOKENS_PER_S)
    return {
        "total_tokens": text_in + audio_in + text_out + audio_out,
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "image_tokens": 0,
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {
                "text_tokens": cached_text,
                "audio_tokens": cached_audio,
                "image_tokens": 0,
            },
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


def transcription_usage(text: str, audio_ms: float) -> dict:
    audio_tokens = _audio_tokens(audio_ms, AUDIO_IN_TOKENS_PER_S)
    output_tokens = len(tokens(text))
    return {
        "type": "tokens",
        "total_tokens": audio_tokens + output_tokens,
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": output_tokens,
    }


def session_summary(session: dict) -> dict:
    """The parts of a session that ``/_sim/calls`` shows at a glance."""
    return {
        "model": session.get("model"),
        "voice": sessions.voice(session),
        "transcription_model": sessions.transcription_model(session),
        "turn_detection": sessions.turn_detection(session),
    }
