"""``GET /v1/models``: the model list, shaped like OpenAI's. Clients call it to check a key
(it is free and quick); the fault keys fail it like every other ``/v1`` endpoint."""

from aiohttp import web

MODELS = (
    "gpt-realtime-2.1",
    "gpt-realtime-2",
    "gpt-realtime-mini",
    "gpt-4o-mini",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe",
    "whisper-1",
    "gpt-4o-mini-tts",
    "tts-1",
)
CREATED = 1_700_000_000  # a fixed, plausible Unix time: the list never changes


async def list_models(request: web.Request) -> web.Response:
    data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"} for m in MODELS]
    return web.json_response({"object": "list", "data": data})
