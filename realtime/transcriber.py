"""What the call monitor does with a Realtime call's sideband events: save the transcript and
send a continued conversation's memory. (A placeholder with the interface `realtime.sideband`
uses; the event handling itself replaces these bodies.)"""

from collections.abc import Awaitable, Callable

from voice.models import Call

Send = Callable[[dict], Awaitable[None]]  # sends one client event (a JSON object) upstream


class CallTranscriber:
    """One per watched call and worker, made when the worker starts watching the call."""

    def __init__(self, *, call: Call) -> None:
        self.call = call

    async def on_join(self, send: Send, *, first: bool) -> None:
        """Called right after each (re)connection of the sideband, before any event is read;
        `first` is True on this worker's first connection to this call."""

    async def on_event(self, event: dict) -> None:
        """Called with every server event (parsed JSON), in order."""
