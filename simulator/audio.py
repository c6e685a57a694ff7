"""Audio in and out without numpy: energy measurement, decoding and resampling with PyAV, and
speech synthesis (espeak-ng when installed, otherwise a voice-like tone).

All PCM here is signed 16-bit little-endian mono at an explicit sample rate.
"""

import array
import asyncio
import io
import math
import shutil
import struct
import sys
from functools import cache

import av

WEBRTC_RATE = 48000
SPEECH_VARIANTS = {  # OpenAI voice -> espeak-ng variant, so voices sound different
    "alloy": "m3",
    "ash": "m1",
    "ballad": "m2",
    "coral": "f3",
    "echo": "m4",
    "fable": "m5",
    "onyx": "m7",
    "nova": "f2",
    "sage": "f4",
    "shimmer": "f1",
    "verse": "m6",
    "marin": "f5",
    "cedar": "m8",
}


def pcm_rms(pcm: bytes) -> float:
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def frame_rms(frame: av.AudioFrame) -> float:
    """RMS of a decoded s16 frame. The plane buffer is padded beyond the payload, so slice it."""
    channels = len(frame.layout.channels)
    return pcm_rms(bytes(frame.planes[0])[: frame.samples * channels * 2])


def voiced_ms(pcm: bytes, rate: int, threshold: float, frame_ms: int = 20) -> int:
    """Milliseconds of ``pcm`` whose 20 ms frames are louder than ``threshold``."""
    step = rate * frame_ms // 1000 * 2
    frames = (pcm[i : i + step] for i in range(0, len(pcm), step))
    return sum(frame_ms for frame in frames if pcm_rms(frame) > threshold)


def _to_mono(frames, rate: int) -> bytes:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    out = bytearray()
    for frame in [*frames, None]:  # None flushes the resampler
        for converted in resampler.resample(frame):
            out += bytes(converted.planes[0])[: converted.samples * 2]
    return bytes(out)


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    if from_rate == to_rate:
        return pcm
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm[: len(pcm) // 2 * 2])
    frame.sample_rate = from_rate
    return _to_mono([frame], to_rate)


def decode(data: bytes, rate: int) -> bytes:
    """Decode any container PyAV understands to mono PCM; ``ValueError`` if it is not audio."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            return _to_mono(container.decode(audio=0), rate)
    except av.FFmpegError as exc:
        raise ValueError(str(exc)) from exc


def _wav_payload(wav: bytes) -> tuple[bytes, int]:
    """espeak-ng streams a WAV whose sizes are placeholders, so read the rate and the data
    chunk by position rather than trusting the header."""
    rate = struct.unpack_from("<I", wav, 24)[0]
    start = wav.find(b"data") + 8
    return wav[start:], rate


async def _espeak(text: str, *, voice: str, speed: float) -> tuple[bytes, int]:
    variant = SPEECH_VARIANTS.get(voice, "m3")
    words_per_minute = str(max(80, min(450, round(175 * speed))))
    process = await asyncio.create_subprocess_exec(
        "espeak-ng",
        "--stdout",
        "--stdin",
        "-v",
        f"en-us+{variant}",
        "-s",
        words_per_minute,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    wav, _ = await process.communicate(text.encode())
    if process.returncode != 0 or len(wav) < 44:
        raise RuntimeError(f"espeak-ng exited with {process.returncode}")
    return _wav_payload(wav)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


async def synthesize(
    text: str, *, rate: int, voice: str = "marin", speed: float = 1.0, engine: str = "auto"
) -> bytes:
    """Speech for ``text`` as PCM at ``rate``; its duration follows the text in both engines."""
    if not text.strip():
        return b""
    use_espeak = engine == "espeak" or (engine == "auto" and espeak_available())
    if use_espeak:
        pcm, espeak_rate = await _espeak(text, voice=voice, speed=speed)
        return await asyncio.to_thread(resample, pcm, espeak_rate, rate)
    return await asyncio.to_thread(tone_speech, text, rate, speed)


# The fallback voice: a harmonic-rich buzz at speaking pitch, one syllable per ~3 letters,
# with pauses between words and longer ones after punctuation. It has speech-like energy and
# rhythm, which is all VAD and level checks need.
SYLLABLE_MS = 170
WORD_GAP_MS = 70
SENTENCE_GAP_MS = 260
PITCHES_HZ = (118, 132, 146, 126)
TONE_AMPLITUDE = 9000


@cache
def _syllable(rate: int, pitch_hz: int, samples: int) -> bytes:
    harmonics = [(k, 1.0 / k) for k in range(1, 7)]
    norm = sum(weight for _, weight in harmonics)
    out = array.array("h")
    for n in range(samples):
        envelope = math.sin(math.pi * n / samples) ** 0.6
        phase = 2 * math.pi * pitch_hz * n / rate
        wave = sum(weight * math.sin(k * phase) for k, weight in harmonics) / norm
        out.append(int(TONE_AMPLITUDE * envelope * wave))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def _silence(rate: int, ms: float) -> bytes:
    return bytes(int(rate * ms / 1000) * 2)


def _syllables(word: str) -> int:
    return max(1, round(len(word) / 3))


def _pause_ms(word: str) -> int:
    return SENTENCE_GAP_MS if word[-1] in ".!?,;:" else WORD_GAP_MS


def speech_ms(text: str, speed: float = 1.0) -> float:
    """How long ``tone_speech`` takes to say ``text``, without synthesizing it."""
    words = text.split()
    spoken = sum(_syllables(word) * SYLLABLE_MS + _pause_ms(word) for word in words)
    return spoken / speed


def tone_speech(text: str, rate: int, speed: float = 1.0) -> bytes:
    out = bytearray()
    syllable_samples = int(rate * SYLLABLE_MS / 1000 / speed)
    for index, word in enumerate(text.split()):
        for syllable in range(_syllables(word)):
            pitch = PITCHES_HZ[(index + syllable) % len(PITCHES_HZ)]
            out += _syllable(rate, pitch, syllable_samples)
        out += _silence(rate, _pause_ms(word) / speed)
    return bytes(out)
