"""Legacy turn-taking with scripted audio in the real browser: Chromium's fake microphone plays
a WAV made here (espeak-ng speech mixed with silence or room noise), the simulator answers.

What the page decided, and when, is read from its performance marks ("turn:<decision>", with
the decision as detail) and its status log; what was said is read from the saved messages.

Echo is not mixed into the WAV: where the reply lands in the fake microphone's loop depends on
the machine's speed, so an offline mix would miss the reply as often as hit it. Instead the
ECHO hook routes what the page plays back into the microphone stream, attenuated, inside the
page: the echo is the reply's own audio, at the moment it plays, every run.
"""

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import launch, log_in, new_context
from tests.e2e.hooks import PAGE_LOG, page_log
from tests.e2e.speech import espeak_at, room_noise, voiced_span_ms, write_script_wav
from tests.waiting import wait_for
from voice.models import Call, Message
from voice.services.preferences import preference_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUESTION = "Hello, can you hear me?"
# The caller's first words come this long after the microphone opens: the call is created and
# the detector calibrated meanwhile, which takes over a second on a busy machine.
FIRST = 4.0
INTERRUPTION = "Tell me more about the weather in Rome."  # no pause in its first 400 ms

# When the fake microphone began playing its WAV (the page clock), for tests that act on the
# script's schedule.
MIC_OPENED = """
(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    window.__micOpenedAt ??= performance.now();
    return stream;
  };
})();
"""

# Everything the page plays is also fed into its microphone at `window.__echoGain`: the page
# gets one shared AudioContext, getUserMedia hands out the fake microphone mixed with an echo
# bus, and whatever connects to the speakers connects to that bus too. `__echo.peak` is the
# loudest echo frame (RMS), to show the echo was really there.
ECHO = """
(() => {
  const Native = window.AudioContext;
  let shared = null;
  const context = () => {
    if (shared) return shared;
    shared = new Native();
    shared.close = async () => {}; // the call closes its context; the shared one lives on
    const bus = shared.createGain();
    bus.gain.value = window.__echoGain;
    const analyser = shared.createAnalyser();
    bus.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    window.__echo = { bus, peak: 0 };
    setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      const rms = Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);
      window.__echo.peak = Math.max(window.__echo.peak, rms);
    }, 20);
    return shared;
  };
  window.AudioContext = function AudioContext() { return context(); };
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    const speakers = target instanceof AudioDestinationNode;
    if (speakers && window.__echo) connect.call(this, window.__echo.bus);
    return connect.call(this, target, ...rest);
  };
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    const ctx = context();
    const mixed = ctx.createMediaStreamDestination();
    ctx.createMediaStreamSource(stream).connect(mixed);
    window.__echo.bus.connect(mixed);
    return mixed.stream;
  };
})();
"""

# The page keeps its call in a module variable; the call page is served with one line more
# that hands it to the test (push-to-talk is driven through the call's public methods, as the
# call bar's button does).
EXPOSE_CALL = "\nwindow.__currentCall = () => call;\n"

MARKS = """
performance.getEntriesByType("mark").filter((m) => m.name.startsWith("turn:"))
  .map((m) => ({ name: m.name.slice(5), at: m.startTime, detail: m.detail }))
"""


def marks(page) -> list[dict]:
    return page.evaluate(MARKS)


def names(page) -> list[str]:
    return [
        mark["name"] + (f":{mark['detail']['reason']}" if mark["detail"].get("reason") else "")
        for mark in marks(page)
    ]


@pytest.fixture
def scripted(playwright, asgi_server, tmp_path, user):
    """Opens the call page on a browser whose microphone plays the given script."""
    browsers = []

    def open_page(seconds: float, parts: list, *init_scripts: str, expose_call: bool = False):
        wav = tmp_path / f"mic-{len(browsers)}.wav"
        write_script_wav(wav, seconds, parts)
        browser = launch(playwright, wav)
        browsers.append(browser)
        context = new_context(browser, asgi_server)
        context.add_init_script(PAGE_LOG)
        for script in init_scripts:
            context.add_init_script(script)
        if expose_call:
            context.route("**/voice/js/call_page.js", _with_call_exposed)
        preference_update(user=user, mode="legacy")
        page = context.new_page()
        log_in(page, user.username)
        expect(page.get_by_test_id("voice-mode")).to_have_value("legacy")
        return page

    yield open_page
    for browser in browsers:
        browser.close()


