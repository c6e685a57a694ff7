"""Legacy mode: from the start of the speech-to-text request to the first byte of speech.

Driven as the browser drives it: upload the turn, stream the reply, and as soon as its first
sentence is complete ask for that sentence's speech. The simulator stands in for the
providers: STT 300 ms, first token 200 ms then 30 tokens/s, speech first byte 150 ms.
Goal: what we add beyond the providers is ≤ 50 ms, and the first sentence is speaking long
before the reply has finished.
"""

import asyncio
import io
import json
import math
import re
import struct
import sys
import time
import wave

import httpx

from bench.harness import app_env, bench_database, daphne, free_port, percentile, simulator

TURNS = 20
STT_MS, TTFT_MS, TOKENS_PER_S, TTFB_MS = 300, 200, 30, 150
PROVIDERS_MS = STT_MS + TTFT_MS + TTFB_MS
SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")
SERVER_KEY = "sk-bench-server-key-000000000000"


def speech_wav() -> bytes:
    rate = 16_000
    samples = [int(9000 * math.sin(2 * math.pi * 220 * n / rate)) for n in range(rate)]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


class Path:
    """One way to run a turn: through our endpoints, or straight to the providers."""

    def __init__(self, http: httpx.AsyncClient, direct: bool, call_id: str = "") -> None:
        self.http, self.direct, self.call_id = http, direct, call_id

    async def transcribe(self, audio: bytes) -> str:
        files = {("file" if self.direct else "audio"): ("turn.wav", audio, "audio/wav")}
        data = {"model": "gpt-4o-mini-transcribe"} if self.direct else {"call": self.call_id}
        url = "/v1/audio/transcriptions" if self.direct else "/api/legacy/transcriptions"
        return (await self.http.post(url, files=files, data=data)).raise_for_status().json()["text"]

    def reply(self, text: str):
        if self.direct:
            body = {
                "model": "gpt-4o-mini",
                "stream": True,
                "messages": [{"role": "user", "content": text}],
            }
            return self.http.stream("POST", "/v1/chat/completions", json=body)
        return self.http.stream(
            "POST", "/api/legacy/replies", json={"call": self.call_id, "text": text}
        )

    def delta(self, line: str) -> str | None:
        if self.direct:
            if not line.startswith("data: {"):
                return None
            return json.loads(line.removeprefix("data: "))["choices"][0]["delta"].get("content")
        if line.startswith("data: ") and '"text"' in line and "message_id" not in line:
            data = json.loads(line.removeprefix("data: "))
            return data.get("text") if "item_id" not in data else None
        return None

    def speech(self, sentence: str):
        if self.direct:
            body = {"model": "gpt-4o-mini-tts", "input": sentence, "voice": "marin"}
            return self.http.stream(
                "POST", "/v1/audio/speech", json={**body, "response_format": "pcm"}
            )
        return self.http.stream(
            "POST",
            "/api/legacy/speech",
            json={"call": self.call_id, "text": sentence, "format": "pcm"},
        )


async def turn(path: Path, audio: bytes) -> dict:
    """Timings of one turn, driven as the browser drives it."""
    began = time.perf_counter()
    text = await path.transcribe(audio)
    reply_text, tokens, speaking, first_sentence_tokens = "", 0, None, 0
    async with path.reply(text) as reply:
        async for line in reply.aiter_lines():
            delta = path.delta(line)
            if not delta:
                continue
            reply_text += delta
            tokens += 1
            match = SENTENCE_END.search(reply_text)
            if speaking is None and match:
                speaking = asyncio.create_task(first_byte(path, reply_text[: match.end()]))
                first_sentence_tokens = tokens
    done = time.perf_counter()
    if speaking is None:
        raise RuntimeError("the reply had no complete sentence to speak")
    return {
        "first_audio": await speaking - began,
        "reply_done": done - began,
        "first_sentence_tokens": first_sentence_tokens,
    }


async def first_byte(path: Path, sentence: str) -> float:
    async with path.speech(sentence) as speech:
        async for chunk in speech.aiter_bytes():
            if chunk:
                return time.perf_counter()
    raise RuntimeError("the speech stream was empty")


async def run(app: str, sim: str, token: str) -> tuple[list[dict], list[dict]]:
    """Turns through us and straight to the simulator, interleaved."""
    audio = speech_wav()
    ours, theirs = [], []
    async with (
        httpx.AsyncClient(
            base_url=app, headers={"Authorization": f"Token {token}"}, timeout=60
        ) as app_http,
        httpx.AsyncClient(
            base_url=sim, headers={"Authorization": f"Bearer {SERVER_KEY}"}, timeout=60
        ) as sim_http,
    ):
        call = (await app_http.post("/api/legacy/calls", json={})).raise_for_status().json()
        through_us, direct = Path(app_http, False, call["id"]), Path(sim_http, True)
        await turn(through_us, audio)  # warm up: connections, caches
        await turn(direct, audio)
        for _ in range(TURNS):
            ours.append(await turn(through_us, audio))
            theirs.append(await turn(direct, audio))
    return ours, theirs


def main() -> int:
    sim_port, app_port = free_port(), free_port()
    knobs = [
        f"--stt-latency-ms={STT_MS}",
        f"--llm-ttft-ms={TTFT_MS}",
        f"--llm-tokens-per-s={TOKENS_PER_S}",
        f"--tts-ttfb-ms={TTFB_MS}",
        "--chat-sentences=5",
    ]
    with bench_database(1) as (url, users):
        sim = f"http://127.0.0.1:{sim_port}"
        env = app_env(url, OPENAI_BASE_URL=f"{sim}/v1", OPENAI_API_KEY=SERVER_KEY)
        with simulator(sim_port, *knobs), daphne(app_port, env):
            ours, theirs = asyncio.run(run(f"http://127.0.0.1:{app_port}", sim, users[0][1]))
    first = [t["first_audio"] * 1000 for t in ours]
    direct = [t["first_audio"] * 1000 for t in theirs]
    done = [t["reply_done"] * 1000 for t in ours]
    added = percentile(first, 50) - percentile(direct, 50)
    print(f"== {TURNS} turns each way, a five-sentence reply each")
    print(f"providers' sum (STT + first token + speech first byte): {PROVIDERS_MS} ms")
    print(
        f"the first sentence is complete after {ours[0]['first_sentence_tokens']} tokens "
        f"(+{(ours[0]['first_sentence_tokens'] - 1) * 1000 / TOKENS_PER_S:.0f} ms at "
        f"{TOKENS_PER_S} tokens/s)"
    )
    print(
        f"STT start → first speech byte, straight to the providers: p50 "
        f"{percentile(direct, 50):.0f} ms, p99 {percentile(direct, 99):.0f} ms"
    )
    print(
        f"STT start → first speech byte, through our server:       p50 "
        f"{percentile(first, 50):.0f} ms, p99 {percentile(first, 99):.0f} ms"
    )
    print(f"added by us: p50 {added:.1f} ms (goal ≤ 50 ms) -> {'OK' if added <= 50 else 'MISSED'}")
    print(
        f"the reply finished streaming at p50 {percentile(done, 50):.0f} ms: speech began "
        f"{percentile(done, 50) - percentile(first, 50):.0f} ms before the reply was complete"
    )
    return 0 if added <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
