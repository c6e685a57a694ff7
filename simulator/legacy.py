"""The legacy voice pipeline endpoints: speech-to-text, chat completions and text-to-speech.

Outputs are scripted (``script.py``) but shaped and timed like OpenAI's: real audio is decoded
and measured, streams use the same SSE framing, and TTS audio lasts as long as the text.
"""

import asyncio
import base64
import json
import re
import secrets
import time
from pathlib import PurePosixPath

from aiohttp import web

from . import chat_tools
from .audio import decode as decode_audio
from .audio import synthesize, voiced_ms
from .encoding import CONTENT_TYPES, FORMATS, SPEECH_RATE, StreamEncoder, encoder_available
from .errors import bad_request, error_response
from .faults import SETTINGS
from .recording import BODY, UploadedFile
from .script import Script, tokens

SCRIPT = web.AppKey("legacy_script", Script)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
TRANSCRIPT_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
STT_RATE = 16000
MIN_SPEECH_MS = 200
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
MAX_SPEECH_INPUT = 4096
SPEECH_CHUNK_BYTES = SPEECH_RATE * 2 // 5  # 200 ms of audio per encoded chunk


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1")


async def _sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    return response


async def _send(response: web.StreamResponse, payload) -> None:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    await response.write(f"data: {data}\n\n".encode())


# --- /v1/audio/transcriptions ------------------------------------------------------------------


def _transcription_problem(form: dict) -> web.Response | None:
    upload = form.get("file")
    if not isinstance(upload, UploadedFile):
        return bad_request("Missing required parameter: 'file'.", param="file")
    if not form.get("model"):
        return bad_request("Missing required parameter: 'model'.", param="model")
    if len(upload.data) > MAX_UPLOAD_BYTES:
        size = len(upload.data)
        message = f"Maximum content size limit ({MAX_UPLOAD_BYTES}) exceeded ({size} bytes read)"
        return error_response(413, message)
    if PurePosixPath(upload.filename).suffix.lower().lstrip(".") not in AUDIO_EXTENSIONS:
        message = f"Invalid file format. Supported formats: {list(AUDIO_EXTENSIONS)}"
        return bad_request(message)
    if form.get("response_format", "json") not in TRANSCRIPT_FORMATS:
        return bad_request(
            "Invalid value for 'response_format'.", param="response_format", code="invalid_value"
        )
    return None


async def transcriptions(request: web.Request) -> web.StreamResponse:
    form = request[BODY].form
    problem = _transcription_problem(form)
    if problem is not None:
        return problem
    try:
        pcm = await asyncio.to_thread(decode_audio, form["file"].data, STT_RATE)
    except ValueError:
        return bad_request(
            "Audio file might be corrupted or unsupported", param="file", code="invalid_value"
        )
    settings = request.app[SETTINGS]
    await asyncio.sleep(settings.stt_latency_ms / 1000)
    heard = voiced_ms(pcm, STT_RATE, settings.vad_rms) >= MIN_SPEECH_MS
    text = request.app[SCRIPT].next_user_text() if heard else ""
    duration_s = len(pcm) / 2 / STT_RATE
    # whisper-1 ignores stream=true, as OpenAI documents.
    if _truthy(form.get("stream", "")) and form["model"] != "whisper-1":
        return await _stream_transcript(request, text)
    return _transcript_body(text, form.get("response_format", "json"), form, duration_s)


def _transcript_usage(text: str, model: str, duration_s: float) -> dict:
    if model == "whisper-1":
        return {"type": "duration", "seconds": round(duration_s)}
    output = len(tokens(text))
    audio = max(1, round(duration_s * 10))
    return {
        "type": "tokens",
        "input_tokens": audio,
        "output_tokens": output,
        "total_tokens": audio + output,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
    }


def _transcript_body(text: str, fmt: str, form: dict, duration_s: float) -> web.Response:
    if fmt == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    if fmt in ("srt", "vtt"):
        end = time.strftime("%H:%M:%S", time.gmtime(duration_s))
        cue = f"00:00:00.000 --> {end}.000\n{text}\n"
        body = f"WEBVTT\n\n{cue}" if fmt == "vtt" else f"1\n{cue.replace('.', ',')}"
        return web.Response(text=body, content_type="text/plain")
    if fmt == "verbose_json":
        return web.json_response(
            {
                "task": "transcribe",
                "language": form.get("language", "english"),
                "duration": duration_s,
                "text": text,
                "segments": [],
            }
        )
    return web.json_response(
        {"text": text, "usage": _transcript_usage(text, form["model"], duration_s)}
    )


