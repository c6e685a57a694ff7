"""The outgoing WebRTC audio track: queued playbacks paced in real time, silence in between.

aiortc pulls frames by calling ``recv()``; pacing against a monotonic clock here is what makes
the assistant's audio last as long as it sounds, and what tells the event script how far
playback has got (``Playback.reached``).
"""

import asyncio
import fractions
import time
from collections import deque

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import WEBRTC_RATE

FRAME_SAMPLES = 960  # 20 ms at 48 kHz, what aiortc's Opus encoder expects
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, WEBRTC_RATE)


class Playback:
    """One response's audio on its way out: how much has played, and whether it ended or was
    cleared (``finished`` resolves to True when it played to the end, False when cleared)."""

    def __init__(self, pcm: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.pcm = pcm
        self.played_bytes = 0
        self.started = loop.create_future()
        self.finished: asyncio.Future[bool] = loop.create_future()
        self._waiters: list[tuple[float, asyncio.Future]] = []

    @property
    def played_ms(self) -> float:
        return self.played_bytes / 2 / WEBRTC_RATE * 1000

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 / WEBRTC_RATE * 1000

    def reached(self, ms: float) -> asyncio.Future:
        """Resolves once playback has passed ``ms``, or at once if it already ended."""
        waiter = asyncio.get_running_loop().create_future()
        if self.finished.done() or self.played_ms >= ms:
            waiter.set_result(None)
        else:
            self._waiters.append((ms, waiter))
        return waiter

    def take(self, size: int) -> bytes:
        if not self.started.done():
            self.started.set_result(None)
        chunk = self.pcm[self.played_bytes : self.played_bytes + size]
        self.played_bytes += len(chunk)
        self._wake(lambda ms: ms <= self.played_ms)
        if self.played_bytes >= len(self.pcm):
            self.end(completed=True)
        return chunk

    def end(self, *, completed: bool) -> None:
        if not self.finished.done():
            self.finished.set_result(completed)
        self._wake(lambda ms: True)

    def _wake(self, due) -> None:
        pending = []
        for ms, waiter in self._waiters:
            if due(ms):
                if not waiter.done():
                    waiter.set_result(None)
            else:
                pending.append((ms, waiter))
        self._waiters = pending


class ResponseAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[Playback] = deque()
        self._clock_start: float | None = None
        self._pts = 0

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    def play(self, pcm: bytes) -> Playback:
        playback = Playback(pcm)
        if pcm:
            self._queue.append(playback)
        else:
            playback.end(completed=True)
        return playback

    def clear(self) -> list[Playback]:
        """Drop everything queued; returns the playbacks that were cut off."""
        cleared = list(self._queue)
        self._queue.clear()
        for playback in cleared:
            playback.end(completed=False)
        return cleared

    def stop(self) -> None:
        self.clear()
        super().stop()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pace()
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._next_chunk())
        frame.pts = self._pts
        frame.sample_rate = WEBRTC_RATE
        frame.time_base = TIME_BASE
        self._pts += FRAME_SAMPLES
        return frame

    async def _pace(self) -> None:
        if self._clock_start is None:
            self._clock_start = time.monotonic()
            return
        due = self._clock_start + (self._pts / WEBRTC_RATE)
        await asyncio.sleep(max(0.0, due - time.monotonic()))

    def _next_chunk(self) -> bytes:
        chunk = b""
        while self._queue and len(chunk) < FRAME_BYTES:
            chunk += self._queue[0].take(FRAME_BYTES - len(chunk))
            if self._queue[0].finished.done():
                self._queue.popleft()
        return chunk.ljust(FRAME_BYTES, b"\0")
