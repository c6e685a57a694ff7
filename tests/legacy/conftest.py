import io
import math
import struct
import wave

import httpx
import pytest
from django.test import AsyncClient

from tests.conftest import SERVER_KEY
from voice import upstream


def wav_bytes(*, seconds: float = 1.0, speech: bool = True) -> bytes:
    """A small WAV: a voice-like tone (speech energy) or silence."""
    rate = 16_000
    samples = [
        int(9000 * math.sin(2 * math.pi * 220 * n / rate)) if speech else 0
        for n in range(int(seconds * rate))
    ]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


@pytest.fixture
def fast_upstream(upstream):
    """The simulator without artificial latency."""
    upstream.configure(stt_latency_ms=0, llm_ttft_ms=0, llm_tokens_per_s=2000, tts_ttfb_ms=0)
    return upstream


@pytest.fixture
def legacy_call(api, fast_upstream):
    response = api.post("/api/legacy/calls", {}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def aapi(user, worker_thread_db):
    """An async client logged in as `user` (JSON bodies), for streamed answers."""
    client = AsyncClient()
    client.force_login(user)
    original = client.post

    async def post(path, data=None, **kwargs):
        return await original(path, data, content_type="application/json", **kwargs)

    client.post = post
    return client


@pytest.fixture
def mock_upstream(settings):
    """OpenAI answered by `handler` (an httpx.MockTransport handler): answers the simulator
    does not give."""
    settings.OPENAI_API_KEY = SERVER_KEY
    settings.OPENAI_BASE_URL = "http://upstream.test/v1"

    def install(handler) -> None:
        upstream.set_client(upstream.build_client(httpx.MockTransport(handler)))

    return install
