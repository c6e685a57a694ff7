"""Tools in a Realtime call through the page (issue 15): the assistant searches the caller's
own conversations and answers with what it found, and `end_call` ends the call after the
goodbye. The call monitor (a process beside daphne) answers the function calls on the sideband;
the caller's turns are played by the simulator while the page's microphone stays silent, so
each turn starts exactly when the test says."""

import struct
import wave

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import launch, log_in, new_context
from tests.e2e.test_realtime_call import status
from tests.factories import make_earlier_conversation, make_user
from tests.waiting import wait_for
from voice.models import Call, CallLease, Message
from voice.selectors import messages_in_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GOODBYE = "Goodbye, and good luck with the flat."
SCRIPT = [
    {"match": "lease", "name": "search_conversations", "arguments": {"query": "lease"},
     "answer": "Here is what I found. {output}"},
    {"match": "goodbye", "name": "end_call", "answer": GOODBYE},
]  # fmt: skip


@pytest.fixture(scope="module")
def silent_browser(playwright, tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "silence.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(struct.pack("<16000h", *[0] * 16_000))
    browser = launch(playwright, path)
    yield browser
    browser.close()


def play_turn(upstream, call: Call, text: str) -> dict:
    url = f"{upstream.root}/_sim/calls/{call.upstream_call_id}/turn"
    response = httpx.post(url, json={"text": text}, timeout=30)
    response.raise_for_status()
    return response.json()


def played_out(upstream, call: Call) -> bool:
    """The answer's audio played to its end (the only audio yet: a function call has none)."""
    found = next((c for c in upstream.calls() if c["id"] == call.upstream_call_id), None)
    return found is not None and "output_audio_buffer.stopped" in found["event_types"]


def saved(call: Call, count: int) -> list[Message] | None:
    messages = messages_in_order(Message.objects.filter(call=call))
    complete = len(messages) >= count and all(m.text for m in messages)
    return messages if complete and all(m.tool is None or m.tool["ok"] for m in messages) else None


def test_the_assistant_searches_past_conversations_answers_and_ends_the_call_after_goodbye(
    call_monitor, silent_browser, asgi_server, user, upstream
):
    make_earlier_conversation(user, "The lease ends in June.", title="Flat hunting")
    make_earlier_conversation(make_user("mallory"), "My lease is a secret.")
    upstream.configure(tool_script=SCRIPT)
    context = new_context(silent_browser, asgi_server)
    page = context.new_page()
    log_in(page, user.username)
    expect(page.locator(".call-bar[data-mode]")).to_be_attached()  # the page's script runs
    page.click("#new-conversation")  # not the earlier one
    expect(page.locator("#conversation-title")).to_have_text("New conversation")

    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("listening", timeout=15_000)
    call = Call.objects.get(user=user, status__in=Call.LIVE_STATUSES)
    wait_for(lambda: CallLease.objects.filter(call=call, owner="e2e").exists())

    play_turn(upstream, call, "What did we say about the lease?")
    line = page.get_by_test_id("transcript-tool").first
    expect(line).to_have_text("Searched your conversations for 'lease'", timeout=15_000)
    answer = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(answer).to_contain_text("The lease ends in June.", timeout=20_000)
    wait_for(lambda: played_out(upstream, call), seconds=30)  # before the caller speaks again
    play_turn(upstream, call, "Thank you, goodbye!")

    over = wait_for(lambda: Call.objects.filter(pk=call.pk, status="ended").first(), 30)
    assert over.ended_reason == "assistant"
    expect(status(page)).to_have_text("ended", timeout=30_000)
    expect(page.locator("#call-notice")).to_contain_text("The assistant ended the call.")
    messages = wait_for(lambda: saved(call, 6), seconds=15)
    assert [m.role for m in messages] == ["user", "tool", "assistant", "user", "tool", "assistant"]
    found, goodbye = messages[2], messages[5]
    assert "The lease ends in June." in found.text and "secret" not in found.text
    assert not found.interrupted
    assert messages[1].tool == {
        "name": "search_conversations",
        "arguments": {"query": "lease"},
        "ok": True,
    }
    assert (messages[4].text, messages[4].tool["name"]) == ("Ended the call", "end_call")
    assert (goodbye.text, goodbye.interrupted) == (GOODBYE, False)  # heard whole, then ended
    # The hangup goes upstream after the end is recorded (in the background): wait for it.
    hangup = f"/v1/realtime/calls/{call.upstream_call_id}/hangup"
    wait_for(lambda: upstream.requests(hangup), seconds=15)

    detail = page.request.get(f"/api/calls/{call.id}").json()
    assert [(i["role"], i["tool"]) for i in detail["transcript"]][:2] == [
        ("user", None),
        ("tool", messages[1].tool),
    ]
    page.reload()
    expect(page.get_by_test_id("transcript-tool")).to_have_count(2)
    expect(page.get_by_test_id("transcript-item")).to_have_count(4)
    context.close()
