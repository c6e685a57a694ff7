"""The fake microphone's script, as a WAV Chromium loops: a question, a pause long enough
for the reply to start, a second utterance that talks over the reply, then quiet."""

import math
import random
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

RATE = 16_000


def _espeak(text: str) -> list[int]:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["espeak-ng", "-s", "170", "-w", out.name, text], check=True)
        with wave.open(out.name) as wav:
            rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    step = rate / RATE  # nearest-sample resampling: plenty for a voice-activity detector
    return [samples[int(i * step)] for i in range(int(len(samples) / step))]


def _voice_like_tone(seconds: float) -> list[int]:
    """Without espeak-ng: a vowel-ish tone with a syllable rhythm."""
    samples = []
    for i in range(int(seconds * RATE)):
        t = i / RATE
        envelope = 0.55 + 0.45 * math.sin(2 * math.pi * 4 * t)
        tone = math.sin(2 * math.pi * 180 * t) + 0.5 * math.sin(2 * math.pi * 720 * t)
        samples.append(int(9000 * envelope * tone / 1.5))
    return samples


def _utterance(text: str, seconds: float) -> list[int]:
    return _espeak(text) if shutil.which("espeak-ng") else _voice_like_tone(seconds)


def _silence(seconds: float) -> list[int]:
    return [0] * int(seconds * RATE)


def write_speech_wav(path: Path, *, barge_in: bool = True) -> None:
    """A question; then, with `barge_in`, a second utterance while the reply plays."""
    first = _utterance("Hello, can you hear me?", 1.5)
    second = _utterance("Wait, wait. Stop for a second please.", 2.0) if barge_in else []
    samples = _silence(1.0) + first + _silence(2.6) + second + _silence(45.0)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def write_repeating_speech_wav(path: Path, text: str, *, pause_s: float, total_s: float) -> None:
    """A caller who never stops: `text`, a pause, `text` again… for `total_s` seconds, so
    there is speech in every few seconds, held or not (push-to-talk tests)."""
    said = _utterance(text, 1.5) + _silence(pause_s)
    samples = (said * (int(total_s * RATE) // len(said) + 1))[: int(total_s * RATE)]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))


# --- scripted microphones for the turn-taking tests ---------------------------------------------


def espeak_at(text: str, *, words_per_minute: int = 170) -> list[int]:
    """`text` spoken by espeak-ng at `words_per_minute`, at RATE."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        args = ["espeak-ng", "-s", str(words_per_minute), "-w", out.name, text]
        subprocess.run(args, check=True)
        with wave.open(out.name) as wav:
            rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    step = rate / RATE
    return [samples[int(i * step)] for i in range(int(len(samples) / step))]


def voiced_span_ms(samples: list[int], threshold: float = 0.015) -> int:
    """From the first to the last 20 ms frame louder than `threshold` (RMS, 0–1): how long a
    detector hears it."""
    frame = RATE // 50
    loud = [
        i
        for i in range(0, len(samples) - frame, frame)
        if math.sqrt(sum(s * s for s in samples[i : i + frame]) / frame) / 32768 > threshold
    ]
    return (loud[-1] - loud[0]) * 1000 // RATE + 20 if loud else 0


def room_noise(seconds: float, *, level: float = 0.01, seed: int = 13) -> list[int]:
    """A room with nobody talking: a fan's hum and its hiss, drifting slowly, and two knocks
    (a cup set down) too short to be a word."""
    rng = random.Random(seed)
    samples, smoothed = [], 0.0
    for i in range(int(seconds * RATE)):
        t = i / RATE
        smoothed = 0.9 * smoothed + 0.1 * rng.uniform(-1, 1)  # hiss, low-passed
        hum = 0.4 * math.sin(2 * math.pi * 100 * t)
        drift = 1 + 0.2 * math.sin(2 * math.pi * 0.3 * t)
        samples.append(int(32767 * level * 2.2 * drift * (smoothed * 2.5 + hum)))
    for at in (3.2, 7.7):
        start = int(at * RATE)
        for i in range(int(0.03 * RATE)):  # 30 ms, decaying
            samples[start + i] += int(9000 * math.exp(-i / (0.006 * RATE)) * rng.uniform(-1, 1))
    return samples


def write_script_wav(path: Path, seconds: float, parts: list[tuple[float, list[int]]]) -> None:
    """A WAV of `seconds` with each (start second, samples) part mixed in at its start."""
    mixed = [0] * int(seconds * RATE)
    for start, samples in parts:
        offset = int(start * RATE)
        for i, sample in enumerate(samples[: len(mixed) - offset]):
            mixed[offset + i] += sample
    clipped = [max(-32768, min(32767, sample)) for sample in mixed]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(clipped)}h", *clipped))
