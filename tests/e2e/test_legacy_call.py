"""A hands-free Legacy call through the page: the fake mic speaks, the server transcribes
(the simulator), the reply streams in and is spoken sentence by sentence, and talking over
it cuts it off."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, log_in
from tests.waiting import wait_for
from voice.models import Call, Message
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def legacy_page(context, user):
    preference_update(user=user, mode="legacy")
    page = context.new_page()
    log_in(page, user.username)
    expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")
    return page


def test_a_full_turn_the_caller_hears_the_answer_and_the_mic_rearms(calm_context, user, upstream):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=60, tts_ttfb_ms=50, chat_sentences=2
    )
    page = legacy_page(calm_context, user)
    status = page.get_by_test_id("call-status")

    page.get_by_test_id("call-start").click()

    expect(status).to_have_text("listening", timeout=15_000)
    user_item = page.locator("[data-testid=transcript-item][data-role=user]").first
    assistant_item = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(user_item).to_contain_text(re.compile(r"\w"), timeout=15_000)
    expect(assistant_item).to_contain_text(re.compile(r"\w"))
    expect(status).to_have_text("speaking")
    expect(status).to_have_text("listening", timeout=30_000)  # the reply played; mic re-armed
    expect(assistant_item).not_to_have_attribute("data-interrupted", "true")

    page.get_by_test_id("call-end").click()
    expect(status).to_have_text("ended")
    call = Call.objects.get(user=user)
    assert call.mode == "legacy"
    # The server ends the call once the page has flushed what it heard: read after that.
    wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)
    messages = list(Message.objects.filter(call=call).order_by("created_at"))
    assert [m.role for m in messages] == ["user", "assistant"]
    assert not messages[1].interrupted
    spoken = upstream.requests("/v1/audio/speech")
    assert len(spoken) >= 2  # one request per sentence, while the reply still streamed


def test_talking_over_the_reply_cuts_it_off_and_saves_it_as_heard(context, user, upstream):
    upstream.configure(stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=40, tts_ttfb_ms=50)
    page = legacy_page(context, user)
    status = page.get_by_test_id("call-status")

    page.get_by_test_id("call-start").click()

    expect(status).to_have_text("speaking", timeout=20_000)
    expect(status).to_have_text("interrupted", timeout=20_000)
    assistant_item = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(assistant_item).to_have_attribute("data-interrupted", "true")

    heard = assistant_item.locator(".text").inner_text().strip()
    unheard = assistant_item.locator(".unheard").inner_text()
    page.screenshot(path=str(ARTIFACTS / "legacy-barge-in.png"))

    call = Call.objects.get(user=user)
    saved = wait_for(
        lambda: Message.objects.filter(call=call, role="assistant", interrupted=True).first()
    )
    assert saved.text == heard  # saved as heard…
    assert unheard.strip()  # …and the rest, streamed but never spoken, is marked
    page.get_by_test_id("call-end").click()
    expect(status).to_have_text("ended")


# Headless Chromium has no speech service and no voices: these stand-ins play the browser's
# part (the engines are the browser's; what is under test is how the page drives them). The
# result comes once the fake microphone's question is over, as a real recognizer's does: words
# still spoken over the reply would cut it.
BROWSER_ENGINES = """
window.__spoken = [];
class FakeRecognition {
  start() { if (!window.__asked) { window.__asked = true; setTimeout(() => this.onresult({
    results: [Object.assign([{ transcript: "What time is it?" }], { isFinal: true })] }), 3500); } }
  abort() {}
}
window.SpeechRecognition = FakeRecognition;
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", { value: {
  speak(u) {
    window.__spoken.push(u.text);
    setTimeout(() => u.onstart && u.onstart(), 10);
    setTimeout(() => u.onend && u.onend(), 160);
  },
  cancel() {},
}});
"""


def test_the_browsers_own_recognition_and_voice_can_replace_the_servers(
    calm_context, user, upstream
):
    upstream.configure(llm_ttft_ms=50, llm_tokens_per_s=200, chat_sentences=2)
    calm_context.add_init_script(BROWSER_ENGINES)
    page = legacy_page(calm_context, user)
    page.select_option("#stt-picker", "browser")
    page.select_option("#tts-picker", "browser")

    page.get_by_test_id("call-start").click()

    user_item = page.locator("[data-testid=transcript-item][data-role=user]").first
    expect(user_item).to_contain_text("What time is it?", timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("listening", timeout=20_000)
    page.wait_for_function("window.__spoken.length >= 2")
    assert upstream.requests("/v1/audio/transcriptions") == []
    assert upstream.requests("/v1/audio/speech") == []
    page.get_by_test_id("call-end").click()
