"""The server owns a Realtime call whatever the browser does (issue 10): with the call monitor
running beside daphne, a page that dies mid-conversation loses nothing, and a call past the
admin's longest call is hung up with the page told why."""

import contextlib
import os
import signal
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import launch, log_in, new_context
from tests.e2e.test_realtime_call import LONG_REPLY, status
from tests.waiting import wait_for
from voice.models import Call, CallLease, Message
from voice.selectors import messages_in_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def simulated(upstream, call: Call) -> dict | None:
    return next((c for c in upstream.calls() if c["id"] == call.upstream_call_id), None)


def produced_messages(upstream, call: Call) -> list[dict]:
    found = simulated(upstream, call) or {"items": []}
    return [item for item in found["items"] if item["type"] == "message"]


def watched(call: Call) -> bool:
    return CallLease.objects.filter(call=call, owner="e2e").exists()


def kill_browser(marker: str) -> None:
    """SIGKILL the browser launched with `marker` on its command line, as a crash or a killed
    laptop would: no unload handler runs, no keepalive request leaves, WebRTC just goes quiet.
    Only that browser: the marker is unique to this test."""
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # not a process, or gone meanwhile
        if marker.encode() in arguments and not any(a.startswith(b"--type=") for a in arguments):
            os.kill(int(entry.name), signal.SIGKILL)


def test_a_browser_killed_mid_conversation_loses_nothing(
    call_monitor, playwright, speech_wav, asgi_server, user, upstream
):
    upstream.configure(assistant_texts=[LONG_REPLY, "Sure, I stopped. Go ahead."])
    marker = f"--voice-test-browser={uuid.uuid4().hex}"
    browser = launch(playwright, speech_wav, marker)
    page = new_context(browser, asgi_server).new_page()
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("listening", timeout=15_000)
    call = Call.objects.get(user=user)
    wait_for(lambda: watched(call))

    # The caller asked, the reply began, and the caller talked over it: then the browser dies.
    wait_for(lambda: len(produced_messages(upstream, call)) >= 3, seconds=30)
    kill_browser(marker)
    with contextlib.suppress(Exception):  # Playwright only learns its browser is gone
        browser.close()

    # OpenAI ends a call whose peer went silent (the simulator: when ICE consent fails).
    ended = wait_for(lambda: Call.objects.filter(pk=call.pk, status="ended").first(), 90)
    assert ended.ended_reason == "upstream_ended"
    produced = produced_messages(upstream, call)

    def all_saved():
        messages = messages_in_order(Message.objects.filter(conversation=call.conversation))
        return messages if len(messages) >= len(produced) else None

    messages = wait_for(all_saved, seconds=15)
    assert [(m.item_id, m.role) for m in messages] == [(i["id"], i["role"]) for i in produced]
    assert Message.objects.filter(conversation=call.conversation).count() == len(produced)
    first_reply = messages[1]
    assert first_reply.role == "assistant" and first_reply.interrupted
    assert LONG_REPLY.startswith(first_reply.text) and first_reply.text != LONG_REPLY
    assert messages[0].text  # the caller's words, transcribed and saved by the server


def test_a_call_past_the_longest_call_is_hung_up_and_the_page_says_why(
    call_monitor, calm_context, user, upstream
):
    page = calm_context.new_page()
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("listening", timeout=15_000)
    call = Call.objects.get(user=user)
    wait_for(lambda: watched(call))
    wait_for(lambda: Call.objects.get(pk=call.pk).status == "active")

    # As if it had run for 31 minutes, past the admin's longest call of 30.
    Call.objects.filter(pk=call.pk).update(connected_at=timezone.now() - timedelta(minutes=31))

    expect(status(page)).to_have_text("ended", timeout=15_000)
    expect(page.locator("#call-notice")).to_contain_text("longest call")
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    call.refresh_from_db()
    assert (call.status, call.ended_reason) == ("ended", "max_duration")
    # The end is pushed once committed; the hangup follows it, with the call's own key.
    wait_for(lambda: upstream.requests(f"/v1/realtime/calls/{call.upstream_call_id}/hangup"))
