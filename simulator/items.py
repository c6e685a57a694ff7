"""Builders for the GA Realtime objects that events carry: items, content parts, responses and
usage. Field names follow openai-node's generated ``realtime.ts`` types."""

from . import sessions
from .script import tokens


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


def content_part(run, text: str) -> dict:
    if run.audio:
        return {"type": "output_audio", "transcript": text}
    return {"type": "output_text", "text": text}


def part_ref(run) -> dict:
    return {"response_id": run.id, "item_id": run.item_id, "output_index": 0, "content_index": 0}


def response(conversation, run, details: dict | None = None, output: list | None = None) -> dict:
    session = conversation.session
    done = run.status != "in_progress"
    return {
        "object": "realtime.response",
        "id": run.id,
        "status": run.status,
        "status_details": details,
        "output": output or [],
        "conversation_id": conversation.conversation_id,
        "output_modalities": run.modalities,
        "max_output_tokens": session.get("max_output_tokens", "inf"),
        "audio": {"output": session["audio"]["output"]},
        "usage": response_usage(run) if done else None,
        "metadata": None,
    }


def response_usage(run) -> dict:
    text_tokens = len(tokens(run.text))
    audio_tokens = text_tokens * 4 if run.audio else 0
    input_tokens = 120
    return {
        "total_tokens": input_tokens + text_tokens + audio_tokens,
        "input_tokens": input_tokens,
        "output_tokens": text_tokens + audio_tokens,
        "input_token_details": {
            "text_tokens": 100,
            "audio_tokens": 20,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
    }


def transcription_usage(text: str) -> dict:
    output_tokens = len(tokens(text))
    return {
        "type": "tokens",
        "total_tokens": 20 + output_tokens,
        "input_tokens": 20,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 20},
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
