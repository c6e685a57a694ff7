"""A reply the model stopped early (its content filter, its length limit) is shown as a notice,
in both modes.

The simulator always finishes its replies, so each test adds the signal OpenAI would send to
an otherwise real call: Realtime's `response.done` with status `incomplete` goes onto the data
channel as if it came from OpenAI, and the Legacy stream's `done` event gets the field our
server relays from OpenAI's `finish_reason`.
"""

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.hooks import PAGE_LOG
from tests.waiting import wait_for
from voice.models import Call, Message
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Keeps the call's "oai-events" channel within reach of the test.
KEEP_CHANNEL = """
const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
RTCPeerConnection.prototype.createDataChannel = function (...args) {
  window.__oaiEvents = createDataChannel.apply(this, args);
  return window.__oaiEvents;
};
"""

SPOKEN_AND_LISTENING_AGAIN = """
window.__log.status.includes("speaking") && window.__log.status.at(-1) === "listening"
"""

INCOMPLETE = {
    "type": "response.done",
    "event_id": "event_cut",
    "response": {
        "object": "realtime.response",
        "id": "resp_cut",
        "status": "incomplete",
        "status_details": {"type": "incomplete", "reason": "content_filter"},
        "output": [],
    },
}


def test_realtime_a_reply_stopped_by_the_content_filter_is_a_notice(context, user, upstream):
    context.add_init_script(KEEP_CHANNEL)
    page = context.new_page()
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)

    page.evaluate(
        "event => window.__oaiEvents.dispatchEvent(new MessageEvent('message', { data: event }))",
        json.dumps(INCOMPLETE),
    )

    expect(page.locator("#call-notice")).to_have_text(
        "The reply was stopped by OpenAI's content filter."
    )
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    page.get_by_test_id("call-end").click()


@pytest.mark.parametrize(
    ("signal", "notice"),
    [
        ({"finish_reason": "content_filter"}, "stopped by OpenAI's content filter"),
        ({"incomplete": True}, "stopped before it was finished"),
    ],
    ids=["finish_reason", "incomplete"],
)
def test_legacy_a_reply_cut_short_is_a_notice_and_is_kept_as_spoken(
    calm_context, user, upstream, signal, notice
):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=50, llm_tokens_per_s=200, tts_ttfb_ms=50, chat_sentences=1
    )
    preference_update(user=user, mode="legacy")
    calm_context.add_init_script(PAGE_LOG)
    page = calm_context.new_page()

    def add_signal(route):
        """OpenAI's cut-short signal on the server's real `done` event (the simulator's model
        always finishes), with the server's own `notice` taken away, so the page has to
        tell the reason by itself."""
        response = route.fetch()
        events = response.text().split("\n\n")
        for index, event in enumerate(events):
            if event.startswith("event: done\ndata: "):
                done = json.loads(event.removeprefix("event: done\ndata: "))
                done = {**done, "incomplete": False, "notice": None, **signal}
                events[index] = "event: done\ndata: " + json.dumps(done)
        route.fulfill(response=response, body="\n\n".join(events))

    page.route("**/api/legacy/replies", add_signal)
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()

    expect(page.locator("#call-notice")).to_contain_text(notice, timeout=20_000)
    page.wait_for_function(SPOKEN_AND_LISTENING_AGAIN)
    page.get_by_test_id("call-end").click()
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    call = Call.objects.get(user=user)
    # The server ends the call once the page has flushed what it heard: read after that.
    wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)
    reply = Message.objects.get(call=call, role="assistant")
    assert reply.text and not reply.interrupted  # spoken as far as it went, not cut by the caller
