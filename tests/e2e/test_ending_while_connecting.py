"""Pressing End before a call is up leaves nothing running: no call on the server or at
OpenAI, no live microphone, no error, and the next start works at once (both modes)."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.hooks import MICROPHONE, PAGE_LOG, page_log, wait_in_page
from tests.waiting import wait_for
from voice.models import Call
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MODES = ["realtime", "legacy"]


def open_call_page(context, user, mode: str):
    preference_update(user=user, mode=mode)
    context.add_init_script(PAGE_LOG)
    context.add_init_script(MICROPHONE)
    page = context.new_page()
    log_in(page, user.username)
    expect(page.get_by_test_id("voice-mode")).to_have_value(mode)
    return page


def live_microphone_tracks(page) -> int:
    return page.evaluate("window.__mic.liveTracks()")


def start_again_and_hang_up(page, user) -> Call:
    """The next start goes through at once: up, with no error, on the one live call."""
    status = page.get_by_test_id("call-status")
    expect(status).to_have_text(re.compile("listening|speaking"), timeout=20_000)
    call = Call.objects.get(user=user, status__in=Call.LIVE_STATUSES)
    assert live_microphone_tracks(page) == 1
    page.get_by_test_id("call-end").click()
    expect(status).to_have_text("ended")
    page.wait_for_function("window.__mic.liveTracks() === 0")
    assert "error" not in page_log(page)["status"]
    assert page_log(page)["error"] == []
    return call


@pytest.mark.parametrize("mode", MODES)
def test_end_during_the_microphone_prompt_starts_nothing_and_releases_the_mic(
    context, user, upstream, mode
):
    page = open_call_page(context, user, mode)
    page.evaluate("window.__mic.hold()")
    page.get_by_test_id("call-start").click()
    page.wait_for_function("window.__mic.requests === 1")

    page.get_by_test_id("call-end").click()
    page.evaluate("window.__mic.answer()")  # the user allows the microphone after all

    page.wait_for_function("window.__mic.streams.length === 1")
    page.wait_for_function("window.__mic.liveTracks() === 0")
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    assert not Call.objects.filter(user=user).exists()
    assert upstream.requests("/v1/realtime/calls") == []

    page.get_by_test_id("call-start").click()
    call = start_again_and_hang_up(page, user)
    assert Call.objects.filter(user=user).count() == 1
    assert wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)


def test_end_while_the_realtime_session_request_is_out_hangs_up_the_call_it_creates(
    context, user, upstream
):
    page = open_call_page(context, user, "realtime")
    upstream.configure(latency_ms=1500)  # OpenAI takes its time to answer the offer
    page.get_by_test_id("call-start").click()
    wait_for(lambda: upstream.requests("/v1/realtime/calls"))
    upstream.configure(latency_ms=0)

    page.get_by_test_id("call-end").click()
    page.get_by_test_id("call-start").click()  # at once, while the first is still being ended

    second = start_again_and_hang_up(page, user)
    first = Call.objects.exclude(pk=second.pk).get(user=user)
    assert first.status == Call.Status.ENDED
    assert first.ended_reason == "user"
    assert first.ended_at <= second.started_at  # ended before the second began
    hung_up = {call["id"]: call["hung_up"] for call in upstream.calls()}
    assert hung_up[first.upstream_call_id] is True
    assert wait_for(lambda: Call.objects.get(pk=second.pk).status == Call.Status.ENDED)
    assert [s for s in page_log(page)["status"] if s != "connecting"][:2] == ["ended", "listening"]


def test_end_while_the_legacy_call_request_is_out_ends_the_call_it_creates(context, user, upstream):
    page = open_call_page(context, user, "legacy")
    held = []
    # The first request waits until it is let through; later ones pass.
    page.route(
        "**/api/legacy/calls", lambda route: route.continue_() if held else held.append(route)
    )
    page.get_by_test_id("call-start").click()
    wait_in_page(page, lambda: held)

    page.get_by_test_id("call-end").click()
    page.get_by_test_id("call-start").click()  # at once, while the first is still being ended
    held[0].continue_()

    second = start_again_and_hang_up(page, user)
    first = Call.objects.exclude(pk=second.pk).get(user=user)
    assert first.status == Call.Status.ENDED
    assert first.ended_reason == "user"
    assert first.ended_at <= second.started_at
    assert first.messages.count() == 0
