"""The function calls of a Realtime call, answered by the call monitor on the sideband
(docs/openai-realtime.md §3: the sideband "handles tool calls"), so tools and keys stay on the
server.

A function call is answered once the response that made it is done (`response.done`, status
`completed`): only then may a new response be asked for, and `response.done` lists every call
the response made (models may make several at once). Each runs through `tool_call_run`, off
this event loop's way (a task per response), so the call's other events keep being saved while
a tool works. Then each output goes back as a `function_call_output` item, followed by one
`response.create`. The output item takes the id of the tool's transcript line, so the reply
that follows it is saved after that line (its `previous_item_id`).

`end_call`: its output says the call is ending; the reply to it is the assistant's goodbye. The
call ends (reason `assistant`) once that goodbye has been heard: over WebRTC OpenAI plays the
audio and reports `output_audio_buffer.stopped` (or `.cleared`, when the caller talked over it)
for the response, which is the signal used. As a fallback for a deployment or a moment that
misses that event, the end comes at the latest when the goodbye's audio would have finished
playing, estimated from its transcript at the page's speaking rate (`response.done` comes
when generation ends, which is faster than real time, so it alone would cut the goodbye off),
plus a little grace; and if no goodbye starts at all, a few seconds after it was asked for.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from websockets.exceptions import WebSocketException

from voice.models import Call, EndReason
from voice.services.tool_calls import (
    ToolOutcome,
    call_ending_asked,
    tool_call_run,
    tool_item_id,
)

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

SPOKEN_CHARS_PER_SECOND = 15  # as the page and the transcriber estimate speech
GOODBYE_START_S = 10.0  # the goodbye response must begin within this
GOODBYE_GRACE_S = 1.5  # after its estimated end, for the audio still in flight
GOODBYE_LONGEST_S = 30.0


@dataclass
class _Goodbye:
    """The reply that follows `end_call`'s output, from `response.create` until it was heard."""

    deadline: float
    response_id: str | None = None
    heard: bool = False
    news: asyncio.Event = field(default_factory=asyncio.Event)  # heard, or a new deadline

    def hear(self) -> None:
        self.heard = True
        self.news.set()

    def reschedule(self, deadline: float) -> None:
        self.deadline = deadline
        self.news.set()


