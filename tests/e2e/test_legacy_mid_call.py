"""What happens to a Legacy call mid-way: another microphone, a network error, the browser's
own recognition failing."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.hooks import MICROPHONE, PAGE_LOG, page_log
from tests.waiting import wait_for
from voice.models import Call, Message
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RING_LEVEL = "parseFloat(document.querySelector('#level-ring').style.getPropertyValue('--level'))"


def legacy_page(context, user):
    preference_update(user=user, mode="legacy")
    context.add_init_script(PAGE_LOG)
    context.add_init_script(MICROPHONE)
    page = context.new_page()
    log_in(page, user.username)
    expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")
    return page


def test_switching_the_microphone_keeps_mute_and_the_meter_follows_the_new_one(
    calm_context, user, upstream
):
    page = legacy_page(calm_context, user)
    status = page.get_by_test_id("call-status")
    mute = page.get_by_test_id("call-mute")
    page.get_by_test_id("call-start").click()
    expect(status).to_have_text("listening", timeout=15_000)
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")

    page.select_option("#mic-picker", label="Fake Audio Input 1")

    page.wait_for_function("window.__mic.streams.length === 2")
    page.wait_for_function("window.__mic.liveTracks() === 1")  # the old microphone is released
    assert page.evaluate("window.__mic.streams[1].getAudioTracks()[0].enabled") is False
    expect(mute).to_have_attribute("aria-pressed", "true")

    mute.click()
    assert page.evaluate("window.__mic.streams[1].getAudioTracks()[0].enabled") is True
    # The caller speaks into the new microphone: the ring moves with it (a meter left on the
    # old, stopped microphone reads silence for ever).
    page.wait_for_function(f"{RING_LEVEL} > 0.02", timeout=15_000)
    page.get_by_test_id("call-end").click()
    expect(status).to_have_text("ended")
    assert page_log(page)["error"] == []


def flaky(attempts: dict, name: str, failures: int):
    """A route handler: the first `failures` requests fail as on a dropped network."""

    def handle(route):
        attempts[name] += 1
        if attempts[name] <= failures:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    return handle


def test_a_network_error_keeps_the_turn_and_retries_it_visibly(calm_context, user, upstream):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=80, tts_ttfb_ms=50, chat_sentences=1
    )
    page = legacy_page(calm_context, user)
    attempts = {"transcriptions": 0, "replies": 0}
    page.route("**/api/legacy/transcriptions", flaky(attempts, "transcriptions", 2))
    page.route("**/api/legacy/replies", flaky(attempts, "replies", 1))
    status = page.get_by_test_id("call-status")

    page.get_by_test_id("call-start").click()

    assistant_item = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(assistant_item).to_contain_text(re.compile(r"\w"), timeout=30_000)
    expect(status).to_have_text("listening", timeout=30_000)  # the reply was spoken
    expect(page.locator("#call-notice")).to_be_hidden()
    page.get_by_test_id("call-end").click()
    expect(status).to_have_text("ended")

    call = Call.objects.get(user=user)
    # The page says "ended" at once; the server ends the call once the page has flushed what
    # it heard (seen in CI: read before that, the reply was not saved yet).
    wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)
    messages = list(Message.objects.filter(call=call).order_by("created_at"))
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].text
    assert attempts == {"transcriptions": 3, "replies": 2}
    # Each step reached OpenAI once: the words were not transcribed twice.
    assert len(upstream.requests("/v1/audio/transcriptions")) == 1
    assert len(upstream.requests("/v1/chat/completions")) == 1
    log = page_log(page)
    assert any("retrying" in notice for notice in log["notice"]), log
    assert "error" not in log["status"]


# Headless Chromium has no speech service: this stand-in fails the way Chrome's does when the
# microphone is refused or its service is out of reach, then ends, as Chrome does.
FAILING_RECOGNITION = """
window.__recognition = { starts: 0, ended: 0 };
window.SpeechRecognition = class {
  start() {
    window.__recognition.starts += 1;
    setTimeout(() => {
      this.onerror?.({ error: window.__recognitionError });
      this.onend?.();
      window.__recognition.ended += 1;
    }, 200);
  }
  abort() {}
};
"""


@pytest.mark.parametrize("error", ["not-allowed", "network"])
def test_a_speech_recognition_error_stops_with_a_message_instead_of_restarting(
    context, user, upstream, error
):
    context.add_init_script(f"window.__recognitionError = {error!r};" + FAILING_RECOGNITION)
    page = legacy_page(context, user)
    page.select_option("#stt-picker", "browser")

    page.get_by_test_id("call-start").click()

    expect(page.get_by_test_id("call-error")).to_contain_text("Server recognition")
    expect(page.get_by_test_id("call-status")).to_have_text("error")
    expect(page.get_by_test_id("call-retry")).to_be_visible()
    page.wait_for_function("window.__recognition.ended === 1")  # its end came, and went unheeded
    assert page.evaluate("window.__recognition.starts") == 1
    page.wait_for_function("window.__mic.liveTracks() === 0")
    call = Call.objects.get(user=user)
    assert wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)