def saved(user) -> list[Message]:
    return list(Message.objects.filter(call__user=user).order_by("created_at"))


def end_call(page, user) -> list[Message]:
    page.get_by_test_id("call-end").click()
    expect(page.get_by_test_id("call-status")).to_have_text("ended")
    call = Call.objects.get(user=user)
    wait_for(lambda: Call.objects.get(pk=call.pk).status == Call.Status.ENDED)
    return saved(user)


def wait_until_reply_played(page, replies: int = 1, seconds: float = 60) -> None:
    """The status log shows `replies` replies spoken and listening after the last."""
    try:
        page.wait_for_function(
            f"""window.__log.status.filter((s) => s === "speaking").length >= {replies}
                && window.__log.status.at(-1) === "listening"
                && performance.getEntriesByName("turn:start_recording").length > 0""",
            timeout=seconds * 1000,
        )
    except PlaywrightTimeout as error:
        raise AssertionError(f"{page_log(page)} {marks(page)}") from error


def long_reply(upstream) -> None:
    """A five-sentence reply (about 14 s spoken): long enough that the script's second
    utterance falls inside it however slowly the first turn goes."""
    upstream.configure(
        stt_latency_ms=100,
        llm_ttft_ms=100,
        llm_tokens_per_s=60,
        tts_ttfb_ms=50,
        chat_sentences=5,
        user_texts=[QUESTION],  # the simulator's transcript of every turn
    )


def test_a_short_mm_hm_over_the_reply_lets_it_play_on_and_saves_nothing(scripted, user, upstream):
    long_reply(upstream)
    mm_hm = espeak_at("Mm-hm.", words_per_minute=350)
    assert 250 <= voiced_span_ms(mm_hm) <= 500
    page = scripted(60, [(FIRST, espeak_at(QUESTION)), (FIRST + 7, mm_hm)])

    page.get_by_test_id("call-start").click()

    wait_until_reply_played(page)
    log = names(page)
    assert "discard_turn:backchannel" in log, log  # heard, over the reply, and let go
    assert "interrupt_reply" not in log
    assert log.count("end_turn") == 1
    messages = end_call(page, user)
    assert [(m.role, m.interrupted) for m in messages] == [("user", False), ("assistant", False)]
    assert messages[1].text.endswith("A real model would say something more useful here.")
    assert len(upstream.requests("/v1/audio/transcriptions")) == 1  # the mm-hm never left


def test_a_sentence_over_the_reply_cuts_it_within_500_ms_and_is_the_next_turn(
    scripted, user, upstream
):
    long_reply(upstream)
    page = scripted(60, [(FIRST, espeak_at(QUESTION)), (FIRST + 7, espeak_at(INTERRUPTION))])

    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-status")).to_have_text("speaking", timeout=30_000)
    upstream.configure(user_texts=[INTERRUPTION])  # the first turn is transcribed by now

    wait_until_reply_played(page, replies=2)
    cuts = [mark for mark in marks(page) if mark["name"] == "interrupt_reply"]
    assert len(cuts) == 1, names(page)
    assert cuts[0]["detail"]["afterMs"] <= 500
    messages = end_call(page, user)
    assert [(m.role, m.interrupted) for m in messages] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ]
    assert messages[2].text == INTERRUPTION
    full_reply = messages[3].text  # the same script: the cut reply was longer than what was heard
    assert len(messages[1].text) < len(full_reply)
    statuses = page_log(page)["status"]
    assert statuses.index("interrupted") < len(statuses) - 1


@pytest.mark.parametrize("echo_db", [-20, -12])
def test_the_replys_own_echo_in_the_microphone_never_interrupts_it(
    scripted, user, upstream, echo_db
):
    long_reply(upstream)
    gain = 10 ** (echo_db / 20)
    page = scripted(60, [(FIRST, espeak_at(QUESTION))], f"window.__echoGain = {gain};", ECHO)

    page.get_by_test_id("call-start").click()

    wait_until_reply_played(page)
    assert "interrupt_reply" not in names(page), names(page)
    # The echo was there: at −12 dB it is louder than the detector's bare threshold (0.015).
    assert page.evaluate("window.__echo.peak") > (0.015 if echo_db == -12 else 0.002)
    messages = end_call(page, user)
    assert [(m.role, m.interrupted) for m in messages] == [("user", False), ("assistant", False)]
    assert len(upstream.requests("/v1/audio/transcriptions")) == 1


