"""Client events arriving on the data channel or the sideband, handled as the Realtime API does:
each either changes the conversation or draws a (recoverable) ``error`` event."""

import json

from . import sessions
from .conversation import Conversation, new_id
from .history import Entry

MIN_COMMIT_MS = 100  # OpenAI refuses to commit less audio than this


def _error(conversation: Conversation, event: dict, message: str, *, code: str, param=None):
    conversation.emit(
        "error",
        error={
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": event.get("event_id"),
        },
    )


async def _session_update(conversation: Conversation, event: dict) -> None:
    try:
        conversation.session = sessions.update_session(conversation.session, event.get("session"))
    except sessions.SessionError as exc:
        _error(conversation, event, str(exc), code=exc.code, param=exc.param)
        return
    conversation.configure_vad()
    conversation.emit("session.updated", session=conversation.session)


async def _buffer_commit(conversation: Conversation, event: dict) -> None:
    if conversation.buffered_ms < MIN_COMMIT_MS:
        message = (
            "Error committing input audio buffer: buffer too small. Expected at least 100ms of "
            f"audio, but buffer only has {conversation.buffered_ms:.2f}ms of audio."
        )
        _error(conversation, event, message, code="input_audio_buffer_commit_empty")
        return
    conversation.commit_buffer()


async def _buffer_clear(conversation: Conversation, event: dict) -> None:
    conversation.clear_buffer()
    conversation.emit("input_audio_buffer.cleared")


async def _item_create(conversation: Conversation, event: dict) -> None:
    item = event.get("item")
    problem = _item_problem(item) or _position_problem(conversation, event)
    if problem:
        message, code, param = problem
        _error(conversation, event, message, code=code, param=param)
        return
    item = {"id": new_id("item"), "object": "realtime.item", "status": "completed", **item}
    previous = event.get("previous_item_id")
    after = None if previous == "root" else previous or conversation.last_item_id()
    conversation.add(Entry(item, "client", _message_text(item)), after)


def _item_problem(item) -> tuple[str, str, str] | None:
    """What OpenAI would refuse in the item itself: its type, its role, its parts' types."""
    if not isinstance(item, dict) or item.get("type") not in ITEM_TYPES:
        return _invalid(_type_of(item), ITEM_TYPES, "item.type")
    if "id" in item and not isinstance(item["id"], str):
        return "Invalid type for 'item.id': expected a string.", "invalid_type", "item.id"
    if item["type"] == "function_call_output":
        for key in ("call_id", "output"):
            if not isinstance(item.get(key), str):
                return (
                    f"Invalid type for 'item.{key}': expected a string.",
                    "invalid_type",
                    f"item.{key}",
                )
        return None
    if item["type"] != "message":
        return None
    allowed = PART_TYPES.get(item.get("role"))
    if allowed is None:
        return _invalid(item.get("role"), PART_TYPES, "item.role")
    content = item.get("content")
    if not isinstance(content, list) or not all(isinstance(part, dict) for part in content):
        return (
            "Invalid type for 'item.content': expected an array of objects.",
            "invalid_type",
            "item.content",
        )
    for index, part in enumerate(content):
        if part.get("type") not in allowed:
            return _invalid(part.get("type"), allowed, f"item.content[{index}].type")
    return None


def _invalid(value, supported, param: str) -> tuple[str, str, str]:
    return (
        f"Invalid value: '{value}'. Supported values are: {_quoted(supported)}.",
        "invalid_value",
        param,
    )


def _position_problem(conversation: Conversation, event: dict) -> tuple[str, str, str] | None:
    item_id = event["item"].get("id")
    if item_id is not None and item_id in conversation.history:
        return f"Item with id '{item_id}' already exists.", "invalid_value", "item.id"
    previous = event.get("previous_item_id")
    if previous not in (None, "root") and previous not in conversation.history:
        message = f"Previous item with id '{previous}' not found."
        return message, "item_not_found", "previous_item_id"
    return None


