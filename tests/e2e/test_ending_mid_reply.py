"""A call that ends while the assistant is still talking (End pressed, the page reloaded or
closed, the connection lost) keeps the reply as far as the caller heard it, marked
interrupted, after the words that asked for it: never dropped (two user turns in a row) and
never whole, as if heard."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import SERVER_KEY
from tests.e2e.conftest import log_in
from tests.waiting import wait_for
from voice.models import Call, Message
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Long enough to be still playing when the caller leaves.
LONG_REPLY = (
    "Yes, I can hear you clearly. It is a fine day for a chat, so ask me anything at all "
    "and I will do my best to give you a short and useful answer about it."
)
WAYS_TO_LEAVE = ["end", "reload", "close"]
ENDED_REASONS = {
    "end": "user",
    "reload": "page_closed",
    "close": "page_closed",
    "lost": "channel_closed",
}


def open_call_page(context, user, mode: str):
    preference_update(user=user, mode=mode)
    page = context.new_page()
    log_in(page, user.username)
    expect(page.get_by_test_id("voice-mode")).to_have_value(mode)
    return page


def item(page, role: str):
    return page.locator(f"[data-testid=transcript-item][data-role={role}]").first


def leave(page, how: str) -> None:
    if how == "end":
        page.get_by_test_id("call-end").click()
        expect(page.get_by_test_id("call-status")).to_have_text("ended")
    elif how == "reload":
        page.reload()
    else:
        page.close()


def saved_transcript(page, call: Call, how: str) -> list[dict]:
    """The call's transcript through the API, once the call has ended."""
    wait_for(lambda: not Call.objects.get(pk=call.pk).is_live)
    call.refresh_from_db()
    assert call.ended_reason == ENDED_REASONS[how]
    wait_for(lambda: Message.objects.filter(call=call, role="assistant", interrupted=True))
    return page.context.request.get(f"/api/calls/{call.id}").json()["transcript"]


def assert_cut_as_heard(transcript: list[dict], whole: str) -> dict:
    assert [entry["role"] for entry in transcript] == ["user", "assistant"], transcript
    words, reply = transcript
    assert words["text"]
    assert reply["previous_item_id"] == words["item_id"]  # the reply follows its question
    assert reply["interrupted"] is True
    assert whole.startswith(reply["text"]) and len(reply["text"]) < len(whole.rstrip())
    return reply


@pytest.mark.parametrize("how", WAYS_TO_LEAVE)
def test_realtime_leaving_mid_reply_keeps_the_reply_as_heard(calm_context, user, upstream, how):
    upstream.configure(assistant_texts=[LONG_REPLY])
    page = open_call_page(calm_context, user, "realtime")
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text("speaking", timeout=20_000)
    expect(item(page, "user")).to_contain_text(re.compile(r"\w"))  # transcribed
    expect(item(page, "assistant")).to_contain_text("hear you")  # a second of it was heard
    call = Call.objects.get(user=user)

    leave(page, how)

    reply = assert_cut_as_heard(saved_transcript(page, call, how), LONG_REPLY)
    assert reply["text"].startswith("Yes, I can")
    if how == "end":  # saved before the call's record was closed
        message = Message.objects.get(call=call, item_id=reply["item_id"])
        assert message.updated_at <= Call.objects.get(pk=call.pk).ended_at


def test_realtime_a_connection_lost_mid_reply_keeps_the_reply_as_heard(
    calm_context, user, upstream
):
    upstream.configure(assistant_texts=[LONG_REPLY])
    page = open_call_page(calm_context, user, "realtime")
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text("speaking", timeout=20_000)
    expect(item(page, "user")).to_contain_text(re.compile(r"\w"))
    expect(item(page, "assistant")).to_contain_text("hear you")
    call = Call.objects.get(user=user)

    # The media connection drops without our server knowing (OpenAI's side goes away).
    httpx.post(
        f"{upstream.base_url}/realtime/calls/{call.upstream_call_id}/hangup",
        headers={"Authorization": f"Bearer {SERVER_KEY}"},
    ).raise_for_status()

    expect(page.get_by_test_id("call-error")).to_contain_text("disconnected")
    reply = assert_cut_as_heard(saved_transcript(page, call, "lost"), LONG_REPLY)
    assert reply["text"].startswith("Yes, I can")


@pytest.mark.parametrize("how", WAYS_TO_LEAVE)
def test_legacy_leaving_mid_reply_keeps_the_reply_as_heard(calm_context, user, upstream, how):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=50, llm_tokens_per_s=200, tts_ttfb_ms=50, chat_sentences=5
    )
    page = open_call_page(calm_context, user, "legacy")
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text("speaking", timeout=20_000)
    call = Call.objects.get(user=user)
    # The reply streamed faster than it is spoken: the server already holds all of it.
    whole = wait_for(lambda: Message.objects.filter(call=call, role="assistant").first()).text

    leave(page, how)

    reply = assert_cut_as_heard(saved_transcript(page, call, how), whole)
    if how == "end":
        heard = item(page, "assistant").locator(".text").inner_text().strip()
        assert reply["text"] == heard  # what the page showed as heard is what was kept
        message = Message.objects.get(call=call, item_id=reply["item_id"])
        assert message.updated_at <= Call.objects.get(pk=call.pk).ended_at
