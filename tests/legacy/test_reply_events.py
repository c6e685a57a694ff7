"""The reply stream's wire format: each typed event the service yields is one server-sent event."""

import json

import pytest

from legacy_voice.apis import sse_event
from legacy_voice.events import ReplyDelta, ReplyDone, ReplyError, ReplyStart, ReplyToolCall


def parsed(wire: str) -> tuple[str, dict]:
    assert wire.endswith("\n\n") and wire.count("\n") == 3
    name, data = wire.removesuffix("\n\n").split("\n")
    return name.removeprefix("event: "), json.loads(data.removeprefix("data: "))


def done(**changes) -> ReplyDone:
    fields = {
        "message_id": "asst_1",
        "text": "Hello.",
        "finish_reason": "stop",
        "incomplete": False,
        "notice": None,
    }
    return ReplyDone(**{**fields, **changes})


@pytest.mark.parametrize(
    ("event", "name", "data"),
    [
        (
            ReplyStart(user_item_id="user_1", item_id="asst_1"),
            "start",
            {"user_item_id": "user_1", "item_id": "asst_1"},
        ),
        (ReplyDelta(text=' He said "hi"\n'), "delta", {"text": ' He said "hi"\n'}),
        (
            ReplyToolCall(line="Searched for 'lease'", name="x", ok=True, item_id="tool_1"),
            "tool",
            {"line": "Searched for 'lease'", "name": "x", "ok": True, "item_id": "tool_1"},
        ),
        (
            ReplyError(code="upstream_error", message="OpenAI failed."),
            "error",
            {"code": "upstream_error", "message": "OpenAI failed."},
        ),
    ],
)
def test_each_event_is_its_name_and_its_fields_as_one_json_line(event, name, data):
    assert parsed(sse_event(event)) == (name, data)


def test_done_is_as_it_always_was_when_the_call_goes_on():
    assert parsed(sse_event(done())) == (
        "done",
        {
            "message_id": "asst_1",
            "text": "Hello.",
            "finish_reason": "stop",
            "incomplete": False,
            "notice": None,
        },
    )


def test_done_says_end_call_when_the_assistant_ended_the_call():
    name, data = parsed(sse_event(done(end_call=True)))

    assert name == "done" and data["end_call"] is True


def test_text_with_newlines_stays_on_one_data_line():
    wire = sse_event(ReplyDelta(text="one\n\ntwo"))

    assert parsed(wire) == ("delta", {"text": "one\n\ntwo"})
