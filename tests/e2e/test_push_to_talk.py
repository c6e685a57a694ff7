"""Push-to-talk in a real Realtime call: Chromium's fake microphone talks all the time, and only
what is said while the call-ptt button (or the space bar) is held becomes a turn and is
answered. The simulator counts the speech it receives, so "ignored" is measured, not assumed."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, ROOT, launch, log_in, new_context
from tests.e2e.speech import write_repeating_speech_wav
from tests.waiting import wait_for
from voice.models import Call, VoicePreference
from voice.selectors import voice_config_get
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

USER_TEXTS = ["Hello, can you hear me?", "Stop, I have another question."]
REPLY = "Yes, I hear you when you hold the button."
LONG_REPLY = (
    "Here is a long answer, so that there is time to press the button and talk over it. "
    "It goes on about the weather, the sea and the mountains for quite a while longer."
)
FRAMES_PER_SECOND = 50  # the browser sends 20 ms audio frames, in silence too
PTT_EVENTS = {
    "input_audio_buffer.clear",
    "input_audio_buffer.commit",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
}


@pytest.fixture(scope="module")
def chatty_browser(playwright, tmp_path_factory):
    """A caller who talks without pause: a sentence every 2.5 seconds."""
    wav = tmp_path_factory.mktemp("audio") / "chatty-caller.wav"
    write_repeating_speech_wav(wav, "Please tell me about the weather.", pause_s=0.8, total_s=60)
    browser = launch(playwright, wav)
    yield browser
    browser.close()


@pytest.fixture
def page(chatty_browser, asgi_server, user):
    context = new_context(chatty_browser, asgi_server)
    page = context.new_page()
    log_in(page, user.username)
    yield page
    context.close()


def sim_call(upstream, call: Call) -> dict:
    return next(c for c in upstream.calls() if c["id"] == call.upstream_call_id)


def heard_more(upstream, call: Call, *, seconds: float, than: dict) -> dict:
    """Wait until the simulator has received `seconds` more of microphone audio."""
    return wait_for(
        lambda: (
            (now := sim_call(upstream, call))["mic_frames"]
            >= than["mic_frames"] + seconds * FRAMES_PER_SECOND
            and now
        ),
        seconds + 15,
    )


def transcript(page, call: Call) -> list[dict]:
    return page.request.get(f"/api/calls/{call.id}").json()["transcript"]


def saved(page, call: Call, count: int) -> list[dict]:
    """The call's transcript once it holds `count` items, all with their text."""
    return wait_for(
        lambda: (
            len(items := transcript(page, call)) == count
            and all(item["text"] for item in items)
            and items
        ),
        30,
    )


def ptt_events(upstream, call: Call) -> list[str]:
    return [e for e in sim_call(upstream, call)["client_events"] if e in PTT_EVENTS]


def hold_button(page):
    box = page.get_by_test_id("call-ptt").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def test_speech_is_ignored_until_the_button_is_held_and_answered_once_released(
    page, upstream, user
):
    upstream.configure(user_texts=USER_TEXTS, assistant_texts=[REPLY])
    page.get_by_test_id("ptt-toggle").check()
    wait_for(lambda: VoicePreference.objects.filter(user=user, push_to_talk=True).exists())

    page.get_by_test_id("call-start").click()
    button = page.get_by_test_id("call-ptt")
    expect(button).to_be_enabled(timeout=15_000)
    expect(button).to_have_text("Hold to talk")
    call = Call.objects.get(user=user)
    session = upstream.requests("/v1/realtime/calls")[-1]["session"]
    assert session["audio"]["input"]["turn_detection"] is None

    # Five sentences' worth of talking, nobody holding: the microphone sends only silence.
    idle = heard_more(upstream, call, seconds=5, than={"mic_frames": 0})
    assert idle["mic_voiced_ms"] == 0
    assert idle["responses"] == {} and transcript(page, call) == []

    hold_button(page)
    expect(page.locator(".call-bar")).to_have_attribute("data-ptt", "listening")
    expect(button).to_have_text("Listening… release to send")
    wait_for(lambda: sim_call(upstream, call)["mic_voiced_ms"] >= 1000, 15)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "push-to-talk.png"))
    page.mouse.move(5, 5)  # let go well outside the button
    page.mouse.up()
    expect(page.locator(".call-bar")).to_have_attribute("data-ptt", "hold")

    first = saved(page, call, 2)
    assert [(item["role"], item["text"]) for item in first] == [
        ("user", USER_TEXTS[0]),
        ("assistant", REPLY),
    ]
    assert first[1]["previous_item_id"] == first[0]["item_id"]
    assert ptt_events(upstream, call) == [
        "input_audio_buffer.clear",
        "input_audio_buffer.commit",
        "response.create",
    ]

    # The caller goes on talking after the reply: still nothing is heard or answered.
    after = sim_call(upstream, call)
    later = heard_more(upstream, call, seconds=4, than=after)
    assert later["mic_voiced_ms"] == after["mic_voiced_ms"]
    assert len(later["responses"]) == 1 and len(transcript(page, call)) == 2

    page.get_by_test_id("call-end").click()
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    wait_for(lambda: Call.objects.get(pk=call.pk).status == "ended")