def _message_text(item: dict) -> str | None:
    parts = item.get("content") if item.get("type") == "message" else None
    texts = [part.get("text") or part.get("transcript") or "" for part in parts or []]
    return " ".join(text for text in texts if text) or None


def _type_of(item) -> str:
    return item.get("type") if isinstance(item, dict) else type(item).__name__


async def _response_create(conversation: Conversation, event: dict) -> None:
    if conversation.active is not None:
        message = (
            "Conversation already has an active response in progress: "
            f"{conversation.active.id}. Wait until the response is finished before creating a "
            "new one."
        )
        _error(conversation, event, message, code="conversation_already_has_active_response")
        return
    options = event.get("response") if isinstance(event.get("response"), dict) else {}
    conversation.start_response(options.get("output_modalities"))


async def _response_cancel(conversation: Conversation, event: dict) -> None:
    run = conversation.active
    wanted = event.get("response_id")
    if run is None or (wanted and wanted != run.id):
        message = "Cancellation failed: no active response found"
        _error(conversation, event, message, code="response_cancel_not_active")
        return
    await conversation.cancel(run, "client_cancelled")


async def _output_clear(conversation: Conversation, event: dict) -> None:
    # OpenAI answers a clear even with nothing playing, naming the latest response; before any
    # response there is nothing to name (the event requires a response_id), so nothing is sent.
    cut = [run.id for run in conversation.clear_audio()]
    for response_id in cut or list(reversed(conversation.responses))[:1]:
        conversation.emit("output_audio_buffer.cleared", response_id=response_id)


async def _item_retrieve(conversation: Conversation, event: dict) -> None:
    entry = conversation.history.get(event.get("item_id"))
    if entry is None:
        _item_missing(conversation, event)
        return
    conversation.emit("conversation.item.retrieved", item=entry.item)


async def _item_delete(conversation: Conversation, event: dict) -> None:
    if not conversation.history.remove(event.get("item_id")):
        _item_missing(conversation, event)
        return
    conversation.emit("conversation.item.deleted", item_id=event["item_id"])


async def _item_truncate(conversation: Conversation, event: dict) -> None:
    if event.get("item_id") not in conversation.history:
        _item_missing(conversation, event)
        return
    conversation.emit(
        "conversation.item.truncated",
        item_id=event["item_id"],
        content_index=event.get("content_index", 0),
        audio_end_ms=event.get("audio_end_ms", 0),
    )


def _item_missing(conversation: Conversation, event: dict) -> None:
    message = f"Item with item_id '{event.get('item_id')}' not found."
    _error(conversation, event, message, code="item_not_found", param="item_id")


ITEM_TYPES = ("message", "function_call", "function_call_output")
PART_TYPES = {  # the content part types each role may carry
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
    "system": ("input_text",),
}
HANDLERS = {
    "session.update": _session_update,
    "input_audio_buffer.commit": _buffer_commit,
    "input_audio_buffer.clear": _buffer_clear,
    "conversation.item.create": _item_create,
    "conversation.item.retrieve": _item_retrieve,
    "conversation.item.delete": _item_delete,
    "conversation.item.truncate": _item_truncate,
    "response.create": _response_create,
    "response.cancel": _response_cancel,
    "output_audio_buffer.clear": _output_clear,
}


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


async def handle(conversation: Conversation, raw: str) -> str:
    """Apply one client event; returns its type (or a placeholder) for the call's record."""
    try:
        event = json.loads(raw)
    except ValueError:
        _error(
            conversation, {}, "The server could not parse the event as JSON.", code="invalid_json"
        )
        return "<invalid json>"
    if not isinstance(event, dict):
        event = {"type": None}
    handler = HANDLERS.get(event.get("type"))
    if handler is None:
        message = (
            f"Invalid value: '{event.get('type')}'. Supported values are: {_quoted(HANDLERS)}."
        )
        _error(conversation, event, message, code="invalid_value", param="type")
        return str(event.get("type"))
    await handler(conversation, event)
    return event["type"]
