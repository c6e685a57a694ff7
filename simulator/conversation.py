"""The event script of one Realtime call: turns detected on the microphone, scripted responses
spoken on the outgoing track, barge-in, and the items linking them by ``previous_item_id``.

Events leave through ``emit(type, **fields)``; the call adds ``event_id`` and delivers them to
the data channel and any sideband. Client events are handled in ``client_events.py``.
"""

import asyncio
import secrets

from . import items as build
from . import sessions
from .audio import WEBRTC_RATE, synthesize
from .script import Script, tokens
from .settings import Settings
from .tracks import Playback, ResponseAudioTrack
from .vad import VoiceActivityDetector


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(11)}"


class ResponseRun:
    """One response: its scripted text, its generation task and the audio it queued."""

    def __init__(self, *, text: str, previous_item_id: str | None, modalities: list) -> None:
        self.id = new_id("resp")
        self.item_id = new_id("item")
        self.text = text
        self.previous_item_id = previous_item_id
        self.modalities = modalities
        self.status = "in_progress"
        self.task: asyncio.Task | None = None
        self.playback: Playback | None = None

    @property
    def audio(self) -> bool:
        return "audio" in self.modalities


class Conversation:
    def __init__(self, *, session: dict, settings: Settings, emit, track: ResponseAudioTrack):
        self.session = session
        self.settings = settings
        self.emit = emit
        self.track = track
        self.script = Script(settings)
        self.conversation_id = new_id("conv")
        self.items: dict[str, dict] = {}  # insertion order is conversation order
        self.responses: dict[str, ResponseRun] = {}
        self.active: ResponseRun | None = None
        self.speech_segments: list[dict] = []
        self.buffered_ms = 0.0
        self.typed_text: str | None = None  # the last typed user message, quoted in the reply
        self._speech_item_id: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self.vad = VoiceActivityDetector(rms_threshold=0, start_ms=0, silence_ms=0, prefix_ms=0)
        self.configure_vad()

    # --- microphone turns -------------------------------------------------------------------

    def configure_vad(self) -> None:
        turn = sessions.turn_detection(self.session)
        if turn is None:
            return
        self.vad.rms_threshold = self.settings.vad_rms * float(turn.get("threshold", 0.5)) / 0.5
        self.vad.start_ms = self.settings.vad_start_ms
        self.vad.silence_ms = sessions.silence_ms(turn)
        self.vad.prefix_ms = int(turn.get("prefix_padding_ms", 300))

    async def on_mic_frame(self, rms: float, frame_ms: float) -> None:
        self.buffered_ms += frame_ms
        turn = sessions.turn_detection(self.session)
        if turn is None:  # manual turns: the client commits with input_audio_buffer.commit
            self.vad.audio_ms += frame_ms
            return
        change = self.vad.feed(rms, frame_ms)
        if change and change.kind == "started":
            await self._speech_started(change.audio_ms, turn)
        elif change:
            self._speech_stopped(change.audio_ms, turn)

    async def _speech_started(self, audio_start_ms: int, turn: dict) -> None:
        self._speech_item_id = new_id("item")
        self.speech_segments.append({"start_ms": audio_start_ms, "end_ms": None})
        self.emit(
            "input_audio_buffer.speech_started",
            audio_start_ms=audio_start_ms,
            item_id=self._speech_item_id,
        )
        if turn.get("interrupt_response", True):
            await self.interrupt("turn_detected")

    def _speech_stopped(self, audio_end_ms: int, turn: dict) -> None:
        item_id = self._speech_item_id or new_id("item")
        self.speech_segments[-1]["end_ms"] = audio_end_ms
        self.emit("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)
        self.commit(item_id)
        if turn.get("create_response", True) and self.active is None:
            self.start_response(self.script.next_reply())

    def commit(self, item_id: str | None = None) -> None:
        """Commit the buffered audio as a user item; its transcript follows asynchronously."""
        item_id = item_id or new_id("item")
        self._speech_item_id = None
        self.buffered_ms = 0.0
        previous = self.last_item_id()
        self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        self.add_item(build.user_audio_item(item_id), previous)
        model = sessions.transcription_model(self.session)
        if model:
            self.spawn(self._transcribe(item_id, self.script.next_user_text(), model))

    async def _transcribe(self, item_id: str, text: str, model: str) -> None:
        # Real OpenAI transcribes separately from the model's turn, so by default this lands
        # after response.created; clients must order turns by previous_item_id, not arrival.
        await asyncio.sleep(self.settings.transcription_delay_ms / 1000)
        deltas = [text] if model == "whisper-1" else tokens(text)  # whisper sends the whole turn
        for delta in deltas:
            self.emit(
                "conversation.item.input_audio_transcription.delta",
                item_id=item_id,
                content_index=0,
                delta=delta,
            )
        self.items[item_id]["content"][0]["transcript"] = text
        self.emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=text,
            usage=build.transcription_usage(text),
        )

    # --- items ------------------------------------------------------------------------------

    def last_item_id(self) -> str | None:
        return next(reversed(self.items), None)

    def add_item(self, item: dict, previous_item_id: str | None) -> None:
        self.items[item["id"]] = item
        self.emit("conversation.item.added", previous_item_id=previous_item_id, item=item)
        if item.get("status") != "in_progress":
            self.emit("conversation.item.done", previous_item_id=previous_item_id, item=item)

    # --- responses --------------------------------------------------------------------------

    def start_response(self, text: str, modalities: list | None = None) -> ResponseRun:
        run = ResponseRun(
            text=text,
            previous_item_id=self.last_item_id(),
            modalities=modalities or sessions.output_modalities(self.session),
        )
        self.responses[run.id] = run
        self.active = run
        run.task = self.spawn(self._generate(run))
        return run

    async def _generate(self, run: ResponseRun) -> None:
        self.emit("response.created", response=build.response(self, run))
        item = build.assistant_item(run, "in_progress", [])
        self.emit("response.output_item.added", response_id=run.id, output_index=0, item=item)
        self.add_item(item, run.previous_item_id)
        self.emit(
            "response.content_part.added", **build.part_ref(run), part=build.content_part(run, "")
        )
        try:
            await (self._speak(run) if run.audio else self._write_text(run))
        except RuntimeError as exc:  # espeak-ng failed: report it the way OpenAI reports errors
            self.finish(run, "failed", {"type": "failed", "error": {"message": str(exc)}})
            return
        self.finish(run, "completed")

    async def _speak(self, run: ResponseRun) -> None:
        pcm = await synthesize(
            run.text,
            rate=WEBRTC_RATE,
            voice=sessions.voice(self.session),
            speed=sessions.speed(self.session),
            engine=self.settings.synth,
        )
        run.playback = playback = self.track.play(pcm)
        self.spawn(self._report_playback_end(run))
        await asyncio.wait({playback.started, playback.finished}, return_when="FIRST_COMPLETED")
        self.emit("output_audio_buffer.started", response_id=run.id)
        # Transcript deltas follow the audio: each word is sent as playback reaches it.
        for offset_ms, piece in _word_offsets(run.text, playback.duration_ms):
            await playback.reached(offset_ms)
            self.emit("response.output_audio_transcript.delta", **build.part_ref(run), delta=piece)

    async def _report_playback_end(self, run: ResponseRun) -> None:
        if await run.playback.finished:  # cleared playbacks are reported by interrupt()/clear()
            self.emit("output_audio_buffer.stopped", response_id=run.id)

    async def _write_text(self, run: ResponseRun) -> None:
        for piece in tokens(run.text):
            await asyncio.sleep(1 / self.settings.llm_tokens_per_s)
            self.emit("response.output_text.delta", **build.part_ref(run), delta=piece)

    def finish(self, run: ResponseRun, status: str, details: dict | None = None) -> None:
        """Close a response. An interrupted one still reports its whole generated transcript."""
        run.status = status
        ref = build.part_ref(run)
        if run.audio:
            self.emit("response.output_audio_transcript.done", **ref, transcript=run.text)
            self.emit("response.output_audio.done", **ref)
        else:
            self.emit("response.output_text.done", **ref, text=run.text)
        part = build.content_part(run, run.text)
        self.emit("response.content_part.done", **ref, part=part)
        item = build.assistant_item(
            run, "completed" if status == "completed" else "incomplete", [part]
        )
        self.items[run.item_id] = item
        self.emit("response.output_item.done", response_id=run.id, output_index=0, item=item)
        self.emit("conversation.item.done", previous_item_id=run.previous_item_id, item=item)
        self.emit("response.done", response=build.response(self, run, details, [item]))
        if self.active is run:
            self.active = None

    async def cancel(self, run: ResponseRun, reason: str) -> None:
        if run.status != "in_progress":
            return
        run.task.cancel()
        await asyncio.wait({run.task})
        self.finish(run, "cancelled", {"type": "cancelled", "reason": reason})

    def clear_audio(self) -> list[str]:
        """Cut queued audio; returns the ids of the responses whose audio was cut."""
        cut = self.track.clear()
        return [run.id for run in self.responses.values() if run.playback in cut]

    async def interrupt(self, reason: str) -> None:
        """Barge-in: stop generating, then cut the audio still queued (even if generation had
        already completed, which is why ``cleared`` is the reliable "cut off" signal)."""
        if self.active is not None:
            await self.cancel(self.active, reason)
        for response_id in self.clear_audio():
            self.emit("output_audio_buffer.cleared", response_id=response_id)

    # --- housekeeping -----------------------------------------------------------------------

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        self.track.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))


def _word_offsets(text: str, duration_ms: float) -> list[tuple[float, str]]:
    """When each word starts, spreading the words over the audio by their length in letters."""
    pieces = tokens(text)
    total = sum(len(piece) for piece in pieces) or 1
    offsets, position = [], 0
    for piece in pieces:
        offsets.append((duration_ms * position / total, piece))
        position += len(piece)
    return offsets
