"""A real Realtime call through the page: Chromium ⇄ WebRTC ⇄ the simulator, with the
transcript shown live, saved through the API, and still there after a reload."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import SERVER_KEY
from tests.waiting import wait_for
from voice.models import Call, Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Long enough that the caller's second utterance lands while it is still being spoken.
LONG_REPLY = (
    "Yes, I can hear you clearly. It is a fine day for a chat, so ask me anything at all "
    "and I will do my best to give you a short and useful answer."
)


def status(page):
    return page.get_by_test_id("call-status")


def test_a_call_shows_live_transcripts_barge_in_and_keeps_them(page, upstream, user):
    upstream.configure(assistant_texts=[LONG_REPLY, "Sure, I stopped. Go ahead."])

    page.get_by_test_id("call-start").click()

    expect(status(page)).to_have_text("listening", timeout=15_000)
    user_item = page.locator("[data-testid=transcript-item][data-role=user]").first
    assistant_item = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(assistant_item).to_contain_text("Yes, I can hear you", timeout=15_000)
    expect(status(page)).to_have_text("speaking")
    expect(user_item).not_to_be_empty()
    # The caller talks over the reply: the simulator cuts it off, the page says so.
    expect(status(page)).to_have_text("interrupted", timeout=15_000)
    expect(assistant_item).to_have_attribute("data-interrupted", "true")
    page.screenshot(path=str(_artifact("realtime-call.png")))

    page.get_by_test_id("call-end").click()
    expect(status(page)).to_have_text("ended")

    # The page says "ended" at once; the end request follows the transcript's flush.
    call = wait_for(lambda: Call.objects.filter(user=user, status="ended").first())
    detail = page.request.get(f"/api/calls/{call.id}").json()
    assert detail["status"] == "ended"
    roles = [item["role"] for item in detail["transcript"]]
    assert roles[:2] == ["user", "assistant"], detail["transcript"]
    assert detail["transcript"][1]["interrupted"] is True
    assert detail["transcript"][0]["text"]  # the simulator's transcription of the caller
    assert upstream.requests(f"/v1/realtime/calls/{call.upstream_call_id}/hangup")

    page.reload()
    items = page.locator("[data-testid=transcript-item]")
    expect(items.first).to_have_attribute("data-role", "user")
    expect(items.nth(1)).to_have_attribute("data-interrupted", "true")
    assert items.count() == Message.objects.filter(call=call).count()


def test_a_rejected_key_shows_the_message_and_retry_works_once_fixed(page, upstream, user):
    from voice.services.keys import api_key_set

    api_key_set(user=user, api_key="sk-fail-auth-0000000000000000000")

    page.get_by_test_id("call-start").click()

    expect(status(page)).to_have_text("error")
    expect(page.get_by_test_id("call-error")).to_contain_text("OpenAI rejected the API key")
    expect(page.get_by_test_id("call-retry")).to_be_visible()
    assert Call.objects.get(user=user).status == Call.Status.FAILED

    api_key_set(user=user, api_key=SERVER_KEY)
    page.get_by_test_id("call-retry").click()

    expect(status(page)).to_have_text(re.compile("listening|speaking"), timeout=15_000)
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    page.get_by_test_id("call-end").click()
    expect(status(page)).to_have_text("ended")


def test_without_webrtc_the_page_says_so_and_offers_legacy(context, user, upstream):
    from tests.e2e.conftest import log_in

    context.add_init_script("delete window.RTCPeerConnection;")
    page = context.new_page()
    log_in(page, user.username)

    expect(page.get_by_test_id("call-error")).to_contain_text("cannot place Realtime")
    expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")
    expect(page.locator('[data-testid=voice-mode] option[value="realtime"]')).to_be_disabled()


def test_with_no_key_anywhere_realtime_is_disabled_until_the_user_adds_one(
    context, user, asgi_server
):
    from tests.e2e.conftest import log_in
    from voice.models import KeyPolicy
    from voice.selectors import voice_config_get

    config = voice_config_get()
    config.key_policy = KeyPolicy.USER  # the server key may not pay, and the user has none
    config.save()
    page = context.new_page()
    log_in(page, user.username)

    expect(page.locator('[data-testid=voice-mode] option[value="realtime"]')).to_be_disabled()
    expect(page.locator("#mode-hint")).to_contain_text("No OpenAI key is set up for you")
    expect(page.get_by_test_id("call-start")).to_be_disabled()

    # The user adds their own key from the page: both modes become available at once.
    page.click("#key-open")
    page.fill("#key-input", "sk-user-own-key-abcdefghijklmnop1234")
    page.click("#key-save")
    expect(page.locator("#key-status")).to_have_text("Saved: sk-…1234")
    expect(page.locator('[data-testid=voice-mode] option[value="realtime"]')).to_be_enabled()
    expect(page.get_by_test_id("call-start")).to_be_enabled()
    assert "abcdefghijklmnop" not in page.content()


def _artifact(name: str):
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_a_call_ended_elsewhere_ends_here_without_an_error(page, upstream, user):
    page.get_by_test_id("call-start").click()
    expect(status(page)).to_have_text("listening", timeout=15_000)
    call = Call.objects.get(user=user)

    # Ended from another device: OpenAI hangs up on this page and the status push arrives;
    # whichever comes first, this is an ending, not an error.
    ended = page.request.post(
        f"/api/calls/{call.id}/end",
        data={"reason": "other_tab"},
        headers={"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")},
    )

    assert ended.ok
    expect(status(page)).to_have_text("ended")
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    expect(page.locator("#call-notice")).to_contain_text("ended from another tab")
