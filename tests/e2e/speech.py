"""The fake microphone's script, as a WAV Chromium loops: a question, a pause long enough
for the reply to start, a second utterance that talks over the reply, then quiet."""

import math
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
