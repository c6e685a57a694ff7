"""OpenAI's speech-to-text, chat and text-to-speech endpoints (docs/openai-realtime.md §6) on
top of the shared upstream client: one error mapping, one pooled connection per process.

Each also hands back the usage OpenAI reports, for `voice.services.usage` to price.
"""

import base64
import binascii
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from voice import upstream

# A start waits for the answer: a key check must never hold it as long as a real request may.
KEY_CHECK_TIMEOUT_S = 3.0


async def key_check(*, api_key: str) -> None:
    """Raise unless OpenAI accepts `api_key`. `GET /models` is free and quick, and fails
    with 401 for a rejected key like every other endpoint."""
    await upstream.request("GET", "/models", api_key=api_key, timeout_s=KEY_CHECK_TIMEOUT_S)


@dataclass(frozen=True)
class Transcription:
    text: str
    usage: dict[str, Any] | None  # tokens, or seconds of audio for whisper-1


async def transcribe(
    *, api_key: str, model: str, audio: bytes, filename: str, content_type: str
) -> Transcription:
    files = {"file": (filename, audio, content_type)}
    data = {"model": model, "response_format": "json"}
    response = await upstream.request(
        "POST", "/audio/transcriptions", api_key=api_key, files=files, data=data
    )
    try:
        body = response.json()
        return Transcription(text=str(body.get("text", "")), usage=_usage(body))
    except (ValueError, AttributeError) as exc:
        raise upstream.upstream_error("OpenAI answered the transcription oddly.") from exc


def _usage(body: dict[str, Any]) -> dict[str, Any] | None:
    usage = body.get("usage")
    return usage if isinstance(usage, dict) else None


@dataclass
class ToolCall:
    """A function the model called, put together from the stream's pieces: `arguments` is the
    JSON text the model wrote (checked by the tool run, not here)."""

    id: str = ""
    name: str = ""
    arguments: str = ""

    def as_message_part(self) -> dict[str, Any]:
        """As the assistant message of the next request must repeat it."""
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


# A model's tool calls are a few short JSON objects; more is a broken or hostile upstream.
MAX_TOOL_CALLS_PER_MESSAGE = 32
MAX_TOOL_ARGUMENTS_CHARS = 32_000


class Stream:
    """A streamed answer: iterate it for its pieces; `usage` is set once OpenAI has sent it
    (in the last event), and stays None when the stream was cut short. For a reply,
    `finish_reason` is why the model stopped as OpenAI reports it ("stop"; "tool_calls";
    "length" or "content_filter" for a reply cut short), or None if it never said, and
    `tool_calls` the functions it called, complete once the stream has ended."""

    def __init__(self, pieces: Callable[["Stream"], AsyncIterator[Any]]) -> None:
        self._pieces = pieces
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.tool_calls: list[ToolCall] = []

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._pieces(self)


@asynccontextmanager
async def chat_stream(
    *,
    api_key: str,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
) -> AsyncIterator[Stream]:
    """The reply's text as it streams (SSE `chat.completion.chunk`s, then [DONE]). Entering
    waits for the response to start, so a refusal is raised before anything is streamed.
    With `include_usage` OpenAI adds a last chunk with no choices and the usage. `tools`
    (Chat Completions' function definitions) are offered when there are any: OpenAI refuses
    an empty list."""
    body = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        body |= {"tools": tools, "tool_choice": "auto"}
    async with upstream.stream("POST", "/chat/completions", api_key=api_key, json=body) as lines:
        yield Stream(lambda stream: _deltas(lines, stream))


async def _deltas(lines: AsyncIterator[str], stream: Stream) -> AsyncIterator[str]:
    calls: dict[int, ToolCall] = {}
    async for payload in _sse_data(lines):
        chunk = _parse(payload)
        stream.usage = _usage(chunk) or stream.usage
        for choice in chunk.get("choices") or []:
            if choice.get("finish_reason"):
                stream.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta") or {}
            for piece in delta.get("tool_calls") or []:
                _tool_call_piece(calls, piece)
            text = delta.get("content")
            if text:
                yield text
    for call in calls.values():  # the results must name their call: never leave one nameless
        call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
    stream.tool_calls = [calls[index] for index in sorted(calls)]


def _tool_call_piece(calls: dict[int, ToolCall], piece: Any) -> None:
    """Add one streamed piece of a tool call: the first names it (index, id, function name),
    the next ones carry more of its arguments; pieces of several calls share the `index`
    they belong to, as the openai SDK's accumulator reads them."""
    try:
        index = int(piece["index"])
        function = piece.get("function") or {}
        call = calls.get(index)
        if call is None:
            if len(calls) >= MAX_TOOL_CALLS_PER_MESSAGE:
                raise upstream.upstream_error("OpenAI called more tools at once than we run.")
            call = calls[index] = ToolCall()
        call.id = call.id or str(piece.get("id") or "")
        call.name += str(function.get("name") or "")
        call.arguments += str(function.get("arguments") or "")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise upstream.upstream_error("OpenAI sent a tool call we could not read.") from exc
    if len(call.arguments) > MAX_TOOL_ARGUMENTS_CHARS:
        raise upstream.upstream_error("OpenAI sent tool arguments longer than we accept.")


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each server-sent event, until [DONE] or the end."""
    async for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line.removeprefix("data:").strip()
        if payload == "[DONE]":
            return
        yield payload


def _parse(payload: str) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise upstream.upstream_error("OpenAI sent a reply we could not read.") from exc
    if not isinstance(chunk, dict):
        raise upstream.upstream_error("OpenAI sent a reply we could not read.")
    if "error" in chunk:  # a mid-stream failure arrives as a data object with "error"
        message = upstream.redact(str((chunk["error"] or {}).get("message", "")))
        raise upstream.upstream_error(f"OpenAI stopped the reply: {message}".strip())
    parsed: dict[str, Any] = chunk
    return parsed


@asynccontextmanager
async def speech(
    *, api_key: str, model: str, text: str, voice: str, response_format: str, instructions: str
) -> AsyncIterator[Stream]:
    """The audio bytes as they are synthesized, for streaming on. The models that can send
    server-sent events (all but tts-1 and tts-1-hd) are asked to, since only that form ends
    with the usage (`speech.audio.done`); each event carries a base64 chunk of the audio."""
    body = {
        "model": model,
        "input": text,
        "voice": voice,
        "response_format": response_format,
    }
    events = not model.startswith("tts-1")
    if instructions and events:
        body["instructions"] = instructions
    if events:
        body["stream_format"] = "sse"
    async with upstream.stream(
        "POST", "/audio/speech", api_key=api_key, json=body, lines=events
    ) as chunks:
        yield Stream(lambda stream: _not_empty(_audio_events(chunks, stream) if events else chunks))


async def _audio_events(lines: AsyncIterator[str], stream: Stream) -> AsyncIterator[bytes]:
    async for payload in _sse_data(lines):
        event = _parse(payload)
        if event.get("type") == "speech.audio.done":
            stream.usage = _usage(event)
        elif event.get("type") == "speech.audio.delta":
            try:
                yield base64.b64decode(event.get("audio") or "", validate=True)
            except (binascii.Error, TypeError) as exc:
                raise upstream.upstream_error("OpenAI sent audio we could not read.") from exc


async def _not_empty(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The non-empty chunks; an answer without a byte of audio is OpenAI failing, not a
    silent success (the caller would wait for speech that never comes)."""
    empty = True
    async for chunk in chunks:
        if chunk:
            empty = False
            yield chunk
    if empty:
        raise upstream.upstream_error("OpenAI answered without any audio. Try again.")
