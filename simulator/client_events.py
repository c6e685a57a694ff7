"""Client events arriving on the data channel or the sideband, handled as the Realtime API does:
each either changes the conversation or draws a (recoverable) ``error`` event."""

import json

from . import sessions
from .conversation import Conversation, new_id

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
    conversation.commit()


async def _buffer_clear(conversation: Conversation, event: dict) -> None:
    conversation.buffered_ms = 0.0
    conversation.emit("input_audio_buffer.cleared")


async def _item_create(conversation: Conversation, event: dict) -> None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") not in ITEM_TYPES:
        message = f"Invalid value: '{_type_of(item)}'. Supported values are: {_quoted(ITEM_TYPES)}."
        _error(conversation, event, message, code="invalid_value", param="item.type")
        return
    previous = event.get("previous_item_id") or conversation.last_item_id()
    if previous not in (None, "root") and previous not in conversation.items:
        message = f"Previous item with id '{previous}' not found."
        _error(conversation, event, message, code="item_not_found", param="previous_item_id")
        return
    item = {"id": new_id("item"), "object": "realtime.item", "status": "completed", **item}
    conversation.typed_text = _typed_text(item) or conversation.typed_text
    conversation.add_item(item, None if previous == "root" else previous)


def _typed_text(item: dict) -> str | None:
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    texts = [part.get("text", "") for part in item.get("content") or [] if isinstance(part, dict)]
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
    reply = conversation.script.next_reply(to_text=conversation.typed_text)
    conversation.typed_text = None
    conversation.start_response(reply, options.get("output_modalities"))


async def _response_cancel(conversation: Conversation, event: dict) -> None:
    run = conversation.active
    wanted = event.get("response_id")
    if run is None or (wanted and wanted != run.id):
        message = "Cancellation failed: no active response found"
        _error(conversation, event, message, code="response_cancel_not_active")
        return
    await conversation.cancel(run, "client_cancelled")


async def _output_clear(conversation: Conversation, event: dict) -> None:
    # OpenAI answers every clear, even with nothing playing, naming the latest response.
    cut = conversation.clear_audio() or [next(reversed(conversation.responses), None)]
    for response_id in cut:
        conversation.emit("output_audio_buffer.cleared", response_id=response_id)


async def _item_retrieve(conversation: Conversation, event: dict) -> None:
    item = conversation.items.get(event.get("item_id"))
    if item is None:
        _item_missing(conversation, event)
        return
    conversation.emit("conversation.item.retrieved", item=item)


async def _item_delete(conversation: Conversation, event: dict) -> None:
    if conversation.items.pop(event.get("item_id"), None) is None:
        _item_missing(conversation, event)
        return
    conversation.emit("conversation.item.deleted", item_id=event["item_id"])


async def _item_truncate(conversation: Conversation, event: dict) -> None:
    if event.get("item_id") not in conversation.items:
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