class FunctionCalls:
    """One call's function calls: `feed` every sideband event; `deliver_to` after each join;
    `ended()` returns `assistant` once the call should end; `close()` when it is over."""

    def __init__(self, *, call: Call, previous_of: Callable[[str], str | None]) -> None:
        self.call = call
        self._previous_of = previous_of  # an item's previous_item_id, as the sideband said
        self._send: Send | None = None
        self._unsent: list[dict[str, Any]] = []  # for the next join, when the sideband was down
        self._answered: set[str] = set()  # call_ids
        self._line_of: dict[str, str] = {}  # function_call item id -> its transcript line's id
        self._tasks: set[asyncio.Task[None]] = set()
        self._goodbye: _Goodbye | None = None
        self._end = asyncio.Event()
        self._resumed = False

    async def deliver_to(self, send: Send) -> None:
        """A (re)joined sideband: send what could not be sent before. The first join of a call
        taken over from another worker also finds a goodbye that worker was waiting for."""
        self._send = send
        if not self._resumed:
            self._resumed = True
            if self._goodbye is None and await sync_to_async(call_ending_asked)(call=self.call):
                self._wait_for_goodbye()
        unsent, self._unsent = self._unsent, []
        for event in unsent:
            await self._deliver(event)

    @property
    def ending(self) -> bool:
        """The assistant asked to end the call: it ends after the goodbye."""
        return self._goodbye is not None

    async def ended(self) -> str:
        await self._end.wait()
        return EndReason.ASSISTANT

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "response.done":
            self._on_response_done(event.get("response") or {})
        elif self._goodbye is not None:
            self._follow_goodbye(kind, event)

    async def close(self) -> None:
        """The call is over: tools still running are stopped (each records its failure)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- function calls ---------------------------------------------------------------------

    def _on_response_done(self, response: dict[str, Any]) -> None:
        if self._goodbye is not None and response.get("id") == self._goodbye.response_id:
            self._goodbye_generated(response)
        if response.get("status") != "completed":
            return  # cut off (the caller spoke): the model answers the new turn instead
        calls = [
            output
            for output in response.get("output") or []
            if output.get("type") == "function_call"
            and output.get("status", "completed") == "completed"
            and isinstance(output.get("call_id"), str)
            and output["call_id"] not in self._answered
        ]
        if calls:
            self._answered.update(c["call_id"] for c in calls)
            self._spawn(self._answer(calls))

    async def _answer(self, calls: list[dict[str, Any]]) -> None:
        for c in calls:  # parallel calls chain: each line after the one before it
            self._line_of[c.get("id", "")] = tool_item_id(call=self.call, call_id=c["call_id"])
        outcomes = await asyncio.gather(*(self._run(c) for c in calls))
        for c, outcome in zip(calls, outcomes, strict=True):
            item = {"type": "function_call_output", "call_id": c["call_id"]}
            item["output"] = outcome.output
            if outcome.item_id:
                item["id"] = outcome.item_id
            await self._deliver({"type": "conversation.item.create", "item": item})
        if any(outcome.ends_call for outcome in outcomes):
            self._wait_for_goodbye()
        await self._deliver({"type": "response.create"})

    async def _run(self, function_call: dict[str, Any]) -> ToolOutcome:
        previous = self._previous_of(function_call.get("id", ""))
        arguments = function_call.get("arguments")
        try:
            return await tool_call_run(
                call=self.call,
                name=str(function_call.get("name", "")),
                arguments=arguments if isinstance(arguments, str) else "",
                call_id=function_call["call_id"],
                previous_item_id=self._line_of.get(previous or "", previous),
            )
        except Exception as exc:  # the database failed: the model must still get an answer
            logger.error("Call %s: a tool call failed (%s)", self.call.pk, type(exc).__name__)
            output = json.dumps({"ok": False, "error": "The tool could not run. Try again later."})
            return ToolOutcome(output=output, ok=False, ends_call=False, line="")

    async def _deliver(self, event: dict[str, Any]) -> None:
        if self._send is None:
            self._unsent.append(event)
            return
        try:
            await self._send(event)
        except (OSError, WebSocketException):  # the sideband dropped: sent after the rejoin
            self._unsent.append(event)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "Call %s: answering a function call failed (%s)",
                self.call.pk,
                type(task.exception()).__name__,
            )

    # --- the goodbye after end_call ---------------------------------------------------------

    def _wait_for_goodbye(self) -> None:
        self._goodbye = _Goodbye(deadline=time.monotonic() + GOODBYE_START_S)
        self._spawn(self._end_after_goodbye(self._goodbye))

    def _follow_goodbye(self, kind: str | None, event: dict[str, Any]) -> None:
        goodbye = self._goodbye
        assert goodbye is not None
        if kind == "response.created" and goodbye.response_id is None:
            goodbye.response_id = (event.get("response") or {}).get("id")
        elif (
            kind in ("output_audio_buffer.stopped", "output_audio_buffer.cleared")
            and goodbye.response_id is not None
            and event.get("response_id") == goodbye.response_id
        ):
            goodbye.hear()

    def _goodbye_generated(self, response: dict[str, Any]) -> None:
        """The goodbye is generated: it ends when heard, or by its estimated audio length."""
        goodbye = self._goodbye
        assert goodbye is not None
        spoken = "".join(
            part.get("transcript") or ""
            for output in response.get("output") or []
            for part in output.get("content") or []
            if part.get("type") in ("output_audio", "audio")
        )
        if not spoken:  # nothing to hear (text only, or nothing said)
            goodbye.hear()
            return
        playing = min(len(spoken) / SPOKEN_CHARS_PER_SECOND + GOODBYE_GRACE_S, GOODBYE_LONGEST_S)
        goodbye.reschedule(time.monotonic() + playing)

    async def _end_after_goodbye(self, goodbye: _Goodbye) -> None:
        while not goodbye.heard and (left := goodbye.deadline - time.monotonic()) > 0:
            goodbye.news.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await goodbye.news.wait()
        logger.info("Call %s: the assistant ended it after its goodbye", self.call.pk)
        self._end.set()