def test_under_the_admins_manual_turns_the_space_bar_and_the_button_run_the_call(
    page, upstream, user
):
    config = voice_config_get()
    config.turn_detection = "manual"
    config.save()
    upstream.configure(user_texts=USER_TEXTS, assistant_texts=[LONG_REPLY, REPLY])
    page.reload()
    expect(page.get_by_test_id("ptt-toggle")).to_be_checked()
    expect(page.get_by_test_id("ptt-toggle")).to_be_disabled()

    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-ptt")).to_be_enabled(timeout=15_000)
    call = Call.objects.get(user=user)
    assert (
        upstream.requests("/v1/realtime/calls")[-1]["session"]["audio"]["input"]["turn_detection"]
        is None
    )

    # The first turn on the space bar.
    page.keyboard.down("Space")
    expect(page.locator(".call-bar")).to_have_attribute("data-ptt", "listening")
    wait_for(lambda: sim_call(upstream, call)["mic_voiced_ms"] >= 1000, 15)
    page.keyboard.up("Space")
    reply = page.locator("[data-testid=transcript-item][data-role=assistant]").first
    expect(reply).to_contain_text("so that there is time", timeout=15_000)  # well under way

    # The second on the button, pressed while the long reply is being spoken: it stops.
    voiced = sim_call(upstream, call)["mic_voiced_ms"]
    hold_button(page)
    wait_for(lambda: sim_call(upstream, call)["mic_voiced_ms"] >= voiced + 1000, 15)
    page.mouse.up()

    items = saved(page, call, 4)
    assert [(item["role"], item["interrupted"]) for item in items] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ]
    assert [items[0]["text"], items[2]["text"], items[3]["text"]] == [*USER_TEXTS, REPLY]
    assert LONG_REPLY.startswith(items[1]["text"]) and items[1]["text"] != LONG_REPLY
    assert ptt_events(upstream, call) == [
        "input_audio_buffer.clear",
        "input_audio_buffer.commit",
        "response.create",
        "input_audio_buffer.clear",
        "response.cancel",
        "output_audio_buffer.clear",
        "input_audio_buffer.commit",
        "response.create",
    ]
    assert list(sim_call(upstream, call)["responses"].values()) == ["cancelled", "completed"]


LEGACY_CLIENT = ROOT / "legacy_voice/static/legacy_voice/js/legacy_call.js"


@pytest.mark.skipif(
    "pttPress(" not in LEGACY_CLIENT.read_text(),
    reason="this Legacy client has no push-to-talk (setPushToTalk, pttPress, pttRelease)",
)
def test_a_legacy_call_records_only_while_the_button_is_held(page, upstream, user):
    upstream.configure(stt_latency_ms=100, llm_ttft_ms=100, tts_ttfb_ms=50, chat_sentences=1)
    preference_update(user=user, mode="legacy", push_to_talk=True)
    page.reload()
    expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")

    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-ptt")).to_be_enabled(timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)
    call = Call.objects.get(user=user)

    # The caller talks through two sentences without holding: nothing is sent to be heard.
    page_waits(page, seconds=5)
    assert upstream.requests("/v1/audio/transcriptions") == []
    assert transcript(page, call) == []

    hold_button(page)
    expect(page.locator(".call-bar")).to_have_attribute("data-ptt", "listening")
    page_waits(page, seconds=3)  # a whole sentence of the loop falls inside the hold
    page.mouse.move(5, 5)
    page.mouse.up()

    items = saved(page, call, 2)
    assert [item["role"] for item in items] == ["user", "assistant"]
    assert len(upstream.requests("/v1/audio/transcriptions")) == 1
    page.get_by_test_id("call-end").click()
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    wait_for(lambda: Call.objects.get(pk=call.pk).status == "ended")


def page_waits(page, *, seconds: float) -> None:
    """Let `seconds` of the looping microphone go by. Absence (nothing sent while not held) can
    only be shown over a span of time; the page's clock, not the test's, measures it."""
    start = page.evaluate("performance.now()")
    page.wait_for_function(f"performance.now() >= {start + seconds * 1000}")
