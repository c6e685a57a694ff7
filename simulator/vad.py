"""Server VAD on the caller's microphone: energy per frame, a start delay and a silence timeout.

Times are milliseconds of received audio since the session began, which is what OpenAI reports
in ``audio_start_ms`` and ``audio_end_ms``.
"""

from dataclasses import dataclass

# Syllables leave short gaps; a gap shorter than this does not restart the onset timer.
ONSET_GAP_TOLERANCE_MS = 150


@dataclass(frozen=True)
class VadChange:
    kind: str  # "started" or "stopped"
    audio_ms: int


class VoiceActivityDetector:
    def __init__(self, *, rms_threshold: float, start_ms: int, silence_ms: int, prefix_ms: int):
        self.rms_threshold = rms_threshold
        self.start_ms = start_ms
        self.silence_ms = silence_ms
        self.prefix_ms = prefix_ms
        self.audio_ms = 0.0
        self.speaking = False
        self._onset_ms: float | None = None
        self._last_voiced_ms = 0.0
        self._silence_run_ms = 0.0

    def feed(self, rms: float, frame_ms: float) -> VadChange | None:
        """Account one frame; returns a change when speech starts or stops at this frame."""
        voiced = rms > self.rms_threshold
        change = self._while_speaking(voiced, frame_ms) if self.speaking else self._onset(voiced)
        self.audio_ms += frame_ms
        return change

    def _onset(self, voiced: bool) -> VadChange | None:
        if not voiced:
            if self._onset_ms is not None and (
                self.audio_ms - self._last_voiced_ms > ONSET_GAP_TOLERANCE_MS
            ):
                self._onset_ms = None
            return None
        if self._onset_ms is None:
            self._onset_ms = self.audio_ms
        self._last_voiced_ms = self.audio_ms
        if self.audio_ms - self._onset_ms < self.start_ms:
            return None
        self.speaking = True
        self._silence_run_ms = 0.0
        return VadChange("started", int(max(0.0, self._onset_ms - self.prefix_ms)))

    def _while_speaking(self, voiced: bool, frame_ms: float) -> VadChange | None:
        self._silence_run_ms = 0.0 if voiced else self._silence_run_ms + frame_ms
        if self._silence_run_ms < self.silence_ms:
            return None
        self.speaking = False
        self._onset_ms = None
        return VadChange("stopped", int(self.audio_ms + frame_ms))
