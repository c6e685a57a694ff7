"""The event script of one Realtime call: turns detected on the microphone (or played by
``/_sim/calls/{id}/turn``), scripted responses spoken on the call's audio output, barge-in, and
the items linking them by ``previous_item_id``.

Events leave through ``emit(type, **fields)``; the call adds ``event_id`` and delivers them to
the data channel and any sideband. Client events are handled in ``client_events.py``.
"""

import asyncio
import json
import secrets

from . import items as build
from . import sessions
from .audio import speech_ms
from .history import Entry, History
from .script import Script, tokens
from .settings import Settings
from .tracks import Playback
from .vad import VoiceActivityDetector

# Committed audio with less speech than this in it is silence to the transcriber.
MIN_VOICED_MS = 100


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(11)}"


class TurnError(ValueError):
    """A scripted turn that this session cannot play."""


class ResponseRun:
    """One response: its scripted text, its generation task and the audio it queued."""

    def __init__(
        self,
        *,
        text: str,
        previous_item_id: str | None,
        modalities: list,
        tool_call: dict | None = None,
    ) -> None:
        self.id = new_id("resp")
        self.item_id = new_id("item")
        self.text = text
        # A scripted function call instead of a message: {"name", "arguments", "call_id"}.
        self.tool_call = tool_call
        self.previous_item_id = previous_item_id
        self.modalities = modalities
        self.status = "in_progress"
        self.context: list[Entry] = []  # the conversation the reply was generated from
        self.task: asyncio.Task | None = None
        self.playback: Playback | None = None
        self.reporter: asyncio.Task | None = None  # reports the end of its audio
        self.half_sent = asyncio.Event()  # half its words are out (or it ended): barge-in point

    @property
    def audio(self) -> bool:
        return "audio" in self.modalities and self.tool_call is None

    def describe(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "item_id": self.item_id,
            "context_item_ids": [entry.id for entry in self.context],
        }