async def _stream_transcript(request: web.Request, text: str) -> web.StreamResponse:
    response = await _sse(request)
    for piece in tokens(text):
        await _send(response, {"type": "transcript.text.delta", "delta": piece, "logprobs": None})
    usage = _transcript_usage(text, request[BODY].form["model"], 0)
    await _send(response, {"type": "transcript.text.done", "text": text, "usage": usage})
    await response.write_eof()
    return response


# --- /v1/chat/completions ----------------------------------------------------------------------


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _chat_problem(body) -> web.Response | None:
    if not isinstance(body, dict):
        return bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely "
            "means you aren't using your HTTP library correctly.)"
        )
    if not isinstance(body.get("model"), str) or not body["model"]:
        return bad_request("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return bad_request(
            "Invalid 'messages': expected a non-empty array of messages.",
            param="messages",
            code="invalid_value",
        )
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return bad_request(
            "Invalid 'messages': every message needs a 'role'.",
            param="messages",
            code="invalid_value",
        )
    return chat_tools.tools_problem(body)


def _chat_usage(body: dict, reply: str) -> dict:
    """OpenAI's `CompletionUsage`, details included (nothing cached, no audio or reasoning)."""
    prompt = sum(len(tokens(_content_text(m.get("content")))) + 4 for m in body["messages"])
    prompt += sum(len(tokens(json.dumps(t))) for t in body.get("tools") or [])
    completion = len(tokens(reply))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = request[BODY].json
    problem = _chat_problem(body)
    if problem is not None:
        return problem
    settings = request.app[SETTINGS]
    tool_call = chat_tools.next_tool_call(body, settings.tool_script)
    await asyncio.sleep(settings.llm_ttft_ms / 1000)
    if tool_call is not None:
        return await _chat_tool_call(request, body, tool_call)
    reply = chat_tools.scripted_answer(body, settings.tool_script)
    if reply is None:
        last_user = next(
            (m for m in reversed(body["messages"]) if m["role"] == "user"), body["messages"][-1]
        )
        reply = request.app[SCRIPT].chat_reply(_content_text(last_user.get("content")))
    if body.get("stream"):
        return await _stream_chat(request, body, reply)
    await asyncio.sleep(len(tokens(reply)) / settings.llm_tokens_per_s)
    message = {"role": "assistant", "content": reply, "refusal": None, "annotations": []}
    return _chat_completion(body, message, "stop", _chat_usage(body, reply))


def _chat_completion(body: dict, message: dict, finish_reason: str, usage: dict) -> web.Response:
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
    return web.json_response(
        {**_chat_envelope(body, "chat.completion"), "choices": [choice], "usage": usage}
    )


