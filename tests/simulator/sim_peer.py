"""Test-side clients for the simulator: a WebRTC client built like a browser's (it creates the
``oai-events`` channel before the offer and sends a microphone track the test controls), and a
sideband client built like the server's call monitor."""

import asyncio
import fractions
import json
import math
import time
from typing import Any

import aiohttp
import av
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from simulator.audio import frame_rms

KEY = "sk-test-simulator-0123456789"
SESSION: dict[str, Any] = {  # what our backend asks for: transcripts on, a quick turn end
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "Be brief.",
    "audio": {
        "input": {
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
        },
        "output": {"voice": "cedar"},
    },
}
RATE = 48000
FRAME_SAMPLES = 960
TONE_HZ = 400  # a whole number of cycles per 20 ms frame, so frames join without clicks
TONE = b"".join(
    int(8000 * math.sin(2 * math.pi * TONE_HZ * n / RATE)).to_bytes(2, "little", signed=True)
    for n in range(FRAME_SAMPLES)
)
SILENCE = bytes(FRAME_SAMPLES * 2)


class MicTrack(MediaStreamTrack):
    """Silence, except for tone bursts ("speech") requested with ``speak(ms)``."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._tone_frames_left = 0
        self._burst_done: asyncio.Future | None = None
        self._start: float | None = None
        self._pts = 0

    def speak(self, ms: int) -> asyncio.Future:
        """Starts a burst; the future resolves when its last frame has been sent."""
        self._tone_frames_left = ms // 20
        self._burst_done = asyncio.get_running_loop().create_future()
        return self._burst_done

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._next_payload())
        frame.pts, frame.sample_rate = self._pts, RATE
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME_SAMPLES
        return frame

    def _next_payload(self) -> bytes:
        if self._tone_frames_left <= 0:
            return SILENCE
        self._tone_frames_left -= 1
        burst_done = self._burst_done
        if self._tone_frames_left == 0 and burst_done is not None and not burst_done.done():
            burst_done.set_result(None)
        return TONE


class Waitable:
    """An append-only log that can be awaited: ``wait(predicate)`` resolves with the first entry
    (past or future) that matches."""

    def __init__(self) -> None:
        self.entries: list = []
        self._waiters: list[tuple] = []

    def add(self, entry) -> None:
        self.entries.append(entry)
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and predicate(entry):
                future.set_result(entry)
                self._waiters.remove(waiter)

    async def wait(self, predicate, within: float = 10.0):
        for entry in self.entries:
            if predicate(entry):
                return entry
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, within)


# One spoken turn as the simulator plays it, in order (the late transcription aside).
TURN_SEQUENCE = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "output_audio_buffer.started",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_audio.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.done",
    "output_audio_buffer.stopped",
]


async def eventually(probe, within: float = 5.0, every: float = 0.02):
    """Polls an async ``probe`` until it returns something truthy, failing after ``within`` s.
    For state only visible by asking (``/_sim/calls``), where there is no event to await."""
    async with asyncio.timeout(within):
        # Polling is deliberate: the state lives in another process's answers, not in an Event.
        while not (result := await probe()):  # noqa: ASYNC110
            await asyncio.sleep(every)
    return result


class RealtimeClient:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = MicTrack()
        self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events = Waitable()
        self.remote_frames = Waitable()  # (monotonic time, rms) of each received frame
        self.call_id: str | None = None
        self._tasks: list[asyncio.Task] = []
        self.channel.on("message", lambda raw: self.events.add(json.loads(raw)))
        self.pc.on("track", self._on_track)

    def _on_track(self, track) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.remote_frames.add((time.monotonic(), frame_rms(frame)))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def connect(
        self, http: httpx.AsyncClient, *, session: dict | None = None, raw: bool = False
    ) -> httpx.Response:
        """POST the offer like our backend does (multipart) or like a browser does (raw SDP)."""
        sdp = await self.offer()
        if raw:
            response = await http.post(
                "/v1/realtime/calls", content=sdp, headers={"Content-Type": "application/sdp"}
            )
        else:
            files = {"sdp": (None, sdp, "application/sdp")}
            if session is not None:
                files["session"] = (None, json.dumps(session), "application/json")
            response = await http.post("/v1/realtime/calls", files=files)
        if response.status_code == 201:
            self.call_id = response.headers["Location"].rsplit("/", 1)[-1]
            answer = RTCSessionDescription(sdp=response.text, type="answer")
            await self.pc.setRemoteDescription(answer)
        return response

    def send(self, event: dict) -> None:
        self.channel.send(json.dumps(event))

    def of_type(self, type_: str) -> list[dict]:
        return [e for e in self.events.entries if e["type"] == type_]

    def index(self, event: dict) -> int:
        return self.events.entries.index(event)

    async def event(self, type_: str, within: float = 10.0, **fields) -> dict:
        def matches(e: dict) -> bool:
            return e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())

        return await self.events.wait(matches, within)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class SidebandClient:
    """A server-side monitor's view of a call: the ``/v1/realtime?call_id=`` websocket, with
    every event it receives logged (and awaitable) and the close it ends with."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events = Waitable()
        self.closed = asyncio.get_running_loop().create_future()  # resolves to the close code
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.add(json.loads(message.data))
        self.closed.set_result(self.ws.close_code)

    async def send(self, event: dict) -> None:
        await self.ws.send_json(event)

    def of_type(self, type_: str) -> list[dict]:
        return [e for e in self.events.entries if e["type"] == type_]

    async def event(self, type_: str, within: float = 10.0, **fields) -> dict:
        def matches(e: dict) -> bool:
            return e["type"] == type_ and all(e.get(k) == v for k, v in fields.items())

        return await self.events.wait(matches, within)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait({self._reader})
