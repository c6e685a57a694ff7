"""The assistant's audio output: queued playbacks paced in real time, silence in between.

On a WebRTC call aiortc pulls frames by calling ``ResponseAudioTrack.recv()``; pacing against a
monotonic clock there is what makes the assistant's audio last as long as it sounds, and what
tells the event script how far playback has got (``Playback.reached``). A canned call has no
peer, so ``ClockOutput`` plays the same queue on timers instead.
"""

import asyncio
import fractions
import time
from collections import deque

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .audio import WEBRTC_RATE, speech_ms, synthesize

FRAME_SAMPLES = 960  # 20 ms at 48 kHz, what aiortc's Opus encoder expects
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, WEBRTC_RATE)


class Playback:
    """One response's audio on its way out: how much has played, and whether it ended or was
    cleared (``finished`` resolves to True when it played to the end, False when cleared)."""

    def __init__(self, duration_ms: float) -> None:
        loop = asyncio.get_running_loop()
        self.duration_ms = duration_ms
        self.started = loop.create_future()
        self.finished: asyncio.Future[bool] = loop.create_future()
        self._waiters: list[tuple[float, asyncio.Future]] = []

    @property
    def played_ms(self) -> float:
        raise NotImplementedError

    def reached(self, ms: float) -> asyncio.Future:
        """Resolves once playback has passed ``ms``, or at once if it already ended."""
        waiter = asyncio.get_running_loop().create_future()
        if self.finished.done() or self.played_ms >= ms:
            waiter.set_result(None)
        else:
            self._waiters.append((ms, waiter))
        return waiter

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


class FramePlayback(Playback):
    """Audio that the peer connection pulls frame by frame: it plays as fast as it is sent."""

    def __init__(self, pcm: bytes) -> None:
        super().__init__(len(pcm) / 2 / WEBRTC_RATE * 1000)
        self.pcm = pcm
        self.played_bytes = 0

    @property
    def played_ms(self) -> float:
        return self.played_bytes / 2 / WEBRTC_RATE * 1000

    def take(self, size: int) -> bytes:
        if not self.started.done():
            self.started.set_result(None)
        chunk = self.pcm[self.played_bytes : self.played_bytes + size]
        self.played_bytes += len(chunk)
        self._wake(lambda ms: ms <= self.played_ms)
        if self.played_bytes >= len(self.pcm):
            self.end(completed=True)
        return chunk


class ClockPlayback(Playback):
    """Audio nobody receives (a canned call has no peer): it plays on the clock alone, so the
    events keep their real timing without synthesizing or encoding a single frame."""

    def __init__(self, duration_ms: float) -> None:
        super().__init__(duration_ms)
        self._loop = asyncio.get_running_loop()
        self._started_at: float | None = None
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def played_ms(self) -> float:
        if self._started_at is None:
            return 0.0
        return min(self.duration_ms, (self._loop.time() - self._started_at) * 1000)

    def start(self, on_end) -> None:
        self._started_at = self._loop.time()
        self.started.set_result(None)
        self._timers.append(self._loop.call_later(self.duration_ms / 1000, on_end, self))
        for ms, _waiter in self._waiters:
            self._schedule_wake(ms)

    def reached(self, ms: float) -> asyncio.Future:
        waiter = super().reached(ms)
        if not waiter.done() and self._started_at is not None:
            self._schedule_wake(ms)
        return waiter

    def _schedule_wake(self, ms: float) -> None:
        delay = max(0.0, ms - self.played_ms) / 1000
        self._timers.append(
            self._loop.call_later(delay, self._wake, lambda due: due <= self.played_ms + 1)
        )

    def end(self, *, completed: bool) -> None:
        for timer in self._timers:
            timer.cancel()
        super().end(completed=completed)


class PlaybackQueue:
    """Playbacks waiting their turn, the first one playing; ``clear`` cuts them all."""

    _queue: deque

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    def clear(self) -> list[Playback]:
        """Drop everything queued; returns the playbacks that were cut off."""
        cleared = list(self._queue)
        self._queue.clear()
        for playback in cleared:
            playback.end(completed=False)
        return cleared


class ClockOutput(PlaybackQueue):
    """The audio output of a call without a peer: playbacks queue and play one after another
    on the clock, like ``ResponseAudioTrack`` but with nothing to send."""

    def __init__(self) -> None:
        self._queue: deque[ClockPlayback] = deque()

    async def speak(self, text: str, *, voice: str, speed: float, engine: str) -> Playback:
        playback = ClockPlayback(speech_ms(text, speed))
        self._queue.append(playback)
        if len(self._queue) == 1:
            playback.start(self._ended)
        return playback

    def _ended(self, playback: ClockPlayback) -> None:
        playback.end(completed=True)
        if self._queue and self._queue[0] is playback:
            self._queue.popleft()
        if self._queue:
            self._queue[0].start(self._ended)

    def stop(self) -> None:
        self.clear()


class ResponseAudioTrack(PlaybackQueue, MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[FramePlayback] = deque()
        self._clock_start: float | None = None
        self._pts = 0

    async def speak(self, text: str, *, voice: str, speed: float, engine: str) -> Playback:
        """Synthesize ``text`` and queue it behind whatever is playing."""
        pcm = await synthesize(text, rate=WEBRTC_RATE, voice=voice, speed=speed, engine=engine)
        return self.play(pcm)

    def play(self, pcm: bytes) -> FramePlayback:
        playback = FramePlayback(pcm)
        if pcm:
            self._queue.append(playback)
        else:
            playback.end(completed=True)
        return playback

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
