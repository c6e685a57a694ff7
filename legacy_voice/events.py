"""What a Legacy reply says as it streams, as typed events: the service yields them and knows
nothing of the wire; the view turns each into one server-sent event (`apis.sse_event`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplyStart:
    """The reply has started: the ids the caller's words and the reply are saved under."""

    user_item_id: str
    item_id: str


@dataclass(frozen=True)
class ReplyDelta:
    """The next piece of the reply's text, to show and to speak as soon as it arrives."""

    text: str


@dataclass(frozen=True)
class ReplyToolCall:
    """A tool the model called has run: `line` is the readable line the page shows, saved as
    the transcript item `item_id` (None when the call was refused before it was recorded)."""

    line: str
    name: str
    ok: bool
    item_id: str | None


@dataclass(frozen=True)
class ReplyDone:
    """The whole reply. `incomplete` and `notice` say when the model did not finish it;
    `end_call` when the assistant ended the call (the `end_call` tool), so the page hangs
    up once the reply has been spoken."""

    message_id: str
    text: str
    finish_reason: str | None
    incomplete: bool
    notice: str | None
    end_call: bool = False


@dataclass(frozen=True)
class ReplyError:
    """OpenAI failed mid-reply; `code` is from the error vocabulary (`voice.errors`)."""

    code: str
    message: str


ReplyEvent = ReplyStart | ReplyDelta | ReplyToolCall | ReplyDone | ReplyError