RING_LEVEL = "parseFloat(document.querySelector('#level-ring').style.getPropertyValue('--level'))"


def test_ten_seconds_of_room_noise_make_no_message(scripted, user, upstream):
    page = scripted(10, [(0.0, room_noise(10))], MIC_OPENED)

    page.get_by_test_id("call-start").click()

    expect(page.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)
    page.wait_for_function(f"{RING_LEVEL} > 0.02")  # the noise is heard…
    page.wait_for_function("performance.now() - window.__micOpenedAt > 11000", timeout=30_000)
    assert "end_turn" not in names(page), names(page)  # …and never taken for a turn
    assert end_call(page, user) == []
    assert upstream.requests("/v1/audio/transcriptions") == []


def test_three_turns_in_a_row_each_reply_is_followed_by_listening(scripted, user, upstream):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=60, tts_ttfb_ms=50, chat_sentences=1
    )
    questions = [QUESTION, "What is the weather like today?", "Tell me something interesting."]
    parts = [(FIRST + 9.0 * n, espeak_at(text)) for n, text in enumerate(questions)]
    page = scripted(80, parts)

    page.get_by_test_id("call-start").click()

    wait_until_reply_played(page, replies=3, seconds=90)
    messages = end_call(page, user)
    assert [(m.role, m.interrupted) for m in messages] == [
        ("user", False),
        ("assistant", False),
    ] * 3
    statuses = [s for s in page_log(page)["status"] if s in ("listening", "speaking")]
    assert statuses[:7] == ["listening", "speaking"] * 3 + ["listening"]
    # The microphone is re-armed after each reply: when playback starts and again when it ends,
    # the recording starts afresh (the reply's echo is nobody's turn).
    log = [name for name in names(page) if not name.startswith("transcript_")]
    turns = "|".join(log).split("end_turn")[1:]
    assert len(turns) == 3, log
    rearmed = "|start_recording" + "|discard_turn:fresh_start|start_recording" * 2
    assert all(turn.startswith(rearmed) for turn in turns), log


def test_legacy_push_to_talk_ignores_speech_while_not_held_and_answers_it_while_held(
    scripted, user, upstream
):
    upstream.configure(
        stt_latency_ms=100, llm_ttft_ms=100, llm_tokens_per_s=60, tts_ttfb_ms=50, chat_sentences=1
    )
    said_free, said_held = "Can anyone hear this?", "Now I am holding the button."
    upstream.configure(user_texts=[said_held])
    parts = [(FIRST, espeak_at(said_free)), (FIRST + 6, espeak_at(said_held))]
    # Chosen before the call, as a user does: switched on after the click, it raced the first
    # recording, which it then rightly discarded.
    preference_update(user=user, push_to_talk=True)
    page = scripted(60, parts, MIC_OPENED, expose_call=True)

    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-ptt")).to_be_enabled(timeout=15_000)

    expect(page.get_by_test_id("call-status")).to_have_text("listening", timeout=15_000)
    at_mic = "performance.now() - window.__micOpenedAt"
    page.wait_for_function(f"{at_mic} > {(FIRST + 5.5) * 1000}", timeout=20_000)
    page.evaluate("window.__currentCall().pttPress()")
    page.wait_for_function(f"{at_mic} > {(FIRST + 8.5) * 1000}", timeout=20_000)
    page.evaluate("window.__currentCall().pttRelease()")

    wait_until_reply_played(page)
    log = names(page)
    assert log[:2] == ["start_recording", "end_turn"], log  # one hold, one turn
    messages = end_call(page, user)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].text == said_held
    assert len(upstream.requests("/v1/audio/transcriptions")) == 1  # the first words never left


def _with_call_exposed(route):
    response = route.fetch()
    route.fulfill(response=response, body=response.text() + EXPOSE_CALL)
