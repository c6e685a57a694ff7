"""Streaming encoders for ``/v1/audio/speech``: PCM in, the requested format out, chunk by chunk.

``wav`` and ``pcm`` are 24 kHz s16le mono (``pcm`` headerless); the compressed formats go
through PyAV's bundled FFmpeg, whose encoders are checked rather than assumed.
"""

import struct
from functools import cache

import av

SPEECH_RATE = 24000
CONTAINERS = {  # response_format -> (FFmpeg muxer, encoder, Content-Type)
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
    "opus": ("ogg", "libopus", "audio/ogg"),
    "aac": ("adts", "aac", "audio/aac"),
    "flac": ("flac", "flac", "audio/flac"),
}
CONTENT_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm"} | {
    name: spec[2] for name, spec in CONTAINERS.items()
}
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


@cache
def encoder_available(response_format: str) -> bool:
    if response_format not in CONTAINERS:
        return response_format in FORMATS
    try:
        av.codec.Codec(CONTAINERS[response_format][1], "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def wav_header(rate: int = SPEECH_RATE) -> bytes:
    """A streamed WAV's length is unknown up front; like OpenAI's streamed WAV, the RIFF and
    data sizes are set to the maximum, and readers take the audio up to the end of the body."""
    unknown = 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", unknown)
    )


class _Sink:
    """A write-only file for PyAV; the encoder drains it after every chunk."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def drain(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class StreamEncoder:
    def __init__(self, response_format: str) -> None:
        self.response_format = response_format
        self._started = False
        self._sink = self._container = self._stream = None
        if response_format in CONTAINERS:
            muxer, codec, _ = CONTAINERS[response_format]
            self._sink = _Sink()
            self._container = av.open(self._sink, mode="w", format=muxer)
            self._stream = self._container.add_stream(codec, rate=SPEECH_RATE, layout="mono")

    def encode(self, pcm: bytes) -> bytes:
        """Bytes ready to send for this PCM chunk (compressed formats may hold some back)."""
        if self._container is None:
            header = b"" if self._started or self.response_format == "pcm" else wav_header()
            self._started = True
            return header + pcm
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm[: len(pcm) // 2 * 2])
        frame.sample_rate = SPEECH_RATE
        return self._mux(frame)

    def finish(self) -> bytes:
        if self._container is None:
            return b"" if self._started or self.response_format == "pcm" else wav_header()
        tail = self._mux(None)
        self._container.close()
        return tail + self._sink.drain()

    def _mux(self, frame) -> bytes:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.drain()