async def _chat_tool_call(
    request: web.Request, body: dict, call: chat_tools.ToolCall
) -> web.StreamResponse:
    """The model asks for a tool. Streamed as OpenAI streams it: the first delta names the
    call (index, id, name, empty arguments), the arguments follow in pieces, then the finish
    reason "tool_calls"."""
    function = {"name": call.name, "arguments": call.arguments}
    usage = _chat_usage(body, f"{call.name} {call.arguments}")
    if not body.get("stream"):
        tool_call = {"id": call.id, "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        return _chat_completion(body, {**message, "tool_calls": [tool_call]}, "tool_calls", usage)
    first = {"index": 0, "id": call.id, "type": "function", "function": {**function}}
    first["function"]["arguments"] = ""
    deltas = [{"role": "assistant", "content": None, "refusal": None, "tool_calls": [first]}]
    deltas += [
        {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        for piece in _argument_pieces(call.arguments)
    ]
    return await _stream_chunks(request, body, deltas, "tool_calls", usage)


def _argument_pieces(arguments: str) -> list[str]:
    """JSON text in token-sized pieces, as the model writes it: never valid until joined."""
    return [arguments[i : i + 4] for i in range(0, len(arguments), 4)]


def _chat_envelope(body: dict, kind: str, completion_id: str | None = None) -> dict:
    return {
        "id": completion_id or f"chatcmpl-{secrets.token_hex(12)}",
        "object": kind,
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_simulator",
    }


async def _stream_chat(request: web.Request, body: dict, reply: str) -> web.StreamResponse:
    deltas = [{"role": "assistant", "content": "", "refusal": None}]
    deltas += [{"content": piece} for piece in tokens(reply)]
    return await _stream_chunks(request, body, deltas, "stop", _chat_usage(body, reply))


async def _stream_chunks(
    request: web.Request, body: dict, deltas: list[dict], finish_reason: str, usage: dict
) -> web.StreamResponse:
    """Each delta as a `chat.completion.chunk` at the token rate, then the finish reason and,
    when asked for, the usage; then [DONE]."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    envelope = _chat_envelope(body, "chat.completion.chunk")

    def chunk(delta: dict, finish_reason=None) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        extra = {"usage": None} if include_usage else {}  # OpenAI adds it to every chunk then
        return {**envelope, "choices": [choice], **extra}

    response = await _sse(request)
    interval = 1 / request.app[SETTINGS].llm_tokens_per_s
    for index, delta in enumerate(deltas):
        await asyncio.sleep(interval if index > 1 else 0)  # the first piece comes with the role
        await _send(response, chunk(delta))
    await _send(response, chunk({}, finish_reason))
    if include_usage:
        await _send(response, {**envelope, "choices": [], "usage": usage})
    await _send(response, "[DONE]")
    await response.write_eof()
    return response


# --- /v1/audio/speech --------------------------------------------------------------------------


def _speech_problem(body) -> web.Response | None:
    if not isinstance(body, dict):
        return bad_request("We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return bad_request("Missing required parameter: 'model'.", param="model")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        return bad_request("Missing required parameter: 'input'.", param="input")
    if len(text) > MAX_SPEECH_INPUT:
        message = (
            f"Invalid 'input': string too long. Expected a string with maximum length "
            f"{MAX_SPEECH_INPUT}, but got a string with length {len(text)} instead."
        )
        return bad_request(message, param="input", code="string_above_max_length")
    return _speech_option_problem(body)


def _speech_option_problem(body: dict) -> web.Response | None:
    voice = body.get("voice")
    if not (voice in VOICES or (isinstance(voice, dict) and voice.get("id"))):
        supported = ", ".join(f"'{v}'" for v in VOICES)
        return bad_request(
            f"Invalid value: '{voice}'. Supported values are: {supported}.",
            param="voice",
            code="invalid_value",
        )
    response_format = body.get("response_format", "mp3")
    if response_format not in FORMATS:
        return bad_request(
            f"Invalid value: '{response_format}'. Supported values are: {', '.join(FORMATS)}.",
            param="response_format",
            code="invalid_value",
        )
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4:
        return bad_request(
            "Invalid 'speed': expected a number from 0.25 to 4.0.",
            param="speed",
            code="invalid_value",
        )
    if not encoder_available(response_format):
        return bad_request(
            f"This simulator's PyAV has no encoder for '{response_format}'; use wav or pcm.",
            param="response_format",
            code="simulator_encoder_missing",
        )
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


async def speech(request: web.Request) -> web.StreamResponse:
    body = request[BODY].json
    problem = _speech_problem(body)
    if problem is not None:
        return problem
    response_format = body.get("response_format", "mp3")
    sse = body.get("stream_format") == "sse"
    await asyncio.sleep(request.app[SETTINGS].tts_ttfb_ms / 1000)
    content_type = "text/event-stream" if sse else CONTENT_TYPES[response_format]
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    encoder = StreamEncoder(response_format)
    async for chunk in _speech_chunks(request, body, encoder):
        await (_send(response, _audio_delta(chunk)) if sse else response.write(chunk))
    if sse:
        await _send(response, {"type": "speech.audio.done", "usage": _speech_usage(body)})
    await response.write_eof()
    return response


async def _speech_chunks(request: web.Request, body: dict, encoder: StreamEncoder):
    """Encoded audio, sentence by sentence, as soon as each is synthesized."""
    settings = request.app[SETTINGS]
    voice = body["voice"] if isinstance(body["voice"], str) else "marin"
    for sentence in _sentences(body["input"]):
        pcm = await synthesize(
            sentence,
            rate=SPEECH_RATE,
            voice=voice,
            speed=float(body.get("speed", 1.0)),
            engine=settings.synth,
        )
        for start in range(0, len(pcm), SPEECH_CHUNK_BYTES):
            if chunk := encoder.encode(pcm[start : start + SPEECH_CHUNK_BYTES]):
                yield chunk
    if tail := encoder.finish():
        yield tail


def _audio_delta(chunk: bytes) -> dict:
    return {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()}


def _speech_usage(body: dict) -> dict:
    text_tokens = len(tokens(body["input"]))
    return {
        "input_tokens": text_tokens,
        "output_tokens": text_tokens * 8,
        "total_tokens": text_tokens * 9,
    }
