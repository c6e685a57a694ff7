"""What the call monitor does with a Realtime call's sideband events: it saves every finished
item itself, it gives a continued conversation its memory, and it records what each response
costs (`over_budget` tells the monitor when to hang up).

Two writers keep one record: the page and the monitor both save items by `item_id`. The page's
"as heard" text of an interrupted reply wins; the monitor only fills in what is missing (an
item nobody saved, or a reply saved whole that the monitor knows was cut off), so nothing
depends on which of them arrives first, and nothing is lost when the tab dies.

`SidebandItems` is the pure part (events in, items to save out), the server's counterpart of
the page's `call_state.js`; `CallTranscriber` adds the database and the socket.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from realtime.function_calls import FunctionCalls
from voice.models import Call, KeySource, Message, UsageRecord
from voice.selectors import api_key_source, budget_get, conversation_context, voice_config_get
from voice.services.calls import call_context_claim
from voice.services.transcripts import transcript_fill
from voice.services.usage import (
    units_from_realtime_response,
    units_from_transcription,
    usage_record,
)

logger = logging.getLogger(__name__)

# Speech runs at about 15 characters a second (the page's estimate, call_state.js): how much of
# a cut-off reply was heard, from how long it had been audible. OpenAI does not say
# (docs/openai-realtime.md §4.4).
SPOKEN_CHARS_PER_SECOND = 15

# Memory items carry ids of ours (OpenAI's limit is 32 characters), so their echoes are known.
MEMORY_ITEM_PREFIX = "mem_"

# GA names; the beta aliases are still sent by some deployments (docs/openai-realtime.md §0.2).
ALIASES = {
    "conversation.item.created": "conversation.item.added",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}


@dataclass
class _Reply:
    """One assistant item, from its first event until it is saved."""

    item_id: str
    response_id: str = ""
    previous_item_id: str | None = None
    text: str = ""
    text_final: bool = False  # the transcript's .done arrived
    audio: bool = True  # spoken, unless the response turns out text-only
    playing_since: float | None = None
    played: bool = False  # its audio played to the end
    heard_chars: int | None = None  # set when it was cut off
    saved: bool = False


@dataclass
class SidebandItems:
    """Sideband events in, transcript items ready to save out (`feed`, then `flush` at the end).

    User items are saved when their transcription completes (or fails: an inaudible turn
    keeps its place). An assistant item is saved once its fate is known: played to the end,
    cut off (heard part estimated from `conversation.item.truncated`'s `audio_end_ms`, else from
    how long it had been playing), or a text-only reply that is done.
    """

    _previous: dict[str, str | None] = field(default_factory=dict)
    _replies: dict[str, _Reply] = field(default_factory=dict)
    _by_response: dict[str, str] = field(default_factory=dict)

    def feed(self, event: dict[str, Any], now: float | None = None) -> list[dict[str, Any]]:
        now = time.monotonic() if now is None else now
        kind = ALIASES.get(event.get("type", ""), event.get("type", ""))
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is None:
            return []
        return handler(event, now) or []

    def flush(self, now: float | None = None) -> list[dict[str, Any]]:
        """The call ended: every reply not saved yet counts as cut off where it was."""
        now = time.monotonic() if now is None else now
        saves = []
        for reply in self._replies.values():
            if reply.saved:
                continue
            if not reply.played and reply.heard_chars is None:
                self._cut(reply, now)
            saves.append(self._save_reply(reply))
        return saves

    # --- user items ----------------------------------------------------------------------

    def _on_input_audio_buffer_committed(self, event: dict[str, Any], now: float) -> None:
        if event.get("item_id"):
            self._previous[event["item_id"]] = event.get("previous_item_id")

    def _on_conversation_item_added(
        self, event: dict[str, Any], now: float
    ) -> list[dict[str, Any]]:
        item = event.get("item") or {}
        item_id = item.get("id")
        if not item_id or self._ignored(item_id):
            return []
        if "previous_item_id" in event:  # function calls' too: their tool lines follow it
            self._previous[item_id] = event["previous_item_id"]
        if item.get("type", "message") != "message":
            return []
        if item.get("role") == "assistant":
            reply = self._reply(item_id)
            reply.previous_item_id = event.get("previous_item_id", reply.previous_item_id)
            return []
        typed = [
            p.get("text", "") for p in item.get("content") or [] if p.get("type") == "input_text"
        ]
        if item.get("role") == "user" and typed:  # a typed turn: no transcription will follow
            return [self._user(item_id, " ".join(typed))]
        return []

    def _on_conversation_item_input_audio_transcription_completed(
        self, event: dict[str, Any], now: float
    ) -> list[Any]:
        if not event.get("item_id") or self._ignored(event["item_id"]):
            return []
        return [self._user(event["item_id"], (event.get("transcript") or "").strip())]

    def _on_conversation_item_input_audio_transcription_failed(
        self, event: dict[str, Any], now: float
    ) -> list[Any]:
        if not event.get("item_id"):
            return []
        return [self._user(event["item_id"], "")]

    def previous_of(self, item_id: str) -> str | None:
        """The item before `item_id`, as OpenAI placed it (None when unknown or first)."""
        return self._previous.get(item_id)

    def _ignored(self, item_id: str) -> bool:
        return item_id.startswith(MEMORY_ITEM_PREFIX)  # our own memory items, echoed back

    def _user(self, item_id: str, text: str) -> dict[str, Any]:
        return {
            "item_id": item_id,
            "role": "user",
            "text": text,
            "interrupted": False,
            "previous_item_id": self._previous.get(item_id),
        }

    # --- assistant items -----------------------------------------------------------------

    def _reply(self, item_id: str) -> _Reply:
        if item_id not in self._replies:
            self._replies[item_id] = _Reply(item_id=item_id)
        return self._replies[item_id]

    def _reply_for_response(self, response_id: str | None) -> _Reply | None:
        item_id = self._by_response.get(response_id or "")
        return self._replies.get(item_id) if item_id else None

    def _on_response_output_item_added(self, event: dict[str, Any], now: float) -> None:
        item = event.get("item") or {}
        if item.get("id") and item.get("type", "message") == "message":
            reply = self._reply(item["id"])
            reply.response_id = event.get("response_id", "")
            self._by_response[reply.response_id] = reply.item_id

    def _on_response_output_audio_transcript_delta(self, event: dict[str, Any], now: float) -> None:
        reply = self._reply(event["item_id"]) if event.get("item_id") else None
        if reply and not reply.text_final:
            reply.text += event.get("delta") or ""

    _on_response_output_text_delta = _on_response_output_audio_transcript_delta

    def _on_response_output_audio_transcript_done(
        self, event: dict[str, Any], now: float
    ) -> list[Any]:
        if not event.get("item_id"):
            return []
        reply = self._reply(event["item_id"])
        reply.text = event.get("transcript", reply.text) or ""
        reply.text_final = True
        return self._settle(reply)

    def _on_response_output_text_done(self, event: dict[str, Any], now: float) -> list[Any]:
        if not event.get("item_id"):
            return []
        reply = self._reply(event["item_id"])
        reply.text, reply.text_final, reply.audio = event.get("text") or "", True, False
        return self._settle(reply)

    def _on_output_audio_buffer_started(self, event: dict[str, Any], now: float) -> None:
        reply = self._reply_for_response(event.get("response_id"))
        if reply:
            reply.playing_since = now

    def _on_output_audio_buffer_stopped(self, event: dict[str, Any], now: float) -> list[Any]:
        reply = self._reply_for_response(event.get("response_id"))
        if reply is None or reply.heard_chars is not None:
            return []
        reply.played = True
        return self._settle(reply)

    def _on_output_audio_buffer_cleared(self, event: dict[str, Any], now: float) -> list[Any]:
        reply = self._reply_for_response(event.get("response_id"))
        if reply is None or reply.played:
            return []
        self._cut(reply, now)
        return self._settle(reply)

    def _on_conversation_item_truncated(self, event: dict[str, Any], now: float) -> list[Any]:
        reply = self._replies.get(event.get("item_id", ""))
        if reply is None:
            return []
        audio_end_ms = event.get("audio_end_ms")
        if audio_end_ms is None:
            self._cut(reply, now)
        else:  # OpenAI knows how much audio it played: a better estimate than ours
            reply.heard_chars = round(audio_end_ms / 1000 * SPOKEN_CHARS_PER_SECOND)
        reply.played = False
        return self._settle(reply)

    def _on_response_done(self, event: dict[str, Any], now: float) -> list[Any]:
        response = event.get("response") or {}
        saves = []
        for output in response.get("output") or []:
            reply = self._replies.get(output.get("id", ""))
            if reply is None or output.get("type", "message") != "message":
                continue
            cut_off = response.get("status") == "cancelled" or output.get("status") == "incomplete"
            if cut_off and reply.heard_chars is None and not reply.played:
                self._cut(reply, now)
            spoken = any(
                p.get("type") in ("output_audio", "audio") for p in output.get("content") or []
            )
            if not spoken and reply.playing_since is None:
                reply.audio = False  # text-only: done means delivered
            saves += self._settle(reply)
        return saves

    def _cut(self, reply: _Reply, now: float) -> None:
        if reply.playing_since is None:
            reply.heard_chars = 0
        else:
            reply.heard_chars = round((now - reply.playing_since) * SPOKEN_CHARS_PER_SECOND)

    def _settle(self, reply: _Reply) -> list[dict[str, Any]]:
        """Save the reply once its text is final and its fate (played, cut, text) is known."""
        if reply.saved or not reply.text_final:
            return []
        if reply.heard_chars is None and reply.audio and not reply.played:
            return []
        return [self._save_reply(reply)]

    def _save_reply(self, reply: _Reply) -> dict[str, Any]:
        reply.saved = True
        interrupted = reply.heard_chars is not None
        return {
            "item_id": reply.item_id,
            "role": "assistant",
            "text": _heard(reply.text, reply.heard_chars) if interrupted else reply.text,
            "interrupted": interrupted,
            "previous_item_id": reply.previous_item_id,
        }


def _heard(text: str, heard_chars: int | None) -> str:
    """The words heard of a cut-off reply: whole words only, like the page (call_state.js)."""
    if heard_chars is None or heard_chars >= len(text):
        return text
    last_space = text.rfind(" ", 0, heard_chars + 1)
    return text[: last_space if last_space > 0 else heard_chars].rstrip()


def memory_events(*, call: Call, messages: list[Message]) -> list[dict[str, Any]]:
    """The earlier turns as `conversation.item.create` events, chained from "root" so they come
    ahead of anything said in the new call (docs/openai-realtime.md §4: items take
    `previous_item_id`)."""
    events, previous = [], "root"
    for index, message in enumerate(messages):
        item_id = f"{MEMORY_ITEM_PREFIX}{call.id.hex[:16]}_{index}"
        kind = "input_text" if message.role == Message.Role.USER else "output_text"
        events.append(
            {
                "type": "conversation.item.create",
                "previous_item_id": previous,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": message.role,
                    "content": [{"type": kind, "text": message.text}],
                },
            }
        )
        previous = item_id
    return events


@dataclass(frozen=True)
class BilledEvent:
    """A sideband event that OpenAI bills: what to record for it."""

    kind: str
    units: dict[str, Any]
    upstream_id: str


def billed_event(event: dict[str, Any]) -> BilledEvent | None:
    """`response.done` with its `usage` (the response's tokens), or an input transcription's
    completion with its own (billed apart, at the transcription model's prices)."""
    kind = event.get("type")
    response = event.get("response") or {}
    if kind == "response.done" and isinstance(response.get("usage"), dict):
        units = units_from_realtime_response(response["usage"])
        response_id = str(response.get("id", ""))[:100]
        return BilledEvent(UsageRecord.Kind.REALTIME_RESPONSE, units, response_id)
    transcribed = kind == "conversation.item.input_audio_transcription.completed"
    if transcribed and isinstance(event.get("usage"), dict):
        units = units_from_transcription(event["usage"])
        item = f"{event.get('item_id', '')}:{event.get('content_index', 0)}"
        return BilledEvent(UsageRecord.Kind.REALTIME_TRANSCRIPTION, units, item[:100])
    return None


Send = Callable[[dict[str, Any]], Awaitable[None]]


class CallTranscriber:
    """One watched call: the monitor calls `on_join` after each (re)connect of the sideband,
    `on_event` for every server event, and `on_end` once the call is over. The model's function
    calls are answered here too (`realtime.function_calls`); `ended()` returns once the call
    must end on the assistant's word (`end_call`)."""

    def __init__(self, *, call: Call) -> None:
        self.call = call
        self.items = SidebandItems()
        self.function_calls = FunctionCalls(call=call, previous_of=self.items.previous_of)
        # Set after each billed event: the server's key pays and the user's month is spent.
        # The monitor then ends the call (reason `budget_exceeded`) and hangs it up.
        self.over_budget = False

    async def on_join(self, send: Send, *, first: bool) -> None:
        """Send the conversation's earlier turns, once per call: `call_context_claim` makes
        sure a worker that takes the call over does not send them twice."""
        messages = await sync_to_async(self._context_to_send)()
        for event in memory_events(call=self.call, messages=messages):
            await send(event)
        await self.function_calls.deliver_to(send)

    def _context_to_send(self) -> list[Message]:
        if not call_context_claim(call=self.call) or self.call.conversation_id is None:
            return []
        return conversation_context(
            conversation_id=self.call.conversation_id, exclude_call=self.call
        )

    async def ended(self) -> str:
        """Returns the end reason once the assistant has ended the call (`end_call`)."""
        return await self.function_calls.ended()

    async def on_event(self, event: dict[str, Any]) -> None:
        await self._save(self.items.feed(event))
        self.function_calls.feed(event)
        billed = billed_event(event)
        if billed is not None:
            self.over_budget = await sync_to_async(self._record_usage)(billed)

    def _record_usage(self, billed: BilledEvent) -> bool:
        """Record the event's cost; whether the user is now past their budget."""
        # The key that started the call pays for all of it (a call from before keys were kept
        # on calls falls back to what the policy resolves now, and with no key usable now, to
        # the server's, whose budget is the one that must not be overrun).
        key_source = (
            self.call.key_source
            or api_key_source(user=self.call.user, config=voice_config_get())
            or "server"
        )
        model = self.call.model
        if billed.kind == UsageRecord.Kind.REALTIME_TRANSCRIPTION:
            model = voice_config_get().transcription_model
        usage_record(
            user=self.call.user,
            call=self.call,
            kind=billed.kind,
            model=model,
            key_source=key_source,
            units=billed.units,
            upstream_id=billed.upstream_id,
        )
        return key_source == KeySource.SERVER and budget_get(user=self.call.user).exceeded

    async def on_end(self) -> None:
        await self.function_calls.close()
        await self._save(self.items.flush())

    async def _save(self, items: list[dict[str, Any]]) -> None:
        if items:
            await sync_to_async(transcript_fill)(call=self.call, items=items)