class Conversation:
    def __init__(self, *, session: dict, settings: Settings, emit, track) -> None:
        self.session = session
        self.settings = settings
        self.emit = emit
        self.track = track  # ResponseAudioTrack, or ClockOutput for a call without a peer
        self.script = Script(settings)
        self.conversation_id = new_id("conv")
        self.history = History()
        self.responses: dict[str, ResponseRun] = {}
        self.active: ResponseRun | None = None
        self.speech_segments: list[dict] = []
        self.buffered_ms = 0.0
        self.buffered_voiced_ms = 0.0  # of it, frames loud enough to be speech
        self.mic_voiced_ms = 0.0  # the same over the whole call, for /_sim/calls
        self._speech_item_id: str | None = None
        self._transcriptions: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._turn_lock = asyncio.Lock()
        self._tool_answers: dict[str, str] = {}  # call_id -> the scripted answer to its output
        self._clock_start = asyncio.get_running_loop().time()
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
        if rms > self.settings.vad_rms:  # a muted (disabled) browser track sends pure zeros
            self.buffered_voiced_ms += frame_ms
            self.mic_voiced_ms += frame_ms
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

    def _speech_stopped(
        self, audio_end_ms: int, turn: dict, said: str | None = None
    ) -> ResponseRun | None:
        """End the speech, commit it, and start the reply VAD asks for (returned)."""
        item_id = self._speech_item_id or new_id("item")
        self.speech_segments[-1]["end_ms"] = audio_end_ms
        self.emit("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)
        self.commit(item_id, said)
        if turn.get("create_response", True) and self.active is None:
            return self.start_response()
        return None

    def clear_buffer(self) -> None:
        self.buffered_ms = self.buffered_voiced_ms = 0.0

    def commit_buffer(self) -> None:
        """``input_audio_buffer.commit``: the buffered audio becomes a user turn. The simulator
        recognises no words, so audio with speech in it says the next scripted user text, and
        audio without any says nothing, as a transcription of silence does."""
        heard = self.buffered_voiced_ms >= MIN_VOICED_MS
        self.commit(said=self.script.next_user_text() if heard else "")

    def commit(self, item_id: str | None = None, said: str | None = None) -> None:
        """Commit the buffered audio as a user item; its transcript follows asynchronously."""
        item_id = item_id or new_id("item")
        said = self.script.next_user_text() if said is None else said
        self._speech_item_id = None
        self.clear_buffer()
        previous = self.last_item_id()
        self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        entry = Entry(build.user_audio_item(item_id), "audio", said, audio_ms=speech_ms(said))
        self.add(entry, previous)
        model = sessions.transcription_model(self.session)
        if model:
            task = self.spawn(self._transcribe(item_id, said, model))
            self._transcriptions[item_id] = task

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
        if (entry := self.history.get(item_id)) is not None:
            entry.item["content"][0]["transcript"] = text
        self.emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=text,
            usage=build.transcription_usage(text, speech_ms(text)),
        )

    # --- scripted turns (/_sim/calls/{id}/turn) -----------------------------------------------

    async def play_turn(self, said: str | None, *, interrupt: bool) -> dict:
        """One user turn as if VAD had heard it, then its reply: played to the end, or cut by
        the caller speaking again (``interrupt``), whose speech the next turn continues."""
        turn = sessions.turn_detection(self.session)
        if turn is None:
            raise TurnError("turn detection is off: this session commits turns itself")
        async with self._turn_lock:
            said = said or self.script.next_user_text()
            if self._speech_item_id is None:  # an interrupting turn already started speaking
                await self._speech_started(self._audio_clock_ms(), turn)
            item_id = self._speech_item_id
            speech_end = self.speech_segments[-1]["start_ms"] + speech_ms(said)
            end_ms = max(self._audio_clock_ms(), int(speech_end + sessions.silence_ms(turn)))
            run = self._speech_stopped(end_ms, turn, said)
            if run is not None:
                await (self._barge_in(run, turn) if interrupt else self._played_out(run))
            if item_id in self._transcriptions:
                await asyncio.wait({self._transcriptions[item_id]})
            return _turn_result(item_id, said, run, self._speech_item_id)

    def _audio_clock_ms(self) -> int:
        """Milliseconds of input audio so far: the microphone streams even in silence, so this
        follows the clock, and never goes back before the last scripted speech."""
        elapsed = (asyncio.get_running_loop().time() - self._clock_start) * 1000
        ends = [segment["end_ms"] or segment["start_ms"] for segment in self.speech_segments[-1:]]
        return int(max(elapsed, self.vad.audio_ms, *ends))

    async def _played_out(self, run: ResponseRun) -> None:
        await asyncio.wait({run.task})
        if run.reporter is not None:
            await asyncio.wait({run.reporter})

    async def _barge_in(self, run: ResponseRun, turn: dict) -> None:
        await run.half_sent.wait()
        await self._speech_started(self._audio_clock_ms(), turn)

    # --- items ------------------------------------------------------------------------------

    def last_item_id(self) -> str | None:
        return self.history.last_id()

    def add(self, entry: Entry, previous_item_id: str | None) -> None:
        """Insert after ``previous_item_id`` (first when None) and announce it."""
        entry.before_first_response = not self.responses
        self.history.insert(entry, after=previous_item_id)
        item = entry.item
        self.emit("conversation.item.added", previous_item_id=previous_item_id, item=item)
        if item.get("status") != "in_progress":
            self.emit("conversation.item.done", previous_item_id=previous_item_id, item=item)

    # --- responses --------------------------------------------------------------------------

    def start_response(self, modalities: list | None = None) -> ResponseRun:
        previous = self.last_item_id()
        tool_call = self._scripted_call(previous)
        run = ResponseRun(
            text="" if tool_call else self._reply_to(previous),
            previous_item_id=previous,
            modalities=modalities or sessions.output_modalities(self.session),
            tool_call=tool_call,
        )
        self.responses[run.id] = run
        self.active = run
        run.task = self.spawn(self._generate(run))
        return run

    def _scripted_call(self, previous_item_id: str | None) -> dict | None:
        """A function call, when ``tool_script`` has one for the user's turn just before (and
        the session offers that tool, as a model only calls functions it was given)."""
        entry = self.history.get(previous_item_id)
        if entry is None or entry.role != "user":
            return None
        scripted = self.script.tool_call_for(entry.text)
        offered = {tool.get("name") for tool in self.session.get("tools") or []}
        if scripted is None or scripted["name"] not in offered:
            return None
        call_id = new_id("call")
        self._tool_answers[call_id] = scripted["answer"]
        arguments = json.dumps(scripted["arguments"])
        return {"name": scripted["name"], "arguments": arguments, "call_id": call_id}

    def _reply_to(self, previous_item_id: str | None) -> str:
        """The next scripted reply; one that answers a typed message quotes it, so a test can
        tell which item the model saw last; one that answers a scripted function call's output
        is that call's ``answer``, with the output in it."""
        entry = self.history.get(previous_item_id)
        if entry is not None and entry.item.get("type") == "function_call_output":
            answer = self._tool_answers.pop(entry.item.get("call_id"), None)
            if answer is not None:
                return answer.replace("{output}", entry.item.get("output", ""))
        typed = entry is not None and entry.source == "client" and entry.role == "user"
        return self.script.next_reply(to_text=entry.text if typed else None)

    async def _generate(self, run: ResponseRun) -> None:
        run.context = self.history.up_to(run.previous_item_id)
        self.emit("response.created", response=build.response(self, run))
        if run.tool_call:
            await self._call_function(run)
            return
        item = build.assistant_item(run, "in_progress", [])
        self.emit("response.output_item.added", response_id=run.id, output_index=0, item=item)
        self.add(Entry(item, "model", run.text), run.previous_item_id)
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
        run.playback = playback = await self.track.speak(
            run.text,
            voice=sessions.voice(self.session),
            speed=sessions.speed(self.session),
            engine=self.settings.synth,
        )
        run.reporter = self.spawn(self._report_playback_end(run))
        await asyncio.wait({playback.started, playback.finished}, return_when="FIRST_COMPLETED")
        self.emit("output_audio_buffer.started", response_id=run.id)
        # Transcript deltas follow the audio: each word is sent as playback reaches it.
        offsets = _word_offsets(run.text, playback.duration_ms)
        for index, (offset_ms, piece) in enumerate(offsets):
            await playback.reached(offset_ms)
            self.emit("response.output_audio_transcript.delta", **build.part_ref(run), delta=piece)
            _mark_progress(run, index, len(offsets))

    async def _call_function(self, run: ResponseRun) -> None:
        """A function call's events, as the model streams one: the item, its arguments in
        pieces, then done; the client answers with a function_call_output and response.create."""
        item = build.function_call_item(run, "in_progress", "")
        self.emit("response.output_item.added", response_id=run.id, output_index=0, item=item)
        self.add(Entry(item, "model", None), run.previous_item_id)
        pieces = tokens(run.tool_call["arguments"])
        for index, piece in enumerate(pieces):
            await asyncio.sleep(1 / self.settings.llm_tokens_per_s)
            ref = build.function_ref(run)
            self.emit("response.function_call_arguments.delta", **ref, delta=piece)
            _mark_progress(run, index, len(pieces))
        self.finish(run, "completed")

    async def _report_playback_end(self, run: ResponseRun) -> None:
        if await run.playback.finished:  # cleared playbacks are reported by interrupt()/clear()
            self.emit("output_audio_buffer.stopped", response_id=run.id)

    async def _write_text(self, run: ResponseRun) -> None:
        pieces = tokens(run.text)
        for index, piece in enumerate(pieces):
            await asyncio.sleep(1 / self.settings.llm_tokens_per_s)
            self.emit("response.output_text.delta", **build.part_ref(run), delta=piece)
            _mark_progress(run, index, len(pieces))

    def finish(self, run: ResponseRun, status: str, details: dict | None = None) -> None:
        """Close a response. An interrupted one still reports its whole generated transcript."""
        run.status = status
        run.half_sent.set()
        if run.tool_call:
            self._finish_call(run, details)
            return
        ref = build.part_ref(run)
        if run.audio:
            self.emit("response.output_audio_transcript.done", **ref, transcript=run.text)
            self.emit("response.output_audio.done", **ref)
        else:
            self.emit("response.output_text.done", **ref, text=run.text)
        part = build.content_part(run, run.text)
        self.emit("response.content_part.done", **ref, part=part)
        item = build.assistant_item(
            run, "completed" if status == "completed" else "incomplete", [build.item_part(run)]
        )
        self._record_reply(run, item)
        self.emit("response.output_item.done", response_id=run.id, output_index=0, item=item)
        self.emit("conversation.item.done", previous_item_id=run.previous_item_id, item=item)
        usage = build.response_usage(self, run)
        self.emit("response.done", response=build.response(self, run, details, [item], usage))
        if self.active is run:
            self.active = None

    def _finish_call(self, run: ResponseRun, details: dict | None) -> None:
        """Close a function call's response; an interrupted one still reports its arguments
        (OpenAI: `.done` is "also emitted when a Response is interrupted")."""
        arguments = run.tool_call["arguments"]
        self.emit(
            "response.function_call_arguments.done",
            **build.function_ref(run),
            name=run.tool_call["name"],
            arguments=arguments,
        )
        status = "completed" if run.status == "completed" else "incomplete"
        item = build.function_call_item(run, status, arguments)
        if (entry := self.history.get(run.item_id)) is not None:
            entry.item = item
        self.emit("response.output_item.done", response_id=run.id, output_index=0, item=item)
        self.emit("conversation.item.done", previous_item_id=run.previous_item_id, item=item)
        usage = build.response_usage(self, run)
        self.emit("response.done", response=build.response(self, run, details, [item], usage))
        if self.active is run:
            self.active = None

    def _record_reply(self, run: ResponseRun, item: dict) -> None:
        entry = self.history.get(run.item_id)
        if entry is not None:  # unless the client deleted it meanwhile
            entry.item = item
            entry.audio_ms = run.playback.duration_ms if run.playback else 0.0

    async def cancel(self, run: ResponseRun, reason: str) -> None:
        if run.status != "in_progress":
            return
        run.task.cancel()
        await asyncio.wait({run.task})
        self.finish(run, "cancelled", {"type": "cancelled", "reason": reason})

    def clear_audio(self) -> list[ResponseRun]:
        """Cut queued audio; returns the responses whose audio was cut."""
        cut = self.track.clear()
        return [run for run in self.responses.values() if run.playback in cut]

    async def interrupt(self, reason: str) -> None:
        """Barge-in: stop generating, then cut the audio still queued (even if generation had
        already completed, which is why ``cleared`` is the reliable "cut off" signal). The
        server truncates the item where playback stopped, as it does over WebRTC."""
        if self.active is not None:
            await self.cancel(self.active, reason)
        for run in self.clear_audio():
            self.emit("output_audio_buffer.cleared", response_id=run.id)
            self.emit(
                "conversation.item.truncated",
                item_id=run.item_id,
                content_index=0,
                audio_end_ms=int(run.playback.played_ms),
            )

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


def _mark_progress(run: ResponseRun, index: int, count: int) -> None:
    if index + 1 >= max(1, count // 2):
        run.half_sent.set()


def _turn_result(item_id: str, said: str, run: ResponseRun | None, next_item_id) -> dict:
    return {
        "item_id": item_id,
        "transcript": said,
        "response_id": run.id if run else None,
        "response_status": run.status if run else None,
        "interrupted_by_item_id": next_item_id,
    }


def _word_offsets(text: str, duration_ms: float) -> list[tuple[float, str]]:
    """When each word starts, spreading the words over the audio by their length in letters."""
    pieces = tokens(text)
    total = sum(len(piece) for piece in pieces) or 1
    offsets, position = [], 0
    for piece in pieces:
        offsets.append((duration_ms * position / total, piece))
        position += len(piece)
    return offsets
