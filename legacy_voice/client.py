"""OpenAI's speech-to-text, chat and text-to-speech endpoints (reference §6) on top of the
shared upstream client: one error mapping, one pooled connection per process."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from voice import upstream

# A start waits for the answer: a key check must never hold it as long as a real request may.
KEY_CHECK_TIMEOUT_S = 3.0


async def key_check(*, api_key: str) -> None:
    """Raise unless OpenAI accepts `api_key`. `GET /models` is free and quick, and fails
    with 401 for a rejected key like every other endpoint."""
    await upstream.request("GET", "/models", api_key=api_key, timeout_s=KEY_CHECK_TIMEOUT_S)


async def transcribe(
    *, api_key: str, model: str, audio: bytes, filename: str, content_type: str
) -> str:
    files = {"file": (filename, audio, content_type)}
    data = {"model": model, "response_format": "json"}
    response = await upstream.request(
        "POST", "/audio/transcriptions", api_key=api_key, files=files, data=data
    )
    try:
        return str(response.json().get("text", ""))
    except ValueError as exc:
        raise upstream.upstream_error("OpenAI answered the transcription oddly.") from exc


@asynccontextmanager
async def chat_stream(
    *, api_key: str, model: str, messages: list[dict]
) -> AsyncIterator["ReplyStream"]:
    """The reply's text as it streams (SSE `chat.completion.chunk`s, then [DONE]). Entering
    waits for the response to start, so a refusal is raised before anything is streamed."""
    body = {"model": model, "messages": messages, "stream": True}
    async with upstream.stream("POST", "/chat/completions", api_key=api_key, json=body) as lines:
        yield ReplyStream(lines)


class ReplyStream:
    """The reply's text pieces as they arrive; once they are read, `finish_reason` is why
    the model stopped as OpenAI reports it ("stop"; "length" or "content_filter" for a reply
    cut short), or None if it never said."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines
        self.finish_reason: str | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            if not line.startswith("data:"):
                continue
            payload = line.removeprefix("data:").strip()
            if payload == "[DONE]":
                return
            for choice in _parse(payload).get("choices") or []:
                if choice.get("finish_reason"):
                    self.finish_reason = str(choice["finish_reason"])
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text


def _parse(payload: str) -> dict:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise upstream.upstream_error("OpenAI sent a reply we could not read.") from exc
    if "error" in chunk:  # a mid-stream failure arrives as a data object with "error"
        message = upstream.redact(str((chunk["error"] or {}).get("message", "")))
        raise upstream.upstream_error(f"OpenAI stopped the reply: {message}".strip())
    return chunk


@asynccontextmanager
async def speech(
    *, api_key: str, model: str, text: str, voice: str, response_format: str, instructions: str
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The audio bytes as they are synthesized (chunked transfer), for streaming on."""
    body = {
        "model": model,
        "input": text,
        "voice": voice,
        "response_format": response_format,
    }
    if instructions and not model.startswith("tts-1"):
        body["instructions"] = instructions
    async with upstream.stream(
        "POST", "/audio/speech", api_key=api_key, json=body, lines=False
    ) as chunks:
        yield _audio(chunks)


async def _audio(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The non-empty chunks; an answer without a byte of audio is OpenAI failing, not a
    silent success (the caller would wait for speech that never comes)."""
    empty = True
    async for chunk in chunks:
        if chunk:
            empty = False
            yield chunk
    if empty:
        raise upstream.upstream_error("OpenAI answered without any audio. Try again.")
