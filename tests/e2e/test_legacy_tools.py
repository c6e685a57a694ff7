"""Tools in a Legacy call through the page: the assistant searches the caller's earlier
conversations and answers with what it found, and a goodbye ends the call once the
assistant's last sentence has been spoken (the simulator scripts the model's tool calls)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_legacy_call import legacy_page
from tests.factories import make_earlier_conversation
from tests.legacy.test_legacy_tools import in_chain_order
from tests.waiting import wait_for
from voice.models import Call, Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUESTION = "What did we say about the lease?"
GOODBYE = "Thanks, that is all. Goodbye!"
SCRIPT = [
    {
        "match": "lease",
        "name": "search_conversations",
        "arguments": {"query": "lease"},
        "answer": "Here is what I found. {output}",
    },
    {"match": "goodbye", "name": "end_call", "arguments": {}, "answer": "Goodbye, talk soon."},
]
# Headless Chromium has no speech recognition: this stand-in hears the question at once and
# whatever the test says later (`window.__hear`). The reply is spoken by the server's voice.
RECOGNITION = f"""
class FakeRecognition {{
  start() {{
    window.__hear = (text) => this.onresult({{
      results: [Object.assign([{{ transcript: text }}], {{ isFinal: true }})] }});
    if (window.__asked) return;
    window.__asked = true;
    // After the fake microphone's own question (1.0–2.5 s): heard over the reply, real
    // speech cuts it, as it should.
    setTimeout(() => window.__hear({QUESTION!r}), 3500);
  }}
  abort() {{}}
}}
window.SpeechRecognition = FakeRecognition;
// Every status the page shows, in order: the test waits for events, not for moments.
window.__statuses = [];
document.addEventListener("DOMContentLoaded", () => {{
  const status = document.querySelector("[data-testid=call-status]");
  const note = () => window.__statuses.push(status.textContent.trim());
  const changes = {{ childList: true, characterData: true, subtree: true }};
  new MutationObserver(note).observe(status, changes);
}});
"""


def test_the_assistant_finds_an_earlier_conversation_then_hangs_up_after_its_goodbye(
    calm_context, user, upstream
):
    make_earlier_conversation(
        user, "The lease ends in May and the deposit comes back in June.", mode="legacy"
    )
    upstream.configure(
        llm_ttft_ms=50, llm_tokens_per_s=100, tts_ttfb_ms=50, tool_script=SCRIPT, synth="tone"
    )
    calm_context.add_init_script(RECOGNITION)
    page = legacy_page(calm_context, user)
    page.click("#new-conversation")  # the earlier conversation is the one to find, not continue
    page.select_option("#stt-picker", "browser")
    transcript = page.get_by_test_id("transcript")

    page.get_by_test_id("call-start").click()

    expect(transcript).to_contain_text("Searched your conversations for 'lease'", timeout=15_000)
    expect(transcript).to_contain_text("The lease ends in May", timeout=15_000)
    call = Call.objects.get(user=user, status__in=Call.LIVE_STATUSES)
    first_reply = wait_for(lambda: Message.objects.filter(call=call, role="assistant").first(), 20)
    # The answer has been spoken to the end (the page listens again): now the goodbye.
    page.wait_for_function(
        "window.__statuses.includes('speaking') && window.__statuses.at(-1) === 'listening'",
        timeout=30_000,
    )
    page.evaluate("(text) => window.__hear(text)", GOODBYE)

    ended = wait_for(lambda: Call.objects.filter(pk=call.pk, ended_at__isnull=False).first(), 30)
    assert (ended.status, ended.ended_reason) == (Call.Status.ENDED, "assistant")
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    said = in_chain_order(list(Message.objects.filter(call=call)))
    assert [(m.role, m.text) for m in said] == [
        ("user", QUESTION),
        ("tool", "Searched your conversations for 'lease'"),
        ("assistant", first_reply.text),
        ("user", GOODBYE),
        ("tool", "Ended the call"),
        ("assistant", "Goodbye, talk soon."),
    ]
    assert "The lease ends in May" in first_reply.text
    # Ended only once the goodbye was spoken to the end: a call ended mid-reply would have
    # saved it as heard, interrupted.
    assert not any(m.interrupted for m in said)
    spoken = [r["json"]["input"] for r in upstream.requests("/v1/audio/speech")]
    assert spoken[-1] == "Goodbye, talk soon."
    expect(page.get_by_test_id("call-error")).to_be_hidden()
    expect(page.locator("#call-notice")).to_contain_text("The assistant ended the call.")
