"""The "Use Legacy mode" offer: made when a Realtime call fails in a way Legacy gets past, and
only where Legacy can run."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from voice.selectors import voice_config_get
from voice.services.keys import api_key_set

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_realtime_turned_off_after_the_page_loaded_offers_legacy_which_works(page, upstream):
    config = voice_config_get()
    config.realtime_enabled = False  # the administrator, while the page was open
    config.save()

    page.get_by_test_id("call-start").click()

    expect(page.get_by_test_id("call-error")).to_contain_text("turned off")
    offer = page.locator("#switch-to-legacy")
    expect(offer).to_be_visible()
    offer.click()
    expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text(
        re.compile("listening|speaking"), timeout=15_000
    )
    page.get_by_test_id("call-end").click()
    expect(page.get_by_test_id("call-status")).to_have_text("ended")


def test_a_rejected_key_does_not_offer_legacy_which_would_fail_the_same_way(page, upstream, user):
    api_key_set(user=user, api_key="sk-fail-auth-0000000000000000000")

    page.get_by_test_id("call-start").click()

    expect(page.get_by_test_id("call-error")).to_contain_text("OpenAI rejected the API key")
    expect(page.get_by_test_id("call-retry")).to_be_visible()
    expect(page.locator("#switch-to-legacy")).to_be_hidden()


def test_a_browser_that_can_run_neither_mode_is_told_so_and_offered_neither(
    context, user, upstream
):
    context.add_init_script("delete window.RTCPeerConnection; delete window.MediaRecorder;")
    page = context.new_page()
    log_in(page, user.username)

    expect(page.get_by_test_id("call-error")).to_contain_text("cannot place Realtime")
    expect(page.get_by_test_id("call-error")).not_to_contain_text("Legacy mode works here")
    expect(page.locator("#mode-hint")).to_contain_text(
        "Legacy unavailable: This browser cannot record"
    )
    expect(page.locator('[data-testid=voice-mode] option[value="legacy"]')).to_be_disabled()
    expect(page.get_by_test_id("call-start")).to_be_disabled()
