"""Conversations as a product, through the page (issue 12): made by voice and by typing, found
by a word said in them, renamed, continued with typed turns outside a call and during Realtime
and Legacy calls, exported, deleted. Assertions are on what the server saved, in order."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, log_in
from tests.waiting import wait_for
from voice.models import Call, Conversation, Message
from voice.selectors import messages_in_order
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SPOKEN = "Tell me about the pelican migration"
# The first reply of a call waits on the simulator hearing the fake microphone, which takes
# longer on a loaded machine: a deadline, not a sleep.
FIRST_REPLY_MS = 45_000


def status(page):
    return page.get_by_test_id("call-status")


def link(page, conversation_id):
    selector = f"[data-testid=conversation-link][data-conversation-id='{conversation_id}']"
    return page.locator(selector)


def row(page, conversation_id):
    return page.locator(f".conversation-row[data-conversation-id='{conversation_id}']")


def saved(conversation_id) -> list[Message]:
    return messages_in_order(Message.objects.filter(conversation_id=conversation_id))


def type_message(page, text):
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("message-send").click()


def talk_once(page, user) -> Conversation:
    """A Realtime call: the fake microphone asks, the assistant answers, the caller hangs up."""
    page.get_by_test_id("call-start").click()
    assistant = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(assistant).to_contain_text("Yes", timeout=FIRST_REPLY_MS)
    expect(status(page)).to_have_text("listening", timeout=30_000)  # the whole reply was played
    page.get_by_test_id("call-end").click()
    call = wait_for(
        lambda: Call.objects.filter(user=user, status="ended").order_by("-started_at").first()
    )
    wait_for(lambda: Message.objects.filter(call=call, role="user").exclude(text="").exists())
    return call.conversation


def typed_conversation(page, text) -> str:
    """A new conversation begun by typing outside a call: both turns saved by the server."""
    page.locator("#new-conversation").click()
    type_message(page, text)
    message = wait_for(lambda: Message.objects.filter(text=text, source="text").first(), seconds=20)
    wait_for(lambda: len(saved(message.conversation_id)) == 2, seconds=20)
    return str(message.conversation_id)


def test_history_search_rename_continue_export_and_delete(calm_context, user, upstream):
    upstream.configure(user_texts=[SPOKEN], assistant_texts=["Yes, they fly south in autumn."])
    page = calm_context.new_page()
    log_in(page, user.username)

    by_voice = str(talk_once(page, user).id)
    lease = typed_conversation(page, "Remind me what the lease says about pets")
    typed_conversation(page, "Draft a note to the plumber")

    # Newest first: the last conversation typed, then the lease, then the call.
    links = page.get_by_test_id("conversation-link")
    expect(links).to_have_count(3)
    ids = [links.nth(n).get_attribute("data-conversation-id") for n in range(3)]
    assert ids[1:] == [lease, by_voice]
    expect(link(page, by_voice).locator(".had-calls")).to_have_count(1)  # it had a voice call
    expect(link(page, lease).locator(".had-calls")).to_have_count(0)

    # Found by a word said in the call (and only that one).
    page.get_by_test_id("conversation-search").fill("pelican")
    expect(links).to_have_count(1)
    expect(links.first).to_have_attribute("data-conversation-id", by_voice)
    expect(links.first).to_contain_text("pelican")  # the matching snippet

    # Renamed in place.
    row(page, by_voice).get_by_test_id("conversation-rename").click()
    page.locator(".rename-input").fill("Birds")
    page.locator(".rename-input").press("Enter")
    wait_for(lambda: Conversation.objects.get(pk=by_voice).title == "Birds")
    expect(link(page, by_voice)).to_contain_text("Birds")

    # Opened at its latest turn, it becomes the one the page continues.
    link(page, by_voice).click()
    expect(page).to_have_url(re.compile(rf"/\?conversation={by_voice}$"))
    expect(page.locator("#conversation-title")).to_have_text("Birds")
    type_message(page, "And where do they spend the winter?")
    wait_for(lambda: len(saved(by_voice)) == 4, seconds=20)
    turns = saved(by_voice)
    assert [(m.role, m.source) for m in turns] == [
        ("user", "voice"),
        ("assistant", "voice"),
        ("user", "text"),
        ("assistant", "text"),
    ]
    assert turns[2].text == "And where do they spend the winter?"
    assert turns[3].previous_item_id == turns[2].item_id
    typed = page.locator("[data-testid=transcript-item][data-source=text][data-role=user]")
    expect(typed).to_have_text("You (typed):And where do they spend the winter?")

    # Exported as Markdown and as JSON, the files hold every turn in order.
    row(page, by_voice).get_by_test_id("conversation-export").click()
    with page.expect_download() as markdown:
        row(page, by_voice).locator(".export-menu a[data-format=md]").click()
    text = Path(markdown.value.path()).read_text(encoding="utf-8")
    assert SPOKEN in text and "And where do they spend the winter?" in text
    assert text.index(SPOKEN) < text.index("And where do they spend the winter?")
    row(page, by_voice).get_by_test_id("conversation-export").click()
    with page.expect_download() as as_json:
        row(page, by_voice).locator(".export-menu a[data-format=json]").click()
    exported = json.loads(Path(as_json.value.path()).read_text(encoding="utf-8"))
    exported_turns = [(m["role"], m["source"], m["text"]) for m in exported["messages"]]
    assert exported_turns == [(m.role, m.source, m.text) for m in saved(by_voice)]

    # Another one deleted, after asking.
    page.get_by_test_id("conversation-search").fill("")
    expect(links).to_have_count(3)
    row(page, lease).get_by_test_id("conversation-delete").click()
    expect(page.locator("#delete-dialog")).to_contain_text("lease")
    page.locator("#delete-confirm").click()
    wait_for(lambda: not Conversation.objects.filter(pk=lease).exists())
    expect(links).to_have_count(2)
    assert not Message.objects.filter(conversation_id=lease).exists()


def _typed_during_call(page, user, text) -> tuple[Call, list[Message]]:
    expect(status(page)).to_have_text("listening", timeout=20_000)
    call = Call.objects.get(user=user, status__in=["connecting", "active"])
    type_message(page, text)
    typed = wait_for(lambda: Message.objects.filter(call=call, text=text).first(), seconds=20)
    wait_for(
        lambda: (
            Message.objects.filter(call=call, previous_item_id=typed.item_id, role="assistant")
            .exclude(text="")
            .exists()
        ),
        seconds=30,
    )
    return call, saved(call.conversation_id)


def test_typing_during_a_realtime_call_is_answered_in_voice_and_saved_in_order(
    calm_context, user, upstream
):
    upstream.configure(user_texts=[SPOKEN], assistant_texts=["Yes, they fly south."])
    page = calm_context.new_page()
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()
    expect(
        page.locator("[data-testid=transcript-item][data-role=assistant]").first
    ).to_contain_text("Yes", timeout=FIRST_REPLY_MS)

    call, turns = _typed_during_call(page, user, "Please spell pelican")

    # A conversation with a live call is not deleted: the dialog says why.
    row(page, str(call.conversation_id)).get_by_test_id("conversation-delete").click()
    page.locator("#delete-confirm").click()
    expect(page.locator("#delete-error")).to_contain_text("End the call first")
    page.locator("#delete-cancel").click()
    assert Conversation.objects.filter(pk=call.conversation_id).exists()

    page.get_by_test_id("call-end").click()
    wait_for(lambda: Call.objects.get(pk=call.pk).status == "ended")
    typed = next(m for m in turns if m.text == "Please spell pelican")
    assert typed.role == "user" and typed.source == "text"
    after = turns[turns.index(typed) + 1]
    assert after.role == "assistant" and after.source == "voice"
    assert "Please spell pelican" in after.text  # the simulator quotes a typed message it answers
    sim_call = upstream.calls()[-1]
    assert "conversation.item.create" in sim_call["client_events"]


def test_typing_during_a_legacy_call_replaces_a_spoken_turn(calm_context, user, upstream):
    upstream.configure(stt_latency_ms=100, llm_ttft_ms=50, llm_tokens_per_s=200, chat_sentences=1)
    preference_update(user=user, mode="legacy")
    page = calm_context.new_page()
    log_in(page, user.username)
    page.get_by_test_id("call-start").click()

    call, turns = _typed_during_call(page, user, "Please spell heron")

    page.get_by_test_id("call-end").click()
    wait_for(lambda: Call.objects.get(pk=call.pk).status == "ended")
    typed = next(m for m in turns if m.text == "Please spell heron")
    assert typed.source == "text" and typed.call_id == call.id
    assert turns[turns.index(typed) + 1].role == "assistant"
    # The typed words went to the model as they were, with no transcription in between.
    chat = upstream.requests("/v1/chat/completions")
    assert any("Please spell heron" in json.dumps(request.get("json")) for request in chat)
    assert typed.text == "Please spell heron"


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_the_newest_message_is_never_under_the_call_bar(browser, asgi_server, user, upstream, size):
    from tests.e2e.conftest import new_context
    from tests.factories import make_conversation

    conversation = make_conversation(user, title="A long one")
    for n in range(30):
        Message.objects.create(
            conversation=conversation,
            item_id=f"m{n}",
            role="user" if n % 2 == 0 else "assistant",
            text=f"Turn {n} " + "words " * 25,
        )
    context = new_context(browser, asgi_server)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    log_in(page, user.username)
    for mode in ["realtime", "legacy"]:
        page.get_by_test_id("voice-mode").select_option(mode)
        page.goto(f"/?conversation={conversation.id}")
        last = page.locator("[data-testid=transcript-item]").last
        expect(last).to_contain_text("Turn 29")
        at_end = "() => window.scrollY + innerHeight >= document.body.scrollHeight - 2"
        page.wait_for_function(at_end)
        bottom = last.bounding_box()["y"] + last.bounding_box()["height"]
        bar_top = page.locator(".call-bar").bounding_box()["y"]
        assert bottom <= bar_top, (mode, bottom, bar_top)
    page.screenshot(path=str(ARTIFACTS / f"conversation-{size[0]}.png"))
    context.close()
